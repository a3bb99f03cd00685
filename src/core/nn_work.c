/*
 * nn_work.c
 *	  Buffers of the batch kernels (nn.c): the mini-batch of sparse inputs
 *	  and the workspace of activations, deltas, dropout masks and
 *	  transposed weights.
 */
#include "nn_internal.h"

#include <string.h>

/* Allocates a batch for cap rows of up to maxent first-layer entries. */
DlfStatus
nn_batch_alloc(NnBatch *bt, int32_t cap, int32_t maxent, DlfError *err)
{
	memset(bt, 0, sizeof(*bt));
	bt->maxent = maxent > 0 ? maxent : 1;
	bt->idx = dlf_alloc_array((size_t) cap * bt->maxent, sizeof(int32_t));
	bt->val = dlf_alloc_array((size_t) cap * bt->maxent, sizeof(float));
	bt->nnz = dlf_alloc_array(cap, sizeof(int32_t));
	bt->target = dlf_alloc_array(cap, sizeof(float));
	bt->weight = dlf_alloc_array(cap, sizeof(float));
	if (!bt->idx || !bt->val || !bt->nnz || !bt->target || !bt->weight)
	{
		nn_batch_free(bt);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	return DLF_OK;
}

/* Frees a batch's arrays. */
void
nn_batch_free(NnBatch *bt)
{
	dlf_free(bt->idx);
	dlf_free(bt->val);
	dlf_free(bt->nnz);
	dlf_free(bt->target);
	dlf_free(bt->weight);
	memset(bt, 0, sizeof(*bt));
}

/* Allocates activations, deltas, masks and the transpose buffer. */
DlfStatus
nn_work_alloc(NnWork *w, const NnNet *net, int32_t cap, int with_dropout,
			  DlfError *err)
{
	int32_t		maxu = 1;
	size_t		maxw = 1;
	int			failed = 0;

	memset(w, 0, sizeof(*w));
	w->cap = cap;
	w->dropout = with_dropout;
	for (int32_t l = 0; l <= net->nlayers; l++)
		if (net->units[l] > maxu)
			maxu = net->units[l];
	for (int32_t l = 1; l < net->nlayers; l++)
		if ((size_t) net->units[l] * net->units[l + 1] > maxw)
			maxw = (size_t) net->units[l] * net->units[l + 1];
	for (int32_t l = 0; l < net->nlayers; l++)
	{
		w->act[l] = dlf_alloc_array_aligned((size_t) cap * net->units[l + 1],
									sizeof(float));
		failed |= w->act[l] == NULL;
		if (l + 1 < net->nlayers && with_dropout)
		{
			w->mask[l] = dlf_alloc_array_aligned((size_t) cap * net->units[l + 1],
										 sizeof(float));
			w->in[l + 1] = dlf_alloc_array_aligned((size_t) cap * net->units[l + 1],
										   sizeof(float));
			failed |= w->mask[l] == NULL || w->in[l + 1] == NULL;
		}
		else if (l + 1 < net->nlayers)
			w->in[l + 1] = w->act[l];
	}
	w->delta = dlf_alloc_array_aligned((size_t) cap * maxu, sizeof(float));
	w->delta2 = dlf_alloc_array_aligned((size_t) cap * maxu, sizeof(float));
	w->wt = dlf_alloc_array_aligned(maxw, sizeof(float));
	failed |= !w->delta || !w->delta2 || !w->wt;
	if (failed)
	{
		nn_work_free(w);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	return DLF_OK;
}

/* Frees a workspace (in[] aliases act[] without dropout). */
void
nn_work_free(NnWork *w)
{
	for (int l = 0; l <= DLF_MAX_HIDDEN; l++)
	{
		dlf_free_aligned(w->mask[l]);
		if (w->dropout)
			dlf_free_aligned(w->in[l]);
		dlf_free_aligned(w->act[l]);
	}
	dlf_free_aligned(w->delta);
	dlf_free_aligned(w->delta2);
	dlf_free_aligned(w->wt);
	memset(w, 0, sizeof(*w));
}
