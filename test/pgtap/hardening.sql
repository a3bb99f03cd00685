-- Issue 13, each attack as a test: the scoring cache never serves another
-- model (plpgsql variables, same-length models, forged near-collisions),
-- aggregate states bind to one model, rows that overflow the network are
-- errors (22003) and never NaN, per-row options are compared by value,
-- text from the data cannot break the card's XML, a diverging warm start
-- is "training diverged" (22000) and an underflowing numeric is 0.
BEGIN;
SELECT plan(34);

CREATE TABLE h_d AS
SELECT g, (g % 7)::float8 / 7 + 0.0001 * g AS x, (g % 3 = 0) AS y,
       (ARRAY['a', 'b', 'c'])[1 + g % 3] AS c
FROM generate_series(1, 400) AS g;
-- nine models of one shape: same length for most seeds
CREATE TABLE h_ms AS
SELECT s AS seed,
       dlfin_train(jsonb_build_object('seed', s, 'epochs', 3, 'hidden', '[4]'::jsonb), y, x) AS model
FROM h_d, generate_series(1, 9) AS s
GROUP BY s;

-- ---- 1. plpgsql: a variable is not a constant ----
CREATE FUNCTION h_score_seed(s int, x float8) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE m bytea;
BEGIN
    SELECT model INTO m FROM h_ms WHERE seed = s;
    RETURN dlfin_predict(m, x);
END $$;
CREATE FUNCTION h_proba_seed(s int, x float8) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE m bytea;
BEGIN
    SELECT model INTO m FROM h_ms WHERE seed = s;
    RETURN dlfin_predict_proba(m, x);
END $$;
CREATE FUNCTION h_explain_seed(s int, x float8) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE m bytea;
BEGIN
    SELECT model INTO m FROM h_ms WHERE seed = s;
    RETURN dlfin_explain(m, x);
END $$;

SELECT ok(count(DISTINCT dlfin_predict(model, 0.3)) > 1, 'the nine models score differently') FROM h_ms;
SELECT is((SELECT count(*) FROM h_ms WHERE h_score_seed(seed, 0.3) = dlfin_predict(model, 0.3)), 9::bigint,
    'plpgsql: dlfin_predict of a variable scores with each model');
SELECT is((SELECT count(*) FROM h_ms WHERE h_proba_seed(seed, 0.3) = dlfin_predict_proba(model, 0.3)), 9::bigint,
    'plpgsql: dlfin_predict_proba of a variable scores with each model');
SELECT is((SELECT count(*) FROM h_ms WHERE (h_explain_seed(seed, 0.3) ->> 'score')::float8 = dlfin_predict(model, 0.3)), 9::bigint,
    'plpgsql: dlfin_explain of a variable explains each model');
-- the same call site, calls in a scrambled order
SELECT is((SELECT count(*) FROM (SELECT seed, model FROM h_ms ORDER BY (seed * 5) % 9) o
           WHERE h_score_seed(seed, 0.7) = dlfin_predict(model, 0.7)), 9::bigint,
    'plpgsql: any order of models');

-- ---- 2. same length, correlated subqueries, near-collisions ----
SELECT ok((SELECT count(*) FROM h_ms a JOIN h_ms b ON a.seed < b.seed
           WHERE length(a.model) = length(b.model)) > 0, 'some models have the same length');
SELECT is((SELECT count(*) FROM generate_series(1, 9) AS s(seed)
           WHERE (SELECT dlfin_predict(m.model || ''::bytea, 0.3) FROM h_ms m WHERE m.seed = s.seed)
                 = (SELECT dlfin_predict(model, 0.3) FROM h_ms WHERE seed = s.seed)), 9::bigint,
    'correlated subquery: each row is scored with its own model');
-- near-collision: one body byte after the headers changed, length and
-- headers (stored CRC included) kept, at the address of the previous
-- row's copy (per-tuple memory): refused as corrupt, never taken for the
-- cached original
CREATE FUNCTION h_flip(b bytea, pos int) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT set_byte(b, pos, (get_byte(b, pos) # 1)) $$;
SELECT throws_ok($$SELECT dlfin_predict(CASE WHEN g = 1 THEN h_flip(h_flip(model, length(model) - 9), length(model) - 9)
                                        ELSE h_flip(h_flip(model, length(model) - 9), length(model) - 10) END, 0.3)
                   FROM h_ms, generate_series(1, 2) g WHERE seed = 1$$,
    '22P03', NULL, 'a same-length copy with two body bytes changed is decoded, not served from the cache');
SELECT is((SELECT count(DISTINCT m) FROM (SELECT dlfin_predict(CASE WHEN g % 2 = 0 THEN a.model ELSE b.model END, 0.3) AS m
                                          FROM h_ms a, h_ms b, generate_series(1, 6) g
                                          WHERE a.seed = 1 AND b.seed = 4) q), 2::bigint,
    'two models alternating row by row keep their own scores');

-- ---- 3. aggregate states bind to one model ----
SELECT is((SELECT count(*) FROM (SELECT seed, dlfin_drift(model, x) AS d FROM h_ms, h_d GROUP BY seed) q
           WHERE (d ->> 'rows')::int = 400), 9::bigint, 'dlfin_drift grouped by model: one state per model');
SELECT throws_ok($$SELECT dlfin_drift(CASE WHEN g <= 200 THEN a.model ELSE b.model END, x)
                   FROM h_d, h_ms a, h_ms b WHERE a.seed = 1 AND b.seed = 2$$,
    '22023', 'dlfin_drift needs the same model on every row', 'a drift state refuses rows of another model');
SELECT throws_ok($$SELECT dlfin_drift(CASE WHEN g <= 200 THEN h_flip(h_flip(a.model, 70), 70) ELSE h_flip(h_flip(a.model, 70), 71) END, x)
                   FROM h_d, h_ms a WHERE a.seed = 1$$,
    '22P03', NULL, 'a drift state refuses a forged near-copy of its model');
CREATE TABLE h_cat AS
SELECT dlfin_train('{"epochs": 2, "hidden": [4], "seed": 2}', y, x, c) AS model FROM h_d;
SELECT throws_ok($$SELECT dlfin_drift(CASE WHEN g <= 200 THEN a.model ELSE c.model END, x)
                   FROM h_d, h_ms a, h_cat c WHERE a.seed = 1$$,
    '22023', NULL, 'a drift state refuses a model with other dimensions');

-- ---- 4. rows that overflow the network (22003), never NaN ----
CREATE TABLE h_tiny AS
SELECT 0.5 + 0.0116 * sin(g) * 1.41 AS x, (g % 2 = 0) AS y FROM generate_series(1, 300) AS g;
CREATE TABLE h_tm AS SELECT dlfin_train('{"hidden": [4], "epochs": 3, "seed": 1}', y, x) AS model FROM h_tiny;
SELECT throws_ok($$SELECT dlfin_predict(model, 1e37::float8) FROM h_tm$$, '22003',
    'dlfin model overflowed on this row', 'dlfin_predict: overflow is 22003');
SELECT throws_ok($$SELECT dlfin_predict(model, 1e37::numeric) FROM h_tm$$, '22003',
    'dlfin model overflowed on this row', 'dlfin_predict, numeric argument: overflow is 22003');
SELECT throws_ok($$SELECT dlfin_predict_proba(model, 1e37::float8) FROM h_tm$$, '22003', NULL, 'dlfin_predict_proba: overflow is 22003');
SELECT throws_ok($$SELECT dlfin_predict_class(model, 1e37::float8) FROM h_tm$$, '22003', NULL, 'dlfin_predict_class: overflow is 22003');
SELECT throws_ok($$SELECT dlfin_explain(model, 1e37::float8) FROM h_tm$$, '22003',
    'dlfin model overflowed on this row', 'dlfin_explain: overflow is 22003, at once');
SELECT throws_ok($$SELECT dlfin_reasons(model, 2, 1e37::float8) FROM h_tm$$, '22003', NULL, 'dlfin_reasons: overflow is 22003');
SELECT throws_ok($$SELECT dlfin_drift(model, 1e37::float8) FROM h_tm$$, '22003', NULL, 'dlfin_drift: overflow is 22003');
SELECT ok(NOT EXISTS (SELECT FROM h_tm, generate_series(-30, 30) e
                      WHERE dlfin_predict(model, (10::float8 ^ e)) = 'NaN'::float8
                         OR dlfin_predict(model, -(10::float8 ^ e)) = 'NaN'::float8),
    'no NaN score from 1e-30 to 1e30');

-- ---- 5. numeric underflow is 0, overflow stays 22003 ----
SELECT is((SELECT dlfin_predict(model, 1e-1000::numeric) FROM h_tm),
          (SELECT dlfin_predict(model, 0::numeric) FROM h_tm), 'a numeric feature of 1e-1000 is read as 0');
SELECT lives_ok($$SELECT dlfin_train('{"epochs": 1, "hidden": [2]}', y, x::numeric * 1e-1000) FROM h_tiny$$,
    'training on a numeric feature of 1e-1000 works');
SELECT throws_ok($$SELECT dlfin_predict(model, 1e400::numeric) FROM h_tm$$, '22003', NULL,
    'a numeric feature beyond float8 is 22003');
SELECT throws_ok($$SELECT dlfin_train('{"epochs": 1}', y, 1e400::numeric) FROM h_tiny$$, '22003', NULL,
    'training on a numeric feature beyond float8 is 22003');

-- ---- 6. per-row options are compared by value ----
SELECT throws_ok($$SELECT dlfin_train(jsonb_build_object('seed', g % 2, 'epochs', 1), y, x) FROM h_d$$,
    '22023', 'dlfin_train options must be the same for every row', 'options computed per row that differ');
SELECT throws_ok($$SELECT dlfin_train(jsonb_build_object('seed', g, 'epochs', 1)::json, y, x) FROM h_d$$,
    '22023', 'dlfin_train options must be the same for every row', 'json options computed per row that differ');
SELECT lives_ok($$SELECT dlfin_train(jsonb_build_object('seed', 7, 'epochs', 1), y, x) FROM h_d$$,
    'options computed per row with one value');
SELECT is((SELECT dlfin_train(jsonb_build_object('seed', 7, 'epochs', 2, 'hidden', '[4]'::jsonb), y, x) FROM h_d),
          (SELECT dlfin_train('{"seed": 7, "epochs": 2, "hidden": [4]}', y, x) FROM h_d),
          'options computed per row give the model of the constant');

-- ---- 7. warm start ----
CREATE TABLE h_big AS SELECT 1e36 * sin(g) * 2 AS x, (g % 2 = 0) AS y FROM generate_series(1, 300) AS g;
SELECT throws_ok($$SELECT dlfin_train(jsonb_build_object('init', model, 'epochs', 5, 'hidden', '[4]'::jsonb), y, x)
                   FROM h_big, h_tm GROUP BY model$$,
    '22000', 'training diverged', 'a warm start that diverges is 22000 "training diverged"');
CREATE TABLE h_vocab AS
SELECT 'v' || (g % 5000) AS c, (g % 3 = 0) AS y, g::float8 AS x FROM generate_series(1, 20000) AS g;
CREATE TABLE h_vm AS
SELECT dlfin_train('{"epochs": 1, "hidden": [2], "max_categories": 5000, "seed": 1}', y, x, c) AS model FROM h_vocab;
SELECT is((SELECT dlfin_model_info(dlfin_train((SELECT jsonb_build_object('init', model, 'epochs', 1, 'hidden', '[2]'::jsonb)
                                                   FROM h_vm), y, x, c))
                  -> 'features' -> 1 -> 'categories'
           FROM h_vocab),
          (SELECT dlfin_model_info(model) -> 'features' -> 1 -> 'categories' FROM h_vm),
    'a warm start keeps the init model''s 5000 categories');

-- ---- 8. the card: characters XML does not allow, a group ----
CREATE TABLE h_card_t AS
SELECT g, y, x, (ARRAY[e'\uFFFE', e'\uFFFF', 'ok ' || e'\uFFFE' || ' mid'])[1 + g % 3] AS grp, c
FROM h_d;
CREATE TABLE h_card_m AS
SELECT dlfin_train('{"epochs": 2, "hidden": [4], "seed": 3, "monotone": {"f1": 1}}', y, x, grp) AS model FROM h_card_t;
CREATE TABLE h_card_h AS
SELECT dlfin_predict(m.model, t.x, t.grp) AS score, t.y AS label, t.grp FROM h_card_t t, h_card_m m;
CREATE TEMP TABLE h_card_out AS
SELECT dlfin_model_card(model, 'h_card_h', jsonb_build_object('group', 'grp', 'title', e'title \uFFFF')) AS html
FROM h_card_m;
SELECT ok(strpos(html, e'\uFFFE') = 0 AND strpos(html, e'\uFFFF') = 0, 'no U+FFFE or U+FFFF reaches the card') FROM h_card_out;
SELECT ok(xml_is_well_formed_document(html), 'the card of non-XML characters is well-formed XML') FROM h_card_out;
SELECT ok(strpos(html, e'\uFFFD') > 0, 'they are shown as U+FFFD') FROM h_card_out;

SELECT * FROM finish();
ROLLBACK;
