-- dlfin upgrade 0.1.0 -> 0.2.0, first part: what changes shape.  The
-- Makefile appends the install script's parts that 0.2.0 creates anew or
-- replaces (see UPGRADE_0_1_0 there); this part removes what 0.2.0 no
-- longer has and moves the registry's data to its new tables.

\echo Use "ALTER EXTENSION dlfin UPDATE" to load this file. \quit

-- ---- registry: written only by its own functions ----
DROP TRIGGER models_before_insert ON dlfin.models;
DROP FUNCTION dlfin.models_before_insert();
DROP TRIGGER deployments_before_insert ON dlfin.deployments;
DROP FUNCTION dlfin.deployments_before_insert();
-- dlfin.train (BEGIN ATOMIC) depends on train_with_search_path
DROP FUNCTION dlfin.train(text, text, text, jsonb, text);
DROP FUNCTION dlfin.train_with_search_path(text, text, text, jsonb, text, text);
DROP FUNCTION dlfin.retrain(text, text);
DROP FUNCTION dlfin.deploy(text, integer, text);
DROP FUNCTION dlfin.rollback(text, text);
DROP FUNCTION dlfin.drop_model(text, integer);
DROP FUNCTION dlfin.lock_model(text);

DROP POLICY models_owner ON dlfin.models;
DROP POLICY deployments_owner ON dlfin.deployments;
CREATE POLICY models_owner ON dlfin.models FOR SELECT
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY deployments_owner ON dlfin.deployments FOR SELECT
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
REVOKE ALL ON dlfin.models, dlfin.deployments FROM PUBLIC;
GRANT SELECT ON dlfin.models, dlfin.deployments TO PUBLIC;

COMMENT ON COLUMN dlfin.models.owner IS
'role that owns the name; its members may see, score, retrain, deploy and drop the model, and its stored query runs with its rights';
COMMENT ON COLUMN dlfin.models.search_path IS
'search_path the training query was resolved with; dlfin.retrain() and the model card use it again (with pg_temp last)';
COMMENT ON COLUMN dlfin.deployments.changed_by IS
'role that called the registry function (the current user, not the session user, when they differ)';

-- every name ever trained, with the last version number it gave
CREATE TABLE dlfin.names (
    name text PRIMARY KEY,
    owner pg_catalog.regrole NOT NULL,
    last_version integer NOT NULL CHECK (last_version >= 0)
);
COMMENT ON TABLE dlfin.names IS
'every model name ever trained: its owner and the last version number given, which is never given again';
INSERT INTO dlfin.names (name, owner, last_version)
SELECT n.name,
       coalesce((SELECT m.owner FROM dlfin.models m WHERE m.name = n.name ORDER BY m.version DESC LIMIT 1),
                (SELECT d.owner FROM dlfin.deployments d WHERE d.name = n.name ORDER BY d.id DESC LIMIT 1)),
       GREATEST((SELECT pg_catalog.max(m.version) FROM dlfin.models m WHERE m.name = n.name),
                (SELECT pg_catalog.max(d.version) FROM dlfin.deployments d WHERE d.name = n.name),
                (SELECT pg_catalog.max(d.previous_version) FROM dlfin.deployments d WHERE d.name = n.name), 0)
FROM (SELECT m.name FROM dlfin.models m UNION SELECT d.name FROM dlfin.deployments d) n;
ALTER TABLE dlfin.names ENABLE ROW LEVEL SECURITY;
CREATE POLICY names_owner ON dlfin.names FOR SELECT
    USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
REVOKE ALL ON dlfin.names FROM PUBLIC;
GRANT SELECT ON dlfin.names TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('dlfin.names', '');
SELECT pg_catalog.pg_extension_config_dump('dlfin.deployments_id_seq', '');
