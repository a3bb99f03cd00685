#!/usr/bin/env bash
# "verbose": true reports each epoch as a NOTICE with the training loss,
# validation loss, validation metric and elapsed time.
set -euo pipefail
command psql -X -q -c "DROP DATABASE IF EXISTS dlfin_verbose" -c "CREATE DATABASE dlfin_verbose"
export PGDATABASE=dlfin_verbose
command psql -X -q -c "CREATE EXTENSION dlfin"
trap 'command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS dlfin_verbose"' EXIT
out=$(psql -X -q -At -c "SELECT dlfin_train('{\"epochs\": 3, \"verbose\": true, \"patience\": 50}', i % 3 = 0, i % 7, i % 11)
                         IS NOT NULL FROM generate_series(1, 3000) i" 2>&1)
echo "$out"
for e in 1 2 3; do
  grep -qE "^NOTICE:  epoch $e: train loss [0-9.]+, validation loss [0-9.]+, validation auc [0-9.]+, [0-9.]+ s$" <<<"$out" \
    || { echo "no NOTICE for epoch $e"; exit 1; }
done
[ "$(grep -c '^NOTICE:  epoch' <<<"$out")" -eq 3 ] || { echo "expected exactly 3 epoch notices"; exit 1; }
# without the option, training is silent
quiet=$(psql -X -q -At -c "SELECT dlfin_train('{\"epochs\": 2}', i % 3 = 0, i % 7) IS NOT NULL FROM generate_series(1, 300) i" 2>&1)
[ "$quiet" = "t" ] || { echo "unexpected output without verbose: $quiet"; exit 1; }
