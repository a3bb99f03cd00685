-- dlfin_binning (issue 20, WoE/IV): the reported WoE and IV follow from
-- the reported counts, monotone and minimum-share constraints hold, the
-- bins do not depend on row order or on a parallel plan, and every user
-- error has its SQLSTATE.
BEGIN;
SELECT plan(17);

CREATE TABLE b_loans (status text, seniority int, home text, time int, age int, marital text,
                      records text, job text, expenses int, income int, assets int, debt int,
                      amount int, price int);
\copy b_loans FROM 'test/data/credit_data.csv' WITH (FORMAT csv, HEADER)
CREATE TEMP TABLE b AS
SELECT dlfin_binning(income, status = 'bad') AS income,
       dlfin_binning(seniority, status = 'bad', '{"monotonic": "descending", "max_bins": 6}') AS seniority,
       dlfin_binning(job, status = 'bad') AS job,
       dlfin_binning(amount, status = 'bad', '{"min_share": 0.1, "monotonic": "none"}') AS amount
FROM b_loans;

-- WoE = ln(share of non-events / share of events), IV = (dne - de) * WoE
CREATE TEMP TABLE b_check AS
SELECT c.col, x.*, (c.j ->> 'events')::float8 AS te, (c.j ->> 'non_events')::float8 AS tne, c.j
FROM (SELECT 'income' AS col, income AS j FROM b UNION ALL SELECT 'seniority', seniority FROM b
      UNION ALL SELECT 'job', job FROM b UNION ALL SELECT 'amount', amount FROM b) c,
     dlfin_bins(c.j) x;
SELECT is((SELECT count(*) FROM b_check
           WHERE abs(woe - ln(((non_events + CASE WHEN events = 0 OR non_events = 0 THEN 0.5 ELSE 0 END) / tne)
                              / ((events + CASE WHEN events = 0 OR non_events = 0 THEN 0.5 ELSE 0 END) / te))) > 1e-12),
          0::bigint, 'every bin''s WoE is ln(share of non-events / share of events), 0.5-smoothed when a cell is empty');
SELECT is((SELECT count(*) FROM b_check
           WHERE abs(iv - ((non_events + CASE WHEN events = 0 OR non_events = 0 THEN 0.5 ELSE 0 END) / tne
                           - (events + CASE WHEN events = 0 OR non_events = 0 THEN 0.5 ELSE 0 END) / te) * woe) > 1e-12),
          0::bigint, 'every bin''s IV is (share of non-events - share of events) * WoE');
SELECT is((SELECT count(*) FROM (SELECT col, sum(iv) s, (j ->> 'iv')::float8 t FROM b_check GROUP BY col, j::text, j) x
           WHERE abs(s - t) > 1e-12), 0::bigint, 'the total IV is the sum of the bins''');
SELECT is((SELECT sum(count) FROM b_check WHERE col = 'income'), 4454::numeric, 'every row is in a bin (missing included)');
SELECT is((SELECT count FROM b_check WHERE col = 'income' AND bin = 'missing'), 381::bigint, 'NULL incomes have a bin of their own');

-- constraints
SELECT is((SELECT count(*) FROM (SELECT event_rate - lag(event_rate) OVER (ORDER BY bin::int) AS d
                                 FROM b_check WHERE col = 'seniority' AND bin <> 'missing') x WHERE d >= 0),
          0::bigint, '"monotonic": "descending" gives a strictly falling event rate');
SELECT ok((SELECT count(*) <= 6 FROM b_check WHERE col = 'seniority' AND bin <> 'missing'), 'and at most max_bins bins');
SELECT is((SELECT count(*) FROM b_check WHERE col = 'amount' AND bin <> 'missing' AND count < ceil(0.1 * 4454)),
          0::bigint, 'every bin holds at least min_share of the rows');
SELECT is((SELECT income ->> 'direction' FROM b), 'descending', 'auto finds that defaults fall with income');
SELECT ok((SELECT (seniority ->> 'iv')::float8 > (amount ->> 'iv')::float8 FROM b),
          'seniority carries more information than the amount (as optbinning ranks them)');

-- order and plan independence
SELECT is((SELECT dlfin_binning(income, status = 'bad') FROM (SELECT * FROM b_loans ORDER BY md5(income::text || price)) s),
          (SELECT income FROM b), 'the bins do not depend on row order');
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT is((SELECT dlfin_binning(job, status = 'bad') FROM b_loans), (SELECT job FROM b),
          'a parallel plan gives the same groups');
RESET max_parallel_workers_per_gather;

-- errors
SELECT throws_ok($$SELECT dlfin_binning(income, true) FROM b_loans$$, '22000', NULL, 'a label with one class');
SELECT throws_ok($$SELECT dlfin_binning(1.0, status = 'bad') FROM b_loans$$, '22023',
                 'dlfin_binning feature is constant: it cannot be binned', 'a constant feature');
SELECT throws_ok($$SELECT dlfin_binning(income, status = 'bad', '{"max_bins": 1}') FROM b_loans$$, '22023', NULL,
                 'max_bins below 2');
SELECT throws_ok($$SELECT dlfin_binning(income, status = 'bad', '{"monotone": "auto"}') FROM b_loans$$, '22023',
                 'unknown dlfin_binning option "monotone"', 'an unknown option');

SELECT throws_ok($$SELECT dlfin_binning('c' || i, i % 2 = 0) FROM generate_series(1, 10001) i$$,
                 '54000', 'dlfin_binning feature has more than 10000 categories', 'at most 10000 categories');

SELECT * FROM finish();
ROLLBACK;
