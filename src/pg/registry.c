/*
 * registry.c
 *	  Scoring by model name from the registry (dlfin.models): the lookup,
 *	  whose cache the scoring functions by name (predict.c) test inline
 *	  (registry_cache.h); and the query description helper of dlfin.train.
 *
 * dlfin_predict(name text, ...) and friends look the deployed version of
 * the name up with SPI, read-only under the calling query's snapshot, so
 * one query execution sees exactly one version however many rows (or
 * parallel workers) it scores, and a deploy committed by another session is
 * seen by the next statement.  The lookup is cached in fn_extra next to the
 * scoring cache and repeated only when the name or the snapshot changes
 * (a PL/pgSQL expression keeps its fn_extra across statements).  The lookup
 * runs with the caller's rights: row-level security on dlfin.models decides
 * which names a caller may score.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"

#include "dlfin_pg.h"
#include "registry_cache.h"
#include "rowargs.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(dlfin_model_info_name);
PG_FUNCTION_INFO_V1(dlfin_query_columns);
PG_FUNCTION_INFO_V1(dlfin_query_columns_as);

static SPIPlanPtr deployed_plan = NULL;
static SPIPlanPtr exists_plan = NULL;

/* Prepares (once per backend) a registry query taking the name as $1. */
static SPIPlanPtr
keep_plan(SPIPlanPtr *slot, const char *sql)
{
	if (*slot == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	p = SPI_prepare(sql, 1, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*slot = p;
	}
	return *slot;
}

/*
 * Returns the deployed model of the name given as argument 0, looking it up
 * only when the name or the snapshot differs from the cached lookup.
 */
static RegistryCache *
lookup_deployed(FunctionCallInfo fcinfo, DlfScoreCache *c)
{
	RegistryCache *r = c->lookup;
	text	   *name;
	Datum		args[1];
	int			ret;
	bool		isnull;
	Datum		d;
	bytea	   *model;
	MemoryContext old;

	/* PG_GETARG_TEXT_PP without its call for a plain name: once a row */
	name = (text *) DatumGetPointer(PG_GETARG_DATUM(0));
	if (VARATT_IS_EXTENDED(name) && !VARATT_IS_SHORT(name))
		name = PG_GETARG_TEXT_PP(0);
	if (registry_lookup_current(r, (struct varlena *) name))
		return r;

	if (r->cxt == NULL)
		r->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "dlfin registry lookup",
									   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(r->cxt);
	r->name = NULL;
	r->model = NULL;

	args[0] = PointerGetDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	keep_plan(&deployed_plan,
			  "SELECT m.version, m.model FROM dlfin.models m "
			  "WHERE m.name OPERATOR(pg_catalog.=) $1 "
			  "AND m.status OPERATOR(pg_catalog.=) 'deployed'");
	/* read-only: runs under the calling query's snapshot */
	ret = SPI_execute_plan(deployed_plan, args, NULL, true, 2);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "dlfin registry lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		char	   *cname = text_to_cstring(name);

		keep_plan(&exists_plan,
				  "SELECT 1 FROM dlfin.models m WHERE m.name OPERATOR(pg_catalog.=) $1 LIMIT 1");
		ret = SPI_execute_plan(exists_plan, args, NULL, true, 1);
		if (ret == SPI_OK_SELECT && SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("dlfin model \"%s\" has no deployed version", cname),
					 errhint("Deploy a version with dlfin.deploy().")));
		if (dlfin_on_citus_worker())
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("dlfin model \"%s\" cannot be looked up on a Citus worker", cname),
					 errdetail("The registry is on the coordinator; this statement reached the worker with the model's name instead of its bytes."),
					 errhint("Load dlfin on the coordinator before Citus plans the statement: shared_preload_libraries = 'citus,dlfin'. "
							 "A model name taken from a column cannot be scored on the workers.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dlfin model \"%s\" does not exist", cname),
				 errhint("Train it with dlfin.train(), or check the name in dlfin.models; "
						 "you see only the models of roles you have the privileges of.")));
	}
	if (SPI_processed > 1)		/* the partial unique index forbids it */
		elog(ERROR, "dlfin model \"%s\" has more than one deployed version",
			 text_to_cstring(name));

	old = MemoryContextSwitchTo(r->cxt);
	r->version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	model = (bytea *) PG_DETOAST_DATUM_COPY(d);
	r->name = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(name));
	MemoryContextSwitchTo(old);
	r->name_arg = DatumGetPointer(PG_GETARG_DATUM(0));
	r->name_const = dlfin_arg_is_const(fcinfo->flinfo, 0);
	SPI_finish();

	if (ActiveSnapshotSet())
	{
		Snapshot	snap = GetActiveSnapshot();

		r->completions = snap->snapXactCompletionCount;
		r->xmin = snap->xmin;
		r->xmax = snap->xmax;
		r->curcid = snap->curcid;
	}
	/* set last: a lookup that failed on its way leaves no model to match */
	r->model = model;
	r->generation++;
	/* the model moved: let the scoring cache compare bytes, not addresses */
	c->key.last_ptr = NULL;
	return r;
}

/* The scoring cache of this call site, with the registry cache attached. */
static DlfScoreCache *
name_cache(FunctionCallInfo fcinfo)
{
	DlfScoreCache *c = fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DlfScoreCache));
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->lookup == NULL)
		c->lookup = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RegistryCache));
	return c;
}

/*
 * The deployed model bytes of the name in argument 0 (not NULL), looked up
 * once per query execution and snapshot; version, when not NULL, receives
 * its version.  The bytes live as long as the lookup: pass them on to
 * dlfin_score_cache_get() of the same call site.
 */
bytea *
dlfin_registry_model(FunctionCallInfo fcinfo, int32 *version)
{
	RegistryCache *r = lookup_deployed(fcinfo, name_cache(fcinfo));

	if (version)
		*version = r->version;
	return r->model;
}

/*
 * dlfin_registry_model, with the number of fetches the call site's lookup
 * has made: the bytes returned stay at their address, unchanged, while
 * that number stays the same.
 */
bytea *
dlfin_registry_model_gen(FunctionCallInfo fcinfo, uint64 *generation)
{
	RegistryCache *r = lookup_deployed(fcinfo, name_cache(fcinfo));

	*generation = r->generation;
	return r->model;
}

/*
 * dlfin_model_info(name): dlfin_model_info of the deployed model, with the
 * registry's name and version added.
 */
Datum
dlfin_model_info_name(PG_FUNCTION_ARGS)
{
	DlfScoreCache *c = name_cache(fcinfo);
	RegistryCache *r = lookup_deployed(fcinfo, c);
	Datum		info;
	Datum		extra;
	char	   *name = text_to_cstring(r->name);
	StringInfoData buf;

	info = DirectFunctionCall1(dlfin_model_info, PointerGetDatum(r->model));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"name\": ");
	escape_json(&buf, name);
	appendStringInfo(&buf, ", \"version\": %d}", r->version);
	extra = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	PG_RETURN_DATUM(DirectFunctionCall2(jsonb_concat, info, extra));
}

/* Raises the error for a dlfin.train query that is not one SELECT. */
static void
not_a_select(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("dlfin.train query must be a single SELECT statement"),
			 errhint("Give a query such as SELECT label, feature, ... FROM table.")));
}

/*
 * Fills the SRF result of fcinfo with the result columns of query, a single
 * SELECT, parsed but neither planned nor run.
 */
static void
query_columns(FunctionCallInfo fcinfo, const char *query)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SPIPlanPtr	plan;
	List	   *sources;
	CachedPlanSource *ps;
	TupleDesc	desc;
	int			pos = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* exactly one statement, a SELECT (or VALUES, TABLE, WITH ... SELECT) */
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1)
		not_a_select();
	ps = linitial(sources);
	if (ps->commandTag != CMDTAG_SELECT || ps->resultDesc == NULL)
		not_a_select();

	/* and it must work as a subquery, as dlfin.train runs it */
	plan = SPI_prepare(psprintf("SELECT * FROM (%s\n) q", query), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	ps = linitial(SPI_plan_get_plan_sources(plan));
	desc = ps->resultDesc;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (att->attisdropped)
			continue;
		values[0] = Int32GetDatum(++pos);
		values[1] = CStringGetTextDatum(NameStr(att->attname));
		values[2] = ObjectIdGetDatum(att->atttypid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
}

/*
 * dlfin.query_columns(query): the result columns of a single SELECT, parsed
 * with the caller's rights and search_path but not run.
 */
Datum
dlfin_query_columns(PG_FUNCTION_ARGS)
{
	InitMaterializedSRF(fcinfo, 0);
	query_columns(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	return (Datum) 0;
}

/*
 * dlfin.query_columns_as(role, search_path, query): the same, with names
 * resolved as the role and search_path that dlfin.run_as will run it with.
 */
Datum
dlfin_query_columns_as(PG_FUNCTION_ARGS)
{
	DlfAsRole	g;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dlfin.query_columns_as needs a role and a query")));
	InitMaterializedSRF(fcinfo, 0);
	dlfin_as_role_enter(PG_GETARG_OID(0),
						PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)), &g);
	query_columns(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(2)));
	dlfin_as_role_leave(&g);
	return (Datum) 0;
}
