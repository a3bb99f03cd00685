/*
 * govern.c
 *	  Model governance computed at training time: monotone constraints,
 *	  permutation importance, probability calibration and the training
 *	  distributions used for drift checks; plus the PSI helpers.
 *
 * Monotone constraints hold by construction.  Every hidden activation
 * dlfin offers is non-decreasing, so if the first-layer weights leaving an
 * input with constraint s all have sign s and every deeper weight
 * (including the output layer's) is non-negative, each unit is a
 * non-decreasing function of s * input, and so is the output logit.  The
 * probability (sigmoid, Platt with a <= 0, isotonic) and the regression
 * output (target_scale > 0) are non-decreasing in the logit.  The trainer
 * projects the parameters onto that set after initialisation and after
 * every optimiser step (projected gradient descent).
 */
#include "nn_internal.h"
#include "pool.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define IMP_REPEATS		5		/* permutations per feature */
#define IMP_MAX_ROWS	20000	/* validation rows used for importance */
#define GOV_BATCH		256
#define PLATT_ITERS		100

/* ---- calibration and histograms ------------------------------------------ */

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

/* Bin of v: the number of edges strictly below v. */
int32_t
dlf_hist_bin(const DlfHistogram *h, double v)
{
	int32_t		lo = 0,
				hi = h->nbins - 1;

	/* first edge >= v; edges[nbins - 1] is +infinity */
	while (lo < hi)
	{
		int32_t		mid = (lo + hi) / 2;

		if (h->edges[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Population stability index with floored shares. */
double
dlf_psi(const double *expected, const double *actual, int32_t n)
{
	double		psi = 0.0;

	for (int32_t i = 0; i < n; i++)
	{
		double		e = expected[i] > DLF_PSI_FLOOR ? expected[i] : DLF_PSI_FLOOR;
		double		a = actual[i] > DLF_PSI_FLOOR ? actual[i] : DLF_PSI_FLOOR;

		psi += (a - e) * log(a / e);
	}
	return psi;
}

/* The usual PSI bands. */
const char *
dlf_psi_band(double psi)
{
	if (!isfinite(psi))
		return "unknown";
	if (psi < 0.1)
		return "stable";
	if (psi <= 0.25)
		return "moderate";
	return "significant";
}

/* ---- monotone constraints -------------------------------------------------- */

/* Checks the governance requests before training. */
DlfStatus
dlf_govern_check(const DlfModel *m, const DlfTrainOptions *opt, DlfError *err)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->monotone == 0)
			continue;
		if (ft->monotone < -1 || ft->monotone > 1)
			return dlf_fail(err, DLF_ERR_INVALID,
							"monotone constraint of feature \"%s\" must be -1, 0 or 1",
							ft->name);
		if (ft->kind != DLF_FEAT_NUMERIC)
			return dlf_fail(err, DLF_ERR_INVALID,
							"categorical feature \"%s\" cannot have a monotone constraint",
							ft->name);
		if (m->task == DLF_TASK_MULTICLASS)
			return dlf_fail(err, DLF_ERR_INVALID,
							"monotone constraints need a binary or regression model");
	}
	if (m->calibration != DLF_CALIB_NONE)
	{
		if (m->calibration > DLF_CALIB_ISOTONIC)
			return dlf_fail(err, DLF_ERR_INVALID, "invalid calibration method");
		if (m->task != DLF_TASK_BINARY)
			return dlf_fail(err, DLF_ERR_INVALID,
							"calibration needs a binary classifier");
		if (!(opt->validation_fraction > 0.0))
		{
			dlf_fail(err, DLF_ERR_INVALID, "calibration needs a validation split");
			dlf_detail(err, "The calibration is fitted on the validation rows; validation_fraction is 0.");
			return DLF_ERR_INVALID;
		}
	}
	if (m->adverse > DLF_ADVERSE_POSITIVE)
		return dlf_fail(err, DLF_ERR_INVALID, "invalid adverse side");
	return DLF_OK;
}

/* Clamps w[i] for i in [lo, hi) to sign (or reflects it at init). */
static void
project_span(float *w, int64_t lo, int64_t hi, int sign, int init)
{
	for (int64_t i = lo; i < hi; i++)
	{
		float		v = sign > 0 ? w[i] : -w[i];

		if (v < 0.0f)
			v = init ? -v : 0.0f;
		w[i] = sign > 0 ? v : -v;
	}
}

/* Whether any feature carries a monotone constraint. */
static int
has_monotone(const DlfModel *m)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (m->features[f].monotone != 0)
			return 1;
	return 0;
}

/*
 * Projects the weights of layer l with index in [lo, hi) onto the monotone
 * set: first-layer weights of a constrained input take its sign, every
 * deeper weight is non-negative.
 */
static void
project_layer(const DlfModel *m, NnNet *net, int32_t l, int64_t lo,
			  int64_t hi, int init)
{
	if (l > 0)
	{
		project_span(net->W[l], lo, hi, 1, init);
		return;
	}
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		int64_t		u1 = net->units[1];
		int64_t		off = (int64_t) ft->input_offset * u1;

		if (ft->monotone == 0 || ft->kind != DLF_FEAT_NUMERIC)
			continue;
		project_span(net->W[0], lo > off ? lo : off,
					 hi < off + u1 ? hi : off + u1, ft->monotone, init);
	}
}

/*
 * Projects the weights lying in [lo, hi) of the flat parameter array
 * `base' that holds every layer's weights; a training thread projects the
 * slice of the parameters it has just updated.
 */
void
dlf_monotone_project_range(const DlfModel *m, NnNet *net, const float *base,
						   int64_t lo, int64_t hi)
{
	if (!has_monotone(m))
		return;
	for (int32_t l = 0; l < net->nlayers; l++)
	{
		int64_t		off = net->W[l] - base;
		int64_t		nw = (int64_t) net->units[l] * net->units[l + 1];
		int64_t		a = lo > off ? lo - off : 0;
		int64_t		b = hi < off + nw ? hi - off : nw;

		if (a < b)
			project_layer(m, net, l, a, b, 0);
	}
}

/* Projects all weights onto the monotone-constrained set. */
void
dlf_monotone_project(const DlfModel *m, NnNet *net, int init)
{
	if (!has_monotone(m))
		return;
	for (int32_t l = 0; l < net->nlayers; l++)
		project_layer(m, net, l, 0,
					  (int64_t) net->units[l] * net->units[l + 1], init);
}

/* ---- batch scoring over the dataset --------------------------------------- */

typedef struct Gov
{
	DlfModel   *m;
	const DlfDataset *d;
	const DlfTrainHooks *hooks;
	DlfError   *err;
	NnNet		net;
	NnBatch		bt;
	NnWork		work;
	double	   *inv_scale;
	DlfPool    *pool;			/* threads for the passes over all rows */
	struct Gov *threads;		/* a Gov per pool thread ([0]: a copy) */
} Gov;

/* Asks the caller whether to stop. */
static int
gov_interrupted(const Gov *g)
{
	return g->hooks && g->hooks->interrupted &&
		g->hooks->interrupted(g->hooks->arg);
}

/*
 * Runs the network over rows[0..n): logits into z (n x nout).  When pf >= 0
 * feature pf of row i is taken from row src[i] instead (permutation).
 */
static DlfStatus
gov_logits(Gov *g, const uint32_t *rows, int64_t n, int32_t pf,
		   const uint32_t *src, float *z)
{
	const DlfModel *m = g->m;
	int32_t		nout = m->units[m->nlayers];

	for (int64_t s = 0; s < n; s += GOV_BATCH)
	{
		int32_t		cnt = (int32_t) (n - s < GOV_BATCH ? n - s : GOV_BATCH);

		if (gov_interrupted(g))
			return dlf_fail(g->err, DLF_ERR_INTERRUPTED, "canceling statement due to user request");
		for (int32_t r = 0; r < cnt; r++)
		{
			int32_t    *ix = g->bt.idx + (size_t) r * g->bt.maxent;
			float	   *vx = g->bt.val + (size_t) r * g->bt.maxent;
			int32_t		nnz = 0;

			for (int32_t f = 0; f < m->nfeatures; f++)
			{
				const DlfFeature *ft = &m->features[f];
				uint32_t	row = (f == pf) ? src[s + r] : rows[s + r];

				/* one entry per feature, zeros too, as the scorer has */
				if (ft->kind == DLF_FEAT_NUMERIC)
				{
					ix[nnz] = ft->input_offset;
					vx[nnz++] = dlf_std_value(g->d->num[f][row], ft->mean,
											  g->inv_scale[f]);
				}
				else
				{
					ix[nnz] = ft->input_offset + g->d->cat[f][row];
					vx[nnz++] = 1.0f;
				}
			}
			g->bt.nnz[r] = nnz;
		}
		g->bt.rows = cnt;
		/* the scorer's kernel, so these are dlfin_predict's bits */
		nn_forward_rows(&g->net, &g->bt, &g->work);
		memcpy(z + (size_t) s * nout, g->work.act[m->nlayers - 1],
			   sizeof(float) * (size_t) cnt * nout);
	}
	return DLF_OK;
}

/* The score dlfin_predict returns, from one row's logits. */
static double
score_of(const DlfModel *m, const float *z)
{
	int32_t		nout = m->units[m->nlayers];

	if (m->task == DLF_TASK_BINARY)
		return dlf_calibrated(m, z[0]);
	if (m->task == DLF_TASK_REGRESSION)
		return (double) z[0] * m->target_scale + m->target_mean;
	{
		double		mx = z[0],
					sum = 0.0;

		for (int32_t j = 1; j < nout; j++)
			if (z[j] > mx)
				mx = z[j];
		for (int32_t j = 0; j < nout; j++)
			sum += exp((double) z[j] - mx);
		return 1.0 / sum;		/* the top class: exp(0) / sum */
	}
}

/* ---- permutation importance ------------------------------------------------ */

/* Main metric of the logits z against the rows' labels (higher is better). */
static DlfStatus
main_metric(Gov *g, const uint32_t *rows, int64_t n, const float *z,
			double *score, uint8_t *bin, int32_t *pred, int32_t *act,
			double *out)
{
	const DlfModel *m = g->m;
	int32_t		nout = m->units[m->nlayers];

	if (m->task == DLF_TASK_BINARY)
	{
		DlfBinaryMetrics bm;
		DlfStatus	st;

		for (int64_t i = 0; i < n; i++)
		{
			score[i] = 1.0 / (1.0 + exp(-(double) z[i]));
			bin[i] = dlf_label(g->d, rows[i]) > 0.5;
		}
		st = dlf_binary_metrics(score, bin, n, 0.5, &bm, g->err);
		*out = bm.auc;
		return st;
	}
	if (m->task == DLF_TASK_REGRESSION)
	{
		double		ss = 0.0;

		for (int64_t i = 0; i < n; i++)
		{
			double		e = (double) z[i] * m->target_scale + m->target_mean -
				dlf_label(g->d, rows[i]);

			ss += e * e;
		}
		*out = -sqrt(ss / n);	/* negated RMSE: higher is better */
		return DLF_OK;
	}
	{
		double		acc,
					f1;

		for (int64_t i = 0; i < n; i++)
		{
			const float *zr = z + (size_t) i * nout;
			int32_t		am = 0;

			for (int32_t j = 1; j < nout; j++)
				if (zr[j] > zr[am])
					am = j;
			pred[i] = am;
			act[i] = (int32_t) dlf_label(g->d, rows[i]);
		}
		if (dlf_multiclass_summary(pred, act, n, m->nclasses, &acc, &f1,
								   g->err) != DLF_OK)
			return g->err->code;
		*out = acc;
		return DLF_OK;
	}
}

/*
 * Permutation importance: the mean drop of the main metric (AUC, accuracy;
 * RMSE increase for regression) over IMP_REPEATS seeded permutations of
 * the feature's values among the first IMP_MAX_ROWS validation rows.
 */
static DlfStatus
importance(Gov *g, const uint32_t *rows, int64_t n, uint64_t seed)
{
	DlfModel   *m = g->m;
	int32_t		nout = m->units[m->nlayers];
	float	   *z = dlf_alloc_array((size_t) n * nout, sizeof(float));
	double	   *score = dlf_alloc_array(n, sizeof(double));
	uint8_t    *bin = dlf_alloc_array(n, sizeof(uint8_t));
	int32_t    *pred = dlf_alloc_array(n, sizeof(int32_t));
	int32_t    *act = dlf_alloc_array(n, sizeof(int32_t));
	uint32_t   *perm = dlf_alloc_array(n, sizeof(uint32_t));
	double		base;
	DlfStatus	st = DLF_OK;

	if (!z || !score || !bin || !pred || !act || !perm)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	if ((st = gov_logits(g, rows, n, -1, NULL, z)) != DLF_OK ||
		(st = main_metric(g, rows, n, z, score, bin, pred, act, &base)) != DLF_OK)
		goto done;
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		double		drop = 0.0;

		for (int r = 0; r < IMP_REPEATS; r++)
		{
			DlfRng		rng;
			double		v;

			/* a stream per (feature, repeat): independent of other features */
			dlf_rng_seed(&rng, dlf_mix64(seed ^ UINT64_C(0x696d706f7274616e)) +
						 (uint64_t) f * IMP_REPEATS + (uint64_t) r);
			memcpy(perm, rows, sizeof(uint32_t) * n);
			for (int64_t i = n - 1; i > 0; i--)
			{
				int64_t		j = (int64_t) dlf_rng_below(&rng, (uint64_t) i + 1);
				uint32_t	t = perm[i];

				perm[i] = perm[j];
				perm[j] = t;
			}
			if ((st = gov_logits(g, rows, n, f, perm, z)) != DLF_OK ||
				(st = main_metric(g, rows, n, z, score, bin, pred, act, &v)) != DLF_OK)
				goto done;
			drop += base - v;
		}
		m->features[f].importance = drop / IMP_REPEATS;
	}
done:
	dlf_free(z);
	dlf_free(score);
	dlf_free(bin);
	dlf_free(pred);
	dlf_free(act);
	dlf_free(perm);
	return st;
}

/* ---- calibration ------------------------------------------------------------ */

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
				fval = 0.0;

	for (int64_t i = 0; i < n; i++)
	{
		npos += y[i];
		nneg += !y[i];
	}
	tpos = (npos + 1.0) / (npos + 2.0);
	tneg = 1.0 / (nneg + 2.0);
	b = log((nneg + 1.0) / (npos + 1.0));
	/* f(a,b) = sum t*(az+b) + log(1 + exp(-(az+b))), in a stable form */
	for (int64_t i = 0; i < n; i++)
	{
		double		t = y[i] ? tpos : tneg,
					fa = a * z[i] + b;

		fval += fa >= 0 ? t * fa + log1p(exp(-fa)) : (t - 1) * fa + log1p(exp(fa));
	}
	for (int it = 0; it < PLATT_ITERS; it++)
	{
		double		h11 = 1e-12,
					h22 = 1e-12,
					h21 = 0.0,
					g1 = 0.0,
					g2 = 0.0,
					det,
					da,
					db,
					gd,
					step;

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
			break;
		det = h11 * h22 - h21 * h21;
		da = -(h22 * g1 - h21 * g2) / det;
		db = -(-h21 * g1 + h11 * g2) / det;
		gd = g1 * da + g2 * db;
		for (step = 1.0; step >= 1e-10; step /= 2.0)
		{
			double		na = a + step * da,
						nb = b + step * db,
						nf = 0.0;

			for (int64_t i = 0; i < n; i++)
			{
				double		t = y[i] ? tpos : tneg,
							fa = na * z[i] + nb;

				nf += fa >= 0 ? t * fa + log1p(exp(-fa)) : (t - 1) * fa + log1p(exp(fa));
			}
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
static DlfStatus
calibrate(Gov *g, const uint32_t *rows, int64_t n)
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

/* ---- distributions ---------------------------------------------------------- */

/* Orders doubles ascending. */
static int
dbl_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* Positions of the decile ranks: the nine decile ranks and the maximum. */
static int
decile_positions(int64_t n, int64_t *pos)
{
	for (int k = 1; k <= 9; k++)
		pos[k - 1] = (k * n + 9) / 10 - 1;
	pos[9] = n - 1;
	return 10;
}

/* Most ranks a selection finds at once. */
#define MAX_RANKS	10
/* counters of one selection digit (11 bits) */
#define DIGITS		2048
/* per-thread counters are this many int64 apart (no false sharing) */
#define PAD64		16
/*
 * A thread's counters come in NSETS interleaved sets (row i counts in set
 * i % NSETS): runs of equal digits would otherwise make every increment
 * wait for the previous one to the same counter.  Each set has the digit
 * counters of up to MAX_RANKS groups and a spare one that counts nothing.
 */
#define NSETS		4
#define SPARE		(MAX_RANKS * DIGITS)
#define SETSIZE		(SPARE + 16)
#define NCOUNTERS	(NSETS * SETSIZE)

/* Order-preserving key of a finite float; zeros map to the key of +0. */
static inline uint32_t
float_key(float x)
{
	uint32_t	u;

	x += 0.0f;					/* -0 + +0 is +0 */
	memcpy(&u, &x, sizeof(u));
	/* negative: all bits flipped; positive: the sign bit set */
	return u ^ ((uint32_t) -(int32_t) (u >> 31) | UINT32_C(0x80000000));
}

/* Whether the bits of a float are those of a finite value. */
static inline int
finite_bits(float x)
{
	uint32_t	u;

	memcpy(&u, &x, sizeof(u));
	return (u & UINT32_C(0x7f800000)) != UINT32_C(0x7f800000);
}

/* The float of a key (inverse of float_key). */
static inline float
key_float(uint32_t u)
{
	float		x;

	u = (u & UINT32_C(0x80000000)) ? u & ~UINT32_C(0x80000000) : ~u;
	memcpy(&x, &u, sizeof(x));
	return x;
}

/*
 * The values a distribution is taken over: the finite values of a float
 * column (NaN marks NULL); with m set, the column holds single logits of
 * m, ranked as logits and binned by their scores.
 */
typedef struct RankSrc
{
	const float *col;
	const DlfModel *m;
	int64_t		n;
} RankSrc;

/*
 * One counting pass over a RankSrc, split by rows among the threads, each
 * counting into its own counters (sums of counts do not depend on the
 * split).  Levels 0-2 count one digit (11, 11 and 10 bits from the top) of
 * the keys whose higher digits match a wanted rank's prefix (group);
 * level 3 counts the scores of logits per histogram bin.
 */
typedef struct RankPass
{
	const RankSrc *src;
	int			level;
	int			ng;				/* prefix groups of this level */
	uint32_t	gp[MAX_RANKS];	/* their prefixes */
	int8_t		top[DIGITS];	/* a top digit's first group, or -1 */
	int32_t		ne;				/* level 3: edges */
	double		edges[9];		/* their scores */
	uint32_t   *cnt;			/* per thread: NCOUNTERS */
	int64_t    *nvals;			/* per thread (PAD64 apart): values seen */
	int64_t    *bins;			/* per thread (PAD64 apart): 10 bins */
	int			nthreads;		/* threads of the pool (counter sets) */
} RankPass;

/* Key of a column value; false for a non-finite value. */
static inline int
src_key(const float *col, int64_t i, uint32_t *k)
{
	float		x = col[i];

	*k = float_key(x);
	return finite_bits(x);
}

/* Level 3 of job_rank_pass: bin counts of the scores of logits [lo, hi). */
static void
rank_bins(const RankPass *p, int64_t lo, int64_t hi, int64_t *bins)
{
	const RankSrc *s = p->src;
	int32_t		ne = p->ne;
	double		edges[9];

	memcpy(edges, p->edges, sizeof(edges));
	memset(bins, 0, sizeof(int64_t) * 10);
	/* bin: the number of edges below the value (as dlf_hist_bin) */
	for (int64_t i = lo; i < hi; i++)
	{
		double		v = score_of(s->m, &s->col[i]);
		int			b = 0;

		for (int32_t j = 0; j < ne; j++)
			b += v > edges[j];
		bins[b]++;
	}
}

/* Index mask: all ones when cond, else zero. */
#define ALL_IF(cond)	((uint32_t) 0 - (uint32_t) (cond))

/* Level 0 of job_rank_pass: top digits of the finite values in [lo, hi). */
static int64_t
rank_level0(const float *restrict col, int64_t lo, int64_t hi,
			uint32_t *restrict cnt)
{
	int64_t		seen = 0;

	for (int64_t i = lo; i < hi; i++)
	{
		uint32_t	k;
		uint32_t	m = ALL_IF(src_key(col, i, &k));

		/* non-finite values count in the spare counter, without a branch */
		cnt[(i & (NSETS - 1)) * SETSIZE + (((k >> 21) & m) | (SPARE & ~m))]++;
		seen += m & 1;
	}
	return seen;
}

/* Level 1 of job_rank_pass: middle digits of keys in a wanted top digit. */
static void
rank_level1(const float *restrict col, int64_t lo, int64_t hi,
			const int8_t *restrict top, uint32_t *restrict cnt)
{
	for (int64_t i = lo; i < hi; i++)
	{
		uint32_t	k;
		int			fin = src_key(col, i, &k);
		int			g = top[k >> 21];
		uint32_t	m = ALL_IF(fin & (g >= 0));
		uint32_t	at = (uint32_t) g * DIGITS + ((k >> 10) & 2047);

		cnt[(i & (NSETS - 1)) * SETSIZE + ((at & m) | (SPARE & ~m))]++;
	}
}

/* Level 2 of job_rank_pass: low digits of keys in a wanted 22-bit prefix. */
static void
rank_level2(const float *restrict col, int64_t lo, int64_t hi,
			const int8_t *restrict top, const uint32_t *gp, int ng,
			uint32_t *restrict cnt)
{
	for (int64_t i = lo; i < hi; i++)
	{
		uint32_t	k;
		int			fin = src_key(col, i, &k);
		int			g = top[k >> 21];
		uint32_t	pfx = k >> 10;
		uint32_t	m;

		/* candidates share the top digit; usually the first one matches */
		if (g >= 0)
			while (g < ng && gp[g] != pfx)
				g++;
		m = ALL_IF(fin & (g >= 0) & (g < ng));
		cnt[(i & (NSETS - 1)) * SETSIZE +
			((((uint32_t) g * DIGITS + (k & 1023)) & m) | (SPARE & ~m))]++;
	}
}

/* Job: this thread's rows of one counting pass (see RankPass). */
static void
job_rank_pass(void *arg, int self, int nthreads)
{
	RankPass   *p = arg;
	const RankSrc *s = p->src;
	int64_t		lo = s->n * self / nthreads;
	int64_t		hi = s->n * (self + 1) / nthreads;
	uint32_t   *cnt = p->cnt + (size_t) self * NCOUNTERS;

	if (p->level == 3)
	{
		rank_bins(p, lo, hi, p->bins + (size_t) self * PAD64);
		return;
	}
	for (int set = 0; set < NSETS; set++)
	{
		memset(cnt + set * SETSIZE, 0, sizeof(uint32_t) * (size_t) p->ng * DIGITS);
		cnt[set * SETSIZE + SPARE] = 0;
	}
	if (p->level == 0)
		p->nvals[(size_t) self * PAD64] = rank_level0(s->col, lo, hi, cnt);
	else if (p->level == 1)
		rank_level1(s->col, lo, hi, p->top, cnt);
	else
		rank_level2(s->col, lo, hi, p->top, p->gp, p->ng, cnt);
}

/*
 * Runs a pass on the pool and adds every thread's and set's digit counters
 * into the first set of thread 0.
 */
static void
run_rank_pass(DlfPool *pool, RankPass *p)
{
	size_t		len = (size_t) p->ng * DIGITS;

	dlf_pool_run(pool, job_rank_pass, p);
	for (int t = 0; t < p->nthreads && p->level < 3; t++)
		for (int set = t == 0 ? 1 : 0; set < NSETS; set++)
		{
			const uint32_t *c = p->cnt + (size_t) t * NCOUNTERS + set * SETSIZE;

			for (size_t i = 0; i < len; i++)
				p->cnt[i] += c[i];
		}
}

/*
 * Radix select: the keys of the decile ranks (decile_positions) of the
 * source's values into out, as a sort would place them, and into le the
 * number of values whose keys are at or below each; *nvals is the number
 * of values (none: out and le are not set).  Three counting passes, each
 * split among the pool's threads, and no scratch beyond the counters.
 */
static void
select_deciles(DlfPool *pool, RankPass *p, int64_t *nvals, uint32_t *out,
			   int64_t *le)
{
	int64_t		pos[MAX_RANKS];
	uint32_t	prefix[MAX_RANKS];	/* the wanted keys' digits so far */
	int64_t		rank[MAX_RANKS];	/* rank among keys with that prefix */
	int			tg[MAX_RANKS];	/* each rank's prefix group */
	int			np;

	*nvals = 0;
	for (int L = 0; L < 3; L++)
	{
		p->level = L;
		p->ng = 0;
		if (L == 0)
			p->ng = 1;
		else
		{
			/* group the ranks by the digits found so far */
			for (int t = 0; t < np; t++)
			{
				int			g = 0;

				while (g < p->ng && p->gp[g] != prefix[t])
					g++;
				if (g == p->ng)
					p->gp[p->ng++] = prefix[t];
				tg[t] = g;
			}
			memset(p->top, -1, sizeof(p->top));
			for (int g = p->ng - 1; g >= 0; g--)
				p->top[L == 1 ? p->gp[g] : p->gp[g] >> 11] = (int8_t) g;
		}
		run_rank_pass(pool, p);
		if (L == 0)
		{
			for (int t = 0; t < p->nthreads; t++)
				*nvals += p->nvals[(size_t) t * PAD64];
			if (*nvals == 0)
				return;
			np = decile_positions(*nvals, pos);
			for (int t = 0; t < np; t++)
			{
				prefix[t] = 0;
				rank[t] = pos[t];
				tg[t] = 0;
			}
		}
		/* each rank's digit: where its rank falls in its group's counts */
		for (int t = 0; t < np; t++)
		{
			const uint32_t *c = p->cnt + (size_t) tg[t] * DIGITS;
			uint32_t	d = 0;

			while (rank[t] >= (int64_t) c[d])
				rank[t] -= c[d++];
			prefix[t] = (prefix[t] << (L == 2 ? 10 : 11)) | d;
			/* last digit: c[d] keys equal this one, rank[t] of them before */
			if (L == 2)
				le[t] = pos[t] - rank[t] + c[d];
		}
	}
	for (int t = 0; t < np; t++)
		out[t] = prefix[t];
}

/*
 * Decile edges from the values of the decile ranks and the maximum (at):
 * edge k (k = 1..9) is the smallest value with at least k/10 of the values
 * at or below it; repeated edges and edges at the maximum are dropped, so
 * every bin is non-empty.  Returns the number of edges.
 */
static int32_t
decile_edges(const double *at, double *edges)
{
	int32_t		ne = 0;

	for (int k = 1; k <= 9; k++)
	{
		double		e = at[k - 1];

		if (e < at[9] && (ne == 0 || e > edges[ne - 1]))
			edges[ne++] = e;
	}
	return ne;
}

/* Fills h from ne edges and the counts of its ne + 1 bins over n values. */
static DlfStatus
hist_set(Gov *g, DlfHistogram *h, const double *edges, int32_t ne,
		 const int64_t *cnt, int64_t n)
{
	h->nbins = 0;
	h->share = dlf_alloc_array(ne + 1, sizeof(double));
	h->edges = ne > 0 ? dlf_alloc_array(ne, sizeof(double)) : NULL;
	if (!h->share || (ne > 0 && !h->edges))
		return dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
	h->nbins = ne + 1;
	for (int32_t b = 0; b < ne; b++)
		h->edges[b] = edges[b];
	for (int32_t b = 0; b <= ne; b++)
		h->share[b] = n > 0 ? (double) cnt[b] / (double) n : (b == 0);
	return DLF_OK;
}

/* Frees a histogram's arrays. */
static void
hist_free(DlfHistogram *h)
{
	dlf_free(h->edges);
	dlf_free(h->share);
	memset(h, 0, sizeof(*h));
}

/*
 * Decile histogram of a source (see decile_edges for the bins), every pass
 * split among the pool's threads.  For logits (src->m set, a score monotone in
 * the logit) the ranks are those of the keys and the edges their scores.
 */
static DlfStatus
decile_hist_par(Gov *g, RankPass *p, DlfHistogram *h)
{
	uint32_t	out[MAX_RANKS];
	int64_t		le[MAX_RANKS];
	double		at[MAX_RANKS];
	int64_t		n;
	int64_t		cnt[10] = {0};

	select_deciles(g->pool, p, &n, out, le);
	p->ne = 0;
	if (n > 0 && !p->src->m)
	{
		int64_t		below = 0;

		/*
		 * Values: a value is in bin b when b edges lie below it, so bin b
		 * holds the values at or below edge b but not edge b - 1; the
		 * selection counted those (an edge is the value of a rank).
		 */
		for (int t = 0; t < MAX_RANKS; t++)
			at[t] = key_float(out[t]);
		p->ne = decile_edges(at, p->edges);
		for (int32_t b = 0; b < p->ne; b++)
		{
			int			t = 0;

			while (at[t] != p->edges[b])
				t++;
			cnt[b] = le[t] - below;
			below = le[t];
		}
		cnt[p->ne] = n - below;
	}
	else if (n > 0)
	{
		/* scores of logits: several logits may share a score, so count */
		for (int t = 0; t < MAX_RANKS; t++)
		{
			float		x = key_float(out[t]);

			at[t] = score_of(p->src->m, &x);
		}
		p->ne = decile_edges(at, p->edges);
		p->level = 3;
		dlf_pool_run(g->pool, job_rank_pass, p);
		for (int t = 0; t < p->nthreads; t++)
			for (int b = 0; b <= p->ne; b++)
				cnt[b] += p->bins[(size_t) t * PAD64 + b];
	}
	hist_free(h);
	return hist_set(g, h, p->edges, p->ne, cnt, n);
}


/*
 * Whether the score is a non-decreasing function of a single logit: the
 * identity-scaled regression output, the logistic function, Platt scaling
 * with a non-positive slope (score 1 / (1 + exp(a z + b))).
 */
static int
score_monotone(const DlfModel *m)
{
	if (m->units[m->nlayers] != 1)
		return 0;
	if (m->task == DLF_TASK_REGRESSION)
		return m->target_scale > 0.0;
	if (m->task != DLF_TASK_BINARY)
		return 0;
	return m->calibration == DLF_CALIB_NONE ||
		(m->calibration == DLF_CALIB_PLATT && m->platt_a <= 0.0);
}

/* The logits of rows [0, n) of the data, split among the pool's threads. */
typedef struct LogitJob
{
	Gov		   *g;				/* per thread: [0] the caller's */
	float	   *z;				/* n x nout */
	int64_t		n;
	atomic_int	stop;			/* a thread failed (interrupt) */
	DlfStatus	st;				/* thread 0's status */
} LogitJob;

/*
 * Job: this thread's batches of GOV_BATCH rows (whole batches, so the
 * logits never depend on the split).  Only thread 0's Gov has the hooks.
 */
static void
job_logits(void *arg, int self, int nthreads)
{
	LogitJob   *j = arg;
	Gov		   *g = &j->g[self];
	int32_t		nout = g->m->units[g->m->nlayers];
	int64_t		nb = (j->n + GOV_BATCH - 1) / GOV_BATCH;
	uint32_t	rows[GOV_BATCH];

	for (int64_t b = nb * self / nthreads; b < nb * (self + 1) / nthreads; b++)
	{
		int64_t		s = b * GOV_BATCH;
		int64_t		cnt = j->n - s < GOV_BATCH ? j->n - s : GOV_BATCH;
		DlfStatus	st;

		if (atomic_load(&j->stop))
			break;
		for (int64_t r = 0; r < cnt; r++)
			rows[r] = (uint32_t) (s + r);
		st = gov_logits(g, rows, cnt, -1, NULL, j->z + (size_t) s * nout);
		if (st != DLF_OK)
		{
			if (self == 0)
				j->st = st;
			atomic_store(&j->stop, 1);
			break;
		}
	}
}

/*
 * Score deciles over all rows.  When the score is monotone in the single
 * logit, the logits are kept (4 bytes a row, in zbuf): the scores of the
 * logits of the decile ranks are the scores of those ranks, exactly.
 * Other models (multiclass, isotonic calibration) keep the scores as
 * doubles and sort them.
 */
static DlfStatus
score_distribution(Gov *g, RankPass *p, float *zbuf)
{
	DlfModel   *m = g->m;
	int64_t		n = g->d->nrows;
	int32_t		nout = m->units[m->nlayers];
	float	   *z = NULL;
	double	   *v = NULL;
	DlfStatus	st = DLF_OK;

	if (score_monotone(m))
	{
		LogitJob	j;
		RankSrc		src;

		j.g = g->threads;
		j.z = zbuf;
		j.n = n;
		atomic_init(&j.stop, 0);
		j.st = DLF_OK;
		dlf_pool_run(g->pool, job_logits, &j);
		if (j.st != DLF_OK)
			return j.st;
		memset(&src, 0, sizeof(src));
		src.col = zbuf;
		src.m = m;
		src.n = n;
		p->src = &src;
		return decile_hist_par(g, p, &m->score_dist);
	}

	z = dlf_alloc_array((size_t) (n < GOV_BATCH ? n : GOV_BATCH) * nout,
						sizeof(float));
	v = dlf_alloc_array(n, sizeof(double));
	if (!z || !v)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int64_t s = 0; s < n; s += GOV_BATCH)
	{
		int64_t		cnt = n - s < GOV_BATCH ? n - s : GOV_BATCH;
		uint32_t	rows[GOV_BATCH];

		for (int64_t r = 0; r < cnt; r++)
			rows[r] = (uint32_t) (s + r);
		if ((st = gov_logits(g, rows, cnt, -1, NULL, z)) != DLF_OK)
			goto done;
		for (int64_t r = 0; r < cnt; r++)
			v[s + r] = score_of(m, z + (size_t) r * nout);
	}
	qsort(v, n, sizeof(double), dbl_cmp);
	{
		int64_t		pos[MAX_RANKS];
		double		at[MAX_RANKS];
		double		edges[9];
		int64_t		cnt[10] = {0};
		int32_t		ne = 0;

		if (n > 0)
		{
			decile_positions(n, pos);
			for (int t = 0; t < MAX_RANKS; t++)
				at[t] = v[pos[t]];
			ne = decile_edges(at, edges);
		}
		for (int64_t i = 0; i < n; i++)
		{
			int			b = 0;

			for (int32_t e = 0; e < ne; e++)
				b += v[i] > edges[e];
			cnt[b]++;
		}
		hist_free(&m->score_dist);
		st = hist_set(g, &m->score_dist, edges, ne, cnt, n);
	}
done:
	dlf_free(v);
	dlf_free(z);
	return st;
}

/*
 * Training distributions over all rows: numeric features, deciles of the
 * non-NULL values (the NULL share is missing_share); categorical features,
 * the share of each code; the score, deciles of what dlfin_predict returns.
 * Numeric columns are read in place; scratch memory is 4 bytes a row for
 * the logits, except for the scores of models whose score is not monotone
 * in one logit (8 bytes a row).
 */
static DlfStatus
distributions(Gov *g)
{
	DlfModel   *m = g->m;
	const DlfDataset *d = g->d;
	int64_t		n = d->nrows;
	int			T = dlf_pool_size(g->pool);
	RankPass	p;
	float	   *zbuf = NULL;
	DlfStatus	st = DLF_OK;

	memset(&p, 0, sizeof(p));
	p.nthreads = T;
	p.cnt = dlf_alloc_array((size_t) T * NCOUNTERS, sizeof(uint32_t));
	p.nvals = dlf_alloc_array((size_t) T * PAD64, sizeof(int64_t));
	p.bins = dlf_alloc_array((size_t) T * PAD64, sizeof(int64_t));
	if (!p.cnt || !p.nvals || !p.bins)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int32_t f = 0; f < m->nfeatures && st == DLF_OK; f++)
	{
		DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
		{
			RankSrc		src;

			memset(&src, 0, sizeof(src));
			src.col = d->num[f];
			src.n = n;
			p.src = &src;
			st = decile_hist_par(g, &p, &ft->dist);
		}
		else
		{
			int32_t		nb = ft->ncat + 2;

			hist_free(&ft->dist);
			ft->dist.share = dlf_alloc_array(nb, sizeof(double));
			if (!ft->dist.share)
			{
				st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
				break;
			}
			ft->dist.nbins = nb;
			for (int32_t b = 0; b < nb; b++)
				ft->dist.share[b] = 0.0;
			for (int64_t i = 0; i < n; i++)
				ft->dist.share[d->cat[f][i]] += 1.0;
			for (int32_t b = 0; b < nb; b++)
				ft->dist.share[b] /= (double) n;
		}
		if (st == DLF_OK && gov_interrupted(g))
			st = dlf_fail(g->err, DLF_ERR_INTERRUPTED, "canceling statement due to user request");
	}
	if (st != DLF_OK)
		goto done;
	if (score_monotone(m))
	{
		zbuf = dlf_alloc_array(n, sizeof(float));
		if (!zbuf)
		{
			st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
	st = score_distribution(g, &p, zbuf);
done:
	dlf_free(zbuf);
	dlf_free(p.cnt);
	dlf_free(p.nvals);
	dlf_free(p.bins);
	return st;
}

/* Allocates a Gov's batch scratch for gov_logits. */
static DlfStatus
gov_scratch(Gov *g)
{
	DlfStatus	st;

	if ((st = nn_batch_alloc(&g->bt, GOV_BATCH, g->m->nfeatures, g->err)) != DLF_OK)
		return st;
	return nn_work_alloc(&g->work, &g->net, GOV_BATCH, 0, g->err);
}

/* Importance, calibration and distributions after training. */
DlfStatus
dlf_govern_fit(DlfModel *m, const DlfDataset *data, const uint32_t *valid_idx,
			   int64_t nvalid, uint64_t seed, const DlfTrainHooks *hooks,
			   DlfError *err)
{
	return dlf_govern_fit_pool(m, data, valid_idx, nvalid, seed, hooks, err,
							   NULL);
}

/*
 * dlf_govern_fit, with the passes over all rows split among the threads of
 * pool (NULL: the caller alone).  The results do not depend on the pool.
 */
DlfStatus
dlf_govern_fit_pool(DlfModel *m, const DlfDataset *data,
					const uint32_t *valid_idx, int64_t nvalid, uint64_t seed,
					const DlfTrainHooks *hooks, DlfError *err, DlfPool *pool)
{
	Gov			g;
	DlfStatus	st;
	int			T = dlf_pool_size(pool);

	memset(&g, 0, sizeof(g));
	g.m = m;
	g.d = data;
	g.hooks = hooks;
	g.err = err;
	g.net.nlayers = m->nlayers;
	g.net.activation = m->activation;
	for (int32_t l = 0; l <= m->nlayers; l++)
		g.net.units[l] = m->units[l];
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		g.net.W[l] = m->weights[l];
		g.net.b[l] = m->biases[l];
	}
	g.inv_scale = dlf_alloc_array(m->nfeatures, sizeof(double));
	if (g.inv_scale == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int32_t f = 0; f < m->nfeatures; f++)
		g.inv_scale[f] = 1.0 / m->features[f].scale;
	g.pool = pool;
	g.threads = dlf_alloc_array(T, sizeof(Gov));
	if (g.threads == NULL)
	{
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	memset(g.threads, 0, sizeof(Gov) * T);
	if ((st = gov_scratch(&g)) != DLF_OK)
		goto done;
	g.threads[0] = g;
	for (int t = 1; t < T; t++)
	{
		Gov		   *w = &g.threads[t];

		/* the caller's hooks are never called from another thread */
		*w = g;
		w->hooks = NULL;
		memset(&w->bt, 0, sizeof(w->bt));
		memset(&w->work, 0, sizeof(w->work));
		if ((st = gov_scratch(w)) != DLF_OK)
			goto done;
	}

	for (int32_t f = 0; f < m->nfeatures; f++)
		m->features[f].importance = NAN;
	m->ece_before = NAN;
	m->ece_after = NAN;
	if (nvalid > 0)
	{
		if ((st = importance(&g, valid_idx, nvalid < IMP_MAX_ROWS ? nvalid : IMP_MAX_ROWS,
							 seed)) != DLF_OK)
			goto done;
		if (m->task == DLF_TASK_BINARY &&
			(st = calibrate(&g, valid_idx, nvalid)) != DLF_OK)
			goto done;
	}
	else if (m->calibration != DLF_CALIB_NONE)
	{
		st = dlf_fail(err, DLF_ERR_DATA, "calibration needs validation rows");
		dlf_detail(err, "Too few rows were left for validation; raise validation_fraction or train on more rows.");
		goto done;
	}
	st = distributions(&g);
done:
	for (int t = 1; g.threads && t < T; t++)
	{
		nn_batch_free(&g.threads[t].bt);
		nn_work_free(&g.threads[t].work);
	}
	dlf_free(g.threads);
	dlf_free(g.inv_scale);
	nn_batch_free(&g.bt);
	nn_work_free(&g.work);
	return st;
}
