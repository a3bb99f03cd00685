/*
 * reference_fn.c
 *	  dlfin_with_reference(model, features...): the model with its drift
 *	  reference (NULL shares, feature and score distributions) taken from
 *	  the aggregated rows, so that dlfin_drift works on a model that has no
 *	  training rows of its own, such as one imported from ONNX.
 *
 * The transition keeps each row's raw numeric values (float32, as
 * training stores them) and category codes; the final function hands them
 * to the core, which computes the distributions as training does.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "aggutil.h"
#include "dlfin_pg.h"
#include "scoring.h"

/* Rows kept so far: one column per feature. */
typedef struct RefState
{
	bytea	   *model;			/* the model bytes of the first row */
	int32		nfeatures;
	int64		n,
				cap;
	float	  **num;			/* [nfeatures]: numeric column or NULL */
	int32	  **cat;			/* [nfeatures]: category codes or NULL */
} RefState;

/* Starts a state for the model bytes b and its decoded model m. */
static RefState *
ref_new(bytea *b, const DlfModel *m)
{
	RefState   *st = palloc0(sizeof(RefState));

	st->model = palloc(VARSIZE_ANY(b));
	memcpy(st->model, b, VARSIZE_ANY(b));
	st->nfeatures = m->nfeatures;
	st->cap = 1024;
	st->num = palloc0(sizeof(float *) * m->nfeatures);
	st->cat = palloc0(sizeof(int32 *) * m->nfeatures);
	for (int32 f = 0; f < m->nfeatures; f++)
		if (m->features[f].kind == DLF_FEAT_NUMERIC)
			st->num[f] = palloc(sizeof(float) * st->cap);
		else
			st->cat[f] = palloc(sizeof(int32) * st->cap);
	return st;
}

/* Doubles the columns' room (in the aggregate context). */
static void
ref_grow(RefState *st)
{
	if (st->cap >= (int64) (MaxAllocHugeSize / 2 / sizeof(float)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many reference rows for dlfin_with_reference")));
	st->cap *= 2;
	for (int32 f = 0; f < st->nfeatures; f++)
		if (st->num[f])
			st->num[f] = repalloc_huge(st->num[f], sizeof(float) * st->cap);
		else
			st->cat[f] = repalloc_huge(st->cat[f], sizeof(int32) * st->cap);
}

PG_FUNCTION_INFO_V1(dlfin_reference_sfunc);
/* Transition: keeps one row's features. */
Datum
dlfin_reference_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext actx = dlfin_agg_context(fcinfo, "dlfin_reference_sfunc");
	RefState   *st = PG_ARGISNULL(0) ? NULL : (RefState *) PG_GETARG_POINTER(0);
	DlfScoreCache *c;
	bytea	   *b;
	double	   *raw;

	if (PG_ARGISNULL(1))
	{
		/* a NULL model: the row is skipped */
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("dlfin_with_reference does not accept a VARIADIC array"),
				 errhint("Pass the features as separate arguments.")));
	c = dlfin_score_cache_get(fcinfo, PG_GETARG_DATUM(1), 2);
	b = PG_GETARG_BYTEA_PP(1);
	if (st == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(actx);

		st = ref_new(b, c->model);
		MemoryContextSwitchTo(old);
	}
	else if (VARSIZE_ANY_EXHDR(b) != VARSIZE_ANY_EXHDR(st->model) ||
			 memcmp(VARDATA_ANY(b), VARDATA_ANY(st->model), VARSIZE_ANY_EXHDR(b)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_with_reference needs the same model on every row")));
	raw = c->extra;
	if (raw == NULL)
		c->extra = raw = MemoryContextAlloc(c->cxt, sizeof(double) * c->model->nfeatures);
	dlfin_load_row(fcinfo, c, 2, raw);
	if (st->n == st->cap)
	{
		MemoryContext old = MemoryContextSwitchTo(actx);

		ref_grow(st);
		MemoryContextSwitchTo(old);
	}
	for (int32 f = 0; f < st->nfeatures; f++)
		if (st->num[f])
			st->num[f][st->n] = (float) raw[f];	/* NaN for NULL */
		else
			st->cat[f][st->n] = (int32) dlf_scorer_input(c->scorer, f);
	st->n++;
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_reference_final);
/* Final: the model bytes with the rows' distributions as drift reference. */
Datum
dlfin_reference_final(PG_FUNCTION_ARGS)
{
	RefState   *st = PG_ARGISNULL(0) ? NULL : (RefState *) PG_GETARG_POINTER(0);
	DlfModel   *m;
	DlfDataset	d;
	DlfError	err;

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	m = dlfin_decode_model(st->model);
	memset(&d, 0, sizeof(d));
	d.nrows = st->n;
	d.nfeatures = st->nfeatures;
	d.num = st->num;
	d.cat = st->cat;
	memset(&err, 0, sizeof(err));
	if (dlf_govern_reference(m, &d, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	PG_RETURN_BYTEA_P(dlfin_encode_model(m));
}
