/*
 * train_layout.c
 *	  Training: the rows' physical order.  Above PERMUTE_MIN_ROWS rows the
 *	  dataset's columns are rearranged into the order the split left (the
 *	  training rows, then the validation rows) for the time of the training,
 *	  and put back afterwards.
 *
 *	  Why: train_split_rows shuffles the rows globally once, and every epoch
 *	  only shuffles within SHUFFLE_STRIPE positions (train_job_shuffle).  In
 *	  the rows' own order each batch gathers from anywhere in every column (a
 *	  cache and TLB miss per value once the columns outgrow the caches: at
 *	  10M rows the gathers ran 20x the 1M time).  Rearranged, position p
 *	  holds the row the split put at p, so the indexes become positions, an
 *	  epoch reads within a moving window of about a stripe, and validation
 *	  reads sequentially.  The values read, and their order, are the same:
 *	  the model's bytes do not change.
 *
 *	  The arrays are the caller's (cv and ensembles train on one dataset
 *	  again and again), so they are restored before dlf_train returns, on
 *	  every path; the restore cannot fail.  A caller that reads the rows no
 *	  more (option consume: the SQL aggregate's final function) keeps them
 *	  rearranged (train_keep_rearranged).  The
 *	  cost is one scattered pass per column each way (an epoch's gather
 *	  reads nine), split among the pool's threads, and n row numbers beside
 *	  the training order (1/8 of the raw matrix at 8 features), hence the
 *	  threshold: below it the columns mostly fit in the caches and the
 *	  memory ratio of small tables has the least room.  Ensemble members (sampled, repeated rows) keep the rows'
 *	  order.
 */
#include "train_internal.h"

#include <string.h>

/* rows from which the columns are rearranged (the options may lower it) */
#ifndef PERMUTE_MIN_ROWS
#define PERMUTE_MIN_ROWS	(4 * 1024 * 1024)
#endif
/* rows ahead whose values the scattered passes prefetch */
#define PERMUTE_PREFETCH	16

/*
 * Plane k of the dataset: a column (4 bytes a row), the class indexes (2)
 * or one 4-byte half of a double label.  Returns 0 past the last plane.
 */
static int
plane(const TrainCtx *c, int k, uint8_t **base, size_t *stride, int *width)
{
	DlfDataset *d = c->data;

	if (k < c->nf)
	{
		*base = c->m->features[k].kind == DLF_FEAT_NUMERIC ?
			(uint8_t *) d->num[k] : (uint8_t *) d->cat[k];
		*stride = 4;
		*width = 4;
		return 1;
	}
	k -= c->nf;
	if (d->cls)
	{
		*base = (uint8_t *) d->cls;
		*stride = 2;
		*width = 2;
		return k == 0;
	}
	/* the halves are independent planes: one is rewritten, the other intact */
	*base = (uint8_t *) d->label + 4 * k;
	*stride = 8;
	*width = 4;
	return k < 2;
}

/* The number of planes of the dataset (plane's k below it). */
static int
nplanes(const TrainCtx *c)
{
	return c->nf + (c->data->cls ? 1 : 2);
}

/* One plane's pass on the pool: the plane, the permutation and the scratch. */
typedef struct PlaneJob
{
	uint8_t    *base;
	size_t		stride;
	int			width;
	const uint32_t *rowof;
	int64_t		n;
	uint8_t    *tmp;			/* n values of width bytes (4 for a label half) */
	DlfPool    *pool;			/* for the barrier between the two steps */
} PlaneJob;

/* This thread's share [*lo, *hi) of n positions. */
static void
share(int64_t n, int self, int nthreads, int64_t *lo, int64_t *hi)
{
	*lo = n * self / nthreads;
	*hi = n * (self + 1) / nthreads;
}

/* Copies positions [lo, hi) between the plane (to_plane) and the scratch. */
static void
copy_range(const PlaneJob *j, int64_t lo, int64_t hi, int to_plane)
{
	if ((size_t) j->width == j->stride)
	{
		size_t		off = (size_t) lo * j->width;
		size_t		len = (size_t) (hi - lo) * j->width;

		if (to_plane)
			memcpy(j->base + off, j->tmp + off, len);
		else
			memcpy(j->tmp + off, j->base + off, len);
		return;
	}
	for (int64_t p = lo; p < hi; p++)
		if (to_plane)
			memcpy(j->base + p * j->stride, j->tmp + 4 * p, 4);
		else
			memcpy(j->tmp + 4 * p, j->base + p * j->stride, 4);
}

/*
 * Job: rewrites a plane so that position p holds what position rowof[p]
 * held.  Each thread gathers its share of the positions into the scratch
 * (the reads are scattered, so the threads' misses overlap), and after
 * a barrier, when nobody reads the plane any more, copies it back.
 */
static void
job_gather_plane(void *arg, int self, int nthreads)
{
	const PlaneJob *j = arg;
	int64_t		lo,
				hi;

	share(j->n, self, nthreads, &lo, &hi);
	for (int64_t p = lo; p < hi; p++)
	{
		if (p + PERMUTE_PREFETCH < hi)
			__builtin_prefetch(j->base + j->rowof[p + PERMUTE_PREFETCH] * j->stride);
		if (j->width == 4)
			memcpy(j->tmp + 4 * p, j->base + j->rowof[p] * j->stride, 4);
		else
			memcpy(j->tmp + 2 * p, j->base + j->rowof[p] * j->stride, 2);
	}
	dlf_pool_barrier(j->pool);
	copy_range(j, lo, hi, 1);
}

/*
 * Job: the inverse of job_gather_plane, position rowof[p] gets back
 * position p's value.  Each thread copies its share of the plane to the
 * scratch, and after a barrier scatters its share of the scratch (rowof
 * is a permutation: the threads write disjoint positions).
 */
static void
job_scatter_plane(void *arg, int self, int nthreads)
{
	const PlaneJob *j = arg;
	int64_t		lo,
				hi;

	share(j->n, self, nthreads, &lo, &hi);
	copy_range(j, lo, hi, 0);
	dlf_pool_barrier(j->pool);
	for (int64_t p = lo; p < hi; p++)
	{
		if (p + PERMUTE_PREFETCH < hi)
			__builtin_prefetch(j->base + j->rowof[p + PERMUTE_PREFETCH] * j->stride, 1);
		if (j->width == 4)
			memcpy(j->base + j->rowof[p] * j->stride, j->tmp + 4 * p, 4);
		else
			memcpy(j->base + j->rowof[p] * j->stride, j->tmp + 2 * p, 2);
	}
}

/* Runs job on plane k of the dataset on the training's pool. */
static void
plane_pass(TrainCtx *c, int k, DlfPoolJob job)
{
	PlaneJob	j;

	plane(c, k, &j.base, &j.stride, &j.width);
	j.rowof = c->rowof;
	j.n = c->n;
	j.tmp = (uint8_t *) c->perm_tmp;
	j.pool = c->pool;
	dlf_pool_run(c->pool, job, &j);
}

/*
 * Rearranges the dataset into the split's order (see the file comment);
 * c->train_idx and c->valid_idx become positions.  Without the memory for
 * it the rows stay where they are (the same model, only slower).
 */
DlfStatus
train_permute_rows(TrainCtx *c)
{
	int64_t		n = c->n;
	int64_t		nt = c->ntrain;
	int64_t		min_rows = c->opt->permute_min_rows > 0 ?
		c->opt->permute_min_rows : PERMUTE_MIN_ROWS;
	uint32_t   *tmp;

	if (n < min_rows || c->opt->member > 0 || c->opt->nextra > 0 ||
		nt + c->nvalid != n)
		return DLF_OK;
	tmp = dlf_alloc_array(n, sizeof(uint32_t));
	if (!tmp)
		return DLF_OK;
	/* the split's array has room for n: row of every position */
	if (c->nvalid > 0)
		memcpy(c->train_idx + nt, c->valid_idx, c->nvalid * sizeof(uint32_t));
	c->rowof = c->train_idx;
	c->perm_tmp = tmp;
	for (int k = 0; k < nplanes(c); k++)
	{
		if (train_interrupted(c))
		{
			train_unpermute_rows(c);
			return train_fail_interrupted(c);
		}
		plane_pass(c, k, job_gather_plane);
		c->nplanes = k + 1;
	}
	for (int64_t j = 0; j < nt; j++)
		tmp[j] = (uint32_t) j;
	for (int64_t v = 0; v < c->nvalid; v++)
		c->valid_idx[v] = (uint32_t) (nt + v);
	c->train_idx = tmp;
	return DLF_OK;
}

/*
 * Puts the dataset's rows back where the caller had them and turns the
 * indexes into row numbers again (the training order becomes the split's).
 * A no-op unless train_permute_rows moved something.
 */
void
train_unpermute_rows(TrainCtx *c)
{
	if (!c->rowof)
		return;
	for (int k = c->nplanes - 1; k >= 0; k--)
		plane_pass(c, k, job_scatter_plane);
	if (c->train_idx == c->perm_tmp)
	{
		for (int64_t v = 0; v < c->nvalid; v++)
			c->valid_idx[v] = c->rowof[c->ntrain + v];
		c->train_idx = c->rowof;
	}
	dlf_free(c->perm_tmp);
	c->perm_tmp = NULL;
	c->rowof = NULL;
	c->nplanes = 0;
}

/*
 * For a caller that reads the rows no more (option consume): the dataset
 * stays rearranged and the indexes stay positions, which hold the same rows
 * in the same order, so what follows (metrics, importance, distributions)
 * reads the same values; only the split's row numbers are freed.  Saves
 * the restore's scattered pass per column (0.4 s at 10M rows).  A no-op
 * unless train_permute_rows moved something; called after the epochs only
 * (an interrupted rearrangement has put the rows back itself).
 */
void
train_keep_rearranged(TrainCtx *c)
{
	/* after a whole rearrangement the training order is perm_tmp */
	if (!c->rowof)
		return;
	dlf_free(c->rowof);
	c->perm_tmp = NULL;
	c->rowof = NULL;
	c->nplanes = 0;
}
