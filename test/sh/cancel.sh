#!/usr/bin/env bash
# statement_timeout and pg_cancel_backend() stop a long training promptly;
# the same session then trains again, and its memory is back where it was.
set -euo pipefail
psql() { command psql -X -q -v ON_ERROR_STOP=0 "$@"; }

command psql -X -q -c "DROP DATABASE IF EXISTS dlfin_cancel" -c "CREATE DATABASE dlfin_cancel"
export PGDATABASE=dlfin_cancel
command psql -X -q -c "CREATE EXTENSION dlfin" \
  -c "CREATE TABLE big AS SELECT i, (i % 7)::float8 AS x, (i % 11)::float8 AS z, (i % 3 = 0) AS y FROM generate_series(1, 200000) i"

long="SELECT dlfin_train('{\"epochs\": 100000, \"validation_fraction\": 0, \"hidden\": [64, 64]}', y, x, z) IS NOT NULL FROM big"

# 1. statement_timeout, then training again in the same session
out=$(psql -At <<SQL 2>&1
\set VERBOSITY sqlstate
SELECT pg_backend_pid() AS pid \gset
SELECT sum(used_bytes) AS before FROM pg_backend_memory_contexts \gset
SET statement_timeout = '2s';
\timing on
$long;
\timing off
RESET statement_timeout;
SELECT 'again', dlfin_train('{"epochs": 2}', y, x, z) IS NOT NULL FROM big;
SELECT 'memory', (sum(used_bytes) - :before) < 1024 * 1024 FROM pg_backend_memory_contexts;
SELECT 'threads', count(*) FROM pg_ls_dir('/proc/' || :pid || '/task') t;
SQL
)
echo "$out"
grep -q '^ERROR:  57014' <<<"$out" || { echo "statement_timeout did not cancel training"; exit 1; }
ms=$(grep -oE 'Time: [0-9.]+ ms' <<<"$out" | head -1 | grep -oE '[0-9.]+' | cut -d. -f1)
[ "${ms:-99999}" -lt 3000 ] || { echo "cancellation took ${ms} ms (timeout 2000 ms)"; exit 1; }
grep -q '^again|t$' <<<"$out" || { echo "the session could not train again"; exit 1; }
grep -q '^memory|t$' <<<"$out" || { echo "backend memory did not come back"; exit 1; }
grep -q '^threads|1$' <<<"$out" || { echo "threads were left behind"; exit 1; }

# 2. pg_cancel_backend from another session
psql -At -c "SELECT pg_sleep(0)" >/dev/null
( psql -At -c "SET application_name = 'dlfin_victim'" -c "$long" > "$DLFIN_WORK/cancel2.out" 2>&1 ) &
victim=$!
for _ in $(seq 1 50); do
  n=$(psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dlfin_victim' AND state = 'active'")
  [ "$n" = 1 ] && break
  sleep 0.2
done
sleep 1
start=$(date +%s%N)
psql -At -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'dlfin_victim'" >/dev/null
wait $victim || true
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$DLFIN_WORK/cancel2.out"
grep -q 'canceling statement due to user request' "$DLFIN_WORK/cancel2.out" || { echo "pg_cancel_backend did not cancel"; exit 1; }
[ "$elapsed" -lt 1500 ] || { echo "cancel took ${elapsed} ms"; exit 1; }
echo "cancelled in ${elapsed} ms"
command psql -X -q -d postgres -c "DROP DATABASE dlfin_cancel"
