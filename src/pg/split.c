/*
 * split.c
 *	  dlfin_split: a deterministic train/test assignment from a key's value.
 *
 * The key is reduced to a canonical byte form that does not depend on the
 * machine, the PostgreSQL version or session settings, hashed with the
 * project's own dlf_hash64, and the hash compared with the test fraction:
 *
 *	  int2, int4, int8, date, timestamp, timestamptz: the value as a signed
 *	      64-bit integer, little-endian (dates in days, timestamps in
 *	      microseconds since 2000-01-01);
 *	  boolean: 0 or 1 as above;
 *	  float4, float8: the IEEE 754 double, little-endian (-0 as 0);
 *	  text, varchar, name: the bytes of the string; char(n) without its
 *	      trailing blanks;
 *	  uuid: its 16 bytes;
 *	  anything else (numeric, ...): the bytes of its text output.
 *
 * Domains are treated as their base type.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"

#include "dlfin_pg.h"

typedef enum SplitKind
{
	SPLIT_INT,					/* integer-like: canonical int64 */
	SPLIT_FLOAT,				/* canonical float8 */
	SPLIT_STRING,				/* varlena text bytes */
	SPLIT_BPCHAR,				/* text bytes without trailing blanks */
	SPLIT_NAME,					/* NUL-terminated name */
	SPLIT_UUID,					/* 16 bytes */
	SPLIT_OUTPUT				/* the type's text output */
} SplitKind;

/* Per-call-site cache of how to canonicalise the key type. */
typedef struct SplitCache
{
	Oid			argtype;
	Oid			basetype;
	SplitKind	kind;
	FmgrInfo	outfn;
} SplitCache;

/* Writes v as 8 little-endian bytes. */
static void
put_le64(uint8 *out, uint64 v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8) (v >> (8 * i));
}

/* Looks up (once per call site) how to canonicalise the key's type. */
static SplitCache *
split_cache(FunctionCallInfo fcinfo)
{
	SplitCache *c = (SplitCache *) fcinfo->flinfo->fn_extra;
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);

	if (!OidIsValid(argtype))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not determine the data type of the split key")));
	if (c != NULL && c->argtype == argtype)
		return c;
	c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(SplitCache));
	c->argtype = argtype;
	c->basetype = getBaseType(argtype);
	switch (c->basetype)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case BOOLOID:
			c->kind = SPLIT_INT;
			break;
		case FLOAT4OID:
		case FLOAT8OID:
			c->kind = SPLIT_FLOAT;
			break;
		case TEXTOID:
		case VARCHAROID:
			c->kind = SPLIT_STRING;
			break;
		case BPCHAROID:
			c->kind = SPLIT_BPCHAR;
			break;
		case NAMEOID:
			c->kind = SPLIT_NAME;
			break;
		case UUIDOID:
			c->kind = SPLIT_UUID;
			break;
		default:
			{
				Oid			outfn;
				bool		isvarlena;

				getTypeOutputInfo(c->basetype, &outfn, &isvarlena);
				fmgr_info_cxt(outfn, &c->outfn, fcinfo->flinfo->fn_mcxt);
				c->kind = SPLIT_OUTPUT;
			}
	}
	fcinfo->flinfo->fn_extra = c;
	return c;
}

/* Returns the stable 64-bit hash of a key value. */
static uint64
split_hash(SplitCache *c, Datum d, uint64 seed)
{
	uint8		b[8];

	switch (c->kind)
	{
		case SPLIT_INT:
			{
				int64		v;

				switch (c->basetype)
				{
					case INT2OID:
						v = DatumGetInt16(d);
						break;
					case INT4OID:
						v = DatumGetInt32(d);
						break;
					case DATEOID:
						v = DatumGetDateADT(d);
						break;
					case BOOLOID:
						v = DatumGetBool(d) ? 1 : 0;
						break;
					default:	/* int8, timestamp, timestamptz */
						v = DatumGetInt64(d);
				}
				put_le64(b, (uint64) v);
				return dlf_hash64(b, 8, seed);
			}
		case SPLIT_FLOAT:
			{
				double		v = c->basetype == FLOAT4OID
					? (double) DatumGetFloat4(d) : DatumGetFloat8(d);
				uint64		bits;

				if (v == 0.0)
					v = 0.0;	/* -0 hashes as 0 */
				if (isnan(v))
					bits = UINT64CONST(0x7ff8000000000000);
				else
					memcpy(&bits, &v, 8);
				put_le64(b, bits);
				return dlf_hash64(b, 8, seed);
			}
		case SPLIT_STRING:
			{
				text	   *t = DatumGetTextPP(d);

				return dlf_hash64(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), seed);
			}
		case SPLIT_BPCHAR:
			{
				text	   *t = DatumGetTextPP(d);
				const char *s = VARDATA_ANY(t);
				size_t		len = VARSIZE_ANY_EXHDR(t);

				while (len > 0 && s[len - 1] == ' ')
					len--;
				return dlf_hash64(s, len, seed);
			}
		case SPLIT_NAME:
			{
				const char *s = NameStr(*DatumGetName(d));

				return dlf_hash64(s, strlen(s), seed);
			}
		case SPLIT_UUID:
			return dlf_hash64(DatumGetUUIDP(d)->data, UUID_LEN, seed);
		case SPLIT_OUTPUT:
		default:
			{
				char	   *s = OutputFunctionCall(&c->outfn, d);
				uint64		h = dlf_hash64(s, strlen(s), seed);

				pfree(s);
				return h;
			}
	}
}

PG_FUNCTION_INFO_V1(dlfin_split);
/* Returns 'test' for a stable share test_fraction of keys, else 'train'. */
Datum
dlfin_split(PG_FUNCTION_ARGS)
{
	double		fraction;
	int32		seed;
	SplitCache *c;
	uint64		h;
	double		u;

	/* declared STRICT: no argument is NULL */
	fraction = PG_GETARG_FLOAT8(1);
	if (!(fraction >= 0.0 && fraction <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_fraction must be between 0 and 1")));
	seed = PG_GETARG_INT32(2);

	c = split_cache(fcinfo);
	h = split_hash(c, PG_GETARG_DATUM(0), (uint64) (int64) seed);
	u = (double) (h >> 11) * (1.0 / 9007199254740992.0);	/* [0, 1) */
	PG_RETURN_TEXT_P(cstring_to_text(u < fraction ? "test" : "train"));
}
