#!/usr/bin/env bash
# Every SQL example of README.md and doc/*.md runs as written (issue 17):
# test/docs/docs.py runs them in order per file, checks the outputs shown
# and the SQLSTATEs of the examples that must fail.  They run in the
# database pg_cron works in (the README schedules a retrain), inside a
# transaction that is rolled back, so the database is left as it was.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=$(psql -X -At -d postgres -c "SELECT coalesce(current_setting('cron.database_name', true), 'postgres')")
if [ "$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_extension WHERE extname = 'dlfin'")" != 0 ]; then
  echo "database $db already has dlfin: the README's CREATE EXTENSION would fail"; exit 1
fi
DOCS_DB=$db python3 test/docs/docs.py
