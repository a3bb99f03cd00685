-- A forced parallel plan (Partial Aggregate in workers, combine in the
-- leader) gives the same model bytes as a serial plan.
CREATE TABLE pbig AS
SELECT i AS id,
       ((i * 7919) % 10007) / 100.0 AS x1,
       ((i * 104729) % 9973)::float8 / 9973 AS x2,
       (ARRAY['a', 'b', 'c', 'd', 'e'])[1 + (i * 31) % 5] AS cat,
       ((i * 7919) % 10007) / 100.0 + ((i * 104729) % 9973)::float8 / 99.73 > 100 AS y
FROM generate_series(1::bigint, 60000) AS i;
ANALYZE pbig;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT dlfin_train('{"epochs": 2, "hidden": [8]}', y, x1, x2, cat) FROM pbig;
SELECT encode(sha256(dlfin_train('{"epochs": 2, "hidden": [8]}', y, x1, x2, cat)), 'hex') AS parallel_hash
FROM pbig \gset

RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT dlfin_train('{"epochs": 2, "hidden": [8]}', y, x1, x2, cat) FROM pbig;
SELECT encode(sha256(dlfin_train('{"epochs": 2, "hidden": [8]}', y, x1, x2, cat)), 'hex') = :'parallel_hash' AS same_model
FROM pbig;

-- scoring runs in parallel workers too
SET max_parallel_workers_per_gather = 2;
CREATE TABLE pmodel AS SELECT dlfin_train('{"epochs": 2, "hidden": [8]}', y, x1, x2, cat) AS m FROM pbig;
-- the plan without how it names the InitPlan's parameter, which changed in
-- PostgreSQL 16 ("InitPlan 1 (returns $1)" and "Params Evaluated: $1" before)
CREATE FUNCTION plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        CONTINUE WHEN line ~ '^\s*Params Evaluated:';
        RETURN NEXT regexp_replace(line, '^(\s*InitPlan \d+) \(returns .*\)$', '\1');
    END LOOP;
END
$f$;
SELECT plan_of('SELECT sum(dlfin_predict((SELECT m FROM pmodel), x1, x2, cat)) FROM pbig');
SELECT round(sum(dlfin_predict((SELECT m FROM pmodel), x1, x2, cat))::numeric, 0) =
       round((SELECT sum(dlfin_predict(m, x1, x2, cat)) FROM pbig, pmodel)::numeric, 0) AS same_scores
FROM pbig;
