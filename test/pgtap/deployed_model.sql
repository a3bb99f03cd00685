-- dlfin.deployed_model(name): the bytes of the deployed version, with the
-- errors and row-level security of scoring by name (on Citus, by-name
-- scoring is rewritten to it; test/citus/ covers that).  Also: the query
-- of dlfin.train is a common table expression that is inlined without
-- Citus, so nothing about training changes on one node.
BEGIN;
SELECT plan(8);

CREATE TABLE dm_t AS
SELECT i, (i % 2 = 0) AS y, i::float8 AS x, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 300) AS i;
SELECT is(dlfin.train('dm', 'SELECT y, x, c FROM dm_t', 'y', '{"epochs": 2, "hidden": [4]}', 'always'), 1, 'version 1');
SELECT is(dlfin.train('dm', 'SELECT y, x, c FROM dm_t', 'y', '{"epochs": 2, "hidden": [4], "seed": 9, "force": true}', 'never'),
          2, 'version 2, not deployed');

SELECT is(dlfin.deployed_model('dm'), (SELECT model FROM dlfin.models WHERE name = 'dm' AND version = 1),
          'the bytes of the deployed version');
SELECT is(dlfin.deployed_model(NULL), NULL, 'NULL name: NULL');
SELECT throws_ok($$SELECT dlfin.deployed_model('dm_nothing')$$, '42704', NULL, 'unknown name: 42704');
SELECT dlfin.train('dm_cand', 'SELECT y, x, c FROM dm_t', 'y', '{"epochs": 2, "hidden": [4]}', 'never');
SELECT throws_ok($$SELECT dlfin.deployed_model('dm_cand')$$, '42704', 'dlfin model "dm_cand" has no deployed version',
                 'no deployed version: 42704');

CREATE ROLE dm_other;
SET LOCAL ROLE dm_other;
SELECT throws_ok($$SELECT dlfin.deployed_model('dm')$$, '42704', NULL, 'another role''s model is invisible');
RESET ROLE;

-- the statement dlfin.train runs inlines its query (no Citus here)
SELECT matches(dlfin.registry_statement('SELECT y, x FROM dm_t', 'y', ARRAY['x'], ARRAY['float8']::regtype[], false),
               'dlfin_src AS NOT MATERIALIZED', 'without Citus the query is an inlined common table expression');

SELECT * FROM finish();
ROLLBACK;
