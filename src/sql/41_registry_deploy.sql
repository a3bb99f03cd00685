-- dlfin install script, part 41: deploy, roll back and drop registry models.
--
-- Each public function (dlfin.deploy, ...) is the C entry
-- dlfin_registry_call, which calls dlfin.registry_<name> with the calling
-- role as first argument.  The registry_* functions run as the extension's
-- owner (SECURITY DEFINER, no EXECUTE for anyone else), so they check the
-- caller's rights on the name themselves: a caller acts on the models of
-- the roles it has the privileges of, and sees no other.

-- Raises the error for a name the caller cannot see or that has no version.
CREATE OR REPLACE FUNCTION dlfin.registry_no_model(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'dlfin model "%" does not exist', name
        USING ERRCODE = 'undefined_object',
              HINT = 'SELECT name, version FROM dlfin.models lists the models you may see; train one with dlfin.train().';
END
$$;

-- True when the caller may act on the models of the owner.
CREATE OR REPLACE FUNCTION dlfin.registry_may(caller pg_catalog.regrole, owner pg_catalog.regrole)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.pg_has_role(caller::pg_catalog.oid, owner::pg_catalog.oid, 'USAGE');

-- Locks an existing model name for the rest of the transaction (the row
-- lock serialises train, deploy and drop of one name; no other role can
-- take it, since locking a row needs UPDATE on dlfin.names) and returns its
-- owner.  Rights are checked before the lock, so a role without them never
-- waits on nor holds it.
CREATE OR REPLACE FUNCTION dlfin.registry_lock(caller pg_catalog.regrole, name text)
RETURNS pg_catalog.regrole
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner pg_catalog.regrole;
BEGIN
    FOR i IN 1 .. 2 LOOP
        IF i = 1 THEN
            SELECT n.owner INTO v_owner FROM dlfin.names n WHERE n.name = registry_lock.name;
        ELSE
            SELECT n.owner INTO v_owner FROM dlfin.names n WHERE n.name = registry_lock.name FOR UPDATE;
        END IF;
        IF v_owner IS NULL OR NOT dlfin.registry_may(caller, v_owner)
           OR NOT EXISTS (SELECT FROM dlfin.models m WHERE m.name = registry_lock.name) THEN
            PERFORM dlfin.registry_no_model(registry_lock.name);
        END IF;
    END LOOP;
    RETURN v_owner;
END
$$;

-- Appends a history entry, stamped with the time and the caller.
CREATE OR REPLACE FUNCTION dlfin.registry_log(caller pg_catalog.regrole, name text, version integer,
                                   previous_version integer, action text, reason text,
                                   owner pg_catalog.regrole)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO dlfin.deployments (name, version, previous_version, action, reason, owner,
                                   changed_at, changed_by, session_user_name)
    VALUES (name, version, previous_version, action, reason, owner,
            pg_catalog.clock_timestamp(), pg_catalog.pg_get_userbyid(caller::pg_catalog.oid),
            pg_catalog."session_user"());
END;

-- Makes a version the deployed one and records why; returns the version.
CREATE OR REPLACE FUNCTION dlfin.registry_deploy(caller pg_catalog.regrole, name text, version integer, reason text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner pg_catalog.regrole;
    v_current integer;
BEGIN
    IF registry_deploy.name IS NULL OR registry_deploy.version IS NULL THEN
        RAISE EXCEPTION 'dlfin.deploy needs a model name and a version'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_owner := dlfin.registry_lock(caller, registry_deploy.name);
    IF NOT EXISTS (SELECT FROM dlfin.models m
                   WHERE m.name = registry_deploy.name AND m.version = registry_deploy.version) THEN
        RAISE EXCEPTION 'dlfin model "%" has no version %', registry_deploy.name, registry_deploy.version
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT version FROM dlfin.models WHERE name = ... lists the versions.';
    END IF;
    SELECT m.version INTO v_current FROM dlfin.models m
    WHERE m.name = registry_deploy.name AND m.status = 'deployed';
    IF v_current = registry_deploy.version THEN
        RETURN v_current;
    END IF;
    UPDATE dlfin.models m SET status = 'retired'
    WHERE m.name = registry_deploy.name AND m.status = 'deployed';
    UPDATE dlfin.models m SET status = 'deployed'
    WHERE m.name = registry_deploy.name AND m.version = registry_deploy.version;
    PERFORM dlfin.registry_log(caller, registry_deploy.name, registry_deploy.version, v_current,
                               'deploy', registry_deploy.reason, v_owner);
    RETURN registry_deploy.version;
END
$$;

CREATE OR REPLACE FUNCTION dlfin.deploy(name text, version integer, reason text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'dlfin_registry_call'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION dlfin.deploy(text, integer, text) IS
'deploys a version of a named model (scoring by name uses it from the next statement) and records it in dlfin.deployments';

-- Re-deploys the version that was deployed before the current one.
CREATE OR REPLACE FUNCTION dlfin.registry_rollback(caller pg_catalog.regrole, name text, reason text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner pg_catalog.regrole;
    v_current integer;
    v_event_id bigint;
    v_target integer;
    v_before integer;
BEGIN
    IF registry_rollback.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.rollback needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_owner := dlfin.registry_lock(caller, registry_rollback.name);
    SELECT m.version INTO v_current FROM dlfin.models m
    WHERE m.name = registry_rollback.name AND m.status = 'deployed';
    IF v_current IS NULL THEN
        RAISE EXCEPTION 'dlfin model "%" has no deployed version to roll back', registry_rollback.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Deploy a version with dlfin.deploy().';
    END IF;
    -- the event that deployed the current version says what came before it
    SELECT d.id, d.previous_version INTO v_event_id, v_target
    FROM dlfin.deployments d
    WHERE d.name = registry_rollback.name AND d.version = v_current AND d.action IN ('deploy', 'rollback')
    ORDER BY d.id DESC LIMIT 1;
    IF v_target IS NULL THEN
        RAISE EXCEPTION 'dlfin model "%" has no earlier deployment to roll back to', registry_rollback.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Version %s is the first deployed version.', v_current);
    END IF;
    IF NOT EXISTS (SELECT FROM dlfin.models m WHERE m.name = registry_rollback.name AND m.version = v_target) THEN
        RAISE EXCEPTION 'dlfin model "%" cannot roll back to version %, which was dropped',
                        registry_rollback.name, v_target
            USING ERRCODE = 'undefined_object',
                  HINT = 'Deploy another version with dlfin.deploy().';
    END IF;
    -- what preceded the target's own deployment becomes the next rollback step
    SELECT d.previous_version INTO v_before
    FROM dlfin.deployments d
    WHERE d.name = registry_rollback.name AND d.version = v_target AND d.action IN ('deploy', 'rollback')
      AND d.id < v_event_id
    ORDER BY d.id DESC LIMIT 1;
    UPDATE dlfin.models m SET status = 'retired'
    WHERE m.name = registry_rollback.name AND m.status = 'deployed';
    UPDATE dlfin.models m SET status = 'deployed'
    WHERE m.name = registry_rollback.name AND m.version = v_target;
    PERFORM dlfin.registry_log(caller, registry_rollback.name, v_target, v_before, 'rollback',
                               coalesce(registry_rollback.reason,
                                        pg_catalog.format('rolled back from version %s', v_current)),
                               v_owner);
    RETURN v_target;
END
$$;

CREATE OR REPLACE FUNCTION dlfin.rollback(name text, reason text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'dlfin_registry_call'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION dlfin.rollback(text, text) IS
're-deploys the version deployed before the current one; repeated rollbacks walk further back';

-- Drops one version (never the deployed one) or the whole model.  The
-- name keeps its row in dlfin.names, so its version numbers never repeat.
CREATE OR REPLACE FUNCTION dlfin.registry_drop_model(caller pg_catalog.regrole, name text, version integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner pg_catalog.regrole;
    v_status text;
    v_count integer;
BEGIN
    IF registry_drop_model.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.drop_model needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_owner := dlfin.registry_lock(caller, registry_drop_model.name);
    IF registry_drop_model.version IS NOT NULL THEN
        SELECT m.status INTO v_status FROM dlfin.models m
        WHERE m.name = registry_drop_model.name AND m.version = registry_drop_model.version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'dlfin model "%" has no version %', registry_drop_model.name, registry_drop_model.version
                USING ERRCODE = 'undefined_object';
        ELSIF v_status = 'deployed' THEN
            RAISE EXCEPTION 'cannot drop version % of dlfin model "%" because it is deployed',
                            registry_drop_model.version, registry_drop_model.name
                USING ERRCODE = 'object_in_use',
                      HINT = 'Deploy another version first, or drop the whole model with dlfin.drop_model(name).';
        END IF;
    END IF;
    DELETE FROM dlfin.models m
    WHERE m.name = registry_drop_model.name
      AND (registry_drop_model.version IS NULL OR m.version = registry_drop_model.version);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    PERFORM dlfin.registry_log(caller, registry_drop_model.name, registry_drop_model.version, NULL,
                               'drop', NULL, v_owner);
    RETURN v_count;
END
$$;

CREATE OR REPLACE FUNCTION dlfin.drop_model(name text, version integer DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'dlfin_registry_call'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION dlfin.drop_model(text, integer) IS
'drops a version of a named model, or every version when none is given; returns the number of versions dropped';
