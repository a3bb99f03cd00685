-- test/citus/setup.sql: the data of the Citus suite, loaded once on the
-- coordinator.  loans is distributed by region (4 shards over 2 workers),
-- loans_local holds the same rows on the coordinator alone, regions is a
-- reference table.  Rows are a deterministic function of id.
SET client_min_messages = warning;
CREATE EXTENSION dlfin;         -- Citus propagates it to the workers
CREATE EXTENSION pgtap;

CREATE TABLE loans_local AS
SELECT i AS id,
       (ARRAY['EU', 'US', 'APAC', 'LATAM'])[1 + i % 4] AS region,
       (20000 + abs(hashint4(i)) % 80000)::float8 AS income,
       20 + abs(hashint4(i + 1000000)) % 50 AS age,
       (ARRAY['hs', 'ba', 'ma', 'phd'])[1 + abs(hashint4(i * 7)) % 4] AS edu
FROM generate_series(1, 4000) i;
ALTER TABLE loans_local ADD COLUMN approved boolean;
UPDATE loans_local SET approved =
    income / 1000 + age * 0.8 + CASE edu WHEN 'phd' THEN 15 WHEN 'ma' THEN 8 ELSE 0 END
    + (abs(hashint4(id * 13)) % 30) > 95;

CREATE TABLE loans (LIKE loans_local);
SELECT create_distributed_table('loans', 'region', shard_count := 4);
INSERT INTO loans SELECT * FROM loans_local;

CREATE TABLE regions (region text PRIMARY KEY, risk float8 NOT NULL);
INSERT INTO regions VALUES ('EU', 0.1), ('US', 0.3), ('APAC', 0.2), ('LATAM', 0.5);
CREATE TABLE regions_local AS SELECT * FROM regions;
SELECT create_reference_table('regions');

-- a stored model, read by scalar subqueries
CREATE TABLE m AS
SELECT dlfin_train('{"hidden": [8], "epochs": 15, "seed": 3}'::jsonb, approved, income, age, edu) AS model
FROM loans_local;

-- Bytes the coordinator received from the workers for a statement (EXPLAIN
-- ANALYZE), so tests can tell a pushed-down statement from a gathering one.
CREATE FUNCTION received_bytes(stmt text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    l text;
    total bigint := 0;
    m text[];
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || stmt LOOP
        m := regexp_match(l, 'Tuple data received from nodes: ([0-9]+) (bytes|kB|MB|GB)');
        IF m IS NOT NULL THEN
            total := total + m[1]::bigint * CASE m[2] WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576
                                                      WHEN 'GB' THEN 1073741824 ELSE 1 END;
        END IF;
    END LOOP;
    RETURN total;
END $$;

-- The plan of a statement as one text (EXPLAIN VERBOSE, no costs).
CREATE FUNCTION plan_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l text;
    r text := '';
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || stmt LOOP
        r := r || l || E'\n';
    END LOOP;
    RETURN r;
END $$;
