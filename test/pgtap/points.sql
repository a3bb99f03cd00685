-- Score points (issue 20): the scale's convention, dlfin_points by bytes
-- and by name, points-based explanations adding up to score - baseline
-- within 1e-6 points on every row of the test data, reasons by points
-- lost, and the SQLSTATE of every refusal.
BEGIN;
SELECT plan(24);

CREATE TABLE p_loans (status text, seniority int, home text, time int, age int, marital text,
                      records text, job text, expenses int, income int, assets int, debt int,
                      amount int, price int);
\copy p_loans FROM 'test/data/credit_data.csv' WITH (FORMAT csv, HEADER)
ALTER TABLE p_loans ADD COLUMN id serial;
-- the test data: one row in five; the model is trained on the others
CREATE TEMP TABLE p_test AS SELECT * FROM p_loans WHERE id % 5 = 0;
CREATE TEMP TABLE pm AS
SELECT dlfin_train('{"optimizer": "adam", "seed": 3, "epochs": 15, "hidden": [8],
                     "points": {"base_score": 600, "base_odds": 50, "pdo": 20}}',
                   status = 'good', seniority, home, income, amount, records) AS m
FROM p_loans WHERE id % 5 <> 0;
CREATE TEMP TABLE p_rows AS
SELECT t.id, dlfin_predict(m, seniority, home, income, amount, records) AS p,
       dlfin_points(m, seniority, home, income, amount, records) AS pts,
       dlfin_points(m, t) AS pts_row,
       dlfin_explain_points(m, seniority, home, income, amount, records) AS e,
       dlfin_reasons(m, 2, seniority, home, income, amount, records) AS r
FROM pm, p_test t;

SELECT is((SELECT dlfin_model_info(m) -> 'options' -> 'points' FROM pm),
          '{"base_score": 600, "base_odds": 50, "pdo": 20, "reasons": "points"}'::jsonb,
          'the points scale is stored in the model''s options');
-- points = 600 + 20 / ln 2 * ln(odds / 50), odds of the good (positive) class
SELECT is((SELECT count(*) FROM p_rows
           WHERE abs(pts - (600 + 20 / ln(2) * ln(p / (1 - p) / 50))) > 1e-9), 0::bigint,
          'points = base_score + pdo / ln 2 * ln(odds of good / base_odds) on every row');
SELECT is((SELECT count(*) FROM p_rows WHERE pts_row IS DISTINCT FROM pts), 0::bigint,
          'the row form gives the same points');
SELECT is((SELECT count(*) FROM p_rows), 890::bigint, 'the test data has 890 rows');
SELECT is((SELECT count(*) FROM p_rows
           WHERE abs((e ->> 'score')::float8 - (e ->> 'baseline')::float8
                     - (SELECT sum(value::float8) FROM jsonb_each_text(e -> 'contributions'))) > 1e-6),
          0::bigint, 'on every test row the points contributions add up to score - baseline within 1e-6 points');
SELECT cmp_ok((SELECT max(abs((e ->> 'score')::float8 - pts)) FROM p_rows), '<', 1e-3::float8,
              'the explained score is dlfin_points (the network in double precision against float32)');
SELECT is((SELECT count(DISTINCT e ->> 'baseline') FROM p_rows), 1::bigint, 'one baseline score for all rows');
SELECT is((SELECT count(*) FROM p_rows WHERE e ->> 'scale' <> 'points'), 0::bigint, 'the scale is points');
-- reasons by points lost: the features with the most negative points
SELECT is((SELECT count(*) FROM p_rows
           WHERE r IS DISTINCT FROM ARRAY(SELECT key FROM jsonb_each_text(e -> 'contributions')
                                          WHERE value::float8 < 0 ORDER BY value::float8, key LIMIT 2)),
          0::bigint, 'dlfin_reasons ranks by points lost when the scale says so');
SELECT cmp_ok((SELECT count(*) FROM p_rows WHERE cardinality(r) > 0), '>', 0::bigint, 'some rows have reasons');

-- adverse positive: the good class is the negative one; same scale
CREATE TEMP TABLE pm_bad AS
SELECT dlfin_train('{"optimizer": "adam", "seed": 3, "epochs": 15, "hidden": [8], "adverse": "positive",
                     "points": {"base_score": 600, "base_odds": 50, "pdo": 20, "reasons": "probability"}}',
                   status = 'bad', seniority, home, income, amount, records) AS m
FROM p_loans WHERE id % 5 <> 0;
SELECT is((SELECT count(*) FROM pm_bad, p_test
           WHERE abs(dlfin_points(m, seniority, home, income, amount, records)
                     - (600 + 20 / ln(2) * ln((1 - dlfin_predict(m, seniority, home, income, amount, records))
                                              / dlfin_predict(m, seniority, home, income, amount, records) / 50))) > 1e-9),
          0::bigint, 'with adverse positive the odds of good are (1 - p) / p');
SELECT is((SELECT count(*) FROM (SELECT dlfin_reasons(m, 2, seniority, home, income, amount, records) AS r,
                                         dlfin_explain(m, seniority, home, income, amount, records) AS e
                                  FROM pm_bad, p_test) x
           WHERE r IS DISTINCT FROM ARRAY(SELECT key FROM jsonb_each_text(e -> 'contributions')
                                          WHERE value::float8 > 0 ORDER BY value::float8 DESC, key LIMIT 2)),
          0::bigint, '"reasons": "probability" keeps the ranking by probability pushed toward the adverse class');

-- by registry name
CREATE TEMP TABLE p_version AS SELECT dlfin.train('points_demo',
    $$SELECT status = 'good' AS good, seniority, home, income, amount, records FROM p_loans WHERE id % 5 <> 0$$,
    'good', '{"seed": 3, "epochs": 15, "hidden": [8], "points": {"base_score": 600, "base_odds": 50, "pdo": 20}}') AS v;
SELECT is((SELECT count(*) FROM p_test
           WHERE abs(dlfin_points('points_demo', seniority, home, income, amount, records)
                     - (600 + 20 / ln(2) * ln(dlfin_predict('points_demo', seniority, home, income, amount, records)
                        / (1 - dlfin_predict('points_demo', seniority, home, income, amount, records)) / 50))) > 1e-9
              OR dlfin_explain_points('points_demo', seniority, home, income, amount, records) IS NULL),
          0::bigint, 'dlfin_points and dlfin_explain_points by registry name');

-- the model card: points scale and characteristics of the training rows
CREATE TEMP TABLE p_card AS SELECT dlfin.model_card('points_demo') AS html;
SELECT ok((SELECT html LIKE '%<h2 id="characteristics">Characteristics</h2><h3>Points scale</h3>%'
                  AND html LIKE '%Points to double the odds</th><td>20<%' FROM p_card),
          'the card shows the points scale');
SELECT cmp_ok((SELECT abs(substring(html FROM '<tr><td>seniority</td><td class="num">([0-9.]+)<')::float8
                          - (SELECT (dlfin_binning(q.seniority, q.good) ->> 'iv')::float8
                             FROM (SELECT status = 'good' AS good, seniority, home, income, amount, records
                                   FROM p_loans WHERE id % 5 <> 0) q
                             WHERE dlfin.split(q::text, 0.2, 0) <> 'test'))
                FROM p_card), '<', 1e-3::float8,
              'the card''s IV of a characteristic is dlfin_binning of the training part (event: the positive class)');
SELECT ok((SELECT dlfin_model_card(m) LIKE '%Not available: they are binned from the training rows%' FROM pm),
          'a card of model bytes says where characteristics come from');

-- refusals
SELECT throws_ok($$SELECT dlfin_train('{"points": {"base_score": 600, "base_odds": 0, "pdo": 20}}', status = 'good', income) FROM p_loans$$,
                 '22023', NULL, 'base_odds must be positive');
SELECT throws_ok($$SELECT dlfin_train('{"points": {"base_score": 600, "pdo": 20}}', status = 'good', income) FROM p_loans$$,
                 '22023', NULL, 'base_odds is required');
SELECT throws_ok($$SELECT dlfin_train('{"points": {"base_score": 600, "base_odds": 50, "pdo": 20, "scale": 1}}', status = 'good', income) FROM p_loans$$,
                 '22023', NULL, 'an unknown key of points');
SELECT throws_ok($$SELECT dlfin_train('{"points": {"base_score": 600, "base_odds": 50, "pdo": 20}}', income::float8, amount) FROM p_loans$$,
                 '22023', 'dlfin_train option "points" needs a binary classification model', 'points on a regression');
SELECT throws_ok($$SELECT dlfin_train('{"calibrate": "isotonic", "points": {"base_score": 600, "base_odds": 50, "pdo": 20}}', status = 'good', income) FROM p_loans$$,
                 '22023', NULL, 'points with isotonic calibration');
SELECT throws_ok($$SELECT dlfin_points(dlfin_train('{"epochs": 1}', status = 'good', income), 1000) FROM p_loans$$,
                 '22023', 'model has no points scale', 'a model without a points scale');
SELECT throws_ok($$SELECT dlfin_explain_points(m, 1000) FROM (SELECT dlfin_train('{"epochs": 1}', income::float8, amount) m FROM p_loans) x$$,
                 '22023', 'dlfin_explain_points needs a binary classification model', 'points of a regression model');
SELECT throws_ok($$SELECT dlfin_points(m, VARIADIC ARRAY[1.0, 2.0]) FROM pm$$,
                 '0A000', 'dlfin_points does not accept a VARIADIC array', 'a VARIADIC array');

SELECT * FROM finish();
ROLLBACK;
