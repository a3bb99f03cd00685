-- A worker that is down: statements that need it fail cleanly with a
-- connection error, the registry is unchanged, and the coordinator goes
-- on serving what does not need the worker.  Runs last: it stops worker 2
-- (the command comes from test/citus/run.sh as :stop_worker2).
SET client_min_messages = warning;
SET dlfin.threads = 1;
SELECT plan(7);

SELECT is(dlfin.train('cit_down', 'SELECT approved, income, age, edu FROM loans', 'approved',
                      '{"hidden": [4], "epochs": 2, "seed": 5}', 'always'), 1, 'version 1 while both workers run');
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM dlfin.models) AS models, (SELECT count(*) FROM dlfin.deployments) AS history,
       (SELECT last_version FROM dlfin.names WHERE name = 'cit_down') AS last;

COPY (SELECT 1) TO PROGRAM :'stop_worker2';

SELECT throws_ok($$SELECT dlfin.train('cit_down', 'SELECT approved, income, age, edu FROM loans', 'approved',
                                      '{"hidden": [4], "epochs": 2, "seed": 6, "force": true}', 'always')$$,
                   '08006', NULL, 'dlfin.train with a worker down: 08006 connection failure');
SELECT throws_ok($$SELECT dlfin.train_distributed('loans', 'approved', ARRAY['income', 'age', 'edu'], '{"hidden": [4]}', 2)$$,
                 '08006', NULL, 'dlfin.train_distributed with a worker down: 08006 connection failure');
-- Citus raises this one outside the statement's exception handling, so
-- psql sees it: its SQLSTATE is checked from psql's LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP 0
SELECT sum(dlfin_predict('cit_down', income, age, edu)) FROM loans;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '08006', 'scoring by name with a worker down: 08006 connection failure');
SELECT is(row((SELECT count(*) FROM dlfin.models), (SELECT count(*) FROM dlfin.deployments),
              (SELECT last_version FROM dlfin.names WHERE name = 'cit_down'))::text,
          (SELECT row(models, history, last)::text FROM before),
          'the registry is unchanged');
SELECT is((SELECT version FROM dlfin.deployed WHERE name = 'cit_down'), 1, 'version 1 stays deployed');
SELECT is((SELECT sum(dlfin_predict('cit_down', income, age, edu)) IS NOT NULL FROM loans_local), true,
          'local tables are still scored by name');

SELECT * FROM finish();
