/*
 * train_options.c
 *	  The options argument of dlfin_train: which form the call uses (with
 *	  or without options, jsonb, json or an untyped literal), its value,
 *	  and the check that every row passes the same options.
 *
 * The check compares values, never addresses: options computed per row
 * live in per-tuple memory, which comes back at one address with other
 * bytes in it.  Only an options expression that cannot vary within one
 * aggregation (no Var of the aggregated rows, nothing volatile) is not
 * compared at all.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "train_state.h"

/*
 * The call site's DlfTrainCall, made on its first row (the transition
 * runs for every row; the expression tree does not change within a query).
 */
DlfTrainCall *
dlfin_train_call(FunctionCallInfo fcinfo)
{
	DlfTrainCall *call = fcinfo->flinfo->fn_extra;

	if (call == NULL)
	{
		call = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DlfTrainCall));
		call->options_type = get_fn_expr_argtype(fcinfo->flinfo, 1);
		fcinfo->flinfo->fn_extra = call;
	}
	return call;
}

/* Type of argument 1. */
static Oid
options_type(FunctionCallInfo fcinfo)
{
	return dlfin_train_call(fcinfo)->options_type;
}

/*
 * Whether argument 1 holds the options: a jsonb or json value, or an untyped
 * string literal, followed by a label and at least one feature.  One
 * aggregate signature serves both forms, so '{"epochs": 5}' needs no cast.
 */
bool
dlfin_train_options_form(FunctionCallInfo fcinfo)
{
	Oid			t;

	if (PG_NARGS() < 4)
		return false;
	t = options_type(fcinfo);
	return t == JSONBOID || t == JSONOID || t == UNKNOWNOID;
}

/* Text of a json or untyped-literal options argument. */
static char *
options_text(FunctionCallInfo fcinfo)
{
	if (options_type(fcinfo) == UNKNOWNOID)
		return DatumGetCString(PG_GETARG_DATUM(1));
	return text_to_cstring(PG_GETARG_TEXT_PP(1));
}

/* The options argument as jsonb; NULL for SQL NULL. */
Jsonb *
dlfin_train_options_jsonb(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(1))
		return NULL;
	if (options_type(fcinfo) == JSONBOID)
		return PG_GETARG_JSONB_P(1);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
											  CStringGetDatum(options_text(fcinfo))));
}

/* Raises the error for options that differ between rows. */
static void
pg_attribute_noreturn()
different_options(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("dlfin_train options must be the same for every row"),
			 errdetail("The options decide the model; values that vary from row to row would make it depend on the order of the rows.")));
}

/* The bytes of the options argument as passed (a varlena or a cstring). */
static void
options_bytes(FunctionCallInfo fcinfo, const char **p, Size *len)
{
	*p = DatumGetPointer(PG_GETARG_DATUM(1));
	*len = options_type(fcinfo) == UNKNOWNOID ? strlen(*p) + 1 :
		VARSIZE_ANY(*p);
}

/*
 * Whether the options argument has one value for every row of one
 * aggregation: an expression without a Var of the aggregated rows and
 * without volatile functions (a constant, a parameter, a scalar
 * subquery's value; the aggregate starts again when an outer value it
 * depends on changes).  Any other expression is compared row by row.
 */
static bool
options_arg_fixed(FunctionCallInfo fcinfo)
{
	Aggref	   *ag = AggGetAggref(fcinfo);
	TargetEntry *te;

	/* the aggregate's first argument (the transition's second) */
	if (ag == NULL || list_length(ag->args) < 1)
		return false;
	te = (TargetEntry *) linitial(ag->args);
	if (te == NULL || !IsA(te, TargetEntry) || te->expr == NULL)
		return false;
	return !contain_var_clause((Node *) te->expr) &&
		!contain_volatile_functions((Node *) te->expr);
}

/* Remembers the first row's options argument, to compare later rows. */
void
dlfin_train_remember_options(FunctionCallInfo fcinfo, TrainState *st)
{
	const char *p;
	Size		len;

	options_bytes(fcinfo, &p, &len);
	st->options_fixed = options_arg_fixed(fcinfo);
	st->options_raw = palloc(len);
	memcpy(st->options_raw, p, len);
	st->options_raw_len = len;
	if (options_type(fcinfo) != JSONBOID)
		st->options_text = pstrdup(options_text(fcinfo));
}

/*
 * Errors out unless this row's options equal the first row's: by their
 * bytes as passed, else (another representation of the same value, such
 * as a TOAST pointer and its value) by the detoasted value.  Options that
 * cannot vary within the aggregation (options_arg_fixed) are not compared.
 */
void
dlfin_train_check_options(FunctionCallInfo fcinfo, TrainState *st)
{
	bool		same;
	const char *p;
	Size		len;

	if (PG_ARGISNULL(1) || st->options == NULL)
	{
		if (!(PG_ARGISNULL(1) && st->options == NULL))
			different_options();
		return;
	}
	if (st->options_fixed)
		return;
	options_bytes(fcinfo, &p, &len);
	if (st->options_raw && len == st->options_raw_len &&
		memcmp(p, st->options_raw, len) == 0)
		return;
	if (options_type(fcinfo) == JSONBOID)
	{
		Jsonb	   *o = PG_GETARG_JSONB_P(1);

		same = VARSIZE(o) == VARSIZE(st->options) &&
			memcmp(o, st->options, VARSIZE(o)) == 0;
	}
	else
		same = st->options_text && strcmp(options_text(fcinfo), st->options_text) == 0;
	if (!same)
		different_options();
}
