-- test/citus/measure_dp.sql: data-parallel training (dlfin.train_distributed)
-- against single-node training on the same rows, 1M rows (not part of the
-- suite).  Run:
--   DLFIN_CITUS_PSQL=test/citus/measure_dp.sql test/citus/run.sh
-- Held-out AUC of both, bytes received per round (the NOTICEs) against the
-- bytes of shipping the rows once.  Two workers on one machine show
-- correctness and transfer volume, not speedup.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET dlfin.threads = 1;
\timing on
CREATE TABLE big (id int, region text, income float8, age int, edu text, approved boolean);
SELECT create_distributed_table('big', 'region', shard_count := 4);
INSERT INTO big
SELECT i, (ARRAY['EU', 'US', 'APAC', 'LATAM'])[1 + i % 4],
       (20000 + abs(hashint4(i)) % 80000)::float8, 20 + abs(hashint4(i + 1000000)) % 50,
       (ARRAY['hs', 'ba', 'ma', 'phd'])[1 + abs(hashint4(i * 7)) % 4],
       (20000 + abs(hashint4(i)) % 80000) / 1000.0 + (20 + abs(hashint4(i + 1000000)) % 50) * 0.8
       + CASE (ARRAY['hs', 'ba', 'ma', 'phd'])[1 + abs(hashint4(i * 7)) % 4] WHEN 'phd' THEN 15 WHEN 'ma' THEN 8 ELSE 0 END
       + (abs(hashint4(i * 13)) % 30) > 95
FROM generate_series(1, 1250000) i;
-- every fifth row is held out (kept on the coordinator)
CREATE TABLE held AS SELECT * FROM big WHERE id % 5 = 0;
DELETE FROM big WHERE id % 5 = 0;
VACUUM ANALYZE big;
SELECT count(*) AS train_rows FROM big;
SELECT s.shardid, count(*) FROM (SELECT get_shard_id_for_distribution_column('big', region) shardid FROM big) s GROUP BY 1 ORDER BY 1;

\echo == shipping the rows once (what gathering costs)
SELECT received_bytes($$SELECT approved, income, age, edu FROM big$$) AS rows_bytes;

\echo == data-parallel: 5 rounds of 1 epoch
SET client_min_messages = notice;
CREATE TABLE dp AS SELECT dlfin.train_distributed('big', 'approved', ARRAY['income', 'age', 'edu'],
                                                  '{"hidden": [16], "seed": 1, "verbose": true}', 5) AS model;
SET client_min_messages = warning;
\echo == single node: the rows gathered, 5 epochs, the same options
CREATE TABLE sn AS SELECT dlfin_train('{"hidden": [16], "seed": 1, "epochs": 5, "features": ["income", "age", "edu"]}'::jsonb,
                                      approved, income, age, edu) AS model FROM big;
SELECT octet_length(model) AS model_bytes FROM dp;
SELECT round(dlfin_auc(dlfin_predict((SELECT model FROM dp), income, age, edu), approved)::numeric, 4) AS dp_auc,
       round(dlfin_auc(dlfin_predict((SELECT model FROM sn), income, age, edu), approved)::numeric, 4) AS single_auc
FROM held;
