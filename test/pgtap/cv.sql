-- dlfin_cv (issue 16): k-fold cross-validation of a training for users,
-- and the registry's "cv": k that stores the same figures on a version.
-- Their errors with their SQLSTATEs, the figures' shape for every task,
-- and determinism (interrupts: test/sh/cancel_phases.sh).
BEGIN;
SELECT plan(26);

CREATE TEMP TABLE t AS
SELECT i, (sin(i * 1.7) + (i % 5) * 0.3 > 0.4) AS y, sin(i * 1.7)::float8 AS x,
       (i % 5)::float8 AS z, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c,
       sin(i * 1.7) * 10 + (i % 5) AS r
FROM generate_series(1, 400) AS i;

-- errors (22023)
SELECT throws_ok($$SELECT dlfin_cv('{"cv_folds": 1}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "cv_folds"', 'cv_folds 1');
SELECT throws_ok($$SELECT dlfin_cv('{"cv_folds": 65}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "cv_folds"', 'cv_folds 65');
SELECT throws_ok($$SELECT dlfin_cv('{"cv_folds": 5}', y, x) FROM t WHERE i <= 7$$, '22023',
    'too few rows for 5 cross-validation folds', 'fewer rows than twice the folds');
SELECT throws_ok($$SELECT dlfin_cv('{"cv_folds": 10}', y, x) FROM t WHERE y OR i <= 12$$, '22023',
    'too few rows for 10 cross-validation folds', 'a class with fewer rows than folds');
SELECT is((SELECT count(*) FROM t WHERE NOT y AND i <= 12) < 10, true, '(that class has fewer than 10 rows)');
SELECT throws_ok($$SELECT dlfin_cv('{"skip": 3}', y, x) FROM t$$, '22023', NULL, 'the options are dlfin_train''s');

-- the figures
CREATE TEMP TABLE r AS
SELECT 'bin' AS k, dlfin_cv('{"cv_folds": 3, "hidden": [8], "epochs": 20, "threads": 1}', y, x, z, c) AS cv FROM t;
INSERT INTO r SELECT 'bin shuffled', dlfin_cv('{"cv_folds": 3, "hidden": [8], "epochs": 20, "threads": 2}', y, x, z, c ORDER BY md5(i::text)) FROM t;
INSERT INTO r SELECT 'reg', dlfin_cv('{"cv_folds": 4, "hidden": [8], "epochs": 20}', r, x, z, c) FROM t;
INSERT INTO r SELECT 'mc', dlfin_cv('{"hidden": [8], "epochs": 20}', c, x, z) FROM t;
INSERT INTO r SELECT 'auto', dlfin_cv('{"cv_folds": 3, "optimizer": "auto", "l2": "auto", "skip": true, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;

SELECT is((SELECT cv FROM r WHERE k = 'bin'), (SELECT cv FROM r WHERE k = 'bin shuffled'),
    'same figures for shuffled rows and threads 1 vs 2');
SELECT is(jsonb_array_length(cv->'per_fold'), 3, 'one entry per fold') FROM r WHERE k = 'bin';
SELECT is((SELECT sum((f->>'test_rows')::int) FROM r, jsonb_array_elements(cv->'per_fold') f WHERE k = 'bin'), 400::bigint,
    'the folds cover every row once');
SELECT ok((SELECT bool_and((f->>'train_rows')::int + (f->>'test_rows')::int = 400) FROM r, jsonb_array_elements(cv->'per_fold') f WHERE k = 'bin'),
    'each fold trains on the others');
SELECT is(abs((cv->'mean'->>'auc')::float8 - (SELECT avg((f->>'auc')::float8) FROM jsonb_array_elements(cv->'per_fold') f)) < 1e-12, true,
    'the mean is the folds'' mean') FROM r WHERE k = 'bin';
SELECT is(abs((cv->'sd'->>'auc')::float8 - (SELECT stddev_samp((f->>'auc')::float8) FROM jsonb_array_elements(cv->'per_fold') f)) < 1e-9, true,
    'the sd is the folds'' sample sd') FROM r WHERE k = 'bin';
SELECT is(array(SELECT jsonb_object_keys(cv->'mean') ORDER BY 1), ARRAY['accuracy', 'auc', 'brier', 'logloss'],
    'binary: AUC, log loss, Brier, accuracy') FROM r WHERE k = 'bin';
SELECT is(array(SELECT jsonb_object_keys(cv->'mean') ORDER BY 1), ARRAY['mae', 'r2', 'rmse'],
    'regression: RMSE, MAE, R2') FROM r WHERE k = 'reg';
SELECT is(cv->>'metric' || ' ' || (cv->>'folds'), 'accuracy 5', 'multiclass: accuracy, 5 folds by default') FROM r WHERE k = 'mc';
SELECT ok((cv->'mean'->>'auc')::float8 > 0.7, 'auto options with a skip path cross-validate') FROM r WHERE k = 'auto';

-- the registry: "cv": k stores dlfin_cv's figures on the version
CREATE TABLE cv_t AS SELECT * FROM t;
SET LOCAL extra_float_digits = 1;	-- as dlfin.train makes the rows' text
SELECT throws_ok($$SELECT dlfin.train('cvm', 'SELECT y, x, z, c FROM cv_t', 'y', '{"cv": 1}')$$, '22023',
    'dlfin.train option "cv" must be an integer between 2 and 64', 'registry cv 1');
SELECT throws_ok($$SELECT dlfin.train('cvm', 'SELECT y, x, z, c FROM cv_t', 'y', '{"cv": 2.5}')$$, '22023',
    'dlfin.train option "cv" must be an integer between 2 and 64', 'registry cv fractional');
SELECT throws_ok($$SELECT dlfin.train('cvm', 'SELECT y, x, z, c FROM cv_t', 'y', '{"cv": "five"}')$$, '22023',
    'dlfin.train option "cv" must be an integer between 2 and 64', 'registry cv a string');
SELECT throws_ok($$SELECT dlfin.train('cvm', 'SELECT y, x FROM cv_t WHERE y OR i <= 12', 'y', '{"cv": 10}')$$, '22023',
    'too few rows for 10 cross-validation folds', 'registry cv with too few rows of a class');
SELECT is(dlfin.train('cvm', 'SELECT y, x, z, c FROM cv_t', 'y', '{"cv": 3, "hidden": [8], "epochs": 20}', 'always'), 1,
    'a version with "cv": 3');
SELECT is(metrics->'cv'->>'folds', '3', 'the version stores the CV figures') FROM dlfin.models WHERE name = 'cvm';
SELECT is((metrics->'cv'->'per_fold'->0->>'train_rows')::int + (metrics->'cv'->'per_fold'->0->>'test_rows')::int,
    train_rows::int, 'CV runs on the version''s training rows') FROM dlfin.models WHERE name = 'cvm';
SELECT is(metrics->'cv',
    (SELECT dlfin_cv('{"cv_folds": 3, "hidden": [8], "epochs": 20, "features": ["x", "z", "c"]}', y, x, z, c)
     FROM (SELECT y, x, z, c FROM cv_t) q WHERE dlfin_split(q::text, 0.2, 0) = 'train'),
    'the same figures as dlfin_cv on those rows') FROM dlfin.models WHERE name = 'cvm';
SELECT is(dlfin.train('cvm2', 'SELECT y, x, z, c FROM cv_t', 'y', '{"hidden": [8], "epochs": 20}', 'never'), 1,
    'a version without "cv"');
SELECT ok(NOT metrics ? 'cv' AND metrics ? 'auc', 'without "cv", the held-out metrics only') FROM dlfin.models WHERE name = 'cvm2';

SELECT * FROM finish();
ROLLBACK;
