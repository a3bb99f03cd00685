-- dlfin install script, part 42: training registry models.
--
-- dlfin.train and dlfin.retrain go through the C entry dlfin_registry_call
-- to dlfin.registry_train_with_search_path / dlfin.registry_retrain (see
-- part 41), which run as the extension's owner.  The query itself always
-- runs through dlfin.run_as: as the caller for dlfin.train (it is the
-- caller's query), as the model's owner for dlfin.retrain (a superuser or a
-- pg_cron job that retrains another role's model gets exactly the owner's
-- rights).  Training is split into steps: check the arguments, describe the
-- query, build the statement, run it (fingerprint, training, evaluation in
-- one snapshot), decide the deployment, record the version.

-- Validates the arguments of dlfin.train; returns the test fraction and
-- whether to warm-start.
CREATE FUNCTION dlfin.registry_check_args(name text, query text, label text, options jsonb,
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
    IF options ?| ARRAY['features', 'init'] THEN
        RAISE EXCEPTION 'dlfin.train sets the option "%" itself',
                        CASE WHEN options ? 'features' THEN 'features' ELSE 'init' END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Feature names are the query''s column names; use "warm_start": true to start from the deployed model.';
    END IF;
END
$$;

-- The query's features (every column but the label) and whether the label
-- is numeric, its names resolved as the runner resolves them.
CREATE FUNCTION dlfin.registry_describe(runner pg_catalog.regrole, query_search_path text,
                                        query text, label text,
                                        OUT features text[], OUT numeric_label boolean)
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
    SELECT pg_catalog.array_agg(c ORDER BY o) INTO features
    FROM pg_catalog.unnest(v_cols) WITH ORDINALITY u(c, o) WHERE o <> v_label_pos;
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

-- The one statement that fingerprints the query's rows, trains on the
-- training part and scores the test part with the new model ($1 options,
-- $2 test fraction) and the champion ($3, or NULL).  One statement, so one
-- snapshot: the fingerprint, the training rows and the test rows are the
-- same data even if the tables change meanwhile.  Everything but the
-- query is schema-qualified (operators included) and dlfin's own functions
-- are called in the schema dlfin, because the query's search_path applies.
CREATE FUNCTION dlfin.registry_statement(query text, label text, features text[], numeric_label boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_feats text;
    v_lbl text := pg_catalog.format('q.%I', label);
    v_src text;
    v_y text;
    v_reg_y text;
    v_mc_y text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('q.%I', f), ', ' ORDER BY o) INTO v_feats
    FROM pg_catalog.unnest(features) WITH ORDINALITY u(f, o);
    -- a trailing semicolon or comment must not break the wrapping
    v_src := pg_catalog.format(
        '(%s%s) q CROSS JOIN LATERAL (SELECT k0.t, dlfin.split(k0.t, $2, 0) AS part'
        ' FROM (SELECT q::pg_catalog.text AS t) k0) k',
        pg_catalog.regexp_replace(query, '[[:space:];]+$', ''), E'\n');
    IF numeric_label THEN
        v_y := pg_catalog.format('(%s)::pg_catalog.float8 OPERATOR(pg_catalog.=) (i.pos)::pg_catalog.float8', v_lbl);
        v_reg_y := pg_catalog.format('(%s)::pg_catalog.float8', v_lbl);
        v_mc_y := pg_catalog.format('(%s)::pg_catalog.float8::pg_catalog.text', v_lbl);
    ELSE
        v_y := pg_catalog.format('(%s)::pg_catalog.text OPERATOR(pg_catalog.=) i.pos', v_lbl);
        v_reg_y := 'NULL::pg_catalog.float8';
        v_mc_y := pg_catalog.format('(%s)::pg_catalog.text', v_lbl);
    END IF;
    RETURN pg_catalog.format($q$
WITH tr AS (
    SELECT dlfin.train_agg($1, %2$s, %3$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'train') AS model,
           pg_catalog.count(*) AS nrows,
           pg_catalog.count(%2$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'train') AS ntrain,
           pg_catalog.count(%2$s) FILTER (WHERE k.part OPERATOR(pg_catalog.=) 'test') AS ntest,
           pg_catalog.sum(('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(k.t), 1, 16))
                          ::pg_catalog.bit(64)::pg_catalog.int8) AS fp
    FROM %1$s
), i AS (
    SELECT tr.*, inf OPERATOR(pg_catalog.->>) 'task' AS task,
           (inf OPERATOR(pg_catalog.->) 'classes') OPERATOR(pg_catalog.->>) 1 AS pos
    FROM tr, LATERAL (SELECT @extschema@.dlfin_model_info(tr.model) AS inf) x
)
-- every aggregate is computed (arguments only where FILTER passes); CASE
-- picks the task's
SELECT i.model, i.nrows, i.ntrain, i.ntest,
       pg_catalog.md5(pg_catalog.concat(i.nrows, ':', i.fp)), i.task, e.cur, e.champ
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
               FILTER (WHERE $3 IS NOT NULL AND i.task OPERATOR(pg_catalog.=) 'multiclass') END AS champ
    FROM %1$s
    WHERE k.part OPERATOR(pg_catalog.=) 'test' AND %2$s IS NOT NULL) e
$q$, v_src, v_lbl, v_feats, v_y, v_reg_y, v_mc_y);
END
$$;

-- The deployment decision, by the task's main held-out metric.
CREATE FUNCTION dlfin.registry_decide(policy text, task text, metrics jsonb,
                                      champion_version integer, champion_comparable boolean,
                                      champion_metrics jsonb,
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
-- returns the owner and the next version number.
CREATE FUNCTION dlfin.registry_claim(caller pg_catalog.regrole, name text,
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
    UPDATE dlfin.names n SET owner = registry_claim.owner, last_version = registry_claim.version
    WHERE n.name = registry_claim.name;
END
$$;

-- Trains a version of a named model: the query runs as runner with the
-- given search_path; the caller is recorded as its creator.
CREATE FUNCTION dlfin.registry_train(caller pg_catalog.regrole, runner pg_catalog.regrole,
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
    v_opts jsonb := coalesce(registry_train.options, '{}');
    v_args record;
    v_claim record;
    v_desc record;
    v_champ record;
    v_champ_model bytea;
    v_train_opts jsonb;
    v_run record;
    v_dec record;
    v_comparable boolean;
BEGIN
    SELECT * INTO v_args FROM dlfin.registry_check_args(registry_train.name, registry_train.query,
                                                        registry_train.label, v_opts, v_policy);
    SELECT * INTO v_claim FROM dlfin.registry_claim(caller, registry_train.name);
    SELECT * INTO v_desc FROM dlfin.registry_describe(runner, coalesce(query_search_path, ''),
                                                      pg_catalog.regexp_replace(registry_train.query, '[[:space:];]+$', ''),
                                                      registry_train.label);

    -- the champion: the deployed version, comparable when it has the same inputs
    SELECT m.version, m.model, m.task, m.features, m.label INTO v_champ
    FROM dlfin.models m WHERE m.name = registry_train.name AND m.status = 'deployed';
    IF FOUND AND v_champ.features = v_desc.features AND v_champ.label = registry_train.label THEN
        v_champ_model := v_champ.model;
    END IF;
    v_train_opts := (v_opts - 'test_fraction' - 'warm_start')
                    || pg_catalog.jsonb_build_object('features', pg_catalog.to_jsonb(v_desc.features));
    IF v_args.warm_start AND v_champ.model IS NOT NULL THEN
        v_train_opts := v_train_opts || pg_catalog.jsonb_build_object('init', v_champ.model);
    END IF;

    SELECT * INTO v_run
    FROM dlfin.run_as(runner, coalesce(query_search_path, ''),
                      dlfin.registry_statement(registry_train.query, registry_train.label,
                                               v_desc.features, v_desc.numeric_label),
                      v_train_opts, v_args.test_fraction, v_champ_model)
         AS r(model bytea, nrows bigint, ntrain bigint, ntest bigint, fp text, task text,
              metrics jsonb, champ_metrics jsonb);
    IF v_run.model IS NULL THEN
        RAISE EXCEPTION 'dlfin.train query returned no training rows with a label'
            USING ERRCODE = 'data_exception',
                  DETAIL = pg_catalog.format('The query returned %s rows, %s of them with a non-NULL label in the training part.',
                                             v_run.nrows, v_run.ntrain);
    END IF;
    -- the champion must have the challenger's task and classes to be compared
    v_comparable := v_champ_model IS NOT NULL AND v_champ.task = v_run.task AND
        @extschema@.dlfin_model_info(v_champ_model) -> 'classes' IS NOT DISTINCT FROM
        @extschema@.dlfin_model_info(v_run.model) -> 'classes';
    SELECT * INTO v_dec FROM dlfin.registry_decide(v_policy, v_run.task, v_run.metrics, v_champ.version,
                                                   v_comparable,
                                                   CASE WHEN v_comparable THEN v_run.champ_metrics END);

    INSERT INTO dlfin.models (name, version, status, task, model, model_sha256, owner,
                              created_at, created_by, query, label, features, options,
                              rows, train_rows, test_rows, data_fingerprint, search_path,
                              metrics, decision)
    VALUES (registry_train.name, v_claim.version, 'candidate', v_run.task, v_run.model,
            pg_catalog.encode(pg_catalog.sha256(v_run.model), 'hex'), v_claim.owner,
            pg_catalog.clock_timestamp(), pg_catalog.pg_get_userbyid(caller::pg_catalog.oid),
            registry_train.query, registry_train.label, v_desc.features, v_opts,
            v_run.nrows, v_run.ntrain, v_run.ntest, v_run.fp, coalesce(query_search_path, ''),
            v_run.metrics,
            pg_catalog.jsonb_build_object(
                'policy', v_policy, 'deployed', v_dec.deploy, 'reason', v_dec.reason, 'metric', v_dec.metric,
                'challenger', v_dec.challenger, 'champion', v_dec.champion,
                'champion_version', v_champ.version,
                'champion_metrics', CASE WHEN v_comparable THEN v_run.champ_metrics END,
                'test_fraction', v_args.test_fraction,
                'warm_start', v_args.warm_start AND v_champ.model IS NOT NULL));
    IF v_dec.deploy THEN
        PERFORM dlfin.registry_deploy(caller, registry_train.name, v_claim.version, v_dec.reason);
    END IF;
    RETURN v_claim.version;
END
$$;

-- What dlfin.train runs: the query runs as the caller.
CREATE FUNCTION dlfin.registry_train_with_search_path(caller pg_catalog.regrole, name text, query text,
                                                      label text, options jsonb, deploy text,
                                                      query_search_path text)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT dlfin.registry_train(caller, caller, name, query, label, options, deploy, query_search_path);
END;

CREATE FUNCTION dlfin.train_with_search_path(name text, query text, label text, options jsonb,
                                             deploy text, query_search_path text)
RETURNS integer
AS 'MODULE_PATHNAME', 'dlfin_registry_call'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION dlfin.train_with_search_path(text, text, text, jsonb, text, text) IS
'dlfin.train with the search_path the query is resolved with given explicitly';

-- Trains a new version of a named model and deploys it by policy.
CREATE FUNCTION dlfin.train(name text, query text, label text,
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
CREATE FUNCTION dlfin.registry_retrain(caller pg_catalog.regrole, name text, deploy text)
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

CREATE FUNCTION dlfin.retrain(name text, deploy text DEFAULT 'if_better')
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
