# scripts/lib.sh: shared steps of scripts/demo, scripts/test and test/bench/run.
# Sourced, not run.  Everything here is idempotent.

DLFIN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN_SYS=/usr/lib/postgresql/15/bin

# Debian packages the build, the tests, the demo and the benchmark need
# (python3-torch and nodejs: the ONNX tests, test/sh/onnx.sh).
DLFIN_PACKAGES="build-essential clang llvm libclang-rt-14-dev \
postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap \
libtap-parser-sourcehandler-pgtap-perl postgresql-15-cron \
chromium libxml2-utils python3 python3-torch nodejs"
DLFIN_BENCH_PACKAGES="python3-torch python3-sklearn python3-numpy libopenblas0-pthread"

# Installs the missing Debian packages given as arguments (needs root).
dlfin_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "dlfin: installing ${missing[*]} needs root; run with sudo" >&2
    return 1
  fi
  echo "dlfin: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Builds dlfin and installs it into a private copy of PostgreSQL under $1,
# so that tests never depend on (or disturb) the system installation.
dlfin_stage() {
  local root=$1
  mkdir -p "$root/usr/lib/postgresql" "$root/usr/share/postgresql"
  if [ ! -x "$root/usr/lib/postgresql/15/bin/postgres" ]; then
    cp -a /usr/lib/postgresql/15 "$root/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/"
  fi
  chmod 755 "$root"
  make -C "$DLFIN_TOP" -s -j2 >/dev/null
  make -C "$DLFIN_TOP" -s install DESTDIR="$root" >/dev/null
}

# Finds a free loopback TCP port, starting at $1.
dlfin_free_port() {
  local p=${1:-54320}
  while (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p + 1)); done
  echo $p
}

# Starts a throwaway cluster from the staged root $1 in $2 (data, socket,
# log); sets PGHOST, PGPORT, PGUSER for the caller.  Extra postgresql.conf
# lines may follow as further arguments.
dlfin_cluster_start() {
  local root=$1 dir=$2; shift 2
  local bin=$root/usr/lib/postgresql/15/bin
  mkdir -p "$dir"
  chmod 755 "$dir"
  rm -rf "$dir/data" "$dir/sock"
  mkdir -p "$dir/data" "$dir/sock"
  chown postgres "$dir" "$dir/data" "$dir/sock" 2>/dev/null || true
  local as=()
  [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  export PGPORT=$(dlfin_free_port "${DLFIN_PORT:-54320}")
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PGPORT"
    echo "unix_socket_directories = '$dir/sock'"
    echo "max_worker_processes = 16"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "shared_buffers = 256MB"
    for line in "$@"; do echo "$line"; done
  } >> "$dir/data/postgresql.conf"
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
  export PGHOST=$dir/sock PGUSER=postgres PGDATABASE=postgres
  DLFIN_CLUSTER_DIR=$dir
  DLFIN_CLUSTER_BIN=$bin
}

# Stops the cluster started by dlfin_cluster_start.
dlfin_cluster_stop() {
  [ -n "${DLFIN_CLUSTER_DIR:-}" ] || return 0
  local as=()
  [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$DLFIN_CLUSTER_BIN/pg_ctl" -D "$DLFIN_CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  DLFIN_CLUSTER_DIR=
}
