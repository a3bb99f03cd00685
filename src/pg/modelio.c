/*
 * modelio.c
 *	  Model bytes <-> DlfModel, with core failures raised as SQL errors.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "dlfin_pg.h"

/* Decodes model bytes into a DlfModel in the current memory context. */
DlfModel *
dlfin_decode_model(bytea *b)
{
	DlfModel   *m = NULL;
	DlfError	err;

	if (dlf_model_decode((const uint8_t *) VARDATA_ANY(b),
						 VARSIZE_ANY_EXHDR(b), &m, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	return m;
}

/* Encodes a model into a new bytea. */
bytea *
dlfin_encode_model(const DlfModel *m)
{
	uint8_t    *bytes;
	size_t		len;
	DlfError	err;
	bytea	   *result;

	if (dlf_model_encode(m, &bytes, &len, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dlfin model of %zu bytes is too large for a bytea", len)));
	result = palloc(len + VARHDRSZ);
	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), bytes, len);
	dlf_free(bytes);
	return result;
}
