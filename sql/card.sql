-- Model card charts drawn from the same numbers as the metric aggregates,
-- the same SVG from a parallel plan, and the sections of a card.  Outputs
-- are counts, booleans and rounded numbers, so they do not depend on the CPU.
CREATE TABLE cscored (id int, score float8, label bool);
INSERT INTO cscored VALUES
  (1, 0.10, false), (2, 0.40, false), (3, 0.35, true), (4, 0.80, true),
  (5, 0.60, true), (6, 0.60, false), (7, 0.95, true), (8, 0.05, false),
  (9, NULL, true), (10, 0.70, NULL);

-- one ROC polyline point per dlfin_roc point, AUC in the legend
SELECT (SELECT (dlfin_roc(score, label)->>'points')::int FROM cscored) AS roc_points,
       array_length(regexp_split_to_array(btrim(substring(svg from 'points="([^"]*)"')), ' '), 1) AS drawn_points,
       strpos(svg, format('model (AUC %s)', (SELECT round(dlfin_auc(score, label)::numeric, 3) FROM cscored))) > 0 AS auc_in_legend,
       xml_is_well_formed_document(svg) AS well_formed
FROM (SELECT dlfin_svg_roc(score, label) AS svg FROM cscored) s;

-- reliability diagram: one marker per non-empty 0.1-wide bin
SELECT (xpath('count(//*[local-name()="circle"])', svg::xml))[1]::text AS markers,
       (SELECT count(DISTINCT least(floor(score * 10), 9)) FROM cscored WHERE score IS NOT NULL AND label IS NOT NULL) AS bins
FROM (SELECT dlfin_svg_calibration(score, label) AS svg FROM cscored) s;

-- lift chart: one bar per non-empty decile of dlfin_deciles
SELECT (SELECT count(*) FROM jsonb_array_elements((SELECT dlfin_deciles(score, label) FROM cscored)) d
        WHERE d->>'count' <> '0') AS deciles,
       (xpath('count(//*[local-name()="g"][@fill="#0072b2"]/*[local-name()="rect"])', svg::xml))[1]::text AS bars
FROM (SELECT dlfin_svg_lift(score, label) AS svg FROM cscored) s;

-- one class, no rows
SELECT dlfin_svg_roc(score, label) IS NULL AS roc_null, dlfin_svg_lift(score, label) IS NULL AS lift_null,
       dlfin_svg_calibration(score, label) IS NOT NULL AS calibration_drawn
FROM cscored WHERE NOT label;
SELECT dlfin_svg_roc(score, label), dlfin_svg_calibration(score, label) FROM cscored WHERE false;

-- a parallel plan draws the same chart as a serial one
CREATE TABLE cbig AS
SELECT i, ((i * 7919) % 10007)::float8 / 10007 AS score, (i * 104729) % 7 < 3 AS label
FROM generate_series(1::bigint, 50000) i;
ANALYZE cbig;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT dlfin_svg_roc(score, label) FROM cbig;
SELECT md5(dlfin_svg_roc(score, label) || dlfin_svg_calibration(score, label) || dlfin_svg_lift(score, label)) AS parallel_md5
FROM cbig \gset
SET max_parallel_workers_per_gather = 0;
SELECT md5(dlfin_svg_roc(score, label) || dlfin_svg_calibration(score, label) || dlfin_svg_lift(score, label)) = :'parallel_md5' AS same_svg
FROM cbig;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- a card of a small model, evaluated on held-out rows with a group column
CREATE TABLE ctrain AS
SELECT i, (i % 5 = 0) AS y, (i % 13)::float8 + (i % 5 = 0)::int * 3 AS x,
       (ARRAY['north', 'south', 'east'])[1 + i % 3] AS region
FROM generate_series(1, 600) i;
CREATE TABLE cmodel AS
SELECT dlfin_train('{"epochs": 5, "hidden": [4], "seed": 3, "features": ["x", "region"]}', y, x, region) AS model
FROM ctrain WHERE i % 4 <> 0;
CREATE TABLE cheld AS
SELECT dlfin_predict(m.model, x, region) AS score, y AS label, region
FROM ctrain, cmodel m WHERE i % 4 = 0;
CREATE TABLE ccard AS
SELECT dlfin_model_card(model, 'cheld', '{"title": "small", "group": "region", "threshold": 0.3}') AS html
FROM cmodel;
SELECT xml_is_well_formed_document(html) AS well_formed,
       (SELECT count(*) FROM regexp_matches(html, '<svg ', 'g')) AS charts,
       (SELECT array_agg(m[1] ORDER BY o) FROM regexp_matches(html, '<h2 id="([a-z]+)"', 'g') WITH ORDINALITY r(m, o)) AS sections,
       strpos(html, 'Confusion matrix at threshold 0.3000') > 0 AS threshold_used,
       strpos(html, format('%s held-out rows', (SELECT count(*) FROM cheld))) > 0 AS rows_shown
FROM ccard;
-- the confusion matrix agrees with dlfin_metrics at the same threshold
SELECT strpos(c.html, format('<td>%s (TP)</td><td>%s (FN)</td>', m->>'tp', m->>'fn')) > 0
       AND strpos(c.html, format('<td>%s (FP)</td><td>%s (TN)</td>', m->>'fp', m->>'tn')) > 0 AS confusion_matches
FROM ccard c, (SELECT dlfin_metrics(score, label, 0.3) AS m FROM cheld) s;
-- the fairness table is dlfin_fairness of the card's decisions: one row per
-- region, in byte order, with its approval rate and adverse impact ratio
SELECT (SELECT array_agg(m[1] ORDER BY o)
        FROM regexp_matches(substring(html from 'Fairness by group.*Performance by group'),
                            '<tr><td>(north|south|east)</td>', 'g') WITH ORDINALITY r(m, o)) AS fairness_rows,
       (SELECT count(*) FROM regexp_matches(substring(html from 'Performance by group.*'),
                                            '<tr><td>(north|south|east)</td>', 'g')) AS performance_rows
FROM ccard;
SELECT bool_and(strpos(c.html, format('<tr><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s%%</td>',
                                      g.key, g.value->>'n', g.value->>'approved',
                                      round(100 * (g.value->>'approval_rate')::numeric, 1))) > 0) AS fairness_matches
FROM ccard c,
     (SELECT dlfin_fairness(score, region, label, 0.3) AS f FROM cheld) f,
     jsonb_each(f.f->'groups') g;
-- each group's significance against the reference group, as dlfin_fairness
SELECT bool_and(strpos(c.html, format('</td><td>%s</td><td%s>%s</td></tr>', g.value->>'test',
                                      CASE WHEN (g.value->>'practically_significant')::boolean THEN ' class="bad"' ELSE '' END,
                                      CASE WHEN (g.value->>'practically_significant')::boolean
                                           THEN 'yes (ratio &lt; 0.8, p &lt; 0.05)' ELSE 'no' END)) > 0) AS significance_matches
FROM ccard c,
     (SELECT dlfin_fairness(score, region, label, 0.3) AS f FROM cheld) f,
     jsonb_each(f.f->'groups') g;
-- drift against a table found on the caller's search_path, as dlfin_drift
CREATE SCHEMA cdrift;
CREATE TABLE cdrift.today AS SELECT x + 4 AS x, region FROM ctrain WHERE i % 4 = 0;
SET search_path = cdrift, public;
CREATE TABLE public.cdcard AS
SELECT dlfin_model_card(model, 'cheld', '{"drift": "today"}') AS html FROM cmodel;
RESET search_path;
SELECT strpos(html, 'rows of <code>cdrift.today</code>') > 0 AS drift_table_named,
       abs((substring(html from '<tr><td>x</td><td class="num">([0-9.e+-]+)</td><td class="bad">significant</td>')::float8
            / (d->'features'->'x'->>'psi')::float8) - 1) < 0.005 AS x_psi_matches,
       abs((substring(html from '<tr><td><strong>model score</strong></td><td class="num">([0-9.e+-]+)</td>')::float8
            / (d->'score'->>'psi')::float8) - 1) < 0.005 AS score_psi_matches,
       d->'features'->'x'->>'band' AS x_band, d->'features'->'region'->>'band' AS region_band
FROM cdcard, (SELECT dlfin_drift(m.model, x, region) AS d FROM cdrift.today, cmodel m) s;
