/*
 * explain.c
 *	  Per-row attributions by integrated gradients, and reason codes.
 *
 * The attribution of input i is (x_i - x'_i) times the average, along the
 * straight path from the baseline x' to the row x, of dF/dx_i, where F is
 * the explained output (see DlfExplanation).  The gradient comes from an
 * exact backward pass through the network in double precision.  The path
 * integral is an adaptive trapezoid rule: 16 equal intervals, each halved
 * (up to 24 times) until its own completeness gap -- the attributions it
 * adds minus the change of F across it -- is within 1e-7 per unit of
 * alpha (times target_scale for regression).  ReLU kinks and isotonic
 * breakpoints are where refinement happens; smooth stretches need none.
 * The total gap, sum(contributions) - (F(x) - F(x')), is then within 1e-7
 * and always checked against DLF_EXPLAIN_TOLERANCE (1e-4).  No correction
 * term is added: the contributions are the quadrature itself.
 *
 * Only inputs that are non-zero in the row or in the baseline can have a
 * contribution, so the first layer is evaluated sparsely over those.
 *
 * explain_forward and explain_backward are the double-precision forward
 * pass and its exact backward pass through one network (a single model's,
 * or one member of an ensemble, explain_ens.c); eval_point turns the logits
 * into the explained output F and its derivative at one point of the path.
 * dlf_explain loads the active inputs (load_active), runs the adaptive
 * quadrature (integrate) and checks completeness.
 *
 * A row that overflows the network (a non-finite logit, output or
 * gradient on the path) stops the integral with DLF_ERR_RANGE instead of
 * refining it to the bottom; an interrupt callback is asked before every
 * network evaluation.
 */
#include "explain_internal.h"
#include "points.h"

#include <string.h>

/* Installs the interrupt callback asked before each network evaluation. */
void
dlf_explainer_set_interrupt(DlfExplainer *e, DlfInterruptFn fn, void *arg)
{
	e->intr = fn;
	e->intr_arg = arg;
}

/*
 * Explains a binary model's points on this scale (NULL: the probability
 * again): F becomes points of the calibrated log-odds, and the score and
 * baseline are the network's own in double precision, so the points add
 * up to their difference within the quadrature's 1e-7 points.
 */
void
dlf_explainer_set_points(DlfExplainer *e, const DlfPointsScale *scale)
{
	e->points = e->m->task == DLF_TASK_BINARY ? scale : NULL;
}

/* Frees an explainer. */
void
dlf_explainer_free(DlfExplainer *e)
{
	if (e == NULL)
		return;
	for (int32_t l = 0; l <= DLF_MAX_HIDDEN; l++)
	{
		dlf_free(e->pre[l]);
		dlf_free(e->post[l]);
	}
	dlf_free(e->g);
	dlf_free(e->g2);
	dlf_free(e->idx);
	dlf_free(e->feat);
	dlf_free(e->xv);
	dlf_free(e->bv);
	dlf_free(e->gsum);
	dlf_free(e->gbuf);
	dlf_free(e->probs);
	dlf_free(e->bidx);
	dlf_free(e->bval);
	dlf_free(e->eout);
	dlf_free(e);
}

/* Allocates the explainer's buffers for a trained model. */
DlfExplainer *
dlf_explainer_new(const DlfModel *m, DlfError *err)
{
	DlfExplainer *e;
	int32_t		cap;
	int			bad = 0;

	if (m == NULL || m->nlayers < 1 || m->nlayers > DLF_MAX_HIDDEN + 1 ||
		m->units == NULL || m->weights == NULL || m->nfeatures < 1)
	{
		dlf_fail(err, DLF_ERR_INVALID, "model has no trained network");
		return NULL;
	}
	e = dlf_alloc0(sizeof(DlfExplainer));
	if (e == NULL)
	{
		dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		return NULL;
	}
	e->m = m;
	for (int32_t l = 0; l <= m->nlayers; l++)
		if (m->units[l] > e->maxu)
			e->maxu = m->units[l];
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		e->pre[l] = dlf_alloc_array(m->units[l + 1], sizeof(double));
		e->post[l] = dlf_alloc_array(m->units[l + 1], sizeof(double));
		bad |= !e->pre[l] || !e->post[l];
	}
	/* at most two active inputs per feature: the row's and the baseline's */
	cap = 2 * m->nfeatures;
	e->g = dlf_alloc_array(e->maxu, sizeof(double));
	e->g2 = dlf_alloc_array(e->maxu, sizeof(double));
	e->idx = dlf_alloc_array(cap, sizeof(int32_t));
	e->feat = dlf_alloc_array(cap, sizeof(int32_t));
	e->xv = dlf_alloc_array(cap, sizeof(double));
	e->bv = dlf_alloc_array(cap, sizeof(double));
	e->gsum = dlf_alloc_array(cap, sizeof(double));
	e->cap = cap;
	e->gbuf = dlf_alloc_array((size_t) (IG_MAX_DEPTH + 2) * cap, sizeof(double));
	e->probs = dlf_alloc_array(m->nclasses > 1 ? m->nclasses : 1, sizeof(double));
	e->bidx = dlf_alloc_array(m->nfeatures, sizeof(int32_t));
	e->bval = dlf_alloc_array(m->nfeatures, sizeof(float));
	if (m->nmembers > 1)
		bad |= !(e->eout = dlf_alloc_array((size_t) m->nmembers * e->maxu,
										   sizeof(double)));
	if (bad || !e->g || !e->g2 || !e->idx || !e->feat || !e->xv || !e->bv ||
		!e->gsum || !e->gbuf || !e->probs || !e->bidx || !e->bval)
	{
		dlf_explainer_free(e);
		dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		return NULL;
	}
	/* the baseline row's entries, as training would encode that row */
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		e->bidx[f] = ft->input_offset;
		e->bval[f] = 0.0f;
		if (ft->kind != DLF_FEAT_NUMERIC)
		{
			e->bidx[f] += ft->ncat > 0 ? 0 : DLF_CAT_OTHER(ft);
			e->bval[f] = 1.0f;
		}
	}
	return e;
}

/*
 * The scorer's output for the explained class (klass; -1 picks the most
 * probable, first on ties, as dlfin_predict_class does) from its outputs.
 */
static double
scorer_output(const DlfExplainer *e, int32_t *klass)
{
	const DlfModel *m = e->m;

	if (m->task != DLF_TASK_MULTICLASS)
		return e->probs[0];
	if (*klass < 0)
	{
		*klass = 0;
		for (int32_t j = 1; j < m->units[m->nlayers]; j++)
			if (e->probs[j] > e->probs[*klass])
				*klass = j;
	}
	return e->probs[*klass];
}

/* Slope of the isotonic calibration map at probability p. */
double
explain_iso_slope(const DlfModel *m, double p)
{
	const double *xs = m->iso_x;
	const double *ys = m->iso_y;
	int32_t		lo;

	if (m->niso < 2 || p <= xs[0] || p >= xs[m->niso - 1])
		return 0.0;
	lo = dlf_iso_segment(m, p);
	return xs[lo + 1] > xs[lo] ? (ys[lo + 1] - ys[lo]) / (xs[lo + 1] - xs[lo]) : 0.0;
}

/*
 * Adds the skip path S (units[0] x outputs) at alpha to the logits z: the
 * path's inputs times their rows of S, sparse over the active inputs.
 */
static void
skip_forward(const DlfExplainer *e, const float *S, double alpha, double *z)
{
	int32_t		nout = e->m->units[e->m->nlayers];

	for (int32_t k = 0; k < e->nact; k++)
	{
		double		v = e->bv[k] + alpha * (e->xv[k] - e->bv[k]);
		const float *w = S + (size_t) e->idx[k] * nout;

		if (v != 0.0)
			for (int32_t j = 0; j < nout; j++)
				z[j] += v * w[j];
	}
}

/*
 * Adds the skip path's share of dF/dinput to grad: S[input k] . gz, gz
 * being dF/dlogits.
 */
static void
skip_grad(const DlfExplainer *e, const float *S, const double *gz,
		  double *grad)
{
	int32_t		nout = e->m->units[e->m->nlayers];

	for (int32_t k = 0; k < e->nact; k++)
	{
		const float *w = S + (size_t) e->idx[k] * nout;
		double		s = 0.0;

		for (int32_t j = 0; j < nout; j++)
			s += w[j] * gz[j];
		grad[k] += s;
	}
}

/*
 * Forward pass of member mem (0 for a single network) at alpha, in double:
 * fills pre/post and returns the member's logits (pre[nlayers - 1]).
 */
const double *
explain_forward(DlfExplainer *e, int32_t mem, double alpha)
{
	const DlfModel *m = e->m;
	int32_t		L = m->nlayers;
	int32_t		u1 = m->units[1];
	const float *b0 = dlf_member_biases(m, mem, 0);
	const float *W0 = dlf_member_weights(m, mem, 0);

	for (int32_t j = 0; j < u1; j++)
		e->pre[0][j] = b0[j];
	for (int32_t k = 0; k < e->nact; k++)
	{
		double		v = e->bv[k] + alpha * (e->xv[k] - e->bv[k]);
		const float *w = W0 + (size_t) e->idx[k] * u1;

		if (v != 0.0)
			for (int32_t j = 0; j < u1; j++)
				e->pre[0][j] += v * w[j];
	}
	for (int32_t l = 1; l < L; l++)
	{
		int32_t		ui = m->units[l],
					uo = m->units[l + 1];
		const float *W = dlf_member_weights(m, mem, l);
		const float *B = dlf_member_biases(m, mem, l);

		for (int32_t i = 0; i < ui; i++)
			e->post[l - 1][i] = act_f(m->activation, e->pre[l - 1][i]);
		for (int32_t j = 0; j < uo; j++)
			e->pre[l][j] = B[j];
		for (int32_t i = 0; i < ui; i++)
		{
			double		h = e->post[l - 1][i];
			const float *w = W + (size_t) i * uo;

			if (h != 0.0)
				for (int32_t j = 0; j < uo; j++)
					e->pre[l][j] += h * w[j];
		}
	}
	if (m->skip)
		skip_forward(e, dlf_member_skip(m, mem), alpha, e->pre[L - 1]);
	return e->pre[L - 1];
}

/*
 * Backward pass of member mem after explain_forward, from dF/dlogits in
 * e->g: adds dF/dinput of every active input to grad.
 */
void
explain_backward(DlfExplainer *e, int32_t mem, double *grad)
{
	const DlfModel *m = e->m;
	int32_t		L = m->nlayers;
	int32_t		u1 = m->units[1];
	double	   *gz = e->g;

	/* the skip path's share first, while e->g holds dF/dlogits */
	if (m->skip)
		skip_grad(e, dlf_member_skip(m, mem), gz, grad);
	for (int32_t l = L - 1; l >= 1; l--)
	{
		int32_t		ui = m->units[l],
					uo = m->units[l + 1];
		const float *W = dlf_member_weights(m, mem, l);
		double	   *gin = (gz == e->g) ? e->g2 : e->g;

		for (int32_t i = 0; i < ui; i++)
		{
			const float *w = W + (size_t) i * uo;
			double		s = 0.0;

			for (int32_t j = 0; j < uo; j++)
				s += w[j] * gz[j];
			gin[i] = s * act_d(m->activation, e->pre[l - 1][i], e->post[l - 1][i]);
		}
		gz = gin;
	}
	for (int32_t k = 0; k < e->nact; k++)
	{
		const float *w = dlf_member_weights(m, mem, 0) + (size_t) e->idx[k] * u1;
		double		s = 0.0;

		for (int32_t j = 0; j < u1; j++)
			s += w[j] * gz[j];
		grad[k] += s;
	}
}

/*
 * Output F at alpha on the path and, when grad is not NULL, dF/dinput of
 * every active input into grad.  klass selects the multiclass probability; with
 * klass < 0 the most probable class is chosen and returned in *klass_out.
 */
static double
eval_point(DlfExplainer *e, double alpha, int32_t klass, int32_t *klass_out,
		   double *grad)
{
	const DlfModel *m = e->m;
	int32_t		nout = m->units[m->nlayers];
	const double *zin;
	double		F;
	double	   *gz = e->g;

	if (e->stop == DLF_OK && e->intr && e->intr(e->intr_arg))
		e->stop = DLF_ERR_INTERRUPTED;
	if (e->stop != DLF_OK)
		return NAN;
	if (m->nmembers > 1)
		return ens_eval_point(e, alpha, klass, klass_out, grad);

	zin = explain_forward(e, 0, alpha);

	/* output on the explained scale and dF/dlogits into gz */
	if (m->task == DLF_TASK_REGRESSION)
	{
		F = zin[0] * m->target_scale + m->target_mean;
		gz[0] = m->target_scale;
	}
	else if (m->task == DLF_TASK_BINARY && e->points)
		F = dlf_points_of_logit(m, e->points, zin[0], &gz[0]);
	else if (m->task == DLF_TASK_BINARY)
	{
		double		p = 1.0 / (1.0 + exp(-zin[0]));

		F = dlf_calibrated(m, zin[0]);
		if (m->calibration == DLF_CALIB_PLATT)
			gz[0] = -m->platt_a * F * (1.0 - F);
		else if (m->calibration == DLF_CALIB_ISOTONIC && m->niso > 0)
			gz[0] = explain_iso_slope(m, p) * p * (1.0 - p);
		else
			gz[0] = p * (1.0 - p);
	}
	else
	{
		double	   *p = e->g2;

		explain_softmax(zin, p, nout);
		if (klass < 0)
		{
			klass = 0;
			for (int32_t j = 1; j < nout; j++)
				if (p[j] > p[klass])
					klass = j;
		}
		F = p[klass];
		for (int32_t j = 0; j < nout; j++)
			gz[j] = F * ((j == klass) - p[j]);
	}
	if (klass_out)
		*klass_out = klass;
	if (!grad)
		return F;

	/* gz is e->g, where explain_backward starts */
	for (int32_t k = 0; k < e->nact; k++)
		grad[k] = 0.0;
	explain_backward(e, 0, grad);
	return F;
}

/* Adds one active input (row value xv, baseline value bv) of feature f. */
static void
add_active(DlfExplainer *e, int32_t input, int32_t f, double xv, double bv)
{
	e->idx[e->nact] = input;
	e->feat[e->nact] = f;
	e->xv[e->nact] = xv;
	e->bv[e->nact] = bv;
	e->nact++;
}

/*
 * The active inputs of the row loaded in the scorer and of the baseline:
 * a numeric feature's input when the row's value is not 0 (the baseline's
 * is 0), a categorical feature's row and baseline categories.
 */
static void
load_active(DlfExplainer *e, DlfScorer *s)
{
	const DlfModel *m = e->m;

	e->nact = 0;
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
		{
			double		v = dlf_scorer_input(s, f);

			if (v != 0.0)
				add_active(e, ft->input_offset, f, v, 0.0);
		}
		else
		{
			int32_t		code = (int32_t) dlf_scorer_input(s, f);
			int32_t		base = ft->ncat > 0 ? 0 : DLF_CAT_OTHER(ft);

			if (code < 0)
				code = DLF_CAT_MISSING(ft);
			if (code == base)
			{
				/* on in both rows: in the forward pass, no contribution */
				add_active(e, ft->input_offset + code, f, 1.0, 1.0);
				continue;
			}
			add_active(e, ft->input_offset + code, f, 1.0, 0.0);
			add_active(e, ft->input_offset + base, f, 0.0, 1.0);
		}
	}
}

/*
 * Adaptive trapezoid on [a, b] (outputs Fa, Fb, gradients Ga, Gb): accepts
 * the interval when its own completeness gap, sum_k dx_k (b - a) (Ga_k +
 * Gb_k) / 2 - (Fb - Fa), is within tol * (b - a), else halves it.  The
 * accepted gaps add up to the total gap, so the total stays within tol.
 */
static void
integrate(DlfExplainer *e, int32_t klass, double tol, double a, double b,
		  double Fa, const double *Ga, double Fb, const double *Gb,
		  int depth)
{
	double		h = b - a,
				local = 0.0,
				mid,
				Fm;
	double	   *Gm;

	if (e->stop != DLF_OK)
		return;
	for (int32_t k = 0; k < e->nact; k++)
		local += (e->xv[k] - e->bv[k]) * h * 0.5 * (Ga[k] + Gb[k]);
	local -= Fb - Fa;
	if (!isfinite(local))
	{
		/* an output or gradient overflowed: no refinement can help */
		e->stop = DLF_ERR_RANGE;
		return;
	}
	if (fabs(local) <= tol * h || depth >= IG_MAX_DEPTH)
	{
		for (int32_t k = 0; k < e->nact; k++)
			e->gsum[k] += h * 0.5 * (Ga[k] + Gb[k]);
		e->nint++;
		return;
	}
	mid = a + 0.5 * h;
	Gm = e->gbuf + (size_t) (depth + 2) * e->cap;
	Fm = eval_point(e, mid, klass, NULL, Gm);
	integrate(e, klass, tol, a, mid, Fa, Ga, Fm, Gm, depth + 1);
	integrate(e, klass, tol, mid, b, Fm, Gm, Fb, Gb, depth + 1);
}

/* Fails with the error of a row that overflows the network. */
static DlfStatus
overflow(DlfError *err)
{
	dlf_fail(err, DLF_ERR_RANGE, "dlfin model overflowed on this row");
	dlf_detail(err, "An intermediate value of the network is not finite for these feature values, "
			   "which lie far outside the training data.");
	return DLF_ERR_RANGE;
}

/*
 * Explains the scorer's current row by integrated gradients.  The score
 * and baseline reported are the scorer's, so they are dlfin_predict's
 * bits; the integral and its completeness are over the network in double
 * precision, from its own value at the baseline to its value at the row.
 */
DlfStatus
dlf_explain(DlfExplainer *e, DlfScorer *s, DlfExplanation *out,
			DlfError *err)
{
	const DlfModel *m = e->m;
	int32_t		klass = -1;
	int32_t		steps;
	double		unit = m->task == DLF_TASK_REGRESSION ? fabs(m->target_scale) : 1.0;
	double		gap = 0.0;
	double		f0,
				f1;

	if (unit < 1e-12 || !isfinite(unit))
		unit = 1.0;
	load_active(e, s);

	/* the class and the two scores as the scorer gives them */
	e->stop = DLF_OK;
	if (dlf_scorer_run(s, e->probs))
		return overflow(err);
	out->score = scorer_output(e, &klass);
	if (dlf_scorer_run_entries(s, e->bidx, e->bval, e->probs))
		return overflow(err);
	out->baseline = scorer_output(e, &klass);
	out->klass = m->task == DLF_TASK_MULTICLASS ? klass : -1;
	f1 = eval_point(e, 1.0, klass, NULL, NULL);
	if (e->stop == DLF_OK && !isfinite(f1))
		e->stop = DLF_ERR_RANGE;
	for (int32_t k = 0; k < e->nact; k++)
		e->gsum[k] = 0.0;
	e->nint = 0;

	/* IG_MIN_STEPS equal intervals, each refined where needed */
	{
		double	   *G0 = e->gbuf,
				   *G1 = e->gbuf + e->cap;
		double		F0 = eval_point(e, 0.0, klass, NULL, G0);

		f0 = F0;
		for (int i = 1; i <= IG_MIN_STEPS; i++)
		{
			double		a1 = (double) (i - 1) / IG_MIN_STEPS,
						b1 = (double) i / IG_MIN_STEPS;
			double		F1 = eval_point(e, b1, klass, NULL, G1);
			double	   *t;

			integrate(e, klass, IG_TARGET * unit, a1, b1, F0, G0, F1, G1, 0);
			F0 = F1;
			t = G0;
			G0 = G1;
			G1 = t;
		}
	}
	if (e->stop == DLF_ERR_INTERRUPTED)
		return dlf_fail(err, DLF_ERR_INTERRUPTED, "explanation interrupted");
	if (e->stop != DLF_OK)
		return overflow(err);
	steps = e->nint;
	if (e->points)
	{
		out->score = f1;
		out->baseline = f0;
	}
	for (int32_t f = 0; f < m->nfeatures; f++)
		out->contrib[f] = 0.0;
	for (int32_t k = 0; k < e->nact; k++)
	{
		out->contrib[e->feat[k]] += (e->xv[k] - e->bv[k]) * e->gsum[k];
		gap += (e->xv[k] - e->bv[k]) * e->gsum[k];
	}
	gap -= f1 - f0;
	out->steps = steps;
	out->gap = gap;
	if (!(fabs(gap) <= DLF_EXPLAIN_TOLERANCE * unit))
	{
		dlf_fail(err, DLF_ERR_DATA, "attributions did not reach completeness");
		dlf_detail(err, "After %d integration steps the contributions differ from the score difference by %g.",
				   (int) steps, gap);
		return DLF_ERR_DATA;
	}
	return DLF_OK;
}

/* Indexes of the k features pushing most toward the adverse side. */
int32_t
dlf_reason_features(const DlfModel *m, const double *contrib, int32_t k,
					int32_t *idx)
{
	double		sign = m->adverse == DLF_ADVERSE_POSITIVE ? 1.0 : -1.0;
	int32_t		n = 0;

	/* selection by insertion: k and the feature count are small */
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		double		push = sign * contrib[f];
		int32_t		pos;

		if (!(push > 0.0))
			continue;
		pos = n < k ? n : k;
		/* strictly larger pushes go first; equal ones keep feature order */
		while (pos > 0 && sign * contrib[idx[pos - 1]] < push)
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
