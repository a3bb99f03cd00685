-- dlfin install script, part 42: training registry models.
--
-- dlfin.train and dlfin.retrain go through the C entry dlfin_registry_call
-- to dlfin.registry_train_with_search_path / dlfin.registry_retrain (see
-- part 41), which run as the extension's owner.  The query itself always
-- runs through dlfin.run_as: as the caller for dlfin.train (it is the
-- caller's query), as the model's owner for dlfin.retrain (a superuser or a
-- pg_cron job that retrains another role's model gets exactly the owner's
-- rights).  dlfin.registry_train runs the steps, each its own function:
-- check the arguments and claim the name, describe the query, fingerprint
-- its rows (registry_fingerprint), evaluate (registry_evaluate: training and
-- held-out scores in one snapshot), decide the deployment (registry_decide),
-- record the version (registry_record).

-- Validates the arguments of dlfin.train; returns the test fraction and
-- whether to warm-start.
CREATE OR REPLACE FUNCTION dlfin.registry_check_args(name text, query text, label text, options jsonb,
                                          deploy text, OUT test_fraction float8, OUT warm_start boolean)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR query IS NULL OR label IS NULL THEN
        RAISE EXCEPTION 'dlfin.train needs a model name, a query and a label'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.length(name) NOT BETWEEN 1 AND 200
       OR name !~ '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$' THEN
        RAISE EXCEPTION 'invalid dlfin model name "%"', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A model name has 1 to 200 characters, no control characters and no leading or trailing white space.';
    END IF;
    IF deploy NOT IN ('if_better', 'always', 'never') THEN
        RAISE EXCEPTION 'invalid dlfin deploy policy "%"', deploy
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use "if_better", "always" or "never".';
    END IF;
    IF pg_catalog.jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'dlfin.train options must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    test_fraction := 0.2;
    IF options ? 'test_fraction' THEN
        IF pg_catalog.jsonb_typeof(options -> 'test_fraction') <> 'number'
           OR (options ->> 'test_fraction')::float8 NOT BETWEEN 0 AND 0.9 THEN
            RAISE EXCEPTION 'dlfin.train option "test_fraction" must be a number between 0 and 0.9'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        test_fraction := (options ->> 'test_fraction')::float8;
    END IF;
    warm_start := false;
    IF options ? 'warm_start' THEN
        IF pg_catalog.jsonb_typeof(options -> 'warm_start') <> 'boolean' THEN
            RAISE EXCEPTION 'dlfin.train option "warm_start" must be a boolean'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        warm_start := (options ->> 'warm_start')::boolean;
    END IF;
    IF options ? 'exclude' AND (pg_catalog.jsonb_typeof(options -> 'exclude') <> 'array' OR EXISTS (
           SELECT FROM pg_catalog.jsonb_array_elements(options -> 'exclude') e
           WHERE pg_catalog.jsonb_typeof(e) <> 'string')) THEN
        RAISE EXCEPTION 'dlfin.train option "exclude" must be an array of column names'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF options ? 'identifiers' AND NOT coalesce(options ->> 'identifiers' IN ('drop', 'keep'), false) THEN
        RAISE EXCEPTION 'dlfin.train option "identifiers" must be "drop" or "keep"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF options ? 'force' AND pg_catalog.jsonb_typeof(options -> 'force') <> 'boolean' THEN
        RAISE EXCEPTION 'dlfin.train option "force" must be a boolean'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF options ? 'cv' AND NOT coalesce(CASE WHEN pg_catalog.jsonb_typeof(options -> 'cv') = 'number'
           THEN (options ->> 'cv')::numeric BETWEEN 2 AND 64 AND (options ->> 'cv')::numeric % 1 = 0 END, false) THEN
        RAISE EXCEPTION 'dlfin.train option "cv" must be an integer between 2 and 64'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'It is the number of folds of the cross-validation stored on the version.';
    END IF;
    IF options ?| ARRAY['features', 'init'] THEN
        RAISE EXCEPTION 'dlfin.train sets the option "%" itself',
                        CASE WHEN options ? 'features' THEN 'features' ELSE 'init' END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Feature names are the query''s column names; use "warm_start": true to start from the deployed model.';
    END IF;
END
$$;

-- The query's features (every column but the label and the excluded ones),
-- their types and whether the label is numeric, its names resolved as the
-- runner resolves them.
CREATE OR REPLACE FUNCTION dlfin.registry_describe(runner pg_catalog.regrole, query_search_path text,
                                        query text, label text, exclude text[],
                                        OUT features text[], OUT types pg_catalog.regtype[],
                                        OUT numeric_label boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_cols text[];
    v_types pg_catalog.regtype[];
    v_dup text;
    v_label_pos integer;
BEGIN
    SELECT pg_catalog.array_agg(c.name ORDER BY c.ordinal), pg_catalog.array_agg(c.type ORDER BY c.ordinal)
      INTO v_cols, v_types
    FROM dlfin.query_columns_as(runner, query_search_path, query) c;
    SELECT c INTO v_dup FROM pg_catalog.unnest(v_cols) c GROUP BY c HAVING pg_catalog.count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dlfin.train query returns more than one column named "%"', v_dup
            USING ERRCODE = 'duplicate_column',
                  HINT = 'Give every column a distinct name with AS; the names become the feature names.';
    END IF;
    v_label_pos := pg_catalog.array_position(v_cols, label);
    IF v_label_pos IS NULL THEN
        RAISE EXCEPTION 'dlfin.train label column "%" is not in the query', label
            USING ERRCODE = 'undefined_column',
                  HINT = pg_catalog.format('The query returns the columns %s.', pg_catalog.array_to_string(v_cols, ', '));
    END IF;
    SELECT e INTO v_dup FROM pg_catalog.unnest(exclude) e WHERE e <> ALL (v_cols) OR e = label LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dlfin.train option "exclude" names "%", which is not a feature column of the query', v_dup
            USING ERRCODE = 'undefined_column',
                  HINT = pg_catalog.format('The query returns the columns %s; the label cannot be excluded.',
                                           pg_catalog.array_to_string(v_cols, ', '));
    END IF;
    SELECT pg_catalog.array_agg(c ORDER BY o), pg_catalog.array_agg(v_types[o] ORDER BY o) INTO features, types
    FROM pg_catalog.unnest(v_cols) WITH ORDINALITY u(c, o)
    WHERE o <> v_label_pos AND c <> ALL (coalesce(exclude, '{}'));
    IF features IS NULL THEN
        RAISE EXCEPTION 'dlfin.train query returns no feature column besides the label "%"', label
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
           IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
               'float8'::regtype, 'numeric'::regtype)
      INTO numeric_label
    FROM pg_catalog.pg_type t WHERE t.oid = v_types[v_label_pos];
END
$$;

-- Kind of a feature type for the screens: 'float' (never an identifier),
-- 'bool', 'number' (integer or numeric) or 'text'.
CREATE OR REPLACE FUNCTION dlfin.registry_kind(t pg_catalog.regtype)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT CASE WHEN b IN ('float4'::regtype, 'float8'::regtype) THEN 'float'
                    WHEN b = 'bool'::regtype THEN 'bool'
                    WHEN b IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype) THEN 'number'
                    ELSE 'text' END
        FROM (SELECT CASE WHEN y.typtype = 'd' THEN y.typbasetype ELSE y.oid END::pg_catalog.regtype AS b
              FROM pg_catalog.pg_type y WHERE y.oid = t) x);

-- The statement that screens the query's rows before training: their
-- count and fingerprint (as the training statement computes them), the
-- number of distinct values of every feature that could be an identifier,
-- and the range (max - min) of the numeric ones.  The query is a common table
-- expression, inlined (NOT MATERIALIZED) on one node; with Citus it is
-- MATERIALIZED, so Citus gathers its rows once (which it can do for any
-- query over distributed tables) before the whole-row work on them.
CREATE OR REPLACE FUNCTION dlfin.registry_screen_statement(query text, features text[], types pg_catalog.regtype[])
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.format($q$
WITH dlfin_src AS %s (%s%s)
SELECT pg_catalog.count(*),
       pg_catalog.md5(pg_catalog.concat(pg_catalog.count(*), ':',
           pg_catalog.sum(('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(q::pg_catalog.text), 1, 16))
                          ::pg_catalog.bit(64)::pg_catalog.int8))),
       ARRAY[%s]::pg_catalog.int8[],
       ARRAY[%s]::pg_catalog.numeric[]
FROM dlfin_src q
$q$, CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus')
          THEN 'MATERIALIZED' ELSE 'NOT MATERIALIZED' END,
    pg_catalog.regexp_replace(query, '[[:space:];]+$', ''), E'\n',
    (SELECT pg_catalog.string_agg(CASE WHEN dlfin.registry_kind(t) IN ('number', 'text')
                                        THEN pg_catalog.format('pg_catalog.count(DISTINCT q.%I)', f)
                                        ELSE 'NULL' END, ', ' ORDER BY o)
      FROM ROWS FROM (pg_catalog.unnest(features), pg_catalog.unnest(types)) WITH ORDINALITY u(f, t, o)),
    (SELECT pg_catalog.string_agg(CASE WHEN dlfin.registry_kind(t) = 'number'
                                       THEN pg_catalog.format('(pg_catalog.max(q.%1$I)::pg_catalog.numeric OPERATOR(pg_catalog.-) '
                                                              'pg_catalog.min(q.%1$I)::pg_catalog.numeric)', f)
                                       ELSE 'NULL' END, ', ' ORDER BY o)
      FROM ROWS FROM (pg_catalog.unnest(features), pg_catalog.unnest(types)) WITH ORDINALITY u(f, t, o)));

-- The one statement that fingerprints the query's rows, trains on the
-- training part and scores the test part with the new model ($1 options,
-- $2 test fraction) and the champion ($3, or NULL).  One statement, so one
-- snapshot: the fingerprint, the training rows and the test rows are the
-- same data even if the tables change meanwhile.  For a binary task it
-- also gives the held-out AUC of every numeric or boolean feature alone
-- (the leakage screen).  Everything but the
-- query is schema-qualified (operators included) and dlfin's own functions
-- are called in the schema dlfin, because the query's search_path applies.
-- The query is a common table expression, as in the screen above.
CREATE OR REPLACE FUNCTION dlfin.registry_statement(query text, label text, features text[], types pg_catalog.regtype[],
                                         numeric_label boolean)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_feats text;
    v_lbl text := pg_catalog.format('q.%I', label);
    v_src text;
    v_cte text;
    v_y text;
    v_reg_y text;
    v_mc_y text;
    v_aucs text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('q.%I', f), ', ' ORDER BY o) INTO v_feats
    FROM pg_catalog.unnest(features) WITH ORDINALITY u(f, o);
    -- a trailing semicolon or comment must not break the wrapping
    v_cte := pg_catalog.format('dlfin_src AS %s (%s%s)',
        CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = 'citus')
             THEN 'MATERIALIZED' ELSE 'NOT MATERIALIZED' END,
        pg_catalog.regexp_replace(query, '[[:space:];]+$', ''), E'\n');
    v_src := 'dlfin_src q CROSS JOIN LATERAL (SELECT k0.t, dlfin.split(k0.t, $2, 0) AS part'
             ' FROM (SELECT q::pg_catalog.text AS t) k0) k';
    IF numeric_label THEN
        v_y := pg_catalog.format('(%s)::pg_catalog.float8 OPERATOR(pg_catalog.=) (i.pos)::pg_catalog.float8', v_lbl);
        v_reg_y := pg_catalog.format('(%s)::pg_catalog.float8', v_lbl);
        v_mc_y := pg_catalog.format('(%s)::pg_catalog.float8::pg_catalog.text', v_lbl);
    ELSE
        v_y := pg_catalog.format('(%s)::pg_catalog.text OPERATOR(pg_catalog.=) i.pos', v_lbl);
        v_reg_y := 'NULL::pg_catalog.float8';
        v_mc_y := pg_catalog.format('(%s)::pg_catalog.text', v_lbl);
    END IF;
    SELECT pg_catalog.string_agg(CASE dlfin.registry_kind(t)
               WHEN 'text' THEN 'NULL'
               ELSE pg_catalog.format('@extschema@.dlfin_auc((q.%I)%s::pg_catalog.float8, %s) FILTER (WHERE i.task OPERATOR(pg_catalog.=) ''binary'')',
                                      f, CASE WHEN dlfin.registry_kind(t) = 'bool' THEN '::pg_catalog.int4' ELSE '' END, v_y)
               END, ', ' ORDER BY o) INTO v_aucs
    FROM ROWS FROM (pg_catalog.unnest(features), pg_catalog.unnest(types)) WITH ORDINALITY u(f, t, o);
    RETURN pg_catalog.format($q$
WITH %8$s, tr AS (
    SELECT dlfin.train_agg($1, %2$s, %3$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'train') AS model,
           pg_catalog.count(*) AS nrows,
           pg_catalog.count(%2$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'train') AS ntrain,
           pg_catalog.count(%2$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'test') AS ntest,
           pg_catalog.sum(('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(k.t), 1, 16))
                          ::pg_catalog.bit(64)::pg_catalog.int8) AS fp
    FROM %1$s
), i AS (
    -- OFFSET 0: task and pos are computed once, never per held-out row
    -- (Citus turns tr into a scan that the planner would otherwise flatten)
    SELECT tr.*, x.task, x.pos
    FROM tr, LATERAL (SELECT x0.inf OPERATOR(pg_catalog.->>) 'task' AS task,
                             (x0.inf OPERATOR(pg_catalog.->) 'classes') OPERATOR(pg_catalog.->>) 1 AS pos
                      FROM (SELECT @extschema@.dlfin_model_info(tr.model) AS inf) x0 OFFSET 0) x
)
-- every aggregate is computed (arguments only where FILTER passes); CASE
-- picks the task's
SELECT i.model, i.nrows, i.ntrain, i.ntest,
       pg_catalog.md5(pg_catalog.concat(i.nrows, ':', i.fp)), i.task, e.cur, e.champ, e.aucs
FROM i CROSS JOIN LATERAL (
    SELECT CASE
           WHEN i.task OPERATOR(pg_catalog.=) 'binary' THEN
             @extschema@.dlfin_metrics(dlfin.predict(i.model, %3$s), %4$s)
               FILTER (WHERE i.task OPERATOR(pg_catalog.=) 'binary')
           WHEN i.task OPERATOR(pg_catalog.=) 'regression' THEN
             @extschema@.dlfin_regression_metrics(dlfin.predict(i.model, %3$s), %5$s)
               FILTER (WHERE i.task OPERATOR(pg_catalog.=) 'regression')
           ELSE
             @extschema@.dlfin_multiclass_metrics(dlfin.predict_class(i.model, %3$s), %6$s)
               FILTER (WHERE i.task OPERATOR(pg_catalog.=) 'multiclass') END AS cur,
           CASE
           WHEN i.task OPERATOR(pg_catalog.=) 'binary' THEN
             @extschema@.dlfin_metrics(dlfin.predict($3, %3$s), %4$s)
               FILTER (WHERE $3 IS NOT NULL AND i.task OPERATOR(pg_catalog.=) 'binary')
           WHEN i.task OPERATOR(pg_catalog.=) 'regression' THEN
             @extschema@.dlfin_regression_metrics(dlfin.predict($3, %3$s), %5$s)
               FILTER (WHERE $3 IS NOT NULL AND i.task OPERATOR(pg_catalog.=) 'regression')
           ELSE
             @extschema@.dlfin_multiclass_metrics(dlfin.predict_class($3, %3$s), %6$s)
               FILTER (WHERE $3 IS NOT NULL AND i.task OPERATOR(pg_catalog.=) 'multiclass') END AS champ,
           ARRAY[%7$s]::pg_catalog.float8[] AS aucs
    FROM %1$s
    WHERE k.part OPERATOR(pg_catalog.=) 'test' AND %2$s IS NOT NULL) e
$q$, v_src, v_lbl, v_feats, v_y, v_reg_y, v_mc_y, v_aucs, v_cte);
END
$$;

-- The deployment decision, by the task's main held-out metric.
CREATE OR REPLACE FUNCTION dlfin.registry_decide(policy text, task text, metrics jsonb,
                                      champion_version integer, champion_comparable boolean,
                                      champion_metrics jsonb, leaks text[],
                                      OUT deploy boolean, OUT reason text, OUT metric text,
                                      OUT challenger float8, OUT champion float8)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    metric := CASE task WHEN 'binary' THEN 'auc' WHEN 'regression' THEN 'rmse' ELSE 'accuracy' END;
    challenger := (metrics ->> metric)::float8;
    champion := (champion_metrics ->> metric)::float8;
    IF policy = 'always' THEN
        deploy := true;
        reason := 'policy always';
    ELSIF policy = 'never' THEN
        deploy := false;
        reason := 'policy never';
    ELSIF leaks IS NOT NULL THEN
        deploy := false;
        reason := pg_catalog.format('if_better: %s alone separate%s the label on the held-out rows (possible leakage); deploy explicitly',
                                    pg_catalog.array_to_string(leaks, ', '),
                                    CASE WHEN pg_catalog.cardinality(leaks) = 1 THEN 's' ELSE '' END);
    ELSIF champion_version IS NULL THEN
        deploy := true;
        reason := 'if_better: no deployed version';
    ELSIF NOT champion_comparable THEN
        deploy := false;
        reason := pg_catalog.format('if_better: deployed version %s has other features, label, task or classes; deploy explicitly',
                                    champion_version);
    ELSIF challenger IS NULL OR champion IS NULL THEN
        deploy := false;
        reason := pg_catalog.format('if_better: %s on the held-out rows is unavailable', metric);
    ELSE
        deploy := CASE WHEN metric = 'rmse' THEN challenger < champion ELSE challenger > champion END;
        reason := pg_catalog.format('if_better: held-out %s %s %s than %s of deployed version %s',
                                    metric, pg_catalog.round(challenger::numeric, 6),
                                    CASE WHEN deploy THEN 'better' ELSE 'not better' END,
                                    pg_catalog.round(champion::numeric, 6), champion_version);
    END IF;
END
$$;

-- Claims a name for the caller when it is new (or every version of it was
-- dropped), else checks that the caller may train it; locks its row and
-- returns the owner and the next version number, which the caller records
-- in dlfin.names with the version.
CREATE OR REPLACE FUNCTION dlfin.registry_claim(caller pg_catalog.regrole, name text,
                                     OUT owner pg_catalog.regrole, OUT version integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_used boolean;
BEGIN
    FOR i IN 1 .. 2 LOOP
        -- rights first (unlocked), so a role without them never holds the lock
        IF i = 1 THEN
            SELECT n.owner, n.last_version INTO owner, version FROM dlfin.names n
            WHERE n.name = registry_claim.name;
        ELSE
            INSERT INTO dlfin.names (name, owner, last_version) VALUES (registry_claim.name, caller, 0)
            ON CONFLICT ON CONSTRAINT names_pkey DO NOTHING;
            SELECT n.owner, n.last_version INTO owner, version FROM dlfin.names n
            WHERE n.name = registry_claim.name FOR UPDATE;
        END IF;
        v_used := EXISTS (SELECT FROM dlfin.models m WHERE m.name = registry_claim.name);
        IF v_used AND NOT dlfin.registry_may(caller, owner) THEN
            RAISE EXCEPTION 'dlfin model name "%" is used by another role', registry_claim.name
                USING ERRCODE = 'duplicate_object',
                      HINT = 'Choose another name, or ask the owner to grant you its role.';
        END IF;
    END LOOP;
    IF NOT v_used THEN
        owner := caller;
    END IF;
    version := version + 1;
END
$$;

-- The latest version of a name trained on the same rows with the same
-- query, options, search_path and dlfin version, or NULL.
CREATE OR REPLACE FUNCTION dlfin.registry_same_version(name text, query text, label text, options jsonb,
                                            query_search_path text, fingerprint text)
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT m.version FROM dlfin.models m
        WHERE m.name = registry_same_version.name
          AND m.version = (SELECT max(x.version) FROM dlfin.models x WHERE x.name = registry_same_version.name)
          AND m.query = registry_same_version.query AND m.label = registry_same_version.label
          AND m.options = registry_same_version.options
          AND m.search_path = registry_same_version.query_search_path
          AND m.data_fingerprint = registry_same_version.fingerprint
          AND @extschema@.dlfin_model_info(m.model) ->> 'dlfin_version' =
              (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'dlfin'));

-- Leaves identifier columns out of the features, with a NOTICE, unless
-- option "identifiers" is "keep".  An identifier has a distinct value on
-- every row and is text, or a number that counts up without gaps (a
-- serial) or is named like a key (id, customer_id, id_x, loan_no, key).
-- A unique amount or income is not one: it keeps its gaps.
CREATE OR REPLACE FUNCTION dlfin.registry_drop_identifiers(candidates text[], candidate_types pg_catalog.regtype[],
                                                nrows bigint, distincts bigint[], ranges numeric[],
                                                keep boolean,
                                                OUT features text[], OUT types pg_catalog.regtype[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids text[];
BEGIN
    -- below 20 rows every column looks unique
    SELECT pg_catalog.array_agg(f ORDER BY o) INTO v_ids
    FROM ROWS FROM (pg_catalog.unnest(candidates), pg_catalog.unnest(candidate_types),
                    pg_catalog.unnest(distincts), pg_catalog.unnest(ranges)) WITH ORDINALITY u(f, t, d, r, o)
    WHERE d = nrows AND nrows >= 20
      AND (dlfin.registry_kind(t) = 'text' OR r = nrows - 1
           OR pg_catalog.lower(f) ~ '(^|_)(id|key|uuid|no|num|number)$|^id_');
    IF v_ids IS NULL OR keep THEN
        features := candidates;
        types := candidate_types;
        RETURN;
    END IF;
    RAISE NOTICE 'dlfin.train leaves out % (a distinct value on every row: an identifier, not a feature)',
                 pg_catalog.array_to_string(v_ids, ', ')
        USING HINT = 'Set option "identifiers": "keep" to train on it.';
    SELECT pg_catalog.array_agg(f ORDER BY o), pg_catalog.array_agg(t ORDER BY o) INTO features, types
    FROM ROWS FROM (pg_catalog.unnest(candidates), pg_catalog.unnest(candidate_types)) WITH ORDINALITY u(f, t, o)
    WHERE f <> ALL (v_ids);
    IF features IS NULL THEN
        RAISE EXCEPTION 'dlfin.train query has no feature column left besides identifiers'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Set option "identifiers": "keep" to train on them.';
    END IF;
END
$$;

-- Features that alone separate a binary label on the held-out rows
-- (single-feature AUC at least 0.99 or at most 0.01), with a WARNING.
CREATE OR REPLACE FUNCTION dlfin.registry_leaks(features text[], aucs float8[])
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_leaks text[];
    v_list text;
BEGIN
    SELECT pg_catalog.array_agg(f ORDER BY o),
           pg_catalog.string_agg(pg_catalog.format('%s (AUC %s)', f, pg_catalog.round(a::numeric, 3)), ', ' ORDER BY o)
      INTO v_leaks, v_list
    FROM ROWS FROM (pg_catalog.unnest(features), pg_catalog.unnest(aucs)) WITH ORDINALITY u(f, a, o)
    WHERE a >= 0.99 OR a <= 0.01;
    IF v_leaks IS NOT NULL THEN
        RAISE WARNING 'dlfin.train feature % alone separates the label on the held-out rows', v_list
            USING DETAIL = 'A feature that predicts the label perfectly is usually recorded after the outcome (a leak).',
                  HINT = 'Leave it out with option "exclude"; the version is not deployed automatically.';
    END IF;
    RETURN v_leaks;
END
$$;

-- Fingerprint step: screens the query's rows as runner (their count,
-- fingerprint, distinct counts and ranges for the identifier screen) and
-- returns the latest version trained on the same rows with the same query
-- and options, with a NOTICE, unless option "force" is set (then NULL).
CREATE OR REPLACE FUNCTION dlfin.registry_fingerprint(runner pg_catalog.regrole, query_search_path text,
                                           name text, query text, label text, options jsonb,
                                           force boolean, features text[], types pg_catalog.regtype[],
                                           OUT same_version integer, OUT nrows bigint, OUT fp text,
                                           OUT distincts bigint[], OUT ranges numeric[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_same integer;
BEGIN
    SELECT r.nrows, r.fp, r.distincts, r.ranges INTO nrows, fp, distincts, ranges
    FROM dlfin.run_as(runner, query_search_path,
                      dlfin.registry_screen_statement(registry_fingerprint.query, features, types), 0)
         AS r(nrows bigint, fp text, distincts bigint[], ranges numeric[]);
    v_same := dlfin.registry_same_version(registry_fingerprint.name, registry_fingerprint.query,
                                          registry_fingerprint.label, options, query_search_path, fp);
    IF v_same IS NOT NULL AND NOT coalesce(force, false) THEN
        RAISE NOTICE 'dlfin model "%" version % was trained on the same rows with the same query and options; no new version',
                     registry_fingerprint.name, v_same
            USING HINT = 'Set option "force": true to train a new version anyway.';
        same_version := v_same;
    END IF;
END
$$;
COMMENT ON FUNCTION dlfin.registry_fingerprint(pg_catalog.regrole, text, text, text, text, jsonb, boolean,
                                               text[], pg_catalog.regtype[]) IS
'dlfin.train step: screens the query''s rows as the runner and finds a version trained on the same rows';

-- Evaluate step: picks the champion (the deployed version), builds the
-- training options, trains on the training part and scores the test part
-- with the new model and the champion in one statement run as runner, and
-- screens the features for leakage.  champion_metrics is set only when the
-- champion is comparable: same features, label, task and classes.
CREATE OR REPLACE FUNCTION dlfin.registry_evaluate(runner pg_catalog.regrole, query_search_path text,
                                        name text, query text, label text, options jsonb,
                                        test_fraction float8, warm_start boolean,
                                        features text[], types pg_catalog.regtype[], numeric_label boolean,
                                        OUT model bytea, OUT nrows bigint, OUT ntrain bigint, OUT ntest bigint,
                                        OUT fp text, OUT task text, OUT metrics jsonb, OUT aucs float8[],
                                        OUT leaks text[], OUT champion_version integer,
                                        OUT champion_comparable boolean, OUT champion_metrics jsonb,
                                        OUT warm_started boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_champ record;
    v_champ_model bytea;
    v_train_opts jsonb;
    v_run record;
BEGIN
    -- the champion: the deployed version, comparable when it has the same inputs
    SELECT m.version, m.model, m.task, m.features, m.label INTO v_champ
    FROM dlfin.models m WHERE m.name = registry_evaluate.name AND m.status = 'deployed';
    IF FOUND AND v_champ.features = registry_evaluate.features AND v_champ.label = registry_evaluate.label THEN
        v_champ_model := v_champ.model;
    END IF;
    v_train_opts := (options - 'test_fraction' - 'warm_start' - 'exclude' - 'identifiers' - 'cv')
                    || pg_catalog.jsonb_build_object('features', pg_catalog.to_jsonb(registry_evaluate.features));
    IF warm_start AND v_champ.model IS NOT NULL THEN
        v_train_opts := v_train_opts || pg_catalog.jsonb_build_object('init', v_champ.model);
    END IF;

    SELECT * INTO v_run
    FROM dlfin.run_as(runner, query_search_path,
                      dlfin.registry_statement(registry_evaluate.query, registry_evaluate.label,
                                               registry_evaluate.features, types, numeric_label),
                      v_train_opts, test_fraction, v_champ_model)
         AS r(model bytea, nrows bigint, ntrain bigint, ntest bigint, fp text, task text,
              metrics jsonb, champ_metrics jsonb, aucs float8[]);
    IF v_run.model IS NULL THEN
        RAISE EXCEPTION 'dlfin.train query returned no training rows with a label'
            USING ERRCODE = 'data_exception',
                  DETAIL = pg_catalog.format('The query returned %s rows, %s of them with a non-NULL label in the training part.',
                                             v_run.nrows, v_run.ntrain);
    END IF;
    leaks := dlfin.registry_leaks(registry_evaluate.features, v_run.aucs);
    -- the champion must have the challenger's task and classes to be compared
    champion_comparable := v_champ_model IS NOT NULL AND v_champ.task = v_run.task AND
        @extschema@.dlfin_model_info(v_champ_model) -> 'classes' IS NOT DISTINCT FROM
        @extschema@.dlfin_model_info(v_run.model) -> 'classes';
    model := v_run.model;
    nrows := v_run.nrows;
    ntrain := v_run.ntrain;
    ntest := v_run.ntest;
    fp := v_run.fp;
    task := v_run.task;
    metrics := v_run.metrics;
    aucs := v_run.aucs;
    champion_version := v_champ.version;
    champion_metrics := CASE WHEN champion_comparable THEN v_run.champ_metrics END;
    warm_started := warm_start AND v_champ.model IS NOT NULL;
END
$$;
COMMENT ON FUNCTION dlfin.registry_evaluate(pg_catalog.regrole, text, text, text, text, jsonb, float8, boolean,
                                            text[], pg_catalog.regtype[], boolean) IS
'dlfin.train step: trains and scores the held-out rows, the champion''s too, in one statement run as the runner';

-- Record step: inserts the version as a candidate and advances the name's
-- last version.  Deploying it is the caller's (registry_train's) step.
CREATE OR REPLACE FUNCTION dlfin.registry_record(caller pg_catalog.regrole, owner pg_catalog.regrole,
                                      name text, version integer, query text, label text,
                                      features text[], options jsonb, query_search_path text,
                                      model bytea, task text, nrows bigint, ntrain bigint, ntest bigint,
                                      fingerprint text, metrics jsonb, decision jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO dlfin.models (name, version, status, task, model, model_sha256, owner,
                              created_at, created_by, query, label, features, options,
                              rows, train_rows, test_rows, data_fingerprint, search_path,
                              metrics, decision)
    VALUES (registry_record.name, registry_record.version, 'candidate', registry_record.task, registry_record.model,
            pg_catalog.encode(pg_catalog.sha256(registry_record.model), 'hex'), registry_record.owner,
            pg_catalog.clock_timestamp(), pg_catalog.pg_get_userbyid(caller::pg_catalog.oid),
            registry_record.query, registry_record.label, registry_record.features, registry_record.options,
            nrows, ntrain, ntest, fingerprint, query_search_path,
            registry_record.metrics, registry_record.decision);
    UPDATE dlfin.names n SET owner = registry_record.owner, last_version = registry_record.version
    WHERE n.name = registry_record.name;
END
$$;
COMMENT ON FUNCTION dlfin.registry_record(pg_catalog.regrole, pg_catalog.regrole, text, integer, text, text,
                                          text[], jsonb, text, bytea, text, bigint, bigint, bigint,
                                          text, jsonb, jsonb) IS
'dlfin.train step: records a trained version as a candidate and advances the name''s last version';

-- Trains a version of a named model: the query runs as runner with the
-- given search_path; the caller is recorded as its creator.  The steps:
-- describe the query, fingerprint its rows, evaluate (train and score in
-- one snapshot), decide the deployment, record the version.
CREATE OR REPLACE FUNCTION dlfin.registry_train(caller pg_catalog.regrole, runner pg_catalog.regrole,
                                     name text, query text, label text, options jsonb,
                                     deploy text, query_search_path text)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- the row text is the split key and the fingerprint: make it session-independent
SET extra_float_digits = 1
SET DateStyle = 'ISO, MDY'
SET IntervalStyle = 'postgres'
SET bytea_output = 'hex'
AS $$
DECLARE
    v_policy text := coalesce(registry_train.deploy, 'if_better');
    v_opts jsonb := coalesce(registry_train.options, '{}') - 'force';
    v_path text := coalesce(query_search_path, '');
    v_args record;
    v_claim record;
    v_desc record;
    v_scr record;
    v_feat record;
    v_run record;
    v_dec record;
    v_cv jsonb;
BEGIN
    -- describe: the arguments, the name, the query's columns
    SELECT * INTO v_args FROM dlfin.registry_check_args(registry_train.name, registry_train.query,
                                                        registry_train.label, coalesce(registry_train.options, '{}'),
                                                        v_policy);
    SELECT * INTO v_claim FROM dlfin.registry_claim(caller, registry_train.name);
    SELECT * INTO v_desc FROM dlfin.registry_describe(runner, v_path,
        pg_catalog.regexp_replace(registry_train.query, '[[:space:];]+$', ''), registry_train.label,
        ARRAY(SELECT pg_catalog.jsonb_array_elements_text(v_opts -> 'exclude')));

    -- fingerprint: unchanged since the latest version? identifiers?
    SELECT * INTO v_scr FROM dlfin.registry_fingerprint(runner, v_path, registry_train.name, registry_train.query,
                                                        registry_train.label, v_opts,
                                                        (registry_train.options ->> 'force')::boolean,
                                                        v_desc.features, v_desc.types);
    IF v_scr.same_version IS NOT NULL THEN
        RETURN v_scr.same_version;
    END IF;
    SELECT * INTO v_feat FROM dlfin.registry_drop_identifiers(v_desc.features, v_desc.types, v_scr.nrows,
                                                              v_scr.distincts, v_scr.ranges,
                                                              coalesce(v_opts ->> 'identifiers' = 'keep', false));

    -- evaluate: train, and score the held-out rows against the champion
    SELECT * INTO v_run FROM dlfin.registry_evaluate(runner, v_path, registry_train.name, registry_train.query,
                                                     registry_train.label, v_opts, v_args.test_fraction,
                                                     v_args.warm_start, v_feat.features, v_feat.types,
                                                     v_desc.numeric_label);
    -- cross-validation figures of the version's training rows ("cv": k)
    v_cv := dlfin.registry_cv(runner, v_path, registry_train.query, registry_train.label, v_feat.features,
                              (v_opts - 'test_fraction' - 'warm_start' - 'exclude' - 'identifiers' - 'cv')
                              || pg_catalog.jsonb_build_object('features', pg_catalog.to_jsonb(v_feat.features)),
                              v_args.test_fraction, v_opts -> 'cv');

    -- decide: by policy and the task's main held-out metric
    SELECT * INTO v_dec FROM dlfin.registry_decide(v_policy, v_run.task, v_run.metrics, v_run.champion_version,
                                                   v_run.champion_comparable, v_run.champion_metrics, v_run.leaks);

    -- record: the version as a candidate, then deploy it if decided
    PERFORM dlfin.registry_record(caller, v_claim.owner, registry_train.name, v_claim.version,
        registry_train.query, registry_train.label, v_feat.features, v_opts, v_path,
        v_run.model, v_run.task, v_run.nrows, v_run.ntrain, v_run.ntest, v_run.fp,
        CASE WHEN v_cv IS NULL THEN v_run.metrics
             ELSE coalesce(v_run.metrics, '{}') || pg_catalog.jsonb_build_object('cv', v_cv) END,
        pg_catalog.jsonb_build_object(
            'policy', v_policy, 'deployed', v_dec.deploy, 'reason', v_dec.reason, 'metric', v_dec.metric,
            'challenger', v_dec.challenger, 'champion', v_dec.champion,
            'champion_version', v_run.champion_version,
            'champion_metrics', v_run.champion_metrics,
            'test_fraction', v_args.test_fraction,
            'warm_start', v_run.warm_started,
            'leakage', (SELECT pg_catalog.jsonb_object_agg(f, a)
                        FROM ROWS FROM (pg_catalog.unnest(v_feat.features), pg_catalog.unnest(v_run.aucs)) u(f, a)
                        WHERE f = ANY (v_run.leaks))));
    IF v_dec.deploy THEN
        PERFORM dlfin.registry_deploy(caller, registry_train.name, v_claim.version, v_dec.reason);
    END IF;
    RETURN v_claim.version;
END
$$;

-- What dlfin.train runs: the query runs as the caller.
CREATE OR REPLACE FUNCTION dlfin.registry_train_with_search_path(caller pg_catalog.regrole, name text, query text,
                                                      label text, options jsonb, deploy text,
                                                      query_search_path text)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT dlfin.registry_train(caller, caller, name, query, label, options, deploy, query_search_path);
END;

CREATE OR REPLACE FUNCTION dlfin.train_with_search_path(name text, query text, label text, options jsonb,
                                             deploy text, query_search_path text)
RETURNS integer
AS 'MODULE_PATHNAME', 'dlfin_registry_call'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION dlfin.train_with_search_path(text, text, text, jsonb, text, text) IS
'dlfin.train with the search_path the query is resolved with given explicitly';

-- Trains a new version of a named model and deploys it by policy.
CREATE OR REPLACE FUNCTION dlfin.train(name text, query text, label text,
                            options jsonb DEFAULT '{}', deploy text DEFAULT 'if_better')
RETURNS integer
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
-- no SET clause: the caller's search_path is what the query is resolved with
BEGIN ATOMIC
    SELECT dlfin.train_with_search_path(name, query, label, options, deploy,
                                        pg_catalog.current_setting('search_path'));
END;
COMMENT ON FUNCTION dlfin.train(text, text, text, jsonb, text) IS
'trains a new version of a named model on a query''s rows (80/20 split by default), records it in dlfin.models and deploys it by policy (if_better, always, never); returns the version';

-- Trains a new version with the query, label, options and search_path of
-- the latest version, as the model's owner.
CREATE OR REPLACE FUNCTION dlfin.registry_retrain(caller pg_catalog.regrole, name text, deploy text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v record;
BEGIN
    IF registry_retrain.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.retrain needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM dlfin.registry_lock(caller, registry_retrain.name);
    SELECT m.query, m.label, m.options, m.search_path, m.owner INTO v
    FROM dlfin.models m WHERE m.name = registry_retrain.name ORDER BY m.version DESC LIMIT 1;
    RETURN dlfin.registry_train(caller, v.owner, registry_retrain.name, v.query, v.label, v.options,
                                registry_retrain.deploy, v.search_path);
END
$$;

CREATE OR REPLACE FUNCTION dlfin.retrain(name text, deploy text DEFAULT 'if_better')
RETURNS integer
AS 'MODULE_PATHNAME', 'dlfin_registry_call'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION dlfin.retrain(text, text) IS
'trains a new version of a named model with the query, label and options of its latest version, on the current data, with the rights of the model''s owner; "warm_start": true starts from the deployed weights';

-- The registry's writing functions are reached only through their C entry.
DO $$
DECLARE
    f pg_catalog.regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'dlfin'::pg_catalog.regnamespace
               AND p.proname OPERATOR(pg_catalog.~~) 'registry\_%' LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
