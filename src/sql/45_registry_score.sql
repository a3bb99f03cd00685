-- dlfin install script, part 45: reading the registry: the query
-- description helper and scoring by name.

-- ---- helpers ----

CREATE OR REPLACE FUNCTION dlfin.query_columns(query text)
RETURNS TABLE (ordinal integer, name text, type pg_catalog.regtype)
AS 'MODULE_PATHNAME', 'dlfin_query_columns'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dlfin.query_columns(text) IS
'result columns of a single SELECT query, without running it';

-- ---- scoring by name ----
-- STABLE, not IMMUTABLE: the result depends on which version is deployed.
-- The deployed model is looked up once per query execution, under the
-- query's snapshot.  An untyped literal as first argument resolves to these
-- text overloads (the string category is preferred over bytea), so
-- dlfin_predict('loan_approval', ...) scores by name; write '\x...'::bytea
-- for literal model bytes.

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict(name pg_catalog.text, VARIADIC features "any")
RETURNS double precision
AS 'MODULE_PATHNAME', 'dlfin_predict_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_predict(pg_catalog.text, "any") IS
'score a row with the deployed version of a named model from dlfin.models';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict_class(name pg_catalog.text, VARIADIC features "any")
RETURNS text
AS 'MODULE_PATHNAME', 'dlfin_predict_class_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_predict_class(pg_catalog.text, "any") IS
'predicted class of a row, as text, with the deployed version of a named model';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_predict_proba(name pg_catalog.text, VARIADIC features "any")
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'dlfin_predict_proba_name'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 20;
COMMENT ON FUNCTION @extschema@.dlfin_predict_proba(pg_catalog.text, "any") IS
'class probabilities of a row with the deployed version of a named model';

CREATE OR REPLACE FUNCTION @extschema@.dlfin_model_info(name pg_catalog.text)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'dlfin_model_info_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION @extschema@.dlfin_model_info(pg_catalog.text) IS
'description of the deployed version of a named model, with its name and version';
