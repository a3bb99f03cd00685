-- dlfin install script, part 10: the training aggregate.

CREATE OR REPLACE FUNCTION dlfin.dlfin_train_sfunc(internal, "any", VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_sfunc'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_train_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_combine'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_train_serialize(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_train_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_train_deserialize(pg_catalog.bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'dlfin_train_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The final function is IMMUTABLE: the model depends only on the rows and
-- the options, not on their order nor on the thread count (dlfin.threads).
-- It is not strict: an aggregate over no rows returns NULL.
CREATE OR REPLACE FUNCTION dlfin.dlfin_train_final(internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_train_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- dlfin_train(label, feature, ...) trains with default options;
-- dlfin_train(options, label, feature, ...) with options as jsonb, json or
-- an untyped literal.  One signature serves both, so a literal needs no cast.
CREATE OR REPLACE AGGREGATE @extschema@.dlfin_train(options_or_label "any", VARIADIC label_and_features "any") (
    SFUNC = dlfin.dlfin_train_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_train_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = dlfin.dlfin_train_combine,
    SERIALFUNC = dlfin.dlfin_train_serialize,
    DESERIALFUNC = dlfin.dlfin_train_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.dlfin_train("any", VARIADIC "any") IS
'train a neural network on ([options jsonb,] label, feature, ...) rows; returns the model as bytea';
