-- Bad input of every kind, beyond test/pgtap/train_errors.sql: each
-- user-reachable error has a pinned SQLSTATE, and the inputs that must
-- work (unknown categories, NULLs, huge vocabularies) do.
BEGIN;
SELECT plan(117);

CREATE TEMP TABLE t AS
SELECT i, (i % 2 = 0) AS y, i::float8 AS x, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 200) AS i;
CREATE TEMP TABLE good AS SELECT dlfin_train('{"epochs": 1, "hidden": [4]}', y, x, c) AS m FROM t;
CREATE TEMP TABLE multi AS SELECT dlfin_train('{"epochs": 1, "hidden": [4]}', c, x) AS m FROM t;
CREATE TEMP TABLE reg AS SELECT dlfin_train('{"epochs": 1, "hidden": [4]}', x * 2, x) AS m FROM t;

-- ---- options: wrong JSON types (22023) ----
SELECT throws_ok($$SELECT dlfin_train('{"hidden": null}', y, x) FROM t$$, '22023', NULL, 'hidden null');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": {"a": 1}}', y, x) FROM t$$, '22023', NULL, 'hidden an object');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [null]}', y, x) FROM t$$, '22023', NULL, 'hidden layer null');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [[4]]}', y, x) FROM t$$, '22023', NULL, 'hidden nested array');
SELECT throws_ok($$SELECT dlfin_train('{"optimizer": 3}', y, x) FROM t$$, '22023', NULL, 'optimizer a number');
SELECT throws_ok($$SELECT dlfin_train('{"task": 1}', y, x) FROM t$$, '22023', NULL, 'task a number');
SELECT throws_ok($$SELECT dlfin_train('{"batch_size": "64"}', y, x) FROM t$$, '22023', NULL, 'batch_size a string');
SELECT throws_ok($$SELECT dlfin_train('{"l2": "none"}', y, x) FROM t$$, '22023', NULL, 'l2 a string');
SELECT throws_ok($$SELECT dlfin_train('{"dropout": false}', y, x) FROM t$$, '22023', NULL, 'dropout a boolean');
SELECT throws_ok($$SELECT dlfin_train('{"validation_fraction": "0.1"}', y, x) FROM t$$, '22023', NULL, 'validation_fraction a string');
SELECT throws_ok($$SELECT dlfin_train('{"patience": [3]}', y, x) FROM t$$, '22023', NULL, 'patience an array');
SELECT throws_ok($$SELECT dlfin_train('{"max_categories": "many"}', y, x) FROM t$$, '22023', NULL, 'max_categories a string');
SELECT throws_ok($$SELECT dlfin_train('{"threads": "all"}', y, x) FROM t$$, '22023', NULL, 'threads a string');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": 2}', y, x) FROM t$$, '22023', NULL, 'class_weight a number');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": {"true": "heavy"}}', y, x) FROM t$$, '22023', NULL, 'class weight a string');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": {"true": 0}}', y, x) FROM t$$, '22023', NULL, 'class weight 0');
SELECT throws_ok($$SELECT dlfin_train('{"positive": [true]}', y, x) FROM t$$, '22023', NULL, 'positive an array');
SELECT throws_ok($$SELECT dlfin_train('{"positive": null}', y, x) FROM t$$, '22023', NULL, 'positive null');
SELECT throws_ok($$SELECT dlfin_train('{"features": [1]}', y, x) FROM t$$, '22023', NULL, 'feature name a number');
SELECT throws_ok($$SELECT dlfin_train('{"init": 5}', y, x) FROM t$$, '22023', NULL, 'init a number');
SELECT throws_ok($$SELECT dlfin_train('{"init": "\\xzz"}', y, x) FROM t$$, '22023', NULL, 'init with bad hex');
SELECT throws_ok($$SELECT dlfin_train('{"verbose": 1}', y, x) FROM t$$, '22023', NULL, 'verbose a number');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": null}', y, x) FROM t$$, '22023', NULL, 'epochs null');
SELECT throws_ok($$SELECT dlfin_train('{"": 1}', y, x) FROM t$$, '22023', NULL, 'empty option name');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 2, "Epochs": 2}', y, x) FROM t$$, '22023', NULL, 'option names are case-sensitive');
SELECT throws_ok($$SELECT dlfin_train('[]'::json, y, x) FROM t$$, '22023', NULL, 'json (not jsonb) array options');
SELECT throws_ok($$SELECT dlfin_train('not json', y, x) FROM t$$, '22P02', NULL, 'options literal that is not JSON');

-- ---- options: out-of-range numbers, including beyond float8 (22023) ----
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 1e400}', y, x) FROM t$$, '22023', NULL, 'epochs 1e400');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": -1}', y, x) FROM t$$, '22023', NULL, 'epochs negative');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 1.5}', y, x) FROM t$$, '22023', NULL, 'epochs fractional');
SELECT throws_ok($$SELECT dlfin_train('{"learning_rate": 1e-400}', y, x) FROM t$$, '22023', NULL, 'learning_rate underflows to 0');
SELECT throws_ok($$SELECT dlfin_train('{"learning_rate": 11}', y, x) FROM t$$, '22023', NULL, 'learning_rate too large');
SELECT throws_ok($$SELECT dlfin_train('{"learning_rate": 1e400}', y, x) FROM t$$, '22023', NULL, 'learning_rate 1e400');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [1e400]}', y, x) FROM t$$, '22023', NULL, 'layer size 1e400');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [-4]}', y, x) FROM t$$, '22023', NULL, 'negative layer size');
SELECT throws_ok($$SELECT dlfin_train('{"batch_size": 65537}', y, x) FROM t$$, '22023', NULL, 'batch_size above 65536');
SELECT throws_ok($$SELECT dlfin_train('{"batch_size": 2.5}', y, x) FROM t$$, '22023', NULL, 'batch_size fractional');
SELECT throws_ok($$SELECT dlfin_train('{"l2": 10.5}', y, x) FROM t$$, '22023', NULL, 'l2 too large');
SELECT throws_ok($$SELECT dlfin_train('{"dropout": -0.1}', y, x) FROM t$$, '22023', NULL, 'negative dropout');
SELECT throws_ok($$SELECT dlfin_train('{"dropout": 0.95}', y, x) FROM t$$, '22023', NULL, 'dropout above 0.9');
SELECT throws_ok($$SELECT dlfin_train('{"validation_fraction": 0.51}', y, x) FROM t$$, '22023', NULL, 'validation_fraction above 0.5');
SELECT throws_ok($$SELECT dlfin_train('{"patience": 100001}', y, x) FROM t$$, '22023', NULL, 'patience too large');
SELECT throws_ok($$SELECT dlfin_train('{"patience": 2.5}', y, x) FROM t$$, '22023', NULL, 'patience fractional');
SELECT throws_ok($$SELECT dlfin_train('{"seed": 1e17}', y, x) FROM t$$, '22023', NULL, 'seed beyond 2^53');
SELECT throws_ok($$SELECT dlfin_train('{"max_categories": 65537}', y, x) FROM t$$, '22023', NULL, 'max_categories above 65536');
SELECT throws_ok($$SELECT dlfin_train('{"max_categories": -1}', y, x) FROM t$$, '22023', NULL, 'negative max_categories');
SELECT throws_ok($$SELECT dlfin_train('{"threads": -1}', y, x) FROM t$$, '22023', NULL, 'negative threads');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": {"true": 1e400}}', y, x) FROM t$$, '22023', NULL, 'class weight 1e400');
SELECT throws_ok($$SELECT dlfin_train('{"class_weight": {"true": 1e7}}', y, x) FROM t$$, '22023', NULL, 'class weight above 1e6');
SELECT throws_ok($$SELECT dlfin_train('{"positive": 1e400}', y, x) FROM t$$, '22023', NULL, 'positive 1e400');
SELECT throws_ok($$SELECT dlfin_train('{"hidden": [2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000]}', y, x) FROM t$$,
    '54000', NULL, 'network too big (54000)');

-- ---- GUCs ----
SELECT throws_ok($$SET dlfin.max_training_memory = 10$$, '22023', NULL, 'max_training_memory below its minimum');
SELECT throws_ok($$SET dlfin.threads = 65$$, '22023', NULL, 'threads above 64');
SELECT throws_ok($$SET dlfin.no_such_setting = 1$$, '42602', NULL, 'the dlfin GUC prefix is reserved');

-- ---- NaN, infinities and values beyond float4 ----
SELECT throws_ok($$SELECT dlfin_train(y, CASE WHEN i = 9 THEN '-Infinity'::float4 ELSE x::float4 END) FROM t$$, '22000', NULL, '-Infinity float4 feature');
SELECT throws_ok($$SELECT dlfin_train(y, CASE WHEN i = 9 THEN 'Infinity'::numeric ELSE x::numeric END) FROM t$$, '22000', NULL, 'Infinity numeric feature');
SELECT throws_ok($$SELECT dlfin_train(CASE WHEN i = 9 THEN 'NaN'::float8 ELSE x END, x) FROM t$$, '22000', NULL, 'NaN regression label');
SELECT throws_ok($$SELECT dlfin_train(CASE WHEN i = 9 THEN 'NaN'::numeric ELSE x::numeric END, x) FROM t$$, '22000', NULL, 'NaN numeric label');
SELECT throws_ok($$SELECT dlfin_train(y, x * 1e300) FROM t$$, '22003', NULL, 'feature beyond float4 range');
SELECT throws_ok($$SELECT dlfin_predict(m, 'Infinity'::float8, 'a') FROM good$$, '22000', NULL, 'Infinity at scoring');
SELECT throws_ok($$SELECT dlfin_predict(m, '-Infinity'::numeric, 'a') FROM good$$, '22000', NULL, '-Infinity numeric at scoring');
SELECT throws_ok($$SELECT dlfin_predict(m, 'NaN'::numeric, 'a') FROM good$$, '22000', NULL, 'NaN numeric at scoring');
SELECT throws_ok($$SELECT dlfin_predict(m, 1e39::float8, 'a') FROM good$$, '22003', NULL, 'beyond float4 at scoring');
SELECT throws_ok($$SELECT dlfin_predict(m, -1e300::float8, 'a') FROM good$$, '22003', NULL, '-1e300 at scoring');

-- ---- NULLs, empty and tiny inputs ----
SELECT is(dlfin_predict(NULL, 1.0, 'a'), NULL, 'NULL model scores NULL');
SELECT is(dlfin_predict_class(NULL, 1.0, 'a'), NULL, 'NULL model: class NULL');
SELECT is(dlfin_predict_proba(NULL, 1.0, 'a'), NULL, 'NULL model: probabilities NULL');
SELECT is(dlfin_model_info(NULL), NULL, 'NULL model: info NULL');
SELECT is((SELECT dlfin_train(y, x) FROM t WHERE false), NULL, 'no rows: NULL model');
SELECT is((SELECT dlfin_train(NULL::boolean, x) FROM t), NULL, 'only NULL labels: NULL model');
SELECT isnt((SELECT dlfin_train('{"epochs": 1}', y, NULL::float8) FROM t), NULL, 'an all-NULL feature still trains');
SELECT isnt((SELECT dlfin_train(NULL::jsonb, y, x) FROM t WHERE i <= 20), NULL, 'NULL options mean the defaults');
SELECT throws_ok($$SELECT dlfin_train(y, x) FROM t WHERE i = 1$$, '22000', NULL, 'one row');
SELECT throws_ok($$SELECT dlfin_train(x, x) FROM t WHERE i = 1$$, '22000', NULL, 'one row, regression');
SELECT throws_ok($$SELECT dlfin_train(7.5::float8, x) FROM t$$, '22000', NULL, 'constant regression label');
SELECT throws_ok($$SELECT dlfin_train(i % 1 = 0, x) FROM t$$, '22000', NULL, 'one boolean class');
SELECT is(dlfin_predict(m, NULL::float8, NULL::text) BETWEEN 0 AND 1, true, 'NULL features are imputed') FROM good;

-- ---- scoring arguments ----
SELECT throws_ok($$SELECT dlfin_predict(m, 1.0, now()) FROM good$$, '42804', NULL, 'timestamptz for a category');
SELECT throws_ok($$SELECT dlfin_predict(m, ARRAY[1.0], 'a') FROM good$$, '42804', NULL, 'array for a number');
SELECT throws_ok($$SELECT dlfin_predict(m, '1'::jsonb, 'a') FROM good$$, '42804', NULL, 'jsonb for a number');
SELECT throws_ok($$SELECT dlfin_predict(m, VARIADIC ARRAY[1.0, 2.0]) FROM good$$, '0A000', NULL, 'VARIADIC array at scoring');
SELECT throws_ok($$SELECT dlfin_predict_class(m, 1.0, 'a', 'b') FROM good$$, '22023', NULL, 'too many features for predict_class');
SELECT throws_ok($$SELECT dlfin_predict_proba(m, 1.0) FROM reg$$, '42809', NULL, 'probabilities of a regression');
SELECT is(dlfin_predict(m, true, 'a') BETWEEN 0 AND 1, true, 'a boolean scores as a number') FROM good;
SELECT is(dlfin_predict(m, 3::int2, 'a'::varchar) = dlfin_predict(m, 3.0::numeric, 'a'::char(1)), true,
          'int2/numeric and varchar/char score alike') FROM good;
SELECT is(dlfin_predict(m, 3.0, 'never seen') BETWEEN 0 AND 1, true, 'an unknown category scores') FROM good;
SELECT is(dlfin_predict_class(m, 3.0) IN ('a', 'b', 'c'), true, 'unknown model argument types: multiclass class') FROM multi;
SELECT is(array_length(dlfin_predict_proba(m, 3.0), 1), 3, 'multiclass probabilities') FROM multi;
-- two models in one query, the second with more outputs than the first
SELECT is((SELECT array_agg(cardinality(p) ORDER BY k) FROM
            (SELECT k, dlfin_predict_proba(s.m, 3.0) AS p FROM
              (SELECT 2 AS k, dlfin_train('{"epochs": 1, "hidden": [2]}', y, x) AS m FROM t
               UNION ALL SELECT 3, m FROM multi
               UNION ALL SELECT 4, dlfin_train('{"epochs": 1, "hidden": [2], "seed": 9}', y, x) FROM t) s) q),
          ARRAY[2, 3, 2], 'models change between rows: each row scores with its own model');

-- ---- many categories ----
CREATE TEMP TABLE cats AS SELECT i, (i % 2 = 0) AS y, 'cat' || i AS c FROM generate_series(1, 100000) i;
SELECT isnt((SELECT dlfin_train('{"epochs": 1, "hidden": [2]}', y, c) FROM cats), NULL,
            '100k distinct categories train (the most frequent 100 are kept)');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 1, "hidden": [2], "max_categories": 65536}', y, c) FROM cats$$,
    '54000', 'too many network inputs (65538, at most 65536)', '100k categories kept: a clear 54000');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 1, "hidden": [1024, 1024], "max_categories": 65536}', y, c) FROM cats WHERE i <= 40000$$,
    '54000', 'network has too many parameters', 'too many parameters: 54000');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 1}', (i % 1100)::text, i::float8) FROM generate_series(1, 3000) i$$,
    '54000', 'too many classes (at most 1024)', 'too many classes: 54000');

-- ---- memory limit (53200) ----
SET LOCAL dlfin.max_training_memory = 64;
SELECT throws_ok($$SELECT dlfin_train(y, c) FROM cats$$, '53200', NULL, 'text feature dictionaries count against the limit');
SELECT throws_ok($$SELECT dlfin_auc(i / 100000.0, y) FROM cats$$, '53200', NULL, 'exact metric buffers count against the limit');
RESET dlfin.max_training_memory;

-- ---- unsupported label and feature types (42804) ----
SELECT throws_ok($$SELECT dlfin_train(y::text::bytea, x) FROM t$$, '42804', NULL, 'bytea label');
SELECT throws_ok($$SELECT dlfin_train(jsonb_build_object('y', y), x) FROM t$$, '42804', NULL, 'jsonb label after options');
SELECT throws_ok($$SELECT dlfin_train(ARRAY[y], x) FROM t$$, '42804', NULL, 'array label');
SELECT throws_ok($$SELECT dlfin_train(int4range(i, i + 1), x) FROM t$$, '42804', NULL, 'range label');
SELECT throws_ok($$SELECT dlfin_train(now(), x) FROM t$$, '42804', NULL, 'timestamptz label');
SELECT throws_ok($$SELECT dlfin_train(y, '00:00'::interval) FROM t$$, '42804', NULL, 'interval feature');
SELECT throws_ok($$SELECT dlfin_train(y, x::text::bytea) FROM t$$, '42804', NULL, 'bytea feature');

-- ---- evaluation functions ----
SELECT throws_ok($$SELECT dlfin_auc(s, l) FROM (VALUES ('NaN'::float8, true)) v(s, l)$$, '22023', NULL, 'NaN score (auc)');
SELECT throws_ok($$SELECT dlfin_metrics(s, l, 'NaN') FROM (VALUES (0.2::float8, true)) v(s, l)$$, '22023', NULL, 'NaN threshold');
SELECT throws_ok($$SELECT dlfin_roc(s, l, 0) FROM (VALUES (0.2::float8, true)) v(s, l)$$, '22023', NULL, 'roc max_points 0');
SELECT throws_ok($$SELECT dlfin_roc(s, l, -5) FROM (VALUES (0.2::float8, true)) v(s, l)$$, '22023', NULL, 'roc negative max_points');
SELECT throws_ok($$SELECT dlfin_logloss(s, l) FROM (VALUES ('NaN'::float8, true)) v(s, l)$$, '22023', NULL, 'NaN score (logloss)');
SELECT throws_ok($$SELECT dlfin_brier(s, l) FROM (VALUES ('Infinity'::float8, true)) v(s, l)$$, '22023', NULL, 'infinite score (brier)');
SELECT throws_ok($$SELECT dlfin_regression_metrics(a, b) FROM (VALUES ('NaN'::float8, 1::float8)) v(a, b)$$, '22023', NULL, 'NaN prediction');
SELECT throws_ok($$SELECT dlfin_split(1, 'NaN')$$, '22023', NULL, 'split fraction NaN');
SELECT throws_ok($$SELECT dlfin_split(1, 1.5)$$, '22023', NULL, 'split fraction above 1');
SELECT throws_ok($$SELECT dlfin_split(1, -0.5)$$, '22023', NULL, 'split fraction negative');
SELECT is((SELECT dlfin_auc(s, l) FROM (VALUES (0.2::float8, NULL::boolean)) v(s, l)), NULL, 'no labelled rows: NULL auc');
-- aggregate support functions take internal: they cannot be called from SQL
SELECT throws_ok($$SELECT dlfin_train_final(NULL::internal)$$, '42846', NULL, 'support functions are not callable');

-- ---- a model whose (forged, re-signed) options are valid JSON but not
-- valid jsonb: {"a": 1e999999} is beyond numeric's range ----
CREATE TEMP TABLE forged AS SELECT decode(substr(h, 3), 'hex') AS m FROM (SELECT
    '\x444c46494e4d444c010000004d0200009ba5064401000d00000005000000302e312e30010100000200c200000004000000'
    '030000006167650101000000000000c044400000000000802840000000000000c03f0000000006000000696e636f6d650101'
    '00000000001864e940000000002094d14000000000000000000000000006000000726567696f6e0203000000000000000000'
    '0000000000000000000000000000e03f04000000050000006e6f72746805000000736f75746804000000c3a9737400000000'
    '050000006f776e6572010200000000000000d03f000000000000e03f00000000000000000000000003001300000002000000'
    '04000000676f6f64030000006261640400100000000000000000000000000000000000f03f05006c00000002000000090000'
    '0002000000010000003c7cb43e3e4bf23d672a80bf37f46cbf602ba2bf4f2ac5bec17401bf0d5d22bf74db41bf47c46bbe71'
    '5e0abf887a59bfd6a876bfae535f3f4273ca3fe5985a3e0e2ec83e6a2e30c092108f3e7b50fbbd0fb03bbeb7e944bf8fcb64'
    '3e0600370000000f0000007b2261223a2031653939393939397d000000000000000000000000000000000000000000000000'
    '000000000000f87f000000000700040000000000000008002800000004000000000000000000f87f00000000000000f87f00'
    '000000000000f87f00000000000000f87f000900240000000000000000000000000000000000000000000000000000000000'
    'f87f000000000000f87f0a0018000000000000000400000000000000000000000000000000000000'::text AS h) s;
SELECT throws_ok($$SELECT dlfin_model_info(m) FROM forged$$, '22P03', NULL, 'options beyond jsonb numeric range: 22P03');
SELECT throws_ok($$SELECT dlfin_predict(m, 3.0, 'a') FROM forged$$, '22P03', NULL, 'options beyond jsonb numeric range: refused when scoring too');

-- the session still works after all this
SELECT is((SELECT dlfin_predict(m, 3.0, 'a') BETWEEN 0 AND 1 FROM good), true, 'the session still scores');

SELECT * FROM finish();
ROLLBACK;
