/*
 * args.c
 *	  Decoding of feature and label arguments passed as "any".
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "dlfin_pg.h"
#include "numconv.h"

/* Classifies a feature/label argument type; false if unsupported. */
bool
dlfin_classify_type(Oid type, DlfArgType *out)
{
	Oid			base = getBaseType(type);

	out->type = type;
	out->base = base;
	switch (base)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			out->kind = DLF_ARG_NUMBER;
			out->sqltype = DLF_SQL_NUMBER;
			return true;
		case BOOLOID:
			out->kind = DLF_ARG_BOOL;
			out->sqltype = DLF_SQL_BOOL;
			return true;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			out->kind = DLF_ARG_TEXT;
			out->sqltype = DLF_SQL_TEXT;
			return true;
		case UNKNOWNOID:
			out->kind = DLF_ARG_UNKNOWN_LITERAL;
			out->sqltype = DLF_SQL_TEXT;
			return true;
		default:
			return false;
	}
}

/* Converts a NUMBER or BOOL datum to double; *is_nan set for NaN/Inf. */
double
dlfin_datum_to_double(Datum d, const DlfArgType *t, bool *is_nan)
{
	double		v;

	switch (t->base)
	{
		case INT2OID:
			v = DatumGetInt16(d);
			break;
		case INT4OID:
			v = DatumGetInt32(d);
			break;
		case INT8OID:
			v = (double) DatumGetInt64(d);
			break;
		case FLOAT4OID:
			v = DatumGetFloat4(d);
			break;
		case FLOAT8OID:
			v = DatumGetFloat8(d);
			break;
		case NUMERICOID:
			{
				Numeric		n;

				/* most stored numerics, without the text round trip */
				if (dlfin_numeric_to_double_fast(d, &v))
					break;
				n = DatumGetNumeric(d);
				if (numeric_is_nan(n) || numeric_is_inf(n))
				{
					*is_nan = true;
					return 0;
				}
				/*
				 * Without the range error of numeric_float8: a value too
				 * small for float8 (1e-1000) is 0, as it is in float4; one
				 * too large is clamped to the largest float8, which the
				 * callers' float4 range check refuses (22003).
				 */
				v = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
													   NumericGetDatum(n)));
				if (isinf(v))
					v = v > 0 ? DBL_MAX : -DBL_MAX;
				break;
			}
		case BOOLOID:
			v = DatumGetBool(d) ? 1.0 : 0.0;
			break;
		default:
			elog(ERROR, "unexpected type %u", t->base);
	}
	*is_nan = !isfinite(v);
	return v;
}

/* Text bytes of a TEXT or untyped-literal datum (not NUL-terminated). */
void
dlfin_datum_text(Datum d, const DlfArgType *t, const char **s, int *len)
{
	if (t->kind == DLF_ARG_UNKNOWN_LITERAL)
	{
		*s = DatumGetCString(d);
		*len = strlen(*s);
	}
	else
	{
		text	   *txt = DatumGetTextPP(d);

		*s = VARDATA_ANY(txt);
		*len = VARSIZE_ANY_EXHDR(txt);
		/* bpchar compares without trailing blanks */
		if (t->base == BPCHAROID)
			while (*len > 0 && (*s)[*len - 1] == ' ')
				(*len)--;
	}
}
