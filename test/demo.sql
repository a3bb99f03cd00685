-- dlfin demo: a credit-risk model trained, evaluated and explained in SQL
-- on the real credit_data set (4,454 applications; see README "Data").
-- Run by scripts/demo with -v data=<csv path> -v outdir=<directory>.

\pset footer off
\set QUIET on
CREATE EXTENSION IF NOT EXISTS dlfin;

\echo '== 1. Load the applications'
DROP TABLE IF EXISTS credit;
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
\timing on
CREATE TABLE models AS
SELECT 'credit_default'::text AS name,
       dlfin_train('{"positive": "bad", "seed": 7,
                     "features": ["seniority","home","time","age","marital","records",
                                  "job","expenses","income","assets","debt","amount","price"]}'::jsonb,
                   status, seniority, home, time, age, marital, records, job,
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
       dlfin_predict(m.model, seniority, home, time, age, marital, records, job,
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

\echo '== 7. Model card: one HTML page for a model-risk reviewer'
CREATE TEMP TABLE heldout AS
SELECT s.p_default AS score, s.defaulted AS label, c.marital
FROM scored s JOIN credit c USING (id);
\set card_file :outdir '/model_card.html'
\pset format unaligned
\pset tuples_only on
\o :card_file
SELECT dlfin_model_card(model, 'heldout',
                        '{"title": "credit_default", "group": "marital"}') FROM models;
\o
\pset tuples_only off
\pset format aligned
\echo 'The card (identity, data, held-out performance with ROC, calibration and lift,'
\echo 'learning curve, explanation and fairness by marital status) is in' :card_file
