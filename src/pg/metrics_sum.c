/*
 * metrics_sum.c
 *	  SQL aggregates for log loss and Brier score: exact streaming sums.
 */
#include "metrics_internal.h"

/* ---- log loss and Brier score: exact streaming sums ---- */

typedef struct SumState
{
	int64		n;
	DlfExactSum sum;
} SumState;

/* Returns the sum state of a transition, creating it on first use. */
static SumState *
sum_state(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, fname);

	if (PG_ARGISNULL(0))
		return (SumState *) MemoryContextAllocZero(ctx, sizeof(SumState));
	return (SumState *) PG_GETARG_POINTER(0);
}

PG_FUNCTION_INFO_V1(dlfin_logloss_trans);
/* Adds one clipped log loss term. */
Datum
dlfin_logloss_trans(PG_FUNCTION_ARGS)
{
	SumState   *st = sum_state(fcinfo, "dlfin_logloss_trans");

	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		double		s = PG_GETARG_FLOAT8(1);

		check_not_nan(s, "score");
		dlf_exact_add(&st->sum, dlf_logloss_term(s, PG_GETARG_BOOL(2)));
		st->n++;
	}
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_brier_trans);
/* Adds one squared error of a probability. */
Datum
dlfin_brier_trans(PG_FUNCTION_ARGS)
{
	SumState   *st = sum_state(fcinfo, "dlfin_brier_trans");

	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		double		s = PG_GETARG_FLOAT8(1);
		double		d = s - (PG_GETARG_BOOL(2) ? 1.0 : 0.0);

		check_not_nan(s, "score");
		if (s < 0.0 || s > 1.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("score %g is not a probability", s),
					 errdetail("The Brier score needs scores between 0 and 1.")));
		dlf_exact_add(&st->sum, d * d);
		st->n++;
	}
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_sum_combine);
/* Merges two sum states; either may be NULL. */
Datum
dlfin_sum_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_sum_combine");
	SumState   *a = PG_ARGISNULL(0) ? NULL : (SumState *) PG_GETARG_POINTER(0);
	SumState   *b = PG_ARGISNULL(1) ? NULL : (SumState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = (SumState *) MemoryContextAllocZero(ctx, sizeof(SumState));
	a->n += b->n;
	dlf_exact_merge(&a->sum, &b->sum);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(dlfin_sum_serial);
/* Serialises a sum state: magic, version, count, 128-bit sum. */
Datum
dlfin_sum_serial(PG_FUNCTION_ARGS)
{
	SumState   *st = (SumState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, SUM_MAGIC);
	pq_sendbyte(&buf, SERIAL_VERSION);
	pq_sendint64(&buf, st->n);
	pq_sendint64(&buf, (int64) (uint64) (st->sum.acc >> 64));
	pq_sendint64(&buf, (int64) (uint64) st->sum.acc);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(dlfin_sum_deserial);
/* Rebuilds a sum state. */
Datum
dlfin_sum_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_sum_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	SumState   *st;
	uint64		hi,
				lo;

	dlfin_state_begin_read(&buf, b, SUM_MAGIC, SERIAL_VERSION, "metric sum");
	if (buf.len - buf.cursor != 24)
		dlfin_corrupt_state("metric sum");
	st = (SumState *) MemoryContextAllocZero(ctx, sizeof(SumState));
	st->n = pq_getmsgint64(&buf);
	hi = (uint64) pq_getmsgint64(&buf);
	lo = (uint64) pq_getmsgint64(&buf);
	if (st->n < 0)
		dlfin_corrupt_state("metric sum");
	st->sum.acc = ((unsigned __int128) hi << 64) | lo;
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_sum_final);
/* Mean of the summed terms; NULL without rows. */
Datum
dlfin_sum_final(PG_FUNCTION_ARGS)
{
	SumState   *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (SumState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(dlf_exact_value(&st->sum) / (double) st->n);
}
