-- Scoring a distributed table: with a model from a scalar subquery and by
-- registry name, on the workers (only sums come back), one version per
-- statement, deploys and rollbacks seen by the next statement.
SET client_min_messages = warning;
SET dlfin.threads = 1;
SELECT plan(21);

-- two versions of a registered model, trained on the local copy of the rows
SELECT is(dlfin.train('cit_score', 'SELECT approved, income, age, edu FROM loans_local', 'approved',
                      '{"hidden": [8], "epochs": 10, "seed": 1}', 'always'), 1, 'version 1 trained');
SELECT is(dlfin.train('cit_score', 'SELECT approved, income, age, edu FROM loans_local', 'approved',
                      '{"hidden": [8], "epochs": 10, "seed": 2, "force": true}', 'never'), 2, 'version 2 trained');
CREATE TEMP TABLE v AS SELECT version, model FROM dlfin.models WHERE name = 'cit_score';

-- a model from a scalar subquery: scored on the workers
CREATE TEMP TABLE r_sub AS
SELECT (SELECT sum(dlfin_predict((SELECT model FROM m), income, age, edu)) FROM loans) AS dist,
       (SELECT sum(dlfin_predict((SELECT model FROM m), income, age, edu)) FROM loans_local) AS loc;
SELECT ok(abs(dist - loc) < 1e-6, 'scalar-subquery model: the same sum as locally') FROM r_sub;
SELECT matches(plan_of($$SELECT sum(dlfin_predict((SELECT model FROM m), income, age, edu)) FROM loans$$),
               'Task(.*\n)*.*Aggregate(.*\n)*.*sum\(dlfin_predict',
               'scalar-subquery model: the workers score and sum');
SELECT cmp_ok(received_bytes($$SELECT sum(dlfin_predict((SELECT model FROM m), income, age, edu)) FROM loans$$),
              '<', 1000::bigint, 'scalar-subquery model: only the partial sums come back');

-- by name: the deployed version (1) on the coordinator, bytes shipped once per worker
CREATE TEMP TABLE r_name AS
SELECT (SELECT sum(dlfin_predict('cit_score', income, age, edu)) FROM loans) AS dist,
       (SELECT sum(dlfin_predict(model, income, age, edu)) FROM loans_local, v WHERE version = 1) AS v1,
       (SELECT sum(dlfin_predict(model, income, age, edu)) FROM loans_local, v WHERE version = 2) AS v2;
SELECT ok(abs(dist - v1) < 1e-6 AND abs(dist - v2) > 1e-6, 'by name: the workers score with the deployed version')
FROM r_name;
SELECT matches(plan_of($$SELECT sum(dlfin_predict('cit_score', income, age, edu)) FROM loans$$),
               'Distributed Subplan(.*\n)*.*Task(.*\n)*.*Aggregate(.*\n)*.*sum\(dlfin_predict',
               'by name: the model is read once on the coordinator and the workers score and sum');
SELECT cmp_ok(received_bytes($$SELECT sum(dlfin_predict('cit_score', income, age, edu)) FROM loans$$),
              '<', 1000::bigint, 'by name: only the partial sums come back');

-- deploy and rollback are seen by the next statement on every worker
SELECT dlfin.deploy('cit_score', 2);
CREATE TEMP TABLE r_dep AS SELECT sum(dlfin_predict('cit_score', income, age, edu)) AS s FROM loans;
SELECT ok(abs(s - v2) < 1e-6, 'by name: a deploy is seen by the next statement') FROM r_dep, r_name;
SELECT dlfin.rollback('cit_score');
CREATE TEMP TABLE r_rb AS SELECT sum(dlfin_predict('cit_score', income, age, edu)) AS s FROM loans;
SELECT ok(abs(s - v1) < 1e-6, 'by name: a rollback is seen by the next statement') FROM r_rb, r_name;

-- a prepared statement (generic plan after five executions, name as a
-- parameter too) sees each deploy at its next execution
PREPARE by_const AS SELECT sum(dlfin_predict('cit_score', income, age, edu)) FROM loans;
PREPARE by_param(text) AS SELECT sum(dlfin_predict($1, income, age, edu)) FROM loans;
DO $$
BEGIN
    FOR i IN 1 .. 6 LOOP
        EXECUTE 'EXECUTE by_const';
        EXECUTE 'EXECUTE by_param(''cit_score'')';
    END LOOP;
END $$;
SELECT dlfin.deploy('cit_score', 2);
EXECUTE by_const \gset const_
EXECUTE by_param('cit_score') \gset param_
SELECT ok(abs(:const_sum - v2) < 1e-6 AND abs(:param_sum - v2) < 1e-6,
          'prepared statements see the deploy at their next execution')
FROM r_name;
SELECT dlfin.rollback('cit_score');

-- scores written back into the distributed table
ALTER TABLE loans ADD COLUMN score float8;
UPDATE loans SET score = dlfin_predict('cit_score', income, age, edu);
SELECT ok(abs((SELECT sum(score) FROM loans) - v1) < 1e-6, 'UPDATE ... SET score = dlfin_predict(name, ...) on the workers')
FROM r_name;
ALTER TABLE loans DROP COLUMN score;

-- the caller's rights decide which names it may score, as on one node
CREATE ROLE cit_analyst;
GRANT SELECT ON loans TO cit_analyst;
SET ROLE cit_analyst;
SELECT throws_ok($$SELECT sum(dlfin_predict('cit_score', income, age, edu)) FROM loans$$,
                 '42704', NULL, 'by name: another role''s model is invisible (42704) on a distributed table');
SELECT throws_ok($$SELECT sum(dlfin_predict(dlfin.deployed_model('cit_score'), income, age, edu)) FROM loans$$,
                 '42704', NULL, 'dlfin.deployed_model: another role''s model is invisible (42704)');
RESET ROLE;
REVOKE SELECT ON loans FROM cit_analyst;
DROP ROLE cit_analyst;

-- the other by-name forms, row by row equal to the local results
CREATE TEMP TABLE r_forms AS
SELECT count(*) FILTER (WHERE d.c IS DISTINCT FROM l.c) AS class_diff,
       count(*) FILTER (WHERE d.p IS DISTINCT FROM l.p) AS proba_diff,
       count(*) FILTER (WHERE d.r IS DISTINCT FROM l.r) AS reasons_diff,
       count(*) FILTER (WHERE d.e IS DISTINCT FROM l.e) AS explain_diff,
       count(*) AS n
FROM (SELECT id, dlfin_predict_class('cit_score', income, age, edu) AS c,
             dlfin_predict_proba('cit_score', income, age, edu) AS p,
             dlfin_reasons('cit_score', 2, income, age, edu) AS r,
             dlfin_explain('cit_score', income, age, edu) AS e
      FROM loans WHERE id % 100 = 0) d
JOIN (SELECT id, dlfin_predict_class(model, income, age, edu) AS c,
             dlfin_predict_proba(model, income, age, edu) AS p,
             dlfin_reasons(model, 2, income, age, edu) AS r,
             dlfin_explain(model, income, age, edu) AS e
      FROM loans_local, v WHERE version = 1 AND id % 100 = 0) l USING (id);
SELECT is(row(class_diff, proba_diff, reasons_diff, explain_diff, n)::text, '(0,0,0,0,40)',
          'by name: dlfin_predict_class, _proba, dlfin_reasons and dlfin_explain score on the workers as locally')
FROM r_forms;
CREATE TEMP TABLE r_info AS
SELECT DISTINCT dlfin_model_info('cit_score') ->> 'version' AS version FROM loans;
SELECT is((SELECT version FROM r_info), '1', 'by name: dlfin_model_info over a distributed table');
SELECT matches(plan_of($$SELECT id, dlfin_reasons('cit_score', 2, income, age, edu) FROM loans WHERE age > 60$$),
               'Query: SELECT .*dlfin_reasons\(\(SELECT intermediate_result',
               'by name: dlfin_reasons runs in the workers'' queries with the coordinator''s bytes');

-- GROUP BY the distribution column with by-name scoring in the aggregate
CREATE TEMP TABLE r_grp AS
SELECT (SELECT array_agg(s ORDER BY region) FROM (SELECT region, round(sum(dlfin_predict('cit_score', income, age, edu))::numeric, 6) s
                                               FROM loans GROUP BY region) x) AS dist,
       (SELECT array_agg(s ORDER BY region) FROM (SELECT region, round(sum(dlfin_predict(model, income, age, edu))::numeric, 6) s
                                               FROM loans_local, v WHERE version = 1 GROUP BY region) x) AS loc;
SELECT is(dist, loc, 'by name inside GROUP BY region: the same per-region sums') FROM r_grp;

-- names the caller cannot see or that do not exist fail as locally
SELECT throws_ok($$SELECT sum(dlfin_predict('no_such_model', income, age, edu)) FROM loans$$,
                 '42704', NULL, 'by name: an unknown name is 42704 on a distributed table too');
SELECT throws_ok($$SELECT sum(dlfin_predict(edu, income, age, edu)) FROM loans$$,
                 '0A000', NULL, 'a name taken from a column cannot be scored on the workers: 0A000');
SELECT dlfin.drop_model('cit_score');
SELECT throws_ok($$SELECT sum(dlfin_predict('cit_score', income, age, edu)) FROM loans$$,
                 '42704', NULL, 'by name: a dropped model is gone for the next statement');

SELECT * FROM finish();
