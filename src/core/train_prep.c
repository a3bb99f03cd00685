/*
 * train_prep.c
 *	  Training: preparation -- feature statistics, target scaling, class
 *	  weights, the validation split and the initial parameters.
 */
#include "train_internal.h"

#include <math.h>
#include <string.h>

/*
 * Rows ahead whose values the passes in canonical or training order
 * prefetch, into L2 (locality 2): over columns larger than the caches each
 * read is a miss to memory, and L2 lets more of them be under way than L1
 * would; at 10M rows 16 ahead into L1 took 10 % longer.
 */
#define STATS_PREFETCH	64
#define STATS_LOCALITY	2

/* ---- statistics --------------------------------------------------------- */

/*
 * Mean, scale and missing share of feature f, summed in canonical order
 * (c->train_idx, from train_canonical_order).
 */
static void
feature_stats(TrainCtx *c, int32_t f)
{
	const DlfDataset *d = c->data;
	const DlfFeature *ft = &c->m->features[f];
	const DlfModel *im = c->opt->init ? c->opt->init : c->opt->encoding;
	const uint32_t *order = c->train_idx;
	int64_t		n = c->n;
	const float *col = d->num[f];
	double		s = 0.0,
				ss = 0.0,
				mu = 0.0,
				shift = 0.0,
				sd;
	int64_t		k = 0;

	if (ft->kind != DLF_FEAT_NUMERIC)
	{
		const int32_t *codes = d->cat[f];
		int32_t		miss = DLF_CAT_MISSING(ft);

		for (int64_t i = 0; i < n; i++)
			k += codes[i] == miss;
		c->mean[f] = 0.0;
		c->scale[f] = 1.0;
		c->inv_scale[f] = 1.0;
		c->missing[f] = (double) k / n;
		return;
	}

	/*
	 * One pass, in canonical order (the bits depend on the order), of the
	 * values shifted by the first finite one: the shifted sums keep the
	 * variance accurate (the shift is near the mean in units of the
	 * spread) and the rows are gathered once.
	 */
	for (int64_t i = 0; i < n; i++)
	{
		float		x = col[order[i]];

		if (i + STATS_PREFETCH < n)
			__builtin_prefetch(&col[order[i + STATS_PREFETCH]], 0, STATS_LOCALITY);
		if (isfinite(x))
		{
			double		v;

			if (k == 0)
				shift = x;
			v = x - shift;
			s += v;
			ss += v * v;
			k++;
		}
	}
	if (k > 0)
		mu = shift + s / k;
	sd = k > 0 ? sqrt(fmax(ss - s * (s / k), 0.0) / k) : 0.0;
	c->mean[f] = mu;
	c->scale[f] = (sd < 1e-12 || !isfinite(sd)) ? 1.0 : sd;
	c->missing[f] = (double) (n - k) / n;
	/* warm start keeps the encoding the weights were trained on (or the given one) */
	if (im && im->features[f].kind == DLF_FEAT_NUMERIC)
	{
		c->mean[f] = im->features[f].mean;
		c->scale[f] = im->features[f].scale;
	}
	c->inv_scale[f] = 1.0 / c->scale[f];
}

/* Job: the statistics of every nthreads-th feature (each by one thread). */
static void
job_stats(void *arg, int self, int nthreads)
{
	TrainCtx   *c = arg;

	for (int32_t f = self; f < c->nf; f += nthreads)
		feature_stats(c, f);
}

/*
 * Feature means, scales, missing shares (features split among the pool's
 * threads); target scaling; class counts.  Rows are visited in canonical
 * order (c->train_idx, from train_canonical_order).
 */
DlfStatus
train_compute_stats(TrainCtx *c)
{
	DlfDataset *d = c->data;
	int64_t		n = c->n;
	const uint32_t *order = c->train_idx;
	const DlfModel *im = c->opt->init ? c->opt->init : c->opt->encoding;

	c->mean = dlf_alloc_array(c->nf, sizeof(double));
	c->scale = dlf_alloc_array(c->nf, sizeof(double));
	c->inv_scale = dlf_alloc_array(c->nf, sizeof(double));
	c->missing = dlf_alloc_array(c->nf, sizeof(double));
	if (!c->mean || !c->scale || !c->inv_scale || !c->missing)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	dlf_pool_run(c->pool, job_stats, c);
	if (train_interrupted(c))
		return train_fail_interrupted(c);

	c->tmean = 0.0;
	c->tscale = 1.0;
	if (c->task == DLF_TASK_REGRESSION)
	{
		double		s = 0.0,
					ss = 0.0,
					mu,
					sd;

		for (int64_t i = 0; i < n; i++)
			s += dlf_label(d, order[i]);
		mu = s / n;
		for (int64_t i = 0; i < n; i++)
			ss += (dlf_label(d, order[i]) - mu) * (dlf_label(d, order[i]) - mu);
		sd = sqrt(ss / n);
		c->tmean = mu;
		c->tscale = (sd < 1e-12 || !isfinite(sd)) ? 1.0 : sd;
		if (im)
		{
			c->tmean = im->target_mean;
			c->tscale = im->target_scale;
		}
	}
	else
	{
		int32_t		k = c->m->nclasses;
		int32_t		present = 0;

		c->ccount = dlf_alloc_array(k, sizeof(int64_t));
		c->cw = dlf_alloc_array(k, sizeof(double));
		if (!c->ccount || !c->cw)
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		for (int64_t i = 0; i < n; i++)
			c->ccount[(int32_t) dlf_label(d, i)]++;
		for (int32_t j = 0; j < k; j++)
			present += c->ccount[j] > 0;
		if (present < 2)
		{
			dlf_fail(c->err, DLF_ERR_DATA, "label has only one class");
			dlf_detail(c->err, "A classifier needs rows of at least two classes.");
			return DLF_ERR_DATA;
		}
		for (int32_t j = 0; j < k; j++)
		{
			double		w = 1.0;

			if (c->opt->balanced)
				w = c->ccount[j] > 0 ? (double) n / ((double) k * c->ccount[j]) : 0.0;
			else if (c->opt->class_weights)
				w = c->opt->class_weights[j];
			if (!(w >= 0.0) || !isfinite(w))
				return dlf_fail(c->err, DLF_ERR_INVALID,
								"class weights must be non-negative numbers");
			c->cw[j] = w;
		}
	}
	return DLF_OK;
}

/* ---- split -------------------------------------------------------------- */

/* swaps ahead whose random positions train_shuffle() draws and prefetches */
#define SHUFFLE_AHEAD	32

/*
 * Shuffles n indexes in place with the PRNG (Fisher-Yates).  The position
 * swapped with i depends only on the PRNG, so the positions of the next
 * SHUFFLE_AHEAD swaps are drawn ahead (the same draws in the same order)
 * and prefetched: over a large array each swap would wait for its random
 * position's cache miss.
 */
void
train_shuffle(DlfRng *rng, uint32_t *a, int64_t n)
{
	int64_t		ahead[SHUFFLE_AHEAD];

	/* slot s holds the position for i = n - 1 - s (then - SHUFFLE_AHEAD...) */
	for (int64_t s = 0; s < SHUFFLE_AHEAD && n - 1 - s > 0; s++)
	{
		ahead[s] = (int64_t) dlf_rng_below(rng, (uint64_t) (n - s));
		__builtin_prefetch(&a[ahead[s]], 1);
	}
	for (int64_t i = n - 1; i > 0; i--)
	{
		int			s = (int) ((n - 1 - i) % SHUFFLE_AHEAD);
		int64_t		j = ahead[s];
		int64_t		later = i - SHUFFLE_AHEAD;
		uint32_t	t = a[i];

		if (later > 0)
		{
			ahead[s] = (int64_t) dlf_rng_below(rng, (uint64_t) later + 1);
			__builtin_prefetch(&a[ahead[s]], 1);
		}
		a[i] = a[j];
		a[j] = t;
	}
}

/*
 * Validation rows per class: nvalid shared in proportion to the class
 * counts by largest remainders (ties: the lower class), never more than a
 * class has; *nvalid becomes their sum.  NULL when out of memory.
 */
static int64_t *
class_quotas(const TrainCtx *c, int64_t n, int64_t *nvalid)
{
	int32_t		k = c->m->nclasses;
	int64_t		given = 0;
	int64_t    *quota = dlf_alloc_array(k, sizeof(int64_t));

	if (!quota)
		return NULL;
	/* n <= INT32_MAX, so count * nvalid fits in 64 bits */
	for (int32_t j = 0; j < k; j++)
	{
		quota[j] = (int64_t) (c->ccount[j] * *nvalid / n);
		given += quota[j];
	}
	while (given < *nvalid)
	{
		int32_t		bestj = -1;
		int64_t		bestr = -1;

		/* largest remainder not yet rounded up; ties: lower class */
		for (int32_t j = 0; j < k; j++)
		{
			int64_t		r = (int64_t) (c->ccount[j] * *nvalid % n);

			if (quota[j] < c->ccount[j] &&
				quota[j] == (int64_t) (c->ccount[j] * *nvalid / n) &&
				r > bestr)
			{
				bestr = r;
				bestj = j;
			}
		}
		if (bestj < 0)
			break;
		quota[bestj]++;
		given++;
	}
	*nvalid = given;
	return quota;
}

/*
 * Seeded shuffle of the canonical order, then the validation rows: the
 * first round(n * fraction) of the shuffled order, taken per class in
 * proportion to the class counts (largest remainders) for classifiers.
 * Shuffles the canonical order train_canonical_order left in c->train_idx; the
 * training rows keep their shuffled order there (compacted in place), only
 * the validation rows get an array of their own.
 */
DlfStatus
train_split_rows(TrainCtx *c)
{
	int64_t		n = c->n;
	int64_t		nvalid = (int64_t) floor(n * c->opt->validation_fraction + 0.5);
	uint32_t   *perm = c->train_idx;
	int64_t    *quota = NULL;

	if (nvalid < 1 || n - nvalid < 1)
		nvalid = 0;
	c->train_idx = NULL;
	if (!perm)
	{
		/* no canonical order given: the rows' own order */
		perm = dlf_alloc_array(n, sizeof(uint32_t));
		if (!perm)
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		for (int64_t i = 0; i < n; i++)
			perm[i] = (uint32_t) i;
	}
	/* the same swaps as on positions 0..n-1, applied to the rows there */
	train_shuffle(&c->rng, perm, n);

	if (nvalid == 0)
	{
		c->train_idx = perm;
		c->ntrain = n;
		c->nvalid = 0;
		return DLF_OK;
	}
	c->valid_idx = dlf_alloc_array(nvalid, sizeof(uint32_t));
	if (!c->valid_idx)
	{
		dlf_free(perm);
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	}
	if (c->task != DLF_TASK_REGRESSION)
	{
		quota = class_quotas(c, n, &nvalid);
		if (!quota)
		{
			dlf_free(perm);
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		}
	}
	{
		int64_t		nt = 0,
					nv = 0;

		for (int64_t i = 0; i < n; i++)
		{
			uint32_t	r = perm[i];
			int			to_valid;

			if (quota)
			{
				int32_t		y = (int32_t) dlf_label(c->data, r);

				to_valid = quota[y] > 0;
				if (to_valid)
					quota[y]--;
			}
			else
				to_valid = nv < nvalid;
			/* nt <= i: compacting in place never overwrites unread entries */
			if (to_valid)
				c->valid_idx[nv++] = r;
			else
				perm[nt++] = r;
		}
		c->train_idx = perm;
		c->ntrain = nt;
		c->nvalid = nv;
	}
	dlf_free(quota);
	if (c->nvalid == 0)
	{
		dlf_free(c->valid_idx);
		c->valid_idx = NULL;
	}
	return DLF_OK;
}

/* ---- parameters ---------------------------------------------------------- */

/* Points net's W/b at a flat buffer laid out W0, b0, W1, b1, ..., S. */
void
train_bind_params(const NnNet *shape, NnNet *view, float *buf)
{
	*view = *shape;
	for (int32_t l = 0; l < shape->nlayers; l++)
	{
		view->W[l] = buf;
		buf += (size_t) shape->units[l] * shape->units[l + 1];
		view->b[l] = buf;
		buf += shape->units[l + 1];
	}
	view->S = shape->skip ? buf : NULL;
}

/* Allocates parameters and optimiser state and initialises the weights. */
DlfStatus
train_init_params(TrainCtx *c)
{
	NnNet	   *net = &c->net;
	const DlfModel *im = c->opt->init;
	NnNet		shape = *net;

	c->P = dlf_alloc_array_aligned(c->nparams, sizeof(float));
	c->M1 = dlf_alloc_array_aligned(c->nparams, sizeof(float));
	c->M2 = dlf_alloc_array_aligned(c->nparams, sizeof(float));
	c->best = dlf_alloc_array_aligned(c->nparams, sizeof(float));
	if (!c->P || !c->M1 || !c->M2 || !c->best)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	train_bind_params(&shape, net, c->P);

	for (int32_t l = 0; l < net->nlayers; l++)
	{
		int32_t		fin = net->units[l];
		int32_t		fout = net->units[l + 1];
		size_t		nw = (size_t) fin * fout;
		int			hidden_he = l + 1 < net->nlayers &&
			(net->activation == DLF_ACT_RELU ||
			 net->activation == DLF_ACT_LEAKY_RELU);

		if (im)
		{
			memcpy(net->W[l], im->weights[l], nw * sizeof(float));
			memcpy(net->b[l], im->biases[l], fout * sizeof(float));
			continue;
		}
		if (hidden_he)
		{
			/* He normal: keeps the activation variance through ReLUs */
			double		sd = sqrt(2.0 / fin);

			for (size_t i = 0; i < nw; i++)
				net->W[l][i] = (float) (dlf_rng_normal(&c->rng) * sd);
		}
		else
		{
			/* Glorot uniform for tanh/sigmoid layers and the linear output */
			double		lim = sqrt(6.0 / (fin + fout));

			for (size_t i = 0; i < nw; i++)
				net->W[l][i] = (float) ((2.0 * dlf_rng_uniform(&c->rng) - 1.0) * lim);
		}
		memset(net->b[l], 0, fout * sizeof(float));
	}
	if (!im && c->task == DLF_TASK_BINARY)
	{
		/* start the output at the (weighted) log-odds of the base rate */
		double		wpos = 0.0,
					wall = 0.0;

		const DlfDataset *d = c->data;

		/* in training order (the bits of the sums depend on it) */
		for (int64_t i = 0; i < c->ntrain; i++)
		{
			int32_t		y = (int32_t) dlf_label(d, c->train_idx[i]);

			if (i + STATS_PREFETCH < c->ntrain)
			{
				uint32_t	p = c->train_idx[i + STATS_PREFETCH];

				__builtin_prefetch(d->cls ? (const void *) &d->cls[p] :
								   (const void *) &d->label[p], 0, STATS_LOCALITY);
			}
			wall += c->cw[y];
			if (y == 1)
				wpos += c->cw[y];
		}
		if (wall > 0.0 && wpos > 0.0 && wpos < wall)
			net->b[net->nlayers - 1][0] = (float) log(wpos / (wall - wpos));
	}
	/* the skip path starts at 0 (the buffer is zeroed), or the init's */
	if (im && net->S)
		memcpy(net->S, im->skip,
			   sizeof(float) * net->units[0] * net->units[net->nlayers]);
	memcpy(c->best, c->P, c->nparams * sizeof(float));
	return DLF_OK;
}
