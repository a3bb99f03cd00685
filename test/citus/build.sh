#!/usr/bin/env bash
# test/citus/build.sh: builds Citus 13.2.2 for PostgreSQL 15 once per machine.
#
# Finds the source tarball in $CITUS_SRC or ../shared/vendor/ (beside the
# repository), installs its Debian build dependencies, applies the PostgreSQL
# 15.x compatibility patch and stages the result with DESTDIR into a cache
# ($DLFIN_CITUS_CACHE, default /var/cache/dlfin/citus-13.2.2-pg15) that later
# runs reuse; the system PostgreSQL is never touched.  Prints the cache
# directory on success.  Exits 2 (after one "skipped: no Citus source" line)
# when there is no source.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

CITUS_VERSION=13.2.2
cache=${DLFIN_CITUS_CACHE:-/var/cache/dlfin/citus-$CITUS_VERSION-pg15}

# Prints the path of the source tarball, or nothing.
find_source() {
  local c
  for c in "${CITUS_SRC:-}" "$DLFIN_TOP/../shared/vendor/citus-$CITUS_VERSION.tar.gz" \
           "$DLFIN_TOP/../../shared/vendor/citus-$CITUS_VERSION.tar.gz"; do
    [ -n "$c" ] && [ -f "$c" ] && { echo "$c"; return 0; }
  done
  return 0
}

if [ -f "$cache/.complete" ]; then
  echo "$cache"; exit 0
fi

src=$(find_source)
if [ -z "$src" ]; then
  echo "skipped: no Citus source (set CITUS_SRC or put citus-$CITUS_VERSION.tar.gz in ../shared/vendor/)" >&2
  exit 2
fi
patchfile=$(dirname "$src")/citus-$CITUS_VERSION-pg15-compat.patch

dlfin_apt postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev \
  libkrb5-dev build-essential >&2

mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9                                 # one build per machine at a time
if [ -f "$cache/.complete" ]; then echo "$cache"; exit 0; fi

tmp=$(mktemp -d "$(dirname "$cache")/citus-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "dlfin: building Citus $CITUS_VERSION from $src (once per machine, a few minutes)" >&2
tar -xzf "$src" -C "$tmp"
srcdir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
if [ -f "$patchfile" ] && ! grep -q citus_have_createdb_privilege "$srcdir/src/include/pg_version_compat.h"; then
  patch -s -p1 -d "$srcdir" < "$patchfile" >&2
fi
(
  cd "$srcdir"
  ./configure --quiet PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >&2
  make -s -j"${DLFIN_CITUS_JOBS:-2}" >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; exit 1; }
  make -s install DESTDIR="$tmp/stage" >>"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; exit 1; }
)
sha256sum "$src" | cut -d' ' -f1 > "$tmp/stage/.source-sha256"
rm -rf "$cache"
mv "$tmp/stage" "$cache"
touch "$cache/.complete"
echo "$cache"
