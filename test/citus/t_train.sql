-- dlfin_train over a distributed table: the global model (rows gathered to
-- the coordinator) and one model per value of the distribution column
-- (pushed down, trained on the workers) are byte-identical to the same rows
-- in a local table.
SET client_min_messages = warning;
SET dlfin.threads = 1;
BEGIN;
SELECT plan(6);

-- (the coordinator's plan reads the gathered rows from Citus's intermediate
-- columns, so the features are named by the option, as dlfin.train does)
SELECT is(
    (SELECT md5(dlfin_train('{"hidden": [8], "epochs": 10, "seed": 7, "features": ["income", "age", "edu"]}'::jsonb,
                            approved, income, age, edu)) FROM loans),
    (SELECT md5(dlfin_train('{"hidden": [8], "epochs": 10, "seed": 7, "features": ["income", "age", "edu"]}'::jsonb,
                            approved, income, age, edu)) FROM loans_local),
    'a global model over a distributed table is byte-identical to the same rows locally');

SELECT ok(
    received_bytes($$SELECT dlfin_train('{"hidden": [8], "epochs": 2, "seed": 7}'::jsonb, approved, income, age, edu) FROM loans$$)
      > 4000 * 8,
    'the global model gathers the rows: released Citus runs the aggregate on the coordinator');

SELECT results_eq(
    $$SELECT region, md5(dlfin_train('{"hidden": [8], "epochs": 10, "seed": 7}'::jsonb, approved, income, age, edu))
      FROM loans GROUP BY region ORDER BY region$$,
    $$SELECT region, md5(dlfin_train('{"hidden": [8], "epochs": 10, "seed": 7}'::jsonb, approved, income, age, edu))
      FROM loans_local GROUP BY region ORDER BY region$$,
    'GROUP BY the distribution column: one model per region, identical to local');

SELECT matches(
    plan_of($$SELECT region, dlfin_train(approved, income, age, edu) FROM loans GROUP BY region$$),
    'Task.*\n(.*\n)*.*dlfin_train\(',
    'GROUP BY the distribution column runs dlfin_train in the workers'' plans');

-- one model per region comes back instead of the region's rows
SELECT cmp_ok(
    received_bytes($$SELECT region, dlfin_train('{"hidden": [4], "epochs": 1, "seed": 7}'::jsonb, approved, income, age, edu)
                     FROM loans GROUP BY region$$),
    '<',
    received_bytes($$SELECT dlfin_train('{"hidden": [4], "epochs": 1, "seed": 7}'::jsonb, approved, income, age, edu)
                     FROM loans$$) / 4,
    'GROUP BY the distribution column ships models, not rows');

-- the same model whatever order the workers deliver the rows in (the
-- results go through temporary tables: a pgTAP call around a subquery that
-- Citus plans recursively would run in another session)
CREATE TEMP TABLE ordered AS
SELECT md5(dlfin_train('{"hidden": [8], "epochs": 5, "seed": 11}'::jsonb, approved, income, age, edu)) AS h
FROM (SELECT * FROM loans ORDER BY id DESC) x;
CREATE TEMP TABLE unordered AS
SELECT md5(dlfin_train('{"hidden": [8], "epochs": 5, "seed": 11}'::jsonb, approved, income, age, edu)) AS h
FROM loans;
SELECT is((SELECT h FROM ordered), (SELECT h FROM unordered), 'row order does not change the model');

SELECT * FROM finish();
ROLLBACK;
