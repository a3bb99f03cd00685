-- Worked example of the README section "Explaining and governing a model" on the real credit data (4,454
-- applications; README "Data").  Run with
--   psql -X -v data=$PWD/test/data/credit_data.csv -f doc/explaining.sql
\pset footer off
\set QUIET on
CREATE EXTENSION IF NOT EXISTS dlfin;
DROP TABLE IF EXISTS credit, models, mono, cal CASCADE;
CREATE TABLE credit (
    id serial PRIMARY KEY, status text, seniority integer, home text, time integer,
    age integer, marital text, records text, job text, expenses integer,
    income integer, assets integer, debt integer, amount integer, price integer);
\set copy_cmd '\\copy credit (status, seniority, home, time, age, marital, records, job, expenses, income, assets, debt, amount, price) FROM ' :'data' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd
ALTER TABLE credit ADD COLUMN part text;
UPDATE credit SET part = dlfin_split(id, 0.2, 42);

\echo '== train: positive class "bad" (default), so the adverse side is positive'
CREATE TABLE models AS
SELECT dlfin_train('{"positive": "bad", "adverse": "positive", "seed": 7,
                     "features": ["seniority","home","time","age","marital","records",
                                  "job","expenses","income","assets","debt","amount","price"],
                     "reasons": {"seniority": "Time with current employer too short",
                                 "records": "Previous default records",
                                 "income": "Income insufficient for amount requested",
                                 "amount": "Amount requested too high",
                                 "debt": "Existing debt too high",
                                 "assets": "Insufficient assets",
                                 "job": "Type of employment",
                                 "price": "Price of the financed good"}}'::jsonb,
                   status, seniority, home, time, age, marital, records, job,
                   expenses, income, assets, debt, amount, price) AS model
FROM credit WHERE part = 'train';

\echo '== global importance (drop in validation AUC when the feature is shuffled)'
SELECT feature, round(importance::numeric, 4) AS importance, rank
FROM dlfin_importance((SELECT model FROM models)) ORDER BY rank;

\echo '== one applicant: score, baseline, contributions'
SELECT jsonb_pretty(dlfin_explain(model, seniority, home, time, age, marital, records, job,
                                  expenses, income, assets, debt, amount, price)) AS explanation
FROM credit, models WHERE id = 3;

\echo '== reason codes for the three riskiest held-out applicants'
SELECT id, round(dlfin_predict(model, seniority, home, time, age, marital, records, job,
                               expenses, income, assets, debt, amount, price)::numeric, 3) AS p_default,
       dlfin_reasons(model, 3, seniority, home, time, age, marital, records, job,
                     expenses, income, assets, debt, amount, price) AS reasons
FROM credit, models WHERE part = 'test'
ORDER BY 2 DESC, id LIMIT 3;

\echo '== completeness over every held-out row'
SELECT count(*) AS rows,
       max(abs((SELECT sum(v::float8) FROM jsonb_each_text(e->'contributions') AS c(k, v))
               - ((e->>'score')::float8 - (e->>'baseline')::float8))) AS worst_gap
FROM (SELECT dlfin_explain(model, seniority, home, time, age, marital, records, job,
                           expenses, income, assets, debt, amount, price) AS e
      FROM credit, models WHERE part = 'test') s;

\echo '== monotone constraints: AUC on the held-out rows, 5 seeds each'
CREATE TABLE mono AS
SELECT kind, seed,
       dlfin_train(jsonb_build_object('positive', 'bad', 'seed', seed,
                   'features', '["seniority","home","time","age","marital","records","job","expenses","income","assets","debt","amount","price"]'::jsonb)
                   || CASE kind WHEN 'monotone' THEN
                      '{"monotone": {"seniority": -1, "income": -1, "assets": -1, "debt": 1, "amount": 1}}'::jsonb
                      ELSE '{}'::jsonb END,
                   status, seniority, home, time, age, marital, records, job,
                   expenses, income, assets, debt, amount, price) AS model
FROM credit, (VALUES ('plain'), ('monotone')) k(kind), generate_series(1, 5) AS seed
WHERE part = 'train' GROUP BY kind, seed;
SELECT kind, round(avg(auc)::numeric, 4) AS mean_auc, round(min(auc)::numeric, 4) AS min_auc,
       round(max(auc)::numeric, 4) AS max_auc
FROM (SELECT kind, seed, dlfin_auc(dlfin_predict(model, seniority, home, time, age, marital, records, job,
                                                 expenses, income, assets, debt, amount, price), status = 'bad') AS auc
      FROM credit, mono WHERE part = 'test' GROUP BY kind, seed) s
GROUP BY kind ORDER BY kind DESC;

\echo '== monotone check: every held-out row against itself with more income (5 models)'
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE hi > lo) AS violations,
       count(*) FILTER (WHERE hi < lo) AS lower_risk
FROM (SELECT dlfin_predict(model, seniority, home, time, age, marital, records, job,
                           expenses, income, assets, debt, amount, price) AS lo,
             dlfin_predict(model, seniority, home, time, age, marital, records, job,
                           expenses, coalesce(income, 0) + 1 + (id * 7919) % 200, assets, debt, amount, price) AS hi
      FROM credit, mono, generate_series(1, 4) g WHERE kind = 'monotone' AND coalesce(income, 0) > 0) s;

\echo '== calibration: held-out expected calibration error'
CREATE TABLE cal AS
SELECT c, dlfin_train(jsonb_build_object('positive', 'bad', 'seed', 7, 'calibrate', c,
                      'class_weight', 'balanced'),
                      status, seniority, home, time, age, marital, records, job,
                      expenses, income, assets, debt, amount, price) AS model
FROM credit, (VALUES ('none'), ('platt'), ('isotonic')) v(c) WHERE part = 'train' GROUP BY c;
SELECT c AS calibrate,
       round(coalesce(dlfin_model_info(min(model::text)::bytea)->'calibration'->>'ece_before',
                      dlfin_model_info(min(model::text)::bytea)->>'validation_ece')::numeric, 4) AS valid_ece_before,
       round((dlfin_model_info(min(model::text)::bytea)->'calibration'->>'ece_after')::numeric, 4) AS valid_ece_after,
       round((dlfin_metrics(p, bad)->>'ece')::numeric, 4) AS test_ece,
       round(dlfin_auc(p, bad)::numeric, 4) AS test_auc,
       round(avg(p)::numeric, 3) AS mean_p, round(avg(bad::int), 3) AS default_rate
FROM (SELECT c, model, status = 'bad' AS bad,
             dlfin_predict(model, seniority, home, time, age, marital, records, job,
                           expenses, income, assets, debt, amount, price) AS p
      FROM credit, cal WHERE part = 'test') s
GROUP BY c ORDER BY c;

\echo '== fairness by age band: approval = P(good) >= 0.5'
SELECT jsonb_pretty(dlfin_fairness(1 - dlfin_predict(model, seniority, home, time, age, marital, records, job,
                                                     expenses, income, assets, debt, amount, price),
                                   CASE WHEN age < 30 THEN 'under 30' WHEN age < 50 THEN '30-49' ELSE '50 and over' END,
                                   status = 'good', 0.5)) AS fairness
FROM credit, models WHERE part = 'test';

\echo '== drift: held-out rows as they are, then with incomes up 30 %'
SELECT jsonb_pretty(dlfin_drift(model, seniority, home, time, age, marital, records, job,
                                expenses, income, assets, debt, amount, price)) AS drift
FROM credit, models WHERE part = 'test';
SELECT f.key AS feature, round((f.value->>'psi')::numeric, 3) AS psi, f.value->>'band' AS band
FROM (SELECT dlfin_drift(model, seniority, home, time, age, marital, records, job,
                         expenses, (income * 1.3)::int, assets, debt, amount, price) AS d
      FROM credit, models WHERE part = 'test') s,
     jsonb_each(d->'features') f
WHERE (f.value->>'psi')::float8 >= 0.1
UNION ALL
SELECT 'score', round((d->'score'->>'psi')::numeric, 3), d->'score'->>'band'
FROM (SELECT dlfin_drift(model, seniority, home, time, age, marital, records, job,
                         expenses, (income * 1.3)::int, assets, debt, amount, price) AS d
      FROM credit, models WHERE part = 'test') s;
