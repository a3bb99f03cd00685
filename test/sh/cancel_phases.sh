#!/usr/bin/env bash
# Cancellation in every phase, not only in the epochs (test/sh/cancel.sh):
# the row buffering and final canonical sort of dlfin_train, the members
# of an ensemble (the timeouts fall in different members), the folds of
# dlfin_cv, scoring a big
# table with dlfin_predict, and the final sort of the exact metric
# aggregates.  Each query is first timed uncancelled (T), then run with
# statement_timeout at 30%, 60% and 90% of T: it must stop within a second
# of the timeout, and the session must keep working.
set -euo pipefail
db=dlfin_cancel_phases
rows=${DLFIN_CANCEL_ROWS:-2000000}
command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
psql() { command psql -X -q -d $db "$@"; }

psql -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION dlfin;
CREATE TABLE big AS
SELECT i, (i::int8 * 2654435761 % 1000003) / 1000003.0::float8 AS s,
       (i::int8 * 40503 % 7 < 3) AS y, (i % 97)::float8 AS x, (i % 89)::float8 AS z,
       (ARRAY['a', 'b', 'c', 'd'])[1 + i % 4] AS c
FROM generate_series(1, $rows) i;
VACUUM ANALYZE big;
CREATE TABLE m AS SELECT dlfin_train('{"optimizer": "adam", "epochs": 1, "hidden": [16, 16]}', y, x, z, c) AS m FROM big WHERE i <= 5000;
SQL

# name|query; parallel plans off so the timing is the leader's own work
queries=(
  "train|SELECT dlfin_train('{\"epochs\": 1, \"hidden\": [4], \"validation_fraction\": 0}', y, x, z, c) IS NOT NULL FROM big"
  "ensemble|SELECT dlfin_train('{\"ensemble\": 6, \"epochs\": 2, \"hidden\": [8], \"validation_fraction\": 0}', y, x, z, c) IS NOT NULL FROM big WHERE i <= 200000"
  "cv|SELECT dlfin_cv('{\"cv_folds\": 4, \"epochs\": 2, \"hidden\": [8], \"validation_fraction\": 0}', y, x, z, c) IS NOT NULL FROM big WHERE i <= 200000"
  "score|SELECT sum(dlfin_predict(m.m, x, z, c)) FROM big, m"
  "auc|SELECT dlfin_auc(s, y) FROM big"
  "roc|SELECT dlfin_roc(s, y) IS NOT NULL FROM big"
  "metrics|SELECT dlfin_metrics(s, y) IS NOT NULL FROM big"
)

ms() { grep -oE 'Time: [0-9.]+ ms' | head -1 | grep -oE '[0-9]+' | head -1; }
fail=0
for q in "${queries[@]}"; do
  name=${q%%|*}; sql=${q#*|}
  full=$(psql -v ON_ERROR_STOP=1 <<SQL 2>&1 | ms
SET max_parallel_workers_per_gather = 0;
\timing on
$sql;
SQL
)
  echo "$name: ${full} ms uncancelled"
  for pct in 30 60 90; do
    t=$((full * pct / 100)); [ "$t" -ge 50 ] || t=50
    out=$(psql -At <<SQL 2>&1
\set VERBOSITY sqlstate
SET max_parallel_workers_per_gather = 0;
SET statement_timeout = $t;
\timing on
$sql;
\timing off
RESET statement_timeout;
SELECT 'alive', dlfin_train('{"epochs": 1, "hidden": [2]}', y, x) IS NOT NULL FROM big WHERE i <= 500;
SQL
)
    took=$(ms <<<"$out")
    if grep -q '57014' <<<"$out"; then
      late=$((took - t))
      echo "  timeout ${t} ms: stopped after ${took} ms (+${late} ms)"
      [ "$late" -lt 1000 ] || { echo "  $name: cancellation took more than a second"; fail=1; }
    else
      # finished before the timeout fired (possible at 90%): fine
      echo "  timeout ${t} ms: finished in ${took} ms"
    fi
    grep -q '^alive|t$' <<<"$out" || { echo "  $name: the session did not work after the cancel"; echo "$out"; fail=1; }
  done
done
exit $fail
