#!/usr/bin/env bash
# Backups keep the registry (issue 14): pg_dump in plain and custom format,
# of the whole database and --data-only, restored with pg_restore or psql
# as a superuser, gives back every model version (all columns: bytes,
# SHA-256, metrics, lineage, status), every history row and every name with
# its last version number; the deployed versions score the same; row-level
# security and the append-only rules still hold; the history and the
# version numbers go on where they stopped.  A non-superuser cannot
# restore registry rows (that would be a way to forge them).
set -euo pipefail
BIN=${DLFIN_PGBIN:-/usr/lib/postgresql/${PGVER:-15}/bin}
W=${DLFIN_WORK:-$(mktemp -d)}/dump_restore
mkdir -p "$W"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
dbs="dr_src dr_custom dr_plain dr_data dr_alice"
cleanup() {
  for d in $dbs; do command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  command psql -X -q -d postgres -c "DROP ROLE IF EXISTS dr_alice" -c "DROP ROLE IF EXISTS dr_bob" >/dev/null 2>&1 || true
}
cleanup
trap cleanup EXIT
psql -d postgres -c "CREATE ROLE dr_alice LOGIN" -c "CREATE ROLE dr_bob LOGIN" -c "CREATE DATABASE dr_src"

psql -d dr_src <<'SQL'
CREATE EXTENSION dlfin;
CREATE TABLE loans AS
SELECT i AS id, (20000 + (i * 7919) % 80000)::integer AS income, (20 + (i * 31) % 50)::integer AS age,
       (ARRAY['north', 'south', 'east'])[1 + i % 3] AS region
FROM generate_series(1, 600) AS i;
ALTER TABLE loans ADD COLUMN approved boolean;
UPDATE loans SET approved = income / 10000.0 - age / 10.0 + ((id * 2654435761) % 1000) / 500.0 > 3;
GRANT SELECT ON loans TO dr_alice;
SELECT dlfin.train('su_model', 'SELECT approved, income, age, region FROM loans', 'approved', '{"epochs": 3, "hidden": [8]}');
SELECT dlfin.train('su_model', 'SELECT approved, income, age FROM loans', 'approved', '{"epochs": 2}', 'always');
SELECT dlfin.rollback('su_model');
SELECT dlfin.train('su_model', 'SELECT approved, income FROM loans', 'approved', '{"epochs": 2}', 'never');
SELECT dlfin.drop_model('su_model', 3);
SELECT dlfin.train('gone', 'SELECT approved, income FROM loans', 'approved', '{"epochs": 1}');
SELECT dlfin.drop_model('gone');
SQL
PGUSER=dr_alice psql -d dr_src -c "SELECT dlfin.train('alice_model', 'SELECT region, income, age FROM public.loans', 'region', '{\"epochs\": 2}')"

# The registry as text: every column of every row, in a fixed order.
snapshot() {
  psql -d "$1" -At <<'SQL'
SELECT 'models', md5(string_agg(to_jsonb(m)::text, '|' ORDER BY name, version)), count(*) FROM dlfin.models m;
SELECT 'history', md5(string_agg((to_jsonb(d))::text, '|' ORDER BY id)), count(*) FROM dlfin.deployments d;
SELECT 'names', md5(string_agg(to_jsonb(n)::text, '|' ORDER BY name)), count(*) FROM dlfin.names n;
SET extra_float_digits = 3;
SELECT 'scores', sum(dlfin_predict('su_model', income, age, region)), sum(length(dlfin_predict_class('alice_model', income, age)))
FROM loans;
SQL
}
# Checks a restored database against the source, then that the rules hold.
check() {
  local db=$1 what=$2
  diff <(snapshot dr_src) <(snapshot "$db") || { echo "$what: the registry differs after the restore"; exit 1; }
  n=$(PGUSER=dr_bob psql -d "$db" -Atc "SELECT count(*) FROM dlfin.models")
  [ "$n" = 0 ] || { echo "$what: row-level security lost ($n rows visible to dr_bob)"; exit 1; }
  n=$(PGUSER=dr_alice psql -d "$db" -Atc "SELECT count(*) FROM dlfin.models")
  [ "$n" = 1 ] || { echo "$what: dr_alice sees $n versions, not her 1"; exit 1; }
  out=$(PGUSER=dr_bob psql -d "$db" -c "INSERT INTO dlfin.deployments (name, version, action, owner, changed_at, changed_by, session_user_name) VALUES ('su_model', 1, 'deploy', 'dr_bob', now(), 'x', 'x')" 2>&1 || true)
  grep -q 'permission denied' <<<"$out" || { echo "$what: dr_bob could write the history: $out"; exit 1; }
  out=$(psql -d "$db" -c "UPDATE dlfin.deployments SET reason = 'x'" 2>&1 || true)
  grep -q 'append-only' <<<"$out" || { echo "$what: the history is no longer append-only: $out"; exit 1; }
  # numbering goes on: no reused version, no reused history id
  v=$(psql -d "$db" -Atc "SELECT dlfin.train('su_model', 'SELECT approved, income FROM loans', 'approved', '{\"epochs\": 1, \"force\": true}', 'always')")
  [ "$v" = 4 ] || { echo "$what: the next version is $v, not 4 (version 3 was dropped)"; exit 1; }
  v=$(psql -d "$db" -Atc "SELECT dlfin.train('gone', 'SELECT approved, income FROM loans', 'approved', '{\"epochs\": 1}')")
  [ "$v" = 2 ] || { echo "$what: a dropped name restarted at version $v"; exit 1; }
  echo "$what: registry identical, rules hold, numbering goes on"
}

"$BIN/pg_dump" -Fc -f "$W/src.dump" dr_src
"$BIN/pg_dump" -Fp -f "$W/src.sql" dr_src
"$BIN/pg_dump" -Fc --data-only -f "$W/src.data" dr_src

psql -d postgres -c "CREATE DATABASE dr_custom" -c "CREATE DATABASE dr_plain" -c "CREATE DATABASE dr_data"
"$BIN/pg_restore" --exit-on-error -d dr_custom "$W/src.dump"
check dr_custom "custom format, whole database"
psql -d dr_plain -f "$W/src.sql" >/dev/null
check dr_plain "plain format, whole database"
# (the schema first, as a separate step: the extension and empty tables)
"$BIN/pg_restore" --exit-on-error --schema-only -d dr_data "$W/src.dump"
"$BIN/pg_restore" --exit-on-error --data-only -d dr_data "$W/src.data"
check dr_data "custom format, --schema-only then --data-only"

# A non-superuser cannot restore registry rows, even into a database it owns.
psql -d postgres -c "CREATE DATABASE dr_alice OWNER dr_alice"
psql -d dr_alice -c "CREATE EXTENSION dlfin"
out=$(PGUSER=dr_alice "$BIN/pg_restore" --data-only -t models -d dr_alice "$W/src.dump" 2>&1 || true)
grep -q 'permission denied for table models' <<<"$out" || { echo "a non-superuser restored registry rows: $out"; exit 1; }
n=$(psql -d dr_alice -Atc "SELECT count(*) FROM dlfin.models")
[ "$n" = 0 ] || { echo "registry rows appeared ($n)"; exit 1; }
echo "a non-superuser's restore of registry rows: refused"
echo "dump and restore: ok"
