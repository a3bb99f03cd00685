/*
 * metrics_reg.c
 *	  SQL aggregate for regression metrics over all (actual, prediction)
 *	  pairs.
 */
#include "metrics_internal.h"

/* ---- regression: all (actual, prediction) pairs ---- */

typedef struct RegPair
{
	double		actual;
	double		pred;
} RegPair;

typedef struct RegState
{
	int64		n;
	int64		cap;
	RegPair    *pairs;
} RegState;

/* Makes room for more pairs within the memory limit. */
static void
reg_reserve(MemoryContext ctx, RegState *st, int64 more)
{
	int64		newcap;

	if (st->n + more <= st->cap)
		return;
	newcap = grow_capacity(st->cap, st->n + more, sizeof(RegPair),
						   "the regression metrics buffer");
	if (st->pairs == NULL)
		st->pairs = MemoryContextAllocHuge(ctx, newcap * sizeof(RegPair));
	else
		st->pairs = repalloc_huge(st->pairs, newcap * sizeof(RegPair));
	st->cap = newcap;
}

PG_FUNCTION_INFO_V1(dlfin_reg_trans);
/* Transition of dlfin_regression_metrics(prediction, actual). */
Datum
dlfin_reg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_reg_trans");
	RegState   *st = PG_ARGISNULL(0) ? NULL : (RegState *) PG_GETARG_POINTER(0);

	if (st == NULL)
		st = (RegState *) MemoryContextAllocZero(ctx, sizeof(RegState));
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		double		p = PG_GETARG_FLOAT8(1);
		double		a = PG_GETARG_FLOAT8(2);

		if (!isfinite(p) || !isfinite(a))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("prediction and actual value must be finite numbers")));
		reg_reserve(ctx, st, 1);
		st->pairs[st->n].actual = a;
		st->pairs[st->n].pred = p;
		st->n++;
	}
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_reg_combine);
/* Merges two regression states; either may be NULL. */
Datum
dlfin_reg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_reg_combine");
	RegState   *a = PG_ARGISNULL(0) ? NULL : (RegState *) PG_GETARG_POINTER(0);
	RegState   *b = PG_ARGISNULL(1) ? NULL : (RegState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = (RegState *) MemoryContextAllocZero(ctx, sizeof(RegState));
	if (b->n > 0)
	{
		reg_reserve(ctx, a, b->n);
		memcpy(a->pairs + a->n, b->pairs, b->n * sizeof(RegPair));
		a->n += b->n;
	}
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(dlfin_reg_serial);
/* Serialises a regression state: magic, version, count, pairs. */
Datum
dlfin_reg_serial(PG_FUNCTION_ARGS)
{
	RegState   *st = (RegState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, REG_MAGIC);
	pq_sendbyte(&buf, SERIAL_VERSION);
	pq_sendint64(&buf, st->n);
	for (int64 i = 0; i < st->n; i++)
	{
		pq_sendfloat8(&buf, st->pairs[i].actual);
		pq_sendfloat8(&buf, st->pairs[i].pred);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(dlfin_reg_deserial);
/* Rebuilds a regression state, checking the count against the length. */
Datum
dlfin_reg_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_reg_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	RegState   *st;
	int64		n;

	dlfin_state_begin_read(&buf, b, REG_MAGIC, SERIAL_VERSION, "regression metrics");
	if (buf.len - buf.cursor < 8)
		dlfin_corrupt_state("regression metrics");
	n = pq_getmsgint64(&buf);
	if (n < 0 || n > (int64) (MaxAllocHugeSize / sizeof(RegPair)) ||
		(int64) (buf.len - buf.cursor) != n * 16)
		dlfin_corrupt_state("regression metrics");
	st = (RegState *) MemoryContextAllocZero(ctx, sizeof(RegState));
	if (n > 0)
		reg_reserve(ctx, st, n);
	for (int64 i = 0; i < n; i++)
	{
		st->pairs[i].actual = pq_getmsgfloat8(&buf);
		st->pairs[i].pred = pq_getmsgfloat8(&buf);
		if (!isfinite(st->pairs[i].actual) || !isfinite(st->pairs[i].pred))
			dlfin_corrupt_state("regression metrics");
	}
	st->n = n;
	PG_RETURN_POINTER(st);
}

/* Orders pairs by actual value, then prediction. */
static int
regpair_cmp(const void *a, const void *b)
{
	const RegPair *x = a;
	const RegPair *y = b;

	if (x->actual != y->actual)
		return x->actual < y->actual ? -1 : 1;
	if (x->pred != y->pred)
		return x->pred < y->pred ? -1 : 1;
	return 0;
}

PG_FUNCTION_INFO_V1(dlfin_reg_final);
/* Final function of dlfin_regression_metrics: n, mse, rmse, mae, r2. */
Datum
dlfin_reg_final(PG_FUNCTION_ARGS)
{
	RegState   *st;
	double	   *p,
			   *a;
	DlfRegressionMetrics m;
	DlfBuf		b;
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (RegState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();
	/* canonical order, so that sums do not depend on the merge order */
	qsort(st->pairs, st->n, sizeof(RegPair), regpair_cmp);
	p = palloc_extended(st->n * sizeof(double), MCXT_ALLOC_HUGE);
	a = palloc_extended(st->n * sizeof(double), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < st->n; i++)
	{
		p[i] = st->pairs[i].pred;
		a[i] = st->pairs[i].actual;
	}
	dlf_regression_metrics(p, a, st->n, &m);
	pfree(p);
	pfree(a);
	dlf_buf_init(&b);
	dlf_buf_append(&b, "{", 1);
	dlfin_json_num(&b, "n", (double) m.n, false);
	dlfin_json_num(&b, "mse", m.mse, true);
	dlfin_json_num(&b, "rmse", m.rmse, true);
	dlfin_json_num(&b, "mae", m.mae, true);
	dlfin_json_num(&b, "r2", m.r2, true);
	dlf_buf_append(&b, "}", 1);
	result = dlfin_buf_to_jsonb(&b);
	dlf_buf_free(&b);
	PG_RETURN_DATUM(result);
}
