-- dlfin install script, part 90: event triggers (after every function).

-- DROP EXTENSION keeps no model silently (dlfin.guard_drop, part 43).
CREATE EVENT TRIGGER dlfin_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION dlfin.guard_drop();
