-- ONNX export and import (doc/onnx.md): every user-reachable error with its
-- SQLSTATE, NULL handling, and small round trips.  test/sh/onnx.sh checks
-- the scores against onnxruntime and PyTorch.
BEGIN;
SELECT plan(59);

CREATE TEMP TABLE t AS
SELECT i, (i % 2 = 0) AS y, i::float8 AS x, (i % 3 = 0) AS flag,
       (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 200) AS i;
CREATE TEMP TABLE mdl AS
SELECT 'bin' AS name, dlfin_train('{"optimizer": "adam", "epochs": 2, "hidden": [4], "features": ["x", "flag", "c"]}', y, x, flag, c) AS m FROM t
UNION ALL SELECT 'multi', dlfin_train('{"optimizer": "adam", "epochs": 2, "hidden": [4], "features": ["x", "flag"]}', c, x, flag) FROM t
UNION ALL SELECT 'reg', dlfin_train('{"optimizer": "adam", "epochs": 2, "hidden": [4], "features": ["x", "c"]}', x * 2, x, c) FROM t
UNION ALL SELECT 'platt', dlfin_train('{"optimizer": "adam", "epochs": 2, "hidden": [4], "calibrate": "platt", "features": ["x", "c"]}', x > 100 OR i % 7 = 0, x, c) FROM t
UNION ALL SELECT 'iso', dlfin_train('{"optimizer": "adam", "epochs": 2, "hidden": [4], "calibrate": "isotonic", "features": ["x", "c"]}', x > 100 OR i % 7 = 0, x, c) FROM t
UNION ALL SELECT 'clash', dlfin_train('{"optimizer": "adam", "epochs": 1, "hidden": [4], "features": ["score"]}', y, x) FROM t;
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

-- ---- text and boolean features of a foreign network (one-hot done outside) ----
-- Small ONNX graphs written here: protobuf varints and length-delimited fields.
CREATE FUNCTION pb_varint(v bigint) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE r bytea := '';
BEGIN
  LOOP
    IF v < 128 THEN RETURN r || set_byte('\x00'::bytea, 0, v::int); END IF;
    r := r || set_byte('\x00'::bytea, 0, (v % 128 + 128)::int);
    v := v / 128;
  END LOOP;
END $$;
CREATE FUNCTION pb(field int, body bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT pb_varint(field * 8 + 2) || pb_varint(length(body)) || body $$;
CREATE FUNCTION pb(field int, v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT pb_varint(field * 8) || pb_varint(v) $$;
CREATE FUNCTION pbs(field int, s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT pb(field, convert_to(s, 'UTF8')) $$;
-- A model: ir 7, opsets ai.onnx 13 and ai.onnx.ml 2, the graph's parts.
CREATE FUNCTION onnx_model(graph bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT pb(1, 7) || pb(8, pbs(1, '') || pb(2, 13)) || pb(8, pbs(1, 'ai.onnx.ml') || pb(2, 2)) || pb(7, graph) $$;
-- A graph input or output of element type t and width w.
CREATE FUNCTION onnx_value(field int, name text, t int, w int) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT pb(field, pbs(1, name) || pb(2, pb(1, pb(1, t) || pb(2, pb(1, pbs(2, 'N')) || pb(1, pb(1, w)))))) $$;
-- Gemm(x, W') of an [n] -> [1] layer with zero weights, W [1, n] float.
CREATE FUNCTION onnx_gemm(x text, n int) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
SELECT pb(1, pbs(1, x) || pbs(1, 'W') || pbs(2, 'y') || pbs(4, 'Gemm') || pb(5, pbs(1, 'transB') || pb(3, 1) || pb(20, 2)))
    || pb(5, pb(1, 1) || pb(1, n) || pb(2, 1) || pbs(8, 'W') || pb(9, decode(repeat('00', 4 * n), 'hex')))
    || onnx_value(12, 'y', 1, 1) $$;
CREATE TEMP TABLE forged AS SELECT
  onnx_model(onnx_gemm('x', 65535) || onnx_value(11, 'x', 1, 65535)) AS wide,
  onnx_model(onnx_gemm('x', 65534) || onnx_value(11, 'x', 1, 65534)) AS edge,
  onnx_model(pb(1, pbs(1, 's') || pbs(2, 'h') || pbs(4, 'OneHotEncoder') || pbs(7, 'ai.onnx.ml'))
             || onnx_gemm('h', 2) || onnx_value(11, 's', 8, 1)) AS in_graph_onehot;
CREATE TEMP TABLE txt AS SELECT
  dlfin_from_onnx(logistic, '{"features": [{"name": "home", "type": "text", "categories": ["own", "rent"]}]}') AS m,
  dlfin_from_onnx(logistic, '{"features": [{"name": "home", "type": "text", "categories": ["own", "rent"],
                                            "missing": "rent", "other": "own"}]}') AS named,
  dlfin_from_onnx(logistic, '{"features": [{"name": "income"}, {"name": "home", "type": "text", "categories": ["own"]}],
                              "mean": [50000], "scale": [20000]}') AS mixed,
  dlfin_from_onnx(logistic, '{"features": [{"name": "income"}, {"name": "guarantor", "type": "boolean"}],
                              "mean": [50000, 0], "scale": [20000, 1]}') AS bool,
  dlfin_from_onnx(logistic) AS plain
FROM torch;
SELECT is(array[dlfin_predict(m, 'own'), dlfin_predict(m, 'rent'), dlfin_predict(m, 'castle'), dlfin_predict(m, NULL::text)],
          array[dlfin_predict(plain, 1.0, 0.0), dlfin_predict(plain, 0.0, 1.0), dlfin_predict(plain, 0.0, 0.0), dlfin_predict(plain, 0.0, 0.0)],
          'a text feature takes one input per category; unseen and NULL set none') FROM txt;
SELECT is(array[dlfin_predict(named, 'castle'), dlfin_predict(named, NULL::text)],
          array[dlfin_predict(plain, 1.0, 0.0), dlfin_predict(plain, 0.0, 1.0)],
          '"other" and "missing" name the category an unseen value and NULL stand for') FROM txt;
SELECT is(array[dlfin_predict(mixed, 70000, 'own'), dlfin_predict(mixed, NULL::int, 'x')],
          array[dlfin_predict(plain, 1.0, 1.0), dlfin_predict(plain, 0.0, 0.0)],
          'mean and scale: one per number or boolean feature') FROM txt;
SELECT is(array[dlfin_predict(bool, 70000, true), dlfin_predict(bool, 70000, NULL::boolean)],
          array[dlfin_predict(plain, 1.0, 1.0), dlfin_predict(plain, 1.0, 0.0)],
          'a boolean feature is 0/1, NULL its mean') FROM txt;
SELECT is(dlfin_model_info(m)->'features'->0 @> '{"type": "text", "categories": ["own", "rent"]}', true,
          'the import has a text feature with its categories') FROM txt;
SELECT is(array[dlfin_predict(dlfin_from_onnx(dlfin_onnx(named)), 'castle'), dlfin_predict(dlfin_from_onnx(dlfin_onnx(named)), NULL::text),
                dlfin_predict(dlfin_from_onnx(dlfin_onnx(mixed)), 70000, 'own')],
          array[dlfin_predict(named, 'castle'), dlfin_predict(named, NULL::text), dlfin_predict(mixed, 70000, 'own')],
          'export -> import of an import with text features: the same scores') FROM txt;
SELECT ok((dlfin_explain(mixed, 70000, 'x')->'contributions') ?& array['income', 'home'],
          'dlfin_explain of an import with a text feature') FROM txt;
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": [{"name": "home", "type": "text", "categories": ["own", "own"]}]}') FROM torch$$,
  '22023', 'text feature "home" of dlfin_from_onnx lists category "own" twice', 'a category listed twice');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": [{"name": "home", "type": "text", "categories": ["own", "rent"], "mising": "own"}]}') FROM torch$$,
  '22023', 'invalid value for dlfin_from_onnx option "features"', 'an unknown key in a feature');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": [{"name": "home", "type": "text", "categories": ["own", "rent"], "missing": "n/a"}]}') FROM torch$$,
  '22023', 'invalid value for dlfin_from_onnx option "features"', '"missing" that is not a category');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": [{"name": "home", "type": "text", "categories": []}, "b"]}') FROM torch$$,
  '22023', 'invalid value for dlfin_from_onnx option "features"', 'a text feature without categories');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": [{"name": "a", "categories": ["x"]}, "b"]}') FROM torch$$,
  '22023', 'invalid value for dlfin_from_onnx option "features"', 'categories of a number feature');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": ["a", {"name": "home", "type": "text", "categories": ["own", "rent"]}]}') FROM torch$$,
  '22023', 'options of dlfin_from_onnx do not match the network''s 2 inputs', 'categories beyond the network''s inputs');
SELECT throws_ok($$SELECT dlfin_from_onnx(logistic, '{"features": ["a", {"name": "home", "type": "text", "categories": ["own"]}], "mean": [0, 0]}') FROM torch$$,
  '22023', 'options of dlfin_from_onnx do not match the network''s 2 inputs', 'a mean for a text feature');
SELECT throws_ok($$SELECT dlfin_from_onnx(wide, jsonb_build_object('features', jsonb_build_array(jsonb_build_object(
                     'name', 'c', 'type', 'text', 'categories', (SELECT jsonb_agg(i::text) FROM generate_series(1, 65535) i)))))
                   FROM forged$$,
  '54000', 'imported model would have 65537 network inputs; at most 65536 are allowed', 'other and missing inputs beyond the limit');
SELECT throws_ok($$SELECT dlfin_from_onnx(in_graph_onehot) FROM forged$$,
  '22023', 'unsupported ONNX operator "OneHotEncoder" before the network', 'a one-hot encoder inside the graph');
SELECT lives_ok($$SELECT dlfin_from_onnx(edge, jsonb_build_object('features', jsonb_build_array(jsonb_build_object(
                     'name', 'c', 'type', 'text', 'categories', (SELECT jsonb_agg(i::text) FROM generate_series(1, 65534) i)))))
                 FROM forged$$, 'other and missing inputs up to the limit');

SELECT * FROM finish();
ROLLBACK;
