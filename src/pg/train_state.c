/*
 * train_state.c
 *	  Buffering of training rows for dlfin_train: growth under the memory
 *	  limit, merging of partial states (parallel aggregation) and their
 *	  self-contained serial form (no OIDs but built-in type OIDs, no
 *	  pointers), checked when read back.
 */
#include "postgres.h"

#include <math.h>

#include "libpq/pqformat.h"
#include "nodes/execnodes.h"
#include "utils/memutils.h"

#include "train_state.h"

/*
 * "DLF3": with the feature names (version 2, "DLF2", had none; version 1,
 * "DLFS", a double a row for labels)
 */
#define STATE_MAGIC 0x444c4633
/* "DLF4": the same, with the rows in a spill file (train_state_file.c) */
#define STATE_MAGIC_SPILL 0x444c4634
/* open-addressing slots over the distinct numeric labels: > 2 * their limit */
#define VAL_SLOTS	4096
/*
 * Rows a combined state reserves on its first spilled partial state, in
 * multiples of that state's rows (the leader and one worker: the usual
 * plan on a small machine), before the others arrive.
 */
#define SPILL_AHEAD 2

StaticAssertDecl(VAL_SLOTS > 2 * DLF_MAX_CLASSES && DLF_MAX_CLASSES < PG_INT16_MAX,
				 "label value slots must hold DLF_MAX_CLASSES codes");
StaticAssertDecl(TRAIN_MAX_LABEL_CODES - 1 <= PG_UINT16_MAX,
				 "label codes must fit in uint16");

/* Allocates an empty state in the current (aggregate) memory context. */
TrainState *
train_state_new(int32 nfeat, const DlfArgType *label_type,
				const DlfArgType *feat_types, Jsonb *options)
{
	TrainState *st = palloc0(sizeof(TrainState));

	st->nfeat = nfeat;
	st->label_type = *label_type;
	st->cols = palloc0(sizeof(TrainColumn) * nfeat);
	st->spill_fd = -1;
	for (int32 f = 0; f < nfeat; f++)
		st->cols[f].type = feat_types[f];
	if (options)
	{
		st->options = palloc(VARSIZE(options));
		memcpy(st->options, options, VARSIZE(options));
	}
	return st;
}

/* Sets the feature names (NULL: none), copied into the current context. */
void
train_state_set_names(TrainState *st, char **names)
{
	st->names = NULL;
	if (names == NULL)
		return;
	st->names = palloc(sizeof(char *) * st->nfeat);
	for (int32 f = 0; f < st->nfeat; f++)
		st->names[f] = pstrdup(names[f]);
}

/*
 * Orders two name lists (NULL first), so that merging keeps the same names
 * in any merge order: states of one query carry the same names, unless a
 * node could not see the expressions (NULL).
 */
static int
cmp_names(const TrainState *a, const TrainState *b)
{
	if (a->names == NULL || b->names == NULL)
		return (a->names != NULL) - (b->names != NULL);
	for (int32 f = 0; f < a->nfeat; f++)
	{
		int			c = strcmp(a->names[f], b->names[f]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Bytes one buffered row takes. */
static Size
row_bytes(const TrainState *st)
{
	return (st->label_val ? sizeof(double) : sizeof(uint16)) +
		(Size) st->nfeat * sizeof(float);
}

/* Memory held by the state, in bytes. */
static Size
state_bytes(const TrainState *st)
{
	Size		b = st->array_bytes + st->label_dict.bytes;

	if (st->vals)
		b += sizeof(double) * DLF_MAX_CLASSES + sizeof(int16) * VAL_SLOTS;

	for (int32 f = 0; f < st->nfeat; f++)
		b += st->cols[f].dict.bytes;
	return b;
}

/* Errors out when the state uses more than dlfin.max_training_memory. */
void
train_state_check_memory(TrainState *st)
{
	Size		limit = (Size) dlfin_max_training_memory * 1024;

	if (state_bytes(st) > limit)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("dlfin_train input exceeds dlfin.max_training_memory"),
				 errdetail("Buffering " INT64_FORMAT " rows of %d features needs more than %d kB.",
						   st->nrows, st->nfeat, dlfin_max_training_memory),
				 errhint("Raise dlfin.max_training_memory, or train on a sample of the rows.")));
}

/* Makes room for at least nrows rows, growing by half, within the limit. */
void
train_state_reserve(TrainState *st, int64 nrows)
{
	int64		cap;
	Size		limit_rows;

	if (nrows <= st->cap)
		return;
	cap = Max(nrows, Max(st->cap + st->cap / 2, 1024));
	/* do not reserve past the memory limit; error only when rows need it */
	limit_rows = ((Size) dlfin_max_training_memory * 1024) / row_bytes(st);
	if ((Size) cap > limit_rows)
		cap = Max(nrows, (int64) limit_rows);
	if ((Size) nrows > limit_rows || cap > (int64) (MaxAllocHugeSize / sizeof(double)))
	{
		st->nrows = nrows;
		st->array_bytes = (Size) nrows * row_bytes(st);
		train_state_check_memory(st);
	}
	if (st->label_val)
		st->label_val = repalloc_huge(st->label_val, sizeof(double) * cap);
	else if (st->cap == 0)
		st->label_code = palloc_extended(sizeof(uint16) * cap, MCXT_ALLOC_HUGE);
	else
		st->label_code = repalloc_huge(st->label_code, sizeof(uint16) * cap);
	for (int32 f = 0; f < st->nfeat; f++)
	{
		TrainColumn *c = &st->cols[f];

		if (c->type.sqltype == DLF_SQL_TEXT)
			c->cat = st->cap ? repalloc_huge(c->cat, sizeof(int32) * cap)
				: palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE);
		else
			c->num = st->cap ? repalloc_huge(c->num, sizeof(float) * cap)
				: palloc_extended(sizeof(float) * cap, MCXT_ALLOC_HUGE);
	}
	st->cap = cap;
	st->array_bytes = (Size) cap * row_bytes(st);
	train_state_check_memory(st);
}

/*
 * Makes room for need rows, and for up to want rows within the memory
 * limit: room is reserved, not touched, so it costs no resident memory
 * until rows fill it, and it spares later growth a copy of every array.
 */
static void
reserve_ahead(TrainState *st, int64 need, int64 want)
{
	Size		limit = (Size) dlfin_max_training_memory * 1024;
	Size		other = state_bytes(st) - st->array_bytes;
	int64		fit = limit > other ? (int64) ((limit - other) / row_bytes(st)) : 0;

	/* what fits beside the dictionaries: never an error the rows avoid */
	train_state_reserve(st, Max(need, Min(want, fit)));
}

/*
 * Switches numeric labels from codes to values (more distinct values than a
 * classifier may have): a double per row from here on.
 */
static void
labels_to_values(TrainState *st)
{
	int64		cap = Max(st->cap, 1);

	st->label_val = palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < st->nrows; i++)
		st->label_val[i] = st->vals[st->label_code[i]];
	pfree(st->label_code);
	st->label_code = NULL;
	st->array_bytes = (Size) st->cap * row_bytes(st);
	train_state_check_memory(st);
}

/* Code of numeric label v, added when new; -1 when the codes are full. */
static int32
value_code(TrainState *st, double v)
{
	uint32		h;

	if (st->vals == NULL)
	{
		st->vals = palloc(sizeof(double) * DLF_MAX_CLASSES);
		st->vslots = palloc0(sizeof(int16) * VAL_SLOTS);
	}
	{
		uint64		u = 0;

		/* -0 and 0 compare equal, so they must hash alike */
		if (v != 0.0)
			memcpy(&u, &v, sizeof(u));
		h = (uint32) dlf_mix64(u) & (VAL_SLOTS - 1);
	}
	while (st->vslots[h])
	{
		int32		c = st->vslots[h] - 1;

		/* == also makes -0 and 0 one value, as the final function did */
		if (st->vals[c] == v)
			return c;
		h = (h + 1) & (VAL_SLOTS - 1);
	}
	if (st->nvals == DLF_MAX_CLASSES)
		return -1;
	st->vals[st->nvals] = v;
	st->vslots[h] = (int16) (st->nvals + 1);
	return st->nvals++;
}

/* Stores the numeric label of row `row' (room reserved, value finite). */
void
train_state_set_label(TrainState *st, int64 row, double v)
{
	int32		c;

	if (st->label_val)
	{
		st->label_val[row] = v;
		return;
	}
	c = value_code(st, v);
	if (c >= 0)
	{
		st->label_code[row] = (uint16) c;
		return;
	}
	labels_to_values(st);
	st->label_val[row] = v;
}

/* Code of a text label, added to the dictionary when new. */
static int32
text_code(DlfDict *d, const char *s, int len, int64 add)
{
	int32		c = dlfin_dict_add(d, s, len, add);

	if (c >= TRAIN_MAX_LABEL_CODES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dlfin_train label has more than %d distinct values",
						DLF_MAX_CLASSES)));
	return c;
}

/* Stores the text label of row `row' (room reserved). */
void
train_state_set_text_label(TrainState *st, int64 row, const char *s, int len)
{
	st->label_code[row] = (uint16) text_code(&st->label_dict, s, len, 1);
}

/* Checks that two states describe the same argument list. */
static void
check_compatible(const TrainState *a, const TrainState *b)
{
	if (a->nfeat != b->nfeat || a->label_type.kind != b->label_type.kind)
		elog(ERROR, "dlfin_train: incompatible partial aggregate states");
	for (int32 f = 0; f < a->nfeat; f++)
		if (a->cols[f].type.kind != b->cols[f].type.kind)
			elog(ERROR, "dlfin_train: incompatible partial aggregate states");
}

/* Builds a map from src's dictionary codes to dst's, adding counts. */
static int32 *
merge_dict(DlfDict *dst, const DlfDict *src)
{
	int32	   *map = palloc(sizeof(int32) * Max(src->n, 1));

	for (int32 c = 0; c < src->n; c++)
		map[c] = dlfin_dict_add(dst, src->str[c], src->len[c], src->count[c]);
	return map;
}

/* Errors out on a state whose rows were freed by its serialisation. */
static void
check_usable(const TrainState *st)
{
	if (st->consumed)
		elog(ERROR, "dlfin_train: partial state used after its serialisation");
}

/*
 * Errors out unless the state holds its rows: a deserialised state reads
 * them from a bytea that lives only as long as the combine call it is
 * made for, so only train_state_merge may take one.
 */
void
train_state_check_owned(const TrainState *st)
{
	check_usable(st);
	if (st->raw_rows != NULL || st->spill_writer != 0)
		elog(ERROR, "dlfin_train: a deserialised partial state reached a function other than the combine function");
}

/*
 * Where a deserialised state's row array k starts in its serial rows
 * (k = -1: the labels, else column k; k = nfeat: their end).
 */
static Size
raw_offset(const TrainState *src, int32 k)
{
	Size		lab = (Size) src->nrows * (src->raw_label_values ? sizeof(double) : sizeof(uint16));

	if (k < 0)
		return 0;
	/* every column takes 4 bytes a row: an int32 code or a float */
	return lab + (Size) k * src->nrows * 4;
}

/*
 * Copies len bytes from byte off of src's row array k (k = -1: the labels,
 * else column k) to `to': from its own array, from the serial form of a
 * deserialised state (maybe unaligned, so only ever read with memcpy) or
 * from the spill file that holds that form's rows.
 */
static void
src_copy(const TrainState *src, int32 k, Size off, void *to, Size len)
{
	const char *p;

	if (src->spill_writer)
	{
		train_state_spill_read(src, raw_offset(src, k) + off, to, len);
		return;
	}
	if (src->raw_rows)
		p = src->raw_rows + raw_offset(src, k);
	else if (k < 0)
		p = src->label_val ? (const char *) src->label_val
			: (const char *) src->label_code;
	else if (src->cols[k].type.sqltype == DLF_SQL_TEXT)
		p = (const char *) src->cols[k].cat;
	else
		p = (const char *) src->cols[k].num;
	memcpy(to, p + off, len);
}

/*
 * Appends src's n numeric label codes at row base of dst as their values
 * (dst keeps values), a block of codes at a time.
 */
static void
codes_to_values(TrainState *dst, const TrainState *src, int64 base, int64 n)
{
	uint16		block[4096];

	for (int64 i0 = 0; i0 < n; i0 += lengthof(block))
	{
		int64		m = Min(n - i0, (int64) lengthof(block));

		src_copy(src, -1, sizeof(uint16) * i0, block, sizeof(uint16) * m);
		for (int64 i = 0; i < m; i++)
		{
			if (block[i] >= src->nvals)
				elog(ERROR, "dlfin_train: invalid serialized state");
			dst->label_val[base + i0 + i] = src->vals[block[i]];
		}
	}
}

/*
 * Appends src's n labels at row base of dst (room reserved): codes are
 * copied and then mapped in place, so they are checked as they go (a
 * deserialised state's codes were never checked).
 */
static void
merge_labels(TrainState *dst, const TrainState *src, int64 base, int64 n)
{
	bool		src_values = src->raw_rows || src->spill_writer ?
		src->raw_label_values : src->label_val != NULL;

	if (dst->label_type.sqltype == DLF_SQL_TEXT)
	{
		int32	   *map = palloc(sizeof(int32) * Max(src->label_dict.n, 1));

		for (int32 c = 0; c < src->label_dict.n; c++)
			map[c] = text_code(&dst->label_dict, src->label_dict.str[c],
							   src->label_dict.len[c], src->label_dict.count[c]);
		src_copy(src, -1, 0, dst->label_code + base, sizeof(uint16) * n);
		for (int64 i = base; i < base + n; i++)
		{
			if (dst->label_code[i] >= src->label_dict.n)
				elog(ERROR, "dlfin_train: invalid serialized state");
			dst->label_code[i] = (uint16) map[dst->label_code[i]];
		}
		pfree(map);
	}
	else if (src_values)
	{
		if (dst->label_val == NULL)
			labels_to_values(dst);
		src_copy(src, -1, 0, dst->label_val + base, sizeof(double) * n);
		for (int64 i = base; i < base + n; i++)
			if (!isfinite(dst->label_val[i]))
				elog(ERROR, "dlfin_train: invalid serialized state");
	}
	else
	{
		int32		map[DLF_MAX_CLASSES];
		bool		full = false;

		for (int32 c = 0; c < src->nvals && !full; c++)
			full = dst->label_val == NULL &&
				(map[c] = value_code(dst, src->vals[c])) < 0;
		if (full && dst->label_val == NULL)
			labels_to_values(dst);
		if (dst->label_val)
			codes_to_values(dst, src, base, n);
		else
		{
			src_copy(src, -1, 0, dst->label_code + base, sizeof(uint16) * n);
			for (int64 i = base; i < base + n; i++)
			{
				if (dst->label_code[i] >= src->nvals)
					elog(ERROR, "dlfin_train: invalid serialized state");
				dst->label_code[i] = (uint16) map[dst->label_code[i]];
			}
		}
	}
}

/* Appends src's n rows of every feature column at row base of dst. */
static void
merge_columns(TrainState *dst, const TrainState *src, int64 base, int64 n)
{
	for (int32 f = 0; f < dst->nfeat; f++)
	{
		TrainColumn *d = &dst->cols[f];
		const TrainColumn *s = &src->cols[f];

		if (d->type.sqltype == DLF_SQL_TEXT)
		{
			int32	   *map = merge_dict(&d->dict, &s->dict);

			src_copy(src, f, 0, d->cat + base, sizeof(int32) * n);
			for (int64 i = base; i < base + n; i++)
			{
				int32		c = d->cat[i];

				if (c < -1 || c >= s->dict.n)
					elog(ERROR, "dlfin_train: invalid serialized state");
				d->cat[i] = c < 0 ? -1 : map[c];
			}
			pfree(map);
		}
		else
			src_copy(src, f, 0, d->num + base, sizeof(float) * n);
	}
}

/* Appends the rows of src to dst (parallel combine). */
void
train_state_merge(TrainState *dst, TrainState *src)
{
	int64		base = dst->nrows;
	int64		n = src->nrows;

	check_usable(dst);
	check_usable(src);
	check_compatible(dst, src);
	if (dst->options == NULL && src->options != NULL)
	{
		dst->options = palloc(VARSIZE(src->options));
		memcpy(dst->options, src->options, VARSIZE(src->options));
	}
	if (cmp_names(dst, src) < 0)
		train_state_set_names(dst, src->names);
	if (n == 0)
		return;
	if (src->spill_writer)
		train_state_spill_open(src, raw_offset(src, src->nfeat));
	if (base == 0 && src->spill_writer)
		reserve_ahead(dst, n, SPILL_AHEAD * n);
	train_state_reserve(dst, base + n);
	merge_labels(dst, src, base, n);
	merge_columns(dst, src, base, n);
	dst->nrows = base + n;
	train_state_spill_close(src);
	train_state_check_memory(dst);
}

/* Writes a dictionary. */
static void
send_dict(StringInfo buf, const DlfDict *d)
{
	pq_sendint32(buf, d->n);
	for (int32 c = 0; c < d->n; c++)
	{
		pq_sendint32(buf, d->len[c]);
		pq_sendbytes(buf, d->str[c], d->len[c]);
		pq_sendint64(buf, d->count[c]);
	}
}

/* Reads a dictionary, checking every length. */
static void
recv_dict(StringInfo buf, DlfDict *d)
{
	int32		n = pq_getmsgint(buf, 4);

	if (n < 0)
		elog(ERROR, "dlfin_train: invalid serialized state");
	for (int32 c = 0; c < n; c++)
	{
		int32		len = pq_getmsgint(buf, 4);
		const char *s;
		int64		count;

		if (len < 0 || len > buf->len - buf->cursor)
			elog(ERROR, "dlfin_train: invalid serialized state");
		s = pq_getmsgbytes(buf, len);
		count = pq_getmsgint64(buf);
		if (dlfin_dict_add(d, s, len, count) != c)
			elog(ERROR, "dlfin_train: invalid serialized state");
	}
}

/* Reads the feature names, checking every length. */
static void
recv_names(StringInfo buf, TrainState *st)
{
	int			named = pq_getmsgbyte(buf);

	if (named != 0 && named != 1)
		elog(ERROR, "dlfin_train: invalid serialized state");
	if (!named)
		return;
	st->names = palloc(sizeof(char *) * st->nfeat);
	for (int32 f = 0; f < st->nfeat; f++)
	{
		int32		len = pq_getmsgint(buf, 4);

		if (len < 1 || len > DLF_MAX_NAME || len > buf->len - buf->cursor)
			elog(ERROR, "dlfin_train: invalid serialized state");
		st->names[f] = pnstrdup(pq_getmsgbytes(buf, len), len);
		if (strlen(st->names[f]) != len)
			elog(ERROR, "dlfin_train: invalid serialized state");
	}
}

/* Writes a type descriptor (built-in base type OID, kind). */
static void
send_type(StringInfo buf, const DlfArgType *t)
{
	pq_sendint32(buf, t->base);
	pq_sendbyte(buf, t->kind);
}

/* Reads a type descriptor and checks it against the known types. */
static void
recv_type(StringInfo buf, DlfArgType *t)
{
	Oid			base = pq_getmsgint(buf, 4);
	int			kind = pq_getmsgbyte(buf);

	if (!dlfin_classify_type(base, t) || t->kind != kind)
		elog(ERROR, "dlfin_train: invalid serialized state");
}

/*
 * Whether the serial function may free the state's rows as it copies them:
 * only under a plain or sorted aggregation, which never reads a group's
 * state again once its partial result is out (a rescan starts from new
 * states; a hashed one may emit the same states again).  The states are
 * never shared between aggregates: FINALFUNC_MODIFY = READ_WRITE.
 */
bool
train_state_consumable(FunctionCallInfo fcinfo)
{
	AggState   *agg;

	if (AggCheckCallContext(fcinfo, NULL) != AGG_CONTEXT_AGGREGATE ||
		fcinfo->context == NULL || !IsA(fcinfo->context, AggState))
		return false;
	agg = (AggState *) fcinfo->context;
	return agg->aggstrategy == AGG_PLAIN || agg->aggstrategy == AGG_SORTED;
}

/*
 * Serialises the state for a parallel leader or another node.  The row
 * arrays, nearly all of it, are appended into room reserved once (no
 * doubling copies); with consume, each is freed once copied, so the state
 * and its serial form do not both live whole.  With spill (which implies
 * consume: the caller checked train_state_spillable), they go to a file
 * instead and the serial form names it.
 */
bytea *
train_state_serialize(TrainState *st, bool consume, bool spill)
{
	StringInfoData buf;
	int64		n = st->nrows;

	train_state_check_owned(st);
	spill = spill && consume && n > 0 && st->cap > 0;
	pq_begintypsend(&buf);
	pq_sendint32(&buf, spill ? STATE_MAGIC_SPILL : STATE_MAGIC);
	pq_sendint32(&buf, st->nfeat);
	pq_sendint64(&buf, n);
	send_type(&buf, &st->label_type);
	if (st->options)
	{
		pq_sendint32(&buf, VARSIZE(st->options));
		pq_sendbytes(&buf, (char *) st->options, VARSIZE(st->options));
	}
	else
		pq_sendint32(&buf, 0);
	for (int32 f = 0; f < st->nfeat; f++)
		send_type(&buf, &st->cols[f].type);
	pq_sendbyte(&buf, st->names != NULL);
	for (int32 f = 0; st->names && f < st->nfeat; f++)
	{
		pq_sendint32(&buf, strlen(st->names[f]));
		pq_sendbytes(&buf, st->names[f], strlen(st->names[f]));
	}
	if (st->label_type.sqltype == DLF_SQL_TEXT)
		send_dict(&buf, &st->label_dict);
	for (int32 f = 0; f < st->nfeat; f++)
		if (st->cols[f].type.sqltype == DLF_SQL_TEXT)
			send_dict(&buf, &st->cols[f].dict);
	/* numeric labels: values (1), or codes (0) and the distinct values */
	if (st->label_type.sqltype != DLF_SQL_TEXT)
	{
		pq_sendbyte(&buf, st->label_val != NULL);
		if (st->label_val == NULL)
		{
			pq_sendint32(&buf, st->nvals);
			pq_sendbytes(&buf, (char *) st->vals, sizeof(double) * st->nvals);
		}
	}
	if (spill)
	{
		train_state_spill_rows(st, &buf);
		goto consumed;
	}
	/* arrays in host order: states only travel between identical builds */
	enlargeStringInfo(&buf, (int) Min((Size) n * row_bytes(st), (Size) MaxAllocSize));
	if (st->label_val)
		pq_sendbytes(&buf, (char *) st->label_val, sizeof(double) * n);
	else
		pq_sendbytes(&buf, (char *) st->label_code, sizeof(uint16) * n);
	if (consume && st->cap > 0)
	{
		if (st->label_val)
			pfree(st->label_val);
		else
			pfree(st->label_code);
		st->label_val = NULL;
		st->label_code = NULL;
	}
	for (int32 f = 0; f < st->nfeat; f++)
	{
		TrainColumn *c = &st->cols[f];
		void	   *col = c->type.sqltype == DLF_SQL_TEXT ? (void *) c->cat : (void *) c->num;

		pq_sendbytes(&buf, (char *) col, 4 * n);
		if (consume && st->cap > 0)
		{
			pfree(col);
			c->cat = NULL;
			c->num = NULL;
		}
	}
consumed:
	if (consume)
	{
		st->consumed = true;
		st->nrows = 0;
		st->cap = 0;
		st->array_bytes = 0;
	}
	return pq_endtypsend(&buf);
}

/*
 * Reads a numeric label's coding: 1, the labels are kept as values; 0, a
 * count and the distinct values in code order (each checked to come back
 * with its code).
 */
static void
recv_label_values(StringInfo buf, TrainState *st)
{
	int			as_values = pq_getmsgbyte(buf);
	int32		nv;
	const double *v;

	if (as_values == 1)
	{
		/* an empty state's arrays are allocated by the reserve below */
		st->label_val = palloc_extended(sizeof(double), MCXT_ALLOC_HUGE);
		st->cap = 0;
		return;
	}
	nv = pq_getmsgint(buf, 4);
	if (as_values != 0 || nv < 0 || nv > DLF_MAX_CLASSES ||
		nv > (buf->len - buf->cursor) / (int) sizeof(double))
		elog(ERROR, "dlfin_train: invalid serialized state");
	v = (const double *) pq_getmsgbytes(buf, sizeof(double) * nv);
	for (int32 c = 0; c < nv; c++)
	{
		double		x;

		memcpy(&x, v + c, sizeof(double));
		if (!isfinite(x) || value_code(st, x) != c)
			elog(ERROR, "dlfin_train: invalid serialized state");
	}
}

/*
 * Points the state at its n serialised rows, which stay in the buffer or
 * in the spill file it names: they are checked when train_state_merge
 * copies them.
 */
static void
recv_rows(StringInfo buf, TrainState *st, int64 n, bool spilled)
{
	Size		need = (Size) n * 4 * st->nfeat +
		(Size) n * (st->label_val ? sizeof(double) : sizeof(uint16));

	st->raw_label_values = st->label_val != NULL;
	if (st->label_val)
		pfree(st->label_val);
	st->label_val = NULL;
	st->nrows = n;
	if (spilled)
	{
		/* the file's size is checked when it is opened */
		train_state_spill_recv(buf, st);
		return;
	}
	if (need != (Size) (buf->len - buf->cursor))
		elog(ERROR, "dlfin_train: invalid serialized state");
	st->raw_rows = pq_getmsgbytes(buf, (int) need);
}

/*
 * Reads a serialised state, validating every count; its rows are not
 * copied but read from b by train_state_merge (codes checked there), so b
 * must outlive the state, as the combine function's argument does.
 */
TrainState *
train_state_deserialize(bytea *b)
{
	StringInfoData buf;
	TrainState *st;
	DlfArgType	label_type;
	DlfArgType *types;
	int32		nfeat;
	int64		n;
	int32		optlen;
	Jsonb	   *options = NULL;
	uint32		magic;

	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	magic = pq_getmsgint(&buf, 4);
	if (magic != STATE_MAGIC && magic != STATE_MAGIC_SPILL)
		elog(ERROR, "dlfin_train: invalid serialized state");
	nfeat = pq_getmsgint(&buf, 4);
	n = pq_getmsgint64(&buf);
	if (nfeat < 1 || nfeat > DLF_MAX_FEATURES || n < 0 ||
		(magic == STATE_MAGIC && n > (int64) buf.len / (int64) sizeof(uint16)) ||
		(magic == STATE_MAGIC_SPILL &&
		 (n == 0 || n > PG_INT64_MAX / (4 * (DLF_MAX_FEATURES + 2)))))
		elog(ERROR, "dlfin_train: invalid serialized state");
	recv_type(&buf, &label_type);
	optlen = pq_getmsgint(&buf, 4);
	if (optlen < 0 || (optlen > 0 && optlen < VARHDRSZ) ||
		optlen > buf.len - buf.cursor)
		elog(ERROR, "dlfin_train: invalid serialized state");
	if (optlen > 0)
	{
		options = palloc(optlen);
		memcpy(options, pq_getmsgbytes(&buf, optlen), optlen);
		if (VARSIZE(options) != optlen)
			elog(ERROR, "dlfin_train: invalid serialized state");
	}
	types = palloc(sizeof(DlfArgType) * nfeat);
	for (int32 f = 0; f < nfeat; f++)
		recv_type(&buf, &types[f]);
	st = train_state_new(nfeat, &label_type, types, options);
	recv_names(&buf, st);
	if (label_type.sqltype == DLF_SQL_TEXT)
	{
		recv_dict(&buf, &st->label_dict);
		if (st->label_dict.n > TRAIN_MAX_LABEL_CODES)
			elog(ERROR, "dlfin_train: invalid serialized state");
	}
	for (int32 f = 0; f < nfeat; f++)
		if (types[f].sqltype == DLF_SQL_TEXT)
			recv_dict(&buf, &st->cols[f].dict);
	if (label_type.sqltype != DLF_SQL_TEXT)
		recv_label_values(&buf, st);
	if (n > 0)
		recv_rows(&buf, st, n, magic == STATE_MAGIC_SPILL);
	pq_getmsgend(&buf);
	return st;
}
