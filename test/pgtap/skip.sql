-- The linear skip path (issue 16): "skip": true feeds the inputs straight
-- into the output unit(s).  The option's error with its SQLSTATE,
-- determinism, the format version, model_info, scoring and explaining,
-- ensembles and auto options with it, and what refuses it.
BEGIN;
SELECT plan(26);

\ir ../fixtures/small_rows.sql

-- errors (22023)
SELECT throws_ok($$SELECT dlfin_train('{"skip": "yes"}', y, x) FROM t$$, '22023',
    'invalid value for dlfin_train option "skip"', 'skip must be a boolean');
SELECT throws_ok($$SELECT dlfin_train('{"skip": 1}', y, x) FROM t$$, '22023', NULL, 'skip a number');

CREATE TEMP TABLE m AS
SELECT 'skip' AS k, dlfin_train('{"optimizer": "adam", "skip": true, "hidden": [8], "epochs": 20, "threads": 1}', y, x, z, c) AS model FROM t;
INSERT INTO m SELECT 'skip shuffled', dlfin_train('{"optimizer": "adam", "skip": true, "hidden": [8], "epochs": 20, "threads": 2}', y, x, z, c ORDER BY md5(i::text)) FROM t;
INSERT INTO m SELECT 'one', dlfin_train('{"optimizer": "adam", "hidden": [8], "epochs": 20}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'skip false', dlfin_train('{"optimizer": "adam", "skip": false, "hidden": [8], "epochs": 20}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'lbfgs', dlfin_train('{"skip": true, "optimizer": "lbfgs", "hidden": [8], "epochs": 50, "calibrate": "platt"}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'auto ens', dlfin_train('{"skip": true, "optimizer": "auto", "l2": "auto", "cv_folds": 3, "ensemble": 2, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'regression', dlfin_train('{"optimizer": "adam", "skip": true, "hidden": [8], "epochs": 20}', r, x, z, c) FROM t;
INSERT INTO m SELECT 'weighted', dlfin_train('{"skip": true, "hidden": [8], "epochs": 20, "class_weight": "balanced", "optimizer": "lbfgs", "l2": 0.01}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'monotone', dlfin_train('{"optimizer": "adam", "skip": true, "hidden": [8], "epochs": 20, "monotone": {"z": 1}}', y, x, z, c) FROM t;

SELECT is((SELECT model FROM m WHERE k = 'skip'), (SELECT model FROM m WHERE k = 'skip shuffled'),
    'same bytes for shuffled rows and threads 1 vs 2');
SELECT is((SELECT model FROM m WHERE k = 'one'), (SELECT model FROM m WHERE k = 'skip false'),
    '"skip": false is the model without the option');

-- the model
SELECT is((dlfin_model_info(model)->>'format_version')::int, 3, 'a skip path is format version 3') FROM m WHERE k = 'skip';
SELECT is((dlfin_model_info(model)->>'format_version')::int, 3, 'an ensemble with a skip path too') FROM m WHERE k = 'auto ens';
SELECT is((dlfin_model_info(model)->>'format_version')::int, 1, 'without it, format version 1') FROM m WHERE k = 'one';
SELECT is(dlfin_model_info(model)->'skip', '{"inputs": 7, "outputs": 1}'::jsonb, 'model_info: the skip path') FROM m WHERE k = 'skip';
SELECT ok(NOT dlfin_model_info(model) ? 'skip', 'no skip key without it') FROM m WHERE k = 'one';
SELECT is(dlfin_model_info(model)->'options'->'skip', 'true'::jsonb, 'the options record the skip path') FROM m WHERE k = 'skip';
SELECT ok(NOT dlfin_model_info(model)->'options' ? 'skip', 'the options of a model without it are unchanged') FROM m WHERE k = 'skip false';
SELECT is((dlfin_model_info(m.model)->>'parameters')::int, (dlfin_model_info(o.model)->>'parameters')::int + 7,
    'parameters count the skip weights') FROM m, m o WHERE m.k = 'skip' AND o.k = 'one';
SELECT ok((dlfin_model_info(model)->'validation_metrics'->>'auc')::float8 > 0.7, 'the skip model learns') FROM m WHERE k = 'skip';
SELECT is((dlfin_model_info(model)->>'ensemble')::int, 2, 'an ensemble of skip networks') FROM m WHERE k = 'auto ens';
SELECT ok((dlfin_model_info(model)->'validation_metrics'->>'auc')::float8 > 0.7, 'class weights and L-BFGS with a skip path')
FROM m WHERE k = 'weighted';

-- scoring and explaining
SELECT ok((SELECT count(*) FROM t, m WHERE m.k = 'skip' AND dlfin_predict(model, x, z, c) BETWEEN 0 AND 1) = 400,
    'every row scores in [0, 1]');
SELECT ok((SELECT count(*) FROM t, m WHERE m.k = 'regression' AND dlfin_predict(model, x, z, c) IS NOT NULL) = 400,
    'a regression with a skip path scores');
SELECT ok((SELECT bool_and(abs((SELECT sum(value::float8) FROM jsonb_each_text(e->'contributions'))
                              - ((e->>'score')::float8 - (e->>'baseline')::float8)) < 1e-4)
           FROM (SELECT dlfin_explain(model, x, z, c) AS e FROM t, m WHERE m.k IN ('skip', 'lbfgs', 'auto ens') AND t.i <= 40) s),
    'attributions are complete (one network, Platt, an ensemble)');
SELECT ok((SELECT bool_and(abs((e->>'score')::float8 - dlfin_predict(model, x, z, c)) < 1e-12)
           FROM (SELECT model, x, z, c, dlfin_explain(model, x, z, c) AS e FROM t, m WHERE m.k = 'lbfgs' AND t.i <= 40) s),
    'explained score is the predicted score');
SELECT ok((SELECT count(*) FROM t, m WHERE m.k = 'skip' AND t.i <= 40
           AND cardinality(dlfin_reasons(model, 2, x, z, c)) <= 2) = 40, 'reasons');
SELECT is((SELECT count(*) FROM m, dlfin_importance(model) WHERE m.k = 'skip'), 3::bigint, 'importance of every feature');
SELECT ok((SELECT strpos(dlfin_model_card(model), '<svg') > 0 FROM m WHERE k = 'skip'), 'model card');
SELECT ok((SELECT bool_and(a.p <= b.p) FROM
             (SELECT i, dlfin_predict(model, x, z::float8, c) AS p FROM t, m WHERE m.k = 'monotone') a
             JOIN (SELECT i, dlfin_predict(model, x, z + 1.0, c) AS p FROM t, m WHERE m.k = 'monotone') b USING (i)),
    'monotone holds with the skip path');
SELECT ok((SELECT length(dlfin_onnx(model)) > 0 FROM m WHERE k = 'skip'), 'ONNX export of a skip path');
SELECT throws_ok($$SELECT dlfin_from_onnx(dlfin_onnx(model)) FROM m WHERE k = 'skip'$$, '22023',
    'cannot import a model with a skip path exported by dlfin_onnx', 'no ONNX import of an exported skip path');
SELECT throws_ok($$SELECT dlfin_train(jsonb_build_object('init', (SELECT model FROM m WHERE k = 'skip'), 'hidden', jsonb_build_array(8)), y, x, z, c) FROM t$$,
    '22023', 'init model architecture does not match', 'no warm start across the skip path');

SELECT * FROM finish();
ROLLBACK;
