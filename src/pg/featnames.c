/*
 * featnames.c
 *	  Names of the features of a dlfin_train call, taken from its argument
 *	  expressions in the executing plan.
 *
 * The transition function reaches its own Aggref (AggGetAggref) and the
 * plan node that evaluates it.  A plain column is named after the column:
 * Vars that refer to a child plan's output are followed down, as EXPLAIN
 * VERBOSE follows them, to the scan's Var, whose range table entry gives
 * the name (an alias's column names first).  Subqueries and views are
 * looked through, as the planner flattens most of them: a column renamed
 * in a subquery or view keeps its table's name (the "features" option, or
 * dlfin.train, which names features after its query's columns, rename).  Explicit and implicit casts
 * around an expression do not count.  Any other expression is named by its
 * deparsed text, as EXPLAIN VERBOSE prints it; what has no usable name
 * becomes f1..fn (dlf_settle_feature_names).  The caller computes the names
 * once per query and keeps them in the aggregate state, so they reach the
 * final function through parallel workers and serialised states alike.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "dlfin_pg.h"

/* Whether the Aggref is a call of the aggregate whose transition runs now. */
static bool
is_own_aggref(FunctionCallInfo fcinfo, Aggref *aggref)
{
	HeapTuple	tup;
	bool		own;

	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tup))
		return false;
	own = ((Form_pg_aggregate) GETSTRUCT(tup))->aggtransfn == fcinfo->flinfo->fn_oid;
	ReleaseSysCache(tup);
	return own;
}

/* The expression under any casts: a cast does not rename a column. */
static Expr *
strip_casts(Expr *e)
{
	for (;;)
	{
		if (IsA(e, RelabelType))
			e = ((RelabelType *) e)->arg;
		else if (IsA(e, CoerceViaIO))
			e = ((CoerceViaIO *) e)->arg;
		else if (IsA(e, CoerceToDomain))
			e = ((CoerceToDomain *) e)->arg;
		else if (IsA(e, FuncExpr) &&
				 (((FuncExpr *) e)->funcformat == COERCE_EXPLICIT_CAST ||
				  ((FuncExpr *) e)->funcformat == COERCE_IMPLICIT_CAST) &&
				 ((FuncExpr *) e)->args != NIL)
			e = linitial(((FuncExpr *) e)->args);
		else
			return e;
	}
}

/*
 * Follows a Var that stands for an output column of a child plan (or of an
 * index-only scan's index, or of a subquery) down to the expression
 * computing it, as ruleutils.c resolves OUTER_VAR, INNER_VAR and INDEX_VAR;
 * *plan becomes the node whose expression it is.  NULL when the referent
 * cannot be found.
 */
static Expr *
follow_vars(Expr *e, Plan **plan)
{
	for (;;)
	{
		Plan	   *p = *plan;
		Plan	   *child;
		List	   *tlist;
		Var		   *v;

		e = strip_casts(e);
		if (!IsA(e, Var))
			return e;
		v = (Var *) e;
		if (v->varno == OUTER_VAR)
		{
			if (IsA(p, Append))
				child = linitial(((Append *) p)->appendplans);
			else if (IsA(p, MergeAppend))
				child = linitial(((MergeAppend *) p)->mergeplans);
			else
				child = outerPlan(p);
		}
		else if (v->varno == INNER_VAR)
			child = IsA(p, SubqueryScan) ? ((SubqueryScan *) p)->subplan : innerPlan(p);
		else if (v->varno == INDEX_VAR)
			child = p;
		else if (IsA(p, SubqueryScan) && v->varno == ((SubqueryScan *) p)->scan.scanrelid)
		{
			/*
			 * Into the subquery, as if the planner had flattened it (as it
			 * does most, and removes trivial scans of the rest): a column
			 * is named the same whatever plan the planner chose.
			 */
			child = ((SubqueryScan *) p)->subplan;
		}
		else
			return e;
		if (child == NULL)
			return NULL;
		if (v->varno != INDEX_VAR)
			tlist = child->targetlist;
		else if (IsA(p, IndexOnlyScan))
			tlist = ((IndexOnlyScan *) p)->indextlist;
		else if (IsA(p, ForeignScan))
			tlist = ((ForeignScan *) p)->fdw_scan_tlist;
		else if (IsA(p, CustomScan))
			tlist = ((CustomScan *) p)->custom_scan_tlist;
		else
			return NULL;
		if (v->varattno < 1 || v->varattno > list_length(tlist))
			return NULL;
		e = ((TargetEntry *) list_nth(tlist, v->varattno - 1))->expr;
		*plan = child;
	}
}

/* Name of column attno of a range table entry (alias first), or NULL. */
static char *
column_name(EState *estate, Index varno, AttrNumber attno)
{
	RangeTblEntry *rte;

	if (varno < 1 || varno > list_length(estate->es_range_table) || attno < 1)
		return NULL;
	rte = exec_rt_fetch(varno, estate);
	if (rte->alias && attno <= list_length(rte->alias->colnames))
		return strVal(list_nth(rte->alias->colnames, attno - 1));
	if (rte->rtekind == RTE_RELATION)
		return get_attname(rte->relid, attno, true);
	if (rte->eref && attno <= list_length(rte->eref->colnames))
		return strVal(list_nth(rte->eref->colnames, attno - 1));
	return NULL;
}

/* Deparses an expression of a plan node as EXPLAIN VERBOSE prints it. */
static char *
deparse_at(Expr *e, Plan *plan, EState *estate, List **dpcontext)
{
	if (*dpcontext == NIL)
	{
		PlannedStmt *ps = estate->es_plannedstmt;
		Bitmapset  *rels = NULL;

		for (int i = 1; i <= list_length(ps->rtable); i++)
			rels = bms_add_member(rels, i);
		*dpcontext = deparse_context_for_plan_tree(ps,
												   select_rtable_names_for_explain(ps->rtable, rels));
	}
	*dpcontext = set_deparse_context_plan(*dpcontext, plan, NIL);
	return deparse_expression((Node *) e, *dpcontext, false, false);
}

/*
 * The names of the n features of a dlfin_train transition call, the first
 * being aggregate input first_input (0-based); NULL when the call's
 * expressions cannot be reached (another aggregate calling dlfin_train's
 * transition, as Citus's wrappers do).
 */
static char **
lookup_names(FunctionCallInfo fcinfo, int first_input, int n)
{
	AggState   *agg;
	Aggref	   *aggref;
	List	   *inputs = NIL;
	List	   *dpcontext = NIL;
	ListCell   *lc;
	const char **cand;
	char	  **settled;
	char	  **names;
	DlfError	err;

	if (fcinfo->context == NULL || !IsA(fcinfo->context, AggState))
		return NULL;
	agg = (AggState *) fcinfo->context;
	aggref = AggGetAggref(fcinfo);
	if (aggref == NULL || agg->ss.ps.plan == NULL ||
		agg->ss.ps.state->es_plannedstmt == NULL ||
		!is_own_aggref(fcinfo, aggref))
		return NULL;
	foreach(lc, aggref->args)
	{
		TargetEntry *te = lfirst_node(TargetEntry, lc);

		/* ORDER BY columns that are not arguments come as resjunk */
		if (!te->resjunk)
			inputs = lappend(inputs, te->expr);
	}
	if (list_length(inputs) != PG_NARGS() - 1 ||
		first_input + n > list_length(inputs))
		return NULL;

	cand = palloc0(sizeof(char *) * n);
	for (int f = 0; f < n; f++)
	{
		Plan	   *plan = agg->ss.ps.plan;
		Expr	   *e = follow_vars(list_nth(inputs, first_input + f), &plan);

		if (e == NULL)
			continue;
		if (IsA(e, Var))
			cand[f] = column_name(agg->ss.ps.state, ((Var *) e)->varno,
								  ((Var *) e)->varattno);
		if (cand[f] == NULL)
			cand[f] = deparse_at(e, plan, agg->ss.ps.state, &dpcontext);
	}

	settled = palloc(sizeof(char *) * n);
	if (dlf_settle_feature_names(cand, n, settled, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	names = palloc(sizeof(char *) * n);
	for (int f = 0; f < n; f++)
	{
		names[f] = pstrdup(settled[f]);
		dlf_free(settled[f]);
	}
	return names;
}

/*
 * The names of the n features of a dlfin_train transition call (see
 * lookup_names), looked up on the call site's first call and kept in cache
 * for the query, in fn_mcxt.
 */
char **
dlfin_call_feature_names(FunctionCallInfo fcinfo, DlfCallNames *cache,
						 int first_input, int n)
{
	if (!cache->done)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		cache->names = lookup_names(fcinfo, first_input, n);
		cache->done = true;
		MemoryContextSwitchTo(old);
	}
	return cache->names;
}
