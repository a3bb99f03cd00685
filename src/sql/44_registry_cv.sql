-- dlfin install script, part 44: the registry's option "cv": k.
--
-- dlfin.train(name, query, label, '{"cv": k}') also cross-validates the
-- training with dlfin_cv on the training part of the rows (the rows the
-- version trains on, not its held-out test rows) and stores the figures on
-- the version, in dlfin.models.metrics -> 'cv'.  The folds are k
-- ("cv_folds" of the training options is replaced by k).

-- The CV figures of a training, or NULL without "cv": the statement runs
-- as the runner, with the training statement's split of the rows.
CREATE OR REPLACE FUNCTION dlfin.registry_cv(runner pg_catalog.regrole, query_search_path text, query text,
                                  label text, features text[], train_options jsonb,
                                  test_fraction float8, cv jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_feats text;
    v_stmt text;
    v_res jsonb;
BEGIN
    IF cv IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format('q.%I', f), ', ' ORDER BY o) INTO v_feats
    FROM pg_catalog.unnest(features) WITH ORDINALITY u(f, o);
    v_stmt := pg_catalog.format($q$
WITH dlfin_src AS %s (%s%s)
SELECT dlfin.cv_agg($1, q.%I, %s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'train')
FROM dlfin_src q CROSS JOIN LATERAL (SELECT k0.t, dlfin.split(k0.t, $2, 0) AS part
                                     FROM (SELECT q::pg_catalog.text AS t) k0) k
$q$,
        CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = 'citus')
             THEN 'MATERIALIZED' ELSE 'NOT MATERIALIZED' END,
        pg_catalog.regexp_replace(query, '[[:space:];]+$', ''), E'\n', label, v_feats);
    SELECT r.cv INTO v_res
    FROM dlfin.run_as(runner, query_search_path, v_stmt,
                      (train_options - 'init') || pg_catalog.jsonb_build_object('cv_folds', cv),
                      test_fraction) AS r(cv jsonb);
    RETURN v_res;
END
$$;
