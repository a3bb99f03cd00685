/*
 * points.c
 *	  Score points of binary models: the scale (see points.h for the
 *	  convention), points of a probability for dlfin_points, points of a
 *	  logit with their derivative for points-based explanations, and the
 *	  ranking of reasons by points lost.
 */
#include "nn_internal.h"
#include "points.h"

#include <string.h>

double
dlf_points_factor(const DlfPointsScale *s)
{
	return s->pdo / M_LN2;
}

double
dlf_points_offset(const DlfPointsScale *s)
{
	return s->base_score - dlf_points_factor(s) * log(s->base_odds);
}

/* The largest log-odds magnitude: that of probability DLF_POINTS_PMIN. */
static double
max_log_odds(void)
{
	return log1p(-DLF_POINTS_PMIN) - log(DLF_POINTS_PMIN);
}

double
dlf_points_of_prob(const DlfPointsScale *s, int adverse, double p)
{
	double		lo;

	if (isnan(p))
		return NAN;
	if (p < DLF_POINTS_PMIN)
		p = DLF_POINTS_PMIN;
	if (p > 1.0 - DLF_POINTS_PMIN)
		p = 1.0 - DLF_POINTS_PMIN;
	/* log(p / (1 - p)) without cancelling: log(p) - log1p(-p) */
	lo = log(p) - log1p(-p);
	if (adverse == DLF_ADVERSE_POSITIVE)
		lo = -lo;
	return dlf_points_offset(s) + dlf_points_factor(s) * lo;
}

/*
 * Log-odds of the positive class after calibration, L(z), and dL/dz:
 * none, L = z; Platt, q = 1 / (1 + exp(a z + b)) so L = -(a z + b);
 * isotonic, L = logit(iso(sigmoid(z))).
 */
static double
calibrated_log_odds(const DlfModel *m, double z, double *dz)
{
	double		p,
				q,
				slope = 0.0;
	int32_t		lo;

	if (m->calibration == DLF_CALIB_PLATT)
	{
		*dz = -m->platt_a;
		return -(m->platt_a * z + m->platt_b);
	}
	if (m->calibration != DLF_CALIB_ISOTONIC || m->niso < 1)
	{
		*dz = 1.0;
		return z;
	}
	p = 1.0 / (1.0 + exp(-z));
	q = dlf_calibrated(m, z);
	if (m->niso >= 2 && p > m->iso_x[0] && p < m->iso_x[m->niso - 1])
	{
		lo = dlf_iso_segment(m, p);
		if (m->iso_x[lo + 1] > m->iso_x[lo])
			slope = (m->iso_y[lo + 1] - m->iso_y[lo]) / (m->iso_x[lo + 1] - m->iso_x[lo]);
	}
	if (q < DLF_POINTS_PMIN || q > 1.0 - DLF_POINTS_PMIN)
	{
		*dz = 0.0;
		return q < 0.5 ? -max_log_odds() : max_log_odds();
	}
	*dz = slope * p * (1.0 - p) / (q * (1.0 - q));
	return log(q) - log1p(-q);
}

double
dlf_points_of_logit(const DlfModel *m, const DlfPointsScale *s, double z,
					double *dz)
{
	double		lmax = max_log_odds();
	double		d,
				L = calibrated_log_odds(m, z, &d);
	double		sign = m->adverse == DLF_ADVERSE_POSITIVE ? -1.0 : 1.0;

	/* the clamp of dlf_points_of_prob, on the log-odds */
	if (L > lmax || L < -lmax)
	{
		L = L > 0 ? lmax : -lmax;
		d = 0.0;
	}
	if (dz)
		*dz = dlf_points_factor(s) * sign * d;
	return dlf_points_offset(s) + dlf_points_factor(s) * sign * L;
}

int32_t
dlf_points_reasons(const double *points, int32_t nfeatures, int32_t k,
				   int32_t *idx)
{
	int32_t		n = 0;

	/* selection by insertion, as dlf_reason_features: k is small */
	for (int32_t f = 0; f < nfeatures; f++)
	{
		double		lost = -points[f];
		int32_t		pos;

		if (!(lost > 0.0))
			continue;
		pos = n < k ? n : k;
		while (pos > 0 && -points[idx[pos - 1]] < lost)
			pos--;
		if (pos >= k)
			continue;
		memmove(idx + pos + 1, idx + pos,
				sizeof(int32_t) * ((n < k ? n : k - 1) - pos));
		idx[pos] = f;
		if (n < k)
			n++;
	}
	return n;
}
