/*
 * rowargs.h
 *	  The row form of the scoring, explaining and drift functions: one
 *	  composite argument whose columns are picked by the model's feature
 *	  names, instead of the features one by one in training order.
 *
 * The SQL signatures stay VARIADIC "any": a second signature taking
 * record would make dlfin_predict(m, a) ambiguous, as PostgreSQL ranks a
 * composite against record and "any" alike.  So each positional entry
 * point starts with DLFIN_ROW_FORM, which passes a call whose only feature
 * argument is a row to dlfin_row_call.
 */
#ifndef DLFIN_ROWARGS_H
#define DLFIN_ROWARGS_H

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/primnodes.h"

/* How a function takes its arguments, for its row form. */
typedef struct DlfRowForm
{
	PGFunction	positional;		/* called with the features picked */
	int			model_arg;		/* argument with the model (or its name) */
	int			row_arg;		/* argument with the row: where the
								 * features start positionally */
	bool		by_name;		/* model_arg is a registry name: positional
								 * takes the deployed model's bytes */
	bool		transition;		/* an aggregate's transition: a NULL model
								 * or row leaves the state as it is */
} DlfRowForm;

/* The row forms of the SQL functions, each for its positional entry point. */
extern const DlfRowForm dlfin_row_predict;
extern const DlfRowForm dlfin_row_predict_class;
extern const DlfRowForm dlfin_row_predict_proba;
extern const DlfRowForm dlfin_row_predict_name;
extern const DlfRowForm dlfin_row_predict_class_name;
extern const DlfRowForm dlfin_row_predict_proba_name;
extern const DlfRowForm dlfin_row_explain;
extern const DlfRowForm dlfin_row_explain_name;
extern const DlfRowForm dlfin_row_reasons;
extern const DlfRowForm dlfin_row_reasons_name;
extern const DlfRowForm dlfin_row_drift;

/* Whether argument row_arg's type is composite (the call site's, not the row's). */
extern bool dlfin_row_arg(FunctionCallInfo fcinfo, int row_arg);

/* Calls form->positional with the row's columns named like the features. */
extern Datum dlfin_row_call(FunctionCallInfo fcinfo, const DlfRowForm *form);

/*
 * Whether this is the row form: exactly one argument from row_arg on, a
 * row.  A call with more arguments pays one comparison; a one-feature call
 * with a float8 column, the usual case, a few loads more.
 */
static inline bool
dlfin_row_form(FunctionCallInfo fcinfo, int row_arg)
{
	Node	   *e;

	if (likely(fcinfo->nargs != row_arg + 1))
		return false;
	e = fcinfo->flinfo ? fcinfo->flinfo->fn_expr : NULL;
	if (e != NULL && IsA(e, FuncExpr))
	{
		Node	   *a = llast(((FuncExpr *) e)->args);

		if (IsA(a, Var) && ((Var *) a)->vartype == FLOAT8OID)
			return false;
	}
	return dlfin_row_arg(fcinfo, row_arg);
}

/* Starts a positional entry point: the row form goes to dlfin_row_call. */
#define DLFIN_ROW_FORM(fcinfo, form) \
	do { \
		if (dlfin_row_form((fcinfo), (form)->row_arg)) \
			return dlfin_row_call((fcinfo), (form)); \
	} while (0)

#endif
