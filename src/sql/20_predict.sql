-- dlfin install script, part 20: scoring and model inspection.
-- Scoring depends only on its arguments: IMMUTABLE, and not strict because
-- NULL features are imputed (a NULL model gives NULL).  The features come
-- one by one in training order, or as one composite row whose columns are
-- matched to the features by name (the row form; no signature of its own,
-- as one taking record would make dlfin_predict(m, a) ambiguous).

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_predict'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict(pg_catalog.bytea, "any") IS
'score a row (features in training order, or one row matched by column name): positive-class probability (binary), prediction (regression) or top-class probability (multiclass)';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict_class(model pg_catalog.bytea, VARIADIC features "any")
RETURNS text
AS 'MODULE_PATHNAME', 'dlfin_predict_class'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict_class(pg_catalog.bytea, "any") IS
'predicted class of a row (features in training order, or one row matched by column name), as text';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict_proba(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'dlfin_predict_proba'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_predict_proba(pg_catalog.bytea, "any") IS
'class probabilities of a row (features in training order, or one row matched by column name), in the class order of dlfin_model_info';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_model_info(model pg_catalog.bytea)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_model_info(pg_catalog.bytea) IS
'description of a model: task, classes, features, layers, options, training history and validation metrics';
