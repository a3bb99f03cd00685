-- Attacks on the model registry by ordinary roles (doc/security.md): each
-- one is replayed and must fail with its SQLSTATE, run nothing with another
-- role's rights, and leave no planted or forged row.  alice and bob are
-- plain roles; dbo may create objects in public, as a database owner can.
-- Every function an attacker plants logs current_user into sec_log, so a
-- run with the wrong rights shows there.
BEGIN;
SET client_min_messages = warning;
SELECT plan(42);

CREATE ROLE sec_alice;
CREATE ROLE sec_bob;
CREATE ROLE sec_carol IN ROLE sec_alice;
CREATE ROLE sec_dbo;
CREATE TABLE sec_t AS
SELECT i, (i % 2 = 0) AS y, i::float8 AS x, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 300) AS i;
CREATE TABLE sec_log (who text, what text);
GRANT SELECT ON sec_t TO PUBLIC;
GRANT INSERT, SELECT ON sec_log TO PUBLIC;
GRANT USAGE ON SCHEMA public TO PUBLIC;
GRANT CREATE ON SCHEMA public TO sec_dbo;
CREATE SCHEMA sec_a AUTHORIZATION sec_alice;
CREATE SCHEMA sec_b AUTHORIZATION sec_bob;
GRANT USAGE ON SCHEMA sec_a, sec_b TO PUBLIC;

-- alice's model: its query calls her function, which logs who runs it
SET LOCAL ROLE sec_alice;
CREATE FUNCTION sec_a.spy(v float8) RETURNS float8 LANGUAGE plpgsql VOLATILE AS $$
BEGIN INSERT INTO public.sec_log VALUES (current_user, 'spy'); RETURN v; END $$;
-- and an operator that would capture an unqualified text = text
CREATE FUNCTION sec_a.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.sec_log VALUES (current_user, 'operator'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR sec_a.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_a.eq);
-- (pgTAP's own functions would reach her operator: test after RESET)
SET LOCAL search_path = sec_a, pg_catalog, public;
CREATE TEMP TABLE sec_v AS
SELECT dlfin.train('a1', 'SELECT c, sec_a.spy(x) AS x, i FROM sec_t', 'c', '{"epochs": 1, "hidden": [4]}') AS v;
RESET search_path;
RESET ROLE;
SELECT is(v, 1, 'alice trains a multiclass model whose query calls her function') FROM sec_v;
SELECT is((SELECT count(*) FROM sec_log WHERE who <> 'sec_alice'), 0::bigint, 'her query ran as her');
SELECT is((SELECT count(*) FROM sec_log WHERE what = 'operator'), 0::bigint,
          'the generated statement never reached her = operator');
TRUNCATE sec_log;

-- ---- 1. planting a version, forging history, editing, deleting ----
SET LOCAL ROLE sec_bob;
SELECT throws_ok($$INSERT INTO dlfin.models (name, version, status, task, model, model_sha256, owner, created_at,
                   created_by, query, label, features, options, rows, train_rows, test_rows, data_fingerprint, search_path)
                   VALUES ('a1', 500, 'candidate', 'binary', '\x00', '', 'sec_alice', now(), 'sec_bob',
                   'SELECT y, x FROM sec_t', 'y', '{x}', '{}', 1, 1, 0, '', 'public')$$,
                 '42501', NULL, 'bob cannot plant a version under alice''s name');
SELECT throws_ok($$INSERT INTO dlfin.deployments (name, version, action, owner, changed_at, changed_by, session_user_name)
                   VALUES ('a1', 1, 'deploy', 'sec_alice', now(), 'sec_alice', 'sec_alice')$$,
                 '42501', NULL, 'bob cannot forge a history entry');
SELECT throws_ok($$INSERT INTO dlfin.names VALUES ('b9', 'sec_bob', 0)$$, '42501', NULL, 'bob cannot claim a name directly');
SELECT throws_ok($$SELECT dlfin.registry_train('sec_alice', 'sec_alice', 'a1', 'SELECT c, x FROM sec_t', 'c', '{}', 'always', '')$$,
                 '42501', NULL, 'bob cannot call the registry''s writer with a forged caller');
SELECT throws_ok($$SELECT dlfin.registry_deploy('sec_alice', 'a1', 1, 'forged')$$,
                 '42501', NULL, 'nor deploy through it');
SELECT throws_ok($$SELECT * FROM dlfin.run_as('sec_alice', '', 'SELECT 1', 0) AS t(x int)$$,
                 '42501', NULL, 'bob cannot run a statement as alice');
SELECT throws_ok($$SELECT * FROM dlfin.query_columns_as('sec_alice', '', 'SELECT 1')$$,
                 '42501', NULL, 'nor parse one as alice');
SELECT throws_ok($$SELECT dlfin.retrain('a1')$$, '42704', NULL, 'bob cannot retrain alice''s model');
SELECT throws_ok($$SELECT dlfin.deploy('a1', 1)$$, '42704', NULL, 'nor deploy it');
SELECT throws_ok($$SELECT dlfin.drop_model('a1')$$, '42704', NULL, 'nor drop it');
SELECT throws_ok($$SELECT dlfin.model_card('a1')$$, '42704', NULL, 'nor draw its card');
SELECT throws_ok($$SELECT dlfin.train('a1', 'SELECT c, x FROM sec_t', 'c')$$, '42710', NULL, 'nor train under its name');
-- ---- 7. the per-name lock is not takeable by others ----
SELECT throws_ok($$SELECT * FROM dlfin.names FOR UPDATE$$, '42501', NULL, 'bob cannot take the registry''s row locks');
SELECT throws_ok($$SELECT dlfin.registry_lock('sec_bob', 'a1')$$, '42501', NULL, 'nor call the lock function');
SELECT throws_ok($$LOCK TABLE dlfin.names IN EXCLUSIVE MODE$$, '42501', NULL, 'nor lock the names table');
RESET ROLE;

-- ---- 6. the owner itself cannot rewrite or delete versions ----
SET LOCAL ROLE sec_alice;
SELECT throws_ok($$DELETE FROM dlfin.models WHERE name = 'a1'$$, '42501', NULL, 'alice cannot delete a version directly');
SELECT throws_ok($$UPDATE dlfin.models SET status = 'retired' WHERE name = 'a1'$$, '42501', NULL,
                 'nor change its status without the history');
SELECT throws_ok($$UPDATE dlfin.names SET last_version = 0 WHERE name = 'a1'$$, '42501', NULL,
                 'nor reset its version numbers');
-- stored code runs in a security-restricted operation
CREATE FUNCTION sec_a.tmp(v float8) RETURNS float8 LANGUAGE plpgsql VOLATILE AS $$
BEGIN CREATE TEMP TABLE sec_tmp (x int); RETURN v; END $$;
SELECT throws_ok($$SELECT dlfin.train('a2', 'SELECT c, sec_a.tmp(x) AS x FROM sec_t', 'c')$$, '42501', NULL,
                 'a query cannot create temporary objects (security-restricted operation)');
RESET ROLE;

-- ---- 1, 2, 3. a superuser maintaining alice's model gets alice's rights ----
-- (new rows before every retrain: unchanged data records no new version)
INSERT INTO sec_t VALUES (301, false, 301, 'a');
SELECT is(dlfin.retrain('a1', 'never'), 2, 'a superuser retrains alice''s model');
SELECT is((SELECT array_agg(DISTINCT who) FROM sec_log WHERE what = 'spy'), ARRAY['sec_alice'],
          'her query ran as alice, not as the superuser');
SELECT is((SELECT count(*) FROM sec_log WHERE what = 'operator'), 0::bigint,
          'her operator was not reached through the generated statement');
SELECT results_eq($$SELECT owner::text, created_by, query FROM dlfin.models WHERE name = 'a1' AND version = 2$$,
                  $$VALUES ('sec_alice', 'postgres', 'SELECT c, sec_a.spy(x) AS x, i FROM sec_t')$$,
                  'the new version keeps alice as owner and her query, and records who retrained it');
TRUNCATE sec_log;
SELECT ok(length(dlfin.model_card('a1', 2)) > 1000, 'a superuser draws the card of alice''s model');
SELECT is((SELECT count(*) FROM sec_log WHERE who <> 'sec_alice'), 0::bigint,
          'the card scored her held-out rows as alice');
TRUNCATE sec_log;
INSERT INTO sec_t VALUES (302, true, 302, 'b');
SET LOCAL ROLE sec_carol;
SELECT is(dlfin.retrain('a1', 'never'), 3, 'carol, a member of alice, retrains her model');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT who) FROM sec_log WHERE what = 'spy'), ARRAY['sec_alice'],
          'with alice''s rights');
SELECT is((SELECT created_by FROM dlfin.models WHERE name = 'a1' AND version = 3), 'sec_carol',
          'and is recorded as its creator');

-- the session's temporary objects cannot capture the owner's table names
INSERT INTO sec_t VALUES (303, false, 303, 'c');
CREATE TEMP TABLE sec_t AS SELECT * FROM sec_t LIMIT 5;
TRUNCATE sec_log;
SELECT is(dlfin.retrain('a1', 'never'), 4, 'a retrain in a session with a temporary sec_t');
SELECT is((SELECT rows FROM dlfin.models WHERE name = 'a1' AND version = 4), 303::bigint,
          'reads the owner''s table, not the session''s temporary one');
DROP TABLE pg_temp.sec_t;

-- ---- 4. overloads planted in the extension's schema capture nothing ----
SET LOCAL ROLE sec_dbo;
CREATE FUNCTION public.dlfin_split(k text, f float8, s integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.sec_log VALUES (current_user, 'overload'); RETURN 'train'; END $$;
CREATE FUNCTION public.dlfin_predict(m bytea, x float8, c text) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.sec_log VALUES (current_user, 'overload'); RETURN 0.5; END $$;
CREATE FUNCTION public.dlfin_drift(m bytea, x float8, c text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.sec_log VALUES (current_user, 'overload'); RETURN '{}'; END $$;
RESET ROLE;
TRUNCATE sec_log;
SELECT is(dlfin.train('su1', 'SELECT y, x, c FROM sec_t', 'y', '{"epochs": 1, "hidden": [4]}'), 1,
          'a superuser trains with planted overloads in public');
SELECT ok(length(dlfin.model_card('su1', NULL, '{"drift": "sec_t"}')) > 1000, 'and draws a card with drift');
SELECT is((SELECT count(*) FROM sec_log WHERE what = 'overload'), 0::bigint, 'no planted overload ran');

-- ---- a model whose owner was dropped runs as nobody ----
CREATE ROLE sec_gone;
SET LOCAL ROLE sec_gone;
SELECT dlfin.train('gone1', 'SELECT y, x FROM sec_t', 'y', '{"epochs": 1}');
RESET ROLE;
DROP ROLE sec_gone;
INSERT INTO sec_t VALUES (304, true, 304, 'a');
SELECT throws_ok($$SELECT dlfin.retrain('gone1')$$, '42704', NULL,
                 'a retrain of a model whose owner was dropped fails, it does not run as the caller');

-- ---- version numbers are never reused, history stays complete ----
SELECT is(dlfin.train('su2', 'SELECT y, x FROM sec_t', 'y', '{"epochs": 1}', 'never'), 1, 'a candidate version 1');
SELECT is(dlfin.train('su2', 'SELECT y, x FROM sec_t', 'y', '{"epochs": 1, "force": true}', 'never'), 2, 'and 2, never deployed');
SELECT is(dlfin.drop_model('su2'), 2, 'dropped whole');
SELECT is(dlfin.train('su2', 'SELECT y, x FROM sec_t', 'y', '{"epochs": 1, "force": true}', 'never'), 3,
          'the next version is 3, not a reused 1');
SELECT results_eq($$SELECT action, version FROM dlfin.deployments WHERE name = 'su2' ORDER BY id$$,
                  $$VALUES ('drop', NULL::int)$$, 'the drop is in the history');

SELECT * FROM finish();
ROLLBACK;
