-- dlfin install script, part 60: the model card and its SVG charts.
--
-- The chart aggregates share the internal state of the binary metric
-- aggregates (part 30), so they run in parallel plans and draw exactly the
-- numbers dlfin_roc, dlfin_deciles and dlfin_metrics return.  The card is
-- one self-contained HTML page (inline CSS and SVG, no scripts, no external
-- resources) drawn by dlfin.card_html from the model bytes, the held-out
-- scores and labels, and the facts the wrappers below gather.

-- ---- charts over (score, label) ----

CREATE OR REPLACE FUNCTION dlfin.dlfin_svg_roc_final(pg_catalog.internal)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_roc_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_svg_calibration_final(pg_catalog.internal)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_calibration_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION dlfin.dlfin_svg_lift_final(pg_catalog.internal)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_lift_final' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_svg_roc(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_svg_roc_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_svg_roc(pg_catalog.float8, pg_catalog.bool) IS
'ROC curve as an SVG image (the points of dlfin_roc, AUC in the legend); NULL unless both classes occur';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_svg_calibration(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_svg_calibration_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_svg_calibration(pg_catalog.float8, pg_catalog.bool) IS
'reliability diagram as an SVG image: observed positive rate per 0.1-wide bin of the score, with rows per bin; NULL without rows';

CREATE OR REPLACE AGGREGATE @extschema@.dlfin_svg_lift(score pg_catalog.float8, label pg_catalog.bool) (
    SFUNC = dlfin.dlfin_bin_trans, STYPE = pg_catalog.internal,
    FINALFUNC = dlfin.dlfin_svg_lift_final,
    COMBINEFUNC = dlfin.dlfin_bin_combine,
    SERIALFUNC = dlfin.dlfin_bin_serial, DESERIALFUNC = dlfin.dlfin_bin_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.dlfin_svg_lift(pg_catalog.float8, pg_catalog.bool) IS
'lift per score decile (the lift column of dlfin_deciles) as an SVG bar chart; NULL without positive rows';

-- ---- charts of a model ----

CREATE OR REPLACE FUNCTION @extschema@.dlfin_svg_learning_curve(model pg_catalog.bytea)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_learning_curve'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_svg_learning_curve(pg_catalog.bytea) IS
'training and validation loss per epoch of a model as an SVG line chart, best epoch marked; NULL without history';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_svg_importance(model pg_catalog.bytea)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_svg_importance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dlfin_svg_importance(pg_catalog.bytea) IS
'permutation importance of the features of a model as an SVG bar chart (30 largest); NULL when the model carries none';

-- ---- the page ----

CREATE OR REPLACE FUNCTION dlfin.card_html(model pg_catalog.bytea, scores pg_catalog.float8[],
                                labels pg_catalog.bool[], groups pg_catalog.text[],
                                facts pg_catalog.jsonb)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'dlfin_card_html'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION dlfin.card_html(pg_catalog.bytea, pg_catalog.float8[], pg_catalog.bool[], pg_catalog.text[], pg_catalog.jsonb) IS
'renders a model card from model bytes, held-out scores, labels and optional groups, and a jsonb of facts (title, threshold, identity, rows, metrics, deployments, notes); what dlfin_model_card and dlfin.model_card call';

-- Checks the options of a model card; returns them with defaults filled in.
CREATE OR REPLACE FUNCTION dlfin.card_options(options pg_catalog.jsonb, allowed pg_catalog.text[])
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_opts jsonb := coalesce(options, '{}');
    v_key text;
BEGIN
    IF pg_catalog.jsonb_typeof(v_opts) <> 'object' THEN
        RAISE EXCEPTION 'model card options must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_key IN SELECT k FROM pg_catalog.jsonb_object_keys(v_opts) k ORDER BY k LOOP
        IF NOT v_key OPERATOR(pg_catalog.=) ANY (allowed) THEN
            RAISE EXCEPTION 'unknown model card option "%"', v_key
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = pg_catalog.format('The options are %s.', pg_catalog.array_to_string(allowed, ', '));
        END IF;
    END LOOP;
    IF v_opts ? 'threshold' AND (pg_catalog.jsonb_typeof(v_opts -> 'threshold') <> 'number'
                                 OR (v_opts ->> 'threshold')::float8 NOT BETWEEN 0 AND 1) THEN
        RAISE EXCEPTION 'model card option "threshold" must be a number between 0 and 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_key IN SELECT k FROM pg_catalog.unnest(ARRAY['title', 'group', 'drift']) k LOOP
        IF v_opts ? v_key AND pg_catalog.jsonb_typeof(v_opts -> v_key) <> 'string' THEN
            RAISE EXCEPTION 'model card option "%" must be a string', v_key
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF v_opts ? 'heldout' AND pg_catalog.jsonb_typeof(v_opts -> 'heldout') <> 'boolean' THEN
        RAISE EXCEPTION 'model card option "heldout" must be a boolean'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_opts;
END
$$;
COMMENT ON FUNCTION dlfin.card_options(pg_catalog.jsonb, pg_catalog.text[]) IS
'validates model card options against the allowed keys';

-- PSI of a table's rows against the model's training distributions
-- (dlfin_drift), or NULL and the reason.  The table name is resolved with
-- the caller's search_path; the table needs a column named after every
-- feature of the model.
CREATE OR REPLACE FUNCTION dlfin.card_drift(model pg_catalog.bytea, rel pg_catalog.text, caller_path pg_catalog.text,
                                 OUT drift pg_catalog.jsonb, OUT note pg_catalog.text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rel pg_catalog.regclass;
    v_cols text;
    v_missing text;
BEGIN
    IF rel IS NULL THEN
        note := 'no table to compare with the training data was given (option "drift").';
        RETURN;
    END IF;
    PERFORM pg_catalog.set_config('search_path', coalesce(caller_path, 'pg_catalog, pg_temp'), true);
    v_rel := rel::pg_catalog.regclass;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT pg_catalog.string_agg(pg_catalog.format('d.%I', f ->> 'name'), ', ' ORDER BY o),
           pg_catalog.string_agg(pg_catalog.quote_ident(f ->> 'name'), ', ' ORDER BY o)
             FILTER (WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                       WHERE a.attrelid = v_rel AND a.attname = f ->> 'name'
                                         AND a.attnum > 0 AND NOT a.attisdropped))
      INTO v_cols, v_missing
    FROM pg_catalog.jsonb_array_elements(@extschema@.dlfin_model_info(model) -> 'features') WITH ORDINALITY AS e(f, o);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'drift table % has no column for model feature(s) %', v_rel, v_missing
            USING ERRCODE = 'undefined_column',
                  HINT = 'The table of option "drift" needs a column named after every feature of the model, as dlfin_model_info(model)->''features'' lists them.';
    END IF;
    EXECUTE pg_catalog.format('SELECT dlfin.drift_agg($1, %s) FROM %s d', v_cols, v_rel)
        INTO drift USING model;
    IF drift IS NULL THEN
        note := pg_catalog.format('the drift table %s has no rows.', v_rel);
    ELSE
        drift := drift OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('table', v_rel::text);
    END IF;
END
$$;
COMMENT ON FUNCTION dlfin.card_drift(pg_catalog.bytea, pg_catalog.text, pg_catalog.text) IS
'dlfin_drift of a table (resolved with the given search_path) against a model''s training data for the model card, or the reason it is not available';

-- dlfin_fairness of held-out rows for the model card.  An applicant is
-- approved when the model's decision at the threshold is the good outcome:
-- score below the threshold when the adverse side is the positive class
-- (a model of default), at or above it otherwise; the label passed on is
-- true for the good outcome.  The decision is passed as 0/1, so approval
-- agrees exactly with the card's confusion matrix.
CREATE OR REPLACE FUNCTION dlfin.card_fairness(model pg_catalog.bytea, scores pg_catalog.float8[],
                                    labels pg_catalog.bool[], groups pg_catalog.text[],
                                    threshold pg_catalog.float8)
RETURNS pg_catalog.jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
-- the adverse side once: a subquery in FROM would be pulled up into the
-- row expressions and decode the model for every held-out row
WITH a AS MATERIALIZED (
    SELECT (@extschema@.dlfin_model_info(model) OPERATOR(pg_catalog.->>) 'adverse')
           OPERATOR(pg_catalog.=) 'positive' AS adverse_positive)
SELECT @extschema@.dlfin_fairness(
           (CASE WHEN a.adverse_positive THEN u.s OPERATOR(pg_catalog.<) t.t
                 ELSE u.s OPERATOR(pg_catalog.>=) t.t END)::pg_catalog.int4::pg_catalog.float8,
           u.g,
           CASE WHEN a.adverse_positive THEN NOT u.l ELSE u.l END,
           0.5::pg_catalog.float8)
FROM ROWS FROM (pg_catalog.unnest(scores), pg_catalog.unnest(labels), pg_catalog.unnest(groups)) AS u(s, l, g),
     a,
     (SELECT coalesce(threshold, 0.5) AS t) t
WHERE groups IS NOT NULL
$$;
COMMENT ON FUNCTION dlfin.card_fairness(pg_catalog.bytea, pg_catalog.float8[], pg_catalog.bool[], pg_catalog.text[], pg_catalog.float8) IS
'dlfin_fairness of a model''s held-out decisions at a threshold, approval being the good outcome of the model''s adverse side, for the model card';

-- The card of model bytes, evaluated on a held-out table; caller_path is
-- the caller's search_path, for the table of option "drift".
CREATE OR REPLACE FUNCTION dlfin.card_of_model(model pg_catalog.bytea, heldout pg_catalog.regclass,
                                    options pg_catalog.jsonb, caller_path pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_opts jsonb;
    v_group text;
    v_scores float8[];
    v_labels boolean[];
    v_groups text[];
    v_col text;
    v_drift record;
    v_notes jsonb := '[]';
BEGIN
    IF model IS NULL THEN
        RAISE EXCEPTION 'model must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_opts := dlfin.card_options(options, ARRAY['title', 'threshold', 'group', 'drift']);
    v_group := v_opts ->> 'group';
    IF heldout IS NOT NULL THEN
        FOREACH v_col IN ARRAY ARRAY['score', 'label', v_group] LOOP
            IF v_col IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = heldout AND a.attname = v_col
                             AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'held-out table % has no column "%"', heldout, v_col
                    USING ERRCODE = 'undefined_column',
                          HINT = 'The held-out table needs a column score (the model''s score, float8) and a column label (true for the positive class); option "group" names an optional group column.';
            END IF;
        END LOOP;
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg((h.score)::pg_catalog.float8), pg_catalog.array_agg((h.label)::pg_catalog.bool), %s FROM %s h',
            CASE WHEN v_group IS NULL THEN 'NULL::pg_catalog.text[]'
                 ELSE pg_catalog.format('pg_catalog.array_agg((h.%I)::pg_catalog.text)', v_group) END,
            heldout)
          INTO v_scores, v_labels, v_groups;
    ELSIF v_group IS NOT NULL THEN
        RAISE EXCEPTION 'model card option "group" needs a held-out table'
            USING ERRCODE = 'invalid_parameter_value';
    ELSE
        v_notes := v_notes || pg_catalog.to_jsonb('No held-out table was given: the performance section is empty.'::text);
    END IF;
    SELECT * INTO v_drift FROM dlfin.card_drift(model, v_opts ->> 'drift', caller_path);
    RETURN dlfin.card_html(model, v_scores, v_labels, v_groups,
        pg_catalog.jsonb_build_object(
            'title', coalesce(v_opts ->> 'title', 'dlfin model'),
            'threshold', v_opts -> 'threshold',
            'group', v_group,
            'fairness', dlfin.card_fairness(model, v_scores, v_labels, v_groups, (v_opts ->> 'threshold')::float8),
            'generated_at', pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
            'identity', pg_catalog.jsonb_build_array(
                pg_catalog.jsonb_build_array('Name', coalesce(v_opts ->> 'title', 'not given')),
                pg_catalog.jsonb_build_array('Model SHA-256', pg_catalog.encode(pg_catalog.sha256(model), 'hex'), true),
                pg_catalog.jsonb_build_array('Held-out table', heldout::text, true),
                pg_catalog.jsonb_build_array('Training-data fingerprint, query, creator', NULL)),
            'notes', v_notes,
            'drift', v_drift.drift,
            'drift_table', v_drift.drift ->> 'table',
            'drift_note', v_drift.note,
            'deployments_note', 'the model was given as bytes; the registry keeps the history of named models (dlfin.model_card(name)).'));
END
$$;
COMMENT ON FUNCTION dlfin.card_of_model(pg_catalog.bytea, pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text) IS
'what dlfin_model_card runs, with the caller''s search_path for the table of option "drift"';

-- The card of model bytes: passes the caller's search_path on, since the
-- implementation runs under a fixed one.
CREATE OR REPLACE FUNCTION @extschema@.dlfin_model_card(model pg_catalog.bytea,
                                             heldout pg_catalog.regclass DEFAULT NULL,
                                             options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED SECURITY INVOKER
AS $$ SELECT dlfin.card_of_model(model, heldout, options, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION @extschema@.dlfin_model_card(pg_catalog.bytea, pg_catalog.regclass, pg_catalog.jsonb) IS
'model card of model bytes as a self-contained HTML page; heldout is a table or view with columns score (float8) and label (boolean); options: title, threshold, group, drift';

-- The registry row a card is drawn for: the given version, else the
-- deployed one, else the latest; 42704 when there is none.
CREATE OR REPLACE FUNCTION dlfin.card_version(name pg_catalog.text, version pg_catalog.int4)
RETURNS dlfin.models
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v dlfin.models;
BEGIN
    IF card_version.version IS NULL THEN
        -- the deployed version, else the latest one
        SELECT m.* INTO v FROM dlfin.models m WHERE m.name = card_version.name
        ORDER BY m.status = 'deployed' DESC, m.version DESC LIMIT 1;
    ELSE
        SELECT m.* INTO v FROM dlfin.models m
        WHERE m.name = card_version.name AND m.version = card_version.version;
    END IF;
    IF NOT FOUND THEN
        IF card_version.version IS NOT NULL
           AND EXISTS (SELECT FROM dlfin.models m WHERE m.name = card_version.name) THEN
            RAISE EXCEPTION 'dlfin model "%" has no version %', card_version.name, card_version.version
                USING ERRCODE = 'undefined_object';
        END IF;
        RAISE EXCEPTION 'dlfin model "%" does not exist', card_version.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name, version FROM dlfin.models lists the models you may see.';
    END IF;

    RETURN v;
END
$$;
COMMENT ON FUNCTION dlfin.card_version(pg_catalog.text, pg_catalog.int4) IS
'the registry version a model card is drawn for: the given one, else the deployed, else the latest';

-- The identity rows of a registry model's card: [label, value, code?].
CREATE OR REPLACE FUNCTION dlfin.card_identity(v dlfin.models)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_array('Name', v.name),
    pg_catalog.jsonb_build_array('Version', v.version::text),
    pg_catalog.jsonb_build_array('Status', v.status),
    pg_catalog.jsonb_build_array('Created', pg_catalog.to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')),
    pg_catalog.jsonb_build_array('Created by', v.created_by),
    pg_catalog.jsonb_build_array('Owner', v.owner::text),
    pg_catalog.jsonb_build_array('Model SHA-256', v.model_sha256, true),
    pg_catalog.jsonb_build_array('Training-data fingerprint', v.data_fingerprint, true),
    pg_catalog.jsonb_build_array('Training query', v.query, true),
    pg_catalog.jsonb_build_array('Search path of the query', v.search_path, true),
    pg_catalog.jsonb_build_array('Label', v.label),
    pg_catalog.jsonb_build_array('Features', pg_catalog.array_to_string(v.features, ', ')),
    pg_catalog.jsonb_build_array('Options given', v.options::text, true),
    pg_catalog.jsonb_build_array('Deployment decision', v.decision ->> 'reason'))
$$;
COMMENT ON FUNCTION dlfin.card_identity(dlfin.models) IS
'the identity rows of a registry model''s card (name, version, owner, hashes, query, options)';

-- The characteristics section of a registry model's card: every feature's
-- WoE binning over the training part of its query, in one scan, as the
-- model's owner; label_test is the label compared with $2 (positive, the
-- positive class), test_fraction the split's.  It runs under card_of_name's
-- settings, which make the row text (the split key) what dlfin.train saw.
CREATE OR REPLACE FUNCTION dlfin.card_characteristics(v dlfin.models, label_test pg_catalog.text,
                                                      positive pg_catalog.text, test_fraction pg_catalog.float8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_bins pg_catalog.text;
    v_chars pg_catalog.jsonb;
BEGIN
    -- characteristics: every feature's WoE binning over the training
    -- part (event: the positive class), in one scan, as the owner
    SELECT pg_catalog.string_agg(pg_catalog.format('pg_catalog.jsonb_build_object(%s)', o), ' || ' ORDER BY g)
      INTO v_bins
    FROM (SELECT (u.o - 1) / 40 AS g,
                 pg_catalog.string_agg(pg_catalog.format(
                     '%L, @extschema@.dlfin_binning((q.%I)::pg_catalog.%s, %s) FILTER (WHERE NOT k.test)',
                     u.f, u.f, CASE WHEN t.typcategory = 'N' THEN 'float8' ELSE 'text' END, label_test),
                     ', ' ORDER BY u.o) AS o
          FROM pg_catalog.unnest(v.features) WITH ORDINALITY u(f, o)
          JOIN dlfin.query_columns_as(v.owner, v.search_path,
                                      pg_catalog.regexp_replace(v.query, '[[:space:];]+$', '')) c ON c.name = u.f
          JOIN pg_catalog.pg_type t ON t.oid = c.type
          GROUP BY 1) chunks;
    BEGIN
        SELECT r.chars INTO v_chars
        FROM dlfin.run_as(v.owner, v.search_path, pg_catalog.format($q$
WITH dlfin_src AS %4$s (%1$s%2$s)
SELECT %3$s
FROM dlfin_src q
CROSS JOIN LATERAL (SELECT dlfin.split(q::pg_catalog.text, $3, 0) OPERATOR(pg_catalog.=) 'test' AS test) k
$q$, pg_catalog.regexp_replace(v.query, '[[:space:];]+$', ''), E'\n', v_bins,
              CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = 'citus')
                   THEN 'MATERIALIZED' ELSE 'NOT MATERIALIZED' END),
            v.model, positive, test_fraction) AS r(chars jsonb);
    EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
        v_chars := pg_catalog.jsonb_build_object('note', SQLERRM);
    END;
    RETURN v_chars;
END
$$;
COMMENT ON FUNCTION dlfin.card_characteristics(dlfin.models, pg_catalog.text, pg_catalog.text, pg_catalog.float8) IS
'the characteristics section of a registry model''s card: WoE binning of every feature over its training rows';

-- The statement that scores a registry model's held-out rows again: the
-- training query as a common table expression, as dlfin.train runs it,
-- returning the test part's scores, labels (label_test against $2), groups
-- (column grp, when given), count and the data fingerprint of all rows.
CREATE OR REPLACE FUNCTION dlfin.card_heldout_query(v dlfin.models, label_test pg_catalog.text,
                                                    grp pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_feats pg_catalog.text;
    v_lbl pg_catalog.text := pg_catalog.format('q.%I', v.label);
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('q.%I', f), ', ' ORDER BY o) INTO v_feats
    FROM pg_catalog.unnest(v.features) WITH ORDINALITY u(f, o);
    -- the query as a common table expression, as dlfin.train runs it
    RETURN pg_catalog.format($q$
WITH dlfin_src AS %7$s (%4$s%5$s)
SELECT pg_catalog.array_agg(dlfin.predict($1, %1$s)) FILTER (WHERE k.test),
   pg_catalog.array_agg(%2$s) FILTER (WHERE k.test),
   %3$s,
   pg_catalog.count(*) FILTER (WHERE k.test),
   pg_catalog.md5(pg_catalog.concat(pg_catalog.count(*), ':',
       pg_catalog.sum(('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(k.t), 1, 16))
                      ::pg_catalog.bit(64)::pg_catalog.int8)))
FROM dlfin_src q
CROSS JOIN LATERAL (SELECT k0.t, dlfin.split(k0.t, $3, 0) OPERATOR(pg_catalog.=) 'test'
                             AND %6$s IS NOT NULL AS test
                FROM (SELECT q::pg_catalog.text AS t) k0) k
$q$, v_feats, label_test,
        CASE WHEN grp IS NULL THEN 'NULL::pg_catalog.text[]'
             ELSE pg_catalog.format('pg_catalog.array_agg((q.%I)::pg_catalog.text) FILTER (WHERE k.test)', grp) END,
        pg_catalog.regexp_replace(v.query, '[[:space:];]+$', ''), E'\n', v_lbl,
        CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = 'citus')
             THEN 'MATERIALIZED' ELSE 'NOT MATERIALIZED' END);
END
$$;
COMMENT ON FUNCTION dlfin.card_heldout_query(dlfin.models, pg_catalog.text, pg_catalog.text) IS
'the statement a registry model''s card runs to score its held-out rows again';

-- The card of a registry model: its record, its deployment history, and
-- the held-out test part of its training query scored again.  The query
-- runs as the model's owner (dlfin.run_as) with the search_path it was
-- trained with, under the session settings dlfin.train uses, so
-- dlfin_split picks the same test rows; the data fingerprint is computed again to show whether
-- the rows are still those the model was trained on.
CREATE OR REPLACE FUNCTION dlfin.card_of_name(name pg_catalog.text, version pg_catalog.int4,
                                   options pg_catalog.jsonb, caller_path pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
-- the row text is the split key: the same settings as dlfin.train
SET extra_float_digits = 1
SET DateStyle = 'ISO, MDY'
SET IntervalStyle = 'postgres'
SET bytea_output = 'hex'
AS $$
DECLARE
    v_opts jsonb;
    v dlfin.models;
    v_group text;
    v_frac float8;
    v_pos text;
    v_numeric_label boolean;
    v_lbl text;
    v_y text;
    v_stmt text;
    v_scores float8[];
    v_labels boolean[];
    v_groups text[];
    v_ntest bigint;
    v_fp text;
    v_notes jsonb := '[]';
    v_hist jsonb;
    v_drift record;
    v_chars jsonb;
BEGIN
    IF card_of_name.name IS NULL THEN
        RAISE EXCEPTION 'dlfin.model_card needs a model name'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_opts := dlfin.card_options(options, ARRAY['title', 'threshold', 'group', 'drift', 'heldout']);
    v_group := v_opts ->> 'group';
    v := dlfin.card_version(card_of_name.name, card_of_name.version);

    -- held-out rows: the test part of the training query, scored again
    IF v.task <> 'binary' THEN
        v_notes := v_notes || pg_catalog.to_jsonb('Held-out charts are drawn for binary classifiers; the registry metrics are shown.'::text);
    ELSIF NOT coalesce((v_opts ->> 'heldout')::boolean, true) THEN
        v_notes := v_notes || pg_catalog.to_jsonb('Held-out rows were not scored again (option "heldout": false).'::text);
    ELSE
        v_frac := coalesce((v.decision ->> 'test_fraction')::float8, 0.2);
        v_pos := @extschema@.dlfin_model_info(v.model) -> 'classes' ->> 1;
        SELECT (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
               IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
                   'float8'::regtype, 'numeric'::regtype)
          INTO v_numeric_label
        FROM dlfin.query_columns_as(v.owner, v.search_path,
                                    pg_catalog.regexp_replace(v.query, '[[:space:];]+$', '')) c
        JOIN pg_catalog.pg_type t ON t.oid = c.type
        WHERE c.name = v.label;
        IF v_group IS NOT NULL AND NOT v_group = ANY (v.features) AND v_group <> v.label
           AND NOT EXISTS (SELECT FROM dlfin.query_columns_as(v.owner, v.search_path,
                                           pg_catalog.regexp_replace(v.query, '[[:space:];]+$', '')) c
                           WHERE c.name = v_group) THEN
            RAISE EXCEPTION 'model card group column "%" is not a column of the training query', v_group
                USING ERRCODE = 'undefined_column';
        END IF;
        v_lbl := pg_catalog.format('q.%I', v.label);
        v_y := CASE WHEN v_numeric_label
                    THEN pg_catalog.format('(%s)::pg_catalog.float8 OPERATOR(pg_catalog.=) ($2)::pg_catalog.float8', v_lbl)
                    ELSE pg_catalog.format('(%s)::pg_catalog.text OPERATOR(pg_catalog.=) $2', v_lbl) END;
        v_stmt := dlfin.card_heldout_query(v, v_y, v_group);
        -- stored code: it runs as the model's owner, whoever draws the card
        SELECT * INTO v_scores, v_labels, v_groups, v_ntest, v_fp
        FROM dlfin.run_as(v.owner, v.search_path, v_stmt, v.model, v_pos, v_frac)
             AS r(scores float8[], labels boolean[], groups text[], ntest bigint, fp text);
        IF v_fp IS DISTINCT FROM v.data_fingerprint THEN
            v_notes := v_notes || pg_catalog.to_jsonb(pg_catalog.format(
                'Warning: the rows of the training query changed since version %s was trained (data fingerprint %s now, %s then); the held-out rows below are today''s test part (%s rows, %s at training).',
                v.version, v_fp, v.data_fingerprint, v_ntest, v.test_rows));
        END IF;
        v_chars := dlfin.card_characteristics(v, v_y, v_pos, v_frac);
    END IF;

    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'changed_at', pg_catalog.to_char(d.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
               'action', d.action, 'version', d.version, 'previous_version', d.previous_version,
               'changed_by', d.changed_by, 'reason', d.reason) ORDER BY d.id)
      INTO v_hist
    FROM dlfin.deployments d WHERE d.name = v.name;
    SELECT * INTO v_drift FROM dlfin.card_drift(v.model, v_opts ->> 'drift', caller_path);

    RETURN dlfin.card_html(v.model, v_scores, v_labels, v_groups,
        pg_catalog.jsonb_build_object(
            'title', coalesce(v_opts ->> 'title', pg_catalog.format('%s, version %s', v.name, v.version)),
            'threshold', v_opts -> 'threshold',
            'group', v_group,
            'fairness', CASE WHEN v.task = 'binary'
                             THEN dlfin.card_fairness(v.model, v_scores, v_labels, v_groups, (v_opts ->> 'threshold')::float8) END,
            'registry', true,
            'generated_at', pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
            'identity', dlfin.card_identity(v),
            'rows', pg_catalog.jsonb_build_object('train', v.train_rows, 'test', v.test_rows, 'total', v.rows),
            'metrics', v.metrics,
            'notes', v_notes,
            'deployments', coalesce(v_hist, '[]'),
            'drift', v_drift.drift,
            'drift_table', v_drift.drift ->> 'table',
            'drift_note', v_drift.note,
            'characteristics', v_chars));
END
$$;
COMMENT ON FUNCTION dlfin.card_of_name(pg_catalog.text, pg_catalog.int4, pg_catalog.jsonb, pg_catalog.text) IS
'what dlfin.model_card runs, with the caller''s search_path for the table of option "drift"';

-- The card of a registry model: passes the caller's search_path on.
CREATE OR REPLACE FUNCTION dlfin.model_card(name pg_catalog.text, version pg_catalog.int4 DEFAULT NULL,
                                 options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER
AS $$ SELECT dlfin.card_of_name(name, version, options, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION dlfin.model_card(pg_catalog.text, pg_catalog.int4, pg_catalog.jsonb) IS
'model card of a registry model (the deployed or latest version unless one is given) as a self-contained HTML page, its held-out test rows scored again; options: title, threshold, group, drift, heldout';
