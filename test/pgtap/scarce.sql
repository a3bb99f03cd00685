-- Small-data training (issue 16): L-BFGS, "optimizer": "auto", "l2": "auto"
-- with cross-validation: errors with their SQLSTATE, determinism, the CV
-- figures in dlfin_model_info, and scoring of the resulting models.
BEGIN;
SELECT plan(20);

CREATE TEMP TABLE t AS
SELECT i, (sin(i * 1.7) + (i % 5) * 0.3 > 0.4) AS y, sin(i * 1.7)::float8 AS x,
       (i % 5)::float8 AS z, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 300) AS i;

-- errors (22023)
SELECT throws_ok($$SELECT dlfin_train('{"optimizer": "newton"}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "optimizer"', 'unknown optimizer');
SELECT throws_ok($$SELECT dlfin_train('{"l2": "strong"}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "l2"', 'l2 neither a number nor auto');
SELECT throws_ok($$SELECT dlfin_train('{"l2": 11}', y, x) FROM t$$, '22023', NULL, 'l2 out of range');
SELECT throws_ok($$SELECT dlfin_train('{"l2": "auto", "cv_folds": 1}', y, x) FROM t$$, '22023', NULL, 'cv_folds 1');
SELECT throws_ok($$SELECT dlfin_train('{"l2": "auto", "cv_folds": 65}', y, x) FROM t$$, '22023', NULL, 'cv_folds 65');
SELECT throws_ok($$SELECT dlfin_train('{"l2": "auto", "cv_folds": 2.5}', y, x) FROM t$$, '22023', NULL, 'fractional cv_folds');
SELECT throws_ok($$SELECT dlfin_train('{"l2": "auto", "cv_folds": 10}', i <= 5, x) FROM t WHERE i <= 60$$,
    '22023', 'too few rows for 10 cross-validation folds', 'a class with fewer rows than folds');
SELECT throws_ok($$SELECT dlfin_train('{"optimizer": "lbfgs", "dropout": 0.2}', y, x) FROM t$$, '22023',
    'dropout cannot be used with optimizer lbfgs', 'lbfgs with dropout');

-- lbfgs: trains, deterministic in row order and threads
CREATE TEMP TABLE m AS
SELECT 'lbfgs' AS k, dlfin_train('{"optimizer": "lbfgs", "l2": 0.01, "hidden": [8], "threads": 1}', y, x, z, c) AS model FROM t;
INSERT INTO m SELECT 'lbfgs shuffled', dlfin_train('{"optimizer": "lbfgs", "l2": 0.01, "hidden": [8], "threads": 2}', y, x, z, c ORDER BY md5(i::text)) FROM t;
SELECT is((SELECT model FROM m WHERE k = 'lbfgs'), (SELECT model FROM m WHERE k = 'lbfgs shuffled'),
    'lbfgs: same bytes for shuffled rows and threads 1 vs 2');
SELECT is(dlfin_model_info(model)->'options'->>'optimizer', 'lbfgs', 'lbfgs recorded in the options') FROM m WHERE k = 'lbfgs';
SELECT ok((dlfin_model_info(model)->'validation_metrics'->>'auc')::float8 > 0.7, 'lbfgs learns') FROM m WHERE k = 'lbfgs';

-- auto: l2 by CV, refit on every row
INSERT INTO m SELECT 'auto', dlfin_train('{"optimizer": "auto", "l2": "auto", "hidden": [8], "epochs": 50, "threads": 1}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'auto shuffled', dlfin_train('{"optimizer": "auto", "l2": "auto", "hidden": [8], "epochs": 50, "threads": 2}', y, x, z, c ORDER BY md5(i::text)) FROM t;
SELECT is((SELECT model FROM m WHERE k = 'auto'), (SELECT model FROM m WHERE k = 'auto shuffled'),
    'l2 auto: same bytes for shuffled rows and threads 1 vs 2');
SELECT is(dlfin_model_info(model)->'options'->>'optimizer_chosen', 'lbfgs', 'auto chose lbfgs for 300 rows') FROM m WHERE k = 'auto';
SELECT is(jsonb_array_length(dlfin_model_info(model)->'options'->'cv'->'candidates'), 4, 'four candidates recorded') FROM m WHERE k = 'auto';
SELECT ok((dlfin_model_info(model)->'options'->'cv'->>'l2')::float8 > 0, 'the chosen l2 is recorded') FROM m WHERE k = 'auto';
SELECT ok(dlfin_model_info(model)->'validation_metrics' ? 'cv_auc_sd', 'cv_auc_sd is a metric') FROM m WHERE k = 'auto';
SELECT is((dlfin_model_info(model)->'rows'->>'train')::int, 300, 'the refit trains on every row') FROM m WHERE k = 'auto';
SELECT ok((SELECT count(*) FROM t, m WHERE m.k = 'auto' AND dlfin_predict(model, x, z, c) BETWEEN 0 AND 1) = 300,
    'an auto model scores');
SELECT is(dlfin_model_info(model)->'options'->>'l2', 'auto', 'options say l2 auto') FROM m WHERE k = 'auto';
SELECT lives_ok($$SELECT dlfin_train('{"l2": "auto", "cv_folds": 3, "hidden": [4], "epochs": 20}', x * 2 + z, x, z) FROM t$$,
    'l2 auto: regression');

SELECT * FROM finish();
ROLLBACK;
