/*
 * train_step.c
 *	  Training: one mini-batch -- row encoding, dropout masks, chunk
 *	  gradients, their reduction in a fixed order and the optimiser update.
 */
#include "train_internal.h"

#include <math.h>
#include <string.h>

/* ---- batches -------------------------------------------------------------- */

/*
 * Rows ahead whose columns train_gather() prefetches (random access), into
 * L2 (locality 2): nine lines a row into L1 would hold its few fill
 * buffers and stall the gather (1M rows, 1 thread: 10 % slower).
 */
#define PREFETCH_AHEAD	12
#define PREFETCH_LOCALITY	2

/*
 * Prefetches row p's label and features (tiled: its record) into L2.
 * Always inlined: GCC finds a function of prefetches alone free of side
 * effects and drops its calls.
 */
static inline __attribute__((always_inline)) void
prefetch_row(const TrainCtx *c, uint32_t p)
{
	const DlfDataset *d = c->data;
	const DlfFeature *fts = c->m->features;
	const uint32_t *rec = train_tile_row(c, p);

	__builtin_prefetch(d->cls ? (const void *) &d->cls[p] :
					   (const void *) &d->label[p], 0, PREFETCH_LOCALITY);
	if (rec)
	{
		/* the record's first and last value: one or two lines */
		__builtin_prefetch(rec, 0, PREFETCH_LOCALITY);
		__builtin_prefetch(rec + c->nf - 1, 0, PREFETCH_LOCALITY);
		return;
	}
	for (int32_t f = 0; f < c->nf; f++)
		__builtin_prefetch(fts[f].kind == DLF_FEAT_NUMERIC ?
						   (const void *) &d->num[f][p] :
						   (const void *) &d->cat[f][p], 0,
						   PREFETCH_LOCALITY);
}

/*
 * Encodes rows idx[0..rows) into the batch (sparse first-layer inputs);
 * idx has `avail' valid entries, used to prefetch the rows to come.
 */
void
train_gather(const TrainCtx *c, NnBatch *bt, const uint32_t *idx, int32_t rows,
			 int64_t avail)
{
	const DlfDataset *d = c->data;
	const DlfFeature *fts = c->m->features;

	bt->rows = rows;
	for (int32_t r = 0; r < rows; r++)
	{
		uint32_t	i = idx[r];
		int32_t    *ix = bt->idx + (size_t) r * bt->maxent;
		float	   *vx = bt->val + (size_t) r * bt->maxent;
		const uint32_t *rec = train_tile_row(c, i);
		int32_t		nnz = 0;
		double		y;

		if (r + PREFETCH_AHEAD < avail)
			prefetch_row(c, idx[r + PREFETCH_AHEAD]);
		y = dlf_label(d, i);
		for (int32_t f = 0; f < c->nf; f++)
		{
			if (fts[f].kind == DLF_FEAT_NUMERIC)
			{
				float		x;

				if (rec)
					memcpy(&x, &rec[f], sizeof(x));
				else
					x = d->num[f][i];
				/* zeros too: one entry per feature, as the scorer has */
				ix[nnz] = fts[f].input_offset;
				vx[nnz++] = dlf_std_value(x, c->mean[f], c->inv_scale[f]);
			}
			else
			{
				ix[nnz] = fts[f].input_offset +
					(rec ? (int32_t) rec[f] : d->cat[f][i]);
				vx[nnz++] = 1.0f;
			}
		}
		bt->nnz[r] = nnz;
		if (c->task == DLF_TASK_REGRESSION)
		{
			bt->target[r] = (float) ((y - c->tmean) / c->tscale);
			bt->weight[r] = 1.0f;
		}
		else
		{
			bt->target[r] = (float) y;
			bt->weight[r] = (float) c->cw[(int32_t) y];
		}
	}
}

/* Draws inverted-dropout masks for the hidden layers of one chunk. */
void
train_draw_masks(TrainCtx *c, NnWork *w, int32_t rows)
{
	double		p = c->opt->dropout;
	uint32_t	thr = (uint32_t) (p * 4294967296.0);
	float		keep = (float) (1.0 / (1.0 - p));

	for (int32_t l = 0; l + 1 < c->net.nlayers; l++)
	{
		float	   *mk = w->mask[l];
		size_t		cnt = (size_t) rows * c->net.units[l + 1];
		uint64_t	bits = 0;

		for (size_t i = 0; i < cnt; i++)
		{
			uint32_t	u;

			/* two 32-bit uniforms per PRNG draw */
			if ((i & 1) == 0)
				bits = dlf_rng_next(&c->rng);
			u = (uint32_t) (bits >> ((i & 1) * 32));
			mk[i] = u < thr ? 0.0f : keep;
		}
	}
}

/* Optimiser update of all parameters; step is 1-based (Adam correction). */
DLF_KERNEL static void
k_update(int optimizer, float *restrict P, const float *restrict G,
		 float *restrict M1, float *restrict M2, int64_t n, float lr,
		 float bc1, float bc2)
{
	switch (optimizer)
	{
		case DLF_OPTIM_SGD:
			for (int64_t i = 0; i < n; i++)
				P[i] -= lr * G[i];
			break;
		case DLF_OPTIM_MOMENTUM:
			for (int64_t i = 0; i < n; i++)
			{
				M1[i] = 0.9f * M1[i] + G[i];
				P[i] -= lr * M1[i];
			}
			break;
		default:
			{
				/*
				 * The bias corrections as multiplications: one division
				 * and one square root per parameter, not three and one
				 * (the step of a wide network is division-bound).
				 */
				float		ic1 = 1.0f / bc1,
							ic2 = 1.0f / bc2;

				for (int64_t i = 0; i < n; i++)
				{
					float		g = G[i];

					M1[i] = 0.9f * M1[i] + 0.1f * g;
					M2[i] = 0.999f * M2[i] + 0.001f * (g * g);
					P[i] -= lr * (M1[i] * ic1) / (sqrtf(M2[i] * ic2) + 1e-8f);
				}
			}
			break;
	}
}

/*
 * Thread `self' computes the gradients of its chunks of the current batch
 * (encoding, forward, loss, backward).  The l2 term is added by the last
 * chunk only, which is never empty.  Reads the parameters, writes only its
 * own chunks.
 */
void
train_chunk_gradients(TrainCtx *c, int self, int nthreads, const uint32_t *idx,
					  int32_t B, int64_t avail, int par, const NnNet *net,
					  float *const *wt)
{
	int			k0 = (int) (((int64_t) c->nchunks * self) / nthreads);
	int			k1 = (int) (((int64_t) c->nchunks * (self + 1)) / nthreads);

	for (int k = k0; k < k1; k++)
	{
		TrainChunk *ch = &c->chunks[k];
		int32_t		r0 = chunk_start(B, k, c->nchunks);
		int32_t		rows = chunk_start(B, k + 1, c->nchunks) - r0;

		ch->rows[par] = rows;
		ch->loss[par] = 0.0;
		if (rows == 0)
			continue;
		train_gather(c, &ch->bt, idx + r0, rows, avail - r0);
		nn_forward(net, &ch->bt, &ch->work, c->job_mask);
		ch->loss[par] = nn_loss(c->task, net, &ch->bt, &ch->work, 1, (float) B);
		nn_backward_wt(net, &ch->bt, &ch->work, c->job_mask,
					   k == c->nchunks - 1 ? (float) c->opt->l2 : 0.0f,
					   &ch->grad[par], (const float *const *) wt);
	}
}

/* x[i] += y[i] for i in [a, b). */
DLF_KERNEL static void
k_add(float *restrict x, const float *restrict y, int64_t a, int64_t b)
{
	for (int64_t i = a; i < b; i++)
		x[i] += y[i];
}

/* z[i] = x[i] + y[i] for i in [a, b). */
DLF_KERNEL static void
k_sum(float *restrict z, const float *restrict x, const float *restrict y,
	  int64_t a, int64_t b)
{
	for (int64_t i = a; i < b; i++)
		z[i] = x[i] + y[i];
}

/*
 * The chunks' gradients are added along a fixed binary tree over the
 * chunks (node [lo, hi) = node [lo, mid) + node [mid, hi), mid the middle;
 * empty chunks are left out), whatever the thread count: so threads can add
 * up their own chunks before they meet and then exchange one sum each.
 *
 * tree_inplace: the sum of chunks [lo, hi) (gradients of batch parity par)
 * for params [a, b), accumulated in place into the buffer of the subtree's
 * first non-empty chunk, which it returns (NULL: all empty).  The caller
 * must own those params of those chunks.
 */
static float *
tree_inplace(TrainChunk *chunks, int par, int lo, int hi, int64_t a, int64_t b)
{
	float	   *l,
			   *r;

	if (hi - lo == 1)
		return chunks[lo].rows[par] > 0 ? chunks[lo].g[par] : NULL;
	l = tree_inplace(chunks, par, lo, (lo + hi) / 2, a, b);
	r = tree_inplace(chunks, par, (lo + hi) / 2, hi, a, b);
	if (l && r)
		k_add(l, r, a, b);
	return l ? l : r;
}

/* First chunk of thread t when nthreads threads share nchunks chunks. */
static inline int
chunk_owner_start(int nchunks, int t, int nthreads)
{
	return (int) (((int64_t) nchunks * t) / nthreads);
}

/* Thread that computes chunk k. */
static inline int
chunk_owner(int nchunks, int k, int nthreads)
{
	int			t = 0;

	while (chunk_owner_start(nchunks, t + 1, nthreads) <= k)
		t++;
	return t;
}

/*
 * Before the barrier: thread self sums, in place and for every param, the
 * largest subtrees of [lo, hi) whose chunks are all its own.
 */
void
train_tree_own(TrainChunk *chunks, int nchunks, int par, int lo, int hi, int self,
			   int nthreads, int64_t n)
{
	int			o = chunk_owner(nchunks, lo, nthreads);

	if (o == chunk_owner(nchunks, hi - 1, nthreads))
	{
		if (o == self)
			tree_inplace(chunks, par, lo, hi, 0, n);
		return;
	}
	train_tree_own(chunks, nchunks, par, lo, (lo + hi) / 2, self, nthreads, n);
	train_tree_own(chunks, nchunks, par, (lo + hi) / 2, hi, self, nthreads, n);
}

/*
 * After the barrier: the sum of chunks [lo, hi) for every param, from the
 * owners' subtree sums (read only); nodes that span threads are added into
 * this thread's scratch, a buffer per internal node (node ids as in a
 * heap: the root is 1, node i has children 2i and 2i + 1).  Returns the
 * buffer (NULL: all empty).
 */
static float *
tree_span(TrainChunk *chunks, int nchunks, int par, int lo, int hi,
		  int nthreads, int64_t n, float **scratch, int node)
{
	float	   *l,
			   *r;

	if (chunk_owner(nchunks, lo, nthreads) ==
		chunk_owner(nchunks, hi - 1, nthreads))
	{
		/* the owner's in-place sum sits in the first non-empty chunk */
		for (int k = lo; k < hi; k++)
			if (chunks[k].rows[par] > 0)
				return chunks[k].g[par];
		return NULL;
	}
	l = tree_span(chunks, nchunks, par, lo, (lo + hi) / 2, nthreads, n,
				  scratch, 2 * node);
	r = tree_span(chunks, nchunks, par, (lo + hi) / 2, hi, nthreads, n,
				  scratch, 2 * node + 1);
	if (!(l && r))
		return l ? l : r;
	k_sum(scratch[node - 1], l, r, 0, n);
	return scratch[node - 1];
}

/*
 * Copies W[i0..i1) (flat indexes of a units[l] x units[l+1] matrix) into
 * its transpose T: rows cut by i0 or i1 element by element, whole rows in
 * 16 x 16 blocks without per-element checks.
 */
static void
transpose_range(const float *restrict W, float *restrict T, int32_t nin,
				int32_t nout, int64_t i0, int64_t i1)
{
	int64_t		head_end = (i0 + nout - 1) / nout * nout;	/* first whole row */
	int64_t		tail = i1 / nout * nout;	/* end of the whole rows */
	int32_t		ka,
				kb;

	if (head_end >= tail)
	{
		/* no whole row */
		for (int64_t i = i0; i < i1; i++)
			T[(size_t) (i % nout) * nin + i / nout] = W[i];
		return;
	}
	for (int64_t i = i0; i < head_end; i++)
		T[(size_t) (i % nout) * nin + i / nout] = W[i];
	for (int64_t i = tail; i < i1; i++)
		T[(size_t) (i % nout) * nin + i / nout] = W[i];
	ka = (int32_t) (head_end / nout);
	kb = (int32_t) (tail / nout);
	for (int32_t k0 = ka; k0 < kb; k0 += 16)
		for (int32_t j0 = 0; j0 < nout; j0 += 16)
		{
			int32_t		k1 = k0 + 16 < kb ? k0 + 16 : kb;
			int32_t		j1 = j0 + 16 < nout ? j0 + 16 : nout;

			for (int32_t k = k0; k < k1; k++)
				for (int32_t j = j0; j < j1; j++)
					T[(size_t) j * nin + k] = W[(size_t) k * nout + j];
		}
}

/*
 * Thread `self' reduces the chunks' gradients of its slice of the
 * parameters, applies the optimiser step to it and refreshes the matching
 * part of the transposed weights.  Slices start at multiples of 16 floats
 * (one cache line).
 */
void
train_update_slice(TrainCtx *c, int self, int nthreads, float bc1, float bc2)
{
	int64_t		n = c->nparams;
	int64_t		a = ((n * self / nthreads) + 15) & ~(int64_t) 15;
	int64_t		b = self + 1 == nthreads ? n :
		((n * (self + 1) / nthreads) + 15) & ~(int64_t) 15;

	float	   *G;

	if (a > n)
		a = n;
	if (b > n)
		b = n;
	if (a >= b)
		return;
	G = tree_inplace(c->chunks, 0, 0, c->nchunks, a, b);
	k_update(c->opt->optimizer, c->P + a, G + a, c->M1 + a, c->M2 + a,
			 b - a, (float) c->opt->learning_rate, bc1, bc2);
	if (c->monotone)
		dlf_monotone_project_range(c->m, &c->net, c->P, a, b);
	for (int32_t l = 1; l < c->net.nlayers; l++)
	{
		int32_t		nin = c->net.units[l];
		int32_t		nout = c->net.units[l + 1];
		int64_t		off = c->net.W[l] - c->P;
		int64_t		lo = a > off ? a : off;
		int64_t		hi = b < off + (int64_t) nin * nout ? b : off + (int64_t) nin * nout;

		if (lo < hi)
			transpose_range(c->net.W[l], c->wt[l], nin, nout, lo - off, hi - off);
	}
}


/*
 * Replicated updates: the whole optimiser step of one batch (chunk
 * gradients of parity par) on the replica r.  The same operations as
 * train_update_slice over all slices, so every replica and a single thread end
 * with the same bits.
 */
void
train_update_all(TrainCtx *c, TrainReplica *r, int par, int nthreads, float bc1,
				 float bc2)
{
	int64_t		n = c->nparams;
	float	   *G = tree_span(c->chunks, c->nchunks, par, 0, c->nchunks,
							  nthreads, n, r->span, 1);

	k_update(c->opt->optimizer, r->P, G, r->M1, r->M2, n,
			 (float) c->opt->learning_rate, bc1, bc2);
	if (c->monotone)
		dlf_monotone_project_range(c->m, &r->net, r->P, 0, n);
	train_transpose_weights(&r->net, r->wt);
}

/*
 * After a batch's gradient barrier: adds up the chunk losses of batch
 * parity par (in chunk order in every thread, so every thread takes the
 * same decision), records the divergence or the loss sum (thread 0) and
 * advances the Adam bias corrections.  False when the loss diverged.
 */
int
train_batch_done(TrainCtx *c, int self, int par, double *b1t, double *b2t)
{
	double		bl = 0.0;

	for (int k = 0; k < c->nchunks; k++)
		bl += c->chunks[k].loss[par];
	if (!isfinite(bl))
	{
		if (self == 0)
			c->ep_diverged = 1;
		return 0;
	}
	if (self == 0)
		c->ep_tsum += bl;
	*b1t *= 0.9;
	*b2t *= 0.999;
	return 1;
}
