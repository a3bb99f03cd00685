/*
 * metrics_mc.c
 *	  SQL aggregate for multiclass metrics: class dictionary and confusion
 *	  matrix.
 */
#include "metrics_internal.h"

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
