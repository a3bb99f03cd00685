-- Parallel training hands each partial state's rows to the leader in a
-- temporary file (train_state_file.c): the same model bytes as a serial
-- plan, with the leader scanning too, and no file left behind, also when
-- the combine fails.  The files are PostgreSQL temporary files: counted
-- in pg_stat_database and bounded by temp_file_limit (53400 past it).
-- test/sh/spill_tempfiles.sh checks log_temp_files and temp_tablespaces.
CREATE TABLE spill AS
SELECT i AS id,
       ((i * 7919) % 10007) / 100.0 AS x1,
       ((i * 104729) % 9973)::float8 / 9973 AS x2,
       (ARRAY['a', 'b', 'c', 'd', 'e'])[1 + (i * 31) % 5] AS cat,
       (i % 3) * 1.5 AS r,
       ((i * 7919) % 10007) / 100.0 + ((i * 104729) % 9973)::float8 / 99.73 > 100 AS y
FROM generate_series(1::bigint, 60000) AS i;
ANALYZE spill;
CREATE FUNCTION spill_files() RETURNS bigint LANGUAGE sql AS
$$SELECT count(*) FROM pg_ls_tmpdir() WHERE name LIKE 'pgsql_tmp%.dlfin.%'$$;

SET max_parallel_workers_per_gather = 0;
SELECT encode(sha256(dlfin_train('{"epochs": 1, "hidden": [8]}', y, x1, x2, cat)), 'hex') AS serial_hash,
       encode(sha256(dlfin_train('{"epochs": 1, "hidden": [8]}', r, x1, x2, cat)), 'hex') AS serial_reg
FROM spill \gset

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT encode(sha256(dlfin_train('{"epochs": 1, "hidden": [8]}', y, x1, x2, cat)), 'hex') = :'serial_hash' AS same_model,
       encode(sha256(dlfin_train('{"epochs": 1, "hidden": [8]}', r, x1, x2, cat)), 'hex') = :'serial_reg' AS same_regression
FROM spill;
SELECT spill_files() AS files_left;

-- grouped: PostgreSQL 15 sorts in the workers and aggregates above the
-- Gather Merge (no partial states, so no file); one model per group
SET enable_hashagg = off;
SELECT count(DISTINCT m) AS models
FROM (SELECT id % 2 AS g, dlfin_train('{"epochs": 1, "hidden": [4]}', y, x1, x2) AS m
      FROM spill GROUP BY id % 2) s;
SELECT spill_files() AS files_left;
RESET enable_hashagg;

-- the partial states fit the limit, the combined one does not: files the
-- failed combine never read are removed at the end of the transaction
SET dlfin.max_training_memory = 640;
\set VERBOSITY terse
SELECT length(dlfin_train('{"epochs": 1, "hidden": [8]}', y, x1, x2, cat)) FROM spill;
\set VERBOSITY default
SELECT spill_files() AS files_left;
RESET dlfin.max_training_memory;

-- within temp_file_limit: the same model, and the files are counted as
-- temporary files of the database (when the leader removes them)
SELECT temp_files AS temp_files_before FROM pg_stat_database
WHERE datname = current_database() \gset
SET temp_file_limit = '10MB';
SELECT encode(sha256(dlfin_train('{"epochs": 1, "hidden": [8]}', y, x1, x2, cat)), 'hex') = :'serial_hash' AS same_model_within_limit
FROM spill;
SELECT pg_stat_force_next_flush();
SELECT temp_files > :temp_files_before AS temp_files_counted FROM pg_stat_database
WHERE datname = current_database();

-- a limit smaller than a partial state's file (60000 rows of 14 bytes
-- over at most three participants): configuration_limit_exceeded, and
-- the partly written file is removed by its writer
SET temp_file_limit = '64kB';
\set VERBOSITY sqlstate
SELECT length(dlfin_train('{"epochs": 1, "hidden": [8]}', y, x1, x2, cat)) FROM spill;
\set VERBOSITY default
SELECT spill_files() AS files_left;
RESET temp_file_limit;

RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
DROP FUNCTION spill_files();
DROP TABLE spill;
