/*
 * govern_fn.c
 *	  Governance aggregates: dlfin_drift (population stability index of
 *	  today's rows against the training distributions stored in the model)
 *	  and dlfin_fairness (approval, TPR and FPR per group, adverse impact
 *	  ratio, parity and equal-opportunity differences).
 *
 * Both keep small count states in the aggregate context and have combine,
 * serial and deserial functions, so they run in parallel plans; results do
 * not depend on the order in which rows or partial states arrive.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "aggutil.h"
#include "dlfin_pg.h"
#include "fairness.h"
#include "rowargs.h"
#include "scoring.h"

#define DRIFT_MAGIC		0x444c4644	/* "DLFD" */
#define FAIR_MAGIC		0x444c4646	/* "DLFF" */
#define SERIAL_VERSION	1
#define FAIR_MAX_GROUPS	100000
#define FAIR_HASH_SEED	UINT64_C(0x6661697267727073)

/* ---- drift ---------------------------------------------------------------- */

/*
 * Counts per bin for every feature and the score.  A numeric feature has
 * its decile bins plus a last bin for NULL; a categorical one a bin per
 * code (categories, other, missing); the score its decile bins.  A feature
 * without a stored distribution has no bins.
 */
typedef struct DriftState
{
	bytea	   *model;			/* detoasted model bytes */
	DlfModel   *decoded;		/* decoded model (not serialised) */
	uint64		generation;		/* scorer cache generation checked */
	int64		n;
	int32		ncounts;
	int32	   *offset;			/* [nfeatures + 1]: first count of each,
								 * then of the score */
	int64	   *counts;
} DriftState;

/* Bins of feature f (or of the score when f == nfeatures). */
static int32
drift_bins(const DlfModel *m, int32 f)
{
	const DlfHistogram *h;

	if (f == m->nfeatures)
		return m->score_dist.nbins;
	h = &m->features[f].dist;
	if (h->nbins == 0)
		return 0;
	return m->features[f].kind == DLF_FEAT_NUMERIC ? h->nbins + 1 : h->nbins;
}

/* Creates a state for model bytes b (copied) in the current context. */
static DriftState *
drift_new(bytea *b)
{
	DriftState *st = palloc0(sizeof(DriftState));
	int32		total = 0;
	DlfModel   *m;

	st->model = palloc(VARSIZE_ANY(b));
	memcpy(st->model, b, VARSIZE_ANY(b));
	m = st->decoded = dlfin_decode_model(st->model);
	st->offset = palloc(sizeof(int32) * (m->nfeatures + 2));
	for (int32 f = 0; f <= m->nfeatures; f++)
	{
		st->offset[f] = total;
		total += drift_bins(m, f);
	}
	st->offset[m->nfeatures + 1] = total;
	st->ncounts = total;
	st->counts = palloc0(sizeof(int64) * Max(total, 1));
	return st;
}

/* True when two drift states were built from the same model bytes. */
static bool
same_model(const DriftState *a, const DriftState *b)
{
	return VARSIZE_ANY_EXHDR(a->model) == VARSIZE_ANY_EXHDR(b->model) &&
		memcmp(VARDATA_ANY(a->model), VARDATA_ANY(b->model),
			   VARSIZE_ANY_EXHDR(a->model)) == 0;
}

/* Raises the error for rows scored with different models. */
static void
different_models(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("dlfin_drift needs the same model on every row")));
}

/*
 * Counts a row in bin `bin' of feature f (f == nfeatures: the score),
 * refusing a bin outside the state's own counts for it: the state does not
 * match its model, as a forged serialised state would not.
 */
static inline void
drift_count(DriftState *st, int32 f, int32 bin)
{
	if (unlikely(bin < 0 || bin >= st->offset[f + 1] - st->offset[f]))
		dlfin_corrupt_state("dlfin_drift");
	st->counts[st->offset[f] + bin]++;
}

PG_FUNCTION_INFO_V1(dlfin_drift_sfunc);
/* Transition: bins one row's features and score. */
Datum
dlfin_drift_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext actx = dlfin_agg_context(fcinfo, "dlfin_drift_sfunc");
	DriftState *st = PG_ARGISNULL(0) ? NULL : (DriftState *) PG_GETARG_POINTER(0);
	DlfScoreCache *c;
	const DlfModel *m;
	const DlfModel *sm;
	double	   *raw;
	double		out[DLF_MAX_CLASSES];
	double		score;

	DLFIN_ROW_FORM(fcinfo, &dlfin_row_drift);
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
				 errmsg("dlfin_drift does not accept a VARIADIC array"),
				 errhint("Pass the features as separate arguments.")));
	c = dlfin_score_cache_get(fcinfo, PG_GETARG_DATUM(1), 2);
	m = c->model;
	if (st == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(actx);

		st = drift_new(PG_GETARG_BYTEA_PP(1));
		st->generation = c->generation;
		MemoryContextSwitchTo(old);
	}
	else if (st->generation != c->generation)
	{
		/* the cache decoded another datum: it must hold the same bytes */
		bytea	   *b = PG_GETARG_BYTEA_PP(1);

		if (VARSIZE_ANY_EXHDR(b) != VARSIZE_ANY_EXHDR(st->model) ||
			memcmp(VARDATA_ANY(b), VARDATA_ANY(st->model), VARSIZE_ANY_EXHDR(b)) != 0)
			different_models();
		st->generation = c->generation;
	}
	/* the state's own model must be the cache's: same dimensions */
	if (m->nfeatures != st->decoded->nfeatures)
		different_models();
	raw = c->extra;
	if (raw == NULL)
		c->extra = raw = MemoryContextAlloc(c->cxt, sizeof(double) * m->nfeatures);
	dlfin_load_row(fcinfo, c, 2, raw);
	if (dlf_scorer_run(c->scorer, out))
		dlfin_report_overflow();
	if (m->task == DLF_TASK_MULTICLASS)
	{
		score = out[0];
		for (int32 k = 1; k < m->nclasses; k++)
			if (out[k] > score)
				score = out[k];
	}
	else
		score = out[0];

	/* bins from the state's model, checked against the state's counts */
	sm = st->decoded;
	for (int32 f = 0; f < sm->nfeatures; f++)
	{
		const DlfFeature *ft = &sm->features[f];
		int32		bin;

		if (st->offset[f + 1] == st->offset[f])
			continue;
		if (ft->kind == DLF_FEAT_CATEGORICAL)
			bin = (int32) dlf_scorer_input(c->scorer, f);
		else if (isnan(raw[f]))
			bin = ft->dist.nbins;	/* the NULL bin */
		else
			bin = dlf_hist_bin(&ft->dist, (double) (float) raw[f]);
		drift_count(st, f, bin);
	}
	if (sm->score_dist.nbins > 0)
		drift_count(st, sm->nfeatures, dlf_hist_bin(&sm->score_dist, score));
	st->n++;
	PG_RETURN_POINTER(st);
}

/* Copies a state into the aggregate context (counts only; model shared). */
static DriftState *
drift_copy(const DriftState *s)
{
	DriftState *st = palloc(sizeof(DriftState));
	int32		nf = s->decoded->nfeatures;

	*st = *s;
	st->offset = palloc(sizeof(int32) * (nf + 2));
	memcpy(st->offset, s->offset, sizeof(int32) * (nf + 2));
	st->counts = palloc(sizeof(int64) * Max(s->ncounts, 1));
	memcpy(st->counts, s->counts, sizeof(int64) * s->ncounts);
	st->model = palloc(VARSIZE_ANY(s->model));
	memcpy(st->model, s->model, VARSIZE_ANY(s->model));
	st->decoded = dlfin_decode_model(st->model);
	st->generation = 0;
	return st;
}

PG_FUNCTION_INFO_V1(dlfin_drift_combine);
/* Combine: adds the counts of two states of the same model. */
Datum
dlfin_drift_combine(PG_FUNCTION_ARGS)
{
	MemoryContext actx = dlfin_agg_context(fcinfo, "dlfin_drift_combine");
	DriftState *a = PG_ARGISNULL(0) ? NULL : (DriftState *) PG_GETARG_POINTER(0);
	DriftState *b = PG_ARGISNULL(1) ? NULL : (DriftState *) PG_GETARG_POINTER(1);
	MemoryContext old;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
	{
		old = MemoryContextSwitchTo(actx);
		a = drift_copy(b);
		MemoryContextSwitchTo(old);
		PG_RETURN_POINTER(a);
	}
	if (!same_model(a, b) || a->ncounts != b->ncounts)
		different_models();
	a->n += b->n;
	for (int32 i = 0; i < a->ncounts; i++)
		a->counts[i] += b->counts[i];
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(dlfin_drift_serial);
/* Serial: the model bytes, the row count and the bin counts. */
Datum
dlfin_drift_serial(PG_FUNCTION_ARGS)
{
	DriftState *st = (DriftState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		len = VARSIZE_ANY_EXHDR(st->model);

	pq_begintypsend(&buf);
	pq_sendint32(&buf, DRIFT_MAGIC);
	pq_sendbyte(&buf, SERIAL_VERSION);
	pq_sendint32(&buf, len);
	pq_sendbytes(&buf, VARDATA_ANY(st->model), len);
	pq_sendint64(&buf, st->n);
	pq_sendint32(&buf, st->ncounts);
	for (int32 i = 0; i < st->ncounts; i++)
		pq_sendint64(&buf, st->counts[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(dlfin_drift_deserial);
/* Deserial: decodes (and so validates) the model, checks the counts. */
Datum
dlfin_drift_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext actx = dlfin_agg_context(fcinfo, "dlfin_drift_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	MemoryContext old;
	DriftState *st;
	bytea	   *model;
	int32		len,
				ncounts;
	int64		n;

	dlfin_state_begin_read(&buf, b, DRIFT_MAGIC, SERIAL_VERSION, "dlfin_drift");
	dlfin_state_need_bytes(&buf, 4, "dlfin_drift");
	len = pq_getmsgint(&buf, 4);
	dlfin_state_need_bytes(&buf, (int64) len + 12, "dlfin_drift");
	old = MemoryContextSwitchTo(actx);
	model = palloc(len + VARHDRSZ);
	SET_VARSIZE(model, len + VARHDRSZ);
	memcpy(VARDATA(model), pq_getmsgbytes(&buf, len), len);
	st = drift_new(model);
	MemoryContextSwitchTo(old);
	n = pq_getmsgint64(&buf);
	ncounts = pq_getmsgint(&buf, 4);
	if (n < 0 || ncounts != st->ncounts)
		dlfin_corrupt_state("dlfin_drift");
	dlfin_state_need_bytes(&buf, (int64) ncounts * 8, "dlfin_drift");
	st->n = n;
	for (int32 i = 0; i < ncounts; i++)
	{
		st->counts[i] = pq_getmsgint64(&buf);
		if (st->counts[i] < 0 || st->counts[i] > n)
			dlfin_corrupt_state("dlfin_drift");
	}
	if (buf.cursor != buf.len)
		dlfin_corrupt_state("dlfin_drift");
	PG_RETURN_POINTER(st);
}

/* Appends {"psi": x, "band": "..."} of one histogram's counts. */
static void
psi_json(DlfBuf *b, const double *expected, const int64 *counts, int32 nb,
		 int64 n)
{
	double	   *actual = palloc(sizeof(double) * Max(nb, 1));
	double		psi = NAN;

	if (nb > 0 && n > 0)
	{
		for (int32 i = 0; i < nb; i++)
			actual[i] = (double) counts[i] / (double) n;
		psi = dlf_psi(expected, actual, nb);
	}
	dlf_buf_append(b, "{", 1);
	dlfin_json_num(b, "psi", psi, false);
	dlf_buf_append(b, ", \"band\": ", 10);
	dlf_buf_json_string(b, dlf_psi_band(psi));
	dlf_buf_append(b, "}", 1);
	pfree(actual);
}

PG_FUNCTION_INFO_V1(dlfin_drift_final);
/*
 * Final: {"rows": n, "features": {name: {"psi", "band"}}, "score": {...}}.
 * A numeric feature's expected shares are its training deciles scaled by
 * the non-NULL share, plus the training NULL share for the NULL bin.
 */
Datum
dlfin_drift_final(PG_FUNCTION_ARGS)
{
	DriftState *st;
	const DlfModel *m;
	DlfBuf		b;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (DriftState *) PG_GETARG_POINTER(0);
	m = st->decoded;
	dlf_buf_init(&b);
	dlf_buf_printf(&b, "{\"rows\": %lld, \"features\": {", (long long) st->n);
	for (int32 f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		int32		nb = st->offset[f + 1] - st->offset[f];
		double	   *e = palloc(sizeof(double) * Max(nb, 1));

		if (ft->kind == DLF_FEAT_NUMERIC && nb > 0)
		{
			for (int32 i = 0; i < ft->dist.nbins; i++)
				e[i] = (1.0 - ft->missing_share) * ft->dist.share[i];
			e[ft->dist.nbins] = ft->missing_share;
		}
		else
			for (int32 i = 0; i < nb; i++)
				e[i] = ft->dist.share[i];
		if (f)
			dlf_buf_append(&b, ", ", 2);
		dlf_buf_json_string(&b, ft->name);
		dlf_buf_append(&b, ": ", 2);
		psi_json(&b, e, st->counts + st->offset[f], nb, st->n);
		pfree(e);
	}
	dlf_buf_append(&b, "}, \"score\": ", 12);
	psi_json(&b, m->score_dist.share, st->counts + st->offset[m->nfeatures],
			 m->score_dist.nbins, st->n);
	dlf_buf_append(&b, "}", 1);
	PG_RETURN_DATUM(dlfin_buf_to_jsonb(&b));
}

/* ---- fairness ------------------------------------------------------------- */

/* A group's counts (first: dlf_fair_summary reads them by stride) and name. */
typedef struct FairGroup
{
	DlfFairCounts c;
	char	   *name;
	int32		len;
} FairGroup;

typedef struct FairState
{
	double		threshold;		/* NaN until the first row */
	int64		ignored;		/* rows with a NULL score, group or label */
	int32		ngroups;
	int32		cap;
	FairGroup  *groups;
	int32		nslots;			/* power of two */
	int32	   *slots;			/* group index + 1, 0 when empty */
} FairState;

/* A new empty state in the current context. */
static FairState *
fair_new(void)
{
	FairState  *st = palloc0(sizeof(FairState));

	st->threshold = NAN;
	st->cap = 8;
	st->groups = palloc0(sizeof(FairGroup) * st->cap);
	st->nslots = 16;
	st->slots = palloc0(sizeof(int32) * st->nslots);
	return st;
}

/* Hash slot of a group name. */
static inline uint32
fair_slot(const FairState *st, const char *s, int32 len)
{
	return (uint32) dlf_hash64(s, len, FAIR_HASH_SEED) & (uint32) (st->nslots - 1);
}

/* Finds or adds the group called s (copied into the current context). */
static FairGroup *
fair_group(FairState *st, const char *s, int32 len)
{
	uint32		i = fair_slot(st, s, len);
	FairGroup  *g;

	for (;; i = (i + 1) & (uint32) (st->nslots - 1))
	{
		int32		k = st->slots[i];

		if (k == 0)
			break;
		g = &st->groups[k - 1];
		if (g->len == len && memcmp(g->name, s, len) == 0)
			return g;
	}
	if (st->ngroups >= FAIR_MAX_GROUPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dlfin_fairness supports at most %d groups", FAIR_MAX_GROUPS)));
	if (st->ngroups == st->cap)
	{
		st->cap *= 2;
		st->groups = repalloc(st->groups, sizeof(FairGroup) * st->cap);
	}
	g = &st->groups[st->ngroups++];
	memset(g, 0, sizeof(FairGroup));
	g->name = palloc(len + 1);
	memcpy(g->name, s, len);
	g->name[len] = '\0';
	g->len = len;
	if (st->ngroups * 2 > st->nslots)
	{
		/* grow and rehash */
		st->nslots *= 2;
		st->slots = repalloc(st->slots, sizeof(int32) * st->nslots);
		memset(st->slots, 0, sizeof(int32) * st->nslots);
		for (int32 k = 0; k < st->ngroups; k++)
		{
			uint32		j = fair_slot(st, st->groups[k].name, st->groups[k].len);

			while (st->slots[j] != 0)
				j = (j + 1) & (uint32) (st->nslots - 1);
			st->slots[j] = k + 1;
		}
	}
	else
		st->slots[i] = st->ngroups;
	return g;
}

/* Sets or checks the threshold of the state. */
static void
fair_threshold(FairState *st, double t)
{
	if (!isfinite(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_fairness threshold must be a finite number")));
	if (isnan(st->threshold))
		st->threshold = t;
	else if (st->threshold != t)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_fairness threshold must be the same for every row")));
}

/* Shared transition: counts one row. */
static Datum
fair_trans(FunctionCallInfo fcinfo, double threshold)
{
	MemoryContext actx = dlfin_agg_context(fcinfo, "dlfin_fairness_sfunc");
	FairState  *st = PG_ARGISNULL(0) ? NULL : (FairState *) PG_GETARG_POINTER(0);
	MemoryContext old = MemoryContextSwitchTo(actx);
	FairGroup  *g;
	text	   *grp;
	double		score;
	bool		label;

	if (st == NULL)
		st = fair_new();
	fair_threshold(st, threshold);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		st->ignored++;
		MemoryContextSwitchTo(old);
		PG_RETURN_POINTER(st);
	}
	score = PG_GETARG_FLOAT8(1);
	if (isnan(score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_fairness score must not be NaN")));
	grp = PG_GETARG_TEXT_PP(2);
	label = PG_GETARG_BOOL(3);
	g = fair_group(st, VARDATA_ANY(grp), VARSIZE_ANY_EXHDR(grp));
	dlf_fair_count(&g->c, score, label, st->threshold);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(dlfin_fairness_sfunc);
/* Transition with the default threshold 0.5. */
Datum
dlfin_fairness_sfunc(PG_FUNCTION_ARGS)
{
	return fair_trans(fcinfo, 0.5);
}

PG_FUNCTION_INFO_V1(dlfin_fairness_sfunc_threshold);
/* Transition with a threshold argument (the same on every row). */
Datum
dlfin_fairness_sfunc_threshold(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dlfin_fairness threshold must not be NULL")));
	return fair_trans(fcinfo, PG_GETARG_FLOAT8(4));
}

/* Adds the counts of src into dst (in the current context). */
static void
fair_merge(FairState *dst, const FairState *src)
{
	if (!isnan(src->threshold))
		fair_threshold(dst, src->threshold);
	dst->ignored += src->ignored;
	for (int32 k = 0; k < src->ngroups; k++)
	{
		const FairGroup *s = &src->groups[k];
		FairGroup  *g = fair_group(dst, s->name, s->len);

		dlf_fair_add(&g->c, &s->c);
	}
}

PG_FUNCTION_INFO_V1(dlfin_fairness_combine);
/* Combine: merges the group counts of two states. */
Datum
dlfin_fairness_combine(PG_FUNCTION_ARGS)
{
	MemoryContext actx = dlfin_agg_context(fcinfo, "dlfin_fairness_combine");
	FairState  *a = PG_ARGISNULL(0) ? NULL : (FairState *) PG_GETARG_POINTER(0);
	FairState  *b = PG_ARGISNULL(1) ? NULL : (FairState *) PG_GETARG_POINTER(1);
	MemoryContext old;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	old = MemoryContextSwitchTo(actx);
	if (a == NULL)
		a = fair_new();
	fair_merge(a, b);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(dlfin_fairness_serial);
/* Serial: threshold, ignored rows and each group's name and counts. */
Datum
dlfin_fairness_serial(PG_FUNCTION_ARGS)
{
	FairState  *st = (FairState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, FAIR_MAGIC);
	pq_sendbyte(&buf, SERIAL_VERSION);
	pq_sendfloat8(&buf, st->threshold);
	pq_sendint64(&buf, st->ignored);
	pq_sendint32(&buf, st->ngroups);
	for (int32 k = 0; k < st->ngroups; k++)
	{
		const FairGroup *g = &st->groups[k];

		pq_sendint32(&buf, g->len);
		pq_sendbytes(&buf, g->name, g->len);
		pq_sendint64(&buf, g->c.n);
		pq_sendint64(&buf, g->c.approved);
		pq_sendint64(&buf, g->c.pos);
		pq_sendint64(&buf, g->c.tp);
		pq_sendint64(&buf, g->c.fp);
		for (int i = 0; i < 2; i++)
		{
			pq_sendfloat8(&buf, g->c.score_sum[i]);
			pq_sendfloat8(&buf, g->c.score_sq[i]);
		}
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(dlfin_fairness_deserial);
/* Deserial: rebuilds the groups, checking lengths and count relations. */
Datum
dlfin_fairness_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext actx = dlfin_agg_context(fcinfo, "dlfin_fairness_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	MemoryContext old;
	FairState  *st;
	double		t;
	int32		ng;

	dlfin_state_begin_read(&buf, b, FAIR_MAGIC, SERIAL_VERSION, "dlfin_fairness");
	dlfin_state_need_bytes(&buf, 20, "dlfin_fairness");
	old = MemoryContextSwitchTo(actx);
	st = fair_new();
	t = pq_getmsgfloat8(&buf);
	if (!isnan(t))
		fair_threshold(st, t);
	st->ignored = pq_getmsgint64(&buf);
	ng = pq_getmsgint(&buf, 4);
	if (ng < 0 || ng > FAIR_MAX_GROUPS || st->ignored < 0)
		dlfin_corrupt_state("dlfin_fairness");
	for (int32 k = 0; k < ng; k++)
	{
		int32		len;
		FairGroup  *g;

		dlfin_state_need_bytes(&buf, 4, "dlfin_fairness");
		len = pq_getmsgint(&buf, 4);
		dlfin_state_need_bytes(&buf, (int64) len + 72, "dlfin_fairness");
		g = fair_group(st, pq_getmsgbytes(&buf, len), len);
		if (g->c.n != 0)
			dlfin_corrupt_state("dlfin_fairness");	/* duplicate group */
		g->c.n = pq_getmsgint64(&buf);
		g->c.approved = pq_getmsgint64(&buf);
		g->c.pos = pq_getmsgint64(&buf);
		g->c.tp = pq_getmsgint64(&buf);
		g->c.fp = pq_getmsgint64(&buf);
		for (int i = 0; i < 2; i++)
		{
			g->c.score_sum[i] = pq_getmsgfloat8(&buf);
			g->c.score_sq[i] = pq_getmsgfloat8(&buf);
		}
		if (!dlf_fair_counts_valid(&g->c))
			dlfin_corrupt_state("dlfin_fairness");
	}
	if (buf.cursor != buf.len)
		dlfin_corrupt_state("dlfin_fairness");
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* Orders groups by name bytes (shorter first on a common prefix). */
static int
cmp_group(const void *a, const void *b)
{
	const FairGroup *x = a,
			   *y = b;
	int			c = memcmp(x->name, y->name, Min(x->len, y->len));

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Writes a group's significance against the reference and closes it. */
static void
fair_test_json(DlfBuf *b, const DlfFairCounts *g, const DlfFairCounts *ref)
{
	DlfFairTest t;
	double		mean,
				m2;

	dlf_fair_test(g, ref, &t);
	dlf_fair_moments(g, &mean, &m2);
	dlfin_json_num(b, "mean_score", mean, true);
	dlf_buf_printf(b, ", \"test\": \"%s\"", t.exact ? "fisher" : "z");
	if (!t.exact)
		dlfin_json_num(b, "z", t.z, true);
	dlfin_json_num(b, "p_value", t.p_value, true);
	dlfin_json_num(b, "marginal_effect", t.marginal_effect, true);
	dlfin_json_num(b, "standardized_mean_difference", t.smd, true);
	dlf_buf_printf(b, ", \"practically_significant\": %s}",
				   t.practically_significant ? "true" : "false");
}

PG_FUNCTION_INFO_V1(dlfin_fairness_final);
/*
 * Final: per group n, approved, approval_rate, tpr, fpr,
 * adverse_impact_ratio (approval rate over the most-approved group's) and
 * four_fifths_violation (ratio below 0.8); against the reference group
 * the test of the approvals (Fisher's exact test when an expected count is
 * below 5, else the two-proportion z-test), its p_value, the
 * marginal_effect (difference of approval rates), the standardised mean
 * difference of the scores and practically_significant (ratio below 0.8
 * and p below 0.05); overall the reference group,
 * demographic_parity_difference (max - min approval rate) and
 * equal_opportunity_difference (max - min TPR over groups with positives).
 */
Datum
dlfin_fairness_final(PG_FUNCTION_ARGS)
{
	FairState  *st;
	FairGroup  *gs;
	int32		ng,
				ref;
	double		parity,
				opportunity;
	DlfBuf		b;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (FairState *) PG_GETARG_POINTER(0);
	ng = st->ngroups;
	gs = palloc(sizeof(FairGroup) * Max(ng, 1));
	memcpy(gs, st->groups, sizeof(FairGroup) * ng);
	qsort(gs, ng, sizeof(FairGroup), cmp_group);
	ref = dlf_fair_summary(gs, ng, sizeof(FairGroup), &parity, &opportunity);
	dlf_buf_init(&b);
	dlf_buf_append(&b, "{", 1);
	dlfin_json_num(&b, "threshold", st->threshold, false);
	dlf_buf_append(&b, ", \"groups\": {", 13);
	for (int32 k = 0; k < ng; k++)
	{
		const FairGroup *g = &gs[k];
		DlfFairRates r;

		dlf_fair_rates(&g->c, &gs[ref].c, &r);
		if (k)
			dlf_buf_append(&b, ", ", 2);
		dlf_buf_json_string(&b, g->name);
		dlf_buf_printf(&b, ": {\"n\": %lld, \"approved\": %lld, \"positives\": %lld",
					   (long long) g->c.n, (long long) g->c.approved, (long long) g->c.pos);
		dlfin_json_num(&b, "approval_rate", r.approval_rate, true);
		dlfin_json_num(&b, "tpr", r.tpr, true);
		dlfin_json_num(&b, "fpr", r.fpr, true);
		dlfin_json_num(&b, "adverse_impact_ratio", r.adverse_impact_ratio, true);
		dlf_buf_printf(&b, ", \"four_fifths_violation\": %s",
					   isnan(r.adverse_impact_ratio) ? "null" :
					   r.four_fifths_violation ? "true" : "false");
		fair_test_json(&b, &g->c, &gs[ref].c);
	}
	dlf_buf_append(&b, "}, \"reference_group\": ", 22);
	if (ref >= 0)
		dlf_buf_json_string(&b, gs[ref].name);
	else
		dlf_buf_append(&b, "null", 4);
	dlfin_json_num(&b, "demographic_parity_difference", parity, true);
	dlfin_json_num(&b, "equal_opportunity_difference", opportunity, true);
	dlf_buf_printf(&b, ", \"ignored_rows\": %lld}", (long long) st->ignored);
	PG_RETURN_DATUM(dlfin_buf_to_jsonb(&b));
}
