/*
 * metrics.c
 *	  SQL aggregates for model evaluation: binary classification metrics,
 *	  ROC curve, gains table, regression and multiclass metrics.
 *
 * Every aggregate keeps an internal state in the aggregate memory context,
 * has combine, serial and deserial functions (so it runs in parallel plans)
 * and computes its result in the final function after putting the state in
 * a canonical order, so that the result does not depend on scan or merge
 * order.  The buffers of exact metrics are bounded by
 * dlfin.max_training_memory.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "aggutil.h"
#include "dlfin_pg.h"
#include "dlfin_metrics.h"

/* Serial format magics and version: checked on deserialisation. */
#define BIN_MAGIC		0x444c4642	/* "DLFB" */
#define SUM_MAGIC		0x444c4653	/* "DLFS" */
#define REG_MAGIC		0x444c4652	/* "DLFR" */
#define MC_MAGIC		0x444c464d	/* "DLFM" */
#define SERIAL_VERSION	1

#define ROC_DEFAULT_POINTS	200
#define ROC_MAX_POINTS		100000

/* ---- shared helpers ---- */


/* Raises the out-of-memory error for a state that would exceed the GUC. */
static void
memory_limit_error(const char *what, int64 rows, Size bytes_per_row)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("%s needs more memory than dlfin.max_training_memory allows",
					what),
			 errdetail("It keeps %zu bytes per row, and %lld rows need more than %d kB.",
					   bytes_per_row, (long long) rows,
					   dlfin_max_training_memory),
			 errhint("Raise dlfin.max_training_memory, or evaluate a sample of the rows.")));
}

/* Returns a capacity of at least need elements within the memory limit. */
static int64
grow_capacity(int64 have, int64 need, Size elsize, const char *what)
{
	int64		limit = (int64) dlfin_max_training_memory * 1024 / (int64) elsize;
	int64		cap = have > 0 ? have : 256;

	if (need > limit)
		memory_limit_error(what, need, elsize);
	while (cap < need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	return cap;
}

/* Rejects a NaN input value. */
static void
check_not_nan(double v, const char *name)
{
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be NaN", name)));
}




/* Returns a float8 datum, or SQL NULL for NaN. */
#define RETURN_METRIC(v) \
	do { \
		double ret_ = (v); \
		if (isnan(ret_)) \
			PG_RETURN_NULL(); \
		PG_RETURN_FLOAT8(ret_); \
	} while (0)

/* ---- binary classification: all scores, split by class ---- */

typedef struct BinState
{
	int64		npos;
	int64		nneg;
	int64		cappos;
	int64		capneg;
	double	   *pos;			/* scores of positive rows */
	double	   *neg;			/* scores of negative rows */
	bool		has_param;		/* threshold or max_points was given */
	double		param;
} BinState;

/* Allocates an empty binary state in the aggregate context. */
static BinState *
bin_new(MemoryContext ctx)
{
	return (BinState *) MemoryContextAllocZero(ctx, sizeof(BinState));
}

/* Makes room for more scores of one class, within the memory limit. */
static void
bin_reserve(MemoryContext ctx, BinState *st, bool positive, int64 more)
{
	int64		total = st->npos + st->nneg + more;
	int64	   *cap = positive ? &st->cappos : &st->capneg;
	int64		n = positive ? st->npos : st->nneg;
	double	  **arr = positive ? &st->pos : &st->neg;
	int64		newcap;

	if (n + more <= *cap)
		return;
	/* the limit applies to both classes together */
	if (total > (int64) dlfin_max_training_memory * 1024 / (int64) sizeof(double))
		memory_limit_error("the exact AUC buffer", total, sizeof(double));
	newcap = grow_capacity(*cap, n + more, sizeof(double), "the exact AUC buffer");
	if (*arr == NULL)
		*arr = MemoryContextAllocHuge(ctx, newcap * sizeof(double));
	else
		*arr = repalloc_huge(*arr, newcap * sizeof(double));
	*cap = newcap;
}

/* Appends one score to its class. */
static inline void
bin_add(MemoryContext ctx, BinState *st, double score, bool label)
{
	bin_reserve(ctx, st, label, 1);
	if (label)
		st->pos[st->npos++] = score;
	else
		st->neg[st->nneg++] = score;
}

/* Records the per-aggregate parameter, which must not change between rows. */
static void
bin_set_param(BinState *st, double v, const char *name)
{
	if (!st->has_param)
	{
		st->has_param = true;
		st->param = v;
	}
	else if (st->param != v)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be the same for every row", name)));
}

/* Common transition: state, score, label; NULL pairs are skipped. */
static BinState *
bin_trans_common(FunctionCallInfo fcinfo, MemoryContext ctx)
{
	BinState   *st = PG_ARGISNULL(0) ? NULL : (BinState *) PG_GETARG_POINTER(0);

	if (st == NULL)
		st = bin_new(ctx);
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		double		s = PG_GETARG_FLOAT8(1);

		check_not_nan(s, "score");
		bin_add(ctx, st, s, PG_GETARG_BOOL(2));
	}
	return st;
}

PG_FUNCTION_INFO_V1(dlfin_bin_trans);
/* Transition of the (score, label) aggregates. */
Datum
dlfin_bin_trans(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_bin_trans");

	PG_RETURN_POINTER(bin_trans_common(fcinfo, ctx));
}

PG_FUNCTION_INFO_V1(dlfin_bin_trans_threshold);
/* Transition of dlfin_metrics(score, label, threshold). */
Datum
dlfin_bin_trans_threshold(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_bin_trans_threshold");
	BinState   *st;
	double		thr;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("threshold must not be null")));
	thr = PG_GETARG_FLOAT8(3);
	if (!isfinite(thr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be a finite number")));
	st = bin_trans_common(fcinfo, ctx);
	bin_set_param(st, thr, "threshold");
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_bin_trans_points);
/* Transition of dlfin_roc(score, label, max_points). */
Datum
dlfin_bin_trans_points(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_bin_trans_points");
	BinState   *st;
	int32		pts;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("max_points must not be null")));
	pts = PG_GETARG_INT32(3);
	if (pts < 2 || pts > ROC_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_points must be between 2 and %d", ROC_MAX_POINTS)));
	st = bin_trans_common(fcinfo, ctx);
	bin_set_param(st, (double) pts, "max_points");
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_bin_combine);
/* Merges two binary states; either may be NULL. */
Datum
dlfin_bin_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_bin_combine");
	BinState   *a = PG_ARGISNULL(0) ? NULL : (BinState *) PG_GETARG_POINTER(0);
	BinState   *b = PG_ARGISNULL(1) ? NULL : (BinState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	/* never hand back b itself: it may live in another context */
	if (a == NULL)
		a = bin_new(ctx);
	if (b->has_param)
		bin_set_param(a, b->param, "threshold or max_points");
	if (b->npos > 0)
	{
		bin_reserve(ctx, a, true, b->npos);
		memcpy(a->pos + a->npos, b->pos, b->npos * sizeof(double));
		a->npos += b->npos;
	}
	if (b->nneg > 0)
	{
		bin_reserve(ctx, a, false, b->nneg);
		memcpy(a->neg + a->nneg, b->neg, b->nneg * sizeof(double));
		a->nneg += b->nneg;
	}
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(dlfin_bin_serial);
/* Serialises a binary state: magic, version, parameter, counts, scores. */
Datum
dlfin_bin_serial(PG_FUNCTION_ARGS)
{
	BinState   *st = (BinState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, BIN_MAGIC);
	pq_sendbyte(&buf, SERIAL_VERSION);
	pq_sendbyte(&buf, st->has_param ? 1 : 0);
	pq_sendfloat8(&buf, st->param);
	pq_sendint64(&buf, st->npos);
	pq_sendint64(&buf, st->nneg);
	for (int64 i = 0; i < st->npos; i++)
		pq_sendfloat8(&buf, st->pos[i]);
	for (int64 i = 0; i < st->nneg; i++)
		pq_sendfloat8(&buf, st->neg[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}



PG_FUNCTION_INFO_V1(dlfin_bin_deserial);
/* Rebuilds a binary state, checking every count against the length. */
Datum
dlfin_bin_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_bin_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	BinState   *st;
	int64		npos,
				nneg;
	int			flag;
	double		param;

	dlfin_state_begin_read(&buf, b, BIN_MAGIC, SERIAL_VERSION, "binary metrics");
	if (buf.len - buf.cursor < 1 + 8 + 8 + 8)
		dlfin_corrupt_state("binary metrics");
	flag = pq_getmsgbyte(&buf);
	param = pq_getmsgfloat8(&buf);
	npos = pq_getmsgint64(&buf);
	nneg = pq_getmsgint64(&buf);
	if (flag > 1 || npos < 0 || nneg < 0 ||
		npos > (int64) (MaxAllocHugeSize / sizeof(double)) ||
		nneg > (int64) (MaxAllocHugeSize / sizeof(double)) ||
		(int64) (buf.len - buf.cursor) != (npos + nneg) * 8)
		dlfin_corrupt_state("binary metrics");
	st = bin_new(ctx);
	st->has_param = flag == 1;
	st->param = param;
	if (npos > 0)
		bin_reserve(ctx, st, true, npos);
	if (nneg > 0)
		bin_reserve(ctx, st, false, nneg);
	for (int64 i = 0; i < npos; i++)
		st->pos[i] = pq_getmsgfloat8(&buf);
	for (int64 i = 0; i < nneg; i++)
		st->neg[i] = pq_getmsgfloat8(&buf);
	for (int64 i = 0; i < npos; i++)
		if (isnan(st->pos[i]))
			dlfin_corrupt_state("binary metrics");
	for (int64 i = 0; i < nneg; i++)
		if (isnan(st->neg[i]))
			dlfin_corrupt_state("binary metrics");
	st->npos = npos;
	st->nneg = nneg;
	PG_RETURN_POINTER(st);
}

/*
 * Computes the binary metrics of a state.  This sorts the state's arrays in
 * place: the multiset is unchanged, so the state stays valid for further
 * transitions and for other final functions sharing it.
 */
static void
bin_compute(BinState *st, double threshold, DlfBinaryMetrics *m)
{
	DlfError	err;

	/* the core would sort too, without a way to cancel */
	dlfin_sort_scores(st->pos, st->npos);
	dlfin_sort_scores(st->neg, st->nneg);
	if (dlf_binary_metrics_split(st->pos, st->npos, st->neg, st->nneg,
								 threshold, m, &err) != DLF_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err.message)));
}

/*
 * Sorts the scores of a binary metrics state (as bin_compute does) and hands
 * them out, for the chart final functions of card_charts.c; state may be NULL.
 */
void
dlfin_bin_state_scores(void *state, const double **pos, int64 *npos,
					   const double **neg, int64 *nneg)
{
	BinState   *st = (BinState *) state;

	if (st == NULL)
	{
		*pos = *neg = NULL;
		*npos = *nneg = 0;
		return;
	}
	dlfin_sort_scores(st->pos, st->npos);
	dlfin_sort_scores(st->neg, st->nneg);
	*pos = st->pos;
	*npos = st->npos;
	*neg = st->neg;
	*nneg = st->nneg;
}

PG_FUNCTION_INFO_V1(dlfin_auc_final);
/* Final function of dlfin_auc: exact ROC AUC, NULL for one class. */
Datum
dlfin_auc_final(PG_FUNCTION_ARGS)
{
	DlfBinaryMetrics m;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	bin_compute((BinState *) PG_GETARG_POINTER(0), 0.5, &m);
	RETURN_METRIC(m.auc);
}

PG_FUNCTION_INFO_V1(dlfin_gini_final);
/* Final function of dlfin_gini: 2 AUC - 1, NULL for one class. */
Datum
dlfin_gini_final(PG_FUNCTION_ARGS)
{
	DlfBinaryMetrics m;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	bin_compute((BinState *) PG_GETARG_POINTER(0), 0.5, &m);
	RETURN_METRIC(2.0 * m.auc - 1.0);
}

PG_FUNCTION_INFO_V1(dlfin_ks_final);
/* Final function of dlfin_ks: KS statistic, NULL for one class. */
Datum
dlfin_ks_final(PG_FUNCTION_ARGS)
{
	DlfBinaryMetrics m;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	bin_compute((BinState *) PG_GETARG_POINTER(0), 0.5, &m);
	RETURN_METRIC(m.ks);
}

PG_FUNCTION_INFO_V1(dlfin_metrics_final);
/* Final function of dlfin_metrics: every binary metric as jsonb. */
Datum
dlfin_metrics_final(PG_FUNCTION_ARGS)
{
	BinState	empty = {0};
	BinState   *st = PG_ARGISNULL(0) ? &empty : (BinState *) PG_GETARG_POINTER(0);
	double		thr = st->has_param ? st->param : 0.5;
	DlfBinaryMetrics m;
	DlfBuf		b;
	Datum		result;

	bin_compute(st, thr, &m);
	dlf_buf_init(&b);
	dlf_buf_append(&b, "{", 1);
	dlfin_json_num(&b, "n", (double) m.n, false);
	dlfin_json_num(&b, "positives", (double) m.positives, true);
	dlfin_json_num(&b, "threshold", thr, true);
	dlfin_json_num(&b, "tp", (double) m.tp, true);
	dlfin_json_num(&b, "fp", (double) m.fp, true);
	dlfin_json_num(&b, "tn", (double) m.tn, true);
	dlfin_json_num(&b, "fn", (double) m.fn, true);
	dlfin_json_num(&b, "accuracy", m.accuracy, true);
	dlfin_json_num(&b, "precision", m.precision, true);
	dlfin_json_num(&b, "recall", m.recall, true);
	dlfin_json_num(&b, "specificity", m.specificity, true);
	dlfin_json_num(&b, "f1", m.f1, true);
	dlfin_json_num(&b, "auc", m.auc, true);
	dlfin_json_num(&b, "gini", 2.0 * m.auc - 1.0, true);
	dlfin_json_num(&b, "ks", m.ks, true);
	dlfin_json_num(&b, "logloss", m.logloss, true);
	dlfin_json_num(&b, "brier", m.brier, true);
	dlfin_json_num(&b, "ece", m.ece, true);
	dlf_buf_append(&b, "}", 1);
	result = dlfin_buf_to_jsonb(&b);
	dlf_buf_free(&b);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(dlfin_roc_final);
/* Final function of dlfin_roc: bounded ROC curve and AUC as jsonb. */
Datum
dlfin_roc_final(PG_FUNCTION_ARGS)
{
	BinState   *st;
	DlfBinaryMetrics m;
	int64		maxp;
	double	   *th,
			   *fpr,
			   *tpr;
	int64		k;
	DlfBuf		b;
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BinState *) PG_GETARG_POINTER(0);
	bin_compute(st, 0.5, &m);	/* sorts the scores */
	if (st->npos == 0 || st->nneg == 0)
		PG_RETURN_NULL();
	maxp = st->has_param ? (int64) st->param : ROC_DEFAULT_POINTS;
	th = palloc(maxp * sizeof(double));
	fpr = palloc(maxp * sizeof(double));
	tpr = palloc(maxp * sizeof(double));
	k = dlf_roc_points(st->pos, st->npos, st->neg, st->nneg, maxp, th, fpr, tpr);

	dlf_buf_init(&b);
	dlf_buf_append(&b, "{", 1);
	dlfin_json_num(&b, "auc", m.auc, false);
	dlfin_json_num(&b, "points", (double) k, true);
	for (int a = 0; a < 3; a++)
	{
		const double *v = a == 0 ? th : (a == 1 ? fpr : tpr);

		dlf_buf_printf(&b, ",\"%s\":[", a == 0 ? "thresholds" : (a == 1 ? "fpr" : "tpr"));
		for (int64 i = 0; i < k; i++)
		{
			if (i)
				dlf_buf_append(&b, ",", 1);
			dlfin_json_double(&b, v[i]);
		}
		dlf_buf_append(&b, "]", 1);
	}
	dlf_buf_append(&b, "}", 1);
	result = dlfin_buf_to_jsonb(&b);
	dlf_buf_free(&b);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(dlfin_deciles_final);
/* Final function of dlfin_deciles: gains table as a jsonb array. */
Datum
dlfin_deciles_final(PG_FUNCTION_ARGS)
{
	BinState   *st;
	DlfBinaryMetrics m;
	DlfDecile	d[10];
	DlfBuf		b;
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BinState *) PG_GETARG_POINTER(0);
	if (st->npos + st->nneg == 0)
		PG_RETURN_NULL();
	bin_compute(st, 0.5, &m);	/* sorts the scores */
	dlf_deciles(st->pos, st->npos, st->neg, st->nneg, d);
	dlf_buf_init(&b);
	dlf_buf_append(&b, "[", 1);
	for (int i = 0; i < 10; i++)
	{
		if (i)
			dlf_buf_append(&b, ",", 1);
		dlf_buf_append(&b, "{", 1);
		dlfin_json_num(&b, "decile", i + 1, false);
		dlfin_json_num(&b, "count", (double) d[i].count, true);
		dlfin_json_num(&b, "positives", (double) d[i].positives, true);
		dlfin_json_num(&b, "min_score", d[i].min_score, true);
		dlfin_json_num(&b, "max_score", d[i].max_score, true);
		dlfin_json_num(&b, "positive_rate", d[i].positive_rate, true);
		dlfin_json_num(&b, "cumulative_capture", d[i].cumulative_capture, true);
		dlfin_json_num(&b, "lift", d[i].lift, true);
		dlf_buf_append(&b, "}", 1);
	}
	dlf_buf_append(&b, "]", 1);
	result = dlfin_buf_to_jsonb(&b);
	dlf_buf_free(&b);
	PG_RETURN_DATUM(result);
}

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

/* ---- multiclass: class dictionary and confusion matrix ---- */

#define MC_SLOTS	(2 * DLF_MAX_CLASSES)	/* open addressing, power of 2 */

typedef struct McState
{
	int32		k;				/* classes seen */
	int32		cap;			/* matrix dimension allocated */
	char	   *names[DLF_MAX_CLASSES];
	int32		namelen[DLF_MAX_CLASSES];
	int16		slots[MC_SLOTS];	/* class index + 1, 0 = empty */
	int64	   *cm;				/* cap x cap, [actual * cap + predicted] */
} McState;

/* Allocates an empty multiclass state. */
static McState *
mc_new(MemoryContext ctx)
{
	return (McState *) MemoryContextAllocZero(ctx, sizeof(McState));
}

/* Returns the index of a class name, adding it if new. */
static int32
mc_class(MemoryContext ctx, McState *st, const char *s, int32 len)
{
	uint64		h = dlf_hash64(s, len, 0);
	uint32		slot = (uint32) h & (MC_SLOTS - 1);

	for (;;)
	{
		int			c = st->slots[slot];

		if (c == 0)
			break;
		if (st->namelen[c - 1] == len && memcmp(st->names[c - 1], s, len) == 0)
			return c - 1;
		slot = (slot + 1) & (MC_SLOTS - 1);
	}
	if (st->k >= DLF_MAX_CLASSES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct classes"),
				 errdetail("Multiclass metrics accept at most %d distinct class labels.",
						   DLF_MAX_CLASSES)));
	if (st->k >= st->cap)
	{
		int32		ncap = st->cap ? st->cap * 2 : 8;
		int64	   *ncm;

		if (ncap > DLF_MAX_CLASSES)
			ncap = DLF_MAX_CLASSES;
		ncm = MemoryContextAllocZero(ctx, (Size) ncap * ncap * sizeof(int64));
		for (int32 r = 0; r < st->k; r++)
			memcpy(ncm + (Size) r * ncap, st->cm + (Size) r * st->cap,
				   st->k * sizeof(int64));
		if (st->cm)
			pfree(st->cm);
		st->cm = ncm;
		st->cap = ncap;
	}
	st->names[st->k] = MemoryContextAlloc(ctx, len + 1);
	memcpy(st->names[st->k], s, len);
	st->names[st->k][len] = '\0';
	st->namelen[st->k] = len;
	st->slots[slot] = (int16) (st->k + 1);
	return st->k++;
}

PG_FUNCTION_INFO_V1(dlfin_mc_trans);
/* Transition of dlfin_multiclass_metrics(predicted, actual). */
Datum
dlfin_mc_trans(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_mc_trans");
	McState    *st = PG_ARGISNULL(0) ? NULL : (McState *) PG_GETARG_POINTER(0);

	if (st == NULL)
		st = mc_new(ctx);
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		text	   *p = PG_GETARG_TEXT_PP(1);
		text	   *a = PG_GETARG_TEXT_PP(2);
		int32		ip,
					ia;

		if (VARSIZE_ANY_EXHDR(p) > DLF_MAX_NAME || VARSIZE_ANY_EXHDR(a) > DLF_MAX_NAME)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("class label is too long"),
					 errdetail("Class labels may have at most %d bytes.",
							   DLF_MAX_NAME)));
		ip = mc_class(ctx, st, VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p));
		ia = mc_class(ctx, st, VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a));
		st->cm[(Size) ia * st->cap + ip]++;
	}
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_mc_combine);
/* Merges two multiclass states by class name; either may be NULL. */
Datum
dlfin_mc_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_mc_combine");
	McState    *a = PG_ARGISNULL(0) ? NULL : (McState *) PG_GETARG_POINTER(0);
	McState    *b = PG_ARGISNULL(1) ? NULL : (McState *) PG_GETARG_POINTER(1);
	int32		map[DLF_MAX_CLASSES];

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = mc_new(ctx);
	for (int32 c = 0; c < b->k; c++)
		map[c] = mc_class(ctx, a, b->names[c], b->namelen[c]);
	for (int32 r = 0; r < b->k; r++)
		for (int32 c = 0; c < b->k; c++)
			a->cm[(Size) map[r] * a->cap + map[c]] += b->cm[(Size) r * b->cap + c];
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(dlfin_mc_serial);
/* Serialises a multiclass state: magic, version, names, matrix. */
Datum
dlfin_mc_serial(PG_FUNCTION_ARGS)
{
	McState    *st = (McState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, MC_MAGIC);
	pq_sendbyte(&buf, SERIAL_VERSION);
	pq_sendint32(&buf, st->k);
	for (int32 c = 0; c < st->k; c++)
	{
		pq_sendint32(&buf, st->namelen[c]);
		pq_sendbytes(&buf, st->names[c], st->namelen[c]);
	}
	for (int32 r = 0; r < st->k; r++)
		for (int32 c = 0; c < st->k; c++)
			pq_sendint64(&buf, st->cm[(Size) r * st->cap + c]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(dlfin_mc_deserial);
/* Rebuilds a multiclass state, checking names, counts and length. */
Datum
dlfin_mc_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = dlfin_agg_context(fcinfo, "dlfin_mc_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	McState    *st;
	int32		k;

	dlfin_state_begin_read(&buf, b, MC_MAGIC, SERIAL_VERSION, "multiclass metrics");
	if (buf.len - buf.cursor < 4)
		dlfin_corrupt_state("multiclass metrics");
	k = pq_getmsgint(&buf, 4);
	if (k < 0 || k > DLF_MAX_CLASSES)
		dlfin_corrupt_state("multiclass metrics");
	st = mc_new(ctx);
	for (int32 c = 0; c < k; c++)
	{
		int32		len;

		if (buf.len - buf.cursor < 4)
			dlfin_corrupt_state("multiclass metrics");
		len = pq_getmsgint(&buf, 4);
		if (len < 0 || len > DLF_MAX_NAME || buf.len - buf.cursor < len)
			dlfin_corrupt_state("multiclass metrics");
		if (mc_class(ctx, st, buf.data + buf.cursor, len) != c)
			dlfin_corrupt_state("multiclass metrics");	/* duplicate name */
		buf.cursor += len;
	}
	if ((int64) (buf.len - buf.cursor) != (int64) k * k * 8)
		dlfin_corrupt_state("multiclass metrics");
	for (int32 r = 0; r < k; r++)
		for (int32 c = 0; c < k; c++)
		{
			int64		v = pq_getmsgint64(&buf);

			if (v < 0)
				dlfin_corrupt_state("multiclass metrics");
			st->cm[(Size) r * st->cap + c] = v;
		}
	PG_RETURN_POINTER(st);
}

/* Compares two class indexes of the state arg by name, byte-wise. */
static int
mc_name_cmp(const void *a, const void *b, void *arg)
{
	McState    *st = (McState *) arg;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;
	int32		lx = st->namelen[x];
	int32		ly = st->namelen[y];
	int			c = memcmp(st->names[x], st->names[y], Min(lx, ly));

	if (c != 0)
		return c;
	return (lx > ly) - (lx < ly);
}

PG_FUNCTION_INFO_V1(dlfin_mc_final);
/* Final function of dlfin_multiclass_metrics: report and confusion matrix. */
Datum
dlfin_mc_final(PG_FUNCTION_ARGS)
{
	McState    *st;
	int32		k;
	int32	   *order;
	int64	   *cm;
	double	   *prec,
			   *rec,
			   *f1;
	int64	   *sup;
	DlfMulticlassReport rep;
	DlfBuf		b;
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (McState *) PG_GETARG_POINTER(0);
	k = st->k;
	if (k == 0)
		PG_RETURN_NULL();
	/* classes in byte order of their names, as sorted labels in Python */
	order = palloc(k * sizeof(int32));
	for (int32 c = 0; c < k; c++)
		order[c] = c;
	qsort_arg(order, k, sizeof(int32), mc_name_cmp, st);
	cm = palloc((Size) k * k * sizeof(int64));
	for (int32 r = 0; r < k; r++)
		for (int32 c = 0; c < k; c++)
			cm[(Size) r * k + c] = st->cm[(Size) order[r] * st->cap + order[c]];
	prec = palloc(k * sizeof(double));
	rec = palloc(k * sizeof(double));
	f1 = palloc(k * sizeof(double));
	sup = palloc(k * sizeof(int64));
	dlf_multiclass_report(cm, k, &rep, prec, rec, f1, sup);

	dlf_buf_init(&b);
	dlf_buf_append(&b, "{", 1);
	dlfin_json_num(&b, "n", (double) rep.n, false);
	dlfin_json_num(&b, "accuracy", rep.accuracy, true);
	dlfin_json_num(&b, "macro_precision", rep.macro_precision, true);
	dlfin_json_num(&b, "macro_recall", rep.macro_recall, true);
	dlfin_json_num(&b, "macro_f1", rep.macro_f1, true);
	dlfin_json_num(&b, "weighted_precision", rep.weighted_precision, true);
	dlfin_json_num(&b, "weighted_recall", rep.weighted_recall, true);
	dlfin_json_num(&b, "weighted_f1", rep.weighted_f1, true);
	dlf_buf_append(&b, ",\"classes\":[", 12);
	for (int32 c = 0; c < k; c++)
	{
		if (c)
			dlf_buf_append(&b, ",", 1);
		dlf_buf_json_string(&b, st->names[order[c]]);
	}
	dlf_buf_append(&b, "],\"per_class\":{", 15);
	for (int32 c = 0; c < k; c++)
	{
		if (c)
			dlf_buf_append(&b, ",", 1);
		dlf_buf_json_string(&b, st->names[order[c]]);
		dlf_buf_append(&b, ":{", 2);
		dlfin_json_num(&b, "precision", prec[c], false);
		dlfin_json_num(&b, "recall", rec[c], true);
		dlfin_json_num(&b, "f1", f1[c], true);
		dlfin_json_num(&b, "support", (double) sup[c], true);
		dlf_buf_append(&b, "}", 1);
	}
	dlf_buf_append(&b, "},\"confusion_matrix\":[", 22);
	for (int32 r = 0; r < k; r++)
	{
		dlf_buf_append(&b, r ? ",[" : "[", r ? 2 : 1);
		for (int32 c = 0; c < k; c++)
			dlf_buf_printf(&b, c ? ",%lld" : "%lld", (long long) cm[(Size) r * k + c]);
		dlf_buf_append(&b, "]", 1);
	}
	dlf_buf_append(&b, "]}", 2);
	result = dlfin_buf_to_jsonb(&b);
	dlf_buf_free(&b);
	PG_RETURN_DATUM(result);
}
