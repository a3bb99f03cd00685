#!/usr/bin/env bash
# test/citus/run.sh: dlfin on a three-node Citus 13.2.2 cluster on loopback.
#
# Builds Citus once per machine (test/citus/build.sh), stages it with dlfin
# into a private copy of PostgreSQL 15, starts a coordinator and two
# workers on free loopback ports (from $DLFIN_PORT, default 54320), loads
# test/citus/setup.sql and runs the pgTAP files test/citus/t_*.sql on the
# coordinator with pg_prove (or the files given as arguments, verbosely).
# The nodes are always stopped.  Without a
# Citus source it prints one "skipped: no Citus source" line and exits 0.
# DLFIN_CITUS_PSQL=file runs that psql script instead of the tests (for
# example test/citus/measure.sql).
# Work files go to $DLFIN_WORK/citus (a temporary directory by default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib.sh"
cd "$DLFIN_TOP"

rc=0
cache=$("$here/build.sh") || rc=$?
if [ "$rc" -eq 2 ]; then
  exit 0                                # build.sh said "skipped: no Citus source"
elif [ "$rc" -ne 0 ]; then
  echo "Citus build failed" >&2
  exit 1
fi

own_work=
if [ -z "${DLFIN_WORK:-}" ]; then
  DLFIN_WORK=$(mktemp -d /tmp/dlfin-citus.XXXXXX)
  own_work=1
fi
work=$DLFIN_WORK/citus
root=$work/root
mkdir -p "$work"
chmod 755 "$DLFIN_WORK" "$work"

nodes=()
# Stops every node started so far (and removes the work files we made).
stop_nodes() {
  local d
  for d in "${nodes[@]}"; do
    DLFIN_CLUSTER_DIR=$d DLFIN_CLUSTER_BIN=$root/usr/lib/postgresql/15/bin dlfin_cluster_stop
  done
  if [ -n "$own_work" ] && [ -z "${DLFIN_KEEP:-}" ]; then rm -rf "$DLFIN_WORK"; fi
}
trap stop_nodes EXIT

dlfin_stage "$root"
cp -a "$cache/usr/." "$root/usr/"

# Starts node $1 (coordinator, worker1, worker2); prints its port.
start_node() {
  dlfin_cluster_start "$root" "$work/$1" \
    "shared_preload_libraries = 'citus,dlfin'" \
    "shared_buffers = 64MB" "max_prepared_transactions = 20" \
    "citus.shard_replication_factor = 1" >/dev/null
  nodes+=("$work/$1")
  port_of[$1]=$PGPORT
}
declare -A port_of
start_node worker1
start_node worker2
start_node coordinator
export PGPORT=${port_of[coordinator]} PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres
export DLFIN_CITUS_WORKER1_PORT=${port_of[worker1]} DLFIN_CITUS_WORKER2_PORT=${port_of[worker2]}
echo "coordinator :$PGPORT, workers :${port_of[worker1]} :${port_of[worker2]}"

for n in worker1 worker2; do
  psql -X -q -v ON_ERROR_STOP=1 -p "${port_of[$n]}" -c "CREATE EXTENSION citus" >/dev/null
done
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION citus;
SELECT citus_set_coordinator_host('127.0.0.1', $PGPORT);
SELECT citus_add_node('127.0.0.1', ${port_of[worker1]});
SELECT citus_add_node('127.0.0.1', ${port_of[worker2]});
SQL
psql -X -q -v ON_ERROR_STOP=1 -f test/citus/setup.sql >/dev/null

# t_zz_worker_down.sql stops worker 2 with this command (from the coordinator)
stop2="$root/usr/lib/postgresql/15/bin/pg_ctl -D $work/worker2/data -m immediate -w stop"
status=0
if [ -n "${DLFIN_CITUS_PSQL:-}" ]; then
  psql -X -e -f "$DLFIN_CITUS_PSQL" || status=$?
elif [ $# -gt 0 ]; then
  pg_prove -v --set "stop_worker2=$stop2" "$@" || status=$?
else
  pg_prove --set "stop_worker2=$stop2" test/citus/t_*.sql || status=$?
fi
for d in "${nodes[@]}"; do
  if grep -E 'TRAP|terminated by signal' "$d/server.log" >/dev/null; then
    echo "the server log of $(basename "$d") shows a crashed backend:"
    grep -E -B5 'terminated by signal' "$d/server.log" | tail -20
    status=1
  fi
done
exit $status
