-- dlfin_fairness significance (issue 20): per group against the reference
-- group, the approvals test (Fisher's exact test or the two-proportion
-- z-test), its p-value, the marginal effect, the standardised mean
-- difference of the scores and the practical-significance flag, against
-- SciPy 1.10 and the textbook formulas (test/ref/fairness_ref.sql, made
-- by test/ref/make_fairness_ref.py) to 1e-9; parallel plans agree.
BEGIN;
SELECT plan(8);

\ir ../ref/fairness_ref.sql
CREATE TEMP TABLE fair_got AS
SELECT g AS grp, v FROM (SELECT dlfin_fairness(score, grp, label) AS f FROM fair_rows) s, jsonb_each(f -> 'groups') AS x(g, v);

SELECT is((SELECT count(*) FROM fair_got), 7::bigint, 'seven groups');
SELECT is((SELECT count(*) FROM fair_got g JOIN fair_expected e USING (grp) WHERE g.v ->> 'test' = e.test), 7::bigint,
          'Fisher''s exact test exactly when an expected cell count is below 5, else the z-test');
SELECT is((SELECT count(*) FROM fair_expected WHERE test = 'fisher'), 3::bigint, 'three groups take the exact test');
SELECT is((SELECT count(*) FROM fair_got g JOIN fair_expected e USING (grp)
           WHERE abs((g.v ->> 'p_value')::float8 - e.p_value) > 1e-9), 0::bigint,
          'p-values match scipy.stats.fisher_exact and the z-test within 1e-9');
SELECT is((SELECT count(*) FROM fair_got g JOIN fair_expected e USING (grp)
           WHERE abs((g.v ->> 'marginal_effect')::float8 - e.marginal_effect) > 1e-9), 0::bigint,
          'marginal effects within 1e-9');
SELECT is((SELECT count(*) FROM fair_got g JOIN fair_expected e USING (grp)
           WHERE abs((g.v ->> 'standardized_mean_difference')::float8 - e.smd) > 1e-9), 0::bigint,
          'standardised mean differences within 1e-9');
SELECT is((SELECT count(*) FROM fair_got g JOIN fair_expected e USING (grp)
           WHERE (g.v ->> 'practically_significant')::boolean = e.flagged), 7::bigint,
          'practically significant exactly when the ratio is below 0.8 and p below 0.05');

-- a parallel plan gives the same jsonb
CREATE TEMP TABLE fair_big AS SELECT r.* FROM fair_rows r, generate_series(1, 20);
ANALYZE fair_big;
SELECT dlfin_fairness(score, grp, label)::text AS f FROM fair_big \gset serial_
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_leader_participation = off;
SELECT is((SELECT dlfin_fairness(score, grp, label)::text FROM fair_big), :'serial_f',
          'a parallel plan gives the same fairness jsonb, means and SMDs included');

SELECT * FROM finish();
ROLLBACK;
