/*
 * std_row.h
 *	  Standardising an all-numeric row for the scorer (dlf_scorer_run_std):
 *	  the one-row fast path of dlfin_predict reads its arguments where they
 *	  lie, so the values come strided, each next to its NULL flag.
 *
 * Static inline: it runs once per scored row, before the network, and a
 * call across files would cost a row's latency what the two-lane loop
 * saves.
 */
#ifndef DLFIN_STD_ROW_H
#define DLFIN_STD_ROW_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dlfin_core.h"

/* Two doubles, two floats, two 64-bit masks (SSE2, which every x86-64 has). */
typedef double dlf_vd2 __attribute__((vector_size(16)));
typedef double dlf_vd2u __attribute__((vector_size(16), aligned(8), may_alias));
typedef float dlf_vf2 __attribute__((vector_size(8)));
typedef float dlf_vf2u __attribute__((vector_size(8), aligned(4), may_alias));
typedef int64_t dlf_vl2 __attribute__((vector_size(16)));

/*
 * Standardises the n values of a row into out: a NULL is 0 (the mean), a
 * value is dlf_std_finite of it rounded to float32.  Value i is the double
 * at byte offset i * stride of values, its NULL flag the bool at the same
 * offset of isnull (an array of value/flag records, such as PostgreSQL's
 * NullableDatum).  Returns n, or the index of the first value that is NaN
 * or beyond DLF_FLOAT4_LIMIT in magnitude (out is then written only below
 * it).  Pairs without a NULL go two at a time, with dlf_std_finite's
 * operations in each lane, so the bits are the same.
 */
static inline int32_t
dlf_std_row(const void *values, const void *isnull, size_t stride,
			const double *mean, const double *inv_scale, float *out, int32_t n)
{
	const char *vals = values;
	const char *nulls = isnull;
	size_t		nn = n > 0 ? (size_t) n : 0;
	size_t		f = 0;

	/*
	 * An index, not advancing pointers: inlined with a constant stride, the
	 * values, flags, means and outputs share one induction variable.
	 */
	for (; f + 2 <= nn; f += 2)
	{
		const char *vp = vals + f * stride;
		const char *np = nulls + f * stride;
		double		v0,
					v1;
		dlf_vd2		v;
		dlf_vl2		ok;
		dlf_vd2		d;

		/* a NULL or a bad value: that pair one by one, below */
		if (*(const bool *) np | *(const bool *) (np + stride))
			break;
		memcpy(&v0, vp, sizeof(double));
		memcpy(&v1, vp + stride, sizeof(double));
		v = (dlf_vd2) {v0, v1};
		ok = (dlf_vd2) ((dlf_vl2) v & (dlf_vl2) {INT64_MAX, INT64_MAX}) <=
			(dlf_vd2) {DLF_FLOAT4_LIMIT, DLF_FLOAT4_LIMIT};
		if (__builtin_expect(!(ok[0] & ok[1]), 0))
			break;
		d = __builtin_convertvector(__builtin_convertvector(v, dlf_vf2), dlf_vd2);
		d = (d - *(const dlf_vd2u *) (mean + f)) * *(const dlf_vd2u *) (inv_scale + f);
		*(dlf_vf2u *) (out + f) = __builtin_convertvector(d, dlf_vf2);
	}
	for (; f < nn; f++)
	{
		double		v;

		if (*(const bool *) (nulls + f * stride))
		{
			/* the mean, as dlf_std_value imputes NaN */
			out[f] = 0.0f;
			continue;
		}
		memcpy(&v, vals + f * stride, sizeof(double));
		/* NaN fails too */
		if (__builtin_expect(!(fabs(v) <= DLF_FLOAT4_LIMIT), 0))
			return (int32_t) f;
		/* rounded to float32 first: training saw float32 columns */
		out[f] = dlf_std_finite((float) v, mean[f], inv_scale[f]);
	}
	return n;
}

#endif							/* DLFIN_STD_ROW_H */
