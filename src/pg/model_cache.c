/*
 * model_cache.c
 *	  The per-query model cache of the scoring, explaining and drift
 *	  functions: the decoded model, its scorer and the checked argument
 *	  types, kept in fn_extra while the model datum stays the same.
 *
 * Whether a datum is the cached model is decided by its bytes
 * (DlfModelKey, src/core/mcache.c): the whole datum as passed is compared
 * with a private copy, which for a model read from a table is its 18-byte
 * TOAST pointer or its stored bytes, so the model is detoasted and decoded
 * once.  Only a Const argument is trusted by its address, since only the
 * plan keeps it in place for the whole query; a plpgsql variable, a
 * parameter, a subquery's value or a column may be freed and another model
 * read into the same address.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "dlfin_pg.h"
#include "scoring.h"

/* Frees the previous cached model (its memory context). */
static void
cache_reset(DlfScoreCache *c)
{
	if (c->cxt)
		MemoryContextDelete(c->cxt);
	c->cxt = NULL;
	c->model = NULL;
	c->scorer = NULL;
	/* the key's copy lived in cxt: forget it without freeing */
	c->key.bytes = NULL;
	c->key.len = 0;
	c->key.last_ptr = NULL;
	/* these lived in cxt too: never reuse them for the next model */
	c->types = NULL;
	c->checked_nargs = 0;
	c->out = NULL;
	c->std = NULL;
	c->mean = NULL;
	c->inv_scale = NULL;
	c->conv = NULL;
	c->idx = NULL;
	c->val = NULL;
	c->offsets = NULL;
	c->extra = NULL;
}

/*
 * How the all-numeric path reads each feature argument, decided once: a
 * switch on a byte per argument instead of a call per value.
 */
static uint8 *
arg_conversions(MemoryContext cxt, const DlfArgType *types, int nargs)
{
	uint8	   *conv = MemoryContextAlloc(cxt, Max(nargs, 1));

	for (int i = 0; i < nargs; i++)
	{
		switch (types[i].base)
		{
			case FLOAT8OID:
				conv[i] = DLF_CONV_FLOAT8;
				break;
			case INT4OID:
				conv[i] = DLF_CONV_INT4;
				break;
			case INT8OID:
				conv[i] = DLF_CONV_INT8;
				break;
			case INT2OID:
				conv[i] = DLF_CONV_INT2;
				break;
			case FLOAT4OID:
				conv[i] = DLF_CONV_FLOAT4;
				break;
			case BOOLOID:
				conv[i] = DLF_CONV_BOOL;
				break;
			case NUMERICOID:
				conv[i] = DLF_CONV_NUMERIC;
				break;
			default:
				conv[i] = DLF_CONV_OTHER;
				break;
		}
	}
	return conv;
}

/*
 * Whether every text feature is categorical and every other one numeric,
 * as dlfin_load_row then sets each feature's input.
 */
static bool
entries_apply(const DlfModel *m)
{
	for (int32 f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->sqltype == DLF_SQL_TEXT ? ft->kind != DLF_FEAT_CATEGORICAL
			: ft->kind != DLF_FEAT_NUMERIC)
			return false;
	}
	return true;
}

/*
 * Sets up the entries path of a model with categorical features: each row
 * becomes one first-layer entry per feature (dlf_scorer_category_input),
 * scored without the scorer's input vector.
 */
static void
setup_entries(DlfScoreCache *c, int nargs)
{
	c->idx = MemoryContextAlloc(c->cxt, sizeof(int32) * Max(nargs, 1));
	c->val = MemoryContextAlloc(c->cxt, sizeof(float) * Max(nargs, 1));
	c->offsets = dlf_scorer_offsets(c->scorer);
	dlf_scorer_scaling(c->scorer, &c->mean, &c->inv_scale);
	c->conv = arg_conversions(c->cxt, c->types, nargs);
}

/* Checks the argument types against the model's features, once per query. */
static void
check_arg_types(FunctionCallInfo fcinfo, DlfScoreCache *c, int first_feature)
{
	const DlfModel *m = c->model;
	int			nargs = PG_NARGS() - first_feature;

	if (nargs != m->nfeatures)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin model expects %d features but %d were given",
						m->nfeatures, nargs),
				 errhint("Pass the features in the order used for training; dlfin_model_info() lists them.")));
	c->types = MemoryContextAlloc(c->cxt, sizeof(DlfArgType) * Max(nargs, 1));
	for (int i = 0; i < nargs; i++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, first_feature + i);
		const DlfFeature *ft = &m->features[i];
		bool		ok = dlfin_classify_type(t, &c->types[i]);

		/* numbers and booleans are interchangeable; text is text */
		if (ok && ft->sqltype == DLF_SQL_TEXT)
			ok = c->types[i].sqltype == DLF_SQL_TEXT;
		else if (ok)
			ok = c->types[i].sqltype != DLF_SQL_TEXT;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("dlfin model feature \"%s\" expects %s but got %s",
							ft->name, dlf_sqltype_name(ft->sqltype),
							format_type_be(t))));
	}
	c->checked_nargs = nargs;
	/* numeric features only: rows are scored without per-feature dispatch */
	c->std = NULL;
	if (dlf_scorer_all_numeric(c->scorer))
	{
		c->std = MemoryContextAlloc(c->cxt, sizeof(float) * Max(nargs, 1));
		dlf_scorer_scaling(c->scorer, &c->mean, &c->inv_scale);
		c->all_float8 = true;
		for (int i = 0; i < nargs; i++)
			c->all_float8 &= c->types[i].base == FLOAT8OID;
		c->conv = arg_conversions(c->cxt, c->types, nargs);
	}
	else if (entries_apply(m))
		setup_entries(c, nargs);
}


/*
 * Whether argument argnum of the call is a Const of the plan: its datum
 * then stays at one address with the same bytes for the whole query.
 */
bool
dlfin_arg_is_const(FmgrInfo *flinfo, int argnum)
{
	Node	   *expr = flinfo->fn_expr;
	List	   *args;
	Node	   *arg;

	if (expr == NULL)
		return false;
	if (IsA(expr, FuncExpr))
		args = ((FuncExpr *) expr)->args;
	else if (IsA(expr, OpExpr))
		args = ((OpExpr *) expr)->args;
	else
		return false;
	if (argnum < 0 || argnum >= list_length(args))
		return false;
	arg = (Node *) list_nth(args, argnum);
	return arg != NULL && IsA(arg, Const);
}

/*
 * Forgets the address the call site's cache last matched its model at: its
 * caller passes a Const whose bytes it has freed (the row form, for a new
 * model), and new bytes may come at the same address.
 */
void
dlfin_score_cache_moved(FmgrInfo *flinfo)
{
	DlfScoreCache *c = flinfo->fn_extra;

	if (c != NULL)
		c->key.last_ptr = NULL;
}

/* Raises the error of a row that overflows the cached model's network. */
void
dlfin_report_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("dlfin model overflowed on this row"),
			 errdetail("An intermediate value of the network is not finite for these feature values, "
					   "which lie far outside the training data."),
			 errhint("Check the row's feature values against the training data (dlfin_model_info lists the features' means and scales).")));
}

/*
 * Returns the cached scorer for the model argument, decoding the model only
 * when the datum's bytes differ from the cached one's.
 */
DlfScoreCache *
dlfin_score_cache_get(FunctionCallInfo fcinfo, Datum model_datum,
					  int first_feature)
{
	DlfScoreCache *c = fcinfo->flinfo->fn_extra;
	struct varlena *raw = (struct varlena *) DatumGetPointer(model_datum);
	Size		raw_len = VARSIZE_ANY(raw);
	MemoryContext old;
	bytea	   *b;
	DlfModel   *model;
	DlfError	err;

	if (dlfin_score_cache_hit(fcinfo, model_datum) != NULL)
		return c;
	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DlfScoreCache));
		fcinfo->flinfo->fn_extra = c;
	}
	/*
	 * The registry's bytes stay in place until its next lookup, which
	 * forgets the address (registry.c); a model argument only when it is
	 * a Const.
	 */
	c->trust_ptr = c->lookup != NULL || dlfin_arg_is_const(fcinfo->flinfo, 0);

	cache_reset(c);
	c->generation++;
	c->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "dlfin model cache",
								   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(c->cxt);

	/*
	 * c->model is set last: if decoding, the scorer or the argument check
	 * fails, the cache stays empty, so a caller that catches the error and
	 * calls again with the same datum never finds a half-built entry.
	 */
	b = DatumGetByteaPP(model_datum);
	model = dlfin_decode_model(b);
	c->scorer = dlf_scorer_new(model, &err);
	if (c->scorer == NULL)
	{
		MemoryContextSwitchTo(old);
		dlfin_report_core_error(&err);
	}
	c->model = model;
	PG_TRY();
	{
		check_arg_types(fcinfo, c, first_feature);
		if (dlf_model_key_set(&c->key, raw, raw_len, c->trust_ptr, &err) != DLF_OK)
			dlfin_report_core_error(&err);
	}
	PG_CATCH();
	{
		c->model = NULL;
		c->key.bytes = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return c;
}
