-- dlfin install script, part 77: screening many characteristics by
-- information value in one pass over a query's rows.
--
-- SECURITY INVOKER and no search_path of its own: the query runs as the
-- caller wrote it, under the caller's rights and search_path, like a query
-- the caller runs directly; everything of dlfin's is schema-qualified.

CREATE OR REPLACE FUNCTION @extschema@.dlfin_iv(query pg_catalog.text, label pg_catalog.text,
    options pg_catalog.jsonb DEFAULT NULL,
    OUT rank integer, OUT feature text, OUT iv double precision, OUT strength text,
    OUT bins integer, OUT binning pg_catalog.jsonb, OUT note text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
    c record;
    ltype pg_catalog.regtype;
    cols text[] := '{}';
    exprs text[] := '{}';
    notes jsonb := '{}';
    res jsonb := '{}';
    one jsonb;
    lab text;
BEGIN
    SELECT q.type INTO ltype FROM dlfin.query_columns(query) q WHERE q.name = label;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'label column "%" is not a column of the query', label
            USING ERRCODE = '42703', HINT = 'Name one of the query''s result columns.';
    END IF;
    IF ltype <> 'boolean'::pg_catalog.regtype THEN
        RAISE EXCEPTION 'label column "%" must be boolean, not %', label, ltype
            USING ERRCODE = '22023',
                  HINT = 'Select the label as a boolean expression, for example status = ''bad'' AS defaulted.';
    END IF;
    lab := pg_catalog.quote_ident(label);
    IF options IS NOT NULL THEN
        -- bad options fail here, not as a note on every characteristic
        PERFORM @extschema@.dlfin_binning(v.x, v.y, options) FROM (VALUES (1.0::float8, true), (2.0, false)) v(x, y);
    END IF;
    -- numbers are binned by value, text and booleans by category; other types are left out
    FOR c IN SELECT q.name, q.type, t.typcategory
             FROM dlfin.query_columns(query) q JOIN pg_catalog.pg_type t ON t.oid = q.type
             WHERE q.name <> label ORDER BY q.ordinal LOOP
        IF c.name = ANY (cols) THEN
            RAISE EXCEPTION 'the query has two columns named "%"', c.name
                USING ERRCODE = '42701', HINT = 'Give every column a distinct name.';
        END IF;
        IF c.typcategory = 'N' THEN
            cols := cols || c.name;
            exprs := exprs || pg_catalog.format('%I::float8', c.name);
        ELSIF c.typcategory IN ('S', 'B', 'E') THEN
            cols := cols || c.name;
            exprs := exprs || pg_catalog.format('%I::text', c.name);
        ELSE
            notes := notes || pg_catalog.jsonb_build_object(c.name, 'not binned: type ' || c.type::text);
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(cols) > 0 THEN
        BEGIN
            -- one scan: every characteristic's dlfin_binning in the same SELECT
            -- (jsonb_build_object takes at most 100 arguments: 40 columns each)
            EXECUTE pg_catalog.format('SELECT %s FROM (%s) q',
                (SELECT pg_catalog.string_agg(pg_catalog.format('pg_catalog.jsonb_build_object(%s)', o), ' || ' ORDER BY g)
                 FROM (SELECT (i - 1) / 40 AS g,
                              pg_catalog.string_agg(pg_catalog.format('%L, @extschema@.dlfin_binning(%s, %s%s)',
                                                                      cols[i], exprs[i], lab,
                                                                      CASE WHEN options IS NULL THEN ''
                                                                           ELSE pg_catalog.format(', %L::jsonb', options) END),
                                                    ', ' ORDER BY i) AS o
                       FROM pg_catalog.generate_subscripts(cols, 1) i GROUP BY 1) chunks),
                query) INTO res;
        EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
            -- a characteristic cannot be binned (constant, say): bin each
            -- one alone and report why the failing ones have no IV
            res := '{}';
            FOR i IN 1 .. pg_catalog.cardinality(cols) LOOP
                BEGIN
                    EXECUTE pg_catalog.format('SELECT @extschema@.dlfin_binning(%s, %s%s) FROM (%s) q',
                        exprs[i], lab,
                        CASE WHEN options IS NULL THEN '' ELSE pg_catalog.format(', %L::jsonb', options) END,
                        query) INTO one;
                    res := res || pg_catalog.jsonb_build_object(cols[i], one);
                EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
                    notes := notes || pg_catalog.jsonb_build_object(cols[i], 'not binned: ' || SQLERRM);
                END;
            END LOOP;
        END;
    END IF;
    RETURN QUERY
    SELECT (pg_catalog.row_number() OVER (ORDER BY (r.b ->> 'iv')::float8 DESC NULLS LAST, r.k))::integer,
           r.k, (r.b ->> 'iv')::float8, r.b ->> 'strength',
           CASE WHEN r.b IS NOT NULL THEN
               (SELECT pg_catalog.count(*)::integer FROM pg_catalog.jsonb_array_elements(r.b -> 'bins') e
                WHERE e ->> 'bin' <> 'missing') END,
           r.b, notes ->> r.k
    FROM (SELECT x.key AS k, x.value AS b FROM pg_catalog.jsonb_each(res) x
          UNION ALL
          SELECT n.key, NULL FROM pg_catalog.jsonb_each(notes) n) r
    ORDER BY 1;
END
$$;
COMMENT ON FUNCTION @extschema@.dlfin_iv(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'screening by information value: bins every numeric, text and boolean column of a query against its boolean label column with dlfin_binning, in one scan, ranked by IV';
