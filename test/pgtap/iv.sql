-- dlfin_iv (issue 20): screening every column of a query by information
-- value in one scan gives the IVs of dlfin_binning column by column,
-- ranked; columns that cannot be binned get a note; refusals have their
-- SQLSTATEs.
BEGIN;
SELECT plan(12);

CREATE TABLE iv_loans (status text, seniority int, home text, time int, age int, marital text,
                       records text, job text, expenses int, income int, assets int, debt int,
                       amount int, price int);
\copy iv_loans FROM 'test/data/credit_data.csv' WITH (FORMAT csv, HEADER)
CREATE TEMP TABLE iv_got AS
SELECT * FROM dlfin_iv('SELECT status = ''bad'' AS defaulted, seniority, home, records, job, income, amount, debt,
                               1 AS one, current_date AS today FROM iv_loans', 'defaulted');
CREATE TEMP TABLE iv_want AS
SELECT f, (b ->> 'iv')::float8 AS iv, b
FROM (SELECT 'seniority' AS f, dlfin_binning(seniority, status = 'bad') AS b FROM iv_loans
      UNION ALL SELECT 'home', dlfin_binning(home, status = 'bad') FROM iv_loans
      UNION ALL SELECT 'records', dlfin_binning(records, status = 'bad') FROM iv_loans
      UNION ALL SELECT 'job', dlfin_binning(job, status = 'bad') FROM iv_loans
      UNION ALL SELECT 'income', dlfin_binning(income, status = 'bad') FROM iv_loans
      UNION ALL SELECT 'amount', dlfin_binning(amount, status = 'bad') FROM iv_loans
      UNION ALL SELECT 'debt', dlfin_binning(debt, status = 'bad') FROM iv_loans) s;

SELECT is((SELECT count(*) FROM iv_got g JOIN iv_want w ON w.f = g.feature WHERE g.binning = w.b AND g.iv = w.iv),
          7::bigint, 'every binnable column has the bins and IV of dlfin_binning alone');
SELECT is(ARRAY(SELECT feature FROM iv_got WHERE iv IS NOT NULL ORDER BY rank),
          ARRAY(SELECT f FROM iv_want ORDER BY iv DESC, f), 'ranked by IV, highest first');
SELECT is(ARRAY(SELECT feature FROM iv_got ORDER BY rank),
          ARRAY['seniority', 'income', 'records', 'job', 'home', 'amount', 'debt', 'one', 'today'],
          'the ranking of the credit data''s characteristics');
SELECT is((SELECT note FROM iv_got WHERE feature = 'one'),
          'not binned: dlfin_binning feature is constant: it cannot be binned', 'a constant column gets a note');
SELECT is((SELECT note FROM iv_got WHERE feature = 'today'), 'not binned: type date', 'a date column is left out');
SELECT is((SELECT bins FROM iv_got WHERE feature = 'records'), 2, 'bins counts the bins');

SELECT throws_ok($$SELECT * FROM dlfin_iv('SELECT status = ''bad'' AS d, income FROM iv_loans', 'label')$$,
                 '42703', NULL, 'a label that is not a column');
SELECT throws_ok($$SELECT * FROM dlfin_iv('SELECT status, income FROM iv_loans', 'status')$$,
                 '22023', 'label column "status" must be boolean, not text', 'a label that is not boolean');
SELECT throws_ok($$SELECT * FROM dlfin_iv('SELECT status = ''bad'' AS d, income FROM iv_loans', 'd', '{"max_bins": 1}')$$,
                 '22023', NULL, 'options out of range');
SELECT throws_ok($$SELECT * FROM dlfin_iv('SELECT status = ''bad'' AS d, income, income FROM iv_loans', 'd')$$,
                 '42701', NULL, 'two columns of one name');

-- The reference ranking: test/ref/make_iv_ref.py, an independent
-- optbinning-style binning in NumPy (20 equal-frequency pre-bins, 5 %
-- minimum bin share, monotone event rate in the better direction, small
-- categories pooled, missing values in their own bin), run as
--   /usr/bin/python3 test/ref/make_iv_ref.py test/data/credit_data.csv
-- and pinned here.  The ranks must agree; the IVs (different bin edges)
-- within 0.01.
CREATE TEMP TABLE iv_ref (rank int, feature text, iv float8);
INSERT INTO iv_ref VALUES (1, 'seniority', 0.5138), (2, 'income', 0.3962), (3, 'records', 0.3431),
    (4, 'job', 0.3339), (5, 'home', 0.2501), (6, 'assets', 0.2417), (7, 'amount', 0.1271),
    (8, 'time', 0.0796), (9, 'age', 0.0685), (10, 'expenses', 0.0302), (11, 'price', 0.0226),
    (12, 'debt', 0.0184);
CREATE TEMP TABLE iv_all AS
SELECT * FROM dlfin_iv('SELECT status = ''bad'' AS defaulted, seniority, home, time, age, records, job,
                               expenses, income, assets, debt, amount, price FROM iv_loans', 'defaulted');
SELECT is(ARRAY(SELECT feature FROM iv_all ORDER BY rank), ARRAY(SELECT feature FROM iv_ref ORDER BY rank),
          'every characteristic of the credit data ranks as in the optbinning-style reference');
SELECT is((SELECT count(*) FROM iv_all a JOIN iv_ref r USING (feature) WHERE abs(a.iv - r.iv) < 0.01),
          12::bigint, 'every IV within 0.01 of the reference''s');

SELECT * FROM finish();
ROLLBACK;
