-- pgTAP tests of the evaluation metrics and dlfin_split: agreement with
-- scikit-learn 1.2 (reference values in test/ref/metrics_ref.sql, made by
-- test/ref/make_metrics_ref.py), identical results under parallel plans,
-- SQLSTATEs of user errors, and the catalog labels.
\set QUIET 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
\ir ../ref/metrics_ref.sql

-- Compares within 1e-9; two NULLs match.
CREATE FUNCTION pg_temp.near(got float8, want float8) RETURNS bool
LANGUAGE sql IMMUTABLE AS
$$ SELECT (got IS NULL AND want IS NULL) OR abs(got - want) <= 1e-9 $$;

-- A regular (not temporary) table, so that plans can be parallel.
CREATE TABLE mt_bin AS SELECT * FROM ref_bin;
CREATE TABLE mt_reg AS SELECT * FROM ref_reg;
CREATE TABLE mt_mc AS SELECT * FROM ref_mc;
-- 1M rows, the formula of big_rows() in make_metrics_ref.py
CREATE TABLE mt_big AS
SELECT (i * 7919 % 1000003)::float8 / 1000003.0 AS score,
       10 * (i * 104729 % 1009) * 1000003 < 1009 * (1000003 + 8 * (i * 7919 % 1000003)) AS label
FROM pg_catalog.generate_series(1::bigint, 1000000::bigint) AS i;
ANALYZE mt_bin; ANALYZE mt_reg; ANALYZE mt_mc; ANALYZE mt_big;

CREATE TEMP TABLE expected_functions (name text, strict bool);
INSERT INTO expected_functions VALUES
  ('dlfin_split', true),
  ('dlfin_bin_trans', false), ('dlfin_bin_trans_threshold', false),
  ('dlfin_bin_trans_points', false), ('dlfin_bin_combine', false),
  ('dlfin_bin_serial', true), ('dlfin_bin_deserial', true),
  ('dlfin_auc_final', false), ('dlfin_gini_final', false),
  ('dlfin_ks_final', false), ('dlfin_metrics_final', false),
  ('dlfin_roc_final', false), ('dlfin_deciles_final', false),
  ('dlfin_logloss_trans', false), ('dlfin_brier_trans', false),
  ('dlfin_sum_combine', false), ('dlfin_sum_serial', true),
  ('dlfin_sum_deserial', true), ('dlfin_sum_final', false),
  ('dlfin_reg_trans', false), ('dlfin_reg_combine', false),
  ('dlfin_reg_serial', true), ('dlfin_reg_deserial', true),
  ('dlfin_reg_final', false),
  ('dlfin_mc_trans', false), ('dlfin_mc_combine', false),
  ('dlfin_mc_serial', true), ('dlfin_mc_deserial', true),
  ('dlfin_mc_final', false);

SELECT plan(
    (SELECT count(*)::int FROM ref_bin_expected)          -- dlfin_metrics
  + (SELECT count(DISTINCT vec)::int * 5 FROM ref_bin)   -- single aggregates
  + (SELECT count(DISTINCT vec)::int FROM ref_roc)
  + 3 + 2                                                 -- big: auc/logloss/brier, parallel
  + (SELECT count(*)::int FROM ref_reg_expected)
  + (SELECT count(*)::int FROM ref_mc_expected)
  + (SELECT count(*)::int FROM ref_mc_matrix)
  + 3                                                     -- parallel identity, small
  + 5                                                     -- empty and NULL
  + 16                                                    -- errors
  + (SELECT count(*)::int FROM expected_functions) + 2   -- catalog
  + 7                                                     -- split
);

-- ---- agreement with scikit-learn ----

CREATE TEMP TABLE got_metrics AS
SELECT vec, dlfin_metrics(score, label) AS m FROM mt_bin GROUP BY vec
UNION ALL
SELECT 'random@0.3', dlfin_metrics(score, label, 0.3) FROM mt_bin WHERE vec = 'random'
UNION ALL
SELECT 'big', dlfin_metrics(score, label) FROM mt_big;

SELECT ok(pg_temp.near((g.m ->> e.metric)::float8, e.value),
          format('dlfin_metrics %s %s = %s', e.vec, e.metric, coalesce(e.value::text, 'NULL')))
FROM ref_bin_expected e JOIN got_metrics g USING (vec)
ORDER BY e.vec, e.metric;

SELECT ok(pg_temp.near(g.v, e.value), format('%s of %s = %s', g.agg, g.vec, coalesce(e.value::text, 'NULL')))
FROM (SELECT vec, x.agg, x.v
      FROM (SELECT vec, dlfin_auc(score, label) auc, dlfin_gini(score, label) gini,
                   dlfin_ks(score, label) ks, dlfin_logloss(score, label) logloss,
                   dlfin_brier(score, label) brier
            FROM mt_bin GROUP BY vec) a,
           LATERAL (VALUES ('auc', a.auc), ('gini', a.gini), ('ks', a.ks),
                           ('logloss', a.logloss), ('brier', a.brier)) AS x(agg, v)) g
JOIN ref_bin_expected e ON e.vec = g.vec AND e.metric = g.agg
ORDER BY g.vec, g.agg;

SELECT ok(r.n = (SELECT count(*) FROM ref_roc WHERE vec = r.vec)
          AND NOT EXISTS (
            SELECT 1 FROM ref_roc x
            WHERE x.vec = r.vec
              AND NOT (pg_temp.near((r.j -> 'thresholds' ->> (x.idx - 1))::float8, x.threshold)
                   AND pg_temp.near((r.j -> 'fpr' ->> (x.idx - 1))::float8, x.fpr)
                   AND pg_temp.near((r.j -> 'tpr' ->> (x.idx - 1))::float8, x.tpr))),
          format('dlfin_roc of %s matches roc_curve', r.vec))
FROM (SELECT vec, dlfin_roc(score, label, 100000) j,
             (dlfin_roc(score, label, 100000) ->> 'points')::int n
      FROM mt_bin WHERE vec IN (SELECT vec FROM ref_roc) GROUP BY vec) r
ORDER BY r.vec;

SELECT ok(pg_temp.near(a, (SELECT value FROM ref_bin_expected WHERE vec = 'big' AND metric = 'auc')),
          'dlfin_auc of 1M rows')
FROM (SELECT dlfin_auc(score, label) a FROM mt_big) s;
SELECT ok(pg_temp.near(a, (SELECT value FROM ref_bin_expected WHERE vec = 'big' AND metric = 'logloss')),
          'dlfin_logloss of 1M rows')
FROM (SELECT dlfin_logloss(score, label) a FROM mt_big) s;
SELECT ok(pg_temp.near(a, (SELECT value FROM ref_bin_expected WHERE vec = 'big' AND metric = 'brier')),
          'dlfin_brier of 1M rows')
FROM (SELECT dlfin_brier(score, label) a FROM mt_big) s;

SELECT ok(pg_temp.near((g.m ->> e.metric)::float8, e.value),
          format('dlfin_regression_metrics %s %s = %s', e.vec, e.metric, coalesce(e.value::text, 'NULL')))
FROM ref_reg_expected e
JOIN (SELECT vec, dlfin_regression_metrics(prediction, actual) m FROM mt_reg GROUP BY vec) g USING (vec)
ORDER BY e.vec, e.metric;

SELECT ok(pg_temp.near(CASE WHEN e.metric LIKE '%.%'
                            THEN (g.m -> 'per_class' -> split_part(e.metric, '.', 1)
                                  ->> split_part(e.metric, '.', 2))::float8
                            ELSE (g.m ->> e.metric)::float8 END, e.value),
          format('dlfin_multiclass_metrics %s %s = %s', e.vec, e.metric, e.value))
FROM ref_mc_expected e
JOIN (SELECT vec, dlfin_multiclass_metrics(predicted, actual) m FROM mt_mc GROUP BY vec) g USING (vec)
ORDER BY e.vec, e.metric;

SELECT ok(g.m -> 'classes' = x.classes AND g.m -> 'confusion_matrix' = x.matrix,
          format('confusion matrix of %s matches scikit-learn', x.vec))
FROM ref_mc_matrix x
JOIN (SELECT vec, dlfin_multiclass_metrics(predicted, actual) m FROM mt_mc GROUP BY vec) g USING (vec)
ORDER BY x.vec;

-- ---- identical results under parallel plans ----

SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_big AS
SELECT dlfin_metrics(score, label) m, dlfin_logloss(score, label) ll,
       dlfin_brier(score, label) br, dlfin_deciles(score, label) d, dlfin_roc(score, label) r
FROM mt_big;
CREATE TEMP TABLE serial_small AS
SELECT vec, dlfin_metrics(score, label) m, dlfin_logloss(score, label) ll,
       dlfin_deciles(score, label) d, dlfin_roc(score, label) r
FROM mt_bin GROUP BY vec;
CREATE TEMP TABLE serial_reg AS
SELECT vec, dlfin_regression_metrics(prediction, actual) m FROM mt_reg GROUP BY vec;
CREATE TEMP TABLE serial_mc AS
SELECT vec, dlfin_multiclass_metrics(predicted, actual) m FROM mt_mc GROUP BY vec;

SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_leader_participation = off;

-- Returns the EXPLAIN text of a query.
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; t text := '';
BEGIN
  FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP t := t || r || E'\n'; END LOOP;
  RETURN t;
END $$;

SELECT ok(pg_temp.plan_of('SELECT dlfin_metrics(score, label) FROM mt_big') LIKE '%Partial Aggregate%',
          'the 1M-row aggregate gets a partial (parallel) plan');
SELECT ok(p.m = s.m AND p.ll = s.ll AND p.br = s.br AND p.d = s.d AND p.r = s.r,
          'parallel plan gives identical results on 1M rows')
FROM serial_big s,
     (SELECT dlfin_metrics(score, label) m, dlfin_logloss(score, label) ll,
             dlfin_brier(score, label) br, dlfin_deciles(score, label) d, dlfin_roc(score, label) r
      FROM mt_big) p;

SELECT ok(pg_temp.plan_of('SELECT vec, dlfin_auc(score, label) FROM mt_bin GROUP BY vec') LIKE '%Partial%',
          'the small binary aggregates get a partial plan');
SELECT ok(bool_and(p.m = s.m AND p.ll IS NOT DISTINCT FROM s.ll
                   AND p.d IS NOT DISTINCT FROM s.d AND p.r IS NOT DISTINCT FROM s.r),
          'parallel plans give identical binary results, empty workers included')
FROM serial_small s
JOIN (SELECT vec, dlfin_metrics(score, label) m, dlfin_logloss(score, label) ll,
             dlfin_deciles(score, label) d, dlfin_roc(score, label) r
      FROM mt_bin GROUP BY vec) p USING (vec);
SELECT ok((SELECT bool_and(p.m = s.m) FROM serial_reg s
           JOIN (SELECT vec, dlfin_regression_metrics(prediction, actual) m FROM mt_reg GROUP BY vec) p USING (vec))
      AND (SELECT bool_and(p.m = s.m) FROM serial_mc s
           JOIN (SELECT vec, dlfin_multiclass_metrics(predicted, actual) m FROM mt_mc GROUP BY vec) p USING (vec)),
          'parallel plans give identical regression and multiclass results');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- ---- no rows, NULL pairs ----

SELECT ok(dlfin_auc(s, l) IS NULL AND dlfin_ks(s, l) IS NULL AND dlfin_logloss(s, l) IS NULL
          AND dlfin_roc(s, l) IS NULL AND dlfin_deciles(s, l) IS NULL,
          'no rows give NULL')
FROM (SELECT 0.5::float8 s, true l WHERE false) e;
SELECT is(dlfin_metrics(s, l) ->> 'n', '0', 'dlfin_metrics of no rows has n = 0')
FROM (SELECT 0.5::float8 s, true l WHERE false) e;
SELECT is(dlfin_metrics(s, l) -> 'auc', 'null'::jsonb, 'dlfin_metrics of no rows has auc null')
FROM (SELECT 0.5::float8 s, true l WHERE false) e;
SELECT is(dlfin_metrics(s, l) ->> 'n', '2', 'NULL pairs are skipped')
FROM (VALUES (0.2::float8, true), (NULL, false), (0.4, NULL), (0.9, false)) v(s, l);
SELECT ok(dlfin_regression_metrics(p, a) IS NULL AND dlfin_multiclass_metrics(p::text, a::text) IS NULL,
          'regression and multiclass of no rows give NULL')
FROM (SELECT 1.0::float8 p, 1.0::float8 a WHERE false) e;

-- ---- errors a user can trigger ----

SELECT throws_ok($$SELECT dlfin_auc(s, true) FROM (VALUES ('NaN'::float8)) v(s)$$,
                 '22023', 'score must not be NaN', 'NaN score');
SELECT throws_ok($$SELECT dlfin_brier(s, true) FROM (VALUES (1.5::float8)) v(s)$$,
                 '22023', NULL, 'Brier score of a non-probability');
SELECT throws_ok($$SELECT dlfin_metrics(s, true, NULL) FROM (VALUES (0.5::float8)) v(s)$$,
                 '22004', 'threshold must not be null', 'NULL threshold');
SELECT throws_ok($$SELECT dlfin_metrics(s, true, 'Infinity') FROM (VALUES (0.5::float8)) v(s)$$,
                 '22023', 'threshold must be a finite number', 'infinite threshold');
SELECT throws_ok($$SELECT dlfin_metrics(s, true, s) FROM (VALUES (0.5::float8), (0.6)) v(s)$$,
                 '22023', 'threshold must be the same for every row', 'threshold varying by row');
SELECT throws_ok($$SELECT dlfin_roc(s, true, 1) FROM (VALUES (0.5::float8)) v(s)$$,
                 '22023', 'max_points must be between 2 and 100000', 'too few ROC points');
SELECT throws_ok($$SELECT dlfin_roc(s, true, NULL) FROM (VALUES (0.5::float8)) v(s)$$,
                 '22004', 'max_points must not be null', 'NULL max_points');
SELECT throws_ok($$SELECT dlfin_regression_metrics(p, 1) FROM (VALUES ('Infinity'::float8)) v(p)$$,
                 '22023', 'prediction and actual value must be finite numbers', 'infinite prediction');
SELECT throws_ok($$SELECT dlfin_multiclass_metrics(i::text, 'x') FROM generate_series(1, 1100) i$$,
                 '54000', 'too many distinct classes', 'too many classes');
SELECT throws_ok($$SELECT dlfin_multiclass_metrics(repeat('x', 2000), 'x')$$,
                 '54000', 'class label is too long', 'class label too long');
SELECT throws_ok($$SELECT dlfin_split(1, 1.5)$$, '22023',
                 'test_fraction must be between 0 and 1', 'test_fraction above 1');
SELECT throws_ok($$SELECT dlfin_split(1, -0.1)$$, '22023',
                 'test_fraction must be between 0 and 1', 'negative test_fraction');
SELECT throws_ok($$SELECT dlfin_split(1, 'NaN')$$, '22023',
                 'test_fraction must be between 0 and 1', 'NaN test_fraction');
SET LOCAL dlfin.max_training_memory = 64;
SELECT throws_ok($$SELECT dlfin_auc(score, label) FROM mt_big$$, '53200',
                 'the exact AUC buffer needs more memory than dlfin.max_training_memory allows',
                 'AUC buffer bounded by dlfin.max_training_memory');
SELECT throws_ok($$SELECT dlfin_regression_metrics(score, score) FROM mt_big$$, '53200',
                 'the regression metrics buffer needs more memory than dlfin.max_training_memory allows',
                 'regression buffer bounded by dlfin.max_training_memory');
SELECT lives_ok($$SELECT dlfin_logloss(score, label) FROM mt_big$$,
                'log loss needs constant memory');
RESET dlfin.max_training_memory;

-- ---- catalog labels ----

SELECT ok(p.proparallel = 's' AND p.provolatile = 'i' AND p.proisstrict = e.strict,
          format('%s is IMMUTABLE PARALLEL SAFE%s', e.name, CASE WHEN e.strict THEN ' STRICT' ELSE '' END))
FROM expected_functions e
JOIN pg_proc p ON p.proname = e.name
ORDER BY e.name;
SELECT is((SELECT count(*)::int FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
           WHERE p.proname LIKE 'dlfin\_%' AND p.proname IN
             ('dlfin_auc', 'dlfin_gini', 'dlfin_ks', 'dlfin_logloss', 'dlfin_brier', 'dlfin_metrics',
              'dlfin_roc', 'dlfin_deciles', 'dlfin_regression_metrics', 'dlfin_multiclass_metrics')
             AND a.aggcombinefn <> 0 AND a.aggserialfn <> 0 AND a.aggdeserialfn <> 0
             AND p.proparallel = 's'),
          12, 'all 12 metric aggregates are parallel safe with combine, serial and deserial');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
           JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'dlfin'
           WHERE p.proname IN (SELECT name FROM expected_functions)),
          (SELECT count(*)::int FROM expected_functions),
          'every metrics function belongs to the extension');

-- ---- dlfin_split ----

SELECT ok(abs(avg((dlfin_split(i, 0.2) = 'test')::int) - 0.2) < 0.01,
          'realised test fraction within 1% on 100k integer keys')
FROM generate_series(1, 100000) i;
SELECT ok(abs(avg((dlfin_split('loan-' || i, 0.35, 7) = 'test')::int) - 0.35) < 0.01,
          'realised test fraction within 1% on 100k text keys')
FROM generate_series(1, 100000) i;
SELECT ok(bool_and(dlfin_split(i::int2, 0.5) = dlfin_split(i::int4, 0.5)
                   AND dlfin_split(i::int4, 0.5) = dlfin_split(i::int8, 0.5)),
          'int2, int4 and int8 keys of equal value split alike')
FROM generate_series(1, 1000) i;
SELECT ok(count(*) FILTER (WHERE dlfin_split(i, 0.5, 0) <> dlfin_split(i, 0.5, 1)) > 300,
          'the seed changes the assignment')
FROM generate_series(1, 1000) i;
SELECT ok(bool_and(dlfin_split(i, 0) = 'train' AND dlfin_split(i, 1) = 'test'),
          'fractions 0 and 1 give all train and all test')
FROM generate_series(1, 1000) i;
SELECT ok(dlfin_split(NULL::int, 0.5) IS NULL, 'a NULL key gives NULL');
SELECT ok(bool_and(dlfin_split(i, 0.2) = dlfin_split(i, 0.2)) AND
          count(*) FILTER (WHERE dlfin_split(i::text::varchar, 0.3) = dlfin_split(i::text, 0.3)) = 1000,
          'the same value always gets the same part')
FROM generate_series(1, 1000) i;

SELECT * FROM finish();
ROLLBACK;
