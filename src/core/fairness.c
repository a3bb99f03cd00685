/*
 * fairness.c
 *	  Fairness maths of dlfin_fairness: per-group decision counts, rates,
 *	  adverse impact ratio (four-fifths rule), parity and opportunity gaps.
 */
#include <math.h>
#include <stddef.h>

#include "fairness.h"

/* Ratio, NaN when the denominator is zero. */
static inline double
ratio(int64_t a, int64_t b)
{
	return b > 0 ? (double) a / (double) b : NAN;
}

void
dlf_fair_count(DlfFairCounts *g, double score, bool label, double threshold)
{
	bool		approved = score >= threshold;

	g->n++;
	g->approved += approved;
	g->pos += label;
	g->tp += approved && label;
	g->fp += approved && !label;
}

void
dlf_fair_add(DlfFairCounts *dst, const DlfFairCounts *src)
{
	dst->n += src->n;
	dst->approved += src->approved;
	dst->pos += src->pos;
	dst->tp += src->tp;
	dst->fp += src->fp;
}

bool
dlf_fair_counts_valid(const DlfFairCounts *g)
{
	return !(g->n < 1 || g->approved < 0 || g->approved > g->n || g->pos < 0 ||
			 g->pos > g->n || g->tp < 0 || g->tp > g->pos || g->fp < 0 ||
			 g->fp > g->n - g->pos || g->tp + g->fp != g->approved);
}

void
dlf_fair_rates(const DlfFairCounts *g, const DlfFairCounts *r, DlfFairRates *out)
{
	out->approval_rate = ratio(g->approved, g->n);
	out->tpr = ratio(g->tp, g->pos);
	out->fpr = ratio(g->fp, g->n - g->pos);
	out->adverse_impact_ratio = NAN;
	out->four_fifths_violation = false;
	/* one rounding for the ratio, and an exact test for the flag */
	if (r->approved > 0)
	{
		out->adverse_impact_ratio = ((double) g->approved * (double) r->n) /
			((double) r->approved * (double) g->n);
		out->four_fifths_violation = (__int128) 5 * g->approved * r->n <
			(__int128) 4 * r->approved * g->n;
	}
}

int
dlf_fair_summary(const void *groups, int32_t n, size_t stride,
				 double *parity_diff, double *eo_diff)
{
	int			ref = -1;
	double		amax = NAN,
				amin = NAN,
				tmax = NAN,
				tmin = NAN;

	for (int32_t k = 0; k < n; k++)
	{
		const DlfFairCounts *g = (const DlfFairCounts *) ((const char *) groups + k * stride);
		double		a = ratio(g->approved, g->n),
					t = ratio(g->tp, g->pos);

		if (ref < 0 || a > amax)
		{
			ref = k;
			amax = a;
		}
		if (isnan(amin) || a < amin)
			amin = a;
		if (!isnan(t))
		{
			if (isnan(tmax) || t > tmax)
				tmax = t;
			if (isnan(tmin) || t < tmin)
				tmin = t;
		}
	}
	*parity_diff = amax - amin;
	*eo_diff = tmax - tmin;
	return ref;
}
