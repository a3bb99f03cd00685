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

-- ---- aggregate support functions leave the user's schema ----
-- They take internal and cannot be called from SQL; in the extension's
-- schema they only crowded \df.  The aggregates refer to them by OID.
ALTER FUNCTION @extschema@.dlfin_auc_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_bin_combine(internal, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_bin_deserial(bytea, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_bin_serial(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_bin_trans(internal, double precision, boolean) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_bin_trans_points(internal, double precision, boolean, integer) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_bin_trans_threshold(internal, double precision, boolean, double precision) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_brier_trans(internal, double precision, boolean) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_deciles_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_drift_combine(internal, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_drift_deserial(bytea, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_drift_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_drift_serial(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_drift_sfunc(internal, bytea, VARIADIC "any") SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_fairness_combine(internal, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_fairness_deserial(bytea, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_fairness_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_fairness_serial(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_fairness_sfunc(internal, double precision, text, boolean) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_fairness_sfunc_threshold(internal, double precision, text, boolean, double precision) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_gini_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_ks_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_logloss_trans(internal, double precision, boolean) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_mc_combine(internal, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_mc_deserial(bytea, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_mc_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_mc_serial(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_mc_trans(internal, text, text) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_metrics_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_reg_combine(internal, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_reg_deserial(bytea, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_reg_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_reg_serial(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_reg_trans(internal, double precision, double precision) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_roc_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_sum_combine(internal, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_sum_deserial(bytea, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_sum_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_sum_serial(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_svg_calibration_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_svg_lift_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_svg_roc_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_train_combine(internal, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_train_deserialize(bytea, internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_train_final(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_train_serialize(internal) SET SCHEMA dlfin;
ALTER FUNCTION @extschema@.dlfin_train_sfunc(internal, "any", VARIADIC "any") SET SCHEMA dlfin;
