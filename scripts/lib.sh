# scripts/lib.sh: shared steps of scripts/demo, scripts/test and test/bench/run.
# Sourced, not run.  Everything here is idempotent.

DLFIN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The PostgreSQL major version to build and test against: 15 is the
# machine's (Debian 12); scripts/test also runs 17 in a Debian 13 root.
PGVER=${PGVER:-15}
PGBIN_SYS=/usr/lib/postgresql/$PGVER/bin
export PG_CONFIG=$PGBIN_SYS/pg_config

# Prints the Debian packages the build and the tests need for PostgreSQL $1.
dlfin_packages() {
  echo "build-essential clang llvm postgresql-$1 postgresql-server-dev-$1" \
    "postgresql-$1-pgtap libtap-parser-sourcehandler-pgtap-perl postgresql-$1-cron" \
    "chromium libxml2-utils python3"
}

# Debian packages the build, the tests, the demo and the benchmark need;
# the extra ones only on the machine itself: the sanitizer runtime,
# debootstrap, and python3-torch, python3-sklearn, python3-onnx and nodejs for
# the ONNX round trips
# (test/sh/onnx.sh runs them in the PostgreSQL 15 pass).
DLFIN_PACKAGES="$(dlfin_packages "$PGVER")"
DLFIN_EXTRA_PACKAGES=${DLFIN_EXTRA_PACKAGES-libclang-rt-14-dev debootstrap python3-torch python3-sklearn python3-onnx nodejs}
DLFIN_PACKAGES="$DLFIN_PACKAGES $DLFIN_EXTRA_PACKAGES"
# The benchmark's packages also run the reference generators of test/ref/
# (scikit-learn for the metrics, SciPy's fisher_exact for the fairness tests).
DLFIN_BENCH_PACKAGES="python3-torch python3-sklearn python3-scipy python3-numpy libopenblas0-pthread"

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
  if [ ! -x "$root/usr/lib/postgresql/$PGVER/bin/postgres" ]; then
    cp -a "/usr/lib/postgresql/$PGVER" "$root/usr/lib/postgresql/"
    cp -a "/usr/share/postgresql/$PGVER" "$root/usr/share/postgresql/"
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
  local bin=$root/usr/lib/postgresql/$PGVER/bin
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

# ---- PostgreSQL 17 in a Debian 13 root (debootstrap), cached per machine ----

DLFIN_CHROOT_CACHE=${DLFIN_CHROOT_CACHE:-/var/cache/dlfin/trixie-root}
DLFIN_CHROOT_SUITE=trixie

# Prints the Debian mirror the machine's apt uses for its own release.
dlfin_debian_mirror() {
  local codename f uri
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    if [[ $f == *.sources ]]; then
      uri=$(awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
        { uris = ""; suites = ""; types = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            l = $i; if (l ~ /^[ \t]*#/ || index(l, ":") == 0) continue
            k = tolower(substr(l, 1, index(l, ":") - 1)); v = substr(l, index(l, ":") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", v)
            if (k == "uris") uris = v; else if (k == "suites") suites = v
            else if (k == "types") types = v; else if (k == "enabled") enabled = tolower(v)
          }
          if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " c " ")) {
            split(uris, u, /[ \t]+/); print u[1]; exit
          } }' "$f")
    else
      uri=$(awk -v c="$codename" '$1 == "deb" { i = 2
          if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == c) { print $i; exit } }' "$f")
    fi
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  return 1
}

# Prints the mount points at or below the directory $1, deepest first.
dlfin_mounts_below() {
  awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

# Mounts proc, sys, dev, dev/pts and a private dev/shm into the root $1.
dlfin_chroot_mount() {
  local r=$1
  mount -t proc proc "$r/proc" &&
    mount --bind /dev "$r/dev" &&
    mount --bind /dev/pts "$r/dev/pts" &&
    mount -t tmpfs -o mode=1777 shm "$r/dev/shm" || return 1
  mount -t sysfs sysfs "$r/sys" 2>/dev/null || mount --rbind -o ro /sys "$r/sys" 2>/dev/null || true
}

# Ends the processes still running inside the root $1, then unmounts
# everything at or below it; fails if anything stays mounted.
dlfin_chroot_umount() {
  local r=$1 p m tries
  for tries in 1 2 3; do
    local pids=()
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ] && pids+=("${p#/proc/}")
    done
    [ ${#pids[@]} -eq 0 ] && break
    kill -TERM "${pids[@]}" 2>/dev/null
    sleep 2
    [ "$tries" -eq 3 ] && kill -KILL "${pids[@]}" 2>/dev/null
  done
  for m in $(dlfin_mounts_below "$r"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  [ -z "$(dlfin_mounts_below "$r")" ]
}

# Runs a command as root inside the root $1 with a clean environment;
# further NAME=value arguments before the command are passed to it.
dlfin_chroot_exec() {
  local r=$1; shift
  chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# Makes the cached Debian 13 root with the packages for PostgreSQL $1, or
# reuses it when it is complete; rebuilds it when missing or incomplete.
# Says why on failure.  Holds an exclusive lock while it changes the cache
# (runs using it hold a shared one); sets DLFIN_CHROOT_BUILDING to what it
# has mounted meanwhile, for the caller's exit trap.
dlfin_chroot_ensure() {
  local ver=$1 cache=$DLFIN_CHROOT_CACHE want mirror new rc=0 lockfd
  want="$(dlfin_packages "$ver") postgresql-common"
  mkdir -p "$(dirname "$cache")" || return 1
  exec {lockfd}>"$cache.lock"
  flock -s "$lockfd"
  if [ -f "$cache/.dlfin-ready" ] && [ "$(cat "$cache/.dlfin-ready")" = "$want" ]; then
    exec {lockfd}>&-; return 0
  fi
  flock -x "$lockfd"
  if [ -f "$cache/.dlfin-ready" ] && [ "$(cat "$cache/.dlfin-ready")" = "$want" ]; then
    exec {lockfd}>&-; return 0
  fi
  if ! command -v debootstrap >/dev/null; then
    echo "dlfin: cannot make the Debian 13 root: debootstrap is not installed" >&2
    exec {lockfd}>&-; return 1
  fi
  if ! mirror=$(dlfin_debian_mirror); then
    echo "dlfin: cannot make the Debian 13 root: no Debian mirror found in /etc/apt/sources.list*" >&2
    exec {lockfd}>&-; return 1
  fi
  new=$cache.new
  for d in "$new" "$cache"; do
    if ! dlfin_chroot_umount "$d"; then
      echo "dlfin: cannot make the Debian 13 root: $d has mounts that do not come off" >&2
      exec {lockfd}>&-; return 1
    fi
  done
  if [ -f "$cache/.dlfin-base" ]; then
    new=$cache   # a complete base with other packages: add the missing ones
  else
    rm -rf --one-file-system "$new"
    echo "dlfin: making a Debian 13 root in $cache from $mirror (once per machine)"
    if ! debootstrap --variant=minbase "$DLFIN_CHROOT_SUITE" "$new" "$mirror" >"$cache.log" 2>&1; then
      echo "dlfin: cannot make the Debian 13 root: debootstrap $DLFIN_CHROOT_SUITE $mirror failed; the end of $cache.log:" >&2
      tail -5 "$cache.log" >&2
      exec {lockfd}>&-; return 1
    fi
    echo "deb $mirror $DLFIN_CHROOT_SUITE main" > "$new/etc/apt/sources.list"
    echo "deb $mirror $DLFIN_CHROOT_SUITE-updates main" >> "$new/etc/apt/sources.list"
    # Packages install without starting services or creating a cluster.
    printf '#!/bin/sh\nexit 101\n' > "$new/usr/sbin/policy-rc.d"
    chmod 755 "$new/usr/sbin/policy-rc.d"
    mkdir -p "$new/etc/postgresql-common/createcluster.d"
    echo "create_main_cluster = false" > "$new/etc/postgresql-common/createcluster.d/dlfin.conf"
    touch "$new/.dlfin-base"
  fi
  rm -f "$new/.dlfin-ready"
  cp /etc/resolv.conf "$new/etc/resolv.conf" 2>/dev/null
  cp /etc/hosts "$new/etc/hosts" 2>/dev/null
  echo "dlfin: installing into the Debian 13 root: $want"
  DLFIN_CHROOT_BUILDING=$new
  if dlfin_chroot_mount "$new"; then
    dlfin_chroot_exec "$new" DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$cache.log" 2>&1 &&
      dlfin_chroot_exec "$new" DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $want >>"$cache.log" 2>&1 || rc=1
    dlfin_chroot_exec "$new" apt-get clean >/dev/null 2>&1
  else
    rc=1
  fi
  dlfin_chroot_umount "$new" || rc=1
  DLFIN_CHROOT_BUILDING=
  if [ "$rc" -ne 0 ] || [ ! -x "$new/usr/lib/postgresql/$ver/bin/postgres" ]; then
    echo "dlfin: cannot make the Debian 13 root: installing packages failed; the end of $cache.log:" >&2
    tail -5 "$cache.log" >&2
    exec {lockfd}>&-; return 1
  fi
  echo "$want" > "$new/.dlfin-ready"
  if [ "$new" != "$cache" ]; then
    rm -rf --one-file-system "$cache" && mv "$new" "$cache" || { exec {lockfd}>&-; return 1; }
  fi
  exec {lockfd}>&-
}

# Makes a private, writable view of the cached root in the new directory $1
# (an overlay, so runs never change the cache and may run side by side),
# with proc, dev and shm mounted, and holds a shared lock on the cache until
# dlfin_chroot_release.
dlfin_chroot_open() {
  local w=$1
  exec {DLFIN_CHROOT_LOCKFD}>"$DLFIN_CHROOT_CACHE.lock"
  flock -s "$DLFIN_CHROOT_LOCKFD"
  mkdir -p "$w/upper" "$w/work" "$w/root" || return 1
  mount -t overlay overlay \
    -o "lowerdir=$DLFIN_CHROOT_CACHE,upperdir=$w/upper,workdir=$w/work" "$w/root" || return 1
  mount --make-private "$w/root" 2>/dev/null
  dlfin_chroot_mount "$w/root"
}

# Stops what runs in the view made by dlfin_chroot_open in $1, unmounts it
# and removes it.  Leaves the directory in place if something stays mounted.
dlfin_chroot_release() {
  local w=$1
  local rc=0
  if [ -d "$w" ]; then
    if dlfin_chroot_umount "$w/root"; then
      rm -rf --one-file-system "$w"
    else
      echo "dlfin: $w/root still has mounts; not removing it" >&2
      rc=1
    fi
  fi
  [ -n "${DLFIN_CHROOT_LOCKFD:-}" ] && exec {DLFIN_CHROOT_LOCKFD}>&-
  DLFIN_CHROOT_LOCKFD=
  return $rc
}
