-- Ensembles (issue 16): "ensemble": k networks in one model.  The option's
-- errors with their SQLSTATE, determinism, the format version, and every
-- scoring and explaining function on an ensemble.
BEGIN;
SELECT plan(39);

\ir ../fixtures/small_rows.sql

-- errors (22023)
SELECT throws_ok($$SELECT dlfin_train('{"ensemble": 0}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "ensemble"', 'ensemble 0');
SELECT throws_ok($$SELECT dlfin_train('{"ensemble": 65}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "ensemble"', 'ensemble 65');
SELECT throws_ok($$SELECT dlfin_train('{"ensemble": 2.5}', y, x) FROM t$$, '22023', NULL, 'fractional ensemble');
SELECT throws_ok($$SELECT dlfin_train('{"ensemble": "five"}', y, x) FROM t$$, '22023', NULL, 'ensemble a string');
SELECT throws_ok($$SELECT dlfin_train('{"ensemble": 3, "ensemble_sample": "bagging"}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "ensemble_sample"', 'unknown ensemble_sample');

-- determinism: row order and threads do not matter
CREATE TEMP TABLE m AS
SELECT 'ens' AS k, dlfin_train('{"optimizer": "adam", "ensemble": 3, "hidden": [8], "epochs": 20, "threads": 1}', y, x, z, c) AS model FROM t;
INSERT INTO m SELECT 'ens shuffled', dlfin_train('{"optimizer": "adam", "ensemble": 3, "hidden": [8], "epochs": 20, "threads": 2}', y, x, z, c ORDER BY md5(i::text)) FROM t;
INSERT INTO m SELECT 'boot', dlfin_train('{"optimizer": "adam", "ensemble": 3, "ensemble_sample": "bootstrap", "hidden": [8], "epochs": 20}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'boot shuffled', dlfin_train('{"optimizer": "adam", "ensemble": 3, "ensemble_sample": "bootstrap", "hidden": [8], "epochs": 20}', y, x, z, c ORDER BY md5(i::text)) FROM t;
INSERT INTO m SELECT 'one', dlfin_train('{"optimizer": "adam", "hidden": [8], "epochs": 20}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'ensemble 1', dlfin_train('{"optimizer": "adam", "ensemble": 1, "hidden": [8], "epochs": 20}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'platt', dlfin_train('{"optimizer": "adam", "ensemble": 3, "calibrate": "platt", "hidden": [8], "epochs": 20}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'points', dlfin_train('{"optimizer": "adam", "ensemble": 3, "points": {"base_score": 600, "base_odds": 50, "pdo": 20}, "hidden": [8], "epochs": 20}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'auto', dlfin_train('{"ensemble": 3, "optimizer": "auto", "l2": "auto", "cv_folds": 3, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
SELECT is((SELECT model FROM m WHERE k = 'ens'), (SELECT model FROM m WHERE k = 'ens shuffled'),
    'same bytes for shuffled rows and threads 1 vs 2');
SELECT is((SELECT model FROM m WHERE k = 'boot'), (SELECT model FROM m WHERE k = 'boot shuffled'),
    'bootstrap: same bytes for shuffled rows');
SELECT is((SELECT model FROM m WHERE k = 'one'), (SELECT model FROM m WHERE k = 'ensemble 1'),
    'ensemble 1 is the one-network model');

-- the model
SELECT is((dlfin_model_info(model)->>'format_version')::int, 2, 'an ensemble is format version 2') FROM m WHERE k = 'ens';
SELECT is((dlfin_model_info(model)->>'format_version')::int, 1, 'one network stays format version 1') FROM m WHERE k = 'one';
SELECT is((dlfin_model_info(model)->>'ensemble')::int, 3, 'model_info: three members') FROM m WHERE k = 'ens';
SELECT is(dlfin_model_info(model)->'options'->>'ensemble', '3', 'the options record the ensemble') FROM m WHERE k = 'ens';
SELECT ok(NOT dlfin_model_info(model) ? 'ensemble', 'no ensemble key for one network') FROM m WHERE k = 'one';
SELECT is((dlfin_model_info(m.model)->>'parameters')::int, 3 * (dlfin_model_info(o.model)->>'parameters')::int,
    'parameters count every member') FROM m, m o WHERE m.k = 'ens' AND o.k = 'one';
SELECT ok((dlfin_model_info(model)->'validation_metrics'->>'auc')::float8 > 0.7, 'the ensemble learns') FROM m WHERE k = 'ens';
SELECT is(dlfin_model_info(model)->'options'->>'optimizer_chosen', 'lbfgs', 'ensemble with auto options') FROM m WHERE k = 'auto';

-- scoring and explaining
SELECT ok((SELECT count(*) FROM t, m WHERE m.k = 'ens' AND dlfin_predict(model, x, z, c) BETWEEN 0 AND 1) = 400,
    'every row scores in [0, 1]');
SELECT ok((SELECT count(*) FROM t, m WHERE m.k = 'platt' AND dlfin_predict(model, x, z, c) BETWEEN 0 AND 1) = 400,
    'a calibrated ensemble scores');
SELECT ok((SELECT bool_and(abs((SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
                              - ((e->>'score')::float8 - (e->>'baseline')::float8)) < 1e-4)
           FROM (SELECT dlfin_explain(model, x, z, c) AS e FROM t, m WHERE m.k = 'ens' AND t.i <= 40) s),
    'attributions are complete');
SELECT ok((SELECT bool_and(abs((e->>'score')::float8 - dlfin_predict(model, x, z, c)) < 1e-12)
           FROM (SELECT model, x, z, c, dlfin_explain(model, x, z, c) AS e FROM t, m WHERE m.k = 'platt' AND t.i <= 40) s),
    'explained score is the predicted score');
SELECT ok((SELECT bool_and(abs((SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
                              - ((e->>'score')::float8 - (e->>'baseline')::float8)) < 1e-4)
           FROM (SELECT dlfin_explain_points(model, x, z, c) AS e FROM t, m WHERE m.k = 'points' AND t.i <= 40) s),
    'points of an ensemble: attributions are complete');
SELECT ok((SELECT bool_and(abs((e->>'score')::float8 - dlfin_points(model, x, z, c)) < 1e-4)
           FROM (SELECT model, x, z, c, dlfin_explain_points(model, x, z, c) AS e FROM t, m WHERE m.k = 'points' AND t.i <= 40) s),
    'points of an ensemble: the explained score is dlfin_points (float32 scoring)');
SELECT ok((SELECT count(*) FROM t, m WHERE m.k = 'ens' AND t.i <= 40
           AND cardinality(dlfin_reasons(model, 2, x, z, c)) <= 2) = 40, 'reasons');
SELECT is((SELECT count(*) FROM m, dlfin_importance(model) WHERE m.k = 'ens'), 3::bigint, 'importance of every feature');
SELECT ok((SELECT dlfin_drift(model, x, z, c) FROM t, m WHERE m.k = 'ens' GROUP BY model) ? 'score', 'drift');
SELECT ok((SELECT strpos(dlfin_model_card(model), '<svg') > 0 FROM m WHERE k = 'ens'), 'model card');
SELECT is((SELECT count(DISTINCT round(dlfin_predict(model, x, z, c)::numeric, 9)) FROM t, m WHERE m.k IN ('ens', 'ens shuffled') AND t.i = 7),
    1::bigint, 'the same score from either copy');
SELECT ok((SELECT length(dlfin_onnx(model)) > 0 FROM m WHERE k = 'ens'), 'ONNX export of an ensemble');
SELECT throws_ok($$SELECT dlfin_from_onnx(dlfin_onnx(model)) FROM m WHERE k = 'ens'$$, '22023',
    'cannot import an ensemble exported by dlfin_onnx', 'no ONNX import of an exported ensemble');
SELECT is((SELECT dlfin_model_info(dlfin_train(jsonb_build_object('init', (SELECT model FROM m WHERE k = 'ens'), 'hidden', jsonb_build_array(8), 'epochs', 2), y, x, z, c))->>'ensemble' FROM t),
    NULL, 'a warm start from an ensemble starts from its member 0: one network');

-- "ensemble_sample": "cv": the refit and the chosen penalty's fold fits
SELECT throws_ok($$SELECT dlfin_train('{"optimizer": "adam", "ensemble_sample": "cv", "hidden": [8]}', y, x) FROM t$$, '22023',
    'ensemble_sample "cv" needs "l2": "auto"', 'cv members need l2 auto');
SELECT throws_ok($$SELECT dlfin_train('{"ensemble_sample": "cv", "l2": "auto", "optimizer": "lbfgs", "calibrate": "platt", "hidden": [8]}', y, x) FROM t$$,
    '22023', 'ensemble_sample "cv" cannot be calibrated', 'cv members leave no row to calibrate on');
INSERT INTO m SELECT 'cv', dlfin_train('{"ensemble_sample": "cv", "l2": "auto", "optimizer": "lbfgs", "cv_folds": 3, "hidden": [8], "epochs": 30, "threads": 1}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'cv shuffled', dlfin_train('{"ensemble_sample": "cv", "l2": "auto", "optimizer": "lbfgs", "cv_folds": 3, "hidden": [8], "epochs": 30, "threads": 2}', y, x, z, c ORDER BY md5(i::text)) FROM t;
INSERT INTO m SELECT 'cv one', dlfin_train('{"l2": "auto", "optimizer": "lbfgs", "cv_folds": 3, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
SELECT is((SELECT model FROM m WHERE k = 'cv'), (SELECT model FROM m WHERE k = 'cv shuffled'),
    'cv members: same bytes for shuffled rows and threads 1 vs 2');
SELECT is((dlfin_model_info(model)->>'ensemble')::int, 4, 'cv members: the refit and 3 fold fits') FROM m WHERE k = 'cv';
SELECT is(dlfin_model_info(model)->'options'->>'ensemble_sample', 'cv', 'the options record the sampling') FROM m WHERE k = 'cv';
-- the cv ensemble also tries alpha 1, first on the path; one network does not
SELECT is((SELECT array_agg((e->>'alpha')::float8 ORDER BY n)
           FROM m, jsonb_array_elements(dlfin_model_info(model)->'options'->'cv'->'candidates') WITH ORDINALITY a(e, n)
           WHERE k = 'cv'), ARRAY[1, 3, 10, 17, 30]::float8[], 'cv members: alpha 1 starts the path');
SELECT is((SELECT array_agg((e->>'alpha')::float8 ORDER BY n)
           FROM m, jsonb_array_elements(dlfin_model_info(model)->'options'->'cv'->'candidates') WITH ORDINALITY a(e, n)
           WHERE k = 'cv one'), ARRAY[3, 10, 17, 30]::float8[], 'one network: alpha 3 to 30');
SELECT ok((dlfin_model_info(model)->'validation_metrics'->>'cv_auc')::float8 > 0.7, 'cv members: the CV figure') FROM m WHERE k = 'cv';
SELECT ok((SELECT bool_and(abs((SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
                              - ((e->>'score')::float8 - (e->>'baseline')::float8)) < 1e-4)
           FROM (SELECT dlfin_explain(model, x, z, c) AS e FROM t, m WHERE m.k = 'cv' AND t.i <= 40) s),
    'cv members: attributions are complete');

SELECT * FROM finish();
ROLLBACK;
