-- Keeping the registry: DROP EXTENSION refused while models are
-- registered, and dlfin.export_models() / dlfin.import_models() moving
-- every version and the history (issue 14).  The export goes through a
-- second database in test/sh/dump_restore.sh; here it is imported after the
-- rows it came from are dropped.
BEGIN;
SET client_min_messages = warning;
SELECT plan(19);

CREATE TABLE x_t AS
SELECT i, (i * 7919) % 97 > 40 AS y, (i * 31 % 101)::float8 AS x, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 300) AS i;
CREATE ROLE x_bob;
SELECT is(dlfin.train('x1', 'SELECT y, x, c FROM x_t', 'y', '{"epochs": 2, "hidden": [4]}'), 1, 'a model');
SELECT is(dlfin.train('x1', 'SELECT y, x, c FROM x_t', 'y', '{"epochs": 3, "hidden": [4]}', 'always'), 2, 'a second version');
SELECT is(dlfin.rollback('x1'), 1, 'rolled back');

-- ---- DROP EXTENSION ----
SELECT throws_ok('DROP EXTENSION dlfin', '2BP01',
                 'cannot drop extension dlfin because its registry holds 2 model versions',
                 'DROP EXTENSION is refused while models are registered');
SELECT throws_ok('DROP EXTENSION dlfin CASCADE', '2BP01', NULL, 'also with CASCADE');
SELECT throws_ok('DROP SCHEMA dlfin CASCADE', '2BP01', NULL, 'and DROP SCHEMA dlfin CASCADE');
SELECT throws_ok('DROP SCHEMA public CASCADE', '2BP01', NULL, 'and DROP SCHEMA of the extension''s schema');
SELECT lives_ok('DROP SCHEMA IF EXISTS x_nothing CASCADE', 'other schemas drop as before');

-- ---- export ----
CREATE TEMP TABLE x_before AS
SELECT (SELECT jsonb_agg(to_jsonb(m) ORDER BY version) FROM dlfin.models m WHERE name = 'x1') AS models,
       (SELECT jsonb_agg(to_jsonb(d) - 'id' ORDER BY id) FROM dlfin.deployments d WHERE name = 'x1') AS history,
       (SELECT sum(dlfin_predict('x1', x, c)) FROM x_t) AS scores,
       dlfin.export_models('x1') AS export;
SELECT is((SELECT jsonb_array_length(export -> 'models') FROM x_before), 2, 'the export holds both versions');
SET LOCAL ROLE x_bob;
SELECT is(jsonb_array_length(dlfin.export_models() -> 'models'), 0, 'another role exports none of them');
SELECT throws_ok($$SELECT dlfin.import_models((SELECT export FROM x_before))$$, '42501', NULL,
                 'a non-superuser cannot import');
RESET ROLE;

-- ---- import ----
SELECT throws_ok($$SELECT dlfin.import_models((SELECT export FROM x_before))$$, '42710',
                 'dlfin model "x1" is already known in this database', 'a known name is refused');
SELECT throws_ok($$SELECT dlfin.import_models('{"format": "x"}')$$, '22023', 'not a dlfin registry export',
                 'a document that is not an export');
SELECT is(dlfin.drop_model('x1'), 2, 'the model is dropped');
-- (a dropped name stays known to keep its numbers: clear it as a restore would)
DELETE FROM dlfin.names WHERE name = 'x1';
SELECT throws_ok($$SELECT dlfin.import_models(jsonb_set((SELECT export FROM x_before), '{models,0,model}',
                                                        to_jsonb(encode('\x00'::bytea, 'base64'))))$$,
                 '22P03', NULL, 'bytes that do not match their SHA-256 are refused');
SELECT is(dlfin.import_models((SELECT export FROM x_before)), 2, 'the export is imported');
SELECT is((SELECT jsonb_agg(to_jsonb(m) ORDER BY version) FROM dlfin.models m WHERE name = 'x1'),
          (SELECT models FROM x_before), 'every version comes back identical');
SELECT is((SELECT jsonb_agg(to_jsonb(d) - 'id' ORDER BY id) FROM dlfin.deployments d
           WHERE name = 'x1' AND id > (SELECT max(id) FROM dlfin.deployments WHERE action = 'drop' AND name = 'x1')),
          (SELECT history FROM x_before), 'and the history');
SELECT is((SELECT sum(dlfin_predict('x1', x, c)) FROM x_t), (SELECT scores FROM x_before),
          'the deployed version scores the same');

SELECT * FROM finish();
ROLLBACK;
