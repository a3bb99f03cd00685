/*
 * aggutil.c
 *	  Helpers shared by the evaluation and governance aggregates.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "aggutil.h"

/* Returns the aggregate memory context or raises an error. */
MemoryContext
dlfin_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return ctx;
}

/* Raises the error for a serialised state that fails validation. */
void
dlfin_corrupt_state(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid serialized %s aggregate state", what)));
}

/* Starts reading a serialised state; checks its magic and version byte. */
void
dlfin_state_begin_read(StringInfo buf, bytea *b, uint32 magic, int version,
					   const char *what)
{
	buf->data = VARDATA_ANY(b);
	buf->len = VARSIZE_ANY_EXHDR(b);
	buf->maxlen = buf->len;
	buf->cursor = 0;
	if (buf->len < 5 || pq_getmsgint(buf, 4) != magic ||
		pq_getmsgbyte(buf) != version)
		dlfin_corrupt_state(what);
}

/* Checks that n more bytes can be read. */
void
dlfin_state_need_bytes(StringInfo buf, int64 n, const char *what)
{
	if (n < 0 || n > buf->len - buf->cursor)
		dlfin_corrupt_state(what);
}

/* Turns JSON text built with the core writers into jsonb; frees the buffer. */
Datum
dlfin_buf_to_jsonb(DlfBuf *b)
{
	Datum		d;

	if (b->failed)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	d = DirectFunctionCall1(jsonb_in, CStringGetDatum((char *) b->data));
	dlf_buf_free(b);
	return d;
}

/* Appends the shortest decimal that reads back as v, or null if not finite. */
void
dlfin_json_double(DlfBuf *b, double v)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];
	int			len;

	if (!isfinite(v))
	{
		dlf_buf_append(b, "null", 4);
		return;
	}
	len = double_to_shortest_decimal_buf(v, num);
	dlf_buf_append(b, num, len);
}

/* Appends "key": number to a JSON object, with a leading comma if asked. */
void
dlfin_json_num(DlfBuf *b, const char *key, double v, bool comma)
{
	if (comma)
		dlf_buf_append(b, ", ", 2);
	dlf_buf_json_string(b, key);
	dlf_buf_append(b, ": ", 2);
	dlfin_json_double(b, v);
}
