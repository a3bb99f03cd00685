-- What the planner is told a row of scoring costs (the functions' COST, see
-- src/sql/20_predict.sql), and the plans that depend on it: an explanation
-- or a score in the select list of a sorted query with LIMIT is computed
-- for the rows returned, not for every row sorted; a cheap condition is
-- tested before a score; a scoring filter over a table may run in parallel
-- workers.  With the default COST of 1 each of tests 2-5 fails.
BEGIN;
SELECT plan(5);

-- 1. every function that scores or explains a row declares its cost: the C
-- functions costing more than 1, and every C function taking a model (bytes
-- or name) and VARIADIC features, so that a new one left at 1 is listed
SELECT results_eq(
  $$SELECT p.oid::regprocedure::text, p.procost::integer
    FROM pg_proc p JOIN pg_depend d
      ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'dlfin')
      AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
      AND (p.procost > 1 OR (p.provariadic = '"any"'::regtype
                             AND p.proargtypes[0] IN ('bytea'::regtype, 'text'::regtype)))
    ORDER BY 1$$,
  $$VALUES ('dlfin.dlfin_drift_sfunc(internal,bytea,"any")', 20),
           ('dlfin.dlfin_reference_sfunc(internal,bytea,"any")', 20),
           ('dlfin.predict(bytea,"any")', 20),
           ('dlfin.predict_class(bytea,"any")', 20),
           ('dlfin_explain(bytea,"any")', 10000),
           ('dlfin_explain(text,"any")', 10000),
           ('dlfin_explain_points(bytea,"any")', 10000),
           ('dlfin_explain_points(text,"any")', 10000),
           ('dlfin_model_info(bytea)', 10000),
           ('dlfin_model_info(text)', 10000),
           ('dlfin_points(bytea,"any")', 20),
           ('dlfin_points(text,"any")', 20),
           ('dlfin_predict(bytea,"any")', 20),
           ('dlfin_predict(text,"any")', 20),
           ('dlfin_predict_class(bytea,"any")', 20),
           ('dlfin_predict_class(text,"any")', 20),
           ('dlfin_predict_proba(bytea,"any")', 20),
           ('dlfin_predict_proba(text,"any")', 20),
           ('dlfin_reasons(bytea,integer,"any")', 10000),
           ('dlfin_reasons(text,integer,"any")', 10000)$$,
  'the scoring functions cost 20, the explaining ones and dlfin_model_info 10000');

-- Plain tables (a temporary one is never scanned in parallel); only planned.
CREATE TABLE pl_rows AS
SELECT i AS id, ((i * 37) % 100)::double precision AS a, ((i * 11) % 7)::integer AS b,
       (i % 3 = 0) AS y
FROM generate_series(1, 2000) AS i;
ANALYZE pl_rows;
CREATE TABLE pl_model AS
SELECT dlfin_train('{"hidden": [8], "epochs": 1, "seed": 1}', y, a, b) AS model FROM pl_rows;

-- The plan of a query as JSON.
CREATE FUNCTION pg_temp.pl_plan(query text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    p json;
BEGIN
    EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) ' || query INTO p;
    RETURN p::jsonb;
END $$;

-- Whether a query's plan computes fn above its Sort node (in the Limit or a
-- Result over the Sort) rather than in the rows the Sort reads.
CREATE FUNCTION pg_temp.pl_after_sort(query text, fn text) RETURNS boolean
LANGUAGE sql AS $$
SELECT jsonb_path_exists(plan, format('$.** ? (@ like_regex %s)', to_jsonb(fn))::jsonpath)
   AND NOT jsonb_path_exists(plan, format(
         'strict $.**."Plans"[*] ? (@."Node Type" == "Sort").** ? (@ like_regex %s)',
         to_jsonb(fn))::jsonpath)
FROM pg_temp.pl_plan(query) AS plan
$$;

SET LOCAL max_parallel_workers_per_gather = 0;

-- 2-3. sorted with LIMIT: the 3 rows returned are explained and scored
SELECT ok(pg_temp.pl_after_sort(
  'SELECT id, dlfin_explain((SELECT model FROM pl_model), a, b) FROM pl_rows ORDER BY a LIMIT 3',
  'dlfin_explain'),
  'ORDER BY ... LIMIT explains the rows returned only');
SELECT ok(pg_temp.pl_after_sort(
  'SELECT id, dlfin_predict(m.model, a, b) FROM pl_rows, pl_model m ORDER BY b, id LIMIT 3',
  'dlfin_predict'),
  'ORDER BY ... LIMIT scores the rows returned only (join form)');

-- 4. a cheaper condition is tested first, whatever the order written
SELECT ok(strpos(f, 'dlfin_predict') > strpos(f, ' AND '),
          'a cheap condition is tested before the score: ' || f)
FROM (SELECT pg_temp.pl_plan(
        'SELECT id FROM pl_rows WHERE dlfin_predict((SELECT model FROM pl_model), a, b) > 0.5 AND a * 2 + b > 50'
      ) #>> '{0,Plan,Filter}' AS f) s;

-- 5. with parallel workers allowed and free to start, a scoring filter
-- (or projection) over the table is spread over them
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SELECT ok(jsonb_path_exists(pg_temp.pl_plan(
  'SELECT id FROM pl_rows WHERE dlfin_predict((SELECT model FROM pl_model), a, b) > 0.9'),
  '$.** ? (@."Node Type" == "Gather")'),
  'a scoring filter runs in parallel workers');

SELECT * FROM finish();
ROLLBACK;
