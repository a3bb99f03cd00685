-- dlfin install script, part 20: scoring and model inspection.
-- Scoring depends only on its arguments: IMMUTABLE, and not strict because
-- NULL features are imputed (a NULL model gives NULL).  The features come
-- one by one in training order, or as one composite row whose columns are
-- matched to the features by name (the row form; no signature of its own,
-- as one taking record would make dlfin_predict(m, a) ambiguous).
-- COST tells the planner what a row costs, in cpu_operator_cost units (one
-- is about a built-in operator's call): measured, dlfin_predict with a
-- [32, 16] network about 14, dlfin_predict_class and _proba about 20, the
-- 6-network ensemble the defaults train on small tables about 75.  20 is
-- above the 10 past which PostgreSQL scores after a sort with LIMIT
-- instead of every row, and lets the planner give a scoring filter over a
-- large table to parallel workers; more would push plans past
-- jit_above_cost sooner (doc/scoring.md).  Explanations (1-20 ms a row)
-- and dlfin_model_info (0.2 ms) cost 10000.

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_predict'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_predict(pg_catalog.bytea, "any") IS
'score a row (features in training order, or one row matched by column name): positive-class probability (binary), prediction (regression) or top-class probability (multiclass)';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict_class(model pg_catalog.bytea, VARIADIC features "any")
RETURNS text
AS 'MODULE_PATHNAME', 'dlfin_predict_class'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_predict_class(pg_catalog.bytea, "any") IS
'predicted class of a row (features in training order, or one row matched by column name), as text';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict_proba(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'dlfin_predict_proba'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_predict_proba(pg_catalog.bytea, "any") IS
'class probabilities of a row (features in training order, or one row matched by column name), in the class order of dlfin_model_info';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_model_info(model pg_catalog.bytea)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_model_info(pg_catalog.bytea) IS
'description of a model: task, classes, features, layers, options, training history and validation metrics';
