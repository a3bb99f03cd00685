-- dlfin.train and dlfin.retrain whose query reads distributed tables (and
-- joins a reference table): the same rows, fingerprint, model, held-out
-- metrics and deployment decision as on one node.
SET client_min_messages = warning;
SET dlfin.threads = 1;
SELECT plan(13);

SELECT is(dlfin.train('cit_dist', 'SELECT approved, income, age, edu FROM loans', 'approved',
                      '{"hidden": [8], "epochs": 10, "seed": 5}'), 1,
          'dlfin.train over a distributed table records version 1');
SELECT is(dlfin.train('cit_local', 'SELECT approved, income, age, edu FROM loans_local', 'approved',
                      '{"hidden": [8], "epochs": 10, "seed": 5}'), 1,
          'the same training over the local copy');

CREATE TEMP TABLE d AS SELECT * FROM dlfin.models WHERE name = 'cit_dist';
CREATE TEMP TABLE l AS SELECT * FROM dlfin.models WHERE name = 'cit_local';
SELECT is(d.data_fingerprint, l.data_fingerprint, 'the fingerprint is that of the same rows locally') FROM d, l;
SELECT is(row(d.rows, d.train_rows, d.test_rows)::text, row(l.rows, l.train_rows, l.test_rows)::text,
          'the same training and held-out rows') FROM d, l;
SELECT is(d.model_sha256, l.model_sha256, 'the model is byte-identical to the local one') FROM d, l;
SELECT is(d.metrics, l.metrics, 'the same held-out metrics') FROM d, l;
SELECT is(d.decision - 'reason', l.decision - 'reason', 'the same deployment decision') FROM d, l;

-- a join with a reference table
SELECT is(dlfin.train('cit_join', 'SELECT l.approved, l.income, l.age, l.edu, r.risk FROM loans l JOIN regions r USING (region)',
                      'approved', '{"hidden": [8], "epochs": 5, "seed": 5}'), 1,
          'dlfin.train over a distributed table joined with a reference table');
SELECT dlfin.train('cit_join_local', 'SELECT l.approved, l.income, l.age, l.edu, r.risk FROM loans_local l JOIN regions_local r USING (region)',
                   'approved', '{"hidden": [8], "epochs": 5, "seed": 5}');
SELECT is((SELECT data_fingerprint || model_sha256 FROM dlfin.models WHERE name = 'cit_join'),
          (SELECT data_fingerprint || model_sha256 FROM dlfin.models WHERE name = 'cit_join_local'),
          'the join: the same fingerprint and model as locally');

-- retrain: the stored query runs again over the distributed table
SELECT is(dlfin.retrain('cit_dist'), 1, 'retrain on unchanged rows keeps version 1');
SELECT ok(dlfin.model_card('cit_dist') LIKE '%<svg%', 'the model card scores the held-out rows of the distributed table');

-- the query runs with the caller's rights on the distributed table
CREATE ROLE cit_nobody;
GRANT CREATE ON SCHEMA public TO cit_nobody;
SET ROLE cit_nobody;
SELECT throws_ok($$SELECT dlfin.train('cit_nobody', 'SELECT approved, income, age, edu FROM loans', 'approved')$$,
                 '42501', NULL, 'dlfin.train over a distributed table the caller may not read: 42501');
RESET ROLE;
SELECT is((SELECT count(*) FROM dlfin.names WHERE name = 'cit_nobody'), 0::bigint, 'and nothing is recorded');
REVOKE CREATE ON SCHEMA public FROM cit_nobody;
DROP ROLE cit_nobody;

SELECT * FROM finish();
