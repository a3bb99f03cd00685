-- dlfin_train and scoring: feature types, tasks, options, grouping and
-- determinism.  Figures are rounded or compared, never printed raw, so the
-- expected output does not depend on the CPU's vector width.
SET extra_float_digits = 0;

-- Deterministic synthetic applications: every type dlfin accepts.
CREATE TABLE loans AS
SELECT i AS id,
       (20000 + (i * 7919) % 80000)::integer AS income,
       (20 + (i * 31) % 50)::smallint AS age,
       ((i * 13) % 5)::bigint AS edu,
       ((i * 17) % 100 / 100.0)::numeric AS dti,
       ((i * 53) % 1000 / 10.0)::real AS hist,
       ((i * 101) % 997 / 997.0)::double precision AS util,
       (i % 3 = 0) AS owner,
       (ARRAY['north', 'south', 'east', 'west'])[1 + (i * 7) % 4]::varchar AS region
FROM generate_series(1, 3000) AS i;
ALTER TABLE loans ADD COLUMN approved boolean;
UPDATE loans SET approved =
    income / 10000.0 - dti * 6 + edu * 0.8 + CASE WHEN owner THEN 1.5 ELSE 0 END
    + CASE region WHEN 'north' THEN 1 WHEN 'west' THEN -1 ELSE 0 END
    + CASE WHEN age > 45 AND util > 0.5 THEN -2 ELSE 0 END
    + ((id * 2654435761) % 1000) / 1000.0 * 2 > 5.5;
-- a few NULL features, imputed by the model
UPDATE loans SET income = NULL WHERE id % 50 = 0;
UPDATE loans SET region = NULL WHERE id % 70 = 0;
SELECT count(*) AS rows, round(avg(approved::int), 2) AS approval_rate FROM loans;

-- Default options: label first, then the features.
CREATE TABLE m AS
SELECT dlfin_train(approved, income, age, edu, dti, hist, util, owner, region) AS model
FROM loans;
SELECT octet_length(model) > 100 AS has_bytes,
       dlfin_model_info(model)->>'task' AS task,
       dlfin_model_info(model)->'classes' AS classes,
       jsonb_path_query_array(dlfin_model_info(model), '$.features[*].name') AS names,
       jsonb_path_query_array(dlfin_model_info(model), '$.features[*].type') AS types
FROM m;

-- It learns: accuracy on its own data, and a ranking that separates classes.
SELECT avg(((dlfin_predict(model, income, age, edu, dti, hist, util, owner, region) >= 0.5) = approved)::int) > 0.85 AS accurate
FROM loans, m;
SELECT dlfin_predict_class(model, 50000, 30::smallint, 3::bigint, 0.2, 10::real, 0.5::float8, true, 'north') AS rich_owner,
       dlfin_predict_class(model, 20000, 60::smallint, 0::bigint, 0.9, 10::real, 0.9::float8, false, 'west') AS poor_renter
FROM m;
-- probabilities in class order, summing to one
SELECT array_length(p, 1) AS n, round((p[1] + p[2])::numeric, 6) AS total
FROM (SELECT dlfin_predict_proba(model, 50000, 30, 3, 0.2, 10, 0.5, true, 'north') AS p FROM m) s;
-- NULL features are imputed; unseen categories score as "other"
SELECT dlfin_predict(model, NULL::int, NULL::int, NULL::int, NULL::numeric, NULL::real, NULL::float8, NULL::boolean, NULL::text) BETWEEN 0 AND 1 AS imputed,
       dlfin_predict(model, 50000, 30, 3, 0.2, 10, 0.5, true, 'atlantis') BETWEEN 0 AND 1 AS unseen
FROM m;
-- a NULL model scores as NULL
SELECT dlfin_predict(NULL::bytea, 1, 2) IS NULL AS null_model;

-- Options first, as jsonb; feature names from the options.
CREATE TABLE m2 AS
SELECT dlfin_train('{"hidden": [8], "epochs": 5, "seed": 3, "activation": "tanh",
                     "optimizer": "momentum", "learning_rate": 0.01, "batch_size": 32,
                     "l2": 0.001, "dropout": 0.1, "validation_fraction": 0.2, "patience": 2,
                     "features": ["income", "age", "region"], "max_categories": 2,
                     "class_weight": "balanced"}'::jsonb,
                   approved, income, age, region) AS model
FROM loans;
SELECT info->'options'->'hidden' AS hidden, info->'options'->>'activation' AS activation,
       info->'options'->>'optimizer' AS optimizer,
       (info->>'epochs_run')::int <= 5 AS epochs_ok,
       info->'rows' AS rows,
       jsonb_path_query_array(info, '$.features[*].name') AS names,
       info->'features'->2->'categories' AS top_categories,
       jsonb_array_length(info->'layers') AS layers
FROM (SELECT dlfin_model_info(model) AS info FROM m2) s;

-- Text labels: two values -> binary (positive: the larger one, or "positive").
SELECT dlfin_model_info(dlfin_train(CASE WHEN approved THEN 'yes' ELSE 'no' END, income, dti))->'classes' AS default_positive,
       dlfin_model_info(dlfin_train('{"positive": "no", "epochs": 2}', CASE WHEN approved THEN 'yes' ELSE 'no' END, income, dti))->'classes' AS chosen_positive
FROM loans;
-- 0/1 integers -> binary with 1 positive
SELECT dlfin_model_info(dlfin_train('{"epochs": 2}', approved::int, income, dti))->'classes' AS int_classes FROM loans;

-- Multiclass from a text label with three values, and from integers on request.
CREATE TABLE m3 AS
SELECT dlfin_train('{"epochs": 30, "seed": 1}',
                   CASE WHEN income > 70000 THEN 'high' WHEN income > 40000 THEN 'mid' ELSE 'low' END,
                   income, age) AS model
FROM loans WHERE income IS NOT NULL;
SELECT dlfin_model_info(model)->>'task' AS task, dlfin_model_info(model)->'classes' AS classes,
       dlfin_predict_class(model, 90000, 30) AS rich, dlfin_predict_class(model, 21000, 30) AS poor,
       array_length(dlfin_predict_proba(model, 50000, 30), 1) AS nproba,
       round((SELECT sum(x) FROM unnest(dlfin_predict_proba(model, 50000, 30)) x)::numeric, 6) AS total
FROM m3;
SELECT dlfin_model_info(dlfin_train('{"task": "multiclass", "epochs": 2}', edu, income, age))->'classes' AS int_multiclass
FROM loans;

-- Regression: numeric label, predictions in label units.
CREATE TABLE m4 AS
SELECT dlfin_train('{"epochs": 60, "seed": 5}', util * 100 + age, util, age) AS model FROM loans;
SELECT dlfin_model_info(model)->>'task' AS task,
       corr(dlfin_predict(model, util, age), util * 100 + age) > 0.95 AS fits,
       abs(avg(dlfin_predict(model, util, age)) - avg(util * 100 + age)) < 5 AS label_units
FROM loans, m4 GROUP BY model;

-- GROUP BY: one model per group; FILTER restricts the rows.
SELECT region, (dlfin_model_info(dlfin_train('{"epochs": 2}', approved, income, dti))->'rows'->>'train')::int
             + (dlfin_model_info(dlfin_train('{"epochs": 2}', approved, income, dti))->'rows'->>'validation')::int AS rows
FROM loans WHERE region IS NOT NULL GROUP BY region ORDER BY region;
SELECT (dlfin_model_info(dlfin_train('{"epochs": 2, "validation_fraction": 0}', approved, income, dti) FILTER (WHERE owner))->'rows'->>'train')::int AS owners
FROM loans;

-- Empty input and only-NULL labels give NULL.
SELECT dlfin_train(approved, income) IS NULL AS empty FROM loans WHERE false;
SELECT dlfin_train(NULL::boolean, income) IS NULL AS null_labels FROM loans;

-- Reproducible: same rows in another order give the same bytes.
SELECT (SELECT dlfin_train('{"epochs": 3}', approved, income, dti, region)
        FROM (SELECT * FROM loans ORDER BY id) s)
     = (SELECT dlfin_train('{"epochs": 3}', approved, income, dti, region)
        FROM (SELECT * FROM loans ORDER BY md5(id::text)) s) AS order_independent;
-- and another seed gives other weights
SELECT (SELECT dlfin_train('{"epochs": 3, "seed": 1}', approved, income, dti) FROM loans)
    <> (SELECT dlfin_train('{"epochs": 3, "seed": 2}', approved, income, dti) FROM loans) AS seed_matters;

-- Warm start from a model with the same schema.
SELECT dlfin_model_info(dlfin_train(jsonb_build_object('init', (SELECT model FROM m), 'epochs', 2),
                                    approved, income, age, edu, dti, hist, util, owner, region))->'options'->>'init' AS warm
FROM loans;
