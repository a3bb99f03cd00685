#!/usr/bin/env bash
# ALTER EXTENSION dlfin UPDATE from the previous release (issue 14): a
# database created with dlfin 0.1.0 (its install script is kept in
# test/upgrade/) with trained, deployed, rolled-back and dropped models
# upgrades to the current version, keeps every version and history row,
# scores the same, gets the current registry's rules, and ends with exactly
# the objects of a fresh install (functions with their labels, costs, owners,
# privileges and bodies; tables, policies, triggers).
set -euo pipefail
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
old=0.1.0
new=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" dlfin.control)
share=$(psql -d postgres -Atc "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
cp "test/upgrade/dlfin--$old.sql" "$share/extension/"
cleanup() {
  command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS up_old" -c "DROP DATABASE IF EXISTS up_new" \
    -c "DROP ROLE IF EXISTS up_bob" >/dev/null 2>&1 || true
  rm -f "$share/extension/dlfin--$old.sql"
}
cleanup
cp "test/upgrade/dlfin--$old.sql" "$share/extension/"
trap cleanup EXIT
psql -d postgres -c "CREATE DATABASE up_old" -c "CREATE DATABASE up_new" -c "CREATE ROLE up_bob LOGIN"

psql -d up_old >/dev/null <<SQL
CREATE EXTENSION dlfin VERSION '$old';
CREATE TABLE loans AS
SELECT i AS id, (20000 + (i * 7919) % 80000)::integer AS income, (20 + (i * 31) % 50)::integer AS age,
       (ARRAY['north', 'south', 'east'])[1 + i % 3] AS region
FROM generate_series(1, 500) AS i;
ALTER TABLE loans ADD COLUMN approved boolean;
UPDATE loans SET approved = income / 10000.0 - age / 10.0 + ((id * 2654435761) % 1000) / 500.0 > 3;
SELECT dlfin.train('m', 'SELECT approved, income, age, region FROM loans', 'approved', '{"epochs": 3, "hidden": [8]}');
SELECT dlfin.train('m', 'SELECT approved, income, age FROM loans', 'approved', '{"epochs": 2}', 'always');
SELECT dlfin.rollback('m');
SELECT dlfin.train('m', 'SELECT approved, income FROM loans', 'approved', '{"epochs": 2}', 'never');
SELECT dlfin.drop_model('m', 3);
SELECT dlfin.train('gone', 'SELECT approved, income FROM loans', 'approved', '{"epochs": 1}');
SELECT dlfin.drop_model('gone');
CREATE TABLE my_models AS SELECT 'bytes' AS name, dlfin_train('{"epochs": 2, "hidden": [4]}', approved, income, age) AS model FROM loans;
-- a user object that depends on dlfin: the upgrade must not need to drop it
CREATE VIEW scored AS SELECT id, dlfin_predict('m', income, age, region) AS p FROM loans;
SQL
v=$(psql -d up_old -Atc "SELECT extversion FROM pg_extension WHERE extname = 'dlfin'")
[ "$v" = "$old" ] || { echo "installed $v, not $old"; exit 1; }

snapshot() {
  psql -d up_old -At <<'SQL'
SELECT 'models', md5(string_agg(to_jsonb(m)::text, '|' ORDER BY name, version)), count(*) FROM dlfin.models m;
SELECT 'history', md5(string_agg(to_jsonb(d)::text, '|' ORDER BY id)), count(*) FROM dlfin.deployments d;
SET extra_float_digits = 3;
SELECT 'scores', sum(p) FROM scored;
SELECT 'bytes', sum(dlfin_predict(m.model, income, age)) FROM loans, my_models m;
SQL
}
before=$(snapshot)
psql -d up_old -c "ALTER EXTENSION dlfin UPDATE"
v=$(psql -d up_old -Atc "SELECT extversion FROM pg_extension WHERE extname = 'dlfin'")
[ "$v" = "$new" ] || { echo "updated to $v, not $new"; exit 1; }
after=$(snapshot)
diff <(echo "$before") <(echo "$after") || { echo "the registry or the scores changed in the upgrade"; exit 1; }
echo "upgraded $old -> $new: registry and scores unchanged"

# the current registry's rules hold on the upgraded data
psql -d up_old -c "GRANT SELECT ON loans TO up_bob"
out=$(PGUSER=up_bob psql -d up_old -c "INSERT INTO dlfin.deployments (name, version, action, owner, changed_at, changed_by, session_user_name) VALUES ('m', 1, 'deploy', 'up_bob', now(), 'x', 'x')" 2>&1 || true)
grep -q 'permission denied' <<<"$out" || { echo "history writable after the upgrade: $out"; exit 1; }
n=$(psql -d up_old -Atc "SELECT dlfin.train('m', 'SELECT approved, income FROM loans', 'approved', '{\"epochs\": 1, \"force\": true}', 'never')")
[ "$n" = 4 ] || { echo "the next version after the upgrade is $n, not 4"; exit 1; }
n=$(psql -d up_old -Atc "SELECT dlfin.train('gone', 'SELECT approved, income FROM loans', 'approved', '{\"epochs\": 1}')")
[ "$n" = 2 ] || { echo "a dropped name restarted at version $n after the upgrade"; exit 1; }

# the upgraded extension has exactly the objects of a fresh install
psql -d up_new -c "CREATE EXTENSION dlfin"
catalog() {
  psql -d "$1" -At <<'SQL'
WITH members AS (
  SELECT classid, objid FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'dlfin'))
SELECT pg_describe_object(classid, objid, 0) ||
       coalesce(' comment=' || md5((SELECT d.description FROM pg_description d
                                    WHERE d.classoid = classid AND d.objoid = objid AND d.objsubid = 0)), '') ||
       coalesce((SELECT format(' [%s %s %s cost=%s rows=%s secdef=%s config=%s acl=%s owner=%s args=%s body=%s]',
                               p.provolatile, p.proisstrict, p.proparallel, p.procost, p.prorows,
                               p.prosecdef, p.proconfig,
                               p.proacl, p.proowner::regrole, pg_get_function_arguments(p.oid),
                               md5(coalesce(pg_get_function_sqlbody(p.oid), p.prosrc)))
                 FROM pg_proc p WHERE classid = 'pg_proc'::regclass AND p.oid = objid), '') ||
       coalesce((SELECT format(' [acl=%s rls=%s cols=%s]', c.relacl, c.relrowsecurity,
                               (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod)
                                                  || ':' || a.attnotnull, ',' ORDER BY a.attnum)
                                FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
                 FROM pg_class c WHERE classid = 'pg_class'::regclass AND c.oid = objid), '')
FROM members
UNION ALL
SELECT 'column comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' ' || md5(d.description)
FROM pg_description d JOIN members m ON m.classid = d.classoid AND m.objid = d.objoid WHERE d.objsubid > 0
UNION ALL
SELECT 'policy ' || polname || ' on ' || polrelid::regclass || ' ' || polcmd::text || ' ' || pg_get_expr(polqual, polrelid)
FROM pg_policy WHERE polrelid::regclass::text LIKE 'dlfin.%'
UNION ALL
SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass || ' ' || tgfoid::regprocedure
FROM pg_trigger WHERE tgrelid::regclass::text LIKE 'dlfin.%' AND NOT tgisinternal
UNION ALL
SELECT 'config ' || c::regclass FROM pg_extension, unnest(extconfig) c WHERE extname = 'dlfin'
ORDER BY 1;
SQL
}
fresh=$(catalog up_new)
upgraded=$(catalog up_old)
[ -n "$fresh" ] || { echo "no catalog rows: this comparison proves nothing"; exit 1; }
if ! diff <(echo "$fresh") <(echo "$upgraded"); then
  echo "the upgraded extension differs from a fresh install (< fresh, > upgraded)"
  exit 1
fi
echo "upgrade: ok ($(echo "$fresh" | wc -l) objects identical to a fresh install)"
