-- dlfin install script, part 00: preamble and the registry schema.
-- The parts in src/sql/ are concatenated in name order into
-- dlfin--<version>.sql.  Every object reference is schema-qualified
-- (@extschema@, dlfin, pg_catalog) so a hostile search_path cannot change
-- what the script or the functions resolve to.

\echo Use "CREATE EXTENSION dlfin" to load this file. \quit

CREATE SCHEMA dlfin;
COMMENT ON SCHEMA dlfin IS 'dlfin model registry and helper functions';
-- dlfin install script, part 10: the training aggregate.

CREATE FUNCTION @extschema@.dlfin_train_sfunc(internal, "any", VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_sfunc'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_train_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_combine'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_train_serialize(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_train_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_train_deserialize(pg_catalog.bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The final function is IMMUTABLE: the model depends only on the rows and
-- the options, not on their order nor on the thread count (dlfin.threads).
-- It is not strict: an aggregate over no rows returns NULL.
CREATE FUNCTION @extschema@.dlfin_train_final(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_train_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- dlfin_train(label, feature, ...) trains with default options;
-- dlfin_train(options, label, feature, ...) with options as jsonb, json or
-- an untyped literal.  One signature serves both, so a literal needs no cast.
CREATE AGGREGATE @extschema@.dlfin_train("any", VARIADIC "any") (
    SFUNC = @extschema@.dlfin_train_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.dlfin_train_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.dlfin_train_combine,
    SERIALFUNC = @extschema@.dlfin_train_serialize,
    DESERIALFUNC = @extschema@.dlfin_train_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.dlfin_train("any", VARIADIC "any") IS
'train a neural network on ([options jsonb,] label, feature, ...) rows; returns the model as bytea';
-- dlfin install script, part 20: scoring and model inspection.
-- Scoring depends only on its arguments: IMMUTABLE, and not strict because
-- NULL features are imputed (a NULL model gives NULL).

CREATE FUNCTION @extschema@.dlfin_predict(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_predict'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict(pg_catalog.bytea, "any") IS
'score a row: positive-class probability (binary), prediction (regression) or top-class probability (multiclass)';

CREATE FUNCTION @extschema@.dlfin_predict_class(model pg_catalog.bytea, VARIADIC features "any")
RETURNS text
AS 'MODULE_PATHNAME', 'dlfin_predict_class'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict_class(pg_catalog.bytea, "any") IS
'predicted class of a row, as text';

CREATE FUNCTION @extschema@.dlfin_predict_proba(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'dlfin_predict_proba'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict_proba(pg_catalog.bytea, "any") IS
'class probabilities of a row, in the class order of dlfin_model_info';

CREATE FUNCTION @extschema@.dlfin_model_info(model pg_catalog.bytea)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_model_info(pg_catalog.bytea) IS
'description of a model: task, classes, features, layers, options, training history and validation metrics';
-- dlfin install script, part 30: evaluation metrics and the deterministic
-- train/test split.  Aggregates keep an internal state with combine, serial
-- and deserial functions, so they run in parallel plans; results do not
-- depend on the order rows or partial states arrive in.

-- ---- deterministic split ----

CREATE FUNCTION @extschema@.dlfin_split(key "any", test_fraction pg_catalog.float8,
                                        seed pg_catalog.int4 DEFAULT 0)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_split'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_split("any", pg_catalog.float8, pg_catalog.int4) IS
'''test'' for a stable, seed-dependent share test_fraction of key values, else ''train''';

-- ---- binary classification: state of all scores, split by class ----

CREATE FUNCTION @extschema@.dlfin_bin_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_bin_trans_threshold(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool, pg_catalog.float8)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_trans_threshold' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_bin_trans_points(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool, pg_catalog.int4)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_trans_points' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_bin_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_bin_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_bin_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_bin_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_auc_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_auc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_gini_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_gini_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_ks_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_ks_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_metrics_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_metrics_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_roc_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_roc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_deciles_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_deciles_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.dlfin_auc(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_auc_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_auc(pg_catalog.float8, pg_catalog.bool) IS
'exact ROC AUC (ties count one half); NULL unless both classes occur';

CREATE AGGREGATE @extschema@.dlfin_gini(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_gini_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_gini(pg_catalog.float8, pg_catalog.bool) IS
'Gini coefficient, 2 AUC - 1; NULL unless both classes occur';

CREATE AGGREGATE @extschema@.dlfin_ks(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_ks_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_ks(pg_catalog.float8, pg_catalog.bool) IS
'Kolmogorov-Smirnov statistic between the score distributions of positives and negatives; NULL unless both classes occur';

CREATE AGGREGATE @extschema@.dlfin_metrics(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_metrics_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_metrics(pg_catalog.float8, pg_catalog.bool) IS
'binary classification metrics as jsonb, positive when score >= 0.5';

CREATE AGGREGATE @extschema@.dlfin_metrics(score pg_catalog.float8, label pg_catalog.bool,
                                           threshold pg_catalog.float8) (
    SFUNC = @extschema@.dlfin_bin_trans_threshold, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_metrics_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_metrics(pg_catalog.float8, pg_catalog.bool, pg_catalog.float8) IS
'binary classification metrics as jsonb, positive when score >= threshold';

CREATE AGGREGATE @extschema@.dlfin_roc(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_roc_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_roc(pg_catalog.float8, pg_catalog.bool) IS
'ROC curve (thresholds, fpr, tpr; at most 200 points) and AUC as jsonb';

CREATE AGGREGATE @extschema@.dlfin_roc(score pg_catalog.float8, label pg_catalog.bool,
                                       max_points pg_catalog.int4) (
    SFUNC = @extschema@.dlfin_bin_trans_points, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_roc_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_roc(pg_catalog.float8, pg_catalog.bool, pg_catalog.int4) IS
'ROC curve (thresholds, fpr, tpr; at most max_points points) and AUC as jsonb';

CREATE AGGREGATE @extschema@.dlfin_deciles(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_deciles_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_deciles(pg_catalog.float8, pg_catalog.bool) IS
'gains table by score decile (count, positives, positive rate, cumulative capture, lift) as a jsonb array';

-- ---- log loss and Brier score: exact streaming sums, constant memory ----

CREATE FUNCTION @extschema@.dlfin_logloss_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_logloss_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_brier_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_brier_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_sum_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_sum_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_sum_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_sum_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_sum_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_sum_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_sum_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_sum_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.dlfin_logloss(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_logloss_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_sum_final,
    COMBINEFUNC = @extschema@.dlfin_sum_combine,
    SERIALFUNC = @extschema@.dlfin_sum_serial, DESERIALFUNC = @extschema@.dlfin_sum_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_logloss(pg_catalog.float8, pg_catalog.bool) IS
'mean log loss with scores clipped to [1e-15, 1 - 1e-15]';

CREATE AGGREGATE @extschema@.dlfin_brier(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_brier_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_sum_final,
    COMBINEFUNC = @extschema@.dlfin_sum_combine,
    SERIALFUNC = @extschema@.dlfin_sum_serial, DESERIALFUNC = @extschema@.dlfin_sum_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_brier(pg_catalog.float8, pg_catalog.bool) IS
'Brier score: mean squared difference between probability and outcome';

-- ---- regression ----

CREATE FUNCTION @extschema@.dlfin_reg_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.float8)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_reg_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_reg_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_reg_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_reg_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_reg_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_reg_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_reg_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_reg_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_reg_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.dlfin_regression_metrics(prediction pg_catalog.float8,
                                                      actual pg_catalog.float8) (
    SFUNC = @extschema@.dlfin_reg_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_reg_final,
    COMBINEFUNC = @extschema@.dlfin_reg_combine,
    SERIALFUNC = @extschema@.dlfin_reg_serial, DESERIALFUNC = @extschema@.dlfin_reg_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_regression_metrics(pg_catalog.float8, pg_catalog.float8) IS
'regression metrics as jsonb: n, mse, rmse, mae, r2 (r2 NULL when the actual values are constant)';

-- ---- multiclass ----

CREATE FUNCTION @extschema@.dlfin_mc_trans(pg_catalog.internal, pg_catalog.text, pg_catalog.text)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_mc_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_mc_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_mc_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_mc_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_mc_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_mc_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_mc_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_mc_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_mc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.dlfin_multiclass_metrics(predicted pg_catalog.text,
                                                      actual pg_catalog.text) (
    SFUNC = @extschema@.dlfin_mc_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_mc_final,
    COMBINEFUNC = @extschema@.dlfin_mc_combine,
    SERIALFUNC = @extschema@.dlfin_mc_serial, DESERIALFUNC = @extschema@.dlfin_mc_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_multiclass_metrics(pg_catalog.text, pg_catalog.text) IS
'multiclass metrics as jsonb: accuracy, macro and weighted precision/recall/F1, per-class figures, confusion matrix (rows actual, columns predicted)';
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
-- dlfin install script, part 50: explaining and governing a model.
-- Row functions depend only on their arguments: IMMUTABLE, not strict
-- because NULL features are imputed (a NULL model gives NULL).

CREATE FUNCTION @extschema@.dlfin_explain(model pg_catalog.bytea, VARIADIC features "any")
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_explain'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_explain(pg_catalog.bytea, "any") IS
'integrated-gradients attribution of a row: {"score", "baseline", "contributions": {feature: value}}, contributions summing to score - baseline';

CREATE FUNCTION @extschema@.dlfin_reasons(model pg_catalog.bytea, k integer, VARIADIC features "any")
RETURNS text[]
AS 'MODULE_PATHNAME', 'dlfin_reasons'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_reasons(pg_catalog.bytea, integer, "any") IS
'reason codes: the texts of up to k features that pushed the row most toward the adverse outcome';

CREATE FUNCTION @extschema@.dlfin_importance(model pg_catalog.bytea,
    OUT feature text, OUT importance double precision, OUT rank integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlfin_importance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.dlfin_importance(pg_catalog.bytea) IS
'permutation importance of each feature on the validation split (drop in AUC, accuracy, or RMSE increase), ranked';

-- By registry name: STABLE, not IMMUTABLE, like dlfin_predict(name, ...):
-- the deployed version is looked up once per query execution, under the
-- query's snapshot.  An untyped literal first argument resolves to these
-- text forms; write '\x...'::bytea for literal model bytes.
CREATE FUNCTION @extschema@.dlfin_explain(name pg_catalog.text, VARIADIC features "any")
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_explain_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_explain(pg_catalog.text, "any") IS
'integrated-gradients attribution of a row with the deployed version of a named model';

CREATE FUNCTION @extschema@.dlfin_reasons(name pg_catalog.text, k integer, VARIADIC features "any")
RETURNS text[]
AS 'MODULE_PATHNAME', 'dlfin_reasons_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_reasons(pg_catalog.text, integer, "any") IS
'reason codes of a row with the deployed version of a named model';

CREATE FUNCTION @extschema@.dlfin_importance(name pg_catalog.text,
    OUT feature text, OUT importance double precision, OUT rank integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlfin_importance_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.dlfin_importance(pg_catalog.text) IS
'permutation importance of each feature of the deployed version of a named model, ranked';

-- Drift: PSI of today's rows against the training distributions.
CREATE FUNCTION @extschema@.dlfin_drift_sfunc(internal, pg_catalog.bytea, VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_drift_sfunc'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_drift_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_drift_combine'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_drift_serial(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_drift_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_drift_deserial(pg_catalog.bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_drift_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_drift_final(internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_drift_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.dlfin_drift(pg_catalog.bytea, VARIADIC "any") (
    SFUNC = @extschema@.dlfin_drift_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.dlfin_drift_final,
    COMBINEFUNC = @extschema@.dlfin_drift_combine,
    SERIALFUNC = @extschema@.dlfin_drift_serial,
    DESERIALFUNC = @extschema@.dlfin_drift_deserial,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.dlfin_drift(pg_catalog.bytea, "any") IS
'population stability index of the rows'' features and score against the model''s training distributions, with stable/moderate/significant bands';

-- Fairness: approval, TPR, FPR per group; adverse impact ratio; parity.
CREATE FUNCTION @extschema@.dlfin_fairness_sfunc(internal, double precision, text, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_sfunc'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_fairness_sfunc_threshold(internal, double precision, text, boolean, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_sfunc_threshold'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_fairness_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_combine'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_fairness_serial(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_fairness_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_fairness_deserial(pg_catalog.bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_fairness_final(internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_fairness_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- Aggregates take no DEFAULT arguments: two signatures, threshold 0.5.
CREATE AGGREGATE @extschema@.dlfin_fairness(score double precision, grp text, label boolean) (
    SFUNC = @extschema@.dlfin_fairness_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.dlfin_fairness_final,
    COMBINEFUNC = @extschema@.dlfin_fairness_combine,
    SERIALFUNC = @extschema@.dlfin_fairness_serial,
    DESERIALFUNC = @extschema@.dlfin_fairness_deserial,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.dlfin_fairness(double precision, text, boolean) IS
'fairness by group at threshold 0.5 (approved = score >= threshold): approval rate, TPR, FPR, adverse impact ratio, parity and equal-opportunity differences';

CREATE AGGREGATE @extschema@.dlfin_fairness(score double precision, grp text, label boolean, threshold double precision) (
    SFUNC = @extschema@.dlfin_fairness_sfunc_threshold,
    STYPE = internal,
    FINALFUNC = @extschema@.dlfin_fairness_final,
    COMBINEFUNC = @extschema@.dlfin_fairness_combine,
    SERIALFUNC = @extschema@.dlfin_fairness_serial,
    DESERIALFUNC = @extschema@.dlfin_fairness_deserial,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.dlfin_fairness(double precision, text, boolean, double precision) IS
'fairness by group at a threshold (approved = score >= threshold): approval rate, TPR, FPR, adverse impact ratio, parity and equal-opportunity differences';
-- dlfin install script, part 60: the model card and its SVG charts.
--
-- The chart aggregates share the internal state of the binary metric
-- aggregates (part 30), so they run in parallel plans and draw exactly the
-- numbers dlfin_roc, dlfin_deciles and dlfin_metrics return.  The card is
-- one self-contained HTML page (inline CSS and SVG, no scripts, no external
-- resources) drawn by dlfin.card_html from the model bytes, the held-out
-- scores and labels, and the facts the wrappers below gather.

-- ---- charts over (score, label) ----

CREATE FUNCTION @extschema@.dlfin_svg_roc_final(pg_catalog.internal)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_roc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_svg_calibration_final(pg_catalog.internal)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_calibration_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dlfin_svg_lift_final(pg_catalog.internal)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_lift_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.dlfin_svg_roc(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_svg_roc_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_svg_roc(pg_catalog.float8, pg_catalog.bool) IS
'ROC curve as an SVG image (the points of dlfin_roc, AUC in the legend); NULL unless both classes occur';

CREATE AGGREGATE @extschema@.dlfin_svg_calibration(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_svg_calibration_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_svg_calibration(pg_catalog.float8, pg_catalog.bool) IS
'reliability diagram as an SVG image: observed positive rate per 0.1-wide bin of the score, with rows per bin; NULL without rows';

CREATE AGGREGATE @extschema@.dlfin_svg_lift(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = @extschema@.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.dlfin_svg_lift_final,
    COMBINEFUNC = @extschema@.dlfin_bin_combine,
    SERIALFUNC = @extschema@.dlfin_bin_serial, DESERIALFUNC = @extschema@.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_svg_lift(pg_catalog.float8, pg_catalog.bool) IS
'lift per score decile (the lift column of dlfin_deciles) as an SVG bar chart; NULL without positive rows';

-- ---- charts of a model ----

CREATE FUNCTION @extschema@.dlfin_svg_learning_curve(model pg_catalog.bytea)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_learning_curve'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_svg_learning_curve(pg_catalog.bytea) IS
'training and validation loss per epoch of a model as an SVG line chart, best epoch marked; NULL without history';

CREATE FUNCTION @extschema@.dlfin_svg_importance(model pg_catalog.bytea)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_importance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_svg_importance(pg_catalog.bytea) IS
'permutation importance of the features of a model as an SVG bar chart (30 largest); NULL when the model carries none';

-- ---- the page ----

CREATE FUNCTION dlfin.card_html(model pg_catalog.bytea, scores pg_catalog.float8[],
                                labels pg_catalog.bool[], groups pg_catalog.text[],
                                facts pg_catalog.jsonb)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_card_html'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION dlfin.card_html(pg_catalog.bytea, pg_catalog.float8[], pg_catalog.bool[], pg_catalog.text[], pg_catalog.jsonb) IS
'renders a model card from model bytes, held-out scores, labels and optional groups, and a jsonb of facts (title, threshold, identity, rows, metrics, deployments, notes); what dlfin_model_card and dlfin.model_card call';

-- Checks the options of a model card; returns them with defaults filled in.
CREATE FUNCTION dlfin.card_options(options pg_catalog.jsonb, allowed pg_catalog.text[])
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_opts jsonb := coalesce(options, '{}');
    v_key text;
BEGIN
    IF pg_catalog.jsonb_typeof(v_opts) <> 'object' THEN
        RAISE EXCEPTION 'model card options must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_key IN SELECT k FROM pg_catalog.jsonb_object_keys(v_opts) k ORDER BY k LOOP
        IF NOT v_key OPERATOR(pg_catalog.=) ANY (allowed) THEN
            RAISE EXCEPTION 'unknown model card option "%"', v_key
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = pg_catalog.format('The options are %s.', pg_catalog.array_to_string(allowed, ', '));
        END IF;
    END LOOP;
    IF v_opts ? 'threshold' AND (pg_catalog.jsonb_typeof(v_opts -> 'threshold') <> 'number'
                                 OR (v_opts ->> 'threshold')::float8 NOT BETWEEN 0 AND 1) THEN
        RAISE EXCEPTION 'model card option "threshold" must be a number between 0 and 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_key IN SELECT k FROM pg_catalog.unnest(ARRAY['title', 'group', 'drift']) k LOOP
        IF v_opts ? v_key AND pg_catalog.jsonb_typeof(v_opts -> v_key) <> 'string' THEN
            RAISE EXCEPTION 'model card option "%" must be a string', v_key
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF v_opts ? 'heldout' AND pg_catalog.jsonb_typeof(v_opts -> 'heldout') <> 'boolean' THEN
        RAISE EXCEPTION 'model card option "heldout" must be a boolean'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_opts;
END
$$;
COMMENT ON FUNCTION dlfin.card_options(pg_catalog.jsonb, pg_catalog.text[]) IS
'validates model card options against the allowed keys';

-- PSI of a table's rows against the model's training distributions
-- (dlfin_drift), or NULL and the reason.  The table name is resolved with
-- the caller's search_path; the table needs a column named after every
-- feature of the model.
CREATE FUNCTION dlfin.card_drift(model pg_catalog.bytea, rel pg_catalog.text, caller_path pg_catalog.text,
                                 OUT drift pg_catalog.jsonb, OUT note pg_catalog.text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rel pg_catalog.regclass;
    v_cols text;
    v_missing text;
BEGIN
    IF rel IS NULL THEN
        note := 'no table to compare with the training data was given (option "drift").';
        RETURN;
    END IF;
    PERFORM pg_catalog.set_config('search_path', coalesce(caller_path, 'pg_catalog, pg_temp'), true);
    v_rel := rel::pg_catalog.regclass;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT pg_catalog.string_agg(pg_catalog.format('d.%I', f ->> 'name'), ', ' ORDER BY o),
           pg_catalog.string_agg(pg_catalog.quote_ident(f ->> 'name'), ', ' ORDER BY o)
             FILTER (WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                       WHERE a.attrelid = v_rel AND a.attname = f ->> 'name'
                                         AND a.attnum > 0 AND NOT a.attisdropped))
      INTO v_cols, v_missing
    FROM pg_catalog.jsonb_array_elements(@extschema@.dlfin_model_info(model) -> 'features') WITH ORDINALITY AS e(f, o);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'drift table % has no column for model feature(s) %', v_rel, v_missing
            USING ERRCODE = 'undefined_column',
                  HINT = 'The table of option "drift" needs a column named after every feature of the model, as dlfin_model_info(model)->''features'' lists them.';
    END IF;
    EXECUTE pg_catalog.format('SELECT @extschema@.dlfin_drift($1, %s) FROM %s d', v_cols, v_rel)
        INTO drift USING model;
    IF drift IS NULL THEN
        note := pg_catalog.format('the drift table %s has no rows.', v_rel);
    ELSE
        drift := drift OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('table', v_rel::text);
    END IF;
END
$$;
COMMENT ON FUNCTION dlfin.card_drift(pg_catalog.bytea, pg_catalog.text, pg_catalog.text) IS
'dlfin_drift of a table (resolved with the given search_path) against a model''s training data for the model card, or the reason it is not available';

-- dlfin_fairness of held-out rows for the model card.  An applicant is
-- approved when the model's decision at the threshold is the good outcome:
-- score below the threshold when the adverse side is the positive class
-- (a model of default), at or above it otherwise; the label passed on is
-- true for the good outcome.  The decision is passed as 0/1, so approval
-- agrees exactly with the card's confusion matrix.
CREATE FUNCTION dlfin.card_fairness(model pg_catalog.bytea, scores pg_catalog.float8[],
                                    labels pg_catalog.bool[], groups pg_catalog.text[],
                                    threshold pg_catalog.float8)
RETURNS pg_catalog.jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT @extschema@.dlfin_fairness(
           (CASE WHEN a.adverse_positive THEN u.s OPERATOR(pg_catalog.<) t.t
                 ELSE u.s OPERATOR(pg_catalog.>=) t.t END)::pg_catalog.int4::pg_catalog.float8,
           u.g,
           CASE WHEN a.adverse_positive THEN NOT u.l ELSE u.l END,
           0.5::pg_catalog.float8)
FROM ROWS FROM (pg_catalog.unnest(scores), pg_catalog.unnest(labels), pg_catalog.unnest(groups)) AS u(s, l, g),
     (SELECT (@extschema@.dlfin_model_info(model) OPERATOR(pg_catalog.->>) 'adverse')
             OPERATOR(pg_catalog.=) 'positive' AS adverse_positive) a,
     (SELECT coalesce(threshold, 0.5) AS t) t
WHERE groups IS NOT NULL
$$;
COMMENT ON FUNCTION dlfin.card_fairness(pg_catalog.bytea, pg_catalog.float8[], pg_catalog.bool[], pg_catalog.text[], pg_catalog.float8) IS
'dlfin_fairness of a model''s held-out decisions at a threshold, approval being the good outcome of the model''s adverse side, for the model card';

-- The card of model bytes, evaluated on a held-out table; caller_path is
-- the caller's search_path, for the table of option "drift".
CREATE FUNCTION dlfin.card_of_model(model pg_catalog.bytea, heldout pg_catalog.regclass,
                                    options pg_catalog.jsonb, caller_path pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_opts jsonb;
    v_group text;
    v_scores float8[];
    v_labels boolean[];
    v_groups text[];
    v_col text;
    v_drift record;
    v_notes jsonb := '[]';
BEGIN
    IF model IS NULL THEN
        RAISE EXCEPTION 'model must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_opts := dlfin.card_options(options, ARRAY['title', 'threshold', 'group', 'drift']);
    v_group := v_opts ->> 'group';
    IF heldout IS NOT NULL THEN
        FOREACH v_col IN ARRAY ARRAY['score', 'label', v_group] LOOP
            IF v_col IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = heldout AND a.attname = v_col
                             AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'held-out table % has no column "%"', heldout, v_col
                    USING ERRCODE = 'undefined_column',
                          HINT = 'The held-out table needs a column score (the model''s score, float8) and a column label (true for the positive class); option "group" names an optional group column.';
            END IF;
        END LOOP;
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg((h.score)::pg_catalog.float8), pg_catalog.array_agg((h.label)::pg_catalog.bool), %s FROM %s h',
            CASE WHEN v_group IS NULL THEN 'NULL::pg_catalog.text[]'
                 ELSE pg_catalog.format('pg_catalog.array_agg((h.%I)::pg_catalog.text)', v_group) END,
            heldout)
          INTO v_scores, v_labels, v_groups;
    ELSIF v_group IS NOT NULL THEN
        RAISE EXCEPTION 'model card option "group" needs a held-out table'
            USING ERRCODE = 'invalid_parameter_value';
    ELSE
        v_notes := v_notes || pg_catalog.to_jsonb('No held-out table was given: the performance section is empty.'::text);
    END IF;
    SELECT * INTO v_drift FROM dlfin.card_drift(model, v_opts ->> 'drift', caller_path);
    RETURN dlfin.card_html(model, v_scores, v_labels, v_groups,
        pg_catalog.jsonb_build_object(
            'title', coalesce(v_opts ->> 'title', 'dlfin model'),
            'threshold', v_opts -> 'threshold',
            'group', v_group,
            'fairness', dlfin.card_fairness(model, v_scores, v_labels, v_groups, (v_opts ->> 'threshold')::float8),
            'generated_at', pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
            'identity', pg_catalog.jsonb_build_array(
                pg_catalog.jsonb_build_array('Name', coalesce(v_opts ->> 'title', 'not given')),
                pg_catalog.jsonb_build_array('Model SHA-256', pg_catalog.encode(pg_catalog.sha256(model), 'hex'), true),
                pg_catalog.jsonb_build_array('Held-out table', heldout::text, true),
                pg_catalog.jsonb_build_array('Training-data fingerprint, query, creator', NULL)),
            'notes', v_notes,
            'drift', v_drift.drift,
            'drift_table', v_drift.drift ->> 'table',
            'drift_note', v_drift.note,
            'deployments_note', 'the model was given as bytes; the registry keeps the history of named models (dlfin.model_card(name)).'));
END
$$;
COMMENT ON FUNCTION dlfin.card_of_model(pg_catalog.bytea, pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text) IS
'what dlfin_model_card runs, with the caller''s search_path for the table of option "drift"';

-- The card of model bytes: passes the caller's search_path on, since the
-- implementation runs under a fixed one.
CREATE FUNCTION @extschema@.dlfin_model_card(model pg_catalog.bytea,
                                             heldout pg_catalog.regclass DEFAULT NULL,
                                             options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED SECURITY INVOKER
AS $$ SELECT dlfin.card_of_model(model, heldout, options, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION @extschema@.dlfin_model_card(pg_catalog.bytea, pg_catalog.regclass, pg_catalog.jsonb) IS
'model card of model bytes as a self-contained HTML page; heldout is a table or view with columns score (float8) and label (boolean); options: title, threshold, group, drift';

-- The card of a registry model: its record, its deployment history, and
-- the held-out test part of its training query scored again.  The query
-- runs with the caller's rights and the search_path it was trained with,
-- under the session settings dlfin.train uses, so dlfin_split picks the
-- same test rows; the data fingerprint is computed again to show whether
-- the rows are still those the model was trained on.
CREATE FUNCTION dlfin.card_of_name(name pg_catalog.text, version pg_catalog.int4,
                                   options pg_catalog.jsonb, caller_path pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
-- the row text is the split key: the same settings as dlfin.train
SET extra_float_digits = 1
SET DateStyle = 'ISO, MDY'
SET IntervalStyle = 'postgres'
SET bytea_output = 'hex'
AS $$
DECLARE
    v_opts jsonb;
    v record;
    v_group text;
    v_frac float8;
    v_pos text;
    v_numeric_label boolean;
    v_feats text;
    v_lbl text;
    v_y text;
    v_stmt text;
    v_scores float8[];
    v_labels boolean[];
    v_groups text[];
    v_ntest bigint;
    v_fp text;
    v_notes jsonb := '[]';
    v_hist jsonb;
    v_drift record;
BEGIN
    IF card_of_name.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.model_card needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_opts := dlfin.card_options(options, ARRAY['title', 'threshold', 'group', 'drift', 'heldout']);
    v_group := v_opts ->> 'group';
    IF card_of_name.version IS NULL THEN
        -- the deployed version, else the latest one
        SELECT m.* INTO v FROM dlfin.models m WHERE m.name = card_of_name.name
        ORDER BY m.status = 'deployed' DESC, m.version DESC LIMIT 1;
    ELSE
        SELECT m.* INTO v FROM dlfin.models m
        WHERE m.name = card_of_name.name AND m.version = card_of_name.version;
    END IF;
    IF NOT FOUND THEN
        IF card_of_name.version IS NOT NULL
           AND EXISTS (SELECT FROM dlfin.models m WHERE m.name = card_of_name.name) THEN
            RAISE EXCEPTION 'dlfin model "%" has no version %', card_of_name.name, card_of_name.version
                USING ERRCODE = 'undefined_object';
        END IF;
        RAISE EXCEPTION 'dlfin model "%" does not exist', card_of_name.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name, version FROM dlfin.models lists the models you may see.';
    END IF;

    -- held-out rows: the test part of the training query, scored again
    IF v.task <> 'binary' THEN
        v_notes := v_notes || pg_catalog.to_jsonb('Held-out charts are drawn for binary classifiers; the registry metrics are shown.'::text);
    ELSIF NOT coalesce((v_opts ->> 'heldout')::boolean, true) THEN
        v_notes := v_notes || pg_catalog.to_jsonb('Held-out rows were not scored again (option "heldout": false).'::text);
    ELSE
        v_frac := coalesce((v.decision ->> 'test_fraction')::float8, 0.2);
        v_pos := @extschema@.dlfin_model_info(v.model) -> 'classes' ->> 1;
        PERFORM pg_catalog.set_config('search_path', v.search_path, true);
        SELECT (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
               IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
                   'float8'::regtype, 'numeric'::regtype)
          INTO v_numeric_label
        FROM dlfin.query_columns(pg_catalog.regexp_replace(v.query, '[[:space:];]+$', '')) c
        JOIN pg_catalog.pg_type t ON t.oid = c.type
        WHERE c.name = v.label;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF v_group IS NOT NULL AND NOT v_group = ANY (v.features) AND v_group <> v.label
           AND NOT EXISTS (SELECT FROM dlfin.query_columns(v.query) c WHERE c.name = v_group) THEN
            RAISE EXCEPTION 'model card group column "%" is not a column of the training query', v_group
                USING ERRCODE = 'undefined_column';
        END IF;
        SELECT pg_catalog.string_agg(pg_catalog.format('q.%I', f), ', ' ORDER BY o) INTO v_feats
        FROM pg_catalog.unnest(v.features) WITH ORDINALITY u(f, o);
        v_lbl := pg_catalog.format('q.%I', v.label);
        v_y := CASE WHEN v_numeric_label
                    THEN pg_catalog.format('(%s)::pg_catalog.float8 OPERATOR(pg_catalog.=) ($2)::pg_catalog.float8', v_lbl)
                    ELSE pg_catalog.format('(%s)::pg_catalog.text OPERATOR(pg_catalog.=) $2', v_lbl) END;
        v_stmt := pg_catalog.format($q$
SELECT pg_catalog.array_agg(@extschema@.dlfin_predict($1, %1$s)) FILTER (WHERE k.test),
       pg_catalog.array_agg(%2$s) FILTER (WHERE k.test),
       %3$s,
       pg_catalog.count(*) FILTER (WHERE k.test),
       pg_catalog.md5(pg_catalog.concat(pg_catalog.count(*), ':',
           pg_catalog.sum(('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(k.t), 1, 16))
                          ::pg_catalog.bit(64)::pg_catalog.int8)))
FROM (%4$s%5$s) q
CROSS JOIN LATERAL (SELECT k0.t, @extschema@.dlfin_split(k0.t, $3, 0) OPERATOR(pg_catalog.=) 'test'
                                 AND %6$s IS NOT NULL AS test
                    FROM (SELECT q::pg_catalog.text AS t) k0) k
$q$, v_feats, v_y,
            CASE WHEN v_group IS NULL THEN 'NULL::pg_catalog.text[]'
                 ELSE pg_catalog.format('pg_catalog.array_agg((q.%I)::pg_catalog.text) FILTER (WHERE k.test)', v_group) END,
            pg_catalog.regexp_replace(v.query, '[[:space:];]+$', ''), E'\n', v_lbl);
        PERFORM pg_catalog.set_config('search_path', v.search_path, true);
        EXECUTE v_stmt INTO v_scores, v_labels, v_groups, v_ntest, v_fp USING v.model, v_pos, v_frac;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF v_fp IS DISTINCT FROM v.data_fingerprint THEN
            v_notes := v_notes || pg_catalog.to_jsonb(pg_catalog.format(
                'Warning: the rows of the training query changed since version %s was trained (data fingerprint %s now, %s then); the held-out rows below are today''s test part (%s rows, %s at training).',
                v.version, v_fp, v.data_fingerprint, v_ntest, v.test_rows));
        END IF;
    END IF;

    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'changed_at', pg_catalog.to_char(d.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
               'action', d.action, 'version', d.version, 'previous_version', d.previous_version,
               'changed_by', d.changed_by, 'reason', d.reason) ORDER BY d.id)
      INTO v_hist
    FROM dlfin.deployments d WHERE d.name = v.name;
    SELECT * INTO v_drift FROM dlfin.card_drift(v.model, v_opts ->> 'drift', caller_path);

    RETURN dlfin.card_html(v.model, v_scores, v_labels, v_groups,
        pg_catalog.jsonb_build_object(
            'title', coalesce(v_opts ->> 'title', pg_catalog.format('%s, version %s', v.name, v.version)),
            'threshold', v_opts -> 'threshold',
            'group', v_group,
            'fairness', CASE WHEN v.task = 'binary'
                             THEN dlfin.card_fairness(v.model, v_scores, v_labels, v_groups, (v_opts ->> 'threshold')::float8) END,
            'registry', true,
            'generated_at', pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
            'identity', pg_catalog.jsonb_build_array(
                pg_catalog.jsonb_build_array('Name', v.name),
                pg_catalog.jsonb_build_array('Version', v.version::text),
                pg_catalog.jsonb_build_array('Status', v.status),
                pg_catalog.jsonb_build_array('Created', pg_catalog.to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')),
                pg_catalog.jsonb_build_array('Created by', v.created_by),
                pg_catalog.jsonb_build_array('Owner', v.owner::text),
                pg_catalog.jsonb_build_array('Model SHA-256', v.model_sha256, true),
                pg_catalog.jsonb_build_array('Training-data fingerprint', v.data_fingerprint, true),
                pg_catalog.jsonb_build_array('Training query', v.query, true),
                pg_catalog.jsonb_build_array('Search path of the query', v.search_path, true),
                pg_catalog.jsonb_build_array('Label', v.label),
                pg_catalog.jsonb_build_array('Features', pg_catalog.array_to_string(v.features, ', ')),
                pg_catalog.jsonb_build_array('Options given', v.options::text, true),
                pg_catalog.jsonb_build_array('Deployment decision', v.decision ->> 'reason')),
            'rows', pg_catalog.jsonb_build_object('train', v.train_rows, 'test', v.test_rows, 'total', v.rows),
            'metrics', v.metrics,
            'notes', v_notes,
            'deployments', coalesce(v_hist, '[]'),
            'drift', v_drift.drift,
            'drift_table', v_drift.drift ->> 'table',
            'drift_note', v_drift.note));
END
$$;
COMMENT ON FUNCTION dlfin.card_of_name(pg_catalog.text, pg_catalog.int4, pg_catalog.jsonb, pg_catalog.text) IS
'what dlfin.model_card runs, with the caller''s search_path for the table of option "drift"';

-- The card of a registry model: passes the caller's search_path on.
CREATE FUNCTION dlfin.model_card(name pg_catalog.text, version pg_catalog.int4 DEFAULT NULL,
                                 options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
AS $$ SELECT dlfin.card_of_name(name, version, options, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION dlfin.model_card(pg_catalog.text, pg_catalog.int4, pg_catalog.jsonb) IS
'model card of a registry model (the deployed or latest version unless one is given) as a self-contained HTML page, its held-out test rows scored again; options: title, threshold, group, drift, heldout';
