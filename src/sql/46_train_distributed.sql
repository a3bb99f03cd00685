-- dlfin install script, part 46: data-parallel training (model averaging).
--
-- dlfin.train_distributed trains one global model where the rows live: on a
-- Citus distributed table every shard is a member, trained on its own rows
-- by run_command_on_shards; only model bytes come back to the coordinator,
-- which averages them weighted by rows (dlfin_average_models) and sends the
-- mean back as the next round's warm start.  The encoding (scaling,
-- vocabularies, target scaling) is computed once from per-shard statistics
-- summed exactly (numeric) on the coordinator, so every member of every
-- round shares it and the members are averageable.  On a plain table the
-- table is the one member.  doc/scaling.md describes the convergence.

-- The weighted mean of the networks of models that share one encoding.
CREATE OR REPLACE FUNCTION dlfin_average_models(models bytea[], weights float8[])
RETURNS bytea
AS 'MODULE_PATHNAME', 'dlfin_average_models'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlfin_average_models(bytea[], float8[]) IS
'the weighted mean of the networks of models trained with one encoding (the rest is the first model''s)';

-- Runs command (a format() string whose %1$s is a table) on every member of
-- source (only shard `shard' when given): each shard of a Citus
-- distributed table in shard id order, through Citus's master_run_on_worker
-- (what run_command_on_shards uses, in parallel), else source itself as
-- member 0.  A failed shard is an error: 08006 when its node cannot be
-- reached, else 22000 with the shard's message.
CREATE OR REPLACE FUNCTION dlfin.dp_run(source regclass, command text, shard bigint DEFAULT NULL)
RETURNS TABLE (member bigint, result text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shards bigint[];
    nodes text[];
    ports int[];
    commands text[];
    r record;
    distributed boolean := false;
BEGIN
    -- dynamic: without Citus the catalog table does not exist
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                                WHERE p.logicalrelid = $1 AND p.partmethod = ''h'')'
            INTO distributed USING source;
    END IF;
    IF NOT distributed THEN
        member := 0;
        EXECUTE pg_catalog.format('SELECT (' || command || ')::text', source) INTO result;
        RETURN NEXT;
        RETURN;
    END IF;
    EXECUTE $q$
        SELECT array_agg(shardid ORDER BY shardid), array_agg(nodename ORDER BY shardid),
               array_agg(nodeport ORDER BY shardid),
               array_agg(pg_catalog.format($1, shard_name(logicalrelid, shardid)) ORDER BY shardid)
        FROM (SELECT DISTINCT ON (ds.shardid) ds.shardid, ds.logicalrelid, p.nodename, p.nodeport
              FROM pg_catalog.pg_dist_shard ds JOIN pg_catalog.pg_dist_shard_placement p USING (shardid)
              WHERE ds.logicalrelid = $2 AND p.shardstate = 1 AND ds.shardid = coalesce($3, ds.shardid)
              ORDER BY ds.shardid, p.placementid) x $q$
        INTO shards, nodes, ports, commands USING command, source, shard;
    FOR r IN EXECUTE 'SELECT w.success, w.result, w.ord FROM pg_catalog.master_run_on_worker($1, $2, $3, true)
                      WITH ORDINALITY w(node_name, node_port, success, result, ord) ORDER BY w.ord'
             USING nodes, ports, commands LOOP
        IF NOT r.success THEN
            IF r.result ~* 'connect|connection|server closed|terminat' THEN
                RAISE EXCEPTION 'dlfin.train_distributed cannot reach the node of shard %', shards[r.ord]
                    USING ERRCODE = 'connection_failure', DETAIL = r.result;
            END IF;
            RAISE EXCEPTION 'dlfin.train_distributed failed on shard %: %', shards[r.ord], r.result
                USING ERRCODE = 'data_exception';
        END IF;
        member := shards[r.ord];
        result := r.result;
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION dlfin.dp_run(regclass, text, bigint) IS
'runs a statement on every member (shard) of a table for dlfin.train_distributed';

-- The global encoding of label and features over source: per member
-- count, sum and sum of squares (numeric, so the totals do not depend on
-- the order of rows or members) and category counts, combined here.
CREATE OR REPLACE FUNCTION dlfin.dp_encoding(source regclass, label text, features text[],
                                             max_categories integer)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts text[] := '{}';
    kinds text[] := '{}';
    typ regtype;
    x text;
    cmd text;
    feats jsonb := '[]';
    enc jsonb;
    n numeric; s numeric; ss numeric;
BEGIN
    FOREACH x IN ARRAY array_prepend(label, features) LOOP
        SELECT a.atttypid::regtype INTO typ FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = source AND a.attname = x AND a.attnum > 0 AND NOT a.attisdropped;
        IF typ IS NULL THEN
            RAISE EXCEPTION 'column "%" of % does not exist', x, source USING ERRCODE = 'undefined_column';
        END IF;
        IF (SELECT t.typcategory FROM pg_catalog.pg_type t WHERE t.oid = typ) = 'S' THEN
            kinds := kinds || 'cat'::text;
            parts := parts || format('(SELECT coalesce(jsonb_object_agg(v, c), ''{}'') FROM (SELECT %2$I::text v, count(*) c FROM %%1$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL GROUP BY 1) g)', label, x);
        ELSE
            kinds := kinds || 'num'::text;
            x := format(CASE WHEN typ = 'boolean'::regtype THEN '%I::int::numeric' ELSE '%I::numeric' END, x);
            parts := parts || format('jsonb_build_array(count(%1$s), sum(%1$s), sum(%1$s * %1$s))', x);
        END IF;
    END LOOP;
    cmd := format('SELECT jsonb_build_array(%s) FROM %%1$s WHERE %I IS NOT NULL',
                  array_to_string(parts, ', '), label);
    CREATE TEMP TABLE IF NOT EXISTS dlfin_dp_stats (member bigint, f int, v jsonb) ON COMMIT DROP;
    TRUNCATE dlfin_dp_stats;
    INSERT INTO dlfin_dp_stats
    SELECT r.member, e.ord - 1, e.v FROM dlfin.dp_run(source, cmd) r,
         jsonb_array_elements(r.result::jsonb) WITH ORDINALITY e(v, ord);
    FOR i IN 0 .. array_length(features, 1) LOOP
        IF kinds[i + 1] = 'cat' THEN
            IF i = 0 THEN
                feats := '[{}]';
            ELSE
                feats := feats || jsonb_build_array(jsonb_build_object('categories', (
                    SELECT coalesce(jsonb_agg(k ORDER BY c DESC, k COLLATE "C"), '[]') FROM (
                        SELECT k, c FROM (SELECT j.key AS k, sum(j.value::numeric) AS c
                                          FROM dlfin_dp_stats d, jsonb_each_text(d.v) j
                                          WHERE d.f = i GROUP BY j.key) t
                        ORDER BY c DESC, k COLLATE "C" LIMIT max_categories) top)));
            END IF;
            CONTINUE;
        END IF;
        SELECT sum((d.v->>0)::numeric), sum((d.v->>1)::numeric), sum((d.v->>2)::numeric)
        INTO n, s, ss FROM dlfin_dp_stats d WHERE d.f = i;
        enc := jsonb_build_object('mean', CASE WHEN n > 0 THEN (s / n)::float8 ELSE 0 END,
                                  'scale', CASE WHEN n > 0 AND sqrt(greatest(ss - s * s / n, 0) / n)::float8 >= 1e-12
                                                THEN sqrt(greatest(ss - s * s / n, 0) / n)::float8 ELSE 1 END);
        IF i = 0 THEN
            feats := jsonb_build_array(jsonb_build_object('target_mean', enc->'mean', 'target_scale', enc->'scale'));
        ELSE
            feats := feats || jsonb_build_array(enc);
        END IF;
    END LOOP;
    -- element 0 is the label's scaling, used for regression only; "member"
    -- is the first member with rows (the seed's), not part of the encoding
    RETURN jsonb_build_object('features', feats - 0) || COALESCE(feats->0, '{}')
        || jsonb_build_object('member', (SELECT min(d.member) FROM dlfin_dp_stats d
                                         WHERE d.f = 0 AND (d.v->>0)::numeric > 0));
END $$;
COMMENT ON FUNCTION dlfin.dp_encoding(regclass, text, text[], integer) IS
'the global encoding of a table''s features from per-member statistics, for dlfin.train_distributed';

-- Checks the arguments of dlfin.train_distributed; returns the options each
-- member trains with ("epochs" per round, default 1; the feature names).
CREATE OR REPLACE FUNCTION dlfin.dp_options(source regclass, label text, features text[],
                                            options jsonb, rounds integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
BEGIN
    IF source IS NULL OR label IS NULL OR features IS NULL OR rounds IS NULL THEN
        RAISE EXCEPTION 'dlfin.train_distributed needs a table, a label, features and rounds'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF cardinality(features) = 0 OR array_position(features, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'dlfin.train_distributed needs at least one feature name and no null ones'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF rounds NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'dlfin.train_distributed rounds must be between 1 and 1000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    options := coalesce(options, '{}');
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'dlfin.train_distributed options must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH k IN ARRAY ARRAY['init', 'encoding', 'features', 'ensemble', 'ensemble_sample', 'calibrate', 'cv_folds'] LOOP
        IF options ? k AND NOT (k = 'ensemble' AND options->k = '1') AND NOT (k = 'calibrate' AND options->>k = 'none') THEN
            RAISE EXCEPTION 'dlfin.train_distributed does not take option "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Averaged models share one encoding and one network; train ensembles, calibrated or warm-started models with dlfin_train.';
        END IF;
    END LOOP;
    IF options->>'l2' = 'auto' THEN
        RAISE EXCEPTION 'dlfin.train_distributed does not take "l2": "auto"'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give l2 as a number.';
    END IF;
    RETURN jsonb_build_object('epochs', 1) || (options - 'verbose')
           || jsonb_build_object('features', to_jsonb(features));
END $$;
COMMENT ON FUNCTION dlfin.dp_options(regclass, text, text[], jsonb, integer) IS
'checks the arguments of dlfin.train_distributed and returns the options of its members';

-- The statement that trains one member with opts (a dlfin_train options
-- object): a format() string over the member's table.
CREATE OR REPLACE FUNCTION dlfin.dp_train_command(label text, features text[], opts jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('SELECT @extschema@.dlfin_train(%s::jsonb, %I, %s) FROM %%1$s',
                             pg_catalog.replace(pg_catalog.quote_literal(opts::text), '%', '%%'), label,
                             (SELECT string_agg(pg_catalog.quote_ident(f), ', ' ORDER BY o)
                              FROM unnest(features) WITH ORDINALITY u(f, o)))
$$;
COMMENT ON FUNCTION dlfin.dp_train_command(text, text[], jsonb) IS
'the statement that trains one member of dlfin.train_distributed';

-- Data-parallel training: see the head of this part and doc/scaling.md.
CREATE OR REPLACE FUNCTION dlfin.train_distributed(source regclass, label text, features text[],
                                                   options jsonb DEFAULT '{}', rounds integer DEFAULT 10)
RETURNS bytea
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    opts jsonb := dlfin.dp_options(source, label, features, options, rounds);
    chatty boolean := coalesce((options->>'verbose')::boolean, false);
    enc jsonb;
    model bytea;
    models bytea[];
    weights float8[];
    received bigint;
BEGIN
    enc := dlfin.dp_encoding(source, label, features,
                             coalesce((options->>'max_categories')::int, 100));
    IF enc->'member' = 'null' THEN
        RAISE EXCEPTION 'dlfin.train_distributed found no rows with a label in %', source
            USING ERRCODE = 'no_data_found';
    END IF;
    -- the seed: fresh weights with the global encoding, one round on the
    -- first member with rows
    SELECT nullif(r.result, '')::bytea INTO model
    FROM dlfin.dp_run(source, dlfin.dp_train_command(label, features,
                                                     opts || jsonb_build_object('encoding', enc - 'member')),
                      (enc->>'member')::bigint) r;
    FOR round IN 1 .. rounds LOOP
        SELECT array_agg(r.result::bytea ORDER BY r.member),
               array_agg(((@extschema@.dlfin_model_info(r.result::bytea)->'rows'->>'train')::float8
                          + (@extschema@.dlfin_model_info(r.result::bytea)->'rows'->>'validation')::float8) ORDER BY r.member),
               sum(octet_length(r.result))
        INTO models, weights, received
        FROM dlfin.dp_run(source, dlfin.dp_train_command(label, features,
                                                         opts || jsonb_build_object('init', model))) r
        WHERE r.result <> '';
        model := @extschema@.dlfin_average_models(models, weights);
        IF chatty THEN
            RAISE NOTICE 'round %: % members, % bytes received', round, cardinality(models), received;
        END IF;
    END LOOP;
    RETURN model;
END $$;
COMMENT ON FUNCTION dlfin.train_distributed(regclass, text, text[], jsonb, integer) IS
'trains one model over a Citus distributed table where its rows live: each shard trains a round from the same weights, the coordinator averages the models weighted by rows';
