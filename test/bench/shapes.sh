# test/bench/shapes.sh: the scoring query shapes users write, and the
# parallel training memory (sourced by test/bench/run --shapes).
#
# Expects q, ms, median, ratio from test/bench/run, a running cluster with
# dlfin created, ROWS and REPS.  Tables of ROWS rows, 8 features each:
#   mix  - 4 integer and 4 double precision columns
#   num  - 8 numeric columns (the same values)
#   txt  - 4 text columns of 5 to 50 categories and 4 numbers
# Every query is timed alternately with a plain scan of the same columns in
# the same session order, serial, REPS >= 9 times; the medians' ratio is
# printed next to its target, followed by the ratio of the backend's CPU
# time (cpu_ms), which a busy shared machine disturbs far less.  Models are trained on 20,000 rows: scoring
# time does not depend on their quality.

shapes_tables() {
  q <<SQL
SELECT setseed(0.42);
CREATE TABLE mix AS
SELECT i AS id,
       (random() * 100)::int AS c1, (random() * 10)::int AS c2,
       (random() * 50000)::int AS c3, (random() * 5)::int AS c4,
       random() * 2 - 1 AS c5, random() * 1000 AS c6,
       random() AS c7, random() * 10 AS c8
FROM generate_series(1, $ROWS) AS i;
ALTER TABLE mix ADD COLUMN y boolean;
UPDATE mix SET y = c5 + c7 + c2 / 10.0 + random() > 1.6;
CREATE TABLE num AS
SELECT id, c1::numeric AS n1, c2::numeric AS n2, c3::numeric AS n3,
       c4::numeric AS n4, round(c5::numeric, 6) AS n5, round(c6::numeric, 6) AS n6,
       round(c7::numeric, 6) AS n7, round(c8::numeric, 6) AS n8, y
FROM mix;
CREATE TABLE txt AS
SELECT id, 'grade_' || (c1 % 7) AS t1, 'region_' || (c3 % 50) AS t2,
       'purpose_' || c4 AS t3, 'channel_' || (c1 % 13) AS t4, c2, c3, c5, c6, y
FROM mix;
VACUUM ANALYZE mix; VACUUM ANALYZE num; VACUUM ANALYZE txt;
CREATE TABLE models (name text PRIMARY KEY, model bytea);
INSERT INTO models
SELECT 'mix', dlfin_train('{"hidden": [32, 16], "epochs": 1, "seed": 3}', y, c1, c2, c3, c4, c5, c6, c7, c8)
FROM (SELECT * FROM mix ORDER BY id LIMIT 20000) s;
INSERT INTO models
SELECT 'num', dlfin_train('{"hidden": [32, 16], "epochs": 1, "seed": 3}', y, n1, n2, n3, n4, n5, n6, n7, n8)
FROM (SELECT * FROM num ORDER BY id LIMIT 20000) s;
INSERT INTO models
SELECT 'txt', dlfin_train('{"hidden": [32, 16], "epochs": 1, "seed": 3}', y, t1, t2, t3, t4, c2, c3, c5, c6)
FROM (SELECT * FROM txt ORDER BY id LIMIT 20000) s;
-- the defaults on few rows: a cv ensemble of 6 networks (doc/quality.md)
INSERT INTO models
SELECT 'ens', dlfin_train(y, c1, c2, c3, c4, c5, c6, c7, c8)
FROM (SELECT * FROM mix ORDER BY id LIMIT 3000) s;
SELECT dlfin.train('mix_reg', 'SELECT y, c1, c2, c3, c4, c5, c6, c7, c8 FROM mix WHERE id <= 20000',
                   'y', '{"hidden": [32, 16], "epochs": 1, "seed": 3}');
SQL
}

# Milliseconds of CPU the backend spends on one run of $2 (after the SETs
# in $1): a warm-up, then three runs in one session timed by the kernel's
# count of the backend's run time (/proc/PID/schedstat, nanoseconds), so
# other sessions' load on a shared machine counts far less than in the
# wall-clock time (the count lags by at most a scheduler tick).
cpu_ms() {
  local pre=$1 sql=$2
  q <<SQL | tail -1
$pre;
SELECT pg_backend_pid() AS pid \gset
$sql;
SELECT split_part(pg_read_file('/proc/' || :pid || '/schedstat'), ' ', 1)::bigint AS t0 \gset
$sql; $sql; $sql;
SELECT round((split_part(pg_read_file('/proc/' || :pid || '/schedstat'), ' ', 1)::bigint - :t0) / 3e6, 1);
SQL
}

# Times each "label~baseline query~query~target" line alternately: the
# wall-clock ratio, then the backend's CPU time ratio (cpu_ms).
shapes_time() {
  local pre=${SHAPES_PRE:-"SET max_parallel_workers_per_gather = 0; SET jit = off"}
  local SREPS=$(( REPS > 9 ? REPS : 9 ))
  local i=0 label base query target
  while IFS='~' read -r label base query target; do
    [ -n "$label" ] || continue
    i=$((i + 1))
    : > "$work/sb$i"; : > "$work/sq$i"; : > "$work/cb$i"; : > "$work/cq$i"
    ms "$pre" "$base" > /dev/null		# warm the cache and the plan
    for r in $(seq 1 "$SREPS"); do
      ms "$pre" "$base" >> "$work/sb$i"
      ms "$pre" "$query" >> "$work/sq$i"
      cpu_ms "$pre" "$base" >> "$work/cb$i"
      cpu_ms "$pre" "$query" >> "$work/cq$i"
    done
    local b; b=$(median < "$work/sb$i")
    local t; t=$(median < "$work/sq$i")
    local cb; cb=$(median < "$work/cb$i")
    local ct; ct=$(median < "$work/cq$i")
    printf '  %-46s %6sx  [%s]  (%.0f ms vs %.0f ms; CPU %sx: %.0f vs %.0f ms)\n' "$label" \
      "$(ratio "$t" "$b")" "$target" "$t" "$b" "$(ratio "$ct" "$cb")" "$ct" "$cb"
  done
}

shapes_scoring() {
  local M="c1, c2, c3, c4, c5, c6, c7, c8"
  local MS="sum(c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8)"
  local N="n1, n2, n3, n4, n5, n6, n7, n8"
  local NS="sum(n1 + n2 + n3 + n4 + n5 + n6 + n7 + n8)"
  local T="t1, t2, t3, t4, c2, c3, c5, c6"
  local TS="sum(length(t1) + length(t2) + length(t3) + length(t4) + c2 + c3 + c5 + c6)"
  local hex; hex=$(q -c "SELECT encode(model, 'hex') FROM models WHERE name = 'mix'")
  local JW="FROM mix, models m WHERE m.name = 'mix'"
  echo "== scoring shapes vs a plain scan of the same columns, serial, medians of $(( REPS > 9 ? REPS : 9 )) alternate runs"
  shapes_time <<EOF
bytes, constant (mixed int/double)~SELECT $MS FROM mix~SELECT sum(dlfin_predict('\\x$hex'::bytea, $M)) FROM mix~<= 1.2
bytes, scalar subquery (mixed)~SELECT $MS FROM mix~SELECT sum(dlfin_predict((SELECT model FROM models WHERE name = 'mix'), $M)) FROM mix~<= 1.2
bytes, in-memory subquery (mixed)~SELECT $MS FROM mix~SELECT sum(dlfin_predict((SELECT model || ''::bytea FROM models WHERE name = 'mix'), $M)) FROM mix~<= 1.2
by name (mixed)~SELECT $MS FROM mix~SELECT sum(dlfin_predict('mix_reg', $M)) FROM mix~<= 1.2
by name vs the constant bytes form~SELECT sum(dlfin_predict('\\x$hex'::bytea, $M)) FROM mix~SELECT sum(dlfin_predict('mix_reg', $M)) FROM mix~<= 1.0 (+ noise)
join form (mixed)~SELECT sum(c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + length(m.name)) $JW~SELECT sum(dlfin_predict(m.model, $M)) $JW~<= 1.2 (scan join + 0.2x)
join form, row argument (README)~SELECT sum(c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + length(m.name)) $JW~SELECT sum(dlfin_predict(m.model, mix)) $JW~<= 1.2 (scan join + 0.2x)
subquery, row argument~SELECT $MS FROM mix~SELECT sum(dlfin_predict((SELECT model FROM models WHERE name = 'mix'), mix)) FROM mix~<= 1.2
by name, row argument (README)~SELECT $MS FROM mix~SELECT sum(dlfin_predict('mix_reg', mix)) FROM mix~<= 1.2
default model (cv ensemble of 6), subquery~SELECT $MS FROM mix~SELECT sum(dlfin_predict((SELECT model FROM models WHERE name = 'ens'), $M)) FROM mix~<= 1.2
all numeric columns, subquery~SELECT $NS FROM num~SELECT sum(dlfin_predict((SELECT model FROM models WHERE name = 'num'), $N)) FROM num~<= 1.2
4 text + 4 numbers, subquery~SELECT $TS FROM txt~SELECT sum(dlfin_predict((SELECT model FROM models WHERE name = 'txt'), $T)) FROM txt~<= 1.5
EOF
}

# The plans a scoring function's COST decides, at PostgreSQL's default
# settings (parallel workers allowed, JIT on): each query against itself
# with a copy of dlfin_predict that declares COST 1, the default for a C
# function and dlfin's before 0.2.0.  Wall clock is what counts here: the
# CPU ratio counts the backend only, not its parallel workers.
shapes_planner() {
  local M="c1, c2, c3, c4, c5, c6, c7, c8"
  local MQ="(SELECT model FROM models WHERE name = 'mix')"
  local EQ="(SELECT model FROM models WHERE name = 'ens')"
  q -c "CREATE OR REPLACE FUNCTION predict_cost1(bytea, VARIADIC \"any\") RETURNS double precision
        AS '\$libdir/dlfin', 'dlfin_predict' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 1"
  echo "== plans the declared COST chooses, default settings, vs the same function declared COST 1"
  local F="SELECT count(*) FROM (SELECT id FROM mix WHERE"
  local P="SELECT count(p) FROM (SELECT"
  SHAPES_PRE="SET jit = on" shapes_time <<EOF
filter by score, rows fetched~$F predict_cost1($MQ, $M) > 0.9 OFFSET 0) s~$F dlfin_predict($MQ, $M) > 0.9 OFFSET 0) s~< 1 (parallel)
every row scored, scores fetched~$P predict_cost1($MQ, $M) AS p FROM mix OFFSET 0) s~$P dlfin_predict($MQ, $M) AS p FROM mix OFFSET 0) s~~ 1 (same plan)
top 10 by a column, cv ensemble of 6~SELECT id, predict_cost1($EQ, $M) FROM mix ORDER BY c6 DESC LIMIT 10~SELECT id, dlfin_predict($EQ, $M) FROM mix ORDER BY c6 DESC LIMIT 10~< 1 (10 rows scored)
EOF
  SHAPES_PRE="SET jit = off" shapes_time <<EOF
filter by score, rows fetched, jit = off~$F predict_cost1($MQ, $M) > 0.9 OFFSET 0) s~$F dlfin_predict($MQ, $M) > 0.9 OFFSET 0) s~< 1 (parallel)
EOF
}

# dlfin_binning (a double, an integer and a text column) and dlfin_iv over
# eight columns, each against a plain scan of the same columns (issue 20:
# 1M rows binned in under 3x a plain scan).
shapes_binning() {
  echo "== binning vs a plain scan of the same columns, serial, medians of $(( REPS > 9 ? REPS : 9 )) alternate runs"
  shapes_time <<EOF
dlfin_binning, double precision column~SELECT count(c6), count(y) FROM mix~SELECT dlfin_binning(c6, y) IS NOT NULL FROM mix~<= 3.0
dlfin_binning, integer column~SELECT count(c3), count(y) FROM mix~SELECT dlfin_binning(c3, y) IS NOT NULL FROM mix~<= 3.0
dlfin_binning, text column (50 categories)~SELECT count(t2), count(y) FROM txt~SELECT dlfin_binning(t2, y) IS NOT NULL FROM txt~<= 3.0
dlfin_iv, 8 columns (4 text, 4 numbers)~SELECT count(t1), count(t2), count(t3), count(t4), count(c2), count(c3), count(c5), count(c6), count(y) FROM txt~SELECT count(*) FROM dlfin_iv('SELECT y, t1, t2, t3, t4, c2, c3, c5, c6 FROM txt', 'y')~<= 3.0
EOF
}

# Peak RSS growth of a training with 0, 1 and 2 parallel workers, against
# the raw float32 matrix of the mix table (rows x 8 x 4 bytes).  The plain
# scan before it is serial in every case: the shared buffers a backend
# maps count in its resident set, and a parallel scan would leave the
# leader a different share of the table's pages to map during the
# training (up to half the table's cached pages, not training memory).
shapes_memory() {
  local raw_kb=$(( ROWS * 8 * 4 / 1024 ))
  local opts='{"hidden": [32, 16], "epochs": 1, "seed": 3}'
  local w kb
  echo "== peak memory of a training backend (1 epoch), vs the raw float32 matrix ($((raw_kb / 1024)) MB)"
  for w in 0 1 2; do
    kb=$(q <<SQL | tail -1
SET max_parallel_workers_per_gather = 0; SET parallel_setup_cost = 0; SET min_parallel_table_scan_size = 0;
SELECT pg_backend_pid() AS pid \gset
SELECT sum(c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8) FROM mix;
SET max_parallel_workers_per_gather = $w;
SELECT (regexp_match(pg_read_file('/proc/' || :pid || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint AS before \gset
SELECT length(dlfin_train('$opts', y, c1, c2, c3, c4, c5, c6, c7, c8)) FROM mix;
SELECT (regexp_match(pg_read_file('/proc/' || :pid || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint - :before;
SQL
)
    printf '  max_parallel_workers_per_gather = %d: %6sx  [<= 1.5]  (%d MB)\n' "$w" "$(ratio "$kb" "$raw_kb")" $((kb / 1024))
  done
}
