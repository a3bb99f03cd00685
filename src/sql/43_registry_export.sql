-- dlfin install script, part 43: moving the registry, and keeping it.
--
-- pg_dump and pg_restore carry the registry with the database (its tables
-- are extension configuration tables).  dlfin.export_models() and
-- dlfin.import_models() move models between databases that already have
-- dlfin, and keep them when the extension is dropped: a JSON document with
-- every version (bytes in base64, SHA-256, metrics, lineage, status) and
-- the history.  An import writes the registry as it is given, so only a
-- superuser may import (as only a superuser may restore the tables).

-- The registry rows the caller may see (of one name, or all) as jsonb.
CREATE OR REPLACE FUNCTION dlfin.export_models(name text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.jsonb_build_object(
    'format', 'dlfin registry export',
    'format_version', 1,
    'dlfin_version', (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'dlfin'),
    'names', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(n) ORDER BY n.name)
                       FROM dlfin.names n
                       WHERE export_models.name IS NULL OR n.name = export_models.name), '[]'),
    'models', coalesce((SELECT pg_catalog.jsonb_agg((pg_catalog.to_jsonb(m) - 'model')
                                   || pg_catalog.jsonb_build_object('model', pg_catalog.encode(m.model, 'base64'))
                                   ORDER BY m.name, m.version)
                        FROM dlfin.models m
                        WHERE export_models.name IS NULL OR m.name = export_models.name), '[]'),
    'deployments', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(d) - 'id' ORDER BY d.id)
                             FROM dlfin.deployments d
                             WHERE export_models.name IS NULL OR d.name = export_models.name), '[]'));
COMMENT ON FUNCTION dlfin.export_models(text) IS
'every version (bytes, SHA-256, metrics, lineage, status) and the deployment history of the models the caller may see, or of one name, as jsonb for dlfin.import_models()';

-- Writes an export into this database's registry; returns the number of
-- model versions imported.  All or nothing: a name already known here, a
-- role that does not exist, or bytes that do not match their SHA-256 stop
-- the whole import.
CREATE OR REPLACE FUNCTION dlfin.import_models(export jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_taken text;
    v_bad record;
    v_count integer;
BEGIN
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to import dlfin models'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'An import writes model versions and their history as given; only a superuser may do that.',
                  HINT = 'Ask a superuser to run dlfin.import_models().';
    END IF;
    IF export ->> 'format' IS DISTINCT FROM 'dlfin registry export' OR export -> 'format_version' <> '1'
       OR pg_catalog.jsonb_typeof(export -> 'models') <> 'array'
       OR pg_catalog.jsonb_typeof(export -> 'deployments') <> 'array'
       OR pg_catalog.jsonb_typeof(export -> 'names') <> 'array' THEN
        RAISE EXCEPTION 'not a dlfin registry export'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the jsonb that dlfin.export_models() returned.';
    END IF;
    CREATE TEMP TABLE dlfin_import_models ON COMMIT DROP AS
    SELECT (pg_catalog.jsonb_populate_record(NULL::dlfin.models, e - 'model')).*,
           pg_catalog.decode(e ->> 'model', 'base64') AS bytes
    FROM pg_catalog.jsonb_array_elements(export -> 'models') e;
    SELECT n INTO v_taken FROM (
        SELECT m.name AS n FROM dlfin_import_models m
        UNION SELECT x ->> 'name' FROM pg_catalog.jsonb_array_elements(export -> 'names') x) i
    WHERE EXISTS (SELECT FROM dlfin.names k WHERE k.name = i.n)
       OR EXISTS (SELECT FROM dlfin.models k WHERE k.name = i.n)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dlfin model "%" is already known in this database', v_taken
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Drop it here first, or import into another database; version numbers are never reused.';
    END IF;
    SELECT m.name, m.version INTO v_bad FROM dlfin_import_models m
    WHERE m.bytes IS NULL OR pg_catalog.encode(pg_catalog.sha256(m.bytes), 'hex') IS DISTINCT FROM m.model_sha256
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dlfin export holds corrupt bytes for model "%" version %', v_bad.name, v_bad.version
            USING ERRCODE = 'invalid_binary_representation',
                  DETAIL = 'The model bytes do not match their SHA-256.';
    END IF;
    -- every model must decode (dlfin_model_info raises on a corrupt one)
    PERFORM @extschema@.dlfin_model_info(m.bytes) FROM dlfin_import_models m;

    INSERT INTO dlfin.models
    SELECT m.name, m.version, m.status, m.task, m.bytes, m.model_sha256, m.owner, m.created_at, m.created_by,
           m.query, m.label, m.features, m.options, m.rows, m.train_rows, m.test_rows, m.data_fingerprint,
           m.search_path, m.metrics, m.decision
    FROM dlfin_import_models m;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    INSERT INTO dlfin.deployments (name, version, previous_version, action, reason, owner,
                                   changed_at, changed_by, session_user_name)
    SELECT d.name, d.version, d.previous_version, d.action, d.reason, d.owner,
           d.changed_at, d.changed_by, d.session_user_name
    FROM pg_catalog.jsonb_array_elements(export -> 'deployments') WITH ORDINALITY e(x, o),
         LATERAL pg_catalog.jsonb_populate_record(NULL::dlfin.deployments, e.x) d
    ORDER BY e.o;
    INSERT INTO dlfin.names (name, owner, last_version)
    SELECT n.name, n.owner, n.last_version
    FROM pg_catalog.jsonb_array_elements(export -> 'names') e,
         LATERAL pg_catalog.jsonb_populate_record(NULL::dlfin.names, e) n;
    -- a name whose row the export lacks still gets one
    INSERT INTO dlfin.names (name, owner, last_version)
    SELECT m.name, (pg_catalog.array_agg(m.owner ORDER BY m.version DESC))[1], pg_catalog.max(m.version)
    FROM dlfin_import_models m GROUP BY m.name
    ON CONFLICT ON CONSTRAINT names_pkey DO NOTHING;
    DROP TABLE dlfin_import_models;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION dlfin.import_models(jsonb) IS
'writes the model versions and history of a dlfin.export_models() document into this database''s registry (superuser only); returns the number of versions imported';

-- ---- DROP EXTENSION keeps no model silently ----

CREATE OR REPLACE FUNCTION dlfin.guard_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'dlfin_guard_drop'
LANGUAGE C;
COMMENT ON FUNCTION dlfin.guard_drop() IS
'event trigger: refuses DROP EXTENSION dlfin (or DROP SCHEMA ... CASCADE of its schema) while dlfin.models has rows, unless dlfin.drop_registry is on';
