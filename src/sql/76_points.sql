-- dlfin install script, part 76: score points of binary models (the
-- "points" training option) and points-based explanations.  Like
-- dlfin_predict: IMMUTABLE over model bytes, STABLE by registry name,
-- features in training order or one row matched by column name.

CREATE OR REPLACE FUNCTION @extschema@.dlfin_points(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_points'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_points(pg_catalog.bytea, "any") IS
'score in points of a row with a binary model trained with the "points" option: offset + pdo / ln 2 * ln(odds of good)';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_points(name pg_catalog.text, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_points_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_points(pg_catalog.text, "any") IS
'score in points of a row with the deployed version of a named binary model trained with the "points" option';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_explain_points(model pg_catalog.bytea, VARIADIC features "any")
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_explain_points'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_explain_points(pg_catalog.bytea, "any") IS
'integrated-gradients attribution of a row in points: {"score", "baseline", "contributions": {feature: points}}, contributions summing to score - baseline';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_explain_points(name pg_catalog.text, VARIADIC features "any")
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_explain_points_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_explain_points(pg_catalog.text, "any") IS
'integrated-gradients attribution of a row in points with the deployed version of a named model';
