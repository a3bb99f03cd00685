-- The model registry from a user's point of view: train by name, score by
-- name, retrain, deploy only when better, deploy, roll back, drop.  Figures
-- are compared or rounded, never printed raw.
SET extra_float_digits = 0;

CREATE TABLE reg_loans AS
SELECT i AS id,
       (20000 + (i * 7919) % 80000)::integer AS income,
       (20 + (i * 31) % 50)::smallint AS age,
       (ARRAY['north', 'south', 'east', 'west'])[1 + (i * 7) % 4] AS region
FROM generate_series(1, 2000) AS i;
ALTER TABLE reg_loans ADD COLUMN approved boolean;
UPDATE reg_loans SET approved = income / 10000.0 - age / 10.0 + CASE region WHEN 'north' THEN 1 ELSE 0 END
                                + ((id * 2654435761) % 1000) / 1000.0 * 2 > 4;

-- Train by name: the column names become the feature names.
SELECT dlfin.train('loan_approval', 'SELECT approved, income, age, region FROM reg_loans;', 'approved',
                   '{"epochs": 30, "hidden": [16], "seed": 1}') AS version;
SELECT name, version, status, task, label, features, rows, train_rows, test_rows,
       train_rows + test_rows = rows AS split_adds_up,
       length(model_sha256) AS sha_len, model_sha256 = encode(sha256(model), 'hex') AS sha_ok,
       length(data_fingerprint) AS fp_len, (metrics->>'auc')::float8 > 0.9 AS good_auc,
       decision->>'reason' AS reason
FROM dlfin.models WHERE name = 'loan_approval';
SELECT name, version, action, reason, deployed_by = current_user AS by_me FROM dlfin.deployed;

-- Score by name: the same figures as scoring with the bytes.
SELECT count(*) AS rows,
       bool_and(dlfin_predict('loan_approval', income, age, region)
                = dlfin_predict(m.model, income, age, region)) AS same_as_bytes,
       bool_and(dlfin_predict_class('loan_approval', income, age, region) IN ('true', 'false')) AS classes,
       bool_and(abs((p[1] + p[2]) - 1) < 1e-9) AS proba_sums_to_one
FROM reg_loans l
CROSS JOIN (SELECT model FROM dlfin.models WHERE name = 'loan_approval' AND version = 1) m
CROSS JOIN LATERAL (SELECT dlfin_predict_proba('loan_approval', l.income, l.age, l.region) AS p) pp;
SELECT dlfin_model_info('loan_approval')->>'name' AS name, dlfin_model_info('loan_approval')->>'version' AS version,
       dlfin_model_info('loan_approval')->>'task' AS task;
-- An untyped literal first argument is a model name, not model bytes.
CREATE TEMP VIEW reg_resolve AS SELECT dlfin_predict('loan_approval', 50000, 30, 'north') AS p;
SELECT pg_get_viewdef('reg_resolve') LIKE '%''loan_approval''::text%' AS literal_is_text;

-- Explain by name: the attributions, reasons and importance of the bytes.
SELECT count(*) AS rows,
       bool_and(dlfin_explain('loan_approval', income, age, region)
                = dlfin_explain(m.model, income, age, region)) AS explain_same,
       bool_and(dlfin_reasons('loan_approval', 2, income, age, region)
                = dlfin_reasons(m.model, 2, income, age, region)) AS reasons_same
FROM reg_loans l
CROSS JOIN (SELECT model FROM dlfin.models WHERE name = 'loan_approval' AND version = 1) m
WHERE id % 10 = 0;
SELECT (SELECT array_agg(feature || ' ' || rank || ' ' || importance ORDER BY rank) FROM dlfin_importance('loan_approval'))
       = (SELECT array_agg(feature || ' ' || rank || ' ' || importance ORDER BY rank)
          FROM dlfin.models m, dlfin_importance(m.model) WHERE m.name = 'loan_approval' AND m.version = 1) AS importance_same,
       (SELECT count(*) FROM dlfin_importance('loan_approval')) AS features;
CREATE TEMP VIEW reg_resolve_explain AS
SELECT dlfin_explain('loan_approval', 50000, 30, 'north') AS e,
       dlfin_reasons('loan_approval', 2, 50000, 30, 'north') AS r,
       (SELECT count(*) FROM dlfin_importance('loan_approval')) AS n;
SELECT (length(pg_get_viewdef('reg_resolve_explain'))
        - length(replace(pg_get_viewdef('reg_resolve_explain'), '''loan_approval''::text', ''))) / length('''loan_approval''::text')
       AS literals_as_text;

-- Same data, same options: a retrain records nothing and returns the
-- existing version.
SELECT dlfin.retrain('loan_approval') AS version;
-- Forced, the retrained model is identical, so not better.
SELECT dlfin.train('loan_approval', 'SELECT approved, income, age, region FROM reg_loans;', 'approved',
                   '{"epochs": 30, "hidden": [16], "seed": 1, "force": true}') AS version;
SELECT version, status, model_sha256 = (SELECT model_sha256 FROM dlfin.models WHERE name = 'loan_approval' AND version = 1) AS same_bytes,
       data_fingerprint = (SELECT data_fingerprint FROM dlfin.models WHERE name = 'loan_approval' AND version = 1) AS same_data,
       decision->'deployed' AS deployed, decision->>'metric' AS metric
FROM dlfin.models WHERE name = 'loan_approval' AND version = 2;

-- New rows change the fingerprint; a weak challenger is not deployed.
INSERT INTO reg_loans SELECT id + 2000, income, age, region, approved FROM reg_loans WHERE id <= 100;
SELECT dlfin.train('loan_approval', 'SELECT approved, income, age, region FROM reg_loans', 'approved',
                   '{"epochs": 1, "hidden": [], "learning_rate": 0.0001}') AS version;
SELECT version, status, rows, data_fingerprint <> (SELECT data_fingerprint FROM dlfin.models WHERE name = 'loan_approval' AND version = 1) AS new_data,
       decision->'deployed' AS deployed,
       (decision->>'challenger')::float8 < (decision->>'champion')::float8 AS worse,
       decision->'champion_version' AS champion
FROM dlfin.models WHERE name = 'loan_approval' AND version = 3;
-- Warm start from the deployed weights.
SELECT dlfin.train('loan_approval', 'SELECT approved, income, age, region FROM reg_loans', 'approved',
                   '{"epochs": 5, "hidden": [16], "seed": 1, "warm_start": true}', 'never') AS version;
SELECT version, status, decision->'warm_start' AS warm_start, options ? 'warm_start' AS kept_option
FROM dlfin.models WHERE name = 'loan_approval' AND version = 4;

-- Deploy explicitly, then roll back.
SELECT dlfin.deploy('loan_approval', 3, 'manual test') AS deployed;
SELECT dlfin_model_info('loan_approval')->>'version' AS scoring_uses;
SELECT dlfin_explain('loan_approval', 50000, 30, 'north')
       = dlfin_explain((SELECT model FROM dlfin.models WHERE name = 'loan_approval' AND version = 3), 50000, 30, 'north')
       AS explain_uses_deployed;
SELECT dlfin.rollback('loan_approval') AS rolled_back_to;
SELECT dlfin_model_info('loan_approval')->>'version' AS scoring_uses;
SELECT version, status FROM dlfin.models WHERE name = 'loan_approval' ORDER BY version;
SELECT id, version, previous_version, action, reason FROM dlfin.deployments WHERE name = 'loan_approval' ORDER BY id;

-- Regression and multiclass: RMSE and accuracy decide.
SELECT dlfin.train('income_model', 'SELECT income::float8 AS income, age, region FROM reg_loans', 'income',
                   '{"epochs": 5, "hidden": [8]}') AS version;
SELECT task, decision->>'metric' AS metric, metrics ? 'rmse' AS has_rmse FROM dlfin.models WHERE name = 'income_model';
SELECT dlfin.train('region_model', 'SELECT region, income, age FROM reg_loans', 'region',
                   '{"epochs": 5, "hidden": [8]}') AS version;
SELECT task, decision->>'metric' AS metric, metrics ? 'accuracy' AS has_accuracy FROM dlfin.models WHERE name = 'region_model';
SELECT dlfin_predict_class('region_model', 50000, 30) IN ('north', 'south', 'east', 'west') AS a_region;

-- Drop a version, then the whole model; versions are never reused.
SELECT dlfin.drop_model('loan_approval', 4) AS dropped;
SELECT dlfin.drop_model('loan_approval') AS dropped;
SELECT count(*) AS left FROM dlfin.models WHERE name = 'loan_approval';
SELECT action, version FROM dlfin.deployments WHERE name = 'loan_approval' AND action = 'drop' ORDER BY id;
SELECT dlfin.drop_model('income_model') + dlfin.drop_model('region_model') AS dropped;
DROP TABLE reg_loans;
