-- test/citus/measure.sql: bytes moved and time per query shape on 1M rows
-- (not part of the suite).  Run:
--   DLFIN_CITUS_PSQL=test/citus/measure.sql test/citus/run.sh
-- Two workers on one machine show transfer volume and correctness, not
-- speedup: every node shares the same cores.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET dlfin.threads = 1;
\timing on
CREATE TABLE big (id int, region text, income float8, age int, edu text, approved boolean);
SELECT create_distributed_table('big', 'region', shard_count := 4);
INSERT INTO big
SELECT i, (ARRAY['EU', 'US', 'APAC', 'LATAM'])[1 + i % 4],
       (20000 + abs(hashint4(i)) % 80000)::float8, 20 + abs(hashint4(i + 1000000)) % 50,
       (ARRAY['hs', 'ba', 'ma', 'phd'])[1 + abs(hashint4(i * 7)) % 4], NULL
FROM generate_series(1, 1000000) i;
UPDATE big SET approved = income / 1000 + age * 0.8 + CASE edu WHEN 'phd' THEN 15 WHEN 'ma' THEN 8 ELSE 0 END
                          + (abs(hashint4(id * 13)) % 30) > 95;
VACUUM ANALYZE big;
SELECT pg_size_pretty(citus_table_size('big')) AS table_size;

\echo == shipping the rows (reference: what gathering costs)
SELECT received_bytes($$SELECT approved, income, age, edu FROM big$$) AS rows_bytes;
\echo == global dlfin_train (rows gathered, trained on the coordinator)
SELECT received_bytes($$SELECT dlfin_train('{"hidden": [16], "epochs": 3, "seed": 1}'::jsonb, approved, income, age, edu) FROM big$$) AS bytes;
\echo == GROUP BY region (trained on the workers, models shipped)
SELECT received_bytes($$SELECT region, dlfin_train('{"hidden": [16], "epochs": 3, "seed": 1}'::jsonb, approved, income, age, edu) FROM big GROUP BY region$$) AS bytes;
\echo == dlfin.train over the distributed table (rows gathered by the screen and by the training statement)
SELECT dlfin.train('big_reg', 'SELECT approved, income, age, edu FROM big', 'approved', '{"hidden": [16], "epochs": 3, "seed": 1}');
\echo == scoring with a scalar-subquery model (pushed down)
CREATE TABLE bm AS SELECT model FROM dlfin.models WHERE name = 'big_reg';
SELECT received_bytes($$SELECT sum(dlfin_predict((SELECT model FROM bm), income, age, edu)) FROM big$$) AS bytes;
\echo == scoring by name (pushed down, model read once on the coordinator)
SELECT received_bytes($$SELECT sum(dlfin_predict('big_reg', income, age, edu)) FROM big$$) AS bytes;
SELECT sum(dlfin_predict('big_reg', income, age, edu)) FROM big;
\echo == scoring by name, written back (UPDATE on the workers)
ALTER TABLE big ADD COLUMN score float8;
UPDATE big SET score = dlfin_predict('big_reg', income, age, edu);
SELECT octet_length(model) AS model_bytes FROM bm;
\echo == INSERT ... SELECT with by-name scoring into a colocated table
CREATE TABLE big_scores (id int, region text, score float8);
SELECT create_distributed_table('big_scores', 'region', colocate_with := 'big');
EXPLAIN (COSTS OFF) INSERT INTO big_scores SELECT id, region, dlfin_predict('big_reg', income, age, edu) FROM big;
INSERT INTO big_scores SELECT id, region, dlfin_predict('big_reg', income, age, edu) FROM big;
