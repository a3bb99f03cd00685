/*
 * explain_ens.c
 *	  Integrated gradients of an ensemble ("ensemble": k): the explained
 *	  output is that of the members' mean probability (regression: mean
 *	  output), and its gradient flows back through every member, skip path
 *	  included.  explain.c calls ens_eval_point for every point of the path.
 */
#include "explain_internal.h"


/*
 * Forward pass of member mem at alpha, in double: fills pre/post and
 * returns the member's logits (pre[nlayers - 1]).
 */
static const double *
member_forward(DlfExplainer *e, int32_t mem, double alpha)
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
		explain_skip_forward(e, dlf_member_skip(m, mem), alpha, e->pre[L - 1]);
	return e->pre[L - 1];
}

/*
 * Backward pass of member mem after member_forward, from dF/dlogits in
 * e->g: adds dF/dinput of every active input to grad.
 */
static void
member_backward(DlfExplainer *e, int32_t mem, double *grad)
{
	const DlfModel *m = e->m;
	int32_t		L = m->nlayers;
	int32_t		u1 = m->units[1];
	double	   *gz = e->g;

	if (m->skip)
	{
		/* the skip path's share, while e->g holds dF/dlogits */
		double	   *sg = e->gsk;

		explain_skip_grad(e, dlf_member_skip(m, mem), gz, sg);
		for (int32_t k = 0; k < e->nact; k++)
			grad[k] += sg[k];
	}
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

	/* pass 1: every member's output on the probability scale */
	for (int32_t mem = 0; mem < K; mem++)
	{
		const double *z = member_forward(e, mem, alpha);
		double	   *o = e->eout + (size_t) mem * nout;

		if (m->task == DLF_TASK_REGRESSION)
			o[0] = z[0];
		else if (m->task == DLF_TASK_BINARY)
		{
			o[0] = 1.0 / (1.0 + exp(-z[0]));
			pbar += o[0];
			qbar += 1.0 / (1.0 + exp(z[0]));
		}
		else
		{
			double		mx = z[0],
						sum = 0.0;

			for (int32_t j = 1; j < nout; j++)
				if (z[j] > mx)
					mx = z[j];
			for (int32_t j = 0; j < nout; j++)
				sum += (o[j] = exp(z[j] - mx));
			for (int32_t j = 0; j < nout; j++)
				o[j] /= sum;
		}
	}
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

	/* pass 2: each member's share of dF, backward through it */
	for (int32_t k = 0; k < e->nact; k++)
		grad[k] = 0.0;
	for (int32_t mem = 0; mem < K; mem++)
	{
		const double *o = e->eout + (size_t) mem * nout;

		member_forward(e, mem, alpha);
		if (m->task == DLF_TASK_REGRESSION)
			e->g[0] = m->target_scale / K;
		else if (m->task == DLF_TASK_BINARY)
			e->g[0] = dFdp * o[0] * (1.0 - o[0]) / K;
		else
			for (int32_t j = 0; j < nout; j++)
				e->g[j] = o[klass] * ((j == klass) - o[j]) / K;
		member_backward(e, mem, grad);
	}
	return F;
}
