-- The volatility, strictness and parallel-safety labels of every function
-- the extension installs.  A new function must be added here: the last test
-- fails for any function without an expected row.
BEGIN;
SELECT plan(2);

CREATE TEMP TABLE expected_labels (signature text PRIMARY KEY, volatility char, strict boolean, parallel char);
INSERT INTO expected_labels VALUES
    -- training aggregate and its support functions
    ('dlfin_train("any",VARIADIC "any")', 'i', false, 's'),
    ('dlfin_train(jsonb,"any",VARIADIC "any")', 'i', false, 's'),
    ('dlfin_train_sfunc(internal,"any",VARIADIC "any")', 'i', false, 's'),
    ('dlfin_train_opt_sfunc(internal,jsonb,"any",VARIADIC "any")', 'i', false, 's'),
    ('dlfin_train_combine(internal,internal)', 'i', false, 's'),
    ('dlfin_train_serialize(internal)', 'i', true, 's'),
    ('dlfin_train_deserialize(bytea,internal)', 'i', true, 's'),
    ('dlfin_train_final(internal)', 'i', false, 's'),
    -- scoring by model bytes
    ('dlfin_predict(bytea,VARIADIC "any")', 'i', false, 's'),
    ('dlfin_predict_class(bytea,VARIADIC "any")', 'i', false, 's'),
    ('dlfin_predict_proba(bytea,VARIADIC "any")', 'i', false, 's'),
    ('dlfin_model_info(bytea)', 'i', true, 's'),
    -- model registry: scoring by name reads dlfin.models, so STABLE
    ('dlfin_predict(text,VARIADIC "any")', 's', false, 's'),
    ('dlfin_predict_class(text,VARIADIC "any")', 's', false, 's'),
    ('dlfin_predict_proba(text,VARIADIC "any")', 's', false, 's'),
    ('dlfin_model_info(text)', 's', true, 's'),
    ('dlfin.query_columns(text)', 's', true, 'r'),
    ('dlfin.lock_model(text)', 'v', true, 'u'),
    ('dlfin.train(text,text,text,jsonb,text)', 'v', false, 'u'),
    ('dlfin.train_with_search_path(text,text,text,jsonb,text,text)', 'v', false, 'u'),
    ('dlfin.retrain(text,text)', 'v', false, 'u'),
    ('dlfin.deploy(text,integer,text)', 'v', false, 'u'),
    ('dlfin.rollback(text,text)', 'v', false, 'u'),
    ('dlfin.drop_model(text,integer)', 'v', false, 'u'),
    ('dlfin.models_before_insert()', 'v', false, 'u'),
    ('dlfin.models_check_deployment()', 'v', false, 'u'),
    ('dlfin.deployments_before_insert()', 'v', false, 'u'),
    ('dlfin.deployments_append_only()', 'v', false, 'u');

CREATE TEMP TABLE actual_labels AS
SELECT p.oid::regproc::text || '(' ||
       regexp_replace(pg_get_function_identity_arguments(p.oid), '(^|, )[a-z_]+ (?=[a-zA-Z"])', '\1', 'g') || ')' AS signature,
       p.provolatile AS volatility, p.proisstrict AS strict, p.proparallel AS parallel
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dlfin';
UPDATE actual_labels SET signature = regexp_replace(replace(signature, ', ', ','), '^dlfin\.', 'dlfin.');

SELECT set_eq(
    $$SELECT signature, volatility, strict, parallel FROM actual_labels WHERE signature IN (SELECT signature FROM expected_labels)$$,
    $$SELECT signature, volatility, strict, parallel FROM expected_labels$$,
    'volatility, strictness and parallel safety are as documented');
SELECT is_empty(
    $$SELECT signature FROM actual_labels WHERE signature NOT IN (SELECT signature FROM expected_labels)$$,
    'every function of the extension has expected labels');

SELECT * FROM finish();
ROLLBACK;
