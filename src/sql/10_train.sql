-- dlfin install script, part 10: the training aggregate.

CREATE FUNCTION @extschema@.dlfin_train_sfunc(internal, "any", VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_sfunc'
LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_train_opt_sfunc(internal, pg_catalog.jsonb, "any", VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_opt_sfunc'
LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_train_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_combine'
LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_train_serialize(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_train_serialize'
LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dlfin_train_deserialize(pg_catalog.bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_deserialize'
LANGUAGE C STRICT PARALLEL SAFE;

-- The final function is not strict: an aggregate over no rows returns NULL.
CREATE FUNCTION @extschema@.dlfin_train_final(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_train_final'
LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;

-- dlfin_train(label, feature, ...): train with default options.
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

-- dlfin_train(options, label, feature, ...): train with jsonb options.
CREATE AGGREGATE @extschema@.dlfin_train(pg_catalog.jsonb, "any", VARIADIC "any") (
    SFUNC = @extschema@.dlfin_train_opt_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.dlfin_train_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = @extschema@.dlfin_train_combine,
    SERIALFUNC = @extschema@.dlfin_train_serialize,
    DESERIALFUNC = @extschema@.dlfin_train_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.dlfin_train("any", VARIADIC "any") IS
'train a neural network on (label, feature, ...) rows; returns the model as bytea';
COMMENT ON AGGREGATE @extschema@.dlfin_train(pg_catalog.jsonb, "any", VARIADIC "any") IS
'train a neural network with jsonb options on (label, feature, ...) rows; returns the model as bytea';
