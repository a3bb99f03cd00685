-- dlfin.train_distributed over a distributed table: model averaging across
-- the shards, byte-identical for a fixed shard layout, held-out AUC close to
-- single-node training on the same rows, only models shipped, the global
-- encoding, the refusals and cancellation.  (A worker down: see
-- t_zz_worker_down.sql.)  No transaction around it: a cancelled statement
-- is checked through psql's LAST_ERROR_SQLSTATE.
SET client_min_messages = warning;
SET dlfin.threads = 1;
SELECT plan(10);

CREATE TABLE dp_tr (LIKE loans_local);
SELECT create_distributed_table('dp_tr', 'region', shard_count := 4) IS NOT NULL AS distributed \gset
INSERT INTO dp_tr SELECT * FROM loans_local WHERE id % 5 <> 0;
CREATE TABLE dp_tr_local AS SELECT * FROM loans_local WHERE id % 5 <> 0;
CREATE TABLE dp_held AS SELECT * FROM loans_local WHERE id % 5 = 0;

CREATE TABLE dp_m AS
SELECT dlfin.train_distributed('dp_tr', 'approved', ARRAY['income', 'age', 'edu'],
                               '{"hidden": [8], "seed": 3}', 10) AS model;
SELECT is((SELECT md5(dlfin.train_distributed('dp_tr', 'approved', ARRAY['income', 'age', 'edu'],
                                              '{"hidden": [8], "seed": 3}', 10))),
          (SELECT md5(model) FROM dp_m), 'a rerun over the same shards is byte-identical');
SELECT is((SELECT (i->'rows'->>'train')::int + (i->'rows'->>'validation')::int
           FROM (SELECT dlfin_model_info(model) i FROM dp_m) x), 3200,
          'the averaged model counts every member''s rows');
SELECT is((SELECT round(((dlfin_model_info(model)->'features'->0->'scaling'->>'mean')::numeric), 6) FROM dp_m),
          (SELECT round(avg(income)::numeric, 6) FROM dp_tr_local),
          'the encoding is global: the mean of income over every shard');

-- single-node training on the same rows, as many epochs as rounds
CREATE TABLE dp_sn AS
SELECT dlfin_train('{"hidden": [8], "seed": 3, "epochs": 10, "features": ["income", "age", "edu"]}'::jsonb,
                   approved, income, age, edu) AS model FROM dp_tr_local;
SELECT cmp_ok(
    (SELECT abs(dlfin_auc(dlfin_predict((SELECT model FROM dp_m), income, age, edu), approved)
              - dlfin_auc(dlfin_predict((SELECT model FROM dp_sn), income, age, edu), approved)) FROM dp_held),
    '<', 0.1::float8, 'held-out AUC near single-node training on 3,200 rows (1M rows: doc/scaling.md)');

-- what reaches the coordinator per round: the members' models, not rows
SELECT cmp_ok((SELECT octet_length(model) * 2 * 4 FROM dp_m)::bigint, '<',
              received_bytes($$SELECT approved, income, age, edu FROM dp_tr$$) / 2,
              'a round ships less than half the bytes of 3,200 rows (4 shards, hex)');

SELECT throws_ok($$SELECT dlfin.train_distributed('dp_tr', 'approved', ARRAY['income'], '{"calibrate": "platt"}')$$,
                 '22023', NULL, 'a calibrated model cannot be averaged: 22023');
SELECT throws_ok($$SELECT dlfin.train_distributed('dp_tr', 'approved', ARRAY['nope'])$$,
                 '42703', NULL, 'an unknown column: 42703');
SELECT throws_ok($$SELECT dlfin_average_models(ARRAY[(SELECT model FROM dp_m), (SELECT model FROM dp_sn)], ARRAY[1.0, 1.0])$$,
                 '22023', 'models of different shape or encoding cannot be averaged',
                 'models with different encodings: 22023');

-- cancellation in the middle of the rounds
SET statement_timeout = '400ms';
\set ON_ERROR_STOP 0
SELECT dlfin.train_distributed('dp_tr', 'approved', ARRAY['income', 'age', 'edu'], '{"hidden": [8]}', 1000);
\set ON_ERROR_STOP 1
RESET statement_timeout;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '57014', 'statement_timeout cancels the rounds: 57014');
SELECT is((SELECT md5(dlfin.train_distributed('dp_tr', 'approved', ARRAY['income', 'age', 'edu'],
                                              '{"hidden": [8], "seed": 3}', 10))),
          (SELECT md5(model) FROM dp_m), 'after a cancel the next run is the same model');

DROP TABLE dp_tr, dp_tr_local, dp_held, dp_m, dp_sn;
SELECT * FROM finish();
