-- dlfin install script, part 75: weight-of-evidence binning for scorecards.

CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_trans(internal, double precision, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'dlfin_binning_trans'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_trans(internal, double precision, boolean, pg_catalog.jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'dlfin_binning_trans'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_trans(internal, pg_catalog.text, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'dlfin_binning_trans'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_trans(internal, pg_catalog.text, boolean, pg_catalog.jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'dlfin_binning_trans'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'dlfin_binning_combine'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_serial(internal)
RETURNS pg_catalog.bytea AS 'MODULE_PATHNAME', 'dlfin_binning_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_deserial(pg_catalog.bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'dlfin_binning_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_binning_final(internal)
RETURNS pg_catalog.jsonb AS 'MODULE_PATHNAME', 'dlfin_binning_final'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

-- One aggregate per input kind, with and without options (aggregates take
-- no defaults): numbers are binned by value, text by category.
CREATE OR REPLACE AGGREGATE @extschema@.dlfin_binning(x double precision, label boolean) (
    SFUNC = dlfin.dlfin_binning_trans, STYPE = internal, FINALFUNC = dlfin.dlfin_binning_final,
    COMBINEFUNC = dlfin.dlfin_binning_combine, SERIALFUNC = dlfin.dlfin_binning_serial,
    DESERIALFUNC = dlfin.dlfin_binning_deserial, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_binning(double precision, boolean) IS
'weight-of-evidence binning of a numeric characteristic against a boolean label (true = event, e.g. default): bins, counts, event rates, WoE, IV';
CREATE OR REPLACE AGGREGATE @extschema@.dlfin_binning(x double precision, label boolean, options pg_catalog.jsonb) (
    SFUNC = dlfin.dlfin_binning_trans, STYPE = internal, FINALFUNC = dlfin.dlfin_binning_final,
    COMBINEFUNC = dlfin.dlfin_binning_combine, SERIALFUNC = dlfin.dlfin_binning_serial,
    DESERIALFUNC = dlfin.dlfin_binning_deserial, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_binning(double precision, boolean, pg_catalog.jsonb) IS
'weight-of-evidence binning of a numeric characteristic with options min_share, max_bins, prebins, monotonic';
CREATE OR REPLACE AGGREGATE @extschema@.dlfin_binning(x pg_catalog.text, label boolean) (
    SFUNC = dlfin.dlfin_binning_trans, STYPE = internal, FINALFUNC = dlfin.dlfin_binning_final,
    COMBINEFUNC = dlfin.dlfin_binning_combine, SERIALFUNC = dlfin.dlfin_binning_serial,
    DESERIALFUNC = dlfin.dlfin_binning_deserial, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_binning(pg_catalog.text, boolean) IS
'weight-of-evidence grouping of a categorical characteristic against a boolean label: groups of categories, counts, event rates, WoE, IV';
CREATE OR REPLACE AGGREGATE @extschema@.dlfin_binning(x pg_catalog.text, label boolean, options pg_catalog.jsonb) (
    SFUNC = dlfin.dlfin_binning_trans, STYPE = internal, FINALFUNC = dlfin.dlfin_binning_final,
    COMBINEFUNC = dlfin.dlfin_binning_combine, SERIALFUNC = dlfin.dlfin_binning_serial,
    DESERIALFUNC = dlfin.dlfin_binning_deserial, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_binning(pg_catalog.text, boolean, pg_catalog.jsonb) IS
'weight-of-evidence grouping of a categorical characteristic with options min_share, max_bins';

-- The bins of a dlfin_binning result as rows.
CREATE OR REPLACE FUNCTION @extschema@.dlfin_bins(binning pg_catalog.jsonb,
    OUT bin text, OUT lower double precision, OUT upper double precision, OUT categories text[],
    OUT count bigint, OUT events bigint, OUT non_events bigint, OUT event_rate double precision,
    OUT woe double precision, OUT iv double precision)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT b ->> 'bin', (b ->> 'lower')::float8, (b ->> 'upper')::float8,
       ARRAY(SELECT pg_catalog.jsonb_array_elements_text(b -> 'categories')),
       (b ->> 'count')::int8, (b ->> 'events')::int8, (b ->> 'non_events')::int8,
       (b ->> 'event_rate')::float8, (b ->> 'woe')::float8, (b ->> 'iv')::float8
FROM pg_catalog.jsonb_array_elements(binning -> 'bins') b
$$;
COMMENT ON FUNCTION @extschema@.dlfin_bins(pg_catalog.jsonb) IS
'the bins of a dlfin_binning result as rows: bin, bounds or categories, counts, event rate, WoE, IV';
