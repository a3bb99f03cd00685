/*
 * guard.c
 *	  Refuses to drop the extension while the model registry holds models.
 *
 * DROP EXTENSION dlfin (or DROP SCHEMA ... CASCADE of its schema) would
 * drop dlfin.models and dlfin.deployments with it: every registered model
 * and its audit history, silently.  An event trigger on ddl_command_start
 * looks at the statement before anything is dropped and refuses it while
 * dlfin.models has rows, unless dlfin.drop_registry is on.  It must be in
 * C: only the parse tree says which extension or schema a DROP names.
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "dlfin_pg.h"

PG_FUNCTION_INFO_V1(dlfin_guard_drop);

/* True when list (of String nodes) names the given name. */
static bool
names_one_of(List *objects, const char *name)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, String) && strcmp(strVal(n), name) == 0)
			return true;
	}
	return false;
}

/*
 * Number of rows in dlfin.models (as the current user, who drops it) when
 * the statement would drop the extension dlfin, else 0.
 */
static int64
versions_dropped(Node *parsetree)
{
	DropStmt   *stmt;
	int64		n = 0;
	bool		isnull;
	bool		drops;

	if (parsetree == NULL || !IsA(parsetree, DropStmt))
		return 0;
	stmt = (DropStmt *) parsetree;
	if (stmt->removeType != OBJECT_EXTENSION &&
		!(stmt->removeType == OBJECT_SCHEMA && stmt->behavior == DROP_CASCADE))
		return 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT n.nspname::pg_catalog.text, (SELECT pg_catalog.count(*) FROM dlfin.models) "
					"FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
					"WHERE e.extname OPERATOR(pg_catalog.=) 'dlfin'", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
	{
		SPI_finish();
		return 0;
	}
	if (stmt->removeType == OBJECT_EXTENSION)
		drops = names_one_of(stmt->objects, "dlfin");
	else
		drops = names_one_of(stmt->objects, "dlfin") ||
			names_one_of(stmt->objects, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	if (drops)
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();
	return n;
}

/* Event trigger dlfin.guard_drop(): see the file comment. */
Datum
dlfin_guard_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	int64		n;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dlfin.guard_drop() can only be called as an event trigger")));
	trig = (EventTriggerData *) fcinfo->context;
	if (dlfin_drop_registry)
		PG_RETURN_VOID();
	n = versions_dropped(trig->parsetree);
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop extension dlfin because its registry holds %lld model versions",
						(long long) n),
				 errdetail("Dropping the extension would delete them and their deployment history."),
				 errhint("Keep them with SELECT dlfin.export_models() first, then SET dlfin.drop_registry = on "
						 "to drop them with the extension, or drop them with dlfin.drop_model().")));
	PG_RETURN_VOID();
}
