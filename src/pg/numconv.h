/*
 * numconv.h
 *	  numeric to double without the text round trip, for the values where
 *	  the result is provably the one numeric_float8_no_overflow gives.
 *
 * numeric_float8_no_overflow prints the numeric (numeric_out) and reads the
 * text back with strtod, which rounds correctly: about 100 ns a value, and
 * a short-header datum is copied first.  Most stored numerics are a few
 * base-10000 digits: the value is then M * 10^e with M an integer below
 * 2^53 and |e| <= 22, both exact as doubles, so one multiplication or
 * division (IEEE: correctly rounded) is the correctly rounded value, the
 * same double strtod returns (Clinger's fast path).  Anything else (more
 * digits, a larger exponent, NaN, infinities, a compressed or external
 * datum) returns false and takes the usual conversion.
 *
 * The layout is numeric's on-disk format (utils/adt/numeric.c, stable
 * across major versions since pg_upgrade keeps the bytes): a varlena whose
 * data starts with a uint16 header; short format (flag bits 10): sign bit
 * 0x2000, weight in the low 7 bits; long format (flag bits 00 positive,
 * 01 negative): the header holds the display scale, an int16 weight
 * follows; flag bits 11 are NaN and the infinities.  Then int16 digits in
 * base 10000, most significant first; digit i is worth
 * 10000^(weight - i).
 */
#ifndef DLFIN_NUMCONV_H
#define DLFIN_NUMCONV_H

#include "postgres.h"

#include <string.h>

/* Exact powers of ten of a double (10^22 is the largest). */
static const double dlfin_pow10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * Sets *out to numeric datum d as numeric_float8_no_overflow converts it,
 * when that is provably the same double; false otherwise (out untouched).
 */
static inline bool
dlfin_numeric_to_double_fast(Datum d, double *out)
{
	const struct varlena *v = (const struct varlena *) DatumGetPointer(d);
	const char *p;
	Size		len;
	uint16		hdr;
	int			weight;
	int			dscale;
	bool		neg;
	int			ndigits;
	uint64		m = 0;
	int			e10;

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
		return false;			/* compressed or external */
	p = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < sizeof(uint16))
		return false;
	memcpy(&hdr, p, sizeof(uint16));
	if ((hdr & 0xC000) == 0x8000)
	{
		/* short format */
		neg = (hdr & 0x2000) != 0;
		dscale = (hdr & 0x1F80) >> 7;
		weight = (hdr & 0x0040) ? (int) (~0x003F | (hdr & 0x003F)) : (int) (hdr & 0x003F);
		p += sizeof(uint16);
		len -= sizeof(uint16);
	}
	else if ((hdr & 0xC000) != 0xC000)
	{
		int16		w;

		if (len < 2 * sizeof(uint16))
			return false;
		neg = (hdr & 0xC000) == 0x4000;
		dscale = hdr & 0x3FFF;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		p += 2 * sizeof(uint16);
		len -= 2 * sizeof(uint16);
	}
	else
		return false;			/* NaN, +-Infinity */
	if (len % sizeof(int16) != 0)
		return false;
	ndigits = len / sizeof(int16);
	if (ndigits == 0)
	{
		*out = 0.0;				/* zero; numeric_out never prints -0 */
		return true;
	}
	if (ndigits > 4)
		return false;
	for (int i = 0; i < ndigits; i++)
	{
		int16		dg;

		memcpy(&dg, p + i * sizeof(int16), sizeof(int16));
		if (dg < 0 || dg >= 10000)
			return false;
		m = m * 10000 + (uint64) dg;
	}
	/* below 10^16, but a double is exact only below 2^53 */
	if (m > (UINT64CONST(1) << 53))
		return false;
	e10 = 4 * (weight - ndigits + 1);
	/*
	 * numeric_out prints dscale fraction digits: digits beyond it (which
	 * numeric never stores) would be dropped, so refuse them.
	 */
	if (-e10 > dscale)
	{
		int			hidden = -e10 - dscale;

		if (hidden > 16 || m % (uint64) dlfin_pow10[hidden] != 0)
			return false;
	}
	if (e10 > 22 || e10 < -22)
		return false;
	if (m == 0)
		*out = 0.0;
	else if (e10 >= 0)
		*out = (double) m * dlfin_pow10[e10];
	else
		*out = (double) m / dlfin_pow10[-e10];
	if (neg && m != 0)
		*out = -*out;
	return true;
}

#endif
