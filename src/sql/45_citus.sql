-- dlfin install script, part 45: what Citus needs from the registry.
--
-- On a Citus coordinator, a statement that reads Citus tables and scores
-- by name is rewritten before Citus plans it (src/pg/citus.c): the name
-- becomes a scalar subquery calling dlfin.deployed_model, which runs once
-- on the coordinator under the statement's snapshot, and its bytes go to
-- every worker.  doc/scaling.md has the paths and their guarantees.

-- STABLE: the deployed version may change between statements, never
-- within one (one lookup per statement, under its snapshot).
CREATE OR REPLACE FUNCTION dlfin.deployed_model(name pg_catalog.text)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'dlfin_deployed_model'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dlfin.deployed_model(pg_catalog.text) IS
'bytes of the deployed version of a named model, with the row-level security of dlfin.models';
