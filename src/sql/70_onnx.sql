-- dlfin install script, part 70: ONNX export and import (doc/onnx.md).
-- Export and import are pure functions of their arguments: IMMUTABLE; by
-- name it is STABLE, as the deployed version can change.

CREATE FUNCTION @extschema@.dlfin_onnx(model pg_catalog.bytea)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_onnx'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_onnx(pg_catalog.bytea) IS
'the model as a self-contained ONNX model that scores raw feature columns as dlfin_predict does';

CREATE FUNCTION @extschema@.dlfin_onnx(name pg_catalog.text)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_onnx_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_onnx(pg_catalog.text) IS
'the deployed version of a named model from dlfin.models as an ONNX model';

CREATE FUNCTION @extschema@.dlfin_from_onnx(onnx pg_catalog.bytea,
                                            options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_from_onnx'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_from_onnx(pg_catalog.bytea, pg_catalog.jsonb) IS
'a dlfin model from an ONNX multilayer perceptron (Gemm or MatMul+Add layers) or a dlfin export; options give feature names and types, task, classes and scaling';

-- Drift reference from rows: for a model without training rows of its own
-- (imported from ONNX), or to compare against another period.
CREATE FUNCTION dlfin.dlfin_reference_sfunc(internal, pg_catalog.bytea, VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_reference_sfunc'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;

CREATE FUNCTION dlfin.dlfin_reference_final(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_reference_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.dlfin_with_reference(model pg_catalog.bytea, VARIADIC features "any") (
    SFUNC = dlfin.dlfin_reference_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_reference_final,
    -- no combine function (the rows are kept, not counted): restricted, so
    -- a parallel scan can still feed it in the leader
    PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE @extschema@.dlfin_with_reference(pg_catalog.bytea, "any") IS
'the model with the rows'' features (in training order) and scores as its drift reference, in place of training distributions; dlfin_drift then compares against them';
