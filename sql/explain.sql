-- Explaining and governing: attributions (completeness, agreement with
-- dlfin_predict), reason codes (agreement with the attributions), global
-- importance, monotone constraints on random pairs, calibration, fairness
-- and drift recomputed independently in SQL.  Figures are compared or
-- rounded, never printed raw.
SET extra_float_digits = 0;

CREATE TABLE apps AS
SELECT i AS id,
       (20000 + (i * 7919) % 80000)::integer AS income,
       ((i * 17) % 100 / 100.0)::numeric AS dti,
       (20 + (i * 31) % 50)::integer AS age,
       ((i * 101) % 997 / 997.0)::double precision AS noise,
       (ARRAY['north', 'south', 'east', 'west'])[1 + (i * 7) % 4] AS region,
       (ARRAY['a', 'b'])[1 + (i * 13) % 2] AS grp
FROM generate_series(1, 4000) AS i;
ALTER TABLE apps ADD COLUMN good boolean;
UPDATE apps SET good =
    income / 10000.0 - dti * 6 + CASE region WHEN 'north' THEN 1 WHEN 'west' THEN -1 ELSE 0 END
    + ((id * 2654435761) % 1000) / 1000.0 * 3 > 4.5;
UPDATE apps SET income = NULL WHERE id % 60 = 0;
UPDATE apps SET region = NULL WHERE id % 70 = 0;

CREATE TABLE gm AS
SELECT dlfin_train('{"features": ["income", "dti", "age", "noise", "region"], "seed": 3, "optimizer": "adam",
                     "reasons": {"income": "Income too low", "dti": "Debt-to-income too high"}}',
                   good, income, dti, age, noise, region) AS model
FROM apps WHERE id % 5 <> 0;

-- 1. attributions: completeness and the score dlfin_predict gives
CREATE TABLE ex AS
SELECT id, dlfin_explain(model, income, dti, age, noise, region) AS e,
       dlfin_predict(model, income, dti, age, noise, region) AS p
FROM apps, gm WHERE id % 5 = 0;
SELECT count(*) AS rows,
       max(abs((SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
               - ((e->>'score')::float8 - (e->>'baseline')::float8))) <= 1e-4 AS complete,
       max(abs((e->>'score')::float8 - p)) <= 1e-5 AS matches_predict,
       count(DISTINCT (e->>'baseline')::float8) AS baselines,
       min(e->>'scale') AS scale,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(min(e::text)::jsonb->'contributions') k) AS features
FROM ex;
-- the baseline row (NULL numbers impute the means; the most frequent
-- category) explains to zero
SELECT (e->>'score')::float8 = (e->>'baseline')::float8 AS baseline_is_itself,
       (SELECT max(abs(value::float8)) FROM jsonb_each_text(e->'contributions')) = 0 AS zero_contributions
FROM (SELECT dlfin_explain(model, NULL::int, NULL::numeric, NULL::int, NULL::float8,
                           dlfin_model_info(model)->'features'->4->'categories'->>0) AS e FROM gm) s;

-- 2. reason codes: the k most negative contributions, ties by position
CREATE TABLE rs AS
SELECT a.id, dlfin_reasons(model, 2, income, dti, age, noise, region) AS r, e
FROM apps a JOIN ex USING (id), gm;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE r = (SELECT coalesce(array_agg(coalesce(dlfin_model_info(gm.model)->'features'->(ord::int - 1)->>'reason', key) ORDER BY value::float8, ord), '{}')
                                   FROM (SELECT key, value, ord, row_number() OVER (ORDER BY value::float8, ord) AS rn
                                         FROM jsonb_each_text(e->'contributions') WITH ORDINALITY AS c(key, value, o0)
                                         JOIN (SELECT x->>'name' AS name, n AS ord FROM jsonb_array_elements(dlfin_model_info(gm.model)->'features') WITH ORDINALITY AS f(x, n)) f ON f.name = key
                                         WHERE value::float8 < 0) s
                                   WHERE rn <= 2)) AS agree,
       count(*) FILTER (WHERE 'Income too low' = ANY (r)) > 0 AS uses_reason_text,
       max(cardinality(r)) AS max_k
FROM rs, gm;
SELECT dlfin_reasons(model, 0, 50000, 0.1, 30, 0.5, 'north') AS none,
       dlfin_reasons(NULL::bytea, 2, 50000, 0.1, 30, 0.5, 'north') AS null_model,
       NOT 'Income too low' = ANY (dlfin_reasons(model, 5, 200000, 0.0, 30, 0.5, 'north')) AS rich_not_told_income
FROM gm;

-- 3. importance on the validation split, ranked
SELECT feature, rank, importance > 0 AS positive FROM dlfin_importance((SELECT model FROM gm)) WHERE rank <= 3 ORDER BY rank;
SELECT (SELECT feature FROM dlfin_importance(model) WHERE rank = 1) IN ('income', 'dti') AS signal_first,
       (SELECT rank FROM dlfin_importance(model) WHERE feature = 'noise') >= 3 AS noise_low,
       (SELECT bool_and(abs((dlfin_model_info(model)->'features'->(n::int - 1)->>'importance')::float8 - i.importance) < 1e-12)
        FROM unnest(ARRAY['income','dti','age','noise','region']) WITH ORDINALITY AS u(name, n)
        JOIN dlfin_importance(model) i ON i.feature = u.name) AS stored
FROM gm;

-- 4. monotone constraints: 3000 random pairs per feature, no violation
CREATE TABLE mm AS
SELECT dlfin_train('{"features": ["income", "dti", "age", "noise", "region"], "seed": 3, "optimizer": "adam",
                     "monotone": {"income": 1, "dti": -1}}',
                   good, income, dti, age, noise, region) AS model
FROM apps WHERE id % 5 <> 0;
SELECT jsonb_path_query_array(dlfin_model_info(model), '$.features[*].monotone') AS monotone,
       dlfin_model_info(model)->'options'->'monotone' AS option
FROM mm;
CREATE TABLE pairs AS
SELECT i, 10000 + (i * 7907) % 150000 AS inc, ((i * 31) % 100) / 100.0 AS dti,
       15 + (i * 13) % 70 AS age, ((i * 17) % 1000) / 1000.0 AS noise,
       (ARRAY['north', 'south', 'east', 'west', 'elsewhere', NULL])[1 + (i * 5) % 6] AS region,
       1 + (i * 37) % 40000 AS dinc, ((i * 11) % 50) / 100.0 + 0.001 AS ddti
FROM generate_series(1, 3000) AS i;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE dlfin_predict(model, inc + dinc, dti, age, noise, region)
                              < dlfin_predict(model, inc, dti, age, noise, region)) AS income_violations,
       count(*) FILTER (WHERE dlfin_predict(model, inc, dti + ddti, age, noise, region)
                              > dlfin_predict(model, inc, dti, age, noise, region)) AS dti_violations,
       count(*) FILTER (WHERE dlfin_predict(model, inc + dinc, dti, age, noise, region)
                              > dlfin_predict(model, inc, dti, age, noise, region)) > 1000 AS income_matters
FROM pairs, mm;

-- 5. calibration on the validation split, applied by dlfin_predict: a
-- model trained with class weights over-predicts the weighted class
CREATE TABLE cm AS
SELECT c, dlfin_train(jsonb_build_object('features', '["income","dti","age","noise","region"]'::jsonb,
                                         'seed', 3, 'optimizer', 'adam', 'calibrate', c, 'class_weight', '{"true": 4}'::jsonb),
                      good, income, dti, age, noise, region) AS model
FROM apps, (VALUES ('none'), ('platt'), ('isotonic')) v(c) WHERE id % 5 <> 0 GROUP BY c;
SELECT c, i->'calibration'->>'method' AS method,
       (i->'calibration'->>'ece_before')::float8 = (SELECT (dlfin_model_info(model)->>'validation_ece')::float8 FROM cm WHERE c = 'none') AS same_before,
       i->'options'->>'calibrate' AS option
FROM cm, LATERAL (SELECT dlfin_model_info(model) AS i) s ORDER BY c;
-- held-out rows: calibration lowers the expected calibration error
SELECT c, min(p) >= 0 AND max(p) <= 1 AS probabilities,
       dlfin_auc(p, good) > 0.8 AS ranks_well,
       (dlfin_metrics(p, good)->>'ece')::float8 <
       (SELECT (dlfin_metrics(dlfin_predict(model, income, dti, age, noise, region), good)->>'ece')::float8
        FROM apps, cm WHERE id % 5 = 0 AND c = 'none') AS ece_lower_than_uncalibrated
FROM (SELECT c, good, dlfin_predict(model, income, dti, age, noise, region) AS p
      FROM apps, cm WHERE id % 5 = 0 AND c <> 'none') s GROUP BY c ORDER BY c;
-- explanations of a calibrated model add up on the calibrated scale
SELECT c, max(abs((SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
                  - ((e->>'score')::float8 - (e->>'baseline')::float8))) <= 1e-4 AS complete,
       min(e->>'scale') AS scale
FROM (SELECT c, dlfin_explain(model, income, dti, age, noise, region) AS e FROM apps, cm WHERE id % 20 = 0 AND c <> 'none') s
GROUP BY c ORDER BY c;

-- 6. fairness, recomputed independently
CREATE TABLE sc AS
SELECT grp, good, dlfin_predict(model, income, dti, age, noise, region) AS p FROM apps, gm;
SELECT jsonb_build_object('groups', (SELECT jsonb_object_agg(g, jsonb_build_object('n', v->'n')) FROM jsonb_each(f->'groups') AS x(g, v)),
                          'reference_group', f->'reference_group') AS counts
FROM (SELECT dlfin_fairness(p, grp, good) AS f FROM sc) s;
WITH g AS (
    SELECT grp, avg((p >= 0.6)::int) AS ar,
           avg((p >= 0.6)::int) FILTER (WHERE good) AS tpr,
           avg((p >= 0.6)::int) FILTER (WHERE NOT good) AS fpr
    FROM sc GROUP BY grp),
f AS (SELECT dlfin_fairness(p, grp, good, 0.6) AS f FROM sc)
SELECT bool_and(abs((f->'groups'->grp->>'approval_rate')::float8 - ar) < 1e-12
                AND abs((f->'groups'->grp->>'tpr')::float8 - tpr) < 1e-12
                AND abs((f->'groups'->grp->>'fpr')::float8 - fpr) < 1e-12
                AND abs((f->'groups'->grp->>'adverse_impact_ratio')::float8 - ar / (SELECT max(ar) FROM g)) < 1e-12) AS per_group,
       abs((min(f::text)::jsonb->>'demographic_parity_difference')::float8 - (max(ar) - min(ar))) < 1e-12 AS parity,
       abs((min(f::text)::jsonb->>'equal_opportunity_difference')::float8 - (max(tpr) - min(tpr))) < 1e-12 AS opportunity
FROM g, f;
-- the four-fifths flag is exact at 0.8
SELECT f->'groups'->'x'->>'four_fifths_violation' AS at_080, f->'groups'->'y'->>'four_fifths_violation' AS below
FROM (SELECT dlfin_fairness(s, g, true, 0.5) AS f
      FROM (VALUES (1.0, 'r'), (1.0, 'r'), (1.0, 'r'), (1.0, 'r'), (1.0, 'r'),
                   (1.0, 'x'), (1.0, 'x'), (1.0, 'x'), (1.0, 'x'), (0.0, 'x'),
                   (1.0, 'y'), (1.0, 'y'), (0.0, 'y'), (0.0, 'y'), (0.0, 'y')) v(s, g)) q;
SELECT dlfin_fairness(p, grp, good) IS NULL AS no_rows FROM sc WHERE false;
SELECT f->'ignored_rows' AS ignored FROM (SELECT dlfin_fairness(NULL, 'a', true) AS f) s;

-- 7. drift: PSI recomputed from the stored distributions
CREATE TABLE today AS SELECT * FROM apps WHERE id % 5 = 0;
UPDATE today SET income = income * 1.5 WHERE id % 8 = 0;
SELECT d->'rows' AS rows, d->'features'->'income'->>'band' AS income, d->'features'->'noise'->>'band' AS noise,
       d->'features'->'region'->>'band' AS region, d->'score'->>'band' IS NOT NULL AS score_band
FROM (SELECT dlfin_drift(model, income, dti, age, noise, region) AS d FROM today, gm) s;
-- numeric: decile bins (edges are inclusive upper bounds) and a NULL bin
WITH info AS (SELECT dlfin_model_info(model)->'features'->0 AS f FROM gm),
edges AS (SELECT array_agg(e::float8 ORDER BY n) AS e FROM info, jsonb_array_elements_text(f->'distribution'->'edges') WITH ORDINALITY AS x(e, n)),
exp AS (SELECT n - 1 AS bin, (1 - (f->>'missing_share')::float8) * s::float8 AS share
        FROM info, jsonb_array_elements_text(f->'distribution'->'shares') WITH ORDINALITY AS x(s, n)
        UNION ALL SELECT jsonb_array_length(f->'distribution'->'shares'), (f->>'missing_share')::float8 FROM info),
act AS (SELECT CASE WHEN income IS NULL THEN cardinality(e) + 1
                    ELSE (SELECT count(*) FROM unnest(e) AS u WHERE u < income::real::float8) END AS bin,
               count(*)::float8 / (SELECT count(*) FROM today) AS share
        FROM today, edges GROUP BY 1),
psi AS (SELECT sum((greatest(coalesce(a.share, 0), 1e-4) - greatest(x.share, 1e-4))
                   * ln(greatest(coalesce(a.share, 0), 1e-4) / greatest(x.share, 1e-4))) AS psi
        FROM exp x LEFT JOIN act a USING (bin))
SELECT abs(psi - (SELECT (dlfin_drift(model, income, dti, age, noise, region)->'features'->'income'->>'psi')::float8 FROM today, gm)) < 1e-9 AS income_psi_matches,
       round(psi::numeric, 2) > 0.25 AS significant
FROM psi;
-- categorical: one bin per code (categories, other, missing)
WITH info AS (SELECT dlfin_model_info(model)->'features'->4 AS f FROM gm),
exp AS (SELECT n - 1 AS bin, s::float8 AS share FROM info, jsonb_array_elements_text(f->'distribution'->'shares') WITH ORDINALITY AS x(s, n)),
cats AS (SELECT c, n - 1 AS code FROM info, jsonb_array_elements_text(f->'categories') WITH ORDINALITY AS x(c, n)),
act AS (SELECT CASE WHEN region IS NULL THEN (SELECT count(*) FROM cats) + 1
                    ELSE coalesce((SELECT code FROM cats WHERE c = region), (SELECT count(*) FROM cats)) END AS bin,
               count(*)::float8 / (SELECT count(*) FROM today) AS share
        FROM today GROUP BY 1)
SELECT abs(sum((greatest(coalesce(a.share, 0), 1e-4) - greatest(x.share, 1e-4))
               * ln(greatest(coalesce(a.share, 0), 1e-4) / greatest(x.share, 1e-4)))
           - (SELECT (dlfin_drift(model, income, dti, age, noise, region)->'features'->'region'->>'psi')::float8 FROM today, gm)) < 1e-9 AS region_psi_matches
FROM exp x LEFT JOIN act a USING (bin);

-- parallel plans give the same drift and fairness as serial ones
CREATE TABLE big AS SELECT a.* FROM apps a, generate_series(1, 10);
ANALYZE big;
SELECT model AS m FROM gm \gset
SELECT dlfin_drift(:'m'::bytea, income, dti, age, noise, region)::text AS d,
       dlfin_fairness(dlfin_predict(:'m'::bytea, income, dti, age, noise, region), grp, good)::text AS f
FROM big \gset serial_
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT dlfin_drift(:'m'::bytea, income, dti, age, noise, region),
       dlfin_fairness(dlfin_predict(:'m'::bytea, income, dti, age, noise, region), grp, good)
FROM big;
SELECT dlfin_drift(:'m'::bytea, income, dti, age, noise, region)::text = :'serial_d' AS same_drift,
       dlfin_fairness(dlfin_predict(:'m'::bytea, income, dti, age, noise, region), grp, good)::text = :'serial_f' AS same_fairness
FROM big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
