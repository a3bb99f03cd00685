/*
 * metrics.c
 *	  SQL aggregates for binary classification: the metrics, AUC, Gini, KS,
 *	  ROC curve and gains table over all scores split by class
 *	  (metrics_internal.h says what every evaluation aggregate guarantees).
 */
#include "metrics_internal.h"

#define ROC_DEFAULT_POINTS	200
#define ROC_MAX_POINTS		100000

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
