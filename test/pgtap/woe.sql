-- The "woe" training option (issue 20, WoE as a feature encoding): a
-- logistic network over WoE inputs is the classic scorecard (it scores as
-- a logistic regression over the WoE columns computed in SQL from
-- dlfin_binning), the tables are the ones dlfin_binning reports, the model
-- round-trips, does not depend on row order or a parallel plan, scores by
-- name, explains, drifts and shows on the card, and every user error has
-- its SQLSTATE.
BEGIN;
SELECT plan(27);

CREATE TABLE w_loans (status text, seniority int, home text, time int, age int, marital text,
                      records text, job text, expenses int, income int, assets int, debt int,
                      amount int, price int);
\copy w_loans FROM 'test/data/credit_data.csv' WITH (FORMAT csv, HEADER)
ANALYZE w_loans;

-- the classic scorecard: WoE columns from dlfin_binning's bins, then a logistic regression
CREATE TEMP TABLE w_bins AS
SELECT 'income' AS col, dlfin_binning(income, status = 'bad') AS j FROM w_loans
UNION ALL SELECT 'home', dlfin_binning(home, status = 'bad') FROM w_loans
UNION ALL SELECT 'seniority', dlfin_binning(seniority, status = 'bad') FROM w_loans;
CREATE TEMP TABLE w_rows AS
SELECT l.*,
  (SELECT woe FROM w_bins, dlfin_bins(w_bins.j) b WHERE w_bins.col = 'income' AND
     CASE WHEN l.income IS NULL THEN b.bin = 'missing'
          ELSE b.bin <> 'missing' AND l.income > coalesce(b.lower, '-infinity') AND l.income <= coalesce(b.upper, 'infinity') END) AS w_income,
  (SELECT woe FROM w_bins, dlfin_bins(w_bins.j) b WHERE w_bins.col = 'home' AND
     CASE WHEN l.home IS NULL THEN b.bin = 'missing' ELSE l.home = ANY (b.categories) END) AS w_home,
  (SELECT woe FROM w_bins, dlfin_bins(w_bins.j) b WHERE w_bins.col = 'seniority' AND
     CASE WHEN l.seniority IS NULL THEN b.bin = 'missing'
          ELSE b.bin <> 'missing' AND l.seniority > coalesce(b.lower, '-infinity') AND l.seniority <= coalesce(b.upper, 'infinity') END) AS w_seniority
FROM w_loans l;
CREATE TEMP TABLE w_m AS SELECT
  (SELECT dlfin_train('{"optimizer": "adam", "hidden": [], "seed": 3, "epochs": 30, "woe": true}', status = 'bad', income, home, seniority)
   FROM w_loans) AS woe,
  (SELECT dlfin_train('{"optimizer": "adam", "hidden": [], "seed": 3, "epochs": 30, "features": ["income", "home", "seniority"]}',
                      status = 'bad', w_income, w_home, w_seniority) FROM w_rows) AS classic;
SELECT ok((SELECT max(abs(dlfin_predict(woe, income, home, seniority) - dlfin_predict(classic, w_income, w_home, w_seniority)))
           FROM w_m, w_rows) <= 1e-12,
          'a logistic model over WoE features scores as the logistic regression over the WoE columns (the classic scorecard)');

-- the tables in the model are dlfin_binning's
SELECT is((SELECT array_agg(f ->> 'kind' ORDER BY f ->> 'name') FROM w_m, jsonb_array_elements(dlfin_model_info(woe) -> 'features') f),
          ARRAY['woe', 'woe', 'woe'], 'every feature is of kind woe');
SELECT ok((SELECT bool_and(abs((mb ->> 'woe')::float8 - b.woe) <= 1e-12 AND (mb ->> 'count')::bigint = b.count)
           FROM w_m, w_bins,
                LATERAL (SELECT f -> 'woe' -> 'bins' AS bins FROM jsonb_array_elements(dlfin_model_info(woe) -> 'features') f
                         WHERE f ->> 'name' = w_bins.col) i,
                LATERAL jsonb_array_elements(i.bins) WITH ORDINALITY AS e(mb, k)
                JOIN LATERAL (SELECT *, row_number() OVER () AS k FROM dlfin_bins(w_bins.j)) b ON b.k = e.k),
          'each feature''s bins, counts and WoE are those dlfin_binning reports');
SELECT ok((SELECT bool_and(abs((f -> 'woe' ->> 'iv')::float8 - (SELECT (j ->> 'iv')::float8 FROM w_bins WHERE col = f ->> 'name')) <= 1e-12)
           FROM w_m, jsonb_array_elements(dlfin_model_info(woe) -> 'features') f),
          'and so is each feature''s IV');
SELECT is((SELECT dlfin_model_info(woe) -> 'options' -> 'woe_binning' FROM w_m),
          '{"prebins": 20, "max_bins": 10, "min_share": 0.05, "monotonic": "auto"}'::jsonb,
          'the options show the binning used');

-- bytes: format 4, round trip, row order, parallel plan
SELECT is((SELECT substr(woe, 9, 2) FROM w_m), '\x0400'::bytea, 'a WoE model is written in format version 4');
CREATE TEMP TABLE w_net AS
SELECT dlfin_train('{"optimizer": "adam", "hidden": [6], "seed": 1, "epochs": 4, "woe": ["home", "income", "job"], "woe_binning": {"max_bins": 5}}',
                   status = 'bad', seniority, home, income, job, amount) AS m FROM w_loans;
SELECT is((SELECT dlfin_with_reference(m, seniority, home, income, job, amount) FROM w_net, w_loans GROUP BY m),
          (SELECT m FROM w_net), 'decoded and encoded again (with the same reference rows) it has the same bytes');
SELECT is((SELECT dlfin_train('{"optimizer": "adam", "hidden": [6], "seed": 1, "epochs": 4, "woe": ["home", "income", "job"], "woe_binning": {"max_bins": 5}}',
                              status = 'bad', seniority, home, income, job, amount)
           FROM (SELECT * FROM w_loans ORDER BY md5(income::text || price || home)) s),
          (SELECT m FROM w_net), 'rows in another order give the same bytes');
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT is((SELECT dlfin_train('{"optimizer": "adam", "hidden": [6], "seed": 1, "epochs": 4, "woe": ["home", "income", "job"], "woe_binning": {"max_bins": 5}}',
                              status = 'bad', seniority, home, income, job, amount) FROM w_loans),
          (SELECT m FROM w_net), 'a parallel plan gives the same bytes');
RESET max_parallel_workers_per_gather;

-- scoring, explaining, drift, the registry, the card
SELECT ok((SELECT bool_and(abs(s.t - ((e ->> 'score')::float8 - (e ->> 'baseline')::float8)) <= 1e-4)
           FROM (SELECT e, (SELECT sum(value::float8) FROM jsonb_each_text(e -> 'contributions')) AS t
                 FROM (SELECT dlfin_explain(m, seniority, home, income, job, amount) AS e
                       FROM w_net, w_loans LIMIT 300) x) s),
          'attributions to the WoE inputs add up to score - baseline');
SELECT ok((SELECT (e ->> 'score')::float8 = dlfin_predict(m, 3, 'no such home', NULL::int, NULL::text, 1000)
           FROM (SELECT m, dlfin_explain(m, 3, 'no such home', NULL::int, NULL::text, 1000) AS e FROM w_net) x),
          'an unseen category and NULLs score and explain');
SELECT is((SELECT dlfin_drift(m, seniority, home, income, job, amount) -> 'features' -> 'home' ->> 'psi'
           FROM w_net, w_loans GROUP BY m), '0', 'the training rows do not drift (WoE inputs binned as in training)');
SELECT ok(dlfin.train('w_card', 'SELECT status = ''bad'' AS bad, seniority, home, income FROM w_loans', 'bad',
                      '{"hidden": [], "woe": true, "seed": 2, "epochs": 10}') = 1, 'a registry model trains with "woe"');
SELECT ok((SELECT max(abs(dlfin_predict('w_card', seniority, home, income)
                          - dlfin_predict((SELECT model FROM dlfin.models WHERE name = 'w_card'), seniority, home, income)))
           FROM w_loans) = 0, 'and scores by name as by bytes');
SELECT ok(position('WoE encoding (stored in the model)' IN dlfin.model_card('w_card')) > 0,
          'the card''s characteristics show the stored WoE tables');
SELECT is((SELECT dlfin_model_info(dlfin_train('{"optimizer": "adam", "hidden": [4], "epochs": 3, "woe": ["job"], "monotone": {"job": 1}}',
                                                status = 'bad', job, income)) -> 'features' -> 0 ->> 'monotone' FROM w_loans),
          '1', 'a text feature encoded by WoE can be monotone (in its WoE)');
SELECT ok((SELECT bool_and((f ->> 'importance')::float8 IS NOT NULL)
           FROM w_net, jsonb_array_elements(dlfin_model_info(m) -> 'features') f),
          'every feature, WoE ones included, has a permutation importance');
SELECT throws_ok($$SELECT dlfin_onnx(m) FROM w_net$$, '22023',
                 'cannot export a model with WoE-encoded features to ONNX', 'ONNX export is refused');

-- errors
CREATE TEMP TABLE w_const AS SELECT *, 1 AS one FROM w_loans;
SELECT throws_ok($$SELECT dlfin_train('{"woe": true}', amount::float8, seniority, home) FROM w_loans$$, '22023',
                 'dlfin_train option "woe" needs a binary label', 'a regression label');
SELECT throws_ok($$SELECT dlfin_train('{"woe": true}', home, seniority, amount) FROM w_loans$$, '22023',
                 'dlfin_train option "woe" needs a binary label', 'a multiclass label');
SELECT throws_ok($$SELECT dlfin_train('{"woe": ["nope"]}', status = 'bad', seniority, home) FROM w_loans$$, '22023',
                 'dlfin_train option "woe" names unknown feature "nope"', 'an unknown feature in the list');
SELECT throws_ok($$SELECT dlfin_train('{"woe": ["seniority"], "woe_binning": {"monotonic": "ascending"}}',
                                      status = 'bad', seniority, home) FROM w_loans$$, '22023',
                 'dlfin_train option "woe" leaves feature "seniority" a single bin',
                 'constraints that cannot be met (a direction against the data leaves one bin)');
SELECT throws_ok($$SELECT dlfin_train('{"woe": true}', status = 'bad', one, home) FROM w_const$$, '22023',
                 'dlfin_train option "woe" cannot bin feature "one"', 'a constant feature');
SELECT throws_ok($$SELECT dlfin_train('{"woe_binning": {"max_bins": 4}}', status = 'bad', seniority, home) FROM w_loans$$,
                 '22023', 'dlfin_train option "woe_binning" needs option "woe"', '"woe_binning" alone');
SELECT throws_ok($$SELECT dlfin_train('{"woe": true, "woe_binning": {"max_bins": 1}}', status = 'bad', seniority, home) FROM w_loans$$,
                 '22023', NULL, 'a bad binning option');
SELECT throws_ok($$SELECT dlfin_train('{"woe": "yes"}', status = 'bad', seniority, home) FROM w_loans$$,
                 '22023', 'invalid value for dlfin_train option "woe"', 'a bad "woe" value');
SELECT throws_ok($$SELECT dlfin_train(jsonb_build_object('woe', true, 'init', m), status = 'bad', seniority, home, income, job, amount)
                   FROM w_loans, w_net GROUP BY m$$,
                 '22023', 'dlfin_train option "woe" cannot be combined with "init"', 'a warm start');

SELECT * FROM finish();
ROLLBACK;
