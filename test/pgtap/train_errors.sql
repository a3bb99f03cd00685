-- Every user-triggerable error of training and scoring, with its SQLSTATE.
BEGIN;
SELECT plan(71);

CREATE TEMP TABLE t AS
SELECT i, (i % 2 = 0) AS y, i::float8 AS x, (i % 3)::int AS k,
       (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 200) AS i;
CREATE TEMP TABLE good AS SELECT dlfin_train('{"epochs": 1, "hidden": [4]}', y, x, c) AS m FROM t;
CREATE TEMP TABLE reg AS SELECT dlfin_train('{"epochs": 1, "hidden": [4]}', x * 2, x) AS m FROM t;

-- options: unknown keys and wrong types or ranges (22023)
SELECT throws_ok($$SELECT dlfin_train('{"epoch": 3}', y, x) FROM t$$, '22023',
    'unknown dlfin_train option "epoch"', 'unknown option');
SELECT throws_ok($$SELECT dlfin_train('[1, 2]', y, x) FROM t$$, '22023', NULL, 'options must be an object');
SELECT throws_ok($$SELECT dlfin_train('"x"', y, x) FROM t$$, '22023', NULL, 'options must not be a scalar');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": 3}', y, x) FROM t$$, '22023', NULL, 'hidden not an array');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [0]}', y, x) FROM t$$, '22023', NULL, 'hidden layer of 0 units');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [2.5]}', y, x) FROM t$$, '22023', NULL, 'fractional layer size');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [5000]}', y, x) FROM t$$, '22023', NULL, 'layer too wide');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}', y, x) FROM t$$, '22023', NULL, 'too many layers');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": ["a"]}', y, x) FROM t$$, '22023', NULL, 'layer size not a number');
SELECT throws_ok($$SELECT dlfin_train('{"activation": "gelu"}', y, x) FROM t$$, '22023', NULL, 'unknown activation');
SELECT throws_ok($$SELECT dlfin_train('{"activation": 1}', y, x) FROM t$$, '22023', NULL, 'activation not a string');
SELECT throws_ok($$SELECT dlfin_train('{"optimizer": "rmsprop"}', y, x) FROM t$$, '22023', NULL, 'unknown optimizer');
SELECT throws_ok($$SELECT dlfin_train('{"learning_rate": 0}', y, x) FROM t$$, '22023', NULL, 'learning_rate 0');
SELECT throws_ok($$SELECT dlfin_train('{"learning_rate": -1}', y, x) FROM t$$, '22023', NULL, 'negative learning_rate');
SELECT throws_ok($$SELECT dlfin_train('{"learning_rate": "fast"}', y, x) FROM t$$, '22023', NULL, 'learning_rate not a number');
SELECT throws_ok($$SELECT dlfin_train('{"batch_size": 0}', y, x) FROM t$$, '22023', NULL, 'batch_size 0');
SELECT throws_ok($$SELECT dlfin_train('{"batch_size": 1e9}', y, x) FROM t$$, '22023', NULL, 'batch_size too large');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 0}', y, x) FROM t$$, '22023', NULL, 'epochs 0');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 1000001}', y, x) FROM t$$, '22023', NULL, 'epochs too many');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": true}', y, x) FROM t$$, '22023', NULL, 'epochs not a number');
SELECT throws_ok($$SELECT dlfin_train('{"l2": -0.1}', y, x) FROM t$$, '22023', NULL, 'negative l2');
SELECT throws_ok($$SELECT dlfin_train('{"dropout": 1}', y, x) FROM t$$, '22023', NULL, 'dropout 1');
SELECT throws_ok($$SELECT dlfin_train('{"validation_fraction": 0.9}', y, x) FROM t$$, '22023', NULL, 'validation_fraction too big');
SELECT throws_ok($$SELECT dlfin_train('{"validation_fraction": -0.1}', y, x) FROM t$$, '22023', NULL, 'negative validation_fraction');
SELECT throws_ok($$SELECT dlfin_train('{"patience": 0}', y, x) FROM t$$, '22023', NULL, 'patience 0');
SELECT throws_ok($$SELECT dlfin_train('{"seed": "x"}', y, x) FROM t$$, '22023', NULL, 'seed not a number');
SELECT throws_ok($$SELECT dlfin_train('{"seed": 1.5}', y, x) FROM t$$, '22023', NULL, 'fractional seed');
SELECT throws_ok($$SELECT dlfin_train('{"features": ["a", "b"]}', y, x) FROM t$$, '22023', NULL, 'features count mismatch');
SELECT throws_ok($$SELECT dlfin_train('{"features": ["a", "a"]}', y, x, x) FROM t$$, '22023', NULL, 'duplicate feature names');
SELECT throws_ok($$SELECT dlfin_train('{"features": [""]}', y, x) FROM t$$, '22023', NULL, 'empty feature name');
SELECT throws_ok($$SELECT dlfin_train('{"features": "x"}', y, x) FROM t$$, '22023', NULL, 'features not an array');
SELECT throws_ok($$SELECT dlfin_train('{"max_categories": 0}', y, x) FROM t$$, '22023', NULL, 'max_categories 0');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": "auto"}', y, x) FROM t$$, '22023', NULL, 'class_weight not balanced');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": {"true": -1}}', y, x) FROM t$$, '22023', NULL, 'negative class weight');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": {"maybe": 2}, "epochs": 1}', y, x) FROM t$$, '22023', NULL, 'class weight of unknown class');
SELECT throws_ok($$SELECT dlfin_train('{"task": "ranking"}', y, x) FROM t$$, '22023', NULL, 'unknown task');
SELECT throws_ok($$SELECT dlfin_train('{"task": "regression"}', c, x) FROM t$$, '22023', NULL, 'regression on a text label');
SELECT throws_ok($$SELECT dlfin_train('{"positive": "maybe"}', y, x) FROM t$$, '22023', NULL, 'positive not a label value');
SELECT throws_ok($$SELECT dlfin_train('{"positive": "a"}', c, x) FROM t$$, '22023', NULL, 'positive on multiclass');
SELECT throws_ok($$SELECT dlfin_train('{"verbose": "yes"}', y, x) FROM t$$, '22023', NULL, 'verbose not boolean');
SELECT throws_ok($$SELECT dlfin_train('{"threads": 100}', y, x) FROM t$$, '22023', NULL, 'too many threads');
SELECT throws_ok($$SELECT dlfin_train('{"init": "zz"}', y, x) FROM t$$, '22023', NULL, 'init not a bytea');
SELECT throws_ok($$SELECT dlfin_train(jsonb_build_object('init', (SELECT m FROM good), 'epochs', 1), y, x) FROM t$$,
    '22023', NULL, 'init model with another schema');
SELECT throws_ok($$SELECT dlfin_train('{"init": "\\x00"}', y, x) FROM t$$, '22P03', NULL, 'init model corrupt');
SELECT throws_ok($$SELECT dlfin_train(('{"seed": ' || i || '}')::jsonb, y, x) FROM t$$, '22023',
    'dlfin_train options must be the same for every row', 'options varying per row');

-- data errors (22000) and types (42804)
SELECT throws_ok($$SELECT dlfin_train(y, CASE WHEN i = 7 THEN 'NaN'::float8 ELSE x END) FROM t$$, '22000',
    'dlfin_train feature "CASE WHEN (i = 7) THEN ''NaN''::double precision ELSE x END" is NaN or infinite',
    'NaN feature, named after its expression');
SELECT throws_ok($$SELECT dlfin_train('{"features": ["income"]}', y, CASE WHEN i = 7 THEN 'Infinity'::float8 ELSE x END) FROM t$$,
    '22000', 'dlfin_train feature "income" is NaN or infinite', 'infinite feature named');
SELECT throws_ok($$SELECT dlfin_train(y, CASE WHEN i = 7 THEN 'NaN'::numeric ELSE x::numeric END) FROM t$$, '22000', NULL, 'numeric NaN feature');
SELECT throws_ok($$SELECT dlfin_train(CASE WHEN i = 7 THEN '-Infinity'::float8 ELSE x END, x) FROM t$$, '22000',
    'dlfin_train label is NaN or infinite', 'infinite label');
SELECT throws_ok($$SELECT dlfin_train(true, x) FROM t$$, '22000', NULL, 'one class');
SELECT throws_ok($$SELECT dlfin_train('x'::text, x) FROM t$$, '22000', NULL, 'one text class');
SELECT throws_ok($$SELECT dlfin_train(y, x) FROM t WHERE i = 1$$, '22000', NULL, 'one row');
SELECT throws_ok($$SELECT dlfin_train('{"task": "binary"}', c, x) FROM t$$, '22000', NULL, 'binary with three classes');
SELECT throws_ok($$SELECT dlfin_train('{"task": "multiclass"}', y, x) FROM t$$, '22000', NULL, 'multiclass with two classes');
SELECT throws_ok($$SELECT dlfin_train(now()::date, x) FROM t$$, '42804', NULL, 'date label');
SELECT throws_ok($$SELECT dlfin_train(y, now()::date) FROM t$$, '42804', NULL, 'date feature');
SELECT throws_ok($$SELECT dlfin_train(y, ARRAY[1]) FROM t$$, '42804', NULL, 'array feature');
SELECT throws_ok($$SELECT dlfin_train(y, VARIADIC ARRAY[x]) FROM t$$, '0A000', NULL, 'VARIADIC array form');
SELECT throws_ok($$SELECT dlfin_train(y, repeat('x', 2000)) FROM t$$, '54000', NULL, 'category too long');

-- limits: network too big (54000), memory too small (53200)
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [4096, 4096, 4096]}', y, x) FROM t$$, '54000', NULL, 'network too big');
SET LOCAL dlfin.max_training_memory = 64;
SELECT throws_ok($$SELECT dlfin_train(y, x, x, x, x) FROM generate_series(1, 100000) x, (VALUES (true), (false)) v(y)$$,
    '53200', 'dlfin_train input exceeds dlfin.max_training_memory', 'memory limit');
RESET dlfin.max_training_memory;

-- scoring: wrong feature count (22023) or type (42804), corrupt model (22P03)
SELECT throws_ok($$SELECT dlfin_predict(m, 1.0) FROM good$$, '22023', NULL, 'too few features');
SELECT throws_ok($$SELECT dlfin_predict(m, 1.0, 'a', 3) FROM good$$, '22023', NULL, 'too many features');
SELECT throws_ok($$SELECT dlfin_predict(m, 'a'::text, 'a'::text) FROM good$$, '42804', NULL, 'text for a number');
SELECT throws_ok($$SELECT dlfin_predict(m, 1.0, 2.0) FROM good$$, '42804', NULL, 'number for a category');
SELECT throws_ok($$SELECT dlfin_predict(m, 'NaN'::float8, 'a') FROM good$$, '22000', NULL, 'NaN at scoring');
SELECT throws_ok($$SELECT dlfin_predict('\x0102'::bytea, 1.0) $$, '22P03', NULL, 'garbage model');
SELECT throws_ok($$SELECT dlfin_model_info(substr(m, 1, octet_length(m) - 1)) FROM good$$, '22P03', NULL, 'truncated model');
SELECT throws_ok($$SELECT dlfin_predict_class(m, 1.0) FROM reg$$, '42809', NULL, 'class of a regression');

-- the epochs flush subnormal floats to zero; the backend's own float
-- arithmetic must be left as it was, after a training and after a cancel
SELECT lives_ok($$SELECT dlfin_train('{"epochs": 2, "hidden": [64, 64], "validation_fraction": 0.2}', (i % 3 = 0), i::float8 * 1e-30, (i % 7)::float8) FROM generate_series(1, 2000) i$$, 'a training with tiny features');
SELECT is((SELECT 1e-310::float8 * 1.0), 1e-310::float8, 'subnormal float8 arithmetic still works after training');

SELECT * FROM finish();
ROLLBACK;
