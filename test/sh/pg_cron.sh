#!/usr/bin/env bash
# Scheduled retraining with pg_cron: a job running dlfin.retrain every
# minute produces a new version within about 80 s.  The cluster of
# scripts/test preloads pg_cron with cron.database_name = 'postgres'.
set -euo pipefail
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

psql -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
had_dlfin=$(psql -Atc "SELECT count(*) FROM pg_extension WHERE extname = 'dlfin'")
psql -c "CREATE EXTENSION IF NOT EXISTS dlfin"
psql -Atc "SELECT dlfin.drop_model('cron_loans') FROM dlfin.models WHERE name = 'cron_loans' LIMIT 1" >/dev/null
psql <<'SQL'
DROP TABLE IF EXISTS cron_loans;
CREATE TABLE cron_loans AS
SELECT i AS id, (i * 7919) % 1000 AS income, (i * 31) % 50 AS age
FROM generate_series(1, 1000) AS i;
ALTER TABLE cron_loans ADD COLUMN approved boolean;
UPDATE cron_loans SET approved = income / 100.0 - age / 10.0 + ((id * 2654435761) % 100) / 50.0 > 3;
SELECT dlfin.train('cron_loans', 'SELECT approved, income, age FROM cron_loans', 'approved',
                   '{"epochs": 5, "hidden": [4]}');
SELECT cron.schedule('dlfin-retrain-test', '* * * * *', $$SELECT dlfin.retrain('cron_loans')$$);
SQL
cleanup() { psql -c "SELECT cron.unschedule('dlfin-retrain-test')" >/dev/null 2>&1 || true; }
trap cleanup EXIT

for i in $(seq 1 85); do
  n=$(psql -Atc "SELECT count(*) FROM dlfin.models WHERE name = 'cron_loans'")
  if [ "$n" -ge 2 ]; then
    echo "pg_cron retrained after ${i}s"
    psql -Atc "SELECT version, status, created_by, decision->>'reason' FROM dlfin.models WHERE name = 'cron_loans' ORDER BY version"
    psql -Atc "SELECT status, return_message FROM cron.job_run_details ORDER BY runid DESC LIMIT 1"
    psql -Atc "SELECT dlfin.drop_model('cron_loans')" >/dev/null
    psql -c "DROP TABLE cron_loans"
    [ "$had_dlfin" = 1 ] || psql -c "DROP EXTENSION dlfin"
    exit 0
  fi
  sleep 1
done
echo "no new version after 85 s; pg_cron job runs:"
psql -Atc "SELECT status, return_message FROM cron.job_run_details ORDER BY runid DESC LIMIT 5"
exit 1
