#!/usr/bin/env bash
# Models are portable between PostgreSQL 15 and 17: model bytes trained on
# one server score bit for bit the same on the other, both ways (binary,
# multiclass and regression models with ReLU, tanh and sigmoid layers on
# test/data/credit_data.csv; every score of every row compared as float8
# text with extra_float_digits = 3), and the registry (dlfin.models,
# dlfin.deployments) dumped with PostgreSQL 15's pg_dump restores on 17
# with PostgreSQL 17's pg_restore.
#
# Run by scripts/test after both suites, with:
#   DLFIN_ROOT15   dlfin staged into a copy of PostgreSQL 15 (dlfin_stage)
#   DLFIN_VIEW     a mounted view of the Debian 13 root (dlfin_chroot_open)
#                  whose /build/dlfin holds the source built for 17
#   PGVER_OTHER    the other major version (17)
#   DLFIN_WORK     a work directory
# Both servers listen on 127.0.0.1 only and are stopped on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib.sh"
other=${PGVER_OTHER:-17}
view=$DLFIN_VIEW
w=$DLFIN_WORK/portable
wr=/tmp/dlfin-portable          # the same directory as seen inside the root
rm -rf "$w" "$view$wr"
mkdir -p "$w" "$view$wr"
chmod 755 "$w" "$view$wr"

# Stops both servers.
cleanup() {
  dlfin_chroot_exec "$view" runuser -u postgres -- \
    "$wr/root/usr/lib/postgresql/$other/bin/pg_ctl" -D "$wr/cluster/data" -m fast -w stop \
    >/dev/null 2>&1 || true
  dlfin_cluster_stop
}
trap cleanup EXIT

dlfin_cluster_start "$DLFIN_ROOT15" "$w/c15"
sock15=$PGHOST port15=$PGPORT
bin15=$DLFIN_CLUSTER_BIN
port17=$(dlfin_chroot_exec "$view" PGVER="$other" DLFIN_PORT=$((port15 + 1)) bash -c \
  "source /build/dlfin/scripts/lib.sh && dlfin_stage $wr/root &&
   dlfin_cluster_start $wr/root $wr/cluster && echo \$PGPORT" | tail -1)
[ -n "$port17" ] || { echo "could not start PostgreSQL $other in the root"; exit 1; }
unset PGHOST PGPORT PGDATABASE

# psql against PostgreSQL 15 ($1 = a) or $other ($1 = b), database dlfin_port.
q() {
  local s=$1; shift
  if [ "$s" = a ]; then
    "$bin15/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock15" -p "$port15" -U postgres -d "${DB:-dlfin_port}" "$@"
  else
    "$bin15/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port17" -U postgres -d "${DB:-dlfin_port}" "$@"
  fi
}
echo "PostgreSQL 15: $(DB=postgres q a -Atc 'SHOW server_version')," \
     "PostgreSQL $other: $(DB=postgres q b -Atc 'SHOW server_version')"

for s in a b; do
  DB=postgres q $s -c "CREATE DATABASE dlfin_port"
  q $s -v data="$DLFIN_TOP/test/data/credit_data.csv" <<'SQL'
CREATE EXTENSION dlfin;
CREATE TABLE credit (
    id serial PRIMARY KEY, status text, seniority integer, home text, time integer,
    age integer, marital text, records text, job text, expenses integer, income integer,
    assets integer, debt integer, amount integer, price integer);
\set copy_cmd '\\copy credit (status, seniority, home, time, age, marital, records, job, expenses, income, assets, debt, amount, price) FROM ' :'data' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd
CREATE TABLE models (kind text PRIMARY KEY, model bytea NOT NULL);
SQL
done

# Trains the three kinds of model on server $1 with seed $2.
train() {
  q "$1" -v seed="$2" <<'SQL'
DELETE FROM models;
INSERT INTO models
SELECT 'binary', dlfin_train(jsonb_build_object('seed', :seed, 'epochs', 8, 'hidden', '[16, 8]'::jsonb,
                             'positive', 'bad', 'calibrate', 'platt'),
                             status, seniority, home, time, age, marital, records, job,
                             expenses, income, assets, debt, amount, price)
FROM credit;
INSERT INTO models
SELECT 'multiclass', dlfin_train(jsonb_build_object('seed', :seed, 'epochs', 5, 'activation', 'tanh'),
                                 home, seniority, time, age, marital, records, job, income, assets)
FROM credit WHERE home IS NOT NULL;
INSERT INTO models
SELECT 'regression', dlfin_train(jsonb_build_object('seed', :seed, 'epochs', 5, 'activation', 'sigmoid'),
                                 amount::float8, seniority, home, time, age, income, assets, price)
FROM credit;
SQL
}

# Writes every score of the models on server $1 to the file $2.
score() {
  q "$1" -At -o "$2" <<'SQL'
SET extra_float_digits = 3;
SELECT c.id,
       dlfin_predict(b.model, seniority, home, time, age, marital, records, job,
                     expenses, income, assets, debt, amount, price),
       dlfin_predict_class(b.model, seniority, home, time, age, marital, records, job,
                           expenses, income, assets, debt, amount, price),
       dlfin_predict_proba(m.model, seniority, time, age, marital, records, job, income, assets),
       dlfin_predict_class(m.model, seniority, time, age, marital, records, job, income, assets),
       dlfin_predict(r.model, seniority, home, time, age, income, assets, price)
FROM credit c, models b, models m, models r
WHERE b.kind = 'binary' AND m.kind = 'multiclass' AND r.kind = 'regression'
ORDER BY c.id;
SQL
  [ "$(wc -l < "$2")" -eq 4454 ] || { echo "expected 4454 scored rows in $2"; exit 1; }
}

# Moves the models of server $1 to server $2 as COPY text, checks the bytes.
move() {
  q "$1" -c "\\copy models TO '$w/models.copy'"
  q "$2" -c "DELETE FROM models" -c "\\copy models FROM '$w/models.copy'"
  local h1 h2
  h1=$(q "$1" -Atc "$hashes")
  h2=$(q "$2" -Atc "$hashes")
  [ "$h1" = "$h2" ] || { echo "model bytes changed on the way: $h1 / $h2"; exit 1; }
}

hashes="SELECT string_agg(kind || ' ' || encode(sha256(model), 'hex'), ' ' ORDER BY kind) FROM models"

# Trains on server $1 (PostgreSQL $3), scores on both, compares.
one_way() {
  local from=$1 to=$2 name=$3 toname=$4
  train "$from" 7
  q "$from" -Atc "$hashes" > "$w/trained.$from"
  score "$from" "$w/scores.$from"
  move "$from" "$to"
  score "$to" "$w/scores.$to"
  if cmp -s "$w/scores.$from" "$w/scores.$to"; then
    echo "ok: models trained on PostgreSQL $name score identically on $toname (4454 rows, 3 models, 0 ulp)"
  else
    echo "FAIL: models trained on PostgreSQL $name score differently on $toname:"
    diff "$w/scores.$from" "$w/scores.$to" > "$w/scores.diff" || true
    echo "$(grep -c '^<' "$w/scores.diff") of 4454 rows differ; the first:"
    head -4 "$w/scores.diff" | cut -c1-300
    exit 1
  fi
}
one_way a b 15 "$other"
one_way b a "$other" 15
# Not a requirement: training's batch kernels may fuse multiply-adds as
# each compiler sees fit; only scoring is pinned.
if cmp -s "$w/trained.a" "$w/trained.b"; then
  echo "info: the same rows and seed train byte-identical models on 15 and $other"
else
  echo "info: the same rows and seed train different models on 15 and $other (not checked)"
fi

# ---- the registry: pg_dump from 15, pg_restore on 17 ----
q a <<'SQL' >/dev/null
SELECT dlfin.train('port_loans', 'SELECT status, seniority, home, age, income, debt FROM credit',
                   'status', '{"seed": 5, "epochs": 5, "positive": "bad"}');
SELECT dlfin.train('port_loans', 'SELECT status, seniority, home, age, income, debt, amount FROM credit',
                   'status', '{"seed": 6, "epochs": 5, "positive": "bad"}', deploy => 'always');
SQL
regsql="SELECT string_agg(concat_ws(' ', name, version, status, model_sha256, rows,
                                    encode(sha256(convert_to(metrics::text, 'UTF8')), 'hex')), ' | '
                          ORDER BY name, version) FROM dlfin.models"
depsql="SELECT count(*) FROM dlfin.deployments"
scoresql="SET extra_float_digits = 3;
          SELECT string_agg(dlfin_predict('port_loans', seniority, home, age, income, debt, amount)::text, ' ' ORDER BY id)
          FROM credit"
want_reg=$(q a -Atc "$regsql")
want_dep=$(q a -Atc "$depsql")
want_scores=$(q a -Atc "$scoresql" | tail -1)
"$bin15/pg_dump" -h "$sock15" -p "$port15" -U postgres -Fc -f "$view$wr/registry.dump" dlfin_port

# Restores the dump into a new database dlfin_restore of server $1 with the
# pg_restore of that server; says what differs, fails if anything does.
restore_check() {
  local s=$1 got
  DB=postgres q "$s" -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS dlfin_restore" -c "CREATE DATABASE dlfin_restore"
  if [ "$s" = a ]; then
    "$bin15/pg_restore" -h "$sock15" -p "$port15" -U postgres -d dlfin_restore \
      "$view$wr/registry.dump" > "$w/restore.$s" 2>&1 || true
  else
    dlfin_chroot_exec "$view" "$wr/root/usr/lib/postgresql/$other/bin/pg_restore" \
      -h 127.0.0.1 -p "$port17" -U postgres -d dlfin_restore "$wr/registry.dump" \
      > "$w/restore.$s" 2>&1 || true
  fi
  got=$(DB=dlfin_restore q "$s" -Atc "$regsql")
  [ "$got" = "$want_reg" ] || { echo "dlfin.models differs after the restore:"; echo "  want: $want_reg"; echo "  got:  $got"; head -5 "$w/restore.$s"; return 1; }
  got=$(DB=dlfin_restore q "$s" -Atc "$depsql")
  [ "$got" = "$want_dep" ] || { echo "dlfin.deployments has $got rows after the restore, not $want_dep"; head -5 "$w/restore.$s"; return 1; }
  got=$(DB=dlfin_restore q "$s" -Atc "$scoresql" | tail -1)
  [ "$got" = "$want_scores" ] || { echo "scores by name differ after the restore"; return 1; }
}

if restore_check b > "$w/restore_check.b" 2>&1; then
  echo "ok: the registry dumped from PostgreSQL 15 restores on $other (models, deployments, scores by name)"
elif ! restore_check a > "$w/restore_check.a" 2>&1; then
  # The same dump does not restore on 15 either: the registry itself does not
  # survive pg_dump/restore yet (issue 14), not a difference between versions.
  echo "SKIPPED: registry restore 15 -> $other: the dump does not restore on PostgreSQL 15 either"
  echo "         (issue 14: the registry's triggers reject restored rows); this check becomes"
  echo "         strict by itself once a 15 -> 15 restore works.  pg_restore said:"
  head -3 "$w/restore.b" | sed 's/^/         /'
else
  echo "FAIL: the registry restores on PostgreSQL 15 but not on $other:"
  cat "$w/restore_check.b"
  exit 1
fi
