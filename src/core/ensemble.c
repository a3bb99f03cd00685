/*
 * ensemble.c
 *	  Ensembles ("ensemble": k): training k networks into one model, and
 *	  scoring them as one.
 *
 * The members share the model's schema, statistics and shape and differ
 * in their random stream (initial weights, batch order) and, with
 * "ensemble_sample", in the training rows they see: a Poisson(1)
 * bootstrap or all but one of k folds.  The validation split comes before
 * the member's own stream, so every member has the same validation rows,
 * and the ensemble's validation metrics, importance and calibration are
 * measured on rows no member trained on.
 *
 * The ensemble's output is the mean of the members' probabilities (the
 * mean output for regression).  It is handed on as logits -- log of the
 * mean probability of each class, or logit of the mean for binary -- so
 * that calibration, importance, the score distribution and the scorer all
 * take the logits as they do for one network.  Logs of means are summed
 * as log-sum-exp, so a saturated member never makes them infinite.
 */
#include "ensemble.h"
#include "train_internal.h"

#include <string.h>

/* ---- scoring ------------------------------------------------------------ */

/* Channels a row accumulates: log p and log(1 - p), one per class, or 1. */
static inline int32_t
ens_channels(const DlfEnsNets *en)
{
	return en->task == DLF_TASK_BINARY ? 2 : en->nout;
}

/*
 * log p and log(1 - p) of a binary member's logit z: -softplus(-z) and
 * -softplus(z), with softplus(x) = x > 0 ? x + log1p(exp(-x)) :
 * log1p(exp(x)) (no overflow).  Both take log1p(exp(-|z|)), so it is
 * computed once: the same calls with the same arguments, so the same bits
 * as two softplus calls, at half the cost.
 */
static inline void
log_p_q(double z, double *logp, double *logq)
{
	double		t = log1p(exp(-fabs(z)));

	*logp = -(-z > 0.0 ? -z + t : t);
	*logq = -(z > 0.0 ? z + t : t);
}

/* Adds v to a running log-sum-exp a = {max, sum of exp(. - max)}. */
static inline void
lse_add(double *a, double v, int first)
{
	if (first)
	{
		a[0] = v;
		a[1] = 1.0;
	}
	else if (v > a[0])
	{
		a[1] = a[1] * exp(a[0] - v) + 1.0;
		a[0] = v;
	}
	else
		a[1] += exp(v - a[0]);
}

/* Adds one member's logits z of a row to the row's accumulator a. */
static void
ens_add(const DlfEnsNets *en, double *a, const float *z, int first)
{
	if (en->task == DLF_TASK_REGRESSION)
		a[0] = first ? (double) z[0] : a[0] + (double) z[0];
	else if (en->task == DLF_TASK_BINARY)
	{
		double		logp,
					logq;

		log_p_q((double) z[0], &logp, &logq);
		lse_add(a, logp, first);
		lse_add(a + 2, logq, first);
	}
	else
	{
		double		mx = z[0],
					s = 0.0;

		for (int32_t j = 1; j < en->nout; j++)
			if (z[j] > mx)
				mx = z[j];
		for (int32_t j = 0; j < en->nout; j++)
			s += exp((double) z[j] - mx);
		s = mx + log(s);
		for (int32_t j = 0; j < en->nout; j++)
			lse_add(a + 2 * j, (double) z[j] - s, first);
	}
}

/* The ensemble's logits of a row from its accumulator. */
static void
ens_finish(const DlfEnsNets *en, const double *a, float *z)
{
	double		logk = log((double) en->k);

	if (en->task == DLF_TASK_REGRESSION)
		z[0] = (float) (a[0] / en->k);
	else if (en->task == DLF_TASK_BINARY)
		z[0] = (float) ((a[0] + log(a[1])) - (a[2] + log(a[3])));
	else
		for (int32_t j = 0; j < en->nout; j++)
			z[j] = (float) (a[2 * j] + log(a[2 * j + 1]) - logk);
}

/* Allocates en for k members of a net shaped like `shape'. */
static DlfStatus
ens_alloc(DlfEnsNets *en, int32_t k, int task, const NnNet *shape,
		  int32_t cap, DlfError *err)
{
	memset(en, 0, sizeof(*en));
	en->k = k;
	en->task = task;
	en->nout = shape->units[shape->nlayers];
	en->cap = cap < 1 ? 1 : cap;
	en->net = dlf_alloc_array(k, sizeof(NnNet));
	en->acc = dlf_alloc_array((size_t) en->cap * 2,
							  sizeof(double) * (en->nout > 2 ? en->nout : 2));
	en->z = dlf_alloc_array((size_t) k * en->nout, sizeof(float));
	if (!en->net || !en->acc || !en->z)
	{
		dlf_ens_nets_free(en);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t e = 0; e < k; e++)
		en->net[e] = *shape;
	return DLF_OK;
}

/* Points net at member e of m (a read-only view). */
static void
ens_view(NnNet *net, const DlfModel *m, int32_t e)
{
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		net->W[l] = dlf_member_weights(m, e, l);
		net->b[l] = dlf_member_biases(m, e, l);
	}
	net->S = dlf_member_skip(m, e);
	nn_row_plan(net);
}

/* Views of model m's members for up to cap rows at a time. */
DlfStatus
dlf_ens_nets_init(DlfEnsNets *en, const DlfModel *m, int32_t cap,
				  DlfError *err)
{
	NnNet		shape;
	DlfStatus	st;

	memset(&shape, 0, sizeof(shape));
	shape.nlayers = m->nlayers;
	shape.activation = m->activation;
	for (int32_t l = 0; l <= m->nlayers; l++)
		shape.units[l] = m->units[l];
	if ((st = ens_alloc(en, dlf_model_members(m), m->task, &shape, cap,
						err)) != DLF_OK)
		return st;
	for (int32_t e = 0; e < en->k; e++)
		ens_view(&en->net[e], m, e);
	return DLF_OK;
}

/* Frees what dlf_ens_nets_init allocated (never the parameters). */
void
dlf_ens_nets_free(DlfEnsNets *en)
{
	if (en == NULL)
		return;
	dlf_free(en->net);
	dlf_free(en->acc);
	dlf_free(en->z);
	en->net = NULL;
	en->acc = NULL;
	en->z = NULL;
}

/* nn_forward_rows of the ensemble; see ensemble.h. */
void
dlf_ens_forward_rows(DlfEnsNets *en, const NnBatch *bt, NnWork *w)
{
	int32_t		L = en->net[0].nlayers;
	int32_t		C2 = 2 * ens_channels(en);

	for (int32_t e = 0; e < en->k; e++)
	{
		nn_forward_rows(&en->net[e], bt, w);
		for (int32_t r = 0; r < bt->rows; r++)
			ens_add(en, en->acc + (size_t) r * C2,
					w->act[L - 1] + (size_t) r * en->nout, e == 0);
	}
	for (int32_t r = 0; r < bt->rows; r++)
		ens_finish(en, en->acc + (size_t) r * C2,
				   w->act[L - 1] + (size_t) r * en->nout);
}

/* nn_forward_row of the ensemble; see ensemble.h. */
float
dlf_ens_forward_row(DlfEnsNets *en, const int32_t *idx, const float *val,
					int32_t nnz, float *const *act)
{
	int32_t		L = en->net[0].nlayers;

	int32_t		nout = en->nout;

	/*
	 * Every member's pass first, then their logits into the accumulator in
	 * member order (the same operations): the passes, each a chain of
	 * dependent adds, run back to back, so the CPU overlaps them, and so
	 * do the accumulator's exp and log1p calls.
	 */
	for (int32_t e = 0; e < en->k; e++)
	{
		nn_forward_row(&en->net[e], idx, val, nnz, act);
		memcpy(en->z + (size_t) e * nout, act[L - 1], sizeof(float) * nout);
	}
	for (int32_t e = 0; e < en->k; e++)
		ens_add(en, en->acc, en->z + (size_t) e * nout, e == 0);
	ens_finish(en, en->acc, act[L - 1]);
	return act[L - 1][0];
}

/* ---- training ----------------------------------------------------------- */

/*
 * A member's random stream and training rows, set right after the
 * validation split.  Subsets are taken by position in the split's seeded
 * order, which depends only on the multiset of rows and the seed.
 */
DlfStatus
train_member_rows(TrainCtx *c)
{
	const DlfTrainOptions *o = c->opt;
	uint64_t	key = dlf_mix64(o->seed ^ dlf_mix64(UINT64_C(0x656e73656d626c65) +
												  (uint64_t) o->member));
	uint32_t   *keep;
	int64_t		n = 0;

	dlf_rng_seed(&c->rng, key);
	c->ntrain_all = c->ntrain;
	if (o->ens_sample == DLF_ENS_SEEDS || c->ntrain < 2)
		return DLF_OK;
	if (o->ens_sample == DLF_ENS_FOLDS)
	{
		keep = dlf_alloc_array(c->ntrain, sizeof(uint32_t));
		if (!keep)
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		for (int64_t p = 0; p < c->ntrain; p++)
			if (p % o->ensemble != o->member - 1)
				keep[n++] = c->train_idx[p];
	}
	else
	{
		/* Poisson(1) counts: the bootstrap's, independent per row */
		DlfRng		r;
		uint8_t    *cnt = dlf_alloc_array(c->ntrain, sizeof(uint8_t));

		if (!cnt)
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		dlf_rng_seed(&r, dlf_mix64(key + 1));
		for (int64_t p = 0; p < c->ntrain; p++)
		{
			double		u = dlf_rng_uniform(&r),
						cdf = exp(-1.0),
						pk = cdf;
			int			k = 0;

			while (u > cdf && k < 12)
			{
				k++;
				pk /= k;
				cdf += pk;
			}
			cnt[p] = (uint8_t) k;
			n += k;
		}
		keep = n > 0 ? dlf_alloc_array(n, sizeof(uint32_t)) : NULL;
		if (n > 0 && !keep)
		{
			dlf_free(cnt);
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		}
		n = 0;
		for (int64_t p = 0; p < c->ntrain; p++)
			for (int k = 0; k < cnt[p]; k++)
				keep[n++] = c->train_idx[p];
		dlf_free(cnt);
	}
	if (n < 1 || n > INT32_MAX)
	{
		/* too few rows to leave any out: the member sees them all */
		dlf_free(keep);
		return DLF_OK;
	}
	dlf_free(c->train_idx);
	c->train_idx = keep;
	c->ntrain = n;
	return DLF_OK;
}

/* Member 1, trained: evaluation from now on is the whole ensemble's. */
DlfStatus
train_ens_attach(TrainCtx *c)
{
	const DlfTrainOptions *o = c->opt;
	DlfStatus	st;

	c->ens = dlf_alloc0(sizeof(DlfEnsNets));
	if (!c->ens)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	if ((st = ens_alloc(c->ens, o->nextra + 1, c->task, &c->net, c->cap,
						c->err)) != DLF_OK)
		return st;
	nn_row_plan(&c->ens->net[0]);
	for (int32_t e = 1; e <= o->nextra; e++)
		ens_view(&c->ens->net[e], o->extra[e - 1], 0);
	return DLF_OK;
}

/* Frees the ensemble view of train_ens_attach. */
void
train_ens_free(TrainCtx *c)
{
	dlf_ens_nets_free(c->ens);
	dlf_free(c->ens);
	c->ens = NULL;
}

/*
 * Puts every member's skip-path weights into the finished model, member
 * 1's (stored by dlf_train) first; nothing without a skip path.
 */
static DlfStatus
ens_store_skip(TrainCtx *c)
{
	DlfModel   *m = c->m;
	int64_t		ns = dlf_model_nskip(m);
	float	   *S;

	if (ns == 0)
		return DLF_OK;
	S = dlf_alloc_array((size_t) ns * m->nmembers, sizeof(float));
	if (!S)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	memcpy(S, m->skip, sizeof(float) * ns);
	for (int32_t e = 1; e < m->nmembers; e++)
		memcpy(S + (size_t) e * ns, c->opt->extra[e - 1]->skip,
			   sizeof(float) * ns);
	dlf_free(m->skip);
	m->skip = S;
	return DLF_OK;
}

/* Copies the other members' parameters into the finished model. */
DlfStatus
train_ens_store(TrainCtx *c)
{
	const DlfTrainOptions *o = c->opt;
	DlfModel   *m = c->m;
	int32_t		L = m->nlayers;
	size_t		n = (size_t) o->nextra * L;

	m->mweights = dlf_alloc0(sizeof(float *) * n);
	m->mbiases = dlf_alloc0(sizeof(float *) * n);
	if (!m->mweights || !m->mbiases)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	m->nmembers = o->nextra + 1;
	for (int32_t e = 1; e <= o->nextra; e++)
		for (int32_t l = 0; l < L; l++)
		{
			size_t		nw = (size_t) m->units[l] * m->units[l + 1];
			size_t		i = (size_t) (e - 1) * L + l;

			m->mweights[i] = dlf_alloc_array(nw, sizeof(float));
			m->mbiases[i] = dlf_alloc_array(m->units[l + 1], sizeof(float));
			if (!m->mweights[i] || !m->mbiases[i])
				return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
			memcpy(m->mweights[i], o->extra[e - 1]->weights[l], nw * sizeof(float));
			memcpy(m->mbiases[i], o->extra[e - 1]->biases[l],
				   m->units[l + 1] * sizeof(float));
		}
	/* the rows the ensemble learned from, not one member's sample */
	m->rows_train = c->ntrain_all > 0 ? c->ntrain_all : c->ntrain;
	return ens_store_skip(c);
}

/* Trains opt->ensemble networks into m; see dlfin_core.h. */
DlfStatus
dlf_train_ensemble(DlfModel *m, DlfDataset *data, const DlfTrainOptions *opt,
				   const DlfTrainHooks *hooks, DlfError *err)
{
	int32_t		k = opt ? opt->ensemble : 1;
	DlfModel  **extra;
	DlfTrainOptions mo;
	DlfTrainHooks fh = {0};
	DlfStatus	st = DLF_OK;

	if (m == NULL || data == NULL || opt == NULL || k <= 1 || opt->member)
		return dlf_train(m, data, opt, hooks, err);
	if (k > DLF_MAX_ENSEMBLE)
		return dlf_fail(err, DLF_ERR_INVALID,
						"ensemble must be between 1 and %d", DLF_MAX_ENSEMBLE);
	extra = dlf_alloc0(sizeof(DlfModel *) * (k - 1));
	if (!extra)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	/* the other members report no epochs; interrupts reach every one */
	if (hooks)
	{
		fh.interrupted = hooks->interrupted;
		fh.arg = hooks->arg;
	}
	for (int32_t e = 2; e <= k && st == DLF_OK; e++)
	{
		if (hooks && hooks->interrupted && hooks->interrupted(hooks->arg))
		{
			st = dlf_fail(err, DLF_ERR_INTERRUPTED, "training interrupted");
			break;
		}
		if (!(extra[e - 2] = dlf_model_schema_copy(m)))
		{
			st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
			break;
		}
		mo = *opt;
		mo.member = e;
		mo.bare = 1;			/* member 1 measures the ensemble */
		st = dlf_train(extra[e - 2], data, &mo, &fh, err);
	}
	if (st == DLF_OK)
	{
		mo = *opt;
		mo.member = 1;
		mo.nextra = k - 1;
		mo.extra = (const DlfModel *const *) extra;
		st = dlf_train(m, data, &mo, hooks, err);
	}
	for (int32_t e = 0; e < k - 1; e++)
		dlf_model_free(extra[e]);
	dlf_free(extra);
	return st;
}
