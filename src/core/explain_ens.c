/*
 * explain_ens.c
 *	  Integrated gradients of an ensemble ("ensemble": k): the explained
 *	  output is that of the members' mean probability (regression: mean
 *	  output), and its gradient flows back through every member, skip path
 *	  included.  explain.c calls ens_eval_point for every point of the path.
 */
#include "explain_internal.h"

/*
 * Pass 1 at alpha: every member's output on the probability scale (its
 * output for regression) into e->eout; for a binary model, the members'
 * p and 1 - p added to *psum and *qsum.
 */
static void
ens_outputs(DlfExplainer *e, double alpha, double *psum, double *qsum)
{
	const DlfModel *m = e->m;
	int32_t		K = m->nmembers;
	int32_t		nout = m->units[m->nlayers];

	for (int32_t mem = 0; mem < K; mem++)
	{
		const double *z = explain_forward(e, mem, alpha);
		double	   *o = e->eout + (size_t) mem * nout;

		if (m->task == DLF_TASK_REGRESSION)
			o[0] = z[0];
		else if (m->task == DLF_TASK_BINARY)
		{
			o[0] = 1.0 / (1.0 + exp(-z[0]));
			*psum += o[0];
			*qsum += 1.0 / (1.0 + exp(z[0]));
		}
		else
			explain_softmax(z, o, nout);
	}
}

/*
 * Pass 2 at alpha: each member's share of dF (dFdp: dF/dpbar of a binary
 * model), backward through it; grad gets dF/dinput of every active input.
 */
static void
ens_backward(DlfExplainer *e, double alpha, int32_t klass, double dFdp,
			 double *grad)
{
	const DlfModel *m = e->m;
	int32_t		K = m->nmembers;
	int32_t		nout = m->units[m->nlayers];

	for (int32_t k = 0; k < e->nact; k++)
		grad[k] = 0.0;
	for (int32_t mem = 0; mem < K; mem++)
	{
		const double *o = e->eout + (size_t) mem * nout;

		explain_forward(e, mem, alpha);
		if (m->task == DLF_TASK_REGRESSION)
			e->g[0] = m->target_scale / K;
		else if (m->task == DLF_TASK_BINARY)
			e->g[0] = dFdp * o[0] * (1.0 - o[0]) / K;
		else
			for (int32_t j = 0; j < nout; j++)
				e->g[j] = o[klass] * ((j == klass) - o[j]) / K;
		explain_backward(e, mem, grad);
	}
}

/*
 * eval_point of an ensemble: F is the explained output of the mean
 * probability (mean output), and dF/dinput the sum over members of F's
 * derivative through each member's logits.  Without calibration F is the
 * mean of the members' outputs, so the attributions are the mean of the
 * members' attributions.
 */
double
ens_eval_point(DlfExplainer *e, double alpha, int32_t klass,
			   int32_t *klass_out, double *grad)
{
	const DlfModel *m = e->m;
	int32_t		K = m->nmembers;
	int32_t		nout = m->units[m->nlayers];
	double		F,
				pbar = 0.0,
				qbar = 0.0,
				dFdp = 1.0;

	ens_outputs(e, alpha, &pbar, &qbar);
	if (m->task == DLF_TASK_REGRESSION)
	{
		double		zbar = 0.0;

		for (int32_t mem = 0; mem < K; mem++)
			zbar += e->eout[(size_t) mem * nout];
		F = zbar / K * m->target_scale + m->target_mean;
	}
	else if (m->task == DLF_TASK_BINARY)
	{
		double		pq;

		pbar /= K;
		qbar /= K;
		pq = pbar * qbar;
		if (e->points)
		{
			double		dz;

			/* points of the mean's log-odds z; dz/dpbar = 1 / (pbar qbar) */
			F = dlf_points_of_logit(m, e->points, log(pbar) - log(qbar), &dz);
			dFdp = pq > 0.0 ? dz / pq : 0.0;
		}
		else
		{
			F = dlf_calibrated(m, log(pbar) - log(qbar));
			if (m->calibration == DLF_CALIB_PLATT)
				dFdp = pq > 0.0 ? -m->platt_a * F * (1.0 - F) / pq : 0.0;
			else if (m->calibration == DLF_CALIB_ISOTONIC && m->niso > 0)
				dFdp = explain_iso_slope(m, pbar);
		}
	}
	else
	{
		double	   *p = e->g2;

		for (int32_t j = 0; j < nout; j++)
		{
			p[j] = 0.0;
			for (int32_t mem = 0; mem < K; mem++)
				p[j] += e->eout[(size_t) mem * nout + j];
			p[j] /= K;
		}
		if (klass < 0)
		{
			klass = 0;
			for (int32_t j = 1; j < nout; j++)
				if (p[j] > p[klass])
					klass = j;
		}
		F = p[klass];
	}
	if (klass_out)
		*klass_out = klass;
	if (!grad)
		return F;

	ens_backward(e, alpha, klass, dFdp, grad);
	return F;
}
