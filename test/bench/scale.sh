# test/bench/scale.sh: training at scale (sourced by test/bench/run --scale
# and --mixed; issue 21, items 4 and 5).
#
# Expects q, ms, median, ratio, gen and $work from test/bench/run, a running
# cluster with dlfin created, ROWS, REPS, OPTS, FEATS, FEATS_SUM, THREADS,
# ALL and PY.
#
#   scale_rows   ROWS rows (10M by default) of the loans table vs its first
#                ROWS/10: the same options, all cores; time ratio (target
#                <= 10.5x for 10x the rows) and each training's peak memory
#                growth against its raw float32 matrix (target <= 1.5x).
#   scale_mixed  a 20-feature table (9 integer, 9 double precision and two
#                text columns of 50 categories), dlfin against PyTorch
#                train-only on the same one-hot encoding (target >= 5x).

# Growth of the backend's VmHWM over one serial training of the FROM
# clause $1 (kB), after a plain scan of the same columns in the session.
scale_peak() {
  q <<SQL | tail -1
SET max_parallel_workers_per_gather = 0;
SELECT pg_backend_pid() AS pid \gset
SELECT sum($FEATS_SUM) FROM $1;
SELECT (regexp_match(pg_read_file('/proc/' || :pid || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint AS before \gset
SELECT length(dlfin_train('$OPTS', defaulted, $FEATS)) FROM $1;
SELECT (regexp_match(pg_read_file('/proc/' || :pid || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint - :before;
SQL
}

scale_rows() {
  local small=$(( ROWS / 10 ))
  local r big_ms small_ms kb_big kb_small
  echo "== generating $ROWS rows (the first $small are the small table)"
  gen loans "$ROWS" 0.42 > /dev/null
  q -c "CREATE TABLE loans_small AS SELECT * FROM loans WHERE id <= $small" -c "ANALYZE loans_small"
  q -c "SELECT pg_size_pretty(pg_total_relation_size('loans')) AS table_size"
  : > "$work/big"; : > "$work/small"
  echo "== dlfin_train on $ROWS and on $small rows, $REPS repetitions each, alternating (all cores)"
  for r in $(seq 1 "$REPS"); do
    ms "$ALL" "SELECT length(dlfin_train('$OPTS', defaulted, $FEATS)) FROM loans_small" >> "$work/small"
    ms "$ALL" "SELECT length(dlfin_train('$OPTS', defaulted, $FEATS)) FROM loans" >> "$work/big"
  done
  small_ms=$(median < "$work/small"); big_ms=$(median < "$work/big")
  echo "== peak memory of a serial training (fresh sessions)"
  kb_small=$(scale_peak loans_small)
  kb_big=$(scale_peak loans)
  local raw_small=$(( small * 8 * 4 / 1024 )) raw_big=$(( ROWS * 8 * 4 / 1024 ))
  echo
  echo "== results: $ROWS vs $small rows x 8 features, hidden [32,16], batch $BATCH, $EPOCHS epochs, $THREADS threads, medians of $REPS"
  printf '  %-44s %6sx  [<= 10.5]  (%.1f s vs %.1f s)\n' "time, $ROWS rows / $small rows" \
    "$(ratio "$big_ms" "$small_ms")" "$(awk -v m="$big_ms" 'BEGIN {print m / 1000}')" \
    "$(awk -v m="$small_ms" 'BEGIN {print m / 1000}')"
  printf '  %-44s %6sx  [<= 1.5]  (%d MB vs %d MB)\n' "peak memory / raw float32, $ROWS rows" \
    "$(ratio "$kb_big" "$raw_big")" $((kb_big / 1024)) $((raw_big / 1024))
  printf '  %-44s %6sx  [<= 1.5]  (%d MB vs %d MB)\n' "peak memory / raw float32, $small rows" \
    "$(ratio "$kb_small" "$raw_small")" $((kb_small / 1024)) $((raw_small / 1024))
}

# The mixed table: ROWS training rows and ROWS/5 held-out ones.  The label
# depends on numbers of both kinds and on both categories.
scale_mixed_tables() {
  local test_rows=$(( ROWS / 5 ))
  q <<SQL
SELECT setseed(0.42);
CREATE TABLE mixed AS
WITH b AS (
  SELECT i, floor(random() * 50)::int AS k1, floor(random() * 50)::int AS k2,
         random() AS u, (random() * 100)::int AS n1, (random() * 10)::int AS n2,
         (random() * 50000)::int AS n3, (random() * 5)::int AS n4,
         (random() * 30)::int AS n5, (random() * 1000)::int AS n6,
         (random() * 3)::int AS n7, (random() * 200)::int AS n8,
         (random() * 20)::int AS n9,
         random() * 2 - 1 AS d1, random() * 1000 AS d2, random() AS d3,
         random() * 10 AS d4, random() * 0.6 AS d5, random() * 100 AS d6,
         random() * 5 AS d7, random() * 2 AS d8, random() * 50 AS d9
  FROM generate_series(1, $ROWS + $test_rows) AS i)
SELECT i AS id, n1, n2, n3, n4, n5, n6, n7, n8, n9, d1, d2, d3, d4, d5, d6, d7, d8, d9,
       'segment_' || k1 AS t1, 'region_' || k2 AS t2,
       (-1.5 + 1.2 * d1 + 2.5 * (d5 > 0.35)::int - 0.02 * n1 + 0.1 * n2
         + 0.3 * (k1 % 7 - 3) - 0.25 * (k2 % 5 - 2) + 0.4 * d3 * d4 / 10
         + ln(u / (1 - u)) > 0) AS y
FROM b;
CREATE TABLE mixed_test AS SELECT * FROM mixed WHERE id > $ROWS;
DELETE FROM mixed WHERE id > $ROWS;
VACUUM ANALYZE mixed; VACUUM ANALYZE mixed_test;
SQL
}

scale_mixed() {
  local F="n1, n2, n3, n4, n5, n6, n7, n8, n9, d1, d2, d3, d4, d5, d6, d7, d8, d9, t1, t2"
  local DREPS=$(( REPS > 5 ? REPS : 5 )) r dl tt auc tauc
  echo "== generating the mixed table: $ROWS rows x 20 features (2 text columns of 50 categories)"
  scale_mixed_tables > /dev/null
  q -c "CREATE TABLE mixed_model (model bytea)"
  echo "== dlfin_train, $DREPS repetitions (all cores)"
  : > "$work/mixed"
  for r in $(seq 1 "$DREPS"); do
    q -c "DROP TABLE IF EXISTS m_mixed"
    ms "$ALL" "CREATE TABLE m_mixed AS SELECT dlfin_train('$OPTS', y, $F) AS model FROM mixed" >> "$work/mixed"
  done
  dl=$(median < "$work/mixed")
  auc=$(q -c "SELECT round(dlfin_auc(dlfin_predict((SELECT model FROM m_mixed), $F), y)::numeric, 4) FROM mixed_test")
  if ! $PY -c 'import torch, numpy' 2>/dev/null; then
    echo "!! PyTorch missing ($PY with torch, numpy): dlfin's time only"
    printf '  %-44s %s s, AUC %s\n' "dlfin_train, $ROWS rows x 20 features" "$(awk -v m="$dl" 'BEGIN {printf "%.2f", m / 1000}')" "$auc"
    return
  fi
  # PyTorch's OpenMP threads spin: on a machine shared with other work one
  # thread can be far faster than two (TORCH_THREADS=1 to choose it)
  local tth=${TORCH_THREADS:-$THREADS}
  echo "== exporting with COPY; PyTorch ($tth threads) on the one-hot encoding, $REPS repetitions"
  q -c "\\copy (SELECT y::int, $F FROM mixed) TO '$work/mixed.csv' WITH (FORMAT csv)"
  q -c "\\copy (SELECT y::int, $F FROM mixed_test) TO '$work/mixed_test.csv' WITH (FORMAT csv)"
  OMP_NUM_THREADS=$tth OPENBLAS_NUM_THREADS=$tth $PY test/bench/peers.py torch-onehot \
    "$work/mixed.csv" "$work/mixed_test.csv" "$tth" $EPOCHS $BATCH "$REPS" > "$work/mixed_torch.out"
  tt=$(grep -v load "$work/mixed_torch.out" | awk '{print $1 * 1000}' | median)
  tauc=$(grep -v load "$work/mixed_torch.out" | awk '{print $2}' | median | awk '{printf "%.4f", $1}')
  echo
  echo "== results: $ROWS rows x 20 features (18 numbers, 2 x 50 categories), hidden [32,16], batch $BATCH, $EPOCHS epochs, dlfin $THREADS threads, PyTorch $tth"
  printf '  %-44s %6sx  [>= 5]  (%.2f s vs %.2f s)\n' "PyTorch train-only (one-hot) / dlfin" "$(ratio "$tt" "$dl")" \
    "$(awk -v m="$tt" 'BEGIN {print m / 1000}')" "$(awk -v m="$dl" 'BEGIN {print m / 1000}')"
  printf '  %-44s %s vs %s  [>= -0.005]\n' "held-out AUC dlfin vs PyTorch" "$auc" "$tauc"
}
