/*
 * calibrate.c
 *	  Probability calibration: the calibrated probability scoring uses,
 *	  the Platt and isotonic fits on the validation rows, and the
 *	  equal-width bins of the model card's reliability diagram (declared
 *	  in svg.h, next to the diagram).
 */
#include "govern_internal.h"
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the calibrated probability (scoring) ---------------------------------- */

/*
 * Segment of the isotonic map holding p, for iso_x[0] < p < iso_x[niso-1]:
 * the lo with iso_x[lo] <= p < iso_x[lo + 1], by binary search.
 */
int32_t
dlf_iso_segment(const DlfModel *m, double p)
{
	int32_t		lo = 0,
				hi = m->niso - 1;

	while (hi - lo > 1)
	{
		int32_t		mid = (lo + hi) / 2;

		if (m->iso_x[mid] <= p)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The calibrated positive-class probability of a binary model's logit. */
double
dlf_calibrated(const DlfModel *m, double logit)
{
	double		p;

	/* Platt scaling replaces the sigmoid: do not compute it for nothing */
	if (m->calibration == DLF_CALIB_PLATT)
		return 1.0 / (1.0 + exp(m->platt_a * logit + m->platt_b));
	p = 1.0 / (1.0 + exp(-logit));
	if (m->calibration == DLF_CALIB_ISOTONIC && m->niso > 0)
	{
		const double *xs = m->iso_x;
		const double *ys = m->iso_y;
		int32_t		lo;

		if (p <= xs[0])
			return ys[0];
		if (p >= xs[m->niso - 1])
			return ys[m->niso - 1];
		lo = dlf_iso_segment(m, p);
		if (xs[lo + 1] > xs[lo])
			return ys[lo] + (ys[lo + 1] - ys[lo]) * (p - xs[lo]) / (xs[lo + 1] - xs[lo]);
		return ys[lo];
	}
	return p;
}


/* ---- fitting the calibration ------------------------------------------------- */

/*
 * Platt's objective f(a,b) = sum t*(az+b) + log(1 + exp(-(az+b))), in a
 * stable form, with smoothed targets tpos and tneg.
 */
static double
platt_objective(const double *z, const uint8_t *y, int64_t n, double a,
				double b, double tpos, double tneg)
{
	double		f = 0.0;

	for (int64_t i = 0; i < n; i++)
	{
		double		t = y[i] ? tpos : tneg,
					fa = a * z[i] + b;

		f += fa >= 0 ? t * fa + log1p(exp(-fa)) : (t - 1) * fa + log1p(exp(fa));
	}
	return f;
}

/*
 * The Newton direction (da, db) of Platt's objective at (a, b); returns
 * the directional derivative g . d, or NAN when the gradient vanishes.
 */
static double
platt_newton(const double *z, const uint8_t *y, int64_t n, double a, double b,
			 double tpos, double tneg, double *da, double *db)
{
	double		h11 = 1e-12,
				h22 = 1e-12,
				h21 = 0.0,
				g1 = 0.0,
				g2 = 0.0,
				det;

	for (int64_t i = 0; i < n; i++)
	{
		double		t = y[i] ? tpos : tneg,
					fa = a * z[i] + b,
					p,
					q,
					d2,
					d1;

		if (fa >= 0)
		{
			p = exp(-fa) / (1.0 + exp(-fa));
			q = 1.0 / (1.0 + exp(-fa));
		}
		else
		{
			p = 1.0 / (1.0 + exp(fa));
			q = exp(fa) / (1.0 + exp(fa));
		}
		d2 = p * q;
		h11 += z[i] * z[i] * d2;
		h22 += d2;
		h21 += z[i] * d2;
		d1 = t - p;
		g1 += z[i] * d1;
		g2 += d1;
	}
	if (fabs(g1) < 1e-9 && fabs(g2) < 1e-9)
		return NAN;
	det = h11 * h22 - h21 * h21;
	*da = -(h22 * g1 - h21 * g2) / det;
	*db = -(-h21 * g1 + h11 * g2) / det;
	return g1 * *da + g2 * *db;
}

/*
 * Platt scaling: p = 1 / (1 + exp(a z + b)) fitted by Newton's method with
 * backtracking on Platt's smoothed targets (Lin, Lin and Weng 2007).  a is
 * kept <= 0 so that the calibrated score never decreases with the logit.
 */
static DlfStatus
fit_platt(Gov *g, const double *z, const uint8_t *y, int64_t n)
{
	double		npos = 0,
				nneg = 0;
	double		tpos,
				tneg,
				a = 0.0,
				b,
				fval;

	for (int64_t i = 0; i < n; i++)
	{
		npos += y[i];
		nneg += !y[i];
	}
	tpos = (npos + 1.0) / (npos + 2.0);
	tneg = 1.0 / (nneg + 2.0);
	b = log((nneg + 1.0) / (npos + 1.0));
	fval = platt_objective(z, y, n, a, b, tpos, tneg);
	for (int it = 0; it < PLATT_ITERS; it++)
	{
		double		da = 0.0,
					db = 0.0,
					gd = platt_newton(z, y, n, a, b, tpos, tneg, &da, &db),
					step;

		if (isnan(gd))
			break;
		for (step = 1.0; step >= 1e-10; step /= 2.0)
		{
			double		na = a + step * da,
						nb = b + step * db,
						nf = platt_objective(z, y, n, na, nb, tpos, tneg);

			if (nf < fval + 1e-4 * step * gd)
			{
				a = na;
				b = nb;
				fval = nf;
				break;
			}
		}
		if (step < 1e-10)
			break;
	}
	if (!(a <= 0.0) || !isfinite(a) || !isfinite(b))
	{
		dlf_fail(g->err, DLF_ERR_DATA, "Platt calibration failed");
		dlf_detail(g->err, "On the validation rows the scores do not increase with the positive class.");
		return DLF_ERR_DATA;
	}
	g->m->platt_a = a;
	g->m->platt_b = b;
	return DLF_OK;
}

/* A (probability, label) pair for isotonic regression. */
typedef struct IsoPt
{
	double		p;
	double		y;
} IsoPt;

/* Orders pairs by probability. */
static int
iso_cmp(const void *a, const void *b)
{
	double		x = ((const IsoPt *) a)->p,
				y = ((const IsoPt *) b)->p;

	return x < y ? -1 : x > y;
}

/*
 * Isotonic regression of the labels on the probabilities (pool adjacent
 * violators, equal probabilities pooled first).  Each block contributes
 * its lowest and highest probability at the block's label mean, and
 * dlf_calibrated interpolates linearly between points, so the map is
 * continuous and non-decreasing.
 */
static DlfStatus
fit_isotonic(Gov *g, const double *z, const uint8_t *y, int64_t n)
{
	DlfModel   *m = g->m;
	IsoPt	   *pt = dlf_alloc_array(n, sizeof(IsoPt));
	double	   *bx0 = dlf_alloc_array(n, sizeof(double));	/* block lowest p */
	double	   *bx1 = dlf_alloc_array(n, sizeof(double));	/* block highest p */
	double	   *bs = dlf_alloc_array(n, sizeof(double));	/* label sum */
	double	   *bw = dlf_alloc_array(n, sizeof(double));	/* rows */
	int64_t		nb = 0,
				k = 0;
	DlfStatus	st = DLF_OK;

	if (!pt || !bx0 || !bx1 || !bs || !bw)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int64_t i = 0; i < n; i++)
	{
		pt[i].p = 1.0 / (1.0 + exp(-z[i]));
		pt[i].y = y[i];
	}
	qsort(pt, n, sizeof(IsoPt), iso_cmp);
	for (int64_t i = 0; i < n; i++)
	{
		if (nb > 0 && pt[i].p == bx1[nb - 1])
		{
			bs[nb - 1] += pt[i].y;
			bw[nb - 1] += 1;
		}
		else
		{
			bx0[nb] = bx1[nb] = pt[i].p;
			bs[nb] = pt[i].y;
			bw[nb] = 1;
			nb++;
		}
		/* pool while the previous block's mean is not below this one's */
		while (nb > 1 && bs[nb - 2] * bw[nb - 1] >= bs[nb - 1] * bw[nb - 2])
		{
			bs[nb - 2] += bs[nb - 1];
			bw[nb - 2] += bw[nb - 1];
			bx1[nb - 2] = bx1[nb - 1];
			nb--;
		}
	}
	m->iso_x = dlf_alloc_array(2 * nb, sizeof(double));
	m->iso_y = dlf_alloc_array(2 * nb, sizeof(double));
	if (!m->iso_x || !m->iso_y)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int64_t b = 0; b < nb; b++)
	{
		double		mean = bs[b] / bw[b];

		m->iso_x[k] = bx0[b];
		m->iso_y[k++] = mean;
		if (bx1[b] > bx0[b])
		{
			m->iso_x[k] = bx1[b];
			m->iso_y[k++] = mean;
		}
	}
	m->niso = (int32_t) k;
done:
	dlf_free(pt);
	dlf_free(bx0);
	dlf_free(bx1);
	dlf_free(bs);
	dlf_free(bw);
	return st;
}

/* Fits the requested calibration on the validation rows; records ECE. */
DlfStatus
gov_calibrate(Gov *g, const uint32_t *rows, int64_t n)
{
	DlfModel   *m = g->m;
	int			method = m->calibration;
	float	   *zf = dlf_alloc_array(n, sizeof(float));
	double	   *z = dlf_alloc_array(n, sizeof(double));
	double	   *p = dlf_alloc_array(n, sizeof(double));
	uint8_t    *y = dlf_alloc_array(n, sizeof(uint8_t));
	DlfBinaryMetrics bm;
	DlfStatus	st;

	if (!zf || !z || !p || !y)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	if ((st = gov_logits(g, rows, n, -1, NULL, zf)) != DLF_OK)
		goto done;
	for (int64_t i = 0; i < n; i++)
	{
		z[i] = zf[i];
		p[i] = 1.0 / (1.0 + exp(-z[i]));
		y[i] = dlf_label(g->d, rows[i]) > 0.5;
	}
	if ((st = dlf_binary_metrics(p, y, n, 0.5, &bm, g->err)) != DLF_OK)
		goto done;
	m->ece_before = bm.ece;
	m->ece_after = NAN;
	if (method == DLF_CALIB_NONE)
		goto done;
	m->calibration = DLF_CALIB_NONE;	/* fit on raw probabilities */
	st = method == DLF_CALIB_PLATT ? fit_platt(g, z, y, n) : fit_isotonic(g, z, y, n);
	if (st != DLF_OK)
		goto done;
	m->calibration = (uint8_t) method;
	for (int64_t i = 0; i < n; i++)
		p[i] = dlf_calibrated(m, z[i]);
	if ((st = dlf_binary_metrics(p, y, n, 0.5, &bm, g->err)) != DLF_OK)
		goto done;
	m->ece_after = bm.ece;
done:
	dlf_free(zf);
	dlf_free(z);
	dlf_free(p);
	dlf_free(y);
	return st;
}

/* ---- reliability diagram bins (the model card) ---------------------------- */

/* Adds the scores of one class to equal-width calibration bins. */
static void
bin_scores(const double *v, int64_t n, int label, int nbins,
		   double *sum, double *pos, int64_t *count)
{
	for (int64_t i = 0; i < n; i++)
	{
		double		s = v[i];
		int			k;

		if (isnan(s))
			continue;
		k = (int) floor(s * nbins);
		if (k < 0)
			k = 0;
		if (k >= nbins)
			k = nbins - 1;
		sum[k] += s;
		pos[k] += label;
		count[k]++;
	}
}

/* Equal-width calibration bins: mean score, observed rate and count. */
void
dlf_calibration_bins(const double *pos, int64_t npos,
					 const double *neg, int64_t nneg, int nbins,
					 double *mean_pred, double *observed, int64_t *count)
{
	double		sum[64],
				hits[64];

	if (nbins > 64)
		nbins = 64;
	for (int i = 0; i < nbins; i++)
	{
		sum[i] = hits[i] = 0;
		count[i] = 0;
	}
	bin_scores(pos, npos, 1, nbins, sum, hits, count);
	bin_scores(neg, nneg, 0, nbins, sum, hits, count);
	for (int i = 0; i < nbins; i++)
	{
		mean_pred[i] = count[i] ? sum[i] / count[i] : NAN;
		observed[i] = count[i] ? hits[i] / count[i] : NAN;
	}
}
