-- dlfin install script, part 50: explaining and governing a model.
-- Row functions depend only on their arguments: IMMUTABLE, not strict
-- because NULL features are imputed (a NULL model gives NULL).  Like
-- dlfin_predict they take the features in training order, or one composite
-- row matched to the features by column name.

CREATE OR REPLACE FUNCTION @extschema@.dlfin_explain(model pg_catalog.bytea, VARIADIC features "any")
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_explain'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_explain(pg_catalog.bytea, "any") IS
'integrated-gradients attribution of a row (features in training order, or one row matched by column name): {"score", "baseline", "contributions": {feature: value}}, contributions summing to score - baseline';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_reasons(model pg_catalog.bytea, k integer, VARIADIC features "any")
RETURNS text[]
AS 'MODULE_PATHNAME', 'dlfin_reasons'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_reasons(pg_catalog.bytea, integer, "any") IS
'reason codes: the texts of up to k features that pushed the row (features in training order, or one row matched by column name) most toward the adverse outcome';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_importance(model pg_catalog.bytea,
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
CREATE OR REPLACE FUNCTION @extschema@.dlfin_explain(name pg_catalog.text, VARIADIC features "any")
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_explain_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_explain(pg_catalog.text, "any") IS
'integrated-gradients attribution of a row with the deployed version of a named model';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_reasons(name pg_catalog.text, k integer, VARIADIC features "any")
RETURNS text[]
AS 'MODULE_PATHNAME', 'dlfin_reasons_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_reasons(pg_catalog.text, integer, "any") IS
'reason codes of a row with the deployed version of a named model';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_importance(name pg_catalog.text,
    OUT feature text, OUT importance double precision, OUT rank integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlfin_importance_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.dlfin_importance(pg_catalog.text) IS
'permutation importance of each feature of the deployed version of a named model, ranked';

-- Drift: PSI of today's rows against the training distributions.
CREATE OR REPLACE FUNCTION dlfin.dlfin_drift_sfunc(internal, pg_catalog.bytea, VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_drift_sfunc'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;

CREATE OR REPLACE FUNCTION dlfin.dlfin_drift_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_drift_combine'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_drift_serial(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_drift_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_drift_deserial(pg_catalog.bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_drift_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_drift_final(internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_drift_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_drift(model pg_catalog.bytea, VARIADIC features "any") (
    SFUNC = dlfin.dlfin_drift_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_drift_final,
    COMBINEFUNC = dlfin.dlfin_drift_combine,
    SERIALFUNC = dlfin.dlfin_drift_serial,
    DESERIALFUNC = dlfin.dlfin_drift_deserial,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.dlfin_drift(pg_catalog.bytea, "any") IS
'population stability index of the rows'' features (in training order, or one row matched by column name) and score against the model''s training distributions, with stable/moderate/significant bands';

-- Fairness: approval, TPR, FPR per group; adverse impact ratio; parity.
CREATE OR REPLACE FUNCTION dlfin.dlfin_fairness_sfunc(internal, double precision, text, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_sfunc'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_fairness_sfunc_threshold(internal, double precision, text, boolean, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_sfunc_threshold'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_fairness_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_combine'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_fairness_serial(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_fairness_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_fairness_deserial(pg_catalog.bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_fairness_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_fairness_final(internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_fairness_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- Aggregates take no DEFAULT arguments: two signatures, threshold 0.5.
CREATE OR REPLACE AGGREGATE @extschema@.dlfin_fairness(score double precision, grp text, label boolean) (
    SFUNC = dlfin.dlfin_fairness_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_fairness_final,
    COMBINEFUNC = dlfin.dlfin_fairness_combine,
    SERIALFUNC = dlfin.dlfin_fairness_serial,
    DESERIALFUNC = dlfin.dlfin_fairness_deserial,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.dlfin_fairness(double precision, text, boolean) IS
'fairness by group at threshold 0.5 (approved = score >= threshold): approval rate, TPR, FPR, adverse impact ratio, parity and equal-opportunity differences';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_fairness(score double precision, grp text, label boolean, threshold double precision) (
    SFUNC = dlfin.dlfin_fairness_sfunc_threshold,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_fairness_final,
    COMBINEFUNC = dlfin.dlfin_fairness_combine,
    SERIALFUNC = dlfin.dlfin_fairness_serial,
    DESERIALFUNC = dlfin.dlfin_fairness_deserial,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.dlfin_fairness(double precision, text, boolean, double precision) IS
'fairness by group at a threshold (approved = score >= threshold): approval rate, TPR, FPR, adverse impact ratio, parity and equal-opportunity differences';
