#!/usr/bin/env bash
# Concurrency and load: 8 pgbench clients score with dlfin_predict (one row
# by key, and 200-row batches, over three models that trainers keep
# replacing) while two other sessions train in a loop.  Zero errors in
# pgbench and in the trainers, and no dlfin warning in the server log.
#
#   DLFIN_LOAD_SECONDS   how long pgbench runs (default 30; the issue's
#                        acceptance run is 60: DLFIN_LOAD_SECONDS=60)
#   DLFIN_LOAD_CLIENTS   pgbench clients (default 8)
set -euo pipefail
secs=${DLFIN_LOAD_SECONDS:-30}
clients=${DLFIN_LOAD_CLIENTS:-8}
pgbench=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
work=${DLFIN_WORK:?DLFIN_WORK must name a scratch directory}
log=${DLFIN_SERVER_LOG:-$work/cluster/server.log}
db=dlfin_load
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d $db "$@"; }

command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
cleanup() {
  [ -n "${trainers:-}" ] && kill $trainers 2>/dev/null || true
  wait 2>/dev/null || true
  command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
logstart=0
[ -f "$log" ] && logstart=$(stat -c %s "$log")

psql <<'SQL'
CREATE EXTENSION dlfin;
CREATE TABLE applicants AS
SELECT i AS id, (i * 7919 % 1000) / 10.0 AS income, 18 + i % 60 AS age,
       (ARRAY['none', 'school', 'college', 'university'])[1 + i % 4] AS edu,
       (i * 7919 % 1000) / 10.0 + (i % 60) > 70 AS approved
FROM generate_series(1, 20000) i;
ALTER TABLE applicants ADD PRIMARY KEY (id);
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
INSERT INTO models
SELECT 'binary', dlfin_train('{"epochs": 2, "hidden": [8]}', approved, income, age, edu) FROM applicants
UNION ALL
SELECT 'multiclass', dlfin_train('{"epochs": 2, "hidden": [8]}', edu, income, age, approved::int) FROM applicants
UNION ALL
SELECT 'regression', dlfin_train('{"epochs": 2, "hidden": [8]}', income, age::float8, age, edu) FROM applicants;
ANALYZE;
SQL

cat > "$work/load.pgbench" <<'EOF'
\set id random(1, 20000)
\set lo random(1, 19800)
SELECT dlfin_predict(model, income, age, edu) FROM applicants, models WHERE id = :id AND name = 'binary';
SELECT dlfin_predict_class(model, income, age, approved::int) FROM applicants, models WHERE id = :id AND name = 'multiclass';
SELECT dlfin_predict(model, age::float8, age, edu) FROM applicants, models WHERE id = :id AND name = 'regression';
SELECT count(*), avg(dlfin_predict(m.model, a.income, a.age, a.edu))
FROM applicants a, (SELECT model FROM models WHERE name = 'binary') m WHERE a.id BETWEEN :lo AND :lo + 199;
EOF

# two trainers: retrain and replace the models until told to stop
train_loop() {
  local name=$1 sql=$2 n=0 errs=0
  while [ ! -f "$work/load.stop" ]; do
    if command psql -X -q -v ON_ERROR_STOP=1 -d $db -c "$sql" >>"$work/load.train.$name" 2>&1; then
      n=$((n + 1))
    else
      errs=$((errs + 1))
    fi
  done
  echo "$n $errs" > "$work/load.count.$name"
}
rm -f "$work/load.stop" "$work"/load.train.* "$work"/load.count.*
train_loop binary "UPDATE models SET model = (SELECT dlfin_train('{\"epochs\": 3, \"hidden\": [8], \"seed\": 1}', approved, income, age, edu) FROM applicants WHERE id % 2 = 0) WHERE name = 'binary'" &
t1=$!
train_loop multiclass "UPDATE models SET model = (SELECT dlfin_train('{\"epochs\": 3, \"hidden\": [8], \"threads\": 1}', edu, income, age, approved::int) FROM applicants) WHERE name = 'multiclass'" &
t2=$!
trainers="$t1 $t2"

status=0
"$pgbench" -n -c "$clients" -j "$clients" -T "$secs" -f "$work/load.pgbench" $db >"$work/load.out" 2>&1 || status=$?
touch "$work/load.stop"
wait $t1 $t2 || true
trainers=

cat "$work/load.out" | grep -vE '^(pgbench \(|transaction type|scaling factor|query mode)' || true
read -r n1 e1 < "$work/load.count.binary"
read -r n2 e2 < "$work/load.count.multiclass"
echo "trainers: binary $n1 runs ($e1 errors), multiclass $n2 runs ($e2 errors)"
[ "$status" -eq 0 ] || { echo "pgbench failed (exit $status)"; exit 1; }
grep -qE '^number of failed transactions: 0 ' "$work/load.out" || { echo "pgbench reports failed transactions"; exit 1; }
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/load.out")
[ "${tx:-0}" -gt 0 ] || { echo "no transactions"; exit 1; }
[ "$e1" -eq 0 ] && [ "$e2" -eq 0 ] || { echo "training failed under load:"; cat "$work"/load.train.*; exit 1; }
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || { echo "the trainers never finished a run"; exit 1; }
if [ -f "$log" ]; then
  if tail -c +$((logstart + 1)) "$log" | grep -iE '(WARNING|ERROR|FATAL|PANIC).*' | grep -iE 'dlfin|signal'; then
    echo "the server log has dlfin warnings or errors during the load"; exit 1
  fi
else
  echo "note: no server log at $log, not checked"
fi
echo "load: ok"
