-- Issue 21, the second speed round: the shortcuts give the bits of the
-- general paths.  numeric arguments are converted without the text round
-- trip where that is provably the same double (src/pg/numconv.h); each
-- argument type is read by a code decided once per query.
BEGIN;
SELECT plan(13);

-- ---- numeric to double: exact, probed through a regression label ----
-- A regression model stores its target's mean and scale as doubles, so two
-- trainings on labels v (numeric) and v::float8 (numeric_float8, strtod)
-- give the same bytes only when the two doubles are the same.
CREATE TEMP TABLE s_vals AS
SELECT DISTINCT v FROM (
  SELECT round(((random() * 2 - 1) * 10 ^ k)::numeric, s) AS v
  FROM generate_series(-10, 21) AS k, generate_series(0, 14) AS s,
       generate_series(1, 2)
  UNION ALL
  SELECT unnest(ARRAY[0, 1, -1, 0.1, -0.1, 0.3, 1e22, 1e21, 1e23, -1e22,
    1e-22, 1e-23, 123.4560000, 0.000000000000000000001,
    9007199254740992, 9007199254740993, 9007199254740991, 9999999999999999,
    12345678901234567, 1.234567890123456789, 3.14159265358979323846,
    99999999.99999999, 0.00010000, 10000, 100000000, 1e16, 1e17, 1e-4,
    5e-324, 2.2250738585072014e-308, 4503599627370497.5, 0.1000000000000000055511151231257827,
    1e15 + 0.3, 72057594037927936, 1e-16, 1e-15])::numeric
) x;
SELECT cmp_ok((SELECT count(*) FROM s_vals), '>', 500::bigint, 'hundreds of numerics of every scale');
SELECT is((SELECT count(*) FROM (
  SELECT v,
         dlfin_train('{"epochs": 1, "hidden": [2], "seed": 1, "task": "regression"}', CASE WHEN g % 2 = 0 THEN v ELSE 0 END, (g % 2)::float8)
         = dlfin_train('{"epochs": 1, "hidden": [2], "seed": 1, "task": "regression"}', CASE WHEN g % 2 = 0 THEN v ELSE 0 END::float8, (g % 2)::float8) AS same
  FROM s_vals, generate_series(1, 4) AS g
  WHERE v <> 0
  GROUP BY v) t WHERE NOT same), 0::bigint,
  'a numeric label gives the double numeric_float8 gives (model bytes)');
-- the probe is sensitive: one unit in the last place changes the model
SELECT isnt((SELECT dlfin_train('{"epochs": 1, "hidden": [2], "seed": 1, "task": "regression"}', CASE WHEN g % 2 = 0 THEN 0.1 ELSE 0 END, (g % 2)::float8)
             FROM generate_series(1, 4) AS g),
            (SELECT dlfin_train('{"epochs": 1, "hidden": [2], "seed": 1, "task": "regression"}', CASE WHEN g % 2 = 0 THEN 0.1::float8 * (1 + 2.220446049250313e-16) ELSE 0 END, (g % 2)::float8)
             FROM generate_series(1, 4) AS g),
            'the label probe sees one ulp');

-- ---- scoring numeric and other argument types: the float8 bits ----
CREATE TEMP TABLE s_d AS
SELECT g, (g % 97) / 7.0 AS a, (g % 13)::float8 AS b, (g % 11 = 0) AS y
FROM generate_series(1, 2000) AS g;
CREATE TEMP TABLE s_m AS
SELECT dlfin_train('{"optimizer": "adam", "epochs": 3, "hidden": [8], "seed": 2}', y, a, b) AS model FROM s_d;
SELECT is((SELECT count(*) FROM s_vals, s_m
           WHERE abs(v) < 1e30
             AND dlfin_predict(model, v, v) IS DISTINCT FROM dlfin_predict(model, v::float8, v::float8)),
          0::bigint, 'numeric features score as their float8 values');
SELECT is((SELECT count(*) FROM s_d, s_m
           WHERE dlfin_predict(model, a::numeric(20, 6), b::int) IS DISTINCT FROM dlfin_predict(model, a::numeric(20, 6)::float8, b)
              OR dlfin_predict(model, a::float4, b::int2) IS DISTINCT FROM dlfin_predict(model, a::float4::float8, b)
              OR dlfin_predict(model, a, b::int8) IS DISTINCT FROM dlfin_predict(model, a::float8, b)
              OR dlfin_predict(model, (g % 2 = 0), (g % 3 = 0)) IS DISTINCT FROM dlfin_predict(model, (g % 2)::float8 * -1 + 1, CASE WHEN g % 3 = 0 THEN 1.0 ELSE 0 END::float8)),
          0::bigint, 'integer, real, bool and numeric arguments score as float8');
SELECT is((SELECT count(*) FROM s_d, s_m
           WHERE dlfin_predict(model, CASE WHEN g % 5 = 0 THEN NULL ELSE a END, NULL::int)
                 IS DISTINCT FROM dlfin_predict(model, CASE WHEN g % 5 = 0 THEN NULL ELSE a END::float8, NULL::float8)),
          0::bigint, 'NULL numeric and integer arguments are the mean');
SELECT throws_ok($$SELECT dlfin_predict(model, 'NaN'::numeric, 1) FROM s_m$$, '22000', NULL,
                 'a NaN numeric feature is an error');
SELECT throws_ok($$SELECT dlfin_predict(model, 1e39::numeric, 1) FROM s_m$$, '22003', NULL,
                 'a numeric beyond float4 is out of range');

-- ---- categorical models: one entry per feature, the bits of the inputs ----
CREATE TEMP TABLE s_t AS
SELECT g, 'grade_' || (g % 7) AS t1, 'r' || (g % 23) AS t2, (g % 31) / 3.0 AS a,
       (g % 5)::int AS b, (g % 3 = 0) AS y
FROM generate_series(1, 3000) AS g;
CREATE TEMP TABLE s_tm AS
SELECT dlfin_train('{"epochs": 3, "hidden": [8], "seed": 2}', y, t1, t2, a, b) AS model FROM s_t;
-- dlfin_explain scores through the scorer's input vector (dlfin_load_row)
SELECT is((SELECT count(*) FROM s_t, s_tm,
             LATERAL (SELECT CASE WHEN g % 11 = 0 THEN NULL ELSE t1 END AS t1n,
                             CASE WHEN g % 13 = 0 THEN 'unseen' WHEN g % 17 = 0 THEN '' ELSE t2 END AS t2n,
                             CASE WHEN g % 19 = 0 THEN NULL ELSE a END AS an) x
           WHERE g <= 400
             AND dlfin_predict(model, t1n, t2n, an, b)
                 IS DISTINCT FROM (dlfin_explain(model, t1n, t2n, an, b)->>'score')::float8),
          0::bigint, 'categorical rows score as through the input vector');
SELECT is((SELECT count(*) FROM s_t, s_tm
           WHERE dlfin_predict(model, t1::varchar, t2::char(10), a::numeric, b::int8)
                 IS DISTINCT FROM dlfin_predict(model, t1, t2, a, b)),
          0::bigint, 'varchar, bpchar, numeric and bigint arguments score as text and float8');
SELECT is((SELECT dlfin_predict(model, 'grade_3', 'r5', 1.5, 2) FROM s_tm),
          (SELECT dlfin_predict(model, 'grade_3'::text, 'r5'::text, 1.5::float8, 2::float8) FROM s_tm),
          'untyped literals score as text');

-- ---- parallel training: rows read from the serial form, freed as copied ----
CREATE TABLE s_par AS
SELECT g, (g % 97) / 7.0 AS a, (g % 13)::int AS b, 'k' || (g % 9) AS t,
       (g % 11 = 0) AS y, g % 3 AS grp
FROM generate_series(1, 60000) AS g;
ANALYZE s_par;
CREATE TEMP TABLE s_models AS
SELECT 'serial' AS plan, NULL::int AS grp, dlfin_train('{"epochs": 1, "seed": 4}', y, a, b, t) AS model FROM s_par;
INSERT INTO s_models
SELECT 'serial', grp, dlfin_train('{"epochs": 1, "seed": 4}', t, a, b) FROM s_par GROUP BY grp;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
INSERT INTO s_models
SELECT 'parallel', NULL, m FROM (SELECT dlfin_train('{"epochs": 1, "seed": 4}', y, a, b, t) AS m FROM s_par) s;
INSERT INTO s_models
SELECT 'parallel', grp, m FROM (SELECT grp, dlfin_train('{"epochs": 1, "seed": 4}', t, a, b) AS m FROM s_par GROUP BY grp) s;
SELECT is((SELECT count(DISTINCT model) FROM s_models WHERE grp IS NULL), 1::bigint,
          'a parallel training gives the serial model');
SELECT is((SELECT count(*) FROM s_models p JOIN s_models s USING (grp)
           WHERE p.plan = 'parallel' AND s.plan = 'serial' AND p.model = s.model), 3::bigint,
          'a grouped parallel training gives the serial models');
RESET max_parallel_workers_per_gather;

SELECT * FROM finish();
ROLLBACK;
