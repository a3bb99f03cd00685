-- The volatility, strictness and parallel-safety labels of every function
-- the extension installs (i/s/v, strict, s/r/u).  A new function must be
-- added here: the last test fails for a function without an expected row.
BEGIN;
SELECT plan(4);

CREATE TEMP TABLE expected_labels (signature text PRIMARY KEY, volatility "char", strict boolean, parallel "char");
INSERT INTO expected_labels VALUES
    -- training aggregate and its support functions
    ('dlfin_train("any","any")', 'i', false, 's'),
    ('dlfin_train_sfunc(internal,"any","any")', 'i', false, 's'),
    ('dlfin_train_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_train_serialize(internal)', 'i', true, 's'),
    ('dlfin_train_deserialize(bytea,internal)', 'i', true, 's'),
    ('dlfin_train_final(internal)', 'i', false, 's'),
    -- cross-validation for users: dlfin_train's state, its own final function
    ('dlfin_cv("any","any")', 'i', false, 's'),
    ('dlfin_cv_final(internal)', 'i', false, 's'),
    ('cv_agg("any","any")', 'i', false, 's'),
    ('registry_cv(regrole,text,text,text,text[],jsonb,double precision,jsonb)', 'v', false, 'u'),
    -- scoring by model bytes
    ('dlfin_predict(bytea,"any")', 'i', false, 's'),
    ('dlfin_predict_class(bytea,"any")', 'i', false, 's'),
    ('dlfin_predict_proba(bytea,"any")', 'i', false, 's'),
    ('dlfin_model_info(bytea)', 'i', true, 's'),
    -- evaluation: split and metric aggregates with their support functions
    ('dlfin_split("any",double precision,integer)', 'i', true, 's'),
    ('dlfin_auc(double precision,boolean)', 'i', false, 's'),
    ('dlfin_gini(double precision,boolean)', 'i', false, 's'),
    ('dlfin_ks(double precision,boolean)', 'i', false, 's'),
    ('dlfin_logloss(double precision,boolean)', 'i', false, 's'),
    ('dlfin_brier(double precision,boolean)', 'i', false, 's'),
    ('dlfin_metrics(double precision,boolean)', 'i', false, 's'),
    ('dlfin_metrics(double precision,boolean,double precision)', 'i', false, 's'),
    ('dlfin_roc(double precision,boolean)', 'i', false, 's'),
    ('dlfin_roc(double precision,boolean,integer)', 'i', false, 's'),
    ('dlfin_deciles(double precision,boolean)', 'i', false, 's'),
    ('dlfin_regression_metrics(double precision,double precision)', 'i', false, 's'),
    ('dlfin_multiclass_metrics(text,text)', 'i', false, 's'),
    ('dlfin_bin_trans(internal,double precision,boolean)', 'i', false, 's'),
    ('dlfin_bin_trans_points(internal,double precision,boolean,integer)', 'i', false, 's'),
    ('dlfin_bin_trans_threshold(internal,double precision,boolean,double precision)', 'i', false, 's'),
    ('dlfin_bin_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_bin_serial(internal)', 'i', true, 's'),
    ('dlfin_bin_deserial(bytea,internal)', 'i', true, 's'),
    ('dlfin_auc_final(internal)', 'i', false, 's'),
    ('dlfin_gini_final(internal)', 'i', false, 's'),
    ('dlfin_ks_final(internal)', 'i', false, 's'),
    ('dlfin_metrics_final(internal)', 'i', false, 's'),
    ('dlfin_roc_final(internal)', 'i', false, 's'),
    ('dlfin_deciles_final(internal)', 'i', false, 's'),
    ('dlfin_logloss_trans(internal,double precision,boolean)', 'i', false, 's'),
    ('dlfin_brier_trans(internal,double precision,boolean)', 'i', false, 's'),
    ('dlfin_sum_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_sum_serial(internal)', 'i', true, 's'),
    ('dlfin_sum_deserial(bytea,internal)', 'i', true, 's'),
    ('dlfin_sum_final(internal)', 'i', false, 's'),
    ('dlfin_reg_trans(internal,double precision,double precision)', 'i', false, 's'),
    ('dlfin_reg_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_reg_serial(internal)', 'i', true, 's'),
    ('dlfin_reg_deserial(bytea,internal)', 'i', true, 's'),
    ('dlfin_reg_final(internal)', 'i', false, 's'),
    ('dlfin_mc_trans(internal,text,text)', 'i', false, 's'),
    ('dlfin_mc_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_mc_serial(internal)', 'i', true, 's'),
    ('dlfin_mc_deserial(bytea,internal)', 'i', true, 's'),
    ('dlfin_mc_final(internal)', 'i', false, 's'),
    -- model registry (schema dlfin) and scoring by name, STABLE because
    -- it reads dlfin.models
    ('dlfin_predict(text,"any")', 's', false, 's'),
    ('dlfin_predict_class(text,"any")', 's', false, 's'),
    ('dlfin_predict_proba(text,"any")', 's', false, 's'),
    ('dlfin_model_info(text)', 's', true, 's'),
    ('query_columns(text)', 's', true, 'r'),
    ('train(text,text,text,jsonb,text)', 'v', false, 'u'),
    ('train_with_search_path(text,text,text,jsonb,text,text)', 'v', false, 'u'),
    ('retrain(text,text)', 'v', false, 'u'),
    ('deploy(text,integer,text)', 'v', false, 'u'),
    ('rollback(text,text)', 'v', false, 'u'),
    ('drop_model(text,integer)', 'v', false, 'u'),
    ('models_check_deployment()', 'v', false, 'u'),
    ('deployments_append_only()', 'v', false, 'u'),
    -- the registry's writing steps, run as the extension's owner
    ('registry_no_model(text)', 'v', false, 'u'),
    ('registry_may(regrole,regrole)', 's', false, 's'),
    ('registry_lock(regrole,text)', 'v', false, 'u'),
    ('registry_log(regrole,text,integer,integer,text,text,regrole)', 'v', false, 'u'),
    ('registry_deploy(regrole,text,integer,text)', 'v', false, 'u'),
    ('registry_rollback(regrole,text,text)', 'v', false, 'u'),
    ('registry_drop_model(regrole,text,integer)', 'v', false, 'u'),
    ('registry_check_args(text,text,text,jsonb,text)', 'i', false, 's'),
    ('registry_describe(regrole,text,text,text,text[])', 'v', false, 'u'),
    ('registry_kind(regtype)', 's', false, 's'),
    ('registry_screen_statement(text,text[],regtype[])', 's', false, 's'),
    ('registry_statement(text,text,text[],regtype[],boolean)', 's', false, 's'),
    ('registry_decide(text,text,jsonb,integer,boolean,jsonb,text[])', 'i', false, 's'),
    ('registry_same_version(text,text,text,jsonb,text,text)', 's', false, 's'),
    ('registry_drop_identifiers(text[],regtype[],bigint,bigint[],numeric[],boolean)', 's', false, 's'),
    ('registry_leaks(text[],double precision[])', 's', false, 's'),
    ('registry_claim(regrole,text)', 'v', false, 'u'),
    ('registry_fingerprint(regrole,text,text,text,text,jsonb,boolean,text[],regtype[])', 'v', false, 'u'),
    ('registry_evaluate(regrole,text,text,text,text,jsonb,double precision,boolean,text[],regtype[],boolean)', 'v', false, 'u'),
    ('registry_record(regrole,regrole,text,integer,text,text,text[],jsonb,text,bytea,text,bigint,bigint,bigint,text,jsonb,jsonb)', 'v', false, 'u'),
    ('registry_train(regrole,regrole,text,text,text,jsonb,text,text)', 'v', false, 'u'),
    ('registry_train_with_search_path(regrole,text,text,text,jsonb,text,text)', 'v', false, 'u'),
    ('registry_retrain(regrole,text,text)', 'v', false, 'u'),
    ('export_models(text)', 's', false, 's'),
    ('import_models(jsonb)', 'v', true, 'u'),
    ('guard_drop()', 'v', false, 'u'),
    -- weight-of-evidence binning
    ('dlfin_binning(double precision,boolean)', 'i', false, 's'),
    ('dlfin_binning(double precision,boolean,jsonb)', 'i', false, 's'),
    ('dlfin_binning(text,boolean)', 'i', false, 's'),
    ('dlfin_binning(text,boolean,jsonb)', 'i', false, 's'),
    ('dlfin_binning_trans(internal,double precision,boolean)', 'i', false, 's'),
    ('dlfin_binning_trans(internal,double precision,boolean,jsonb)', 'i', false, 's'),
    ('dlfin_binning_trans(internal,text,boolean)', 'i', false, 's'),
    ('dlfin_binning_trans(internal,text,boolean,jsonb)', 'i', false, 's'),
    ('dlfin_binning_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_binning_serial(internal)', 'i', true, 's'),
    ('dlfin_binning_deserial(bytea,internal)', 'i', true, 's'),
    ('dlfin_binning_final(internal)', 'i', false, 's'),
    ('dlfin_bins(jsonb)', 'i', true, 's'),
    ('dlfin_iv(text,text,jsonb)', 'v', false, 'u'),
    -- score points and points-based explanations
    ('dlfin_points(bytea,"any")', 'i', false, 's'),
    ('dlfin_points(text,"any")', 's', false, 's'),
    ('dlfin_explain_points(bytea,"any")', 'i', false, 's'),
    ('dlfin_explain_points(text,"any")', 's', false, 's'),
    -- internal copies for generated statements, and running stored code
    ('split("any",double precision,integer)', 'i', true, 's'),
    ('train_agg("any","any")', 'i', false, 's'),
    ('predict(bytea,"any")', 'i', false, 's'),
    ('predict_class(bytea,"any")', 'i', false, 's'),
    ('drift_agg(bytea,"any")', 'i', false, 's'),
    ('run_as(regrole,text,text,"any")', 'v', false, 'u'),
    ('query_columns_as(regrole,text,text)', 's', false, 'r'),
    -- the deployed bytes of a name (by-name scoring on Citus workers)
    ('deployed_model(text)', 's', true, 's'),
    -- data-parallel training (46_train_distributed.sql)
    ('dlfin_average_models(bytea[],double precision[])', 'i', true, 's'),
    ('dp_run(regclass,text,bigint)', 'v', false, 'u'),
    ('dp_encoding(regclass,text,text[],integer)', 'v', false, 'u'),
    ('dp_options(regclass,text,text[],jsonb,integer)', 's', false, 'u'),
    ('dp_train_command(text,text[],jsonb)', 'i', false, 'u'),
    ('train_distributed(regclass,text,text[],jsonb,integer)', 'v', false, 'u'),
    -- ONNX export (by bytes, and by name: STABLE) and import
    ('dlfin_onnx(bytea)', 'i', true, 's'),
    ('dlfin_onnx(text)', 's', true, 's'),
    ('dlfin_from_onnx(bytea,jsonb)', 'i', true, 's'),
    ('dlfin_with_reference(bytea,"any")', 'i', false, 'r'),
    ('dlfin_reference_sfunc(internal,bytea,"any")', 'i', false, 's'),
    ('dlfin_reference_final(internal)', 'i', false, 's'),
    -- model card: chart aggregates over (score, label), charts of a model,
    -- the page renderer (pure) and its wrappers, which read tables
    ('dlfin_svg_roc(double precision,boolean)', 'i', false, 's'),
    ('dlfin_svg_calibration(double precision,boolean)', 'i', false, 's'),
    ('dlfin_svg_lift(double precision,boolean)', 'i', false, 's'),
    ('dlfin_svg_roc_final(internal)', 'i', false, 's'),
    ('dlfin_svg_calibration_final(internal)', 'i', false, 's'),
    ('dlfin_svg_lift_final(internal)', 'i', false, 's'),
    ('dlfin_svg_learning_curve(bytea)', 'i', true, 's'),
    ('dlfin_svg_importance(bytea)', 'i', true, 's'),
    ('card_html(bytea,double precision[],boolean[],text[],jsonb)', 'i', false, 's'),
    ('card_options(jsonb,text[])', 'i', false, 's'),
    ('card_drift(bytea,text,text)', 's', false, 'r'),
    ('card_fairness(bytea,double precision[],boolean[],text[],double precision)', 'i', false, 's'),
    ('card_of_model(bytea,regclass,jsonb,text)', 's', false, 'r'),
    ('card_version(text,integer)', 's', false, 'u'),
    ('card_identity(dlfin.models)', 's', true, 's'),
    ('card_heldout_query(dlfin.models,text,text)', 's', false, 's'),
    ('card_characteristics(dlfin.models,text,text,double precision)', 'v', false, 'u'),
    ('card_of_name(text,integer,jsonb,text)', 'v', false, 'u'),
    ('dlfin_model_card(bytea,regclass,jsonb)', 's', false, 'r'),
    ('model_card(text,integer,jsonb)', 'v', false, 'u'),
    -- explaining and governing
    ('dlfin_explain(bytea,"any")', 'i', false, 's'),
    ('dlfin_reasons(bytea,integer,"any")', 'i', false, 's'),
    ('dlfin_importance(bytea)', 'i', true, 's'),
    ('dlfin_explain(text,"any")', 's', false, 's'),
    ('dlfin_reasons(text,integer,"any")', 's', false, 's'),
    ('dlfin_importance(text)', 's', true, 's'),
    ('dlfin_drift(bytea,"any")', 'i', false, 's'),
    ('dlfin_drift_sfunc(internal,bytea,"any")', 'i', false, 's'),
    ('dlfin_drift_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_drift_serial(internal)', 'i', true, 's'),
    ('dlfin_drift_deserial(bytea,internal)', 'i', true, 's'),
    ('dlfin_drift_final(internal)', 'i', false, 's'),
    ('dlfin_fairness(double precision,text,boolean)', 'i', false, 's'),
    ('dlfin_fairness(double precision,text,boolean,double precision)', 'i', false, 's'),
    ('dlfin_fairness_sfunc(internal,double precision,text,boolean)', 'i', false, 's'),
    ('dlfin_fairness_sfunc_threshold(internal,double precision,text,boolean,double precision)', 'i', false, 's'),
    ('dlfin_fairness_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_fairness_serial(internal)', 'i', true, 's'),
    ('dlfin_fairness_deserial(bytea,internal)', 'i', true, 's'),
    ('dlfin_fairness_final(internal)', 'i', false, 's');

-- signatures without schema, whatever the search_path
CREATE TEMP TABLE actual_labels AS
SELECT p.proname || '(' || coalesce((SELECT string_agg(format_type(t, NULL), ',' ORDER BY o)
                                     FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, o)), '') || ')' AS signature,
       p.provolatile AS volatility, p.proisstrict AS strict, p.proparallel AS parallel
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dlfin';

SELECT set_eq(
    $$SELECT signature, volatility, strict, parallel FROM actual_labels WHERE signature IN (SELECT signature FROM expected_labels)$$,
    $$SELECT signature, volatility, strict, parallel FROM expected_labels$$,
    'volatility, strictness and parallel safety are as documented');
SELECT is_empty(
    $$SELECT signature FROM actual_labels WHERE signature NOT IN (SELECT signature FROM expected_labels)$$,
    'every function of the extension has expected labels');
SELECT is_empty(
    $$SELECT p.proname FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dlfin'
      WHERE p.proparallel = 's' AND (a.aggcombinefn = 0 OR
            (a.aggtranstype = 'internal'::regtype AND (a.aggserialfn = 0 OR a.aggdeserialfn = 0)))$$,
    'every parallel-safe aggregate has combine (and serial/deserial for internal state) functions');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dlfin'
      WHERE p.pronamespace = e.extnamespace
        AND (obj_description(p.oid, 'pg_proc') IS NULL OR p.proargnames IS NULL OR '' = ANY (p.proargnames))$$,
    'every function in the extension''s schema (what \df shows users) has named arguments and a comment; support functions live in the schema dlfin');

SELECT * FROM finish();
ROLLBACK;
