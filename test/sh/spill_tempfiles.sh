#!/usr/bin/env bash
# The spill files of a parallel training (src/pg/train_state_file.c) are
# PostgreSQL temporary files: log_temp_files logs each one as the leader
# removes it, and they go to the tablespace of temp_tablespaces (the
# writer's choice, named in the serial form), where the leader finds them
# (the same model as a serial plan) and sweeps what a failed query left.
# sql/train_spill.sql checks temp_file_limit (53400) and pg_stat_database.
set -euo pipefail
db=dlfin_spill_ts
ts=dlfin_spill_ts
cleanup() {
  command psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "DROP TABLESPACE IF EXISTS $ts" || true
}
trap cleanup EXIT
cleanup
# an in-place tablespace (a directory under pg_tblspc): no path to make
command psql -X -q -d postgres -c "SET allow_in_place_tablespaces = on" -c "CREATE TABLESPACE $ts LOCATION ''" \
  -c "CREATE DATABASE $db"
export PGDATABASE=$db
command psql -X -q -c "CREATE EXTENSION dlfin" -c "CREATE TABLE spill AS
  SELECT i AS id, ((i * 7919) % 10007) / 100.0 AS x1, ((i * 104729) % 9973)::float8 / 9973 AS x2,
         (ARRAY['a', 'b', 'c', 'd', 'e'])[1 + (i * 31) % 5] AS cat,
         ((i * 7919) % 10007) / 100.0 + ((i * 104729) % 9973)::float8 / 99.73 > 100 AS y
  FROM generate_series(1::bigint, 60000) AS i" -c "ANALYZE spill"
oid=$(command psql -X -At -c "SELECT oid FROM pg_tablespace WHERE spcname = '$ts'")
train="encode(sha256(dlfin_train('{\"epochs\": 1, \"hidden\": [8]}', y, x1, x2, cat)), 'hex')"
parallel="SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2; SET log_temp_files = 0; SET client_min_messages = log;"
serial=$(command psql -X -q -At -c "SET max_parallel_workers_per_gather = 0" -c "SELECT $train FROM spill")
files="SELECT 'files', (SELECT count(*) FROM pg_ls_tmpdir() WHERE name LIKE 'pgsql_tmp%.dlfin.%'),
  (SELECT count(*) FROM pg_ls_tmpdir($oid) WHERE name LIKE 'pgsql_tmp%.dlfin.%');"

# A parallel training after the settings in $1, then the files left.
train_with() {
  command psql -X -q -At 2>&1 <<SQL
$parallel
$1
SELECT 'model', $train FROM spill;
$files
SQL
}

# 1. the database's tablespace: logged under base/pgsql_tmp
out=$(train_with "")
echo "$out"
grep -qx "model|$serial" <<<"$out" || { echo "1: not the serial model"; exit 1; }
grep -qE '^LOG:  temporary file: path "base/pgsql_tmp/pgsql_tmp[0-9]+\.dlfin\.[0-9]+\.[0-9]+", size [1-9][0-9]*$' <<<"$out" \
  || { echo "1: no log_temp_files line for a spill file"; exit 1; }
grep -qx 'files|0|0' <<<"$out" || { echo "1: spill files left"; exit 1; }

# 2. temp_tablespaces: every file there, the same model, none left
out=$(train_with "SET temp_tablespaces = $ts;")
echo "$out"
grep -qx "model|$serial" <<<"$out" || { echo "2: not the serial model"; exit 1; }
grep -qE "^LOG:  temporary file: path \"pg_tblspc/$oid/PG_[^/]+/pgsql_tmp/pgsql_tmp[0-9]+\\.dlfin\\.[0-9]+\\.[0-9]+\", size [1-9][0-9]*\$" <<<"$out" \
  || { echo "2: no spill file logged in the temp tablespace"; exit 1; }
if grep -q '^LOG:  temporary file: path "base/' <<<"$out"; then echo "2: a spill file outside temp_tablespaces"; exit 1; fi
grep -qx 'files|0|0' <<<"$out" || { echo "2: spill files left"; exit 1; }

# 3. a failed combine (the partial states fit the memory limit, the
# combined one does not) and temp_file_limit in the temp tablespace: the
# leader's sweep and the writers remove every file there
out=$(command psql -X -q -At 2>&1 <<SQL
$parallel
SET temp_tablespaces = $ts;
\set VERBOSITY sqlstate
SET dlfin.max_training_memory = 640;
SELECT 'model', $train FROM spill;
RESET dlfin.max_training_memory;
SET temp_file_limit = '64kB';
SELECT 'model', $train FROM spill;
RESET temp_file_limit;
$files
SQL
)
echo "$out"
grep -qx 'ERROR:  53200' <<<"$out" || { echo "3: the combine did not fail with 53200"; exit 1; }
grep -qx 'ERROR:  53400' <<<"$out" || { echo "3: temp_file_limit did not fail with 53400"; exit 1; }
grep -qx 'files|0|0' <<<"$out" || { echo "3: spill files left"; exit 1; }
echo "ok"
