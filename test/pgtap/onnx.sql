-- ONNX export and import (doc/onnx.md): every user-reachable error with its
-- SQLSTATE, NULL handling, and small round trips.  test/sh/onnx.sh checks
-- the scores against onnxruntime and PyTorch.
BEGIN;
SELECT plan(42);

CREATE TEMP TABLE t AS
SELECT i, (i % 2 = 0) AS y, i::float8 AS x, (i % 3 = 0) AS flag,
       (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 200) AS i;
CREATE TEMP TABLE mdl AS
SELECT 'bin' AS name, dlfin_train('{"epochs": 2, "hidden": [4], "features": ["x", "flag", "c"]}', y, x, flag, c) AS m FROM t
UNION ALL SELECT 'multi', dlfin_train('{"epochs": 2, "hidden": [4], "features": ["x", "flag"]}', c, x, flag) FROM t
UNION ALL SELECT 'reg', dlfin_train('{"epochs": 2, "hidden": [4], "features": ["x", "c"]}', x * 2, x, c) FROM t
UNION ALL SELECT 'platt', dlfin_train('{"epochs": 2, "hidden": [4], "calibrate": "platt", "features": ["x", "c"]}', x > 100 OR i % 7 = 0, x, c) FROM t
UNION ALL SELECT 'iso', dlfin_train('{"epochs": 2, "hidden": [4], "calibrate": "isotonic", "features": ["x", "c"]}', x > 100 OR i % 7 = 0, x, c) FROM t
UNION ALL SELECT 'clash', dlfin_train('{"epochs": 1, "hidden": [4], "features": ["score"]}', y, x) FROM t;
-- torch.onnx.export of Sequential(Linear(2, 1), Sigmoid()), and bad variants
CREATE TEMP TABLE torch AS SELECT
  '\x080712077079746f7263681a06312e31332e303afb010a660a01780a08302e7765696768740a06302e6269617312102f302f47656d6d5f6f75747075745f301a072f302f47656d6d220447656d6d2a0f0a05616c706861150000803fa001012a0e0a0462657461150000803fa001012a0d0a067472616e73421801a001020a2a0a102f302f47656d6d5f6f75747075745f301201791a0a2f312f5369676d6f696422075369676d6f69641209746f7263685f6a69742a1a0801080210014208302e7765696768744a08928bba3ec6cb9fbe2a12080110014206302e626961734a04e75e0cbe5a140a0178120f0a0d080112090a0312014e0a02080262140a0179120f0a0d080112090a0312014e0a0208014202100d'::bytea AS logistic,
  '\x080712077079746f7263681a06312e31332e303a540a1b0a01781201791a0a2f302f5369676d6f696422075369676d6f69641209746f7263685f6a69745a140a0178120f0a0d080112090a0312014e0a02080262140a0179120f0a0d080112090a0312014e0a0208024202100d'::bytea AS no_layer;
CREATE TEMP TABLE imported AS
SELECT dlfin_from_onnx(logistic, '{"features": ["a", "b"], "classes": ["good", "bad"]}') AS m FROM torch;

-- ---- export ----
SELECT ok(bool_and(octet_length(dlfin_onnx(m)) > 200), 'every model exports') FROM mdl WHERE name <> 'clash';
SELECT is(dlfin_onnx(NULL::bytea), NULL, 'NULL model gives NULL');
SELECT throws_ok($$SELECT dlfin_onnx('\x00'::bytea)$$, '22P03', NULL, 'export of bytes that are no model');
SELECT throws_ok($$SELECT dlfin_onnx(m) FROM mdl WHERE name = 'clash'$$, '22023',
  'feature name "score" collides with a tensor name of the ONNX graph', 'feature name that collides with an output');
SELECT throws_ok($$SELECT dlfin_onnx('no such model')$$, '42704', NULL, 'export by an unknown name');
SELECT ok(position('ai.onnx.ml' IN encode(dlfin_onnx(m), 'escape')) > 0 AND
          position('dlfin.model_sha256' IN encode(dlfin_onnx(m), 'escape')) > 0,
          'export declares ai.onnx.ml and carries the model SHA-256') FROM mdl WHERE name = 'bin';

-- ---- export -> import: the same scores ----
SELECT is(max(abs(dlfin_predict(m, x, flag, c) - dlfin_predict(dlfin_from_onnx(dlfin_onnx(m)), x, flag, c))), 0::float8,
          'binary round trip') FROM t, mdl WHERE name = 'bin';
SELECT is(max(abs(dlfin_predict(m, NULL::float8, NULL::boolean, 'unseen') -
                  dlfin_predict(dlfin_from_onnx(dlfin_onnx(m)), NULL::float8, NULL::boolean, 'unseen'))), 0::float8,
          'round trip with NULLs and an unseen category') FROM mdl WHERE name = 'bin';
SELECT is(count(*) FILTER (WHERE dlfin_predict_class(m, x, flag) <> dlfin_predict_class(dlfin_from_onnx(dlfin_onnx(m)), x, flag)),
          0::bigint, 'multiclass round trip') FROM t, mdl WHERE name = 'multi';
SELECT is(max(abs(dlfin_predict(m, x, c) - dlfin_predict(dlfin_from_onnx(dlfin_onnx(m)), x, c))), 0::float8,
          'regression round trip') FROM t, mdl WHERE name = 'reg';
SELECT is(max(abs(dlfin_predict(m, x, c) - dlfin_predict(dlfin_from_onnx(dlfin_onnx(m)), x, c))), 0::float8,
          'Platt round trip') FROM t, mdl WHERE name = 'platt';
SELECT is(max(abs(dlfin_predict(m, x, c) - dlfin_predict(dlfin_from_onnx(dlfin_onnx(m)), x, c))), 0::float8,
          'isotonic round trip') FROM t, mdl WHERE name = 'iso';
SELECT is(dlfin_model_info(dlfin_from_onnx(dlfin_onnx(m)))->'features'->1->>'type', 'boolean',
          'a boolean feature stays boolean') FROM mdl WHERE name = 'bin';

-- ---- import of a PyTorch MLP ----
SELECT is(dlfin_model_info(m)->>'task', 'binary', 'Linear + Sigmoid imports as binary') FROM imported;
SELECT is(dlfin_model_info(m)->'classes', '["good", "bad"]'::jsonb, 'class names from the options') FROM imported;
SELECT ok(dlfin_predict(m, 1.0, 2.0) BETWEEN 0 AND 1, 'the import scores') FROM imported;
SELECT is(dlfin_from_onnx(NULL, '{}'), NULL, 'NULL ONNX gives NULL');
SELECT is(dlfin_model_info(dlfin_from_onnx(logistic))->'features'->1->>'name', 'f2', 'default feature names') FROM torch;
SELECT ok(dlfin_predict(dlfin_from_onnx(logistic, '{"mean": [1, 2], "scale": [2, 4]}'), 3.0, 6.0) =
          dlfin_predict(dlfin_from_onnx(logistic), 1.0, 1.0), 'scaling outside the graph') FROM torch;

-- ---- import errors ----
SELECT throws_ok($$SELECT dlfin_from_onnx(''::bytea)$$, '22P03', NULL, 'empty bytes');
SELECT throws_ok($$SELECT dlfin_from_onnx('\x0807'::bytea)$$, '22P03', NULL, 'a model without a graph');
SELECT throws_ok($$SELECT dlfin_from_onnx('\xffffffff'::bytea)$$, '22P03', NULL, 'bytes that are no protobuf');
SELECT throws_ok($$SELECT dlfin_from_onnx(substring(logistic FROM 1 FOR 100)) FROM torch$$, '22P03', NULL, 'truncated ONNX');
SELECT throws_ok($$SELECT dlfin_from_onnx(no_layer) FROM torch$$, '22023',
  'ONNX graph has no Gemm or MatMul layer', 'a graph without a layer');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"task": "regression"}') FROM torch$$, '22023',
  'ONNX network output (Sigmoid) does not fit the task', 'a task the output cannot have');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": ["a"]}') FROM torch$$, '22023',
  'options of dlfin_from_onnx do not match the network''s 2 inputs', 'too few feature names');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": ["a", "a"]}') FROM torch$$, '22023',
  NULL, 'duplicate feature names');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"mean": [1, 2, 3]}') FROM torch$$, '22023', NULL, 'too many means');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"scale": [1, 0]}') FROM torch$$, '22023', NULL, 'a zero scale');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"classes": ["a", "b", "c"]}') FROM torch$$, '22023', NULL, 'too many classes');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"bogus": 1}') FROM torch$$, '22023',
  'unknown dlfin_from_onnx option "bogus"', 'unknown option');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '[1]') FROM torch$$, '22023', NULL, 'options not an object');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"task": "ranking"}') FROM torch$$, '22023', NULL, 'unknown task');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": [{"name": "a", "type": "text"}, "b"]}') FROM torch$$,
  '22023', NULL, 'a text feature for a plain network');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"mean": ["1", 2]}') FROM torch$$, '22023', NULL, 'a mean that is no number');
SELECT throws_ok($$SELECT dlfin_from_onnx(decode(replace(encode(dlfin_onnx(m), 'hex'),
                                                        encode('Relu', 'hex'), encode('Tanh', 'hex')), 'hex'))
                   FROM mdl WHERE name = 'bin'$$, '22023',
  'ONNX tensor "dlfin_h1" of a dlfin graph is not computed as dlfin_onnx writes it',
  'an export whose network was changed');

-- ---- drift of an imported model, given reference rows ----
CREATE TEMP TABLE rt AS
SELECT dlfin_from_onnx(dlfin_onnx(m)) AS m FROM mdl WHERE name = 'bin';
SELECT is(dlfin_drift(rt.m, x, flag, c)->'score'->>'band', 'unknown', 'an import has no drift reference')
FROM t, rt GROUP BY rt.m;
CREATE TEMP TABLE rt_ref AS
SELECT dlfin_with_reference(rt.m, x, flag, c) AS m FROM t, rt GROUP BY rt.m;
SELECT is(dlfin_drift(r.m, x, flag, c), dlfin_drift(o.m, x, flag, c),
          'reference rows = training rows: the drift of the model trained on them')
FROM t, rt_ref r, mdl o WHERE o.name = 'bin' AND t.i % 3 = 0 GROUP BY r.m, o.m;
SELECT ok((dlfin_drift(dlfin_with_ref.m, x, x)->'features'->'a'->>'band') = 'significant',
          'a plain import with reference rows reports drift')
FROM (SELECT dlfin_with_reference(imported.m, x, x) AS m FROM t, (SELECT dlfin_from_onnx(logistic, '{"features": ["a", "b"]}') AS m FROM torch) imported WHERE x <= 100 GROUP BY imported.m) dlfin_with_ref,
     t WHERE x > 100 GROUP BY dlfin_with_ref.m;
SELECT is((SELECT dlfin_with_reference(rt.m, x, flag, c) FROM t, rt WHERE false), NULL, 'no reference rows give NULL');
SELECT throws_ok($$SELECT dlfin_with_reference(rt.m, VARIADIC ARRAY[x, x, x]) FROM t, rt GROUP BY rt.m$$, '0A000',
  'dlfin_with_reference does not accept a VARIADIC array', 'a VARIADIC array');
SELECT throws_ok($$SELECT dlfin_with_reference(CASE WHEN i < 100 THEN rt.m ELSE mdl.m END, x, flag, c) FROM t, rt, mdl WHERE mdl.name = 'bin'$$,
  '22023', 'dlfin_with_reference needs the same model on every row', 'two models');

SELECT * FROM finish();
ROLLBACK;
