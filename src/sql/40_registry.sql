-- dlfin install script, part 40: the model registry.
--
-- dlfin.models holds every version of every named model; dlfin.deployments
-- is the append-only history of what was deployed (or dropped) when, by
-- whom and why.  The functions are SECURITY INVOKER: the training query runs
-- with the caller's rights, and the registry rows a caller may see or change
-- are those of the roles it has the privileges of (row-level security on the
-- owner column).  Integrity does not rely on callers using the functions:
-- triggers stamp who and when, compute the model's SHA-256, keep the
-- history append-only and check at commit that the deployed version matches
-- the history.  Every reference is schema-qualified and every PL/pgSQL
-- function runs with search_path = pg_catalog, pg_temp.

GRANT USAGE ON SCHEMA dlfin TO PUBLIC;

-- ---- tables ----

CREATE TABLE dlfin.models (
    name text NOT NULL
        CHECK (pg_catalog.length(name) BETWEEN 1 AND 200
               AND name OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$'),
    version integer NOT NULL CHECK (version > 0),
    status text NOT NULL DEFAULT 'candidate'
        CHECK (status IN ('candidate', 'deployed', 'retired')),
    task text NOT NULL CHECK (task IN ('binary', 'multiclass', 'regression')),
    model bytea NOT NULL,
    model_sha256 text NOT NULL,
    owner pg_catalog.regrole NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    query text NOT NULL,
    label text NOT NULL,
    features text[] NOT NULL,
    options jsonb NOT NULL,
    rows bigint NOT NULL,
    train_rows bigint NOT NULL,
    test_rows bigint NOT NULL,
    data_fingerprint text NOT NULL,
    search_path text NOT NULL,
    metrics jsonb,
    decision jsonb,
    PRIMARY KEY (name, version)
);
-- At most one deployed version per name: scoring by name sees exactly one.
CREATE UNIQUE INDEX models_one_deployed ON dlfin.models (name) WHERE status = 'deployed';

COMMENT ON TABLE dlfin.models IS
'every version of every named dlfin model: bytes, training query, data fingerprint, held-out metrics and status';
COMMENT ON COLUMN dlfin.models.status IS
'candidate (never deployed), deployed (scored by name; at most one per name) or retired (deployed before)';
COMMENT ON COLUMN dlfin.models.owner IS
'role that owns the name; its members may see, score, retrain, deploy and drop the model';
COMMENT ON COLUMN dlfin.models.data_fingerprint IS
'order-independent fingerprint of the rows the query returned: md5 of the sum of a 64-bit hash of each row''s text';
COMMENT ON COLUMN dlfin.models.search_path IS
'search_path the training query was resolved with; dlfin.retrain() uses it again';
COMMENT ON COLUMN dlfin.models.metrics IS
'metrics of this version on its held-out test rows (dlfin_metrics, dlfin_regression_metrics or dlfin_multiclass_metrics)';
COMMENT ON COLUMN dlfin.models.decision IS
'the deployment decision taken by dlfin.train: policy, main metric, challenger and champion figures on the same rows, reason';

CREATE TABLE dlfin.deployments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    version integer,
    previous_version integer,
    action text NOT NULL CHECK (action IN ('deploy', 'rollback', 'drop')),
    reason text,
    owner pg_catalog.regrole NOT NULL,
    changed_at timestamptz NOT NULL,
    changed_by text NOT NULL,
    session_user_name text NOT NULL
);
CREATE INDEX deployments_name ON dlfin.deployments (name, id);

COMMENT ON TABLE dlfin.deployments IS
'append-only history of deployments, rollbacks and drops of dlfin models';
COMMENT ON COLUMN dlfin.deployments.version IS
'version deployed (deploy, rollback) or dropped (drop; NULL when the whole model was dropped)';
COMMENT ON COLUMN dlfin.deployments.previous_version IS
'version deployed before this event; dlfin.rollback() returns to it';

-- The registry is part of the user's data: pg_dump dumps its rows.
SELECT pg_catalog.pg_extension_config_dump('dlfin.models', '');
SELECT pg_catalog.pg_extension_config_dump('dlfin.deployments', '');

-- ---- privileges and row-level security ----
-- Anybody may use the registry, but sees and changes only the rows of roles
-- it has the privileges of.  Model rows are immutable except their status;
-- the history can only grow.

ALTER TABLE dlfin.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE dlfin.deployments ENABLE ROW LEVEL SECURITY;

CREATE POLICY models_owner ON dlfin.models
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY deployments_owner ON dlfin.deployments
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));

REVOKE ALL ON dlfin.models, dlfin.deployments FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON dlfin.models TO PUBLIC;
GRANT UPDATE (status) ON dlfin.models TO PUBLIC;
GRANT SELECT, INSERT ON dlfin.deployments TO PUBLIC;

-- ---- triggers ----

-- Stamps a new model row: owner, creator, time and the SHA-256 of the bytes.
CREATE FUNCTION dlfin.models_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner pg_catalog.regrole;
BEGIN
    IF NEW.status <> 'candidate' THEN
        RAISE EXCEPTION 'a new dlfin model version must have status "candidate"'
            USING ERRCODE = 'check_violation',
                  HINT = 'Deploy it with dlfin.deploy().';
    END IF;
    SELECT m.owner INTO v_owner FROM dlfin.models m WHERE m.name = NEW.name LIMIT 1;
    IF v_owner IS NULL THEN
        SELECT r.oid::pg_catalog.regrole INTO v_owner
        FROM pg_catalog.pg_roles r WHERE r.rolname = pg_catalog.current_user();
    END IF;
    NEW.owner := v_owner;
    NEW.created_at := pg_catalog.clock_timestamp();
    NEW.created_by := pg_catalog.current_user();
    NEW.model_sha256 := pg_catalog.encode(pg_catalog.sha256(NEW.model), 'hex');
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION dlfin.models_before_insert() IS
'trigger: stamps owner, creator, time and SHA-256 of a new model version';

CREATE TRIGGER models_before_insert BEFORE INSERT ON dlfin.models
    FOR EACH ROW EXECUTE FUNCTION dlfin.models_before_insert();

-- Checks at commit that the deployed version of a name is the one the
-- history says, so status cannot change without an audit record.
CREATE FUNCTION dlfin.models_check_deployment()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_deployed integer;
    v_logged integer;
BEGIN
    SELECT m.version INTO v_deployed
    FROM dlfin.models m WHERE m.name = NEW.name AND m.status = 'deployed';
    SELECT d.version INTO v_logged
    FROM dlfin.deployments d
    WHERE d.name = NEW.name AND d.action IN ('deploy', 'rollback')
      AND d.id > coalesce((SELECT max(x.id) FROM dlfin.deployments x
                           WHERE x.name = NEW.name AND x.action = 'drop' AND x.version IS NULL), 0)
    ORDER BY d.id DESC LIMIT 1;
    IF v_deployed IS DISTINCT FROM v_logged THEN
        RAISE EXCEPTION 'deployment of dlfin model "%" changed without a history entry', NEW.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Version %s is deployed but the history names version %s.',
                                             coalesce(v_deployed::text, 'none'), coalesce(v_logged::text, 'none')),
                  HINT = 'Use dlfin.deploy() or dlfin.rollback() to change the deployed version.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION dlfin.models_check_deployment() IS
'constraint trigger: the deployed version of a model must match its deployment history at commit';

CREATE CONSTRAINT TRIGGER models_check_deployment
    AFTER UPDATE OF status ON dlfin.models
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION dlfin.models_check_deployment();

-- Stamps a history row and checks it describes what the registry holds.
CREATE FUNCTION dlfin.deployments_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner pg_catalog.regrole;
BEGIN
    NEW.changed_at := pg_catalog.clock_timestamp();
    NEW.changed_by := pg_catalog.current_user();
    NEW.session_user_name := pg_catalog.session_user();
    IF NEW.action IN ('deploy', 'rollback') THEN
        SELECT m.owner INTO v_owner FROM dlfin.models m
        WHERE m.name = NEW.name AND m.version = NEW.version AND m.status = 'deployed';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'dlfin history entry names version % of model "%", which is not deployed',
                            NEW.version, NEW.name
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        NEW.owner := v_owner;
    ELSIF EXISTS (SELECT FROM dlfin.models m
                  WHERE m.name = NEW.name AND (NEW.version IS NULL OR m.version = NEW.version)) THEN
        RAISE EXCEPTION 'dlfin history entry records a drop of model "%" that still exists', NEW.name
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION dlfin.deployments_before_insert() IS
'trigger: stamps time and user of a history entry and checks it against dlfin.models';

CREATE TRIGGER deployments_before_insert BEFORE INSERT ON dlfin.deployments
    FOR EACH ROW EXECUTE FUNCTION dlfin.deployments_before_insert();

-- Refuses to change or delete history.
CREATE FUNCTION dlfin.deployments_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'dlfin.deployments is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('%s is not allowed on the deployment history.', TG_OP);
END
$$;
COMMENT ON FUNCTION dlfin.deployments_append_only() IS
'trigger: refuses UPDATE, DELETE and TRUNCATE of the deployment history';

CREATE TRIGGER deployments_no_update BEFORE UPDATE OR DELETE ON dlfin.deployments
    FOR EACH ROW EXECUTE FUNCTION dlfin.deployments_append_only();
CREATE TRIGGER deployments_no_truncate BEFORE TRUNCATE ON dlfin.deployments
    FOR EACH STATEMENT EXECUTE FUNCTION dlfin.deployments_append_only();

-- ---- views ----

-- security_invoker: the caller's row-level security applies through the view.
CREATE VIEW dlfin.deployed WITH (security_invoker = true) AS
SELECT m.name, m.version, m.task, m.metrics, m.model_sha256, m.data_fingerprint,
       m.rows, m.train_rows, m.test_rows, m.created_at, m.created_by, m.owner,
       d.changed_at AS deployed_at, d.changed_by AS deployed_by, d.action, d.reason
FROM dlfin.models m
LEFT JOIN LATERAL (
    SELECT h.changed_at, h.changed_by, h.action, h.reason
    FROM dlfin.deployments h
    WHERE h.name = m.name AND h.version = m.version AND h.action IN ('deploy', 'rollback')
    ORDER BY h.id DESC LIMIT 1) d ON true
WHERE m.status = 'deployed';
COMMENT ON VIEW dlfin.deployed IS
'the deployed version of every model the caller may see, with its held-out metrics and when, by whom and why it was deployed';
GRANT SELECT ON dlfin.deployed TO PUBLIC;

-- ---- helpers ----

CREATE FUNCTION dlfin.query_columns(query text)
RETURNS TABLE (ordinal integer, name text, type pg_catalog.regtype)
AS 'MODULE_PATHNAME', 'dlfin_query_columns'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dlfin.query_columns(text) IS
'result columns of a single SELECT query, without running it';

-- Takes the per-name transaction lock that serialises train, deploy and drop.
CREATE FUNCTION dlfin.lock_model(name text)
RETURNS void
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('dlfin.models:' OPERATOR(pg_catalog.||) name, 0));
END;
COMMENT ON FUNCTION dlfin.lock_model(text) IS
'takes the transaction-scoped advisory lock that serialises registry changes of one model name';

-- ---- deploy, rollback, drop ----

-- Makes a version the deployed one and records why; returns the version.
CREATE FUNCTION dlfin.deploy(name text, version integer, reason text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_current integer;
BEGIN
    IF deploy.name IS NULL OR deploy.version IS NULL THEN
        RAISE EXCEPTION 'dlfin.deploy needs a model name and a version'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM dlfin.lock_model(deploy.name);
    IF NOT EXISTS (SELECT FROM dlfin.models m WHERE m.name = deploy.name) THEN
        RAISE EXCEPTION 'dlfin model "%" does not exist', deploy.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'Train it with dlfin.train().';
    END IF;
    IF NOT EXISTS (SELECT FROM dlfin.models m WHERE m.name = deploy.name AND m.version = deploy.version) THEN
        RAISE EXCEPTION 'dlfin model "%" has no version %', deploy.name, deploy.version
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT version FROM dlfin.models WHERE name = ... lists the versions.';
    END IF;
    SELECT m.version INTO v_current FROM dlfin.models m
    WHERE m.name = deploy.name AND m.status = 'deployed';
    IF v_current = deploy.version THEN
        RETURN v_current;
    END IF;
    UPDATE dlfin.models m SET status = 'retired'
    WHERE m.name = deploy.name AND m.status = 'deployed';
    UPDATE dlfin.models m SET status = 'deployed'
    WHERE m.name = deploy.name AND m.version = deploy.version;
    INSERT INTO dlfin.deployments (name, version, previous_version, action, reason, owner,
                                   changed_at, changed_by, session_user_name)
    VALUES (deploy.name, deploy.version, v_current, 'deploy', deploy.reason,
            0, pg_catalog.now(), '', '');  -- owner, time and user: set by the trigger
    RETURN deploy.version;
END
$$;
COMMENT ON FUNCTION dlfin.deploy(text, integer, text) IS
'deploys a version of a named model (scoring by name uses it from the next statement) and records it in dlfin.deployments';

-- Re-deploys the version that was deployed before the current one.
CREATE FUNCTION dlfin.rollback(name text, reason text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_current integer;
    v_event_id bigint;
    v_target integer;
    v_before integer;
BEGIN
    IF rollback.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.rollback needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM dlfin.lock_model(rollback.name);
    IF NOT EXISTS (SELECT FROM dlfin.models m WHERE m.name = rollback.name) THEN
        RAISE EXCEPTION 'dlfin model "%" does not exist', rollback.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'Train it with dlfin.train().';
    END IF;
    SELECT m.version INTO v_current FROM dlfin.models m
    WHERE m.name = rollback.name AND m.status = 'deployed';
    IF v_current IS NULL THEN
        RAISE EXCEPTION 'dlfin model "%" has no deployed version to roll back', rollback.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Deploy a version with dlfin.deploy().';
    END IF;
    -- the event that deployed the current version says what came before it
    SELECT d.id, d.previous_version INTO v_event_id, v_target
    FROM dlfin.deployments d
    WHERE d.name = rollback.name AND d.version = v_current AND d.action IN ('deploy', 'rollback')
    ORDER BY d.id DESC LIMIT 1;
    IF v_target IS NULL THEN
        RAISE EXCEPTION 'dlfin model "%" has no earlier deployment to roll back to', rollback.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Version %s is the first deployed version.', v_current);
    END IF;
    IF NOT EXISTS (SELECT FROM dlfin.models m WHERE m.name = rollback.name AND m.version = v_target) THEN
        RAISE EXCEPTION 'dlfin model "%" cannot roll back to version %, which was dropped', rollback.name, v_target
            USING ERRCODE = 'undefined_object',
                  HINT = 'Deploy another version with dlfin.deploy().';
    END IF;
    -- what preceded the target's own deployment becomes the next rollback step
    SELECT d.previous_version INTO v_before
    FROM dlfin.deployments d
    WHERE d.name = rollback.name AND d.version = v_target AND d.action IN ('deploy', 'rollback')
      AND d.id < v_event_id
    ORDER BY d.id DESC LIMIT 1;
    UPDATE dlfin.models m SET status = 'retired'
    WHERE m.name = rollback.name AND m.status = 'deployed';
    UPDATE dlfin.models m SET status = 'deployed'
    WHERE m.name = rollback.name AND m.version = v_target;
    INSERT INTO dlfin.deployments (name, version, previous_version, action, reason, owner,
                                   changed_at, changed_by, session_user_name)
    VALUES (rollback.name, v_target, v_before, 'rollback',
            coalesce(rollback.reason, pg_catalog.format('rolled back from version %s', v_current)),
            0, pg_catalog.now(), '', '');  -- owner, time and user: set by the trigger
    RETURN v_target;
END
$$;
COMMENT ON FUNCTION dlfin.rollback(text, text) IS
're-deploys the version deployed before the current one; repeated rollbacks walk further back';

-- Drops one version (never the deployed one) or the whole model.
CREATE FUNCTION dlfin.drop_model(name text, version integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner pg_catalog.regrole;
    v_status text;
    v_count integer;
BEGIN
    IF drop_model.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.drop_model needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM dlfin.lock_model(drop_model.name);
    SELECT m.owner INTO v_owner FROM dlfin.models m WHERE m.name = drop_model.name LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dlfin model "%" does not exist', drop_model.name
            USING ERRCODE = 'undefined_object';
    END IF;
    IF drop_model.version IS NOT NULL THEN
        SELECT m.status INTO v_status FROM dlfin.models m
        WHERE m.name = drop_model.name AND m.version = drop_model.version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'dlfin model "%" has no version %', drop_model.name, drop_model.version
                USING ERRCODE = 'undefined_object';
        ELSIF v_status = 'deployed' THEN
            RAISE EXCEPTION 'cannot drop version % of dlfin model "%" because it is deployed',
                            drop_model.version, drop_model.name
                USING ERRCODE = 'object_in_use',
                      HINT = 'Deploy another version first, or drop the whole model with dlfin.drop_model(name).';
        END IF;
    END IF;
    DELETE FROM dlfin.models m
    WHERE m.name = drop_model.name AND (drop_model.version IS NULL OR m.version = drop_model.version);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    INSERT INTO dlfin.deployments (name, version, previous_version, action, reason, owner,
                                   changed_at, changed_by, session_user_name)
    VALUES (drop_model.name, drop_model.version, NULL, 'drop', NULL, v_owner, pg_catalog.now(), '', '');  -- time and user: set by the trigger
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION dlfin.drop_model(text, integer) IS
'drops a version of a named model, or every version when none is given; returns the number of versions dropped';

-- ---- training ----

-- Trains a version of a named model, resolving the query with the given
-- search_path; what dlfin.train and dlfin.retrain run.
CREATE FUNCTION dlfin.train_with_search_path(name text, query text, label text, options jsonb,
                                             deploy text, query_search_path text)
RETURNS integer
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
-- the row text is the split key and the fingerprint: make it session-independent
SET extra_float_digits = 1
SET DateStyle = 'ISO, MDY'
SET IntervalStyle = 'postgres'
SET bytea_output = 'hex'
AS $$
DECLARE
    v_name text := train_with_search_path.name;
    v_label text := train_with_search_path.label;
    v_policy text := coalesce(train_with_search_path.deploy, 'if_better');
    v_opts jsonb := coalesce(train_with_search_path.options, '{}');
    v_query text;
    v_frac float8 := 0.2;
    v_warm boolean := false;
    v_cols text[];
    v_types pg_catalog.regtype[];
    v_label_pos integer;
    v_numeric_label boolean;
    v_dup text;
    v_features text[];
    v_feats text;
    v_train_opts jsonb;
    v_champ record;
    v_champ_model bytea;
    v_src text;
    v_lbl text;
    v_y text;
    v_reg_y text;
    v_mc_y text;
    v_stmt text;
    v_model bytea;
    v_rows bigint;
    v_ntrain bigint;
    v_ntest bigint;
    v_fp text;
    v_task text;
    v_metrics jsonb;
    v_champ_metrics jsonb;
    v_key text;
    v_new float8;
    v_old float8;
    v_deploy boolean;
    v_reason text;
    v_version integer;
BEGIN
    -- arguments
    IF v_name IS NULL OR train_with_search_path.query IS NULL OR v_label IS NULL THEN
        RAISE EXCEPTION 'dlfin.train needs a model name, a query and a label'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.length(v_name) NOT BETWEEN 1 AND 200
       OR v_name !~ '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$' THEN
        RAISE EXCEPTION 'invalid dlfin model name "%"', v_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A model name has 1 to 200 characters, no control characters and no leading or trailing white space.';
    END IF;
    IF v_policy NOT IN ('if_better', 'always', 'never') THEN
        RAISE EXCEPTION 'invalid dlfin deploy policy "%"', v_policy
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use "if_better", "always" or "never".';
    END IF;
    IF pg_catalog.jsonb_typeof(v_opts) <> 'object' THEN
        RAISE EXCEPTION 'dlfin.train options must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_opts ? 'test_fraction' THEN
        IF pg_catalog.jsonb_typeof(v_opts -> 'test_fraction') <> 'number'
           OR (v_opts ->> 'test_fraction')::float8 NOT BETWEEN 0 AND 0.9 THEN
            RAISE EXCEPTION 'dlfin.train option "test_fraction" must be a number between 0 and 0.9'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_frac := (v_opts ->> 'test_fraction')::float8;
    END IF;
    IF v_opts ? 'warm_start' THEN
        IF pg_catalog.jsonb_typeof(v_opts -> 'warm_start') <> 'boolean' THEN
            RAISE EXCEPTION 'dlfin.train option "warm_start" must be a boolean'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_warm := (v_opts ->> 'warm_start')::boolean;
    END IF;
    IF v_opts ?| ARRAY['features', 'init'] THEN
        RAISE EXCEPTION 'dlfin.train sets the option "%" itself',
                        CASE WHEN v_opts ? 'features' THEN 'features' ELSE 'init' END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Feature names are the query''s column names; use "warm_start": true to start from the deployed model.';
    END IF;
    -- a trailing semicolon or comment must not break the wrapping below
    v_query := pg_catalog.regexp_replace(train_with_search_path.query, '[[:space:];]+$', '');

    PERFORM dlfin.lock_model(v_name);

    -- columns of the query, resolved as the caller resolves it
    PERFORM pg_catalog.set_config('search_path', coalesce(query_search_path, ''), true);
    SELECT pg_catalog.array_agg(c.name ORDER BY c.ordinal), pg_catalog.array_agg(c.type ORDER BY c.ordinal)
      INTO v_cols, v_types
    FROM dlfin.query_columns(v_query) c;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT c INTO v_dup FROM pg_catalog.unnest(v_cols) c GROUP BY c HAVING pg_catalog.count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dlfin.train query returns more than one column named "%"', v_dup
            USING ERRCODE = 'duplicate_column',
                  HINT = 'Give every column a distinct name with AS; the names become the feature names.';
    END IF;
    v_label_pos := pg_catalog.array_position(v_cols, v_label);
    IF v_label_pos IS NULL THEN
        RAISE EXCEPTION 'dlfin.train label column "%" is not in the query', v_label
            USING ERRCODE = 'undefined_column',
                  HINT = pg_catalog.format('The query returns the columns %s.', pg_catalog.array_to_string(v_cols, ', '));
    END IF;
    SELECT pg_catalog.array_agg(c ORDER BY o) INTO v_features
    FROM pg_catalog.unnest(v_cols) WITH ORDINALITY u(c, o) WHERE o <> v_label_pos;
    IF v_features IS NULL THEN
        RAISE EXCEPTION 'dlfin.train query returns no feature column besides the label "%"', v_label
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
           IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
               'float8'::regtype, 'numeric'::regtype)
      INTO v_numeric_label
    FROM pg_catalog.pg_type t WHERE t.oid = v_types[v_label_pos];

    -- the champion: the deployed version, comparable when it has the same inputs
    SELECT m.version, m.model, m.task, m.features, m.label INTO v_champ
    FROM dlfin.models m WHERE m.name = v_name AND m.status = 'deployed';
    IF FOUND AND v_champ.features = v_features AND v_champ.label = v_label THEN
        v_champ_model := v_champ.model;
    END IF;
    v_train_opts := (v_opts - 'test_fraction' - 'warm_start')
                    || pg_catalog.jsonb_build_object('features', pg_catalog.to_jsonb(v_features));
    IF v_warm AND v_champ.model IS NOT NULL THEN
        v_train_opts := v_train_opts || pg_catalog.jsonb_build_object('init', v_champ.model);
    END IF;

    -- One statement, so one snapshot: the fingerprint, the training rows and
    -- the test rows are the same data even if the tables change meanwhile.
    -- Everything but the caller's query is schema-qualified, because the
    -- query runs with the caller's search_path.
    SELECT pg_catalog.string_agg(pg_catalog.format('q.%I', f), ', ' ORDER BY o) INTO v_feats
    FROM pg_catalog.unnest(v_features) WITH ORDINALITY u(f, o);
    v_lbl := pg_catalog.format('q.%I', v_label);
    v_src := pg_catalog.format(
        '(%s%s) q CROSS JOIN LATERAL (SELECT k0.t, @extschema@.dlfin_split(k0.t, $2, 0) AS part'
        ' FROM (SELECT q::pg_catalog.text AS t) k0) k', v_query, E'\n');
    IF v_numeric_label THEN
        v_y := pg_catalog.format('(%s)::pg_catalog.float8 OPERATOR(pg_catalog.=) (i.pos)::pg_catalog.float8', v_lbl);
        v_reg_y := pg_catalog.format('(%s)::pg_catalog.float8', v_lbl);
        v_mc_y := pg_catalog.format('(%s)::pg_catalog.float8::pg_catalog.text', v_lbl);
    ELSE
        v_y := pg_catalog.format('(%s)::pg_catalog.text OPERATOR(pg_catalog.=) i.pos', v_lbl);
        v_reg_y := 'NULL::pg_catalog.float8';
        v_mc_y := pg_catalog.format('(%s)::pg_catalog.text', v_lbl);
    END IF;
    v_stmt := pg_catalog.format($q$
WITH tr AS (
    SELECT @extschema@.dlfin_train($1, %2$s, %3$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'train') AS model,
           pg_catalog.count(*) AS nrows,
           pg_catalog.count(%2$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'train') AS ntrain,
           pg_catalog.count(%2$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'test') AS ntest,
           pg_catalog.sum(('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(k.t), 1, 16))
                          ::pg_catalog.bit(64)::pg_catalog.int8) AS fp
    FROM %1$s
), i AS (
    SELECT tr.*, inf OPERATOR(pg_catalog.->>) 'task' AS task,
           (inf OPERATOR(pg_catalog.->) 'classes') OPERATOR(pg_catalog.->>) 1 AS pos
    FROM tr, LATERAL (SELECT @extschema@.dlfin_model_info(tr.model) AS inf) x
)
-- every aggregate is computed (arguments only where FILTER passes); CASE
-- picks the task's
SELECT i.model, i.nrows, i.ntrain, i.ntest,
       pg_catalog.md5(pg_catalog.concat(i.nrows, ':', i.fp)), i.task, e.cur, e.champ
FROM i CROSS JOIN LATERAL (
    SELECT CASE i.task
           WHEN 'binary' THEN
             @extschema@.dlfin_metrics(@extschema@.dlfin_predict(i.model, %3$s), %4$s)
               FILTER (WHERE i.task OPERATOR(pg_catalog.=) 'binary')
           WHEN 'regression' THEN
             @extschema@.dlfin_regression_metrics(@extschema@.dlfin_predict(i.model, %3$s), %5$s)
               FILTER (WHERE i.task OPERATOR(pg_catalog.=) 'regression')
           ELSE
             @extschema@.dlfin_multiclass_metrics(@extschema@.dlfin_predict_class(i.model, %3$s), %6$s)
               FILTER (WHERE i.task OPERATOR(pg_catalog.=) 'multiclass') END AS cur,
           CASE i.task
           WHEN 'binary' THEN
             @extschema@.dlfin_metrics(@extschema@.dlfin_predict($3, %3$s), %4$s)
               FILTER (WHERE $3 IS NOT NULL AND i.task OPERATOR(pg_catalog.=) 'binary')
           WHEN 'regression' THEN
             @extschema@.dlfin_regression_metrics(@extschema@.dlfin_predict($3, %3$s), %5$s)
               FILTER (WHERE $3 IS NOT NULL AND i.task OPERATOR(pg_catalog.=) 'regression')
           ELSE
             @extschema@.dlfin_multiclass_metrics(@extschema@.dlfin_predict_class($3, %3$s), %6$s)
               FILTER (WHERE $3 IS NOT NULL AND i.task OPERATOR(pg_catalog.=) 'multiclass') END AS champ
    FROM %1$s
    WHERE k.part OPERATOR(pg_catalog.=) 'test' AND %2$s IS NOT NULL) e
$q$, v_src, v_lbl, v_feats, v_y, v_reg_y, v_mc_y);

    PERFORM pg_catalog.set_config('search_path', coalesce(query_search_path, ''), true);
    EXECUTE v_stmt INTO v_model, v_rows, v_ntrain, v_ntest, v_fp, v_task, v_metrics, v_champ_metrics
        USING v_train_opts, v_frac, v_champ_model;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF v_model IS NULL THEN
        RAISE EXCEPTION 'dlfin.train query returned no training rows with a label'
            USING ERRCODE = 'data_exception',
                  DETAIL = pg_catalog.format('The query returned %s rows, %s of them with a non-NULL label in the training part.', v_rows, v_ntrain);
    END IF;
    -- the champion must have the challenger's task and classes to be compared
    IF v_champ_model IS NULL OR
       (v_champ.task IS DISTINCT FROM v_task OR
        @extschema@.dlfin_model_info(v_champ_model) -> 'classes' IS DISTINCT FROM
        @extschema@.dlfin_model_info(v_model) -> 'classes') THEN
        v_champ_model := NULL;
        v_champ_metrics := NULL;
    END IF;

    -- the deployment decision, by the task's main held-out metric
    v_key := CASE v_task WHEN 'binary' THEN 'auc' WHEN 'regression' THEN 'rmse' ELSE 'accuracy' END;
    v_new := (v_metrics ->> v_key)::float8;
    v_old := (v_champ_metrics ->> v_key)::float8;
    IF v_policy = 'always' THEN
        v_deploy := true;
        v_reason := 'policy always';
    ELSIF v_policy = 'never' THEN
        v_deploy := false;
        v_reason := 'policy never';
    ELSIF v_champ.version IS NULL THEN
        v_deploy := true;
        v_reason := 'if_better: no deployed version';
    ELSIF v_champ_model IS NULL THEN
        v_deploy := false;
        v_reason := pg_catalog.format('if_better: deployed version %s has other features, label, task or classes; deploy explicitly',
                                      v_champ.version);
    ELSIF v_new IS NULL OR v_old IS NULL THEN
        v_deploy := false;
        v_reason := pg_catalog.format('if_better: %s on the held-out rows is unavailable', v_key);
    ELSE
        v_deploy := CASE WHEN v_key = 'rmse' THEN v_new < v_old ELSE v_new > v_old END;
        v_reason := pg_catalog.format('if_better: held-out %s %s %s than %s of deployed version %s',
                                      v_key, pg_catalog.round(v_new::numeric, 6),
                                      CASE WHEN v_deploy THEN 'better' ELSE 'not better' END,
                                      pg_catalog.round(v_old::numeric, 6), v_champ.version);
    END IF;

    -- record: versions never repeat, not even after a drop
    SELECT GREATEST(
               (SELECT pg_catalog.max(m.version) FROM dlfin.models m WHERE m.name = v_name),
               (SELECT pg_catalog.max(d.version) FROM dlfin.deployments d WHERE d.name = v_name)) INTO v_version;
    v_version := coalesce(v_version, 0) + 1;
    BEGIN
        INSERT INTO dlfin.models (name, version, status, task, model, model_sha256, owner,
                                  created_at, created_by, query, label, features, options,
                                  rows, train_rows, test_rows, data_fingerprint, search_path,
                                  metrics, decision)
        VALUES (v_name, v_version, 'candidate', v_task, v_model, '', 0,
                pg_catalog.now(), '', train_with_search_path.query, v_label, v_features, v_opts,
                v_rows, v_ntrain, v_ntest, v_fp, coalesce(query_search_path, ''),
                v_metrics,
                pg_catalog.jsonb_build_object(
                    'policy', v_policy, 'deployed', v_deploy, 'reason', v_reason, 'metric', v_key,
                    'challenger', v_new, 'champion', v_old, 'champion_version', v_champ.version,
                    'champion_metrics', v_champ_metrics, 'test_fraction', v_frac,
                    'warm_start', v_warm AND v_champ.model IS NOT NULL));
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'dlfin model name "%" is used by another role', v_name
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Choose another name, or ask the owner to grant you its role.';
    END;
    IF v_deploy THEN
        PERFORM dlfin.deploy(v_name, v_version, v_reason);
    END IF;
    RETURN v_version;
END
$$;
COMMENT ON FUNCTION dlfin.train_with_search_path(text, text, text, jsonb, text, text) IS
'dlfin.train with the search_path the query is resolved with given explicitly';

-- Trains a new version of a named model and deploys it by policy.
CREATE FUNCTION dlfin.train(name text, query text, label text,
                            options jsonb DEFAULT '{}', deploy text DEFAULT 'if_better')
RETURNS integer
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
-- no SET clause: the caller's search_path is what the query is resolved with
BEGIN ATOMIC
    SELECT dlfin.train_with_search_path(name, query, label, options, deploy,
                                        pg_catalog.current_setting('search_path'));
END;
COMMENT ON FUNCTION dlfin.train(text, text, text, jsonb, text) IS
'trains a new version of a named model on a query''s rows (80/20 split by default), records it in dlfin.models and deploys it by policy (if_better, always, never); returns the version';

-- Trains a new version with the query, label, options and search_path of
-- the latest version.
CREATE FUNCTION dlfin.retrain(name text, deploy text DEFAULT 'if_better')
RETURNS integer
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v record;
BEGIN
    IF retrain.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.retrain needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM dlfin.lock_model(retrain.name);
    SELECT m.query, m.label, m.options, m.search_path INTO v
    FROM dlfin.models m WHERE m.name = retrain.name ORDER BY m.version DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dlfin model "%" does not exist', retrain.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'Train it first with dlfin.train().';
    END IF;
    RETURN dlfin.train_with_search_path(retrain.name, v.query, v.label, v.options,
                                        retrain.deploy, v.search_path);
END
$$;
COMMENT ON FUNCTION dlfin.retrain(text, text) IS
'trains a new version of a named model with the query, label and options of its latest version, on the current data; "warm_start": true starts from the deployed weights';

-- ---- scoring by name ----
-- STABLE, not IMMUTABLE: the result depends on which version is deployed.
-- The deployed model is looked up once per query execution, under the
-- query's snapshot.  An untyped literal as first argument resolves to these
-- text overloads (the string category is preferred over bytea), so
-- dlfin_predict('loan_approval', ...) scores by name; write '\x...'::bytea
-- for literal model bytes.

CREATE FUNCTION @extschema@.dlfin_predict(name pg_catalog.text, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_predict_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict(pg_catalog.text, "any") IS
'score a row with the deployed version of a named model from dlfin.models';

CREATE FUNCTION @extschema@.dlfin_predict_class(name pg_catalog.text, VARIADIC features "any")
RETURNS text
AS 'MODULE_PATHNAME', 'dlfin_predict_class_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict_class(pg_catalog.text, "any") IS
'predicted class of a row, as text, with the deployed version of a named model';

CREATE FUNCTION @extschema@.dlfin_predict_proba(name pg_catalog.text, VARIADIC features "any")
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'dlfin_predict_proba_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict_proba(pg_catalog.text, "any") IS
'class probabilities of a row with the deployed version of a named model';

CREATE FUNCTION @extschema@.dlfin_model_info(name pg_catalog.text)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_model_info_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_model_info(pg_catalog.text) IS
'description of the deployed version of a named model, with its name and version';
