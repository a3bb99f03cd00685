#!/usr/bin/env bash
# Issue 13: the loops whose length depends on the input answer
# statement_timeout, pg_cancel_backend and pg_terminate_backend within a
# second: the explanation's path integral on a wide network (one row takes
# minutes), the model card's monotone check, and a warm start that maps
# 100,000 text values onto 65,533 learned categories.
set -euo pipefail
psql() { command psql -X -q -v ON_ERROR_STOP=0 "$@"; }
LIMIT_MS=1000	# latency allowed after the timeout or the signal

command psql -X -q -c "DROP DATABASE IF EXISTS dlfin_cancel_h" -c "CREATE DATABASE dlfin_cancel_h"
export PGDATABASE=dlfin_cancel_h
command psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION dlfin;
CREATE TABLE w AS SELECT g, (g % 10)::float8 AS x, (g % 7)::float8 AS z, (g % 2 = 0) AS y
FROM generate_series(1, 64) AS g;
-- a wide network with a monotone constraint: one explanation or one card
-- takes minutes without interrupt checks
CREATE TABLE wm AS
SELECT dlfin_train('{"hidden": [2048, 2048], "epochs": 1, "validation_fraction": 0, "seed": 1,
                     "monotone": {"f1": 1}}', y, x, z) AS model
FROM w;
CREATE TABLE vi AS SELECT 'k' || g AS c, (g % 2 = 0) AS y FROM generate_series(1, 65533) AS g;
CREATE TABLE vim AS
SELECT dlfin_train('{"epochs": 1, "hidden": [2], "max_categories": 65533, "validation_fraction": 0}', y, c) AS model
FROM vi;
CREATE TABLE vn AS SELECT 'q' || g AS c, (g % 2 = 0) AS y FROM generate_series(1, 100000) AS g;
SQL

# Runs $2 under statement_timeout $1 ms; prints the elapsed ms and the
# SQLSTATE, or "done" when it finished first.
timed() {
  local out
  out=$(psql -At <<SQL 2>&1
\set VERBOSITY sqlstate
SET statement_timeout = $1;
\timing on
$2;
SQL
)
  local ms
  ms=$(grep -oE 'Time: [0-9.]+ ms' <<<"$out" | tail -1 | grep -oE '[0-9.]+' | cut -d. -f1)
  if grep -q '^ERROR:  57014' <<<"$out"; then echo "${ms:-99999} 57014"; else echo "${ms:-99999} done"; fi
}

# Checks that $2 was cancelled by a timeout of $1 ms within LIMIT_MS
# (or, when $3 is "may-finish", finished before that).
check_timeout() {
  local to=$1 sql=$2 mode=${3:-} r ms state
  r=$(timed "$to" "$sql"); ms=${r% *}; state=${r#* }
  echo "timeout $to ms: $state after $ms ms: $sql"
  if [ "$state" != 57014 ] && [ "$mode" != may-finish ]; then
    echo "statement_timeout did not cancel: $sql"; exit 1
  fi
  [ "$ms" -le $((to + LIMIT_MS)) ] || { echo "took ${ms} ms under a ${to} ms timeout: $sql"; exit 1; }
}

check_timeout 1000 "SELECT dlfin_explain(model, 3.0, 1.0) FROM wm"
check_timeout 1000 "SELECT dlfin_reasons(model, 1, 3.0, 1.0) FROM wm"
check_timeout 1000 "SELECT length(dlfin_model_card(model)) FROM wm"
check_timeout 2000 "SELECT length(dlfin_train((SELECT jsonb_build_object('init', model, 'epochs', 1, 'hidden', '[2]'::jsonb, 'validation_fraction', 0) FROM vim), y, c)) FROM vn" may-finish

# The session is healthy afterwards.
out=$(psql -At -c "SELECT 'again', dlfin_predict(model, 3.0, 1.0) BETWEEN 0 AND 1 FROM wm")
grep -q '^again|t$' <<<"$out" || { echo "the session could not score again: $out"; exit 1; }

# Sends $1 (pg_cancel_backend or pg_terminate_backend) to a session
# running $2 and checks how long it takes to end.
signal() {
  local fn=$1 sql=$2 victim start elapsed n
  ( psql -At -c "SET application_name = 'dlfin_victim_h'" -c "$sql" > "$DLFIN_WORK/cancel_h.out" 2>&1 ) &
  victim=$!
  for _ in $(seq 1 50); do
    n=$(psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dlfin_victim_h' AND state = 'active'")
    [ "$n" = 1 ] && break
    sleep 0.2
  done
  sleep 1
  start=$(date +%s%N)
  psql -At -c "SELECT $fn(pid) FROM pg_stat_activity WHERE application_name = 'dlfin_victim_h'" >/dev/null
  wait $victim || true
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  cat "$DLFIN_WORK/cancel_h.out"
  if ! grep -qE 'canceling statement due to user request|terminating connection due to administrator command|server closed the connection' "$DLFIN_WORK/cancel_h.out"; then
    echo "$fn did not stop: $sql"; exit 1
  fi
  [ "$elapsed" -le $LIMIT_MS ] || { echo "$fn took ${elapsed} ms: $sql"; exit 1; }
  echo "$fn: ended in ${elapsed} ms"
}

signal pg_cancel_backend "SELECT dlfin_explain(model, 3.0, 1.0) FROM wm"
signal pg_terminate_backend "SELECT dlfin_explain(model, 3.0, 1.0) FROM wm"
signal pg_cancel_backend "SELECT length(dlfin_model_card(model)) FROM wm"

command psql -X -q -d postgres -c "DROP DATABASE dlfin_cancel_h"
