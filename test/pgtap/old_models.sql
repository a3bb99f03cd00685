-- Model bytes written by earlier dlfin versions stay readable and score as
-- they did (issue 14): test/fixtures/models-<version>.sql holds models of
-- every task and option mix as that version wrote them, with its scores.
-- Scores must agree to the network's float32 precision (1e-6 relative):
-- a version whose kernel rounds differently (0.2.0 no longer fuses
-- multiply-adds, so that every build gives the same bits) moves a score by
-- about one float32 ulp; a wrong decoding moves it by far more.
BEGIN;
SELECT plan(8);
\i test/fixtures/models-0.1.0.sql

CREATE TEMP TABLE now_scores AS
SELECT f.name, x.i,
       CASE f.name WHEN 'binary' THEN dlfin_predict(f.model, x.income, x.age, x.region, x.owner, x.debt)
                   WHEN 'binary_platt_monotone' THEN dlfin_predict(f.model, x.income, x.age, x.region)
                   WHEN 'binary_isotonic' THEN dlfin_predict(f.model, x.income, x.debt)
                   WHEN 'multiclass' THEN dlfin_predict(f.model, x.age, x.region, x.debt)
                   WHEN 'regression' THEN dlfin_predict(f.model, x.age, x.region, x.owner)
                   ELSE dlfin_predict(f.model, x.income, x.age) END AS score,
       CASE f.name WHEN 'multiclass' THEN dlfin_predict_class(f.model, x.age, x.region, x.debt) END AS class
FROM fixture_models f, fixture_rows x;

SELECT is((SELECT count(*) FROM fixture_models WHERE dlfin_model_info(model) ->> 'format_version' = '1'), 6::bigint,
          'every 0.1.0 model decodes (format version 1)');
SELECT is((SELECT count(*) FROM fixture_scores s JOIN now_scores n USING (name, i)
           WHERE abs(n.score - s.score) <= 1e-6 * greatest(abs(s.score), 1e-300) AND n.class IS NOT DISTINCT FROM s.class
             AND s.name = m), (SELECT count(*) FROM fixture_scores WHERE name = m),
          format('0.1.0 %s model scores as 0.1.0 did', m))
FROM unnest(ARRAY['binary', 'binary_platt_monotone', 'binary_isotonic', 'multiclass', 'regression', 'logistic']) m;
SELECT ok((SELECT dlfin_explain(model, 100, 30, 'north', true, 1.5::numeric) IS NOT NULL
            FROM fixture_models WHERE name = 'binary'), 'and explains');

SELECT * FROM finish();
ROLLBACK;
