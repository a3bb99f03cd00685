-- Features by name: the names dlfin_train records, and every error of the
-- row form (a whole row whose columns are picked by the model's feature
-- names) with its SQLSTATE, for each scoring, explaining and drift
-- function, by model bytes and by registry name.
BEGIN;
SELECT plan(47);

CREATE TEMP TABLE t AS
SELECT i AS id, (i % 2 = 0) AS y, i::float8 AS income, (i * 7 % 11) AS age,
       (ARRAY['a', 'b', 'c'])[1 + i % 3] AS region, current_date AS since
FROM generate_series(1, 300) AS i;
CREATE TEMP TABLE good AS
SELECT dlfin_train('{"epochs": 2, "hidden": [4]}', y, income, age, region) AS m FROM t;
SELECT is(dlfin.train('featnames_tap', 'SELECT y, income, age, region FROM t', 'y', '{"epochs": 1, "hidden": [4]}'),
          1, 'a registry model to score by name');

-- names recorded by the aggregate
SELECT is(jsonb_path_query_array(dlfin_model_info(m), '$.features[*].name'),
          '["income", "age", "region"]', 'features are named after the columns') FROM good;
SELECT is(jsonb_path_query_array(dlfin_model_info(dlfin_train('{"epochs": 1}', y, income * 2, -age)),
                                 '$.features[*].name'),
          '["(income * ''2''::double precision)", "(- age)"]', 'expressions are named by their text') FROM t;
SELECT is(jsonb_path_query_array(dlfin_model_info(dlfin_train('{"epochs": 1, "features": ["x", "z"]}', y, income, age)),
                                 '$.features[*].name'),
          '["x", "z"]', 'the features option wins') FROM t;
SELECT is(jsonb_path_query_array(dlfin_model_info(dlfin_train('{"epochs": 1}', y, income, income)),
                                 '$.features[*].name'),
          '["income", "f2"]', 'a repeated column is named by position') FROM t;
SELECT is(dlfin_model_info(m) -> 'options' ? 'features', false, 'names are not options') FROM good;
SELECT ok(strpos(dlfin_model_card(m), '>income<') > 0 AND strpos(dlfin_model_card(m), '>region<') > 0
          AND strpos(dlfin_model_card(m), '>f1<') = 0, 'the model card shows the names') FROM good;
SELECT throws_ok($$SELECT dlfin_train('{"monotone": {"wealth": 1}}', y, income, age) FROM t$$, '22023',
    'dlfin_train option "monotone" names unknown feature "wealth"', 'monotone on an unknown name');
SELECT throws_ok($$SELECT dlfin_train('{"monotone": {"f3": 1}}', y, income, age) FROM t$$, '22023',
    'dlfin_train option "monotone" names unknown feature "f3"', 'monotone beyond the last position');
SELECT throws_ok($$SELECT dlfin_train('{"features": ["x", "z"], "reasons": {"f1": "r"}}', y, income, age) FROM t$$, '22023',
    'dlfin_train option "reasons" names unknown feature "f1"', 'with the features option, f1 is not a name');
SELECT lives_ok($$SELECT dlfin_train('{"epochs": 1, "reasons": {"f2": "Too young", "income": "Income"}}', y, income, age) FROM t$$,
    'reasons by name and by position');
SELECT throws_ok($$SELECT dlfin_train(y, income, since) FROM t$$, '42804',
    'dlfin_train feature "since" of type date is not supported', 'an unsupported column is named');

-- the row form: a missing column (42703)
CREATE TEMP TABLE no_age AS SELECT id, income, region FROM t;
SELECT throws_ok($$SELECT dlfin_predict(m, a) FROM good, no_age a$$, '42703',
    'dlfin model feature "age" is not a column of the row', 'predict: missing column');
SELECT throws_ok($$SELECT dlfin_predict_class(m, a) FROM good, no_age a$$, '42703', NULL, 'predict_class: missing column');
SELECT throws_ok($$SELECT dlfin_predict_proba(m, a) FROM good, no_age a$$, '42703', NULL, 'predict_proba: missing column');
SELECT throws_ok($$SELECT dlfin_explain(m, a) FROM good, no_age a$$, '42703', NULL, 'explain: missing column');
SELECT throws_ok($$SELECT dlfin_reasons(m, 2, a) FROM good, no_age a$$, '42703', NULL, 'reasons: missing column');
SELECT throws_ok($$SELECT dlfin_drift(m, a) FROM good, no_age a$$, '42703', NULL, 'drift: missing column');
SELECT throws_ok($$SELECT dlfin_predict('featnames_tap', a) FROM no_age a$$, '42703',
    'dlfin model feature "age" is not a column of the row', 'predict by name: missing column');
SELECT throws_ok($$SELECT dlfin_predict_class('featnames_tap', a) FROM no_age a$$, '42703', NULL, 'predict_class by name: missing column');
SELECT throws_ok($$SELECT dlfin_predict_proba('featnames_tap', a) FROM no_age a$$, '42703', NULL, 'predict_proba by name: missing column');
SELECT throws_ok($$SELECT dlfin_explain('featnames_tap', a) FROM no_age a$$, '42703', NULL, 'explain by name: missing column');
SELECT throws_ok($$SELECT dlfin_reasons('featnames_tap', 2, a) FROM no_age a$$, '42703', NULL, 'reasons by name: missing column');
SELECT throws_ok($$SELECT dlfin_predict(m, a) FROM good, (SELECT income, "Age", region FROM (SELECT income, age AS "Age", region FROM t) s) a$$,
    '42703', NULL, 'names match case-sensitively');
SELECT throws_ok($$SELECT dlfin_predict(m, ROW(1.0, 2, 'a')) FROM good$$, '42703',
    'dlfin model feature "income" is not a column of the row', 'an anonymous record has columns f1, f2, ...');

-- a column of the wrong type (42804)
CREATE TEMP TABLE text_age AS SELECT id, income, age::text AS age, region FROM t;
CREATE TEMP TABLE date_age AS SELECT id, income, since AS age, region FROM t;
CREATE TEMP TABLE num_region AS SELECT id, income, age, id AS region FROM t;
SELECT throws_ok($$SELECT dlfin_predict(m, a) FROM good, text_age a$$, '42804',
    'dlfin model feature "age" expects number but column "age" of the row is text', 'predict: text for a number');
SELECT throws_ok($$SELECT dlfin_predict(m, a) FROM good, date_age a$$, '42804',
    'dlfin model feature "age" expects number but column "age" of the row is date', 'predict: an unsupported type');
SELECT throws_ok($$SELECT dlfin_predict(m, a) FROM good, num_region a$$, '42804',
    'dlfin model feature "region" expects text but column "region" of the row is integer', 'predict: a number for text');
SELECT throws_ok($$SELECT dlfin_predict_class(m, a) FROM good, text_age a$$, '42804', NULL, 'predict_class: wrong type');
SELECT throws_ok($$SELECT dlfin_predict_proba(m, a) FROM good, text_age a$$, '42804', NULL, 'predict_proba: wrong type');
SELECT throws_ok($$SELECT dlfin_explain(m, a) FROM good, text_age a$$, '42804', NULL, 'explain: wrong type');
SELECT throws_ok($$SELECT dlfin_reasons(m, 1, a) FROM good, text_age a$$, '42804', NULL, 'reasons: wrong type');
SELECT throws_ok($$SELECT dlfin_drift(m, a) FROM good, text_age a$$, '42804', NULL, 'drift: wrong type');
SELECT throws_ok($$SELECT dlfin_predict('featnames_tap', a) FROM text_age a$$, '42804', NULL, 'predict by name: wrong type');
SELECT throws_ok($$SELECT dlfin_explain('featnames_tap', a) FROM text_age a$$, '42804', NULL, 'explain by name: wrong type');
SELECT throws_ok($$SELECT dlfin_reasons('featnames_tap', 1, a) FROM text_age a$$, '42804', NULL, 'reasons by name: wrong type');

-- two columns of one name (42702)
SELECT throws_ok($$SELECT dlfin_predict(m, a) FROM good, (SELECT t.income, t.age, t.region, 1 AS age FROM t) a$$, '42702',
    'dlfin model feature "age" matches more than one column of the row', 'two columns named like a feature');

-- errors of the positional call still apply to the row form
CREATE TEMP TABLE other AS
SELECT dlfin_train('{"epochs": 1, "hidden": [4], "seed": 7}', y, income, age, region) AS m FROM t;
SELECT throws_ok($$SELECT dlfin_drift(CASE WHEN a.id % 2 = 0 THEN g.m ELSE o.m END, a) FROM good g, other o, t a$$,
    '22023', 'dlfin_drift needs the same model on every row', 'drift: a second model in one group');
SELECT throws_ok($$SELECT dlfin_predict(m, a) FROM good, (SELECT 'NaN'::float8 AS income, age, region FROM t) a$$, '22000',
    'dlfin feature "income" is NaN or infinite', 'a NaN column');
SELECT throws_ok($$SELECT dlfin_reasons(m, -1, a) FROM good, t a$$, '22023', NULL, 'reasons: negative k');
SELECT throws_ok($$SELECT dlfin_predict('no_such_model', a) FROM t a$$, '42704', NULL, 'by name: unknown model');
SELECT throws_ok($$SELECT dlfin_predict('\x00'::bytea, a) FROM t a$$, '22P03', NULL, 'corrupt model bytes');

-- and what still works
SELECT is((SELECT count(*) FROM good, t a WHERE dlfin_predict(m, a) = dlfin_predict(m, income, age, region)),
          300::bigint, 'row form and positional form agree');
SELECT is((SELECT dlfin_predict(m, a) FROM good, (SELECT region, 1 AS extra, age, income FROM t WHERE id = 5) a),
          (SELECT dlfin_predict(m, income, age, region) FROM good, t WHERE id = 5), 'extra columns are ignored, order does not matter');
SELECT is((SELECT dlfin_predict(m, NULL::t) FROM good), NULL, 'a NULL row scores NULL');
SELECT is((SELECT count(*) FROM t a
           WHERE dlfin_predict('featnames_tap', a) = dlfin_predict('featnames_tap', income, age, region)
             AND dlfin_predict_class('featnames_tap', a) = dlfin_predict_class('featnames_tap', income, age, region)
             AND dlfin_predict_proba('featnames_tap', a) = dlfin_predict_proba('featnames_tap', income, age, region)
             AND dlfin_explain('featnames_tap', a) = dlfin_explain('featnames_tap', income, age, region)
             AND dlfin_reasons('featnames_tap', 2, a) = dlfin_reasons('featnames_tap', 2, income, age, region)),
          300::bigint, 'by name: row form and positional form agree for every function');
SELECT is((SELECT dlfin_predict('featnames_tap', a) FROM (SELECT region, age, income FROM t WHERE id = 9) a),
          (SELECT dlfin_predict('featnames_tap', income, age, region) FROM t WHERE id = 9),
          'by name: columns found in any order');

SELECT * FROM finish();
ROLLBACK;
