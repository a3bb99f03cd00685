-- dlfin install script, part 00: preamble and the registry schema.
-- The parts in src/sql/ are concatenated in name order into
-- dlfin--<version>.sql.  Every object reference is schema-qualified
-- (@extschema@, dlfin, pg_catalog) so a hostile search_path cannot change
-- what the script or the functions resolve to.

\echo Use "CREATE EXTENSION dlfin" to load this file. \quit

CREATE SCHEMA dlfin;
COMMENT ON SCHEMA dlfin IS 'dlfin model registry and helper functions';
