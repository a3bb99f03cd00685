-- Issue 13 in the regression suite: scoring from plpgsql with a different
-- model on every call, a scalar subquery re-evaluated per outer row, rows
-- that overflow the network, and numeric underflow.  Scores are compared,
-- never printed raw.
SET extra_float_digits = 0;

CREATE TABLE hd AS
SELECT g, (g % 7)::float8 / 7 + 0.0001 * g AS x, (g % 3 = 0) AS y
FROM generate_series(1, 400) AS g;
CREATE TABLE hms AS
SELECT s AS seed,
       dlfin_train(jsonb_build_object('seed', s, 'epochs', 3, 'hidden', '[4]'::jsonb), y, x) AS model
FROM hd, generate_series(1, 5) AS s
GROUP BY s;

-- a plpgsql variable is freed and reused between calls
CREATE FUNCTION h_score(s int, x float8) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE m bytea;
BEGIN
    SELECT model INTO m FROM hms WHERE seed = s;
    RETURN dlfin_predict(m, x);
END $$;
SELECT seed, h_score(seed, 0.3) = dlfin_predict(model, 0.3) AS same
FROM hms ORDER BY seed;

-- a correlated scalar subquery: a new model per outer row
SELECT s.seed,
       (SELECT sum(dlfin_predict((SELECT model || ''::bytea FROM hms WHERE seed = s.seed), x)) FROM hd)
       = (SELECT sum(dlfin_predict(model, x)) FROM hd, hms WHERE seed = s.seed) AS same
FROM generate_series(1, 5) AS s(seed) ORDER BY 1;

-- a feature trained with almost no spread, given a value far outside it
CREATE TABLE htiny AS
SELECT 0.5 + 0.0116 * sin(g) * 1.41 AS x, (g % 2 = 0) AS y FROM generate_series(1, 300) AS g;
CREATE TABLE htm AS SELECT dlfin_train('{"hidden": [4], "epochs": 3, "seed": 1}', y, x) AS model FROM htiny;
\set VERBOSITY terse
SELECT dlfin_predict(model, 1e37::float8) FROM htm;
SELECT dlfin_explain(model, 1e37::float8) FROM htm;
SELECT dlfin_predict(model, 1e400::numeric) FROM htm;
\set VERBOSITY default
SELECT dlfin_predict(model, 1e-1000::numeric) = dlfin_predict(model, 0) AS underflow_is_zero FROM htm;
