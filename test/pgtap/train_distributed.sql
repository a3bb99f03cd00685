-- dlfin.train_distributed without Citus (a plain table is one member:
-- warm starts one after another) and dlfin_average_models; the Citus
-- suite (test/citus/t_train_distributed.sql) covers the shards.
SET client_min_messages = warning;
BEGIN;
SELECT plan(9);

CREATE TABLE td_t AS
SELECT i, (i % 3 = 0) AS y, (i % 97)::float8 AS x, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS c
FROM generate_series(1, 600) AS i;
CREATE TABLE td_m AS
SELECT dlfin.train_distributed('td_t', 'y', ARRAY['x', 'c'], '{"hidden": [4], "seed": 2}', 3) AS model;

SELECT is((SELECT md5(dlfin.train_distributed('td_t', 'y', ARRAY['x', 'c'], '{"hidden": [4], "seed": 2}', 3))),
          (SELECT md5(model) FROM td_m), 'a plain table: byte-identical on rerun');
SELECT is((SELECT round((dlfin_model_info(model)->'features'->0->'scaling'->>'mean')::numeric, 6) FROM td_m),
          (SELECT round(avg(x)::numeric, 6) FROM td_t), 'the encoding is the table''s');
SELECT is((SELECT md5(dlfin_average_models(ARRAY[model, model], ARRAY[1.0, 3.0])) FROM td_m) IS NOT NULL, true,
          'a model averages with itself');
SELECT throws_ok($$SELECT dlfin.train_distributed('td_t', 'y', ARRAY['x'], '{"ensemble": 3}')$$,
                 '22023', NULL, 'an ensemble cannot be averaged: 22023');
SELECT throws_ok($$SELECT dlfin.train_distributed('td_t', 'y', ARRAY['x'], '{}', 0)$$,
                 '22023', NULL, 'rounds out of range: 22023');
SELECT throws_ok($$SELECT dlfin.train_distributed('td_t', NULL, ARRAY['x'])$$,
                 '22004', NULL, 'no label: 22004');
SELECT throws_ok($$SELECT dlfin_average_models(ARRAY[(SELECT model FROM td_m)], ARRAY[1.0, 2.0])$$,
                 '22023', NULL, 'as many weights as models: 22023');
SELECT throws_ok($$SELECT dlfin_average_models(
                       ARRAY[(SELECT model FROM td_m),
                             (SELECT dlfin_train('{"hidden": [4], "epochs": 1}'::jsonb, y, x, c) FROM td_t WHERE i < 300)],
                       ARRAY[1.0, 1.0])$$,
                 '22023', 'models of different shape or encoding cannot be averaged', 'another encoding: 22023');
SELECT throws_ok($$SELECT dlfin_train('{"encoding": {"features": [{"categories": ["a"]}, {"mean": 1, "scale": 1}]}}'::jsonb, y, x, c) FROM td_t$$,
                 '22023', NULL, 'an "encoding" of other feature kinds: 22023');

SELECT * FROM finish();
ROLLBACK;
