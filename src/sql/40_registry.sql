-- dlfin install script, part 40: the model registry's tables.
--
-- dlfin.models holds every version of every named model; dlfin.deployments
-- is the append-only history of what was deployed (or dropped) when, by
-- whom and why; dlfin.names holds each name's owner and last version
-- number, so that numbers are never reused and each name has a row to lock.
--
-- Who may do what (doc/security.md has the threat model):
-- - Anybody may read the rows of the roles it has the privileges of
--   (row-level security on owner); nobody but a superuser may write them
--   directly.  Every change goes through the registry functions, whose
--   writing part runs as the extension's owner (dlfin.registry_* in part
--   41 and 42, reached only through dlfin_registry_call, which passes the
--   real caller) and checks the caller's rights on the name itself.
-- - Stored queries run as the model's owner in a security-restricted
--   operation (dlfin.run_as), never with the rights of whoever retrains or
--   draws a card.
-- - Generated statements are fully qualified and call dlfin's own
--   functions in the schema dlfin (part 55).

GRANT USAGE ON SCHEMA dlfin TO PUBLIC;

-- ---- tables ----

CREATE TABLE dlfin.names (
    name text PRIMARY KEY,
    owner pg_catalog.regrole NOT NULL,
    last_version integer NOT NULL CHECK (last_version >= 0)
);
COMMENT ON TABLE dlfin.names IS
'every model name ever trained: its owner and the last version number given, which is never given again';

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
'role that owns the name; its members may see, score, retrain, deploy and drop the model, and its stored query runs with its rights';
COMMENT ON COLUMN dlfin.models.data_fingerprint IS
'order-independent fingerprint of the rows the query returned: md5 of the sum of a 64-bit hash of each row''s text';
COMMENT ON COLUMN dlfin.models.search_path IS
'search_path the training query was resolved with; dlfin.retrain() and the model card use it again (with pg_temp last)';
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
COMMENT ON COLUMN dlfin.deployments.changed_by IS
'role that called the registry function (the current user, not the session user, when they differ)';

-- The registry is part of the user's data: pg_dump dumps its rows.
SELECT pg_catalog.pg_extension_config_dump('dlfin.names', '');
SELECT pg_catalog.pg_extension_config_dump('dlfin.models', '');
SELECT pg_catalog.pg_extension_config_dump('dlfin.deployments', '');
-- and where the history's numbering stands, so restored history goes on
SELECT pg_catalog.pg_extension_config_dump('dlfin.deployments_id_seq', '');

-- ---- privileges and row-level security ----
-- Read: the rows of the roles one has the privileges of.  Write: nobody
-- directly; the registry functions write as the extension's owner.

ALTER TABLE dlfin.names ENABLE ROW LEVEL SECURITY;
ALTER TABLE dlfin.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE dlfin.deployments ENABLE ROW LEVEL SECURITY;

CREATE POLICY names_owner ON dlfin.names FOR SELECT
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY models_owner ON dlfin.models FOR SELECT
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY deployments_owner ON dlfin.deployments FOR SELECT
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));

REVOKE ALL ON dlfin.names, dlfin.models, dlfin.deployments FROM PUBLIC;
GRANT SELECT ON dlfin.names, dlfin.models, dlfin.deployments TO PUBLIC;

-- ---- audit rules ----
-- Only the registry functions (and superusers) write; these rules hold
-- even for them, so that a mistake cannot rewrite history.

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
