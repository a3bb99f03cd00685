-- dlfin install script, part 30: evaluation metrics and the deterministic
-- train/test split.  Aggregates keep an internal state with combine, serial
-- and deserial functions, so they run in parallel plans; results do not
-- depend on the order rows or partial states arrive in.

-- ---- deterministic split ----

CREATE OR REPLACE FUNCTION @extschema@.dlfin_split(key "any", test_fraction pg_catalog.float8,
                                        seed pg_catalog.int4 DEFAULT 0)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_split'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_split("any", pg_catalog.float8, pg_catalog.int4) IS
'''test'' for a stable, seed-dependent share test_fraction of key values, else ''train''';

-- ---- binary classification: state of all scores, split by class ----

CREATE OR REPLACE FUNCTION dlfin.dlfin_bin_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_bin_trans_threshold(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool, pg_catalog.float8)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_trans_threshold' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_bin_trans_points(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool, pg_catalog.int4)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_trans_points' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_bin_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_bin_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_bin_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_bin_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_bin_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION dlfin.dlfin_auc_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_auc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_gini_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_gini_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_ks_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_ks_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_metrics_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_metrics_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_roc_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_roc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_deciles_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_deciles_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_auc(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_auc_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_auc(pg_catalog.float8, pg_catalog.bool) IS
'exact ROC AUC (ties count one half); NULL unless both classes occur';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_gini(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_gini_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_gini(pg_catalog.float8, pg_catalog.bool) IS
'Gini coefficient, 2 AUC - 1; NULL unless both classes occur';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_ks(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_ks_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_ks(pg_catalog.float8, pg_catalog.bool) IS
'Kolmogorov-Smirnov statistic between the score distributions of positives and negatives; NULL unless both classes occur';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_metrics(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_metrics_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_metrics(pg_catalog.float8, pg_catalog.bool) IS
'binary classification metrics as jsonb, positive when score >= 0.5';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_metrics(score pg_catalog.float8, label pg_catalog.bool,
                                           threshold pg_catalog.float8) (
    SFUNC = dlfin.dlfin_bin_trans_threshold, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_metrics_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_metrics(pg_catalog.float8, pg_catalog.bool, pg_catalog.float8) IS
'binary classification metrics as jsonb, positive when score >= threshold';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_roc(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_roc_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_roc(pg_catalog.float8, pg_catalog.bool) IS
'ROC curve (thresholds, fpr, tpr; at most 200 points) and AUC as jsonb';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_roc(score pg_catalog.float8, label pg_catalog.bool,
                                       max_points pg_catalog.int4) (
    SFUNC = dlfin.dlfin_bin_trans_points, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_roc_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_roc(pg_catalog.float8, pg_catalog.bool, pg_catalog.int4) IS
'ROC curve (thresholds, fpr, tpr; at most max_points points) and AUC as jsonb';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_deciles(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_deciles_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_deciles(pg_catalog.float8, pg_catalog.bool) IS
'gains table by score decile (count, positives, positive rate, cumulative capture, lift) as a jsonb array';

-- ---- log loss and Brier score: exact streaming sums, constant memory ----

CREATE OR REPLACE FUNCTION dlfin.dlfin_logloss_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_logloss_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_brier_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.bool)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_brier_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_sum_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_sum_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_sum_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_sum_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_sum_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_sum_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_sum_final(pg_catalog.internal)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'dlfin_sum_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_logloss(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_logloss_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_sum_final,
    COMBINEFUNC = dlfin.dlfin_sum_combine,
    SERIALFUNC = dlfin.dlfin_sum_serial, DESERIALFUNC = dlfin.dlfin_sum_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_logloss(pg_catalog.float8, pg_catalog.bool) IS
'mean log loss with scores clipped to [1e-15, 1 - 1e-15]';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_brier(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_brier_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_sum_final,
    COMBINEFUNC = dlfin.dlfin_sum_combine,
    SERIALFUNC = dlfin.dlfin_sum_serial, DESERIALFUNC = dlfin.dlfin_sum_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_brier(pg_catalog.float8, pg_catalog.bool) IS
'Brier score: mean squared difference between probability and outcome';

-- ---- regression ----

CREATE OR REPLACE FUNCTION dlfin.dlfin_reg_trans(pg_catalog.internal, pg_catalog.float8, pg_catalog.float8)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_reg_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_reg_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_reg_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_reg_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_reg_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_reg_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_reg_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_reg_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_reg_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_regression_metrics(prediction pg_catalog.float8,
                                                      actual pg_catalog.float8) (
    SFUNC = dlfin.dlfin_reg_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_reg_final,
    COMBINEFUNC = dlfin.dlfin_reg_combine,
    SERIALFUNC = dlfin.dlfin_reg_serial, DESERIALFUNC = dlfin.dlfin_reg_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_regression_metrics(pg_catalog.float8, pg_catalog.float8) IS
'regression metrics as jsonb: n, mse, rmse, mae, r2 (r2 NULL when the actual values are constant)';

-- ---- multiclass ----

CREATE OR REPLACE FUNCTION dlfin.dlfin_mc_trans(pg_catalog.internal, pg_catalog.text, pg_catalog.text)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_mc_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_mc_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_mc_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_mc_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_mc_serial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_mc_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'dlfin_mc_deserial' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_mc_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_mc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_multiclass_metrics(predicted pg_catalog.text,
                                                      actual pg_catalog.text) (
    SFUNC = dlfin.dlfin_mc_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_mc_final,
    COMBINEFUNC = dlfin.dlfin_mc_combine,
    SERIALFUNC = dlfin.dlfin_mc_serial, DESERIALFUNC = dlfin.dlfin_mc_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_multiclass_metrics(pg_catalog.text, pg_catalog.text) IS
'multiclass metrics as jsonb: accuracy, macro and weighted precision/recall/F1, per-class figures, confusion matrix (rows actual, columns predicted)';
