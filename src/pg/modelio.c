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

/* Copies encoded model bytes (freed here) into a new bytea. */
static bytea *
bytes_to_bytea(uint8_t *bytes, size_t len)
{
	bytea	   *result;

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

/* Encodes a model into a new bytea (a model imported from ONNX). */
bytea *
dlfin_encode_model(const DlfModel *m)
{
	uint8_t    *bytes;
	size_t		len;
	DlfError	err;

	if (dlf_model_encode(m, &bytes, &len, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	return bytes_to_bytea(bytes, len);
}

/*
 * Encodes a model just trained.  A model the codec refuses holds a value
 * that is not finite (a loss in the history, a metric, an edge), which
 * only a training that diverged leaves: that is reported as such (22000),
 * as the trainer reports a loss that became non-finite.
 */
bytea *
dlfin_encode_trained_model(const DlfModel *m)
{
	uint8_t    *bytes;
	size_t		len;
	DlfError	err;
	DlfStatus	rc = dlf_model_encode(m, &bytes, &len, &err);

	if (rc == DLF_ERR_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("training diverged"),
				 errdetail("The trained model is not valid: %s",
						   err.detail[0] ? err.detail : err.message),
				 errhint("Try a lower learning_rate; with option \"init\", check that the rows resemble the init model's training data.")));
	if (rc != DLF_OK)
		dlfin_report_core_error(&err);
	return bytes_to_bytea(bytes, len);
}
