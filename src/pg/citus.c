/*
 * citus.c
 *	  Scoring by name on Citus: the coordinator resolves the deployed
 *	  version, the workers score with it.
 *
 * The registry (dlfin.models) lives on the coordinator only.  A Citus
 * worker that runs dlfin_predict('name', ...) for its shards has no
 * registry to look the name up in, and workers looking it up each on their
 * own could see different versions around a deploy.  So, before Citus
 * plans a statement that reads Citus tables, a planner hook rewrites every
 * by-name call
 *
 *	  dlfin_predict('name', f1, f2)
 * into
 *	  dlfin_predict((SELECT dlfin.deployed_model('name') FROM (SELECT) s
 *					 LEFT JOIN dlfin.names n ON false), f1, f2)
 *
 * (the bytea form of the same function).  The scalar subquery reads a
 * coordinator-local table, so Citus plans it recursively: it runs once per
 * execution, on the coordinator, under the statement's snapshot and with
 * the caller's rights (row-level security decides which names the caller
 * may score), and its one value is shipped to every worker as an
 * intermediate result.  Every shard is therefore scored with one version,
 * the one deployed on the coordinator when the statement started, and a
 * deploy or rollback is seen by the next statement.  dlfin_model_info(name)
 * and dlfin.deployed_model(name) are wrapped whole in such a subquery.
 *
 * The hook needs dlfin's library loaded before Citus plans the statement:
 * shared_preload_libraries = 'citus,dlfin' on the coordinator.  A worker
 * asked to look up a name anyway says so (dlfin_registry_on_worker_error).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "dlfin_pg.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(dlfin_deployed_model);

static planner_hook_type prev_planner_hook = NULL;

/* What the rewriting walk found and did. */
typedef struct NameCtx
{
	bool		found;			/* a by-name call seen (first pass) */
	bool		changed;		/* a call rewritten at this query level */
	List	   *relids;			/* relations the statement reads */
} NameCtx;

/* The C entries of the by-name functions whose first argument is the name. */
static const char *const by_name_symbols[] = {
	"dlfin_predict_name", "dlfin_predict_class_name", "dlfin_predict_proba_name",
	"dlfin_explain_name", "dlfin_reasons_name", "dlfin_model_info_name",
	"dlfin_deployed_model", NULL
};

/*
 * True when funcid is one of dlfin's by-name functions (a C function, which
 * only a superuser can create, with one of their entries and a text first
 * argument); gives its name and schema, and whether it has no bytea form
 * (then the whole call runs on the coordinator).
 */
static bool
is_by_name(Oid funcid, char **fname, Oid *schema, bool *whole)
{
	HeapTuple	tup;
	Form_pg_proc p;
	bool		result = false;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(tup))
		return false;
	p = (Form_pg_proc) GETSTRUCT(tup);
	if (p->prolang == ClanguageId && p->pronargs >= 1 &&
		p->proargtypes.values[0] == TEXTOID)
	{
		bool		isnull;
		Datum		src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
		char	   *sym = isnull ? NULL : TextDatumGetCString(src);

		for (int i = 0; sym && by_name_symbols[i]; i++)
			if (strcmp(sym, by_name_symbols[i]) == 0)
			{
				result = true;
				if (fname)
					*fname = pstrdup(NameStr(p->proname));
				if (schema)
					*schema = p->pronamespace;
				if (whole)
					*whole = strcmp(sym, "dlfin_model_info_name") == 0 ||
						strcmp(sym, "dlfin_deployed_model") == 0;
				break;
			}
	}
	ReleaseSysCache(tup);
	return result;
}

/* True when node holds a column, aggregate or window reference of any level. */
static bool
has_row_reference(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, PlaceHolderVar) || IsA(node, Aggref) ||
		IsA(node, GroupingFunc) || IsA(node, WindowFunc) || IsA(node, SubLink))
		return true;
	return expression_tree_walker(node, has_row_reference, context);
}

/* The bytea form (same name and schema, bytea first argument) of funcid. */
static Oid
bytea_form(Oid funcid, const char *fname, Oid schema)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc p;
	Oid		   *types;
	oidvector  *args;
	Oid			result;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	p = (Form_pg_proc) GETSTRUCT(tup);
	types = palloc(sizeof(Oid) * p->pronargs);
	memcpy(types, p->proargtypes.values, sizeof(Oid) * p->pronargs);
	types[0] = BYTEAOID;
	args = buildoidvector(types, p->pronargs);
	ReleaseSysCache(tup);
	result = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
							 CStringGetDatum(fname), PointerGetDatum(args),
							 ObjectIdGetDatum(schema));
	if (!OidIsValid(result))
		elog(ERROR, "dlfin function %s(bytea, ...) is missing", fname);
	return result;
}

/*
 * A scalar subquery over a coordinator-local table, which Citus therefore
 * runs on the coordinator: dlfin.deployed_model(name), or the whole call
 * when whole is given.
 */
static SubLink *
coordinator_sublink(Node *name, FuncExpr *whole)
{
	const char *sql =
		"SELECT dlfin.deployed_model(NULL::pg_catalog.text) "
		"FROM (SELECT) s LEFT JOIN dlfin.names n ON false";
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	List	   *qs = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), sql,
														NULL, 0, NULL);
	Query	   *q = linitial_node(Query, qs);
	TargetEntry *te = linitial_node(TargetEntry, q->targetList);
	FuncExpr   *dm = (FuncExpr *) te->expr;
	SubLink    *s = makeNode(SubLink);

	Assert(IsA(dm, FuncExpr));
	if (whole)
	{
		/* the whole call runs on the coordinator */
		te->expr = (Expr *) whole;
		te->resname = pstrdup("v");
	}
	else
		linitial(dm->args) = name;
	s->subLinkType = EXPR_SUBLINK;
	s->subLinkId = 0;
	s->testexpr = NULL;
	s->operName = NIL;
	s->subselect = (Node *) q;
	s->location = -1;
	return s;
}

/* Finds by-name calls with a name that needs no row, and the relations read. */
static bool
find_walker(Node *node, NameCtx *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, find_walker, ctx, QTW_EXAMINE_RTES_BEFORE);
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
			ctx->relids = list_append_unique_oid(ctx->relids, rte->relid);
		return false;
	}
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) node;

		if (f->args != NIL && is_by_name(f->funcid, NULL, NULL, NULL))
			ctx->found = true;
	}
	return expression_tree_walker(node, find_walker, ctx);
}

/* Rewrites the by-name calls whose name does not depend on the row. */
static Node *
rewrite_mutator(Node *node, NameCtx *ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
	{
		bool		outer = ctx->changed;
		Query	   *q;

		ctx->changed = false;
		q = query_tree_mutator((Query *) node, rewrite_mutator, ctx, 0);
		if (ctx->changed)
			q->hasSubLinks = true;
		ctx->changed = outer;
		return (Node *) q;
	}
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) expression_tree_mutator(node, rewrite_mutator, ctx);
		char	   *fname;
		Oid			schema;
		bool		whole;
		Node	   *name;

		if (f->args == NIL || !is_by_name(f->funcid, &fname, &schema, &whole))
			return (Node *) f;
		name = linitial(f->args);
		/* a name taken from the row (or volatile) stays a worker lookup */
		if (has_row_reference(name, NULL) || contain_volatile_functions(name))
			return (Node *) f;
		ctx->changed = true;
		if (whole)
			return (Node *) coordinator_sublink(NULL, f);
		f = copyObject(f);
		linitial(f->args) = coordinator_sublink(name, NULL);
		f->funcid = bytea_form(f->funcid, fname, schema);
		return (Node *) f;
	}
	return expression_tree_mutator(node, rewrite_mutator, ctx);
}

/* True when one of relids is a Citus table (in pg_dist_partition). */
static bool
reads_citus_table(List *relids)
{
	Datum	   *elems;
	ArrayType  *arr;
	Datum		args[1];
	Oid			argtypes[1] = {OIDARRAYOID};
	bool		result;
	int			i = 0;
	ListCell   *lc;

	if (relids == NIL)
		return false;
	elems = palloc(sizeof(Datum) * list_length(relids));
	foreach(lc, relids)
		elems[i++] = ObjectIdGetDatum(lfirst_oid(lc));
	arr = construct_array(elems, i, OIDOID, sizeof(Oid), true, TYPALIGN_INT);
	args[0] = PointerGetDatum(arr);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition p "
							  "WHERE p.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) LIMIT 1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed");
	result = SPI_processed > 0;
	SPI_finish();
	return result;
}

/* Planner hook: rewrites by-name scoring in statements that read Citus tables. */
static PlannedStmt *
dlfin_planner(Query *parse, const char *query_string, int cursorOptions,
			  ParamListInfo boundParams)
{
	if (IsTransactionState() && parse->commandType != CMD_UTILITY)
	{
		NameCtx		ctx = {0};

		/* a walk with syscache lookups only, unless a by-name call is there */
		find_walker((Node *) parse, &ctx);
		if (ctx.found && OidIsValid(get_extension_oid("citus", true)) &&
			reads_citus_table(ctx.relids))
			parse = (Query *) rewrite_mutator((Node *) parse, &ctx);
	}
	if (prev_planner_hook)
		return prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/* Installs the planner hook (from _PG_init). */
void
dlfin_citus_init(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = dlfin_planner;
}

/* True when this backend serves a Citus coordinator's task on a worker. */
bool
dlfin_on_citus_worker(void)
{
	const char *app = GetConfigOption("application_name", true, false);

	return app != NULL && strncmp(app, "citus_internal", 14) == 0;
}

/*
 * dlfin.deployed_model(name): the bytes of the deployed version of a name,
 * looked up once per statement (the registry's lookup, its errors and its
 * row-level security).
 */
Datum
dlfin_deployed_model(PG_FUNCTION_ARGS)
{
	bytea	   *b = dlfin_registry_model(fcinfo, NULL);

	PG_RETURN_BYTEA_P((bytea *) PG_DETOAST_DATUM_COPY(PointerGetDatum(b)));
}
