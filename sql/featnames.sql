-- Features by name: dlfin_train names its features after its argument
-- expressions (columns by their names, other expressions by their deparsed
-- text, f<i> when neither works, the "features" option first); the names
-- are the same in parallel plans; the row form of every scoring,
-- explaining and drift function picks the model's features from a whole
-- row by column name and agrees with the positional form.  The registry's
-- by-name forms, errors and their SQLSTATEs are in test/pgtap/featnames.sql
-- (this file leaves the registry alone: registry.sql counts its rows).
SET extra_float_digits = 0;

CREATE TABLE fn_loans AS
SELECT i AS id,
       (20000 + (i * 7919) % 80000)::double precision AS income,
       (20 + (i * 31) % 50)::integer AS age,
       (i % 3 = 0) AS owner,
       (ARRAY['north', 'south', 'east'])[1 + (i * 7) % 3] AS region
FROM generate_series(1, 3000) AS i;
ALTER TABLE fn_loans ADD COLUMN approved boolean;
UPDATE fn_loans SET approved =
    income / 10000.0 - age / 10.0 + CASE region WHEN 'north' THEN 1 ELSE 0 END
    + ((id * 2654435761) % 1000) / 1000.0 * 3 > 5;

-- the names of a model's features
CREATE FUNCTION fn_names(m bytea) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
SELECT jsonb_path_query_array(dlfin_model_info(m), '$.features[*].name')
$$;

-- 1. names from columns, from expressions, from aliases, and the option
CREATE TABLE fn_model AS
SELECT dlfin_train('{"optimizer": "adam", "epochs": 3, "seed": 1}', approved, income, age, owner, region) AS m
FROM fn_loans;
SELECT fn_names(m) FROM fn_model;
-- casts do not rename; other expressions are deparsed; repeats become f<i>
SELECT fn_names(dlfin_train('{"optimizer": "adam", "epochs": 1}', approved, age::float8, income / 1000,
                            region || '!', "income", income, 42))
FROM fn_loans;
-- column aliases of a table; subqueries are looked through, whatever the
-- plan (flattened, or a subquery scan kept for its filter)
SELECT fn_names(dlfin_train('{"optimizer": "adam", "epochs": 1}', ok, pay, years))
FROM fn_loans AS l(id, pay, years, home, area, ok);
SELECT fn_names(dlfin_train('{"optimizer": "adam", "epochs": 1}', approved, pay, area))
FROM (SELECT approved, income AS pay, region AS area FROM fn_loans) AS s;
EXPLAIN (COSTS OFF)
SELECT fn_names(dlfin_train('{"optimizer": "adam", "epochs": 1}', approved, area, pay))
FROM (SELECT approved, income AS pay, region AS area FROM fn_loans OFFSET 0) AS s WHERE pay > 0;
SELECT fn_names(dlfin_train('{"optimizer": "adam", "epochs": 1}', approved, area, pay))
FROM (SELECT approved, income AS pay, region AS area FROM fn_loans OFFSET 0) AS s WHERE pay > 0;
-- the "features" option wins
SELECT fn_names(dlfin_train('{"optimizer": "adam", "epochs": 1, "features": ["a", "b"]}', approved, income, age))
FROM fn_loans;
-- every group gets the same names
SELECT region, fn_names(dlfin_train('{"optimizer": "adam", "epochs": 1}', approved, income, age))
FROM fn_loans GROUP BY region ORDER BY region;
-- monotone and reasons by name; f1, f2, ... still name them by position
SELECT jsonb_path_query_array(dlfin_model_info(
           dlfin_train('{"optimizer": "adam", "epochs": 1, "monotone": {"income": 1, "f2": -1}, "reasons": {"age": "Too young"}}',
                       approved, income, age)),
       '$.features[*] ? (@.monotone != 0).name') AS monotone
FROM fn_loans;

-- 2. the names show in the explanations
SELECT jsonb_object_keys(dlfin_explain(m, income, age, owner, region) -> 'contributions') AS contribution
FROM fn_model, fn_loans WHERE id = 7 ORDER BY 1;
SELECT cardinality(dlfin_reasons(m, 4, income, age, owner, region)) AS reasons,
       dlfin_reasons(m, 4, income, age, owner, region) <@ ARRAY['income', 'age', 'owner', 'region'] AS named
FROM fn_model, fn_loans WHERE id = 7;
SELECT feature FROM dlfin_importance((SELECT m FROM fn_model)) ORDER BY feature;

-- 3. a parallel plan: the same model bytes and names as a serial one
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT dlfin_train('{"optimizer": "adam", "epochs": 2, "seed": 5}', approved, income, age / 10, region) FROM fn_loans;
SELECT encode(sha256(m), 'hex') AS parallel_hash, fn_names(m) AS parallel_names
FROM (SELECT dlfin_train('{"optimizer": "adam", "epochs": 2, "seed": 5}', approved, income, age / 10, region) AS m
      FROM fn_loans) AS q \gset
SET parallel_leader_participation = off;
SELECT encode(sha256(m), 'hex') = :'parallel_hash' AS same_bytes_workers_only,
       fn_names(m) = :'parallel_names' AS same_names
FROM (SELECT dlfin_train('{"optimizer": "adam", "epochs": 2, "seed": 5}', approved, income, age / 10, region) AS m
      FROM fn_loans) AS q;
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT encode(sha256(m), 'hex') = :'parallel_hash' AS same_bytes_serial,
       fn_names(m) = :'parallel_names' AS same_names, fn_names(m)
FROM (SELECT dlfin_train('{"optimizer": "adam", "epochs": 2, "seed": 5}', approved, income, age / 10, region) AS m
      FROM fn_loans) AS q;

-- 4. the row form: the same results as the positional form
CREATE TABLE fn_applicants AS
SELECT region, id, owner, 'x' AS note, age, income FROM fn_loans WHERE id % 10 = 0;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE dlfin_predict(m, a) = dlfin_predict(m, income, age, owner, region)) AS predict,
       count(*) FILTER (WHERE dlfin_predict_class(m, a) = dlfin_predict_class(m, income, age, owner, region)) AS class,
       count(*) FILTER (WHERE dlfin_predict_proba(m, a) = dlfin_predict_proba(m, income, age, owner, region)) AS proba,
       count(*) FILTER (WHERE dlfin_explain(m, a) = dlfin_explain(m, income, age, owner, region)) AS explain,
       count(*) FILTER (WHERE dlfin_reasons(m, 2, a) = dlfin_reasons(m, 2, income, age, owner, region)) AS reasons
FROM fn_model, fn_applicants AS a;
-- a.* and a subquery's rows are rows too; the positional order would be wrong
SELECT dlfin_predict(m, a.*) = dlfin_predict(m, income, age, owner, region) AS star,
       dlfin_predict(m, a) <> dlfin_predict(m, age, income, owner, region) AS order_matters
FROM fn_model, fn_applicants AS a WHERE id = 10;
SELECT round(dlfin_predict(m, s)::numeric, 12) = round(dlfin_predict(m, 50000.0, 30, true, 'north')::numeric, 12) AS subquery_row
FROM fn_model, (SELECT 'north' AS region, true AS owner, 30 AS age, 50000.0 AS income) AS s;
-- drift: the same PSI from rows as from columns
SELECT dlfin_drift(m, a) = dlfin_drift(m, income, age, owner, region) AS drift
FROM fn_model, fn_applicants AS a GROUP BY m;
-- a NULL row or model gives NULL; drift skips the row
SELECT dlfin_predict(m, NULL::fn_applicants) IS NULL AS null_row,
       dlfin_predict(NULL::bytea, a) IS NULL AS null_model,
       dlfin_explain(m, NULL::fn_applicants) IS NULL AS null_explain,
       dlfin_reasons(m, NULL, a) IS NULL AS null_k
FROM fn_model, fn_applicants AS a WHERE id = 10;
SELECT (dlfin_drift(m, CASE WHEN id % 20 = 0 THEN NULL ELSE a END) -> 'rows')::int AS drift_rows
FROM fn_model, fn_applicants AS a GROUP BY m;
-- the row form in a parallel plan
SET max_parallel_workers_per_gather = 2;
-- (as in parallel.sql: the InitPlan's parameter is printed differently
-- since PostgreSQL 16)
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        CONTINUE WHEN line ~ '^\s*Params Evaluated:';
        RETURN NEXT regexp_replace(line, '^(\s*InitPlan \d+) \(returns .*\)$', '\1');
    END LOOP;
END
$f$;
SELECT pg_temp.plan_of('SELECT sum(dlfin_predict((SELECT m FROM fn_model), a)) FROM fn_loans AS a');
SELECT round(sum(dlfin_predict((SELECT m FROM fn_model), a))::numeric, 6) =
       round(sum(dlfin_predict((SELECT m FROM fn_model), income, age, owner, region))::numeric, 6) AS same_parallel
FROM fn_loans AS a;
SET max_parallel_workers_per_gather = 0;
-- a model that changes from row to row (with other feature names), and
-- dlfin_drift with one model per group
CREATE TABLE fn_model2 AS
SELECT dlfin_train('{"optimizer": "adam", "epochs": 1, "seed": 9}', approved, region, income, owner, years) AS m
FROM fn_loans AS l(id, income, years);
SELECT fn_names(m) FROM fn_model2;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE dlfin_predict(CASE WHEN id % 3 = 0 THEN m1.m ELSE m2.m END, b) =
                              CASE WHEN id % 3 = 0 THEN dlfin_predict(m1.m, income, age, owner, region)
                                   ELSE dlfin_predict(m2.m, region, income, owner, age) END) AS same
FROM fn_model m1, fn_model2 m2, (SELECT *, age AS years FROM fn_applicants) AS b;
CREATE VIEW fn_mixed AS
SELECT b.*, CASE WHEN id % 3 = 0 THEN m1.m ELSE m2.m END AS m, id % 3 = 0 AS first
FROM fn_model m1, fn_model2 m2, (SELECT *, age AS years FROM fn_applicants) AS b;
SELECT first, dlfin_drift(m, q) AS d INTO TEMP fn_drift FROM fn_mixed AS q GROUP BY first;
SELECT (SELECT d FROM fn_drift WHERE first) =
       (SELECT dlfin_drift(m, income, age, owner, region) FROM fn_mixed WHERE first) AS drift_model1,
       (SELECT d FROM fn_drift WHERE NOT first) =
       (SELECT dlfin_drift(m, region, income, owner, years) FROM fn_mixed WHERE NOT first) AS drift_model2;

-- 5. one feature: scalars still score positionally, a row by name
CREATE TABLE fn_one AS SELECT dlfin_train('{"optimizer": "adam", "epochs": 1}', approved, region) AS m FROM fn_loans;
SELECT fn_names(m) FROM fn_one;
SELECT dlfin_predict(m, 'north') = dlfin_predict(m, a) AS literal,
       dlfin_predict(m, region) = dlfin_predict(m, a) AS column_value,
       dlfin_predict(m, NULL) IS NOT NULL AS null_imputed
FROM fn_one, fn_applicants AS a WHERE a.region = 'north' LIMIT 1;
-- an anonymous record's columns are f1, f2, ...: they match f1..fn names
SELECT dlfin_predict(dlfin_train('{"optimizer": "adam", "epochs": 1, "features": ["f1", "f2"]}', approved, income, age),
                     ROW(50000.0, 30)) IS NOT NULL AS anonymous_record
FROM fn_loans;
