#!/usr/bin/env bash
# Privileges and hostile search_path (README, "Security", "Privileges").
#
# dlfin is not a trusted extension: a database owner without superuser
# cannot install it.  A hostile database owner who plants trap functions
# and operators in public (the target schema) before a superuser installs
# dlfin there, and who puts their own schema first in search_path, gains
# nothing: the install script resolves nothing to their objects, and the
# extension's functions, called with that search_path, never reach a trap.
# Each trap, if run by a superuser, would make the hostile role superuser.
set -euo pipefail
su() { command psql -X -q -v ON_ERROR_STOP=1 -d dlfin_priv "$@"; }
app() { PGUSER=dlfin_app command psql -X -q -v ON_ERROR_STOP=1 -d dlfin_priv "$@"; }

command psql -X -q -d postgres -v ON_ERROR_STOP=1 <<'SQL'
DROP DATABASE IF EXISTS dlfin_priv;
DROP ROLE IF EXISTS dlfin_app;
CREATE ROLE dlfin_app LOGIN;
CREATE DATABASE dlfin_priv OWNER dlfin_app;
SQL
cleanup() {
  command psql -X -q -d postgres -c "DROP DATABASE IF EXISTS dlfin_priv" -c "DROP ROLE IF EXISTS dlfin_app" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# 1. the database owner cannot install dlfin (trusted = false)
out=$(app -c "CREATE EXTENSION dlfin" 2>&1 || true)
echo "$out"
grep -q 'permission denied to create extension "dlfin"' <<<"$out" || { echo "a non-superuser installed dlfin"; exit 1; }
grep -q 'Must be superuser' <<<"$out" || { echo "unexpected hint"; exit 1; }

# 2. the owner plants traps in public (which it owns) and in its own schema
app <<'SQL'
CREATE SCHEMA evil;
CREATE FUNCTION evil.escalate() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  -- succeeds only when run by a superuser
  EXECUTE 'ALTER ROLE dlfin_app SUPERUSER';
  RETURN true;
EXCEPTION WHEN insufficient_privilege THEN
  RETURN true;
END $$;
DO $do$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['public', 'evil'] LOOP
    -- functions that an unqualified call with varchar/unknown/int arguments
    -- would prefer over the pg_catalog ones
    EXECUTE format($f$
      CREATE FUNCTION %1$I.length(varchar) RETURNS int LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN 0 END';
      CREATE FUNCTION %1$I.lower(varchar) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN $1 END';
      CREATE FUNCTION %1$I.upper(varchar) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN $1 END';
      CREATE FUNCTION %1$I.concat(varchar, varchar) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN $1 END';
      CREATE FUNCTION %1$I.format(varchar, varchar) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN $1 END';
      CREATE FUNCTION %1$I.jsonb_build_object(varchar, varchar) RETURNS jsonb LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN ''{}''::jsonb END';
      CREATE FUNCTION %1$I.to_jsonb(varchar) RETURNS jsonb LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN ''{}''::jsonb END';
      CREATE FUNCTION %1$I.now(int) RETURNS timestamptz LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN pg_catalog.now() END';
      CREATE FUNCTION %1$I.trap_eq(varchar, varchar) RETURNS boolean LANGUAGE sql AS 'SELECT evil.escalate()';
      CREATE FUNCTION %1$I.trap_eq_int(int, numeric) RETURNS boolean LANGUAGE sql AS 'SELECT evil.escalate()';
      CREATE FUNCTION %1$I.trap_cat(varchar, varchar) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN evil.escalate() THEN $1 END';
      CREATE OPERATOR %1$I.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = %1$I.trap_eq);
      CREATE OPERATOR %1$I.= (LEFTARG = int, RIGHTARG = numeric, FUNCTION = %1$I.trap_eq_int);
      CREATE OPERATOR %1$I.|| (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = %1$I.trap_cat);
    $f$, s);
  END LOOP;
END $do$;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
SQL

# 3. a superuser installs dlfin into public with the hostile schema first
su <<'SQL'
SET search_path = evil, public;
CREATE EXTENSION dlfin SCHEMA public;
SQL
r=$(su -At -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'dlfin_app'")
[ "$r" = f ] || { echo "the install script ran a trap"; exit 1; }

# 4. the catalog: nothing of dlfin depends on an object outside pg_catalog
# and the extension itself (a reference resolved to a trap would show here)
bad=$(su -At <<'SQL'
WITH members AS (
  SELECT classid, objid FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'dlfin') AND deptype = 'e'
), refs AS (
  SELECT d.refclassid, d.refobjid FROM pg_depend d JOIN members m USING (classid, objid)
  WHERE d.deptype = 'n'
)
SELECT pg_describe_object(r.refclassid, r.refobjid, 0) FROM refs r
WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.classid = r.refclassid AND m.objid = r.refobjid)
  -- the row type of a member table (dlfin.models) is the table's own
  AND NOT EXISTS (SELECT 1 FROM members m JOIN pg_type t ON t.typrelid = m.objid
                  WHERE m.classid = 'pg_class'::regclass AND r.refclassid = 'pg_type'::regclass
                    AND t.oid = r.refobjid)
  AND CASE r.refclassid
        WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = r.refobjid)
        WHEN 'pg_operator'::regclass THEN (SELECT oprnamespace FROM pg_operator WHERE oid = r.refobjid)
        WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = r.refobjid)
        WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = r.refobjid)
        -- languages have no schema: the built-in ones are as safe as pg_catalog
        WHEN 'pg_language'::regclass THEN CASE WHEN (SELECT lanname FROM pg_language WHERE oid = r.refobjid)
                                                    IN ('plpgsql', 'sql', 'c', 'internal')
                                               THEN 'pg_catalog'::regnamespace END
        WHEN 'pg_namespace'::regclass THEN CASE WHEN r.refobjid IN ('public'::regnamespace, 'pg_catalog'::regnamespace)
                                                THEN 'pg_catalog'::regnamespace END
        ELSE NULL
      END IS DISTINCT FROM 'pg_catalog'::regnamespace;
SQL
)
[ -z "$bad" ] || { echo "dlfin objects depend on objects outside pg_catalog:"; echo "$bad"; exit 1; }

# 5. no SECURITY DEFINER function without a pinned search_path
secdef=$(su -At <<'SQL'
SELECT p.oid::regprocedure FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dlfin'
WHERE p.prosecdef AND NOT coalesce(p.proconfig::text LIKE '%search_path=%', false);
SQL
)
[ -z "$secdef" ] || { echo "SECURITY DEFINER without SET search_path: $secdef"; exit 1; }

# 6. the owner uses dlfin with its traps first in search_path (pg_catalog
# last, so the traps win every tie): no trap runs
out=$(app -At <<'SQL'
SET search_path = evil, public, pg_catalog;
CREATE TABLE d AS SELECT i, (i % 2 = 0) AS y, i::float8 AS x, ('c' || i % 3)::varchar AS c,
  (i % 3)::int AS k FROM generate_series(1, 300) i;
CREATE TABLE m AS SELECT dlfin_train('{"epochs": 2, "hidden": [4]}', y, x, c) AS m,
  dlfin_train('{"epochs": 1}'::json, c, x, k) AS mc FROM d;
SELECT 'scores', count(*) FROM d, m WHERE dlfin_predict(m.m, x, c) BETWEEN 0 AND 1
  AND dlfin_predict_class(m.mc, x, k) IS NOT NULL AND dlfin_predict_proba(m.mc, x, k) IS NOT NULL;
SELECT 'info', dlfin_model_info(m) ->> 'task' FROM m;
SELECT 'metrics', dlfin_auc(dlfin_predict(m.m, x, c), y) IS NOT NULL,
  dlfin_metrics(dlfin_predict(m.m, x, c), y) IS NOT NULL,
  dlfin_multiclass_metrics(dlfin_predict_class(m.mc, x, k), c::text) IS NOT NULL,
  dlfin_regression_metrics(x, x + 1) IS NOT NULL, count(DISTINCT dlfin_split(i, 0.2)) FROM d, m;
-- the memory GUC is USERSET (like work_mem): a user may raise it for itself
SET dlfin.max_training_memory = '2GB';
SELECT 'guc', current_setting('dlfin.max_training_memory');
SQL
)
echo "$out"
grep -q '^scores|300$' <<<"$out" || { echo "scoring as a non-superuser failed"; exit 1; }
grep -q '^info|binary$' <<<"$out" || { echo "model_info as a non-superuser failed"; exit 1; }
grep -q '^metrics|t|t|t|t|2$' <<<"$out" || { echo "metrics as a non-superuser failed"; exit 1; }
r=$(su -At -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'dlfin_app'")
[ "$r" = f ] || { echo "a dlfin function ran a trap"; exit 1; }

# 6b. the registry, as the owner plants exact-type overloads of dlfin's "any"
# functions in public (which it owns): a superuser who trains, retrains the
# owner's model or draws its card reaches none of them, and the owner's own
# stored query runs with the owner's rights only
app <<'SQL'
CREATE FUNCTION public.dlfin_split(k text, f float8, s integer) RETURNS text LANGUAGE sql
  AS 'SELECT CASE WHEN evil.escalate() THEN ''train'' END';
CREATE FUNCTION public.dlfin_predict(m bytea, x float8, c varchar) RETURNS float8 LANGUAGE sql
  AS 'SELECT CASE WHEN evil.escalate() THEN 0.5 END';
CREATE FUNCTION public.dlfin_predict(m bytea, x float8) RETURNS float8 LANGUAGE sql
  AS 'SELECT CASE WHEN evil.escalate() THEN 0.5 END';
CREATE FUNCTION public.dlfin_predict_class(m bytea, x float8, k int) RETURNS text LANGUAGE sql
  AS 'SELECT CASE WHEN evil.escalate() THEN ''c0'' END';
-- the owner's model: its query calls the trap, which escalates only if a
-- superuser's rights run it
SET search_path = evil, public, pg_catalog;
SELECT dlfin.train('app_m', 'SELECT y, x, c FROM d WHERE evil.escalate()', 'y', '{"epochs": 1, "hidden": [4]}');
SQL
su <<'SQL'
SET search_path = evil, public, pg_catalog;
SELECT dlfin.train('su_m', 'SELECT y, x, c FROM evil.d', 'y', '{"epochs": 1, "hidden": [4]}');
SELECT dlfin.train('su_mc', 'SELECT c, x, k FROM evil.d', 'c', '{"epochs": 1}');
INSERT INTO evil.d SELECT i + 300, y, x, c, k FROM evil.d WHERE i <= 10;  -- new rows: a new version
SELECT dlfin.retrain('app_m');
SELECT pg_catalog.length(dlfin.model_card('app_m')) > 0;
SELECT pg_catalog.length(dlfin.model_card('su_m', NULL, '{"drift": "evil.d"}')) > 0;
SQL
r=$(su -At -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'dlfin_app'")
[ "$r" = f ] || { echo "the registry ran a trap with a superuser's rights"; exit 1; }
n=$(su -At -c "SELECT count(*) FROM dlfin.models WHERE name = 'app_m' AND owner = 'dlfin_app'::regrole")
[ "$n" = 2 ] || { echo "the superuser's retrain of app_m did not record a version owned by dlfin_app ($n)"; exit 1; }

# 7. the aggregate support functions take internal: not callable from SQL
out=$(app -c "SELECT dlfin_train_final(NULL::internal)" 2>&1 || true)
grep -q 'cannot cast type unknown to internal' <<<"$out" || { echo "support function callable: $out"; exit 1; }
out=$(app -c "CREATE AGGREGATE evil.a(float8, bool) (SFUNC = dlfin.dlfin_bin_trans, STYPE = internal, FINALFUNC = dlfin.dlfin_train_final)" 2>&1 || true)
grep -q 'aggregate transition data type cannot be internal' <<<"$out" || { echo "a non-superuser built an internal-state aggregate: $out"; exit 1; }

# 8. control: the traps are armed (a superuser calling one escalates)
su -At -c "SET search_path = evil, public" -c "SELECT length('x'::varchar), 'a'::varchar = 'b'::varchar" >/dev/null
r=$(su -At -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'dlfin_app'")
[ "$r" = t ] || { echo "the traps never fire: this test proves nothing"; exit 1; }

echo "privileges: ok"
