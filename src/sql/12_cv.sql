-- dlfin install script, part 12: cross-validation for users (dlfin_cv).

-- The final function is IMMUTABLE like dlfin_train's: the folds and every
-- fold's training depend only on the rows and the options.
CREATE OR REPLACE FUNCTION dlfin.dlfin_cv_final(internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_cv_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- dlfin_cv([options,] label, feature, ...): "cv_folds"-fold (default 5)
-- cross-validation of dlfin_train with these options; the same row
-- buffer as dlfin_train, so the same transition and parallel functions.
CREATE OR REPLACE AGGREGATE @extschema@.dlfin_cv(options_or_label "any", VARIADIC label_and_features "any") (
    SFUNC = dlfin.dlfin_train_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_cv_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = dlfin.dlfin_train_combine,
    SERIALFUNC = dlfin.dlfin_train_serialize,
    DESERIALFUNC = dlfin.dlfin_train_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.dlfin_cv("any", VARIADIC "any") IS
'k-fold cross-validation of dlfin_train on ([options jsonb,] label, feature, ...) rows; returns per-fold and mean/sd metrics as jsonb, keeps no model';

-- The copy generated statements call (see part 55): the registry's "cv".
CREATE OR REPLACE AGGREGATE dlfin.cv_agg("any", VARIADIC "any") (
    SFUNC = dlfin.dlfin_train_sfunc,
    STYPE = internal,
    FINALFUNC = dlfin.dlfin_cv_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = dlfin.dlfin_train_combine,
    SERIALFUNC = dlfin.dlfin_train_serialize,
    DESERIALFUNC = dlfin.dlfin_train_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE dlfin.cv_agg("any", "any") IS
'internal: dlfin_cv for generated statements';
