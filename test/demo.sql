-- dlfin demo: a credit-risk model trained, evaluated and explained in SQL
-- on the real credit_data set (4,454 applications; see README "Data").
-- Run by scripts/demo with -v data=<csv path> -v outdir=<directory>.

\pset footer off
\set QUIET on
CREATE EXTENSION IF NOT EXISTS dlfin;

\echo '== 1. Load the applications'
DROP TABLE IF EXISTS credit, models, monotone_models;
CREATE TABLE credit (
    id        serial PRIMARY KEY,
    status    text,      -- 'good' or 'bad': the label
    seniority integer,   -- years with the current employer
    home      text,
    time      integer,   -- loan term, months
    age       integer,
    marital   text,
    records   text,      -- existing default records
    job       text,
    expenses  integer,
    income    integer,
    assets    integer,
    debt      integer,
    amount    integer,   -- requested amount
    price     integer    -- price of the good
);
\set copy_cmd '\\copy credit (status, seniority, home, time, age, marital, records, job, expenses, income, assets, debt, amount, price) FROM ' :'data' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd
SELECT count(*) AS applications,
       count(*) FILTER (WHERE status = 'bad') AS defaults,
       count(*) FILTER (WHERE income IS NULL) AS missing_income
FROM credit;

\echo '== 2. Split 80/20 deterministically (same split on every machine)'
ALTER TABLE credit ADD COLUMN part text;
UPDATE credit SET part = dlfin_split(id, 0.2, 42);
SELECT part, count(*) AS rows, round(avg((status = 'bad')::int), 3) AS default_rate
FROM credit GROUP BY part ORDER BY part;

\echo '== 3. Train on the training part: one aggregate call'
-- Marital status is a protected characteristic in lending: it is not a
-- feature of the model, only the group of the fairness check (step 9).
\timing on
CREATE TABLE models AS
SELECT 'credit_default'::text AS name,
       dlfin_train('{"positive": "bad", "adverse": "positive", "seed": 7,
                     "features": ["seniority","home","time","age","records",
                                  "job","expenses","income","assets","debt","amount","price"],
                     "reasons": {"seniority": "Time with current employer too short",
                                 "records": "Previous default records", "amount": "Amount requested too high",
                                 "income": "Income too low", "debt": "Existing debt too high",
                                 "assets": "Assets too low", "job": "Type of employment",
                                 "home": "Housing situation", "price": "Price of the good too high",
                                 "time": "Loan term too long", "expenses": "Expenses too high"}}'::jsonb,
                   status, seniority, home, time, age, records, job,
                   expenses, income, assets, debt, amount, price) AS model
FROM credit WHERE part = 'train';
\timing off
SELECT info->>'task' AS task, info->'classes' AS classes,
       info->'rows' AS rows, info->>'epochs_run' AS epochs,
       info->>'best_epoch' AS best_epoch, info->>'parameters' AS parameters,
       pg_size_pretty(octet_length(model)::bigint) AS model_size
FROM (SELECT model, dlfin_model_info(model) AS info FROM models) s;

\echo '== 4. Score the held-out 20 % inline and evaluate in SQL'
CREATE TEMP TABLE scored AS
SELECT c.id, c.status = 'bad' AS defaulted,
       dlfin_predict(m.model, seniority, home, time, age, records, job,
                     expenses, income, assets, debt, amount, price) AS p_default
FROM credit c, models m
WHERE c.part = 'test';
SELECT count(*) AS test_rows,
       round(dlfin_auc(p_default, defaulted)::numeric, 3) AS roc_auc,
       round(((dlfin_metrics(p_default, defaulted))->>'accuracy')::numeric, 3) AS accuracy,
       round(((dlfin_metrics(p_default, defaulted))->>'logloss')::numeric, 3) AS log_loss,
       round(dlfin_ks(p_default, defaulted)::numeric, 3) AS ks
FROM scored;
\echo 'Reference on an 80/20 split (test/data/README): LogisticRegression AUC 0.838,'
\echo 'MLPClassifier AUC 0.818, PyTorch MLP AUC 0.841.'

\echo '== 5. Validation metrics recorded in the model'
SELECT key AS metric, round(value::numeric, 3) AS value
FROM models, jsonb_each_text(dlfin_model_info(model)->'validation_metrics') AS m(key, value)
ORDER BY key;

\echo '== 6. Five riskiest held-out applicants'
SELECT s.id, round(s.p_default::numeric, 3) AS p_default, s.defaulted,
       c.income, c.debt, c.records, c.job
FROM scored s JOIN credit c USING (id)
ORDER BY s.p_default DESC, s.id LIMIT 5;

\echo '== 7. Why: what drives the model, and reason codes for declined applicants'
\echo 'Global permutation importance (drop of validation AUC when the feature is shuffled):'
SELECT rank, feature, round(importance::numeric, 3) AS importance
FROM models, dlfin_importance(model) WHERE rank <= 5 ORDER BY rank;
\echo 'Declined held-out applicants (P(default) >= 0.5), riskiest first, with the three features'
\echo 'that pushed them most toward default (adverse side: "positive", the bad class):'
SELECT s.id, round(s.p_default::numeric, 3) AS p_default,
       array_to_string(dlfin_reasons(m.model, 3, seniority, home, time, age, records, job,
                                     expenses, income, assets, debt, amount, price), '; ') AS reasons
FROM scored s JOIN credit c USING (id), models m
WHERE s.p_default >= 0.5 ORDER BY s.p_default DESC, s.id LIMIT 4;

\echo '== 8. A monotone model: more income never raises the predicted default risk'
\echo '("monotone": {"income": -1}: the output, P(default), is non-increasing in income)'
CREATE TABLE monotone_models AS
SELECT 'credit_default_monotone'::text AS name,
       dlfin_train('{"positive": "bad", "adverse": "positive", "seed": 7, "monotone": {"income": -1},
                     "features": ["seniority","home","time","age","records",
                                  "job","expenses","income","assets","debt","amount","price"]}'::jsonb,
                   status, seniority, home, time, age, records, job,
                   expenses, income, assets, debt, amount, price) AS model
FROM credit WHERE part = 'train';
-- held-out AUC of both (its cost), and each held-out applicant scored again with
-- 10, 50 and 100 more income: how often does the predicted risk go up?
SELECT m.name,
       round((dlfin_auc(dlfin_predict(m.model, seniority, home, time, age, records, job,
                                      expenses, income, assets, debt, amount, price),
                        c.status = 'bad') FILTER (WHERE v.more = 10))::numeric, 3) AS heldout_auc,
       count(*) AS pairs,
       count(*) FILTER (WHERE dlfin_predict(m.model, seniority, home, time, age, records, job,
                                            expenses, income + v.more, assets, debt, amount, price)
                              > dlfin_predict(m.model, seniority, home, time, age, records, job,
                                              expenses, income, assets, debt, amount, price)) AS risk_up_with_income
FROM credit c, (SELECT name, model FROM models UNION ALL SELECT name, model FROM monotone_models) m,
     (VALUES (10), (50), (100)) AS v(more)
WHERE c.part = 'test' GROUP BY m.name ORDER BY m.name;

\echo '== 9. Model card: one HTML page for a model-risk reviewer'
CREATE TEMP TABLE heldout AS
SELECT s.p_default AS score, s.defaulted AS label, c.marital
FROM scored s JOIN credit c USING (id);
-- the applications of "today" to check for drift: here, the held-out ones
CREATE TEMP VIEW new_applications AS SELECT * FROM credit WHERE part = 'test';
\set card_file :outdir '/model_card.html'
\pset format unaligned
\pset tuples_only on
\o :card_file
SELECT dlfin_model_card(model, 'heldout',
                        '{"title": "credit_default", "group": "marital", "drift": "new_applications"}') FROM models;
\o
\pset tuples_only off
\pset format aligned
\echo 'The card (identity, data, held-out performance with ROC, calibration and lift,'
\echo 'learning curve, importance, fairness by marital status and drift) is in' :card_file
