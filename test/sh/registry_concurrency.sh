#!/usr/bin/env bash
# Registry under concurrency: two trainings of one name at once get distinct
# consecutive versions; 8 pgbench clients scoring by name while a retrain
# and a deploy commit see no failed transaction, and each query sees exactly
# one version.  Needs PGHOST/PGPORT/PGUSER (set by scripts/test).
set -euo pipefail
PGBENCH=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
DB=dlfin_conc
W=${DLFIN_WORK:-$(mktemp -d)}/registry_concurrency
mkdir -p "$W"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -d $DB <<'SQL'
CREATE EXTENSION dlfin;
CREATE TABLE loans AS
SELECT i AS id, (20000 + (i * 7919) % 80000)::integer AS income, (20 + (i * 31) % 50)::integer AS age,
       (ARRAY['north', 'south', 'east', 'west'])[1 + (i * 7) % 4] AS region
FROM generate_series(1, 3000) AS i;
ALTER TABLE loans ADD COLUMN approved boolean;
UPDATE loans SET approved = income / 10000.0 - age / 10.0 + CASE region WHEN 'north' THEN 1 ELSE 0 END
                            + ((id * 2654435761) % 1000) / 1000.0 * 2 > 4;
SELECT dlfin.train('loans', 'SELECT approved, income, age, region FROM loans', 'approved',
                   '{"epochs": 30, "hidden": [16]}');
SQL

# 1. two concurrent trainings of one name: distinct, consecutive versions
# ("force": the rows are unchanged, which would otherwise record nothing)
retrain="SELECT dlfin.train('loans', 'SELECT approved, income, age, region FROM loans', 'approved',
                          '{\"epochs\": 30, \"hidden\": [16], \"force\": true}', 'always')"
psql -d $DB -Atc "$retrain" > "$W/a" &
psql -d $DB -Atc "$retrain" > "$W/b" &
wait
got=$(sort -n "$W/a" "$W/b" | tr '\n' ' ')
echo "concurrent retrains returned versions: $got"
[ "$got" = "2 3 " ] || { echo "expected versions 2 and 3"; exit 1; }
psql -d $DB -Atc "SELECT count(*) = 3 AND count(DISTINCT version) = 3 FROM dlfin.models WHERE name = 'loans'" | grep -qx t
# both deployments are in the history, the last one is deployed
psql -d $DB -Atc "SELECT (SELECT count(*) FROM dlfin.deployments WHERE name = 'loans') = 3
                     AND (SELECT version FROM dlfin.deployed WHERE name = 'loans') =
                         (SELECT version FROM dlfin.deployments WHERE name = 'loans' ORDER BY id DESC LIMIT 1)" | grep -qx t

# 2. 8 clients score by name for 15 s while a retrain and deploys commit.
# Each transaction scores 200 rows and checks they all came from one
# version: the distinct count of dlfin_model_info(name)->version with the
# scores is 1, or the division by zero fails the transaction.
cat > "$W/score.sql" <<'SQL'
SELECT 1 / (count(DISTINCT v) = 1 AND count(p) = 200)::int
FROM (SELECT dlfin_predict('loans', income, age, region) AS p,
             dlfin_model_info('loans')->>'version' AS v
      FROM loans WHERE id % 15 = 0) s;
SQL
"$PGBENCH" -n -c 8 -j 4 -T 15 -f "$W/score.sql" $DB > "$W/pgbench.out" 2>&1 &
bench=$!
sleep 3
psql -d $DB -Atc "$retrain"
sleep 3
psql -d $DB -Atc "SELECT dlfin.deploy('loans', 2, 'concurrency test')"
sleep 3
psql -d $DB -Atc "SELECT dlfin.rollback('loans')"
wait $bench || { cat "$W/pgbench.out"; exit 1; }
cat "$W/pgbench.out"
grep -q '^number of failed transactions: 0 ' "$W/pgbench.out"
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$W/pgbench.out")
[ "${tx:-0}" -gt 0 ]
psql -d $DB -Atc "SELECT action, version, previous_version FROM dlfin.deployments WHERE name = 'loans' ORDER BY id"
psql -d postgres -c "DROP DATABASE $DB"
echo "registry concurrency: ok"
