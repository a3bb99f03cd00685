/*
 * aggutil.h
 *	  Helpers shared by the evaluation and governance aggregates: memory
 *	  context, checked reading of serialised states, JSON results.
 */
#ifndef DLFIN_AGGUTIL_H
#define DLFIN_AGGUTIL_H

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "dlfin_core.h"

/* Returns the aggregate memory context or raises an error. */
extern MemoryContext dlfin_agg_context(FunctionCallInfo fcinfo, const char *fname);
/* Raises the error for a serialised state that fails validation. */
extern void dlfin_corrupt_state(const char *what) pg_attribute_noreturn();
/* Starts reading a serialised state; checks its magic and version byte. */
extern void dlfin_state_begin_read(StringInfo buf, bytea *b, uint32 magic,
								   int version, const char *what);
/* Checks that n more bytes can be read. */
extern void dlfin_state_need_bytes(StringInfo buf, int64 n, const char *what);
/* Turns JSON text built with the core writers into jsonb; frees the buffer. */
extern Datum dlfin_buf_to_jsonb(DlfBuf *b);
/* Appends the shortest decimal that reads back as v, or null if not finite. */
extern void dlfin_json_double(DlfBuf *b, double v);
/* Appends "key": number to a JSON object, with a leading comma if asked. */
extern void dlfin_json_num(DlfBuf *b, const char *key, double v, bool comma);

#endif
