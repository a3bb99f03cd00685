-- dlfin.train's guards against silent mistakes (issue 14): columns left
-- out with "exclude", identifiers left out with a NOTICE, a feature that
-- alone separates the label warned about and not deployed automatically,
-- and no duplicate version when nothing changed.
BEGIN;
SET client_min_messages = warning;
SELECT plan(22);

CREATE TABLE g_loans AS
SELECT i AS loan_id, 'A-' || i AS code, i * 37 % 1000 AS income, (i * 7919) % 50 + 18 AS age,
       (ARRAY['north', 'south', 'east'])[1 + i % 3] AS region,
       (i * 7919) % 50 + 18 + (i * 31) % 17 > 48 AS defaulted
FROM generate_series(1, 400) AS i;
-- recorded after the outcome: the label itself, in other words
ALTER TABLE g_loans ADD COLUMN collections boolean;
UPDATE g_loans SET collections = defaulted;
ALTER TABLE g_loans ADD COLUMN amount integer;
UPDATE g_loans SET amount = 1000 + loan_id * 13;    -- unique, but with gaps: a feature

-- ---- identifiers ----
SELECT is(dlfin.train('g1', 'SELECT defaulted, loan_id, code, income, age, region, amount FROM g_loans', 'defaulted',
                      '{"epochs": 2, "hidden": [4]}'), 1, 'SELECT with identifiers trains');
SELECT is((SELECT features FROM dlfin.models WHERE name = 'g1'), ARRAY['income', 'age', 'region', 'amount'],
          'the serial number and the unique text code are left out; a unique amount is kept');
SELECT is(dlfin.train('g2', 'SELECT defaulted, loan_id, age FROM g_loans', 'defaulted',
                      '{"epochs": 2, "hidden": [4], "identifiers": "keep"}'), 1, 'identifiers can be kept');
SELECT is((SELECT features FROM dlfin.models WHERE name = 'g2'), ARRAY['loan_id', 'age'], 'and are features then');
SELECT throws_ok($$SELECT dlfin.train('g3', 'SELECT defaulted, loan_id, code FROM g_loans', 'defaulted')$$,
                 '22023', 'dlfin.train query has no feature column left besides identifiers', 'nothing but identifiers');
SELECT throws_ok($$SELECT dlfin.train('g3', 'SELECT defaulted, age FROM g_loans', 'defaulted', '{"identifiers": "maybe"}')$$,
                 '22023', 'dlfin.train option "identifiers" must be "drop" or "keep"', 'bad identifiers option');

-- ---- exclude ----
SELECT is(dlfin.train('g4', 'SELECT * FROM g_loans', 'defaulted', '{"epochs": 2, "hidden": [4], "exclude": ["collections"]}'), 1,
          'SELECT * with a leaking column excluded');
SELECT is((SELECT features FROM dlfin.models WHERE name = 'g4'), ARRAY['income', 'age', 'region', 'amount'],
          'is trained on the other columns');
SELECT is((SELECT status FROM dlfin.models WHERE name = 'g4'), 'deployed', 'and deployed');
SELECT throws_ok($$SELECT dlfin.train('g5', 'SELECT * FROM g_loans', 'defaulted', '{"exclude": ["nope"]}')$$,
                 '42703', NULL, 'excluding a column the query does not have');
SELECT throws_ok($$SELECT dlfin.train('g5', 'SELECT * FROM g_loans', 'defaulted', '{"exclude": ["defaulted"]}')$$,
                 '42703', NULL, 'excluding the label');
SELECT throws_ok($$SELECT dlfin.train('g5', 'SELECT * FROM g_loans', 'defaulted', '{"exclude": "age"}')$$,
                 '22023', 'dlfin.train option "exclude" must be an array of column names', 'exclude not an array');

-- ---- leakage ----
SELECT is(dlfin.train('g6', 'SELECT * FROM g_loans', 'defaulted', '{"epochs": 2, "hidden": [4]}'), 1,
          'SELECT * with a leaking column trains');
SELECT is((SELECT status FROM dlfin.models WHERE name = 'g6'), 'candidate', 'but is not deployed automatically');
SELECT ok((SELECT (decision -> 'leakage' ->> 'collections')::float8 >= 0.99 FROM dlfin.models WHERE name = 'g6'),
          'the leak and its held-out AUC are recorded in the decision');
SELECT ok((SELECT decision ->> 'reason' LIKE 'if_better: collections alone separates the label%' FROM dlfin.models WHERE name = 'g6'),
          'with the reason');
SELECT is(dlfin.deploy('g6', 1, 'reviewed'), 1, 'an explicit deploy still works');
SELECT is(dlfin.train('g7', 'SELECT * FROM g_loans', 'defaulted', '{"epochs": 2, "hidden": [4]}', 'always'), 1,
          'policy always');
SELECT is((SELECT status FROM dlfin.models WHERE name = 'g7'), 'deployed', 'deploys regardless');

-- ---- no duplicate versions ----
SELECT is(dlfin.retrain('g4'), 1, 'a retrain on unchanged rows returns the existing version');
SELECT is((SELECT count(*) FROM dlfin.models WHERE name = 'g4'), 1::bigint, 'and records nothing');
INSERT INTO g_loans SELECT loan_id + 400, code || 'b', income, age, region, defaulted, collections, amount + 7
FROM g_loans WHERE loan_id <= 20;
SELECT is(dlfin.retrain('g4'), 2, 'new rows give a new version');

SELECT * FROM finish();
ROLLBACK;
