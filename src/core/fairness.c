/*
 * fairness.c
 *	  Fairness maths of dlfin_fairness: per-group decision counts, rates,
 *	  adverse impact ratio (four-fifths rule), parity and opportunity gaps,
 *	  and the significance of each group's ratio: Fisher's exact test or the
 *	  two-proportion z-test, the standardised mean difference of the scores
 *	  and the marginal effect.
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

/*
 * Adds hi + lo to the double-double x (Knuth's two-sum, then the low
 * parts): exact to about 2^-104 relative.
 */
static inline void
dd_add(double *x, double hi, double lo)
{
	double		s = x[0] + hi,
				bv = s - x[0],
				e = (x[0] - (s - bv)) + (hi - bv);

	e += x[1] + lo;
	x[0] = s + e;
	x[1] = e - (x[0] - s);
}

void
dlf_fair_moments(const DlfFairCounts *g, double *mean, double *m2)
{
	double		n = (double) g->n;
	double		sum = g->score_sum[0] + g->score_sum[1];
	double		ph,
				pl,
				d[2];

	*mean = g->n > 0 ? sum / n : NAN;
	*m2 = 0.0;
	if (g->n < 2)
		return;
	/* m2 = sq - sum * mean, the product exact (fma), the rest double-double */
	ph = sum * *mean;
	pl = fma(sum, *mean, -ph);
	d[0] = g->score_sq[0];
	d[1] = g->score_sq[1];
	dd_add(d, -ph, -pl);
	*m2 = d[0] + d[1] > 0.0 ? d[0] + d[1] : 0.0;
}

void
dlf_fair_count(DlfFairCounts *g, double score, bool label, double threshold)
{
	bool		approved = score >= threshold;

	g->n++;
	dd_add(g->score_sum, score, 0.0);
	dd_add(g->score_sq, score * score, fma(score, score, -(score * score)));
	g->approved += approved;
	g->pos += label;
	g->tp += approved && label;
	g->fp += approved && !label;
}

void
dlf_fair_add(DlfFairCounts *dst, const DlfFairCounts *src)
{
	dd_add(dst->score_sum, src->score_sum[0], src->score_sum[1]);
	dd_add(dst->score_sq, src->score_sq[0], src->score_sq[1]);
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

double
dlf_fisher_exact(int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t		r1 = a + b,
				r2 = c + d,
				c1 = a + c,
				n = r1 + r2;
	int64_t		lo = c1 - r2 > 0 ? c1 - r2 : 0,
				hi = r1 < c1 ? r1 : c1;
	int64_t		mode;
	double		pobs = 0.0,
				tail = 0.0,
				total = 0.0,
				t;

	if (r1 == 0 || r2 == 0 || c1 == 0 || c1 == n)
		return 1.0;
	/* the hypergeometric mode; the pmf relative to it by its ratio recurrence */
	mode = (int64_t) (((double) (c1 + 1) * (double) (r1 + 1)) / (double) (n + 2));
	if (mode < lo)
		mode = lo;
	if (mode > hi)
		mode = hi;
	/* two passes: the observed table's weight, then the sums */
	for (int pass = 0; pass < 2; pass++)
	{
		t = 1.0;
		for (int64_t x = mode; x <= hi; x++)
		{
			if (x > mode)
				t *= (double) (r1 - x + 1) * (double) (c1 - x + 1) /
					((double) x * (double) (r2 - c1 + x));
			if (pass == 0 && x == a)
				pobs = t;
			if (pass == 1)
			{
				total += t;
				if (t <= pobs * (1.0 + 1e-7))
					tail += t;
			}
		}
		t = 1.0;
		for (int64_t x = mode - 1; x >= lo; x--)
		{
			t *= (double) (x + 1) * (double) (r2 - c1 + x + 1) /
				((double) (r1 - x) * (double) (c1 - x));
			if (pass == 0 && x == a)
				pobs = t;
			if (pass == 1)
			{
				total += t;
				if (t <= pobs * (1.0 + 1e-7))
					tail += t;
			}
		}
	}
	t = tail / total;
	return t < 1.0 ? t : 1.0;
}

double
dlf_two_prop_z(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double *z)
{
	double		p1,
				p2,
				p,
				se;

	*z = NAN;
	if (n1 < 1 || n2 < 1)
		return NAN;
	p1 = (double) x1 / (double) n1;
	p2 = (double) x2 / (double) n2;
	p = ((double) x1 + (double) x2) / ((double) n1 + (double) n2);
	se = sqrt(p * (1.0 - p) * (1.0 / (double) n1 + 1.0 / (double) n2));
	if (!(se > 0.0))
		return NAN;
	*z = (p1 - p2) / se;
	return erfc(fabs(*z) / M_SQRT2);
}

double
dlf_smd(int64_t n1, double mean1, double m2_1, int64_t n2, double mean2,
		double m2_2)
{
	double		df = (double) n1 + (double) n2 - 2.0;
	double		var;

	if (n1 < 1 || n2 < 1 || !(df > 0.0))
		return NAN;
	var = (m2_1 + m2_2) / df;
	if (!(var > 0.0))
		return NAN;
	return (mean1 - mean2) / sqrt(var);
}

void
dlf_fair_test(const DlfFairCounts *g, const DlfFairCounts *ref, DlfFairTest *out)
{
	int64_t		a = g->approved,
				b = g->n - g->approved,
				c = ref->approved,
				d = ref->n - ref->approved;
	double		n = (double) (a + b + c + d);
	double		emin = INFINITY;
	DlfFairRates r;

	/* the smallest expected cell count decides the test */
	for (int i = 0; i < 4; i++)
	{
		double		row = (double) (i < 2 ? a + b : c + d);
		double		col = (double) (i % 2 == 0 ? a + c : b + d);

		if (row * col / n < emin)
			emin = row * col / n;
	}
	out->exact = emin < DLF_FAIR_EXACT_BELOW;
	out->z = NAN;
	out->p_value = out->exact ? dlf_fisher_exact(a, b, c, d) :
		dlf_two_prop_z(a, g->n, c, ref->n, &out->z);
	out->marginal_effect = ratio(a, g->n) - ratio(c, ref->n);
	{
		double		mg,
					m2g,
					mr,
					m2r;

		dlf_fair_moments(g, &mg, &m2g);
		dlf_fair_moments(ref, &mr, &m2r);
		out->smd = dlf_smd(g->n, mg, m2g, ref->n, mr, m2r);
	}
	dlf_fair_rates(g, ref, &r);
	out->practically_significant = !isnan(r.adverse_impact_ratio) &&
		r.four_fifths_violation && out->p_value < 0.05;
}
