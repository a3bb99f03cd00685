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
 *	  again and again; the glue reads it afterwards), so they are restored
 *	  before dlf_train returns, on every path; the restore cannot fail.  The
 *	  cost is one scattered pass per column each way (an epoch's gather
 *	  reads nine) and n row numbers beside the training order (1/8 of the
 *	  raw matrix at 8 features), hence the threshold: below it the columns
 *	  mostly fit in the caches and the memory ratio of small tables has the
 *	  least room.  Ensemble members (sampled, repeated rows) keep the rows'
 *	  order.
 */
#include "train_internal.h"

#include <string.h>

/* rows from which the columns are rearranged (tests may lower it) */
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

/* Rewrites a plane so that position j holds what position rowof[j] held. */
static void
gather_plane(uint8_t *base, size_t stride, int width, const uint32_t *rowof,
			 int64_t n, uint8_t *tmp)
{
	for (int64_t j = 0; j < n; j++)
	{
		if (j + PERMUTE_PREFETCH < n)
			__builtin_prefetch(base + rowof[j + PERMUTE_PREFETCH] * stride);
		if (width == 4)
			memcpy(tmp + 4 * j, base + rowof[j] * stride, 4);
		else
			memcpy(tmp + 2 * j, base + rowof[j] * stride, 2);
	}
	if ((size_t) width == stride)
		memcpy(base, tmp, (size_t) n * width);
	else
		for (int64_t j = 0; j < n; j++)
			memcpy(base + j * stride, tmp + 4 * j, 4);
}

/* The inverse of gather_plane: position rowof[j] gets back position j's value. */
static void
scatter_plane(uint8_t *base, size_t stride, int width, const uint32_t *rowof,
			  int64_t n, uint8_t *tmp)
{
	if ((size_t) width == stride)
		memcpy(tmp, base, (size_t) n * width);
	else
		for (int64_t j = 0; j < n; j++)
			memcpy(tmp + 4 * j, base + j * stride, 4);
	for (int64_t j = 0; j < n; j++)
	{
		if (j + PERMUTE_PREFETCH < n)
			__builtin_prefetch(base + rowof[j + PERMUTE_PREFETCH] * stride, 1);
		if (width == 4)
			memcpy(base + rowof[j] * stride, tmp + 4 * j, 4);
		else
			memcpy(base + rowof[j] * stride, tmp + 2 * j, 2);
	}
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
	uint32_t   *tmp;
	uint8_t    *base;
	size_t		stride;
	int			width;

	if (n < PERMUTE_MIN_ROWS || c->opt->member > 0 || c->opt->nextra > 0 ||
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
	for (int k = 0; plane(c, k, &base, &stride, &width); k++)
	{
		if (train_interrupted(c))
		{
			train_unpermute_rows(c);
			return train_fail_interrupted(c);
		}
		gather_plane(base, stride, width, c->rowof, n, (uint8_t *) tmp);
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
	uint8_t    *base;
	size_t		stride;
	int			width;

	if (!c->rowof)
		return;
	for (int k = c->nplanes - 1; k >= 0; k--)
	{
		plane(c, k, &base, &stride, &width);
		scatter_plane(base, stride, width, c->rowof, c->n,
					  (uint8_t *) c->perm_tmp);
	}
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
