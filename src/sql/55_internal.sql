-- dlfin install script, part 55: internal entry points of generated SQL.
--
-- The registry and the model card build statements around a user's query.
-- A call of a function taking "any" can be captured by an overload with
-- exact argument types in the same schema: someone who may create objects
-- in the extension's schema (public, usually: the database owner) could
-- create public.dlfin_split(text, float8, integer) and have it run by
-- whoever trains next.  Generated statements therefore call these copies
-- in the schema dlfin, where only the extension's owner creates objects.
-- They share the C code and the support functions of the public ones.

CREATE OR REPLACE FUNCTION dlfin.split(key "any", test_fraction pg_catalog.float8, seed pg_catalog.int4)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_split'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlfin.split("any", pg_catalog.float8, pg_catalog.int4) IS
'internal: dlfin_split for generated statements';

CREATE OR REPLACE AGGREGATE dlfin.train_agg("any", VARIADIC "any") (
    SFUNC = dlfin.dlfin_train_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_train_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = dlfin.dlfin_train_combine,
    SERIALFUNC = dlfin.dlfin_train_serialize,
    DESERIALFUNC = dlfin.dlfin_train_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE dlfin.train_agg("any", "any") IS
'internal: dlfin_train for generated statements';

CREATE OR REPLACE FUNCTION dlfin.predict(model pg_catalog.bytea, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_predict'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION dlfin.predict(pg_catalog.bytea, "any") IS
'internal: dlfin_predict for generated statements';

CREATE OR REPLACE FUNCTION dlfin.predict_class(model pg_catalog.bytea, VARIADIC features "any")
RETURNS text
AS 'MODULE_PATHNAME', 'dlfin_predict_class'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION dlfin.predict_class(pg_catalog.bytea, "any") IS
'internal: dlfin_predict_class for generated statements';

CREATE OR REPLACE AGGREGATE dlfin.drift_agg(pg_catalog.bytea, VARIADIC "any") (
    SFUNC = dlfin.dlfin_drift_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_drift_final,
    COMBINEFUNC = dlfin.dlfin_drift_combine,
    SERIALFUNC = dlfin.dlfin_drift_serial,
    DESERIALFUNC = dlfin.dlfin_drift_deserial,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE dlfin.drift_agg(pg_catalog.bytea, "any") IS
'internal: dlfin_drift for generated statements';

-- ---- running stored code as its owner ----

-- Safe to leave executable by anyone: it checks that the caller already
-- has the privileges of the role (as SET ROLE would), and restricts what
-- the statement may do.
CREATE OR REPLACE FUNCTION dlfin.run_as(role pg_catalog.regrole, search_path pg_catalog.text,
                             statement pg_catalog.text, VARIADIC params "any")
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dlfin_run_as'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION dlfin.run_as(pg_catalog.regrole, pg_catalog.text, pg_catalog.text, "any") IS
'internal: runs a statement as a role the caller has the privileges of, in a security-restricted operation with the given search_path (pg_temp last)';

CREATE OR REPLACE FUNCTION dlfin.query_columns_as(role pg_catalog.regrole, search_path pg_catalog.text,
                                       query pg_catalog.text)
RETURNS TABLE (ordinal integer, name text, type pg_catalog.regtype)
AS 'MODULE_PATHNAME', 'dlfin_query_columns_as'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dlfin.query_columns_as(pg_catalog.regrole, pg_catalog.text, pg_catalog.text) IS
'internal: result columns of a single SELECT, its names resolved as a role with a search_path, as dlfin.run_as runs it';
