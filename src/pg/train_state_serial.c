/*
 * train_state_serial.c
 *	  The serial form of a partial dlfin_train state (parallel aggregation,
 *	  Citus): self-contained (no OIDs but built-in type OIDs, no pointers),
 *	  checked when read back.  Under a Gather its rows may go to a spill
 *	  file instead (train_state_file.c).
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
/*
 * "DLF5": the same, with the rows in a spill file (train_state_file.c)
 * named by its tablespace, writer and counter ("DLF4" had no tablespace:
 * a worker that loaded another build of dlfin than its leader fails
 * cleanly)
 */
#define STATE_MAGIC_SPILL 0x444c4635

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
	enlargeStringInfo(&buf, (int) Min((Size) n * train_state_row_bytes(st), (Size) MaxAllocSize));
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
		if (!isfinite(x) || train_state_value_code(st, x) != c)
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
