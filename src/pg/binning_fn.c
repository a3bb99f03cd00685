/*
 * binning_fn.c
 *	  dlfin_binning(x, label [, options]): the aggregate that buffers one
 *	  characteristic's values with a binary label and hands them to the
 *	  core's WoE binning (src/core/binning.c); the result is jsonb.
 *
 * The state is self-contained (no pointers or OIDs once serialised), its
 * combine appends, and the final function sorts, so parallel plans give
 * the same bins as serial ones.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "aggutil.h"
#include "binning.h"
#include "dlfin_pg.h"

PG_FUNCTION_INFO_V1(dlfin_binning_trans);
PG_FUNCTION_INFO_V1(dlfin_binning_combine);
PG_FUNCTION_INFO_V1(dlfin_binning_serial);
PG_FUNCTION_INFO_V1(dlfin_binning_deserial);
PG_FUNCTION_INFO_V1(dlfin_binning_final);

/* Rows of one characteristic: values (or texts) and labels; NULLs counted. */
typedef struct BinState
{
	bool		is_text;
	int64		n;				/* rows with a value and a label */
	int64		cap;
	double	   *x;				/* numeric values */
	int64	   *off;			/* text: start of each value in buf */
	StringInfoData buf;			/* text: the values, each NUL-terminated */
	uint8	   *y;
	int64		miss_n;			/* rows with a NULL value and a label */
	int64		miss_events;
	Jsonb	   *options;		/* of the first row, or NULL */
} BinState;

/* A new empty state in the aggregate context. */
static BinState *
state_new(MemoryContext cxt, bool is_text)
{
	BinState   *st = MemoryContextAllocZero(cxt, sizeof(BinState));
	MemoryContext old = MemoryContextSwitchTo(cxt);

	st->is_text = is_text;
	st->cap = 1024;
	st->y = palloc(st->cap);
	if (is_text)
	{
		st->off = palloc(sizeof(int64) * st->cap);
		initStringInfo(&st->buf);
	}
	else
		st->x = palloc(sizeof(double) * st->cap);
	MemoryContextSwitchTo(old);
	return st;
}

/* Room for one more row, within dlfin.max_training_memory. */
static void
state_grow(BinState *st, int64 more)
{
	int64		need = st->n + more;

	if (need <= st->cap)
		return;
	while (st->cap < need)
		st->cap *= 2;
	if ((double) st->cap * 9 + st->buf.len > (double) dlfin_max_training_memory * 1024.0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dlfin_binning buffer exceeds dlfin.max_training_memory"),
				 errhint("Raise dlfin.max_training_memory, or bin a sample of the rows.")));
	st->y = repalloc_huge(st->y, st->cap);
	if (st->is_text)
		st->off = repalloc_huge(st->off, sizeof(int64) * st->cap);
	else
		st->x = repalloc_huge(st->x, sizeof(double) * st->cap);
}

/* Appends one row (value not NULL). */
static void
state_add(BinState *st, bool is_text, Datum v, bool label)
{
	state_grow(st, 1);
	if (is_text)
	{
		text	   *t = DatumGetTextPP(v);

		st->off[st->n] = st->buf.len;
		appendBinaryStringInfo(&st->buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		appendStringInfoChar(&st->buf, '\0');
	}
	else
	{
		double		x = DatumGetFloat8(v);

		if (isnan(x) || isinf(x))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("dlfin_binning value is NaN or infinite")));
		st->x[st->n] = x;
	}
	st->y[st->n++] = label ? 1 : 0;
}

/* Transition of dlfin_binning(x, label [, options]). */
Datum
dlfin_binning_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	BinState   *st;
	bool		is_text = get_fn_expr_argtype(fcinfo->flinfo, 1) != FLOAT8OID;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "dlfin_binning called in non-aggregate context");
	st = PG_ARGISNULL(0) ? state_new(aggcxt, is_text) : (BinState *) PG_GETARG_POINTER(0);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3) && st->options == NULL)
	{
		/* the options of the first row; they shape the bins, not the rows */
		Jsonb	   *o = PG_GETARG_JSONB_P(3);

		st->options = MemoryContextAlloc(aggcxt, VARSIZE_ANY(o));
		memcpy(st->options, o, VARSIZE_ANY(o));
	}
	if (PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);	/* no label: not a row of the binning */
	if (PG_ARGISNULL(1))
	{
		st->miss_n++;
		st->miss_events += PG_GETARG_BOOL(2) ? 1 : 0;
	}
	else
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		state_add(st, is_text, PG_GETARG_DATUM(1), PG_GETARG_BOOL(2));
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_POINTER(st);
}

/* Appends the rows of src to dst (order does not matter: the final sorts). */
static void
state_append(BinState *dst, BinState *src)
{
	state_grow(dst, src->n);
	for (int64 i = 0; i < src->n; i++)
	{
		if (dst->is_text)
		{
			dst->off[dst->n + i] = dst->buf.len + src->off[i];
		}
		else
			dst->x[dst->n + i] = src->x[i];
		dst->y[dst->n + i] = src->y[i];
	}
	if (dst->is_text)
		appendBinaryStringInfo(&dst->buf, src->buf.data, src->buf.len);
	dst->n += src->n;
	dst->miss_n += src->miss_n;
	dst->miss_events += src->miss_events;
	if (dst->options == NULL && src->options != NULL)
	{
		dst->options = palloc(VARSIZE_ANY(src->options));
		memcpy(dst->options, src->options, VARSIZE_ANY(src->options));
	}
}

/* Combine: the union of the two states' rows. */
Datum
dlfin_binning_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	BinState   *a = PG_ARGISNULL(0) ? NULL : (BinState *) PG_GETARG_POINTER(0);
	BinState   *b = PG_ARGISNULL(1) ? NULL : (BinState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "dlfin_binning_combine called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	old = MemoryContextSwitchTo(aggcxt);
	if (a == NULL)
		a = state_new(aggcxt, b->is_text);
	if (a->is_text != b->is_text)
		dlfin_corrupt_state("dlfin_binning");
	state_append(a, b);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

/* Serial: kind, counts, options, values, labels. */
Datum
dlfin_binning_serial(PG_FUNCTION_ARGS)
{
	BinState   *st = (BinState *) PG_GETARG_POINTER(0);
	StringInfoData b;

	pq_begintypsend(&b);
	pq_sendbyte(&b, st->is_text ? 1 : 0);
	pq_sendint64(&b, st->n);
	pq_sendint64(&b, st->miss_n);
	pq_sendint64(&b, st->miss_events);
	pq_sendint32(&b, st->options ? VARSIZE_ANY(st->options) : 0);
	if (st->options)
		pq_sendbytes(&b, (char *) st->options, VARSIZE_ANY(st->options));
	if (st->is_text)
	{
		pq_sendint64(&b, st->buf.len);
		pq_sendbytes(&b, st->buf.data, st->buf.len);
		for (int64 i = 0; i < st->n; i++)
			pq_sendint64(&b, st->off[i]);
	}
	else
		for (int64 i = 0; i < st->n; i++)
			pq_sendfloat8(&b, st->x[i]);
	pq_sendbytes(&b, (char *) st->y, st->n);
	PG_RETURN_BYTEA_P(pq_endtypsend(&b));
}

/* Deserial: the state serial wrote, every length checked. */
Datum
dlfin_binning_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	MemoryContext old;
	StringInfoData b;
	BinState   *st;
	int64		n;
	int32		olen;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "dlfin_binning_deserial called in non-aggregate context");
	b.data = VARDATA_ANY(raw);
	b.len = VARSIZE_ANY_EXHDR(raw);
	b.maxlen = b.len;
	b.cursor = 0;
	old = MemoryContextSwitchTo(aggcxt);
	st = state_new(aggcxt, pq_getmsgbyte(&b) == 1);
	n = pq_getmsgint64(&b);
	st->miss_n = pq_getmsgint64(&b);
	st->miss_events = pq_getmsgint64(&b);
	olen = pq_getmsgint(&b, 4);
	if (n < 0 || olen < 0 || olen > b.len - b.cursor)
		dlfin_corrupt_state("dlfin_binning");
	if (olen > 0)
	{
		st->options = palloc(olen);
		pq_copymsgbytes(&b, (char *) st->options, olen);
	}
	state_grow(st, n);
	if (st->is_text)
	{
		int64		len = pq_getmsgint64(&b);

		if (len < 0 || len > b.len - b.cursor)
			dlfin_corrupt_state("dlfin_binning");
		appendBinaryStringInfo(&st->buf, pq_getmsgbytes(&b, len), len);
		for (int64 i = 0; i < n; i++)
		{
			st->off[i] = pq_getmsgint64(&b);
			if (st->off[i] < 0 || st->off[i] >= st->buf.len)
				dlfin_corrupt_state("dlfin_binning");
		}
	}
	else
		for (int64 i = 0; i < n; i++)
			st->x[i] = pq_getmsgfloat8(&b);
	pq_copymsgbytes(&b, (char *) st->y, n);
	st->n = n;
	pq_getmsgend(&b);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* Raises 22023 for a bad option, with the valid ones in the hint. */
static void
pg_attribute_noreturn()
bad_option(const char *who, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s%s", who, msg),
			 errhint("Valid options: \"min_share\" (0 to 0.5, default 0.05), \"max_bins\" (2 to 64, default 10), "
					 "\"prebins\" (2 to 64, default 20), \"monotonic\" (\"auto\", \"ascending\", \"descending\", \"none\").")));
}

/*
 * The binning options of the jsonb (NULL: defaults); who starts the
 * messages ("dlfin_binning" or the "woe_binning" training option).
 */
void
dlfin_binning_options(Jsonb *j, DlfBinOptions *o, const char *who)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	o->min_share = 0.05;
	o->max_bins = 10;
	o->prebins = 20;
	o->monotonic = DLF_MONO_AUTO;
	if (j == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(j))
		bad_option(who, " options must be a jsonb object");
	it = JsonbIteratorInit(&j->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			if (strcmp(key, "monotonic") == 0)
			{
				char	   *s = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : "";

				if (strcmp(s, "auto") == 0)
					o->monotonic = DLF_MONO_AUTO;
				else if (strcmp(s, "ascending") == 0)
					o->monotonic = 1;
				else if (strcmp(s, "descending") == 0)
					o->monotonic = -1;
				else if (strcmp(s, "none") == 0)
					o->monotonic = 0;
				else
					bad_option(who, " option \"monotonic\" must be \"auto\", \"ascending\", \"descending\" or \"none\"");
			}
			else if (strcmp(key, "min_share") == 0 || strcmp(key, "max_bins") == 0 ||
					 strcmp(key, "prebins") == 0)
			{
				double		d;

				if (v.type != jbvNumeric)
					bad_option(who, psprintf(" option \"%s\" must be a number", key));
				d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
				if (strcmp(key, "min_share") == 0)
				{
					if (!(d >= 0 && d <= 0.5))
						bad_option(who, " option \"min_share\" must be between 0 and 0.5");
					o->min_share = d;
				}
				else
				{
					if (!(d >= 2 && d <= DLF_MAX_WOE_BINS) || d != floor(d))
						bad_option(who, psprintf(" option \"%s\" must be an integer from 2 to %d",
											key, DLF_MAX_WOE_BINS));
					if (strcmp(key, "max_bins") == 0)
						o->max_bins = (int) d;
					else
						o->prebins = (int) d;
				}
			}
			else
				bad_option("", psprintf("unknown %s option \"%s\"", who, key));
		}
	}
}

/* Appends one bin as a JSON object. */
static void
bin_json(StringInfo s, const DlfWoeBin *b, const char *label, int num, bool is_text,
		 BinState *st, const int *order, const int64 *cat_first)
{
	appendStringInfoString(s, "{\"bin\": ");
	if (label)
		escape_json(s, label);
	else
		appendStringInfo(s, "%d", num);
	if (!label && is_text)
	{
		appendStringInfoString(s, ", \"categories\": [");
		for (int k = 0; k < b->ncats; k++)
		{
			if (k)
				appendStringInfoString(s, ", ");
			escape_json(s, st->buf.data + st->off[cat_first[order[b->first + k]]]);
		}
		appendStringInfoChar(s, ']');
	}
	else if (!label)
	{
		appendStringInfoString(s, ", \"lower\": ");
		if (isinf(b->lower))
			appendStringInfoString(s, "null");
		else
			appendStringInfo(s, "%.17g", b->lower);
		appendStringInfoString(s, ", \"upper\": ");
		if (isinf(b->upper))
			appendStringInfoString(s, "null");
		else
			appendStringInfo(s, "%.17g", b->upper);
	}
	appendStringInfo(s, ", \"count\": " INT64_FORMAT ", \"events\": " INT64_FORMAT
					 ", \"non_events\": " INT64_FORMAT ", \"event_rate\": %.17g"
					 ", \"woe\": %.17g, \"iv\": %.17g}",
					 b->n, b->events, b->n - b->events,
					 b->n ? (double) b->events / (double) b->n : 0, b->woe, b->iv);
}

/* At most this many categories; the hash table below has room for them. */
#define MAX_CATEGORIES	10000
#define CAT_SLOTS		32768	/* a power of two over 3 x MAX_CATEGORIES */

/* Orders category rows by their bytes (the categories' fixed order). */
static BinState *sort_state;

/* qsort comparator of row indexes by text. */
static int
text_cmp(const void *a, const void *b)
{
	return strcmp(sort_state->buf.data + sort_state->off[*(const int64 *) a],
				  sort_state->buf.data + sort_state->off[*(const int64 *) b]);
}

/*
 * The category of row i: its index in first[] (a row of each category
 * seen so far, *ncat of them), found or added through the open-addressing
 * table slot[] (-1 for empty).
 */
static int
category_of(BinState *st, int64 i, int *slot, int64 *first, int *ncat)
{
	const char *v = st->buf.data + st->off[i];
	uint32		h = hash_bytes((const unsigned char *) v, (int) strlen(v));
	int			p = h & (CAT_SLOTS - 1);

	while (slot[p] >= 0)
	{
		if (strcmp(st->buf.data + st->off[first[slot[p]]], v) == 0)
			return slot[p];
		p = (p + 1) & (CAT_SLOTS - 1);
	}
	if (*ncat == MAX_CATEGORIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dlfin_binning feature has more than 10000 categories")));
	first[*ncat] = i;
	slot[p] = *ncat;
	return (*ncat)++;
}

/*
 * Categories of a text state in the byte order of their values: counts,
 * events and a row of each (first).  Rows are counted through a hash
 * table, then only the distinct values are sorted.
 */
static int
categories(BinState *st, int64 **n, int64 **ev, int64 **first)
{
	int		   *slot = palloc(sizeof(int) * CAT_SLOTS);
	int64	   *row = palloc(sizeof(int64) * MAX_CATEGORIES);
	int64	   *cn = palloc0(sizeof(int64) * MAX_CATEGORIES);
	int64	   *ce = palloc0(sizeof(int64) * MAX_CATEGORIES);
	int64	   *sorted;
	int		   *rank;
	int			ncat = 0;

	memset(slot, -1, sizeof(int) * CAT_SLOTS);
	for (int64 i = 0; i < st->n; i++)
	{
		int			c = category_of(st, i, slot, row, &ncat);

		cn[c]++;
		ce[c] += st->y[i];
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	sorted = palloc(sizeof(int64) * Max(ncat, 1));
	memcpy(sorted, row, sizeof(int64) * ncat);
	sort_state = st;
	qsort(sorted, ncat, sizeof(int64), text_cmp);
	/* rank[c]: the sorted position of category c, found by its row */
	rank = palloc(sizeof(int) * Max(ncat, 1));
	for (int k = 0; k < ncat; k++)
		rank[category_of(st, sorted[k], slot, row, &ncat)] = k;
	*n = palloc(sizeof(int64) * Max(ncat, 1));
	*ev = palloc(sizeof(int64) * Max(ncat, 1));
	*first = sorted;
	for (int c = 0; c < ncat; c++)
	{
		(*n)[rank[c]] = cn[c];
		(*ev)[rank[c]] = ce[c];
	}
	return ncat;
}

/* Final: the bins as jsonb (NULL for no rows). */
Datum
dlfin_binning_final(PG_FUNCTION_ARGS)
{
	BinState   *st = PG_ARGISNULL(0) ? NULL : (BinState *) PG_GETARG_POINTER(0);
	DlfBinOptions o;
	DlfBinning *bins = palloc0(sizeof(DlfBinning));
	DlfError	err = {0};
	StringInfoData s;
	int		   *order = NULL;
	int64	   *cat_first = NULL;
	DlfStatus	rc;

	if (st == NULL || st->n + st->miss_n == 0)
		PG_RETURN_NULL();
	dlfin_binning_options(st->options, &o, "dlfin_binning");
	if (st->is_text)
	{
		int64	   *n,
				   *ev;
		int			ncat = categories(st, &n, &ev, &cat_first);

		order = palloc(sizeof(int) * Max(ncat, 1));
		rc = dlf_bin_categorical(n, ev, ncat, st->miss_n, st->miss_events, &o, order, bins, &err);
	}
	else
		rc = dlf_bin_numeric(st->x, st->y, st->n, st->miss_n, st->miss_events, &o, bins, &err);
	if (rc != DLF_OK)
		dlfin_report_core_error(&err);

	initStringInfo(&s);
	appendStringInfo(&s, "{\"iv\": %.17g, \"strength\": \"%s\", \"type\": \"%s\", \"direction\": \"%s\","
					 " \"events\": " INT64_FORMAT ", \"non_events\": " INT64_FORMAT ", \"smoothed\": %s,"
					 " \"woe\": \"ln(share of non-events / share of events)\", \"bins\": [",
					 bins->iv, dlf_iv_strength(bins->iv), st->is_text ? "categorical" : "numeric",
					 bins->direction > 0 ? "ascending" : bins->direction < 0 ? "descending" : "none",
					 bins->events, bins->non_events, bins->smoothed ? "true" : "false");
	for (int i = 0; i < bins->nbins; i++)
	{
		if (i)
			appendStringInfoString(&s, ", ");
		bin_json(&s, &bins->bins[i], NULL, i + 1, st->is_text, st, order, cat_first);
	}
	if (bins->missing.n > 0)
	{
		appendStringInfoString(&s, ", ");
		bin_json(&s, &bins->missing, "missing", 0, st->is_text, st, order, cat_first);
	}
	appendStringInfoString(&s, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}
