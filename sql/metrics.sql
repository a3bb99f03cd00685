-- Evaluation metrics and dlfin_split on small hand-made data.
-- Outputs are rounded so that they do not depend on the CPU.
CREATE TABLE scored (id int, score float8, label bool);
INSERT INTO scored VALUES
  (1, 0.10, false), (2, 0.40, false), (3, 0.35, true), (4, 0.80, true),
  (5, 0.60, true), (6, 0.60, false), (7, 0.95, true), (8, 0.05, false),
  (9, NULL, true), (10, 0.70, NULL);

-- Rounds every number of a jsonb object for display.
CREATE FUNCTION rounded(j jsonb) RETURNS TABLE (key text, value text)
LANGUAGE sql IMMUTABLE AS $$
  SELECT key, CASE jsonb_typeof(value) WHEN 'number'
              THEN round(value::text::numeric, 6)::text ELSE value::text END
  FROM jsonb_each(j) ORDER BY key
$$;

SELECT round(dlfin_auc(score, label)::numeric, 6) AS auc,
       round(dlfin_gini(score, label)::numeric, 6) AS gini,
       round(dlfin_ks(score, label)::numeric, 6) AS ks,
       round(dlfin_logloss(score, label)::numeric, 6) AS logloss,
       round(dlfin_brier(score, label)::numeric, 6) AS brier
FROM scored;

SELECT * FROM rounded((SELECT dlfin_metrics(score, label) FROM scored));
SELECT * FROM rounded((SELECT dlfin_metrics(score, label, 0.36) FROM scored));

-- ROC curve, bounded to 4 points
SELECT * FROM rounded((SELECT dlfin_roc(score, label, 4) FROM scored));

-- gains table in rows
SELECT d.decile, d.count, d.positives, round(d.positive_rate, 3) AS rate,
       round(d.cumulative_capture, 3) AS capture, round(d.lift, 3) AS lift
FROM jsonb_to_recordset((SELECT dlfin_deciles(score, label) FROM scored))
     AS d(decile int, count int, positives int, positive_rate numeric,
          cumulative_capture numeric, lift numeric);

-- a single class: AUC and KS undefined, the rest defined
SELECT dlfin_auc(score, label) IS NULL AS auc_null, dlfin_ks(score, label) IS NULL AS ks_null,
       round(dlfin_logloss(score, label)::numeric, 6) AS logloss
FROM scored WHERE label;
SELECT * FROM rounded((SELECT dlfin_metrics(score, label) FROM scored WHERE label));

-- no rows
SELECT dlfin_auc(score, label), dlfin_brier(score, label), dlfin_roc(score, label)
FROM scored WHERE false;
SELECT dlfin_metrics(score, label) FROM scored WHERE false;

-- constant scores
SELECT round(dlfin_auc(0.5, label)::numeric, 6) AS auc, round(dlfin_ks(0.5, label)::numeric, 6) AS ks
FROM scored;

-- per group
SELECT id % 2 AS parity, round(dlfin_auc(score, label)::numeric, 4) AS auc
FROM scored GROUP BY 1 ORDER BY 1;

-- regression
SELECT * FROM rounded((SELECT dlfin_regression_metrics(p, a)
                       FROM (VALUES (1.0, 1.5), (2.0, 2.0), (3.0, 2.5), (4.5, 5.0), (NULL, 1)) v(p, a)));
SELECT * FROM rounded((SELECT dlfin_regression_metrics(p, 2.0)
                       FROM (VALUES (1.0), (2.0), (3.0)) v(p)));

-- multiclass
CREATE TABLE graded (p text, a text);
INSERT INTO graded VALUES ('a', 'a'), ('b', 'b'), ('b', 'c'), ('c', 'c'), ('a', 'c'), (NULL, 'a');
SELECT * FROM rounded((SELECT dlfin_multiclass_metrics(p, a) - 'per_class' FROM graded));
SELECT c.key AS class, r.*
FROM jsonb_each((SELECT dlfin_multiclass_metrics(p, a) -> 'per_class' FROM graded)) c,
     LATERAL rounded(c.value) r
ORDER BY 1, 2;
DROP TABLE graded;

-- dlfin_split: pinned values, the same on every machine and version
SELECT i, dlfin_split(i, 0.3) AS int_key, dlfin_split('key-' || i, 0.3) AS text_key,
       dlfin_split(i, 0.3, 42) AS seeded, dlfin_split(i * 1.5, 0.3) AS numeric_key,
       dlfin_split(i::float8 / 4, 0.3) AS float_key,
       dlfin_split(date '2024-01-01' + i, 0.3) AS date_key
FROM generate_series(1, 8) i;
SELECT dlfin_split('abc'::char(5), 0.5) = dlfin_split('abc'::text, 0.5) AS bpchar_ignores_padding;

-- errors
SELECT dlfin_split(1, 2);
SELECT dlfin_auc(s, true) FROM (VALUES ('NaN'::float8)) v(s);
SELECT dlfin_brier(s, true) FROM (VALUES (1.5::float8)) v(s);
SELECT dlfin_metrics(score, label, score) FROM scored;
SET dlfin.max_training_memory = 64;
SELECT dlfin_auc(i / 20000.0, i % 2 = 0) FROM generate_series(1, 20000) i;
RESET dlfin.max_training_memory;

DROP FUNCTION rounded(jsonb);
DROP TABLE scored;
