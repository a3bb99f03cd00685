-- Every user-triggerable error of explaining and governing, with its
-- SQLSTATE: training options, explanation and reason functions, and the
-- drift and fairness aggregates.
BEGIN;
SELECT plan(34);

CREATE TEMP TABLE t AS
SELECT i, (i % 2 = 0) AS y, i::float8 AS x, (i * 7 % 11)::float8 AS z,
       (i % 3)::int AS k, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 200) AS i;
CREATE TEMP TABLE good AS
SELECT dlfin_train('{"epochs": 2, "hidden": [4], "features": ["x", "z", "c"]}', y, x, z, c) AS m FROM t;
CREATE TEMP TABLE other AS
SELECT dlfin_train('{"epochs": 2, "hidden": [4], "seed": 9}', y, x, z, c) AS m FROM t;
CREATE TEMP TABLE multi AS SELECT dlfin_train('{"epochs": 1, "hidden": [4]}', c, x) AS m FROM t;

-- training options (22023)
SELECT throws_ok($$SELECT dlfin_train('{"adverse": "bad"}', y, x) FROM t$$, '22023', NULL, 'adverse not negative/positive');
SELECT throws_ok($$SELECT dlfin_train('{"adverse": 1}', y, x) FROM t$$, '22023', NULL, 'adverse not a string');
SELECT throws_ok($$SELECT dlfin_train('{"calibrate": "beta"}', y, x) FROM t$$, '22023', NULL, 'unknown calibration');
SELECT throws_ok($$SELECT dlfin_train('{"calibrate": "platt"}', x * 2, x) FROM t$$, '22023',
    'calibration needs a binary classifier', 'calibrating a regression');
SELECT throws_ok($$SELECT dlfin_train('{"calibrate": "isotonic"}', c, x) FROM t$$, '22023',
    'calibration needs a binary classifier', 'calibrating a multiclass model');
SELECT throws_ok($$SELECT dlfin_train('{"calibrate": "platt", "validation_fraction": 0}', y, x) FROM t$$, '22023',
    'calibration needs a validation split', 'calibration without validation rows');
SELECT throws_ok($$SELECT dlfin_train('{"monotone": [1]}', y, x) FROM t$$, '22023', NULL, 'monotone not an object');
SELECT throws_ok($$SELECT dlfin_train('{"monotone": {"f1": 2}}', y, x) FROM t$$, '22023', NULL, 'monotone sign 2');
SELECT throws_ok($$SELECT dlfin_train('{"monotone": {"f1": "up"}}', y, x) FROM t$$, '22023', NULL, 'monotone sign not a number');
SELECT throws_ok($$SELECT dlfin_train('{"monotone": {"income": 1}}', y, x) FROM t$$, '22023',
    'dlfin_train option "monotone" names unknown feature "income"', 'monotone on an unknown feature');
SELECT throws_ok($$SELECT dlfin_train('{"monotone": {"f2": 1}}', y, x, c) FROM t$$, '22023',
    'categorical feature "c" cannot have a monotone constraint', 'monotone on a categorical feature, by position');
SELECT throws_ok($$SELECT dlfin_train('{"monotone": {"f1": 1}}', c, x) FROM t$$, '22023',
    'monotone constraints need a binary or regression model', 'monotone multiclass');
SELECT throws_ok($$SELECT dlfin_train('{"reasons": "x"}', y, x) FROM t$$, '22023', NULL, 'reasons not an object');
SELECT throws_ok($$SELECT dlfin_train('{"reasons": {"f1": 3}}', y, x) FROM t$$, '22023', NULL, 'reason text not a string');
SELECT throws_ok($$SELECT dlfin_train('{"reasons": {"f1": ""}}', y, x) FROM t$$, '22023', NULL, 'empty reason text');
SELECT throws_ok($$SELECT dlfin_train('{"reasons": {"f9": "x"}}', y, x) FROM t$$, '22023', NULL, 'reason for an unknown feature');
SELECT lives_ok($$SELECT dlfin_train('{"epochs": 1, "monotone": {"f1": 1, "f2": -1}, "adverse": "positive", "calibrate": "platt", "reasons": {"f1": "x"}}', y, x, z) FROM t$$,
    'all governance options together');

-- explaining and reason codes
SELECT throws_ok($$SELECT dlfin_explain(m, 1.0, 2.0) FROM good$$, '22023', NULL, 'explain: too few features');
SELECT throws_ok($$SELECT dlfin_explain(m, 'a', 2.0, 'b') FROM good$$, '42804', NULL, 'explain: wrong feature type');
SELECT throws_ok($$SELECT dlfin_explain(m, VARIADIC ARRAY[1.0, 2.0, 3.0]) FROM good$$, '0A000', NULL, 'explain: VARIADIC array');
SELECT throws_ok($$SELECT dlfin_explain('\x00'::bytea, 1.0)$$, '22P03', NULL, 'explain: not a model');
SELECT throws_ok($$SELECT dlfin_explain(m, 'NaN'::float8, 2.0, 'a') FROM good$$, '22000', NULL, 'explain: NaN feature');
SELECT throws_ok($$SELECT dlfin_reasons(m, -1, 1.0, 2.0, 'a') FROM good$$, '22023',
    'number of reasons must not be negative', 'reasons: negative k');
SELECT throws_ok($$SELECT dlfin_reasons(m, 2, 1.0) FROM multi$$, '42809', NULL, 'reasons: multiclass model');
SELECT is((SELECT dlfin_explain(NULL::bytea, 1.0)), NULL, 'explain: NULL model gives NULL');
SELECT is((SELECT dlfin_reasons(m, NULL, 1.0, 2.0, 'a') FROM good), NULL, 'reasons: NULL k gives NULL');
SELECT throws_ok($$SELECT * FROM dlfin_importance('\x00'::bytea)$$, '22P03', NULL, 'importance: not a model');

-- drift
SELECT throws_ok($$SELECT dlfin_drift(CASE WHEN i % 2 = 0 THEN g.m ELSE o.m END, x, z, c) FROM t, good g, other o$$,
    '22023', 'dlfin_drift needs the same model on every row', 'drift: two models');
SELECT throws_ok($$SELECT dlfin_drift(m, x, z) FROM t, good$$, '22023', NULL, 'drift: too few features');
SELECT is((SELECT dlfin_drift(NULL::bytea, x, z, c) FROM t), NULL, 'drift: NULL model rows are skipped');

-- fairness
SELECT throws_ok($$SELECT dlfin_fairness(x / 200, c, y, CASE WHEN i < 100 THEN 0.5 ELSE 0.6 END) FROM t$$,
    '22023', 'dlfin_fairness threshold must be the same for every row', 'fairness: changing threshold');
SELECT throws_ok($$SELECT dlfin_fairness(x / 200, c, y, NULL) FROM t$$, '22004', NULL, 'fairness: NULL threshold');
SELECT throws_ok($$SELECT dlfin_fairness(x / 200, c, y, 'infinity') FROM t$$, '22023', NULL, 'fairness: infinite threshold');
SELECT throws_ok($$SELECT dlfin_fairness('NaN', c, y) FROM t$$, '22023', NULL, 'fairness: NaN score');

SELECT * FROM finish();
ROLLBACK;
