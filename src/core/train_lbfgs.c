/*
 * train_lbfgs.c
 *	  Full-batch L-BFGS training ("optimizer": "lbfgs"): the objective
 *	  (mean weighted loss over all training rows + l2/2 |W|^2) and its
 *	  gradient from the mini-batch kernels, handed to the minimiser of
 *	  lbfgs.c in place of the epoch loop.
 *
 * The gradient is summed per fixed chunk of the training order (chunks
 * depend on the network and batch size only) and the chunks are added in
 * order, so the model is the same for any thread count; the training order
 * is canonical, so it is the same for any row order.
 */
#include "train_internal.h"
#include "lbfgs.h"

#include <math.h>
#include <string.h>

/* The state of one L-BFGS training. */
typedef struct LbfgsTrain
{
	TrainCtx   *c;
	float	   *acc;			/* [nchunks * nparams] per-chunk gradient sums */
	double		data_loss;		/* mean loss without the penalty, last eval */
	double		last_valid;		/* validation loss after the last step */
} LbfgsTrain;

/* x[i] += y[i] for i in [0, n). */
static void
add_into(float *restrict x, const float *restrict y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		x[i] += y[i];
}

/*
 * Job: chunk k sums the loss and gradient of the training rows
 * [ntrain * k / K, ntrain * (k + 1) / K), in blocks of its capacity.
 */
static void
job_full_gradient(void *arg, int self, int nthreads)
{
	LbfgsTrain *lt = arg;
	TrainCtx   *c = lt->c;
	int			K = c->nchunks;
	int			k0 = (int) (((int64_t) K * self) / nthreads);
	int			k1 = (int) (((int64_t) K * (self + 1)) / nthreads);

	for (int k = k0; k < k1; k++)
	{
		TrainChunk *ch = &c->chunks[k];
		int64_t		lo = (c->ntrain * k) / K;
		int64_t		hi = (c->ntrain * (k + 1)) / K;
		float	   *acc = lt->acc + (size_t) k * c->nparams;
		int32_t		ccap = ch->work.cap;

		memset(acc, 0, c->nparams * sizeof(float));
		ch->loss[0] = 0.0;
		for (int64_t s = lo; s < hi; s += ccap)
		{
			int32_t		rows = (int32_t) (hi - s < ccap ? hi - s : ccap);

			if (self == 0 && train_interrupted(c))
			{
				c->ep_stop = 1;
				return;
			}
			train_gather(c, &ch->bt, c->train_idx + s, rows, hi - s);
			nn_forward(&c->net, &ch->bt, &ch->work, 0);
			ch->loss[0] += nn_loss(c->task, &c->net, &ch->bt, &ch->work, 1,
								   (float) c->ntrain);
			nn_backward_wt(&c->net, &ch->bt, &ch->work, 0, 0.0f, &ch->grad[0],
						   (const float *const *) c->wt);
			add_into(acc, ch->g[0], c->nparams);
		}
	}
}

/* Adds l2 * w to the gradient of nw weights at off, and w^2 to *reg. */
static void
add_penalty(const float *x, float *g, int64_t off, int64_t nw, float l2,
			double *reg)
{
	for (int64_t i = 0; i < nw; i++)
	{
		float		w = x[off + i];

		*reg += (double) w * w;
		g[off + i] += l2 * w;
	}
}

/* The objective at x: loads x into the network, runs the gradient job. */
static DlfStatus
lbfgs_eval(void *arg, const float *x, float *g, double *f, DlfError *err)
{
	LbfgsTrain *lt = arg;
	TrainCtx   *c = lt->c;
	double		loss = 0.0,
				reg = 0.0,
				sreg = 0.0;
	float		l2 = (float) c->opt->l2;

	memcpy(c->P, x, c->nparams * sizeof(float));
	train_transpose_weights(&c->net, c->wt);
	c->ep_stop = 0;
	dlf_pool_run(c->pool, job_full_gradient, lt);
	if (c->ep_stop)
		return train_fail_interrupted(c);
	memset(g, 0, c->nparams * sizeof(float));
	for (int k = 0; k < c->nchunks; k++)
	{
		loss += c->chunks[k].loss[0];
		add_into(g, lt->acc + (size_t) k * c->nparams, c->nparams);
	}
	loss /= (double) c->ntrain;
	/* the weights' penalty (not the biases'), at the weights' offsets */
	for (int32_t l = 0; l < c->net.nlayers; l++)
		add_penalty(x, g, c->net.W[l] - c->P,
					(int64_t) c->net.units[l] * c->net.units[l + 1], l2, &reg);
	/* and the skip path's weights, which follow the layers', less */
	if (c->net.S)
		add_penalty(x, g, c->net.S - c->P,
					(int64_t) c->net.units[0] * c->net.units[c->net.nlayers],
					l2 * DLF_SKIP_L2_SCALE, &sreg);
	*f = loss + 0.5 * c->opt->l2 * reg +
		0.5 * (double) (l2 * DLF_SKIP_L2_SCALE) * sreg;
	lt->data_loss = loss;
	return DLF_OK;
}

/* Projection of the parameters onto the monotone-constrained set. */
static void
lbfgs_project(void *arg, float *x)
{
	LbfgsTrain *lt = arg;
	NnNet		view;

	train_bind_params(&lt->c->net, &view, x);
	dlf_monotone_project(lt->c->m, &view, 0);
}

/* Interrupt check for the minimiser. */
static int
lbfgs_interrupted(void *arg)
{
	return train_interrupted(((LbfgsTrain *) arg)->c);
}

/* Records an accepted step's losses as an epoch of the history. */
static void
lbfgs_iteration_done(void *arg, int32_t iter, double loss)
{
	LbfgsTrain *lt = arg;
	TrainCtx   *c = lt->c;
	double		vloss = NAN;

	if (iter > c->opt->epochs)
		return;
	/* P holds the accepted point: it was the last one evaluated */
	c->hist_train[iter - 1] = (float) lt->data_loss;
	if (c->nvalid > 0 && train_evaluate(c, &vloss, 0) != DLF_OK)
		vloss = NAN;
	c->hist_valid[iter - 1] = (float) vloss;
	lt->last_valid = vloss;
	if (c->hooks && c->hooks->epoch_done)
	{
		DlfEpochReport rep;

		rep.epoch = iter;
		rep.train_loss = lt->data_loss;
		rep.valid_loss = vloss;
		rep.valid_metric = NAN;
		rep.metric_name = NULL;
		rep.seconds = train_elapsed(c);
		c->hooks->epoch_done(c->hooks->arg, &rep);
	}
}

/* Fails with "training diverged" after iteration iter. */
static DlfStatus
lbfgs_diverged(TrainCtx *c, int32_t iter)
{
	dlf_fail(c->err, DLF_ERR_DATA, "training diverged");
	dlf_detail(c->err, "The loss became non-finite in iteration %d of "
			   "optimizer lbfgs; try a larger l2.", iter);
	return DLF_ERR_DATA;
}

/*
 * Full-batch L-BFGS for at most `epochs' iterations (one history entry
 * each); leaves the parameters in P.  Validation rows, if any, are only
 * scored (history, metrics, calibration), never used to stop.
 */
DlfStatus
train_lbfgs_loop(TrainCtx *c)
{
	const DlfTrainOptions *opt = c->opt;
	LbfgsTrain	lt;
	DlfLbfgsProblem prob;
	DlfLbfgsResult res;
	DlfStatus	st;
	int			mono = 0;

	memset(&lt, 0, sizeof(lt));
	lt.c = c;
	lt.last_valid = NAN;
	c->hist_train = dlf_alloc_array(opt->epochs, sizeof(float));
	c->hist_valid = dlf_alloc_array(opt->epochs, sizeof(float));
	lt.acc = dlf_alloc_array_aligned((size_t) c->nchunks * c->nparams,
									 sizeof(float));
	if (!c->hist_train || !c->hist_valid || !lt.acc)
	{
		dlf_free_aligned(lt.acc);
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t f = 0; f < c->nf; f++)
		mono |= c->m->features[f].monotone != 0;
	memset(&prob, 0, sizeof(prob));
	prob.eval = lbfgs_eval;
	prob.project = mono ? lbfgs_project : NULL;
	prob.interrupted = lbfgs_interrupted;
	prob.iteration_done = lbfgs_iteration_done;
	prob.arg = &lt;
	/* the minimiser's own iterate: P holds whatever point was last tried */
	memcpy(c->best, c->P, c->nparams * sizeof(float));
	st = dlf_lbfgs(&prob, c->best, c->nparams, opt->epochs, &res, c->err);
	dlf_free_aligned(lt.acc);
	if (st != DLF_OK)
		return st;
	memcpy(c->P, c->best, c->nparams * sizeof(float));
	if (res.diverged)
		return lbfgs_diverged(c, 0);
	for (int64_t i = 0; i < c->nparams; i++)
		if (!isfinite(c->P[i]))
			return lbfgs_diverged(c, res.iterations);
	if (res.iterations == 0)
	{
		/* already at a minimum: one history entry for the start */
		c->hist_train[0] = (float) lt.data_loss;
		c->hist_valid[0] = NAN;
		if (c->nvalid > 0)
		{
			double		v;

			if ((st = train_evaluate(c, &v, 0)) != DLF_OK)
				return st;
			c->hist_valid[0] = (float) v;
			lt.last_valid = v;
		}
		res.iterations = 1;
	}
	c->m->epochs_run = res.iterations;
	c->m->best_epoch = c->nvalid > 0 ? res.iterations : 0;
	c->m->best_valid_loss = c->nvalid > 0 ? lt.last_valid : NAN;
	return DLF_OK;
}
