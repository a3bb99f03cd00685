-- The defaults' rule (issue 16, doc/quality.md "The defaults"): without
-- "optimizer", sets of up to 5,000 rows train the cv ensemble (L-BFGS,
-- "l2": "auto", the fold fits as members) with out-of-fold validation
-- figures; larger sets, sets too small to stratify and trainings with an
-- Adam-only option, dropout or init train one Adam network as before.
BEGIN;
SELECT plan(27);

\ir ../fixtures/small_rows.sql

CREATE TEMP TABLE m AS
SELECT 'default' AS k, dlfin_train('{"hidden": [8], "epochs": 30, "threads": 1}', y, x, z, c) AS model FROM t;
INSERT INTO m SELECT 'default shuffled', dlfin_train('{"hidden": [8], "epochs": 30, "threads": 2}', y, x, z, c ORDER BY md5(i::text)) FROM t;
INSERT INTO m SELECT 'explicit', dlfin_train('{"optimizer": "lbfgs", "l2": "auto", "ensemble_sample": "cv", "hidden": [8], "epochs": 30, "threads": 1}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'platt', dlfin_train('{"calibrate": "platt", "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'ensemble 2', dlfin_train('{"ensemble": 2, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'l2', dlfin_train('{"l2": 0.01, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'learning_rate', dlfin_train('{"learning_rate": 0.01, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'dropout', dlfin_train('{"dropout": 0.1, "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
INSERT INTO m SELECT 'adam', dlfin_train('{"optimizer": "adam", "hidden": [8], "epochs": 30}', y, x, z, c) FROM t;
-- 4 rows of the positive class: too few for 5 folds, so Adam, not a 22023
INSERT INTO m SELECT 'unstratifiable', dlfin_train('{"hidden": [8], "epochs": 30}', i <= 4, x, z, c) FROM t;
INSERT INTO m SELECT 'large', dlfin_train('{"hidden": [4], "epochs": 2}', i % 3 = 0, i % 7, i % 11)
    FROM generate_series(1, 5001) i;
INSERT INTO m SELECT 'regression', dlfin_train('{"hidden": [8], "epochs": 30}', r, x, z, c) FROM t;
INSERT INTO m SELECT 'multiclass', dlfin_train('{"hidden": [8], "epochs": 30}', c, x, z) FROM t;

-- "same multiset of rows -> same bytes", any thread count
SELECT is((SELECT model FROM m WHERE k = 'default'), (SELECT model FROM m WHERE k = 'default shuffled'),
    'default: same bytes for shuffled rows and threads 1 vs 2');
SELECT is((SELECT model FROM m WHERE k = 'default'), (SELECT model FROM m WHERE k = 'explicit'),
    'default: the cv ensemble''s bytes, as if its options were given');

-- the options JSON records the concrete choices
SELECT is(dlfin_model_info(model)->'options'->>'optimizer', 'lbfgs', 'default: lbfgs') FROM m WHERE k = 'default';
SELECT is(dlfin_model_info(model)->'options'->>'l2', 'auto', 'default: l2 auto') FROM m WHERE k = 'default';
SELECT is(dlfin_model_info(model)->'options'->>'ensemble_sample', 'cv', 'default: the cv ensemble') FROM m WHERE k = 'default';
SELECT is((dlfin_model_info(model)->>'ensemble')::int, 6, 'default: the refit and 5 fold fits') FROM m WHERE k = 'default';

-- out-of-fold validation figures
SELECT is(dlfin_model_info(model)->'options'->'cv'->>'validation', 'out-of-fold',
    'default: the options say the metrics are out-of-fold') FROM m WHERE k = 'default';
SELECT ok((dlfin_model_info(model)->'validation_metrics'->>'auc')::float8 BETWEEN 0.7 AND 1
          AND dlfin_model_info(model)->'validation_metrics' ?& ARRAY['ks', 'logloss', 'accuracy', 'cv_auc'],
    'default: out-of-fold auc, ks, logloss, accuracy') FROM m WHERE k = 'default';
SELECT is((SELECT count(*)::int FROM m, jsonb_array_elements(dlfin_model_info(model)->'features') f
           WHERE k = 'default' AND f ? 'importance'), 3, 'default: every feature has an importance');
SELECT ok((SELECT bool_or(e.importance > 0.01) FROM m, dlfin_importance(model) e
           WHERE k = 'default'), 'default: dlfin_importance works out-of-fold');
SELECT ok((dlfin_model_info(model)->'validation_metrics'->>'r2')::float8 > 0.5, 'regression: out-of-fold r2')
    FROM m WHERE k = 'regression';
SELECT is(dlfin_model_info(model)->'options'->>'ensemble_sample', 'cv', 'regression: the cv ensemble') FROM m WHERE k = 'regression';
SELECT ok(dlfin_model_info(model)->'validation_metrics' ?& ARRAY['accuracy', 'macro_f1'], 'multiclass: out-of-fold accuracy and macro_f1')
    FROM m WHERE k = 'multiclass';

-- given options keep their meaning
SELECT is(dlfin_model_info(model)->>'ensemble', NULL, 'calibrate: one network') FROM m WHERE k = 'platt';
SELECT ok(dlfin_model_info(model)->'options'->>'optimizer' = 'lbfgs' AND (dlfin_model_info(model)->'rows'->>'validation')::int > 0,
    'calibrate: lbfgs, l2 auto, a validation split to calibrate on') FROM m WHERE k = 'platt';
SELECT is((dlfin_model_info(model)->>'ensemble')::int, 2, 'ensemble 2: two networks') FROM m WHERE k = 'ensemble 2';
SELECT is(dlfin_model_info(model)->'options'->>'l2', 'auto', 'ensemble 2: l2 auto') FROM m WHERE k = 'ensemble 2';
SELECT is(dlfin_model_info(model)->'options'->>'l2', '0.01', 'l2 given: kept') FROM m WHERE k = 'l2';
SELECT is(dlfin_model_info(model)->'options'->>'optimizer', 'lbfgs', 'l2 given: lbfgs') FROM m WHERE k = 'l2';
SELECT is(dlfin_model_info(model)->'options'->>'optimizer', 'adam', 'learning_rate given: adam') FROM m WHERE k = 'learning_rate';
SELECT is(dlfin_model_info(model)->'options'->>'optimizer', 'adam', 'dropout: adam') FROM m WHERE k = 'dropout';
SELECT is(dlfin_model_info(model)->'options'->>'optimizer', 'adam', 'too few rows of a class: adam') FROM m WHERE k = 'unstratifiable';
SELECT is(dlfin_model_info(model)->'options'->>'optimizer', 'adam', 'over 5,000 rows: adam') FROM m WHERE k = 'large';
SELECT is(dlfin_model_info(model)->'options'->>'l2', '0', 'over 5,000 rows: no penalty') FROM m WHERE k = 'large';
SELECT ok(NOT dlfin_model_info(model)->'options' ? 'cv', 'over 5,000 rows: no cross-validation') FROM m WHERE k = 'large';
SELECT ok((dlfin_model_info(model)->'rows'->>'validation')::int > 0, 'adam: a validation split') FROM m WHERE k = 'adam';
-- the one-network Adam recipe with its options written out is the old default
SELECT is(dlfin_model_info(m.model)->'options', dlfin_model_info(a.model)->'options' || '{"learning_rate": 0.01}',
    'learning_rate given: the Adam recipe') FROM m, m a WHERE m.k = 'learning_rate' AND a.k = 'adam';

SELECT * FROM finish();
ROLLBACK;
