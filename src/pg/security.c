/*
 * security.c
 *	  Who registry code runs as: stored queries under their owner's rights,
 *	  and registry writes under the extension owner's, with the real caller
 *	  passed along.
 *
 * Two mechanisms, both modelled on how PostgreSQL itself runs code that
 * another role wrote (REFRESH MATERIALIZED VIEW, index expressions):
 *
 * - dlfin.run_as(role, search_path, statement, params...) runs a statement
 *	 as a role inside a security-restricted operation, with a search_path
 *	 of its own that ends in pg_temp, and returns its rows.  The caller must
 *	 already have the privileges of that role (as for SET ROLE), so calling
 *	 it directly grants nothing; the restriction forbids the statement to
 *	 SET ROLE, create temporary objects or change session state that would
 *	 outlive it.  Errors restore the user and settings through the normal
 *	 (sub)transaction abort.
 *
 * - dlfin_registry_call is the body of every registry function that
 *	 writes (dlfin.deploy, dlfin.rollback, dlfin.drop_model, dlfin.retrain,
 *	 dlfin.train_with_search_path).  It calls dlfin.registry_<name>, a
 *	 SECURITY DEFINER function nobody else may execute, with the calling
 *	 role as an extra first argument.  A SECURITY DEFINER function cannot
 *	 learn its caller by itself; this C entry can, and a user cannot call
 *	 the definer function with a forged caller because EXECUTE on it is
 *	 revoked and only this entry reaches it (through fmgr, which checks no
 *	 ACL).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "dlfin_pg.h"

PG_FUNCTION_INFO_V1(dlfin_run_as);
PG_FUNCTION_INFO_V1(dlfin_registry_call);

/*
 * Switches to the given role for stored code: checks that the current user
 * has the role's privileges, then runs as it in a security-restricted
 * operation with the given search_path (pg_temp searched last unless the
 * path names it).
 */
void
dlfin_as_role_enter(Oid role, const char *search_path, DlfAsRole *g)
{
	char	   *path;

	/* a model's owner may have been dropped since (regrole keeps the oid) */
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", role),
				 errdetail("The stored query belongs to a role that was dropped."),
				 errhint("A superuser can give the model to another role with dlfin.export_models() and dlfin.import_models().")));
	if (!has_privs_of_role(GetUserId(), role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to run a query as role \"%s\"",
						GetUserNameFromId(role, false)),
				 errdetail("Only members of a role may run its stored queries.")));

	GetUserIdAndSecContext(&g->save_userid, &g->save_sec_context);
	SetUserIdAndSecContext(role, g->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	g->nestlevel = NewGUCNestLevel();

	/* temporary objects of the session must not capture the owner's names */
	path = (search_path == NULL) ? "" : (char *) search_path;
	if (strstr(path, "pg_temp") == NULL)
		path = (*path == '\0') ? pstrdup("pg_temp") : psprintf("%s, pg_temp", path);
	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* Returns to the user and settings saved by dlfin_as_role_enter. */
void
dlfin_as_role_leave(DlfAsRole *g)
{
	AtEOXact_GUC(false, g->nestlevel);
	SetUserIdAndSecContext(g->save_userid, g->save_sec_context);
}

/*
 * dlfin.run_as(role regrole, search_path text, statement text,
 * VARIADIC params "any") returns setof record: the rows of a single
 * statement run as the role (see the file comment); $1... are the params.
 */
Datum
dlfin_run_as(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			nparams = PG_NARGS() - 3;
	Oid		   *types = palloc(sizeof(Oid) * Max(nparams, 1));
	Datum	   *values = palloc(sizeof(Datum) * Max(nparams, 1));
	char	   *nulls = palloc(Max(nparams, 1));
	char	   *path;
	char	   *stmt;
	DlfAsRole	g;
	int			ret;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dlfin.run_as needs a role and a statement")));
	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("dlfin.run_as does not take a VARIADIC array")));
	path = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	stmt = text_to_cstring(PG_GETARG_TEXT_PP(2));
	for (int i = 0; i < nparams; i++)
	{
		types[i] = get_fn_expr_argtype(fcinfo->flinfo, 3 + i);
		values[i] = PG_GETARG_DATUM(3 + i);
		nulls[i] = PG_ARGISNULL(3 + i) ? 'n' : ' ';
		if (types[i] == UNKNOWNOID)
		{
			/* an untyped literal arrives as a C string */
			types[i] = TEXTOID;
			if (!PG_ARGISNULL(3 + i))
				values[i] = CStringGetTextDatum(DatumGetCString(values[i]));
		}
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	dlfin_as_role_enter(PG_GETARG_OID(0), path, &g);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args(stmt, nparams, types, values, nulls, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "dlfin.run_as: statement is not a query: %s", SPI_result_code_string(ret));
	if (SPI_tuptable->tupdesc->natts != rsinfo->setDesc->natts)
		elog(ERROR, "dlfin.run_as: statement returns %d columns, caller expects %d",
			 SPI_tuptable->tupdesc->natts, rsinfo->setDesc->natts);
	for (int a = 0; a < rsinfo->setDesc->natts; a++)
		if (TupleDescAttr(SPI_tuptable->tupdesc, a)->atttypid !=
			TupleDescAttr(rsinfo->setDesc, a)->atttypid)
			elog(ERROR, "dlfin.run_as: column %d has type %s, caller expects %s", a + 1,
				 format_type_be(TupleDescAttr(SPI_tuptable->tupdesc, a)->atttypid),
				 format_type_be(TupleDescAttr(rsinfo->setDesc, a)->atttypid));
	for (uint64 r = 0; r < SPI_processed; r++)
		tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[r]);
	SPI_finish();
	dlfin_as_role_leave(&g);
	return (Datum) 0;
}

/* The definer function an entry calls, resolved once per call site. */
typedef struct RegistryTarget
{
	FmgrInfo	impl;
	int			nargs;			/* of the entry; the target has one more */
} RegistryTarget;

/*
 * Finds dlfin.registry_<entry name>(regrole, <entry's argument types>) for
 * the entry function fn_oid.  Only the schema dlfin is searched, which no
 * role but the extension's owner may create objects in.
 */
static RegistryTarget *
registry_target(FunctionCallInfo fcinfo)
{
	Oid			fn_oid = fcinfo->flinfo->fn_oid;
	RegistryTarget *t;
	HeapTuple	tup;
	Form_pg_proc proc;
	Oid			argtypes[FUNC_MAX_ARGS];
	char	   *impl_name;
	Oid			impl_oid;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fn_oid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	if (proc->pronargs + 1 > FUNC_MAX_ARGS)
		elog(ERROR, "dlfin registry entry %u has too many arguments", fn_oid);
	argtypes[0] = REGROLEOID;
	memcpy(argtypes + 1, proc->proargtypes.values, proc->pronargs * sizeof(Oid));
	impl_name = psprintf("registry_%s", NameStr(proc->proname));
	impl_oid = LookupFuncName(list_make2(makeString("dlfin"), makeString(impl_name)),
							  proc->pronargs + 1, argtypes, false);

	t = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RegistryTarget));
	t->nargs = proc->pronargs;
	ReleaseSysCache(tup);
	fmgr_info_cxt(impl_oid, &t->impl, fcinfo->flinfo->fn_mcxt);
	return t;
}

/*
 * Body of the registry's writing functions: calls the matching definer
 * function with the current user as first argument (see the file comment).
 */
Datum
dlfin_registry_call(PG_FUNCTION_ARGS)
{
	RegistryTarget *t = fcinfo->flinfo->fn_extra;
	LOCAL_FCINFO(call, FUNC_MAX_ARGS);
	Datum		result;

	if (t == NULL)
		fcinfo->flinfo->fn_extra = t = registry_target(fcinfo);
	InitFunctionCallInfoData(*call, &t->impl, t->nargs + 1, PG_GET_COLLATION(), NULL, NULL);
	call->args[0].value = ObjectIdGetDatum(GetUserId());
	call->args[0].isnull = false;
	for (int i = 0; i < t->nargs; i++)
		call->args[i + 1] = fcinfo->args[i];
	result = FunctionCallInvoke(call);
	fcinfo->isnull = call->isnull;
	return result;
}
