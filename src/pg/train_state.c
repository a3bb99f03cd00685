/*
 * train_state.c
 *	  Buffering of training rows for dlfin_train: growth under the memory
 *	  limit and merging of partial states (parallel aggregation).  Their
 *	  serial form is in train_state_serial.c.
 */
#include "postgres.h"

#include <math.h>

#include "utils/memutils.h"

#include "train_state.h"

/* open-addressing slots over the distinct numeric labels: > 2 * their limit */
#define VAL_SLOTS	4096
/*
 * Rows a combined state reserves on its first spilled partial state, in
 * multiples of that state's rows (the leader and two workers), before the
 * others arrive: reserved room is only address space until rows fill it
 * (1M rows x 8 features, peak RSS growth with 2 workers: 1.50x the raw
 * matrix with 2, 1.49x with 3, as with 1 worker).
 */
#define SPILL_AHEAD 3

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
	st->spill_file = -1;
	train_state_spill_expect();
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
Size
train_state_row_bytes(const TrainState *st)
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
	limit_rows = ((Size) dlfin_max_training_memory * 1024) / train_state_row_bytes(st);
	if ((Size) cap > limit_rows)
		cap = Max(nrows, (int64) limit_rows);
	if ((Size) nrows > limit_rows || cap > (int64) (MaxAllocHugeSize / sizeof(double)))
	{
		st->nrows = nrows;
		st->array_bytes = (Size) nrows * train_state_row_bytes(st);
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
	st->array_bytes = (Size) cap * train_state_row_bytes(st);
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
	int64		fit = limit > other ? (int64) ((limit - other) / train_state_row_bytes(st)) : 0;

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
	st->array_bytes = (Size) st->cap * train_state_row_bytes(st);
	train_state_check_memory(st);
}

/* Code of numeric label v, added when new; -1 when the codes are full. */
int32
train_state_value_code(TrainState *st, double v)
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
	c = train_state_value_code(st, v);
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
				(map[c] = train_state_value_code(dst, src->vals[c])) < 0;
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
