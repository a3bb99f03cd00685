#!/usr/bin/env bash
# Scheduled retraining with pg_cron: a job running dlfin.retrain every
# minute produces a new version within about 80 s.  The cluster of
# scripts/test preloads pg_cron with cron.database_name = 'postgres'.
#
# The same minute replays the registry attack of a scheduled job (doc/
# security.md): cron_alice, a plain role, owns a model whose query calls
# her function, which makes her superuser if it ever runs with a
# superuser's rights.  The superuser's job retrains her model (it must run
# her query as her); a job of cron_ops, a third role with no rights on her
# model, must fail without touching it.
set -euo pipefail
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

psql -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
had_dlfin=$(psql -Atc "SELECT count(*) FROM pg_extension WHERE extname = 'dlfin'")
psql -c "CREATE EXTENSION IF NOT EXISTS dlfin"
psql -Atc "SELECT dlfin.drop_model(name) FROM dlfin.models WHERE name IN ('cron_loans', 'cron_alice_m') GROUP BY name" >/dev/null
psql <<'SQL'
DROP TABLE IF EXISTS cron_loans, cron_log;
DROP SCHEMA IF EXISTS cron_a CASCADE;
DROP ROLE IF EXISTS cron_alice;
DROP ROLE IF EXISTS cron_ops;
CREATE ROLE cron_alice LOGIN;
CREATE ROLE cron_ops LOGIN;
GRANT USAGE ON SCHEMA cron TO cron_ops;
CREATE TABLE cron_loans AS
SELECT i AS id, (i * 7919) % 1000 AS income, (i * 31) % 50 AS age
FROM generate_series(1, 1000) AS i;
ALTER TABLE cron_loans ADD COLUMN approved boolean;
UPDATE cron_loans SET approved = income / 100.0 - age / 10.0 + ((id * 2654435761) % 100) / 50.0 > 3;
CREATE TABLE cron_log (who text);
GRANT SELECT ON cron_loans TO cron_alice;
GRANT INSERT ON cron_log TO cron_alice;
CREATE SCHEMA cron_a AUTHORIZATION cron_alice;
SELECT dlfin.train('cron_loans', 'SELECT approved, income, age FROM cron_loans', 'approved',
                   '{"epochs": 5, "hidden": [4]}');
SELECT cron.schedule('dlfin-retrain-test', '* * * * *', $$SELECT dlfin.retrain('cron_loans')$$);
SELECT cron.schedule('dlfin-retrain-alice', '* * * * *', $$SELECT dlfin.retrain('cron_alice_m')$$);
SQL
PGUSER=cron_alice psql <<'SQL'
CREATE FUNCTION cron_a.escalate(v int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.cron_log VALUES (current_user);
  BEGIN
    EXECUTE 'ALTER ROLE cron_alice SUPERUSER';
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
  RETURN v;
END $$;
SELECT dlfin.train('cron_alice_m', 'SELECT approved, cron_a.escalate(income) AS income, age FROM public.cron_loans',
                   'approved', '{"epochs": 2, "hidden": [4]}');
SQL
# new rows since training: a retrain on unchanged rows would record nothing
psql -c "INSERT INTO cron_loans SELECT id + 1000, income, age, approved FROM cron_loans WHERE id <= 50"
PGUSER=cron_ops psql -c "SELECT cron.schedule('dlfin-retrain-ops', '* * * * *', \$\$SELECT dlfin.retrain('cron_alice_m')\$\$)"
cleanup() {
  for j in dlfin-retrain-test dlfin-retrain-alice; do psql -c "SELECT cron.unschedule('$j')" >/dev/null 2>&1 || true; done
  PGUSER=cron_ops psql -c "SELECT cron.unschedule('dlfin-retrain-ops')" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Reports the last run of a job.
job_run() {
  psql -Atc "SELECT d.status || ': ' || coalesce(d.return_message, '') FROM cron.job_run_details d
             JOIN cron.job j USING (jobid) WHERE j.jobname = '$1' ORDER BY d.runid DESC LIMIT 1"
}

for i in $(seq 1 85); do
  n=$(psql -Atc "SELECT count(*) FILTER (WHERE name = 'cron_loans') >= 2 AND count(*) FILTER (WHERE name = 'cron_alice_m') >= 2
                 AND (SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                      WHERE j.jobname = 'dlfin-retrain-ops' AND d.status IN ('failed', 'succeeded')) > 0
                 FROM dlfin.models")
  if [ "$n" = t ]; then
    echo "pg_cron retrained after ${i}s"
    psql -Atc "SELECT name, version, status, owner, created_by, decision->>'reason' FROM dlfin.models
               WHERE name IN ('cron_loans', 'cron_alice_m') ORDER BY name, version"
    job_run dlfin-retrain-test
    alice=$(job_run dlfin-retrain-alice); ops=$(job_run dlfin-retrain-ops)
    echo "superuser's job on alice's model: $alice"; echo "cron_ops's job: $ops"
    super=$(psql -Atc "SELECT rolsuper FROM pg_roles WHERE rolname = 'cron_alice'")
    [ "$super" = f ] || { echo "ESCALATION: the superuser's job ran alice's query with its rights"; exit 1; }
    who=$(psql -Atc "SELECT string_agg(DISTINCT who, ',') FROM cron_log")
    [ "$who" = cron_alice ] || { echo "alice's query ran as: $who"; exit 1; }
    case "$alice" in succeeded*) ;; *) echo "the superuser's job failed"; exit 1 ;; esac
    case "$ops" in "failed: ERROR:  dlfin model \"cron_alice_m\" does not exist"*) ;;
      *) echo "cron_ops's job on a model it has no rights on did not fail as expected"; exit 1 ;; esac
    owner=$(psql -Atc "SELECT string_agg(DISTINCT owner::text, ',') FROM dlfin.models WHERE name = 'cron_alice_m'")
    [ "$owner" = cron_alice ] || { echo "alice's model changed owner: $owner"; exit 1; }
    psql -Atc "SELECT dlfin.drop_model(name) FROM dlfin.models WHERE name IN ('cron_loans', 'cron_alice_m') GROUP BY name" >/dev/null
    psql -c "DROP TABLE cron_loans, cron_log" -c "DROP SCHEMA cron_a CASCADE"
    cleanup
    psql -c "REVOKE USAGE ON SCHEMA cron FROM cron_ops" -c "DROP ROLE cron_ops" -c "DROP ROLE cron_alice"
    [ "$had_dlfin" = 1 ] || psql -c "DROP EXTENSION dlfin"
    exit 0
  fi
  sleep 1
done
echo "no new versions after 85 s; pg_cron job runs:"
psql -Atc "SELECT j.jobname, d.status, d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid)
           ORDER BY d.runid DESC LIMIT 6"
exit 1
