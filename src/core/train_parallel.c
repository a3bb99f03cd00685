/*
 * train_parallel.c
 *	  Training: the threading modes of an epoch (replicated or sliced
 *	  updates, alone or pooled) and the striped epoch shuffle.
 */
#include "train_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

/*
 * A segment of an epoch's mini-batches with replicated updates (small
 * networks, no dropout).  One barrier per batch: after it every chunk's
 * gradient is ready, and each thread reduces them and steps its own
 * replica, identically.  Chunk gradients, losses and the stop flag come
 * twice by batch parity, because a thread may compute batch t + 1 while a
 * slower one still reads batch t; it cannot get further ahead, since batch
 * t + 1's barrier waits for that slower thread.
 */
static void
job_epoch_replicated(TrainCtx *c, int self, int nthreads)
{
	TrainReplica *r = &c->rep[self];
	int32_t		B = c->cap;
	double		b1t = c->b1t,
				b2t = c->b2t;
	int			par = 0;

	if (self > 0)
	{
		/*
		 * Start from thread 0's state (the segments before may have run on
		 * it alone).  Nobody writes it before the first barrier.
		 */
		size_t		bytes = (size_t) c->nparams * sizeof(float);

		memcpy(r->P, c->P, bytes);
		memcpy(r->M1, c->M1, bytes);
		memcpy(r->M2, c->M2, bytes);
		for (int32_t l = 1; l < c->net.nlayers; l++)
			memcpy(r->wt[l], c->wt[l], (size_t) c->net.units[l] *
				   c->net.units[l + 1] * sizeof(float));
	}
	for (int64_t s = c->seg_lo; s < c->seg_hi; s += B, par ^= 1)
	{
		int32_t		rows = (int32_t) (c->ntrain - s < B ? c->ntrain - s : B);

		if (self == 0)
			c->stop[par] = train_interrupted(c);
		train_chunk_gradients(c, self, nthreads, c->train_idx + s, rows,
							  c->ntrain - s, par, &r->net, r->wt);
		train_tree_own(c->chunks, c->nchunks, par, 0, c->nchunks, self, nthreads,
					   c->nparams);
		dlf_pool_barrier(c->ep_pool);
		if (c->stop[par])
		{
			if (self == 0)
				c->ep_stop = 1;
			break;
		}
		if (!train_batch_done(c, self, par, &b1t, &b2t))
			break;
		train_update_all(c, r, par, nthreads, (float) (1.0 - b1t), (float) (1.0 - b2t));
	}
	if (self == 0)
	{
		c->b1t = b1t;
		c->b2t = b2t;
	}
}

/*
 * A segment of an epoch's mini-batches with sliced updates (rows seg_lo to
 * seg_hi of the shuffled order, seg_lo a multiple of the batch size), on
 * one thread or the pool.  Every thread walks the same batches and keeps
 * the same step counters.  Per batch, thread 0 (the calling thread:
 * the only one that may call hooks) checks for interrupts and draws the
 * dropout masks; after a barrier all threads compute their chunks'
 * gradients; after another, each adds up the chunk losses (same order, so
 * the same value in every thread, hence the same decision to stop) and
 * updates its slice.  The next batch's first barrier orders the updates
 * before the next forward passes.
 */
static void
job_epoch_sliced(TrainCtx *c, int self, int nthreads)
{
	int32_t		B = c->cap;
	double		b1t = c->b1t,
				b2t = c->b2t;

	for (int64_t s = c->seg_lo; s < c->seg_hi; s += B)
	{
		int32_t		rows = (int32_t) (c->ntrain - s < B ? c->ntrain - s : B);

		if (self == 0)
		{
			if (train_interrupted(c))
				c->ep_stop = 1;
			else if (c->job_mask)
				for (int k = 0; k < c->nchunks; k++)
					train_draw_masks(c, &c->chunks[k].work,
									 chunk_start(rows, k + 1, c->nchunks) -
									 chunk_start(rows, k, c->nchunks));
		}
		dlf_pool_barrier(c->ep_pool);
		if (c->ep_stop)
			break;
		train_chunk_gradients(c, self, nthreads, c->train_idx + s, rows,
							  c->ntrain - s, 0, &c->net, c->wt);
		dlf_pool_barrier(c->ep_pool);
		if (!train_batch_done(c, self, 0, &b1t, &b2t))
			break;
		train_update_slice(c, self, nthreads, (float) (1.0 - b1t), (float) (1.0 - b2t));
	}
	if (self == 0)
	{
		c->b1t = b1t;
		c->b2t = b2t;
	}
}

/*
 * Flush-to-zero and denormals-are-zero on (x86 SSE control register) for
 * the epochs' arithmetic: subnormal floats (below 1.2e-38) take a
 * microcode assist per operation, and the second moments and gradients of
 * a wide network produce them (18 % of a [256,256] epoch on the benchmark
 * data).  Returns the previous setting for fp_flush_leave.  The epochs
 * call nothing that could jump out of them, so the backend's own setting
 * is always restored.
 */
static inline unsigned int
fp_flush_enter(void)
{
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
	unsigned int old = __builtin_ia32_stmxcsr();

	__builtin_ia32_ldmxcsr(old | 0x8040);
	return old;
#else
	return 0;
#endif
}

/* Restores the setting fp_flush_enter returned. */
static inline void
fp_flush_leave(unsigned int old)
{
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
	__builtin_ia32_ldmxcsr(old);
#else
	(void) old;
#endif
}

/* Job: a segment of an epoch (see the two kinds above), subnormals flushed. */
static void
job_epoch(void *arg, int self, int nthreads)
{
	TrainCtx   *c = arg;
	unsigned int csr = fp_flush_enter();

	if (c->replicate && nthreads > 1)
		job_epoch_replicated(c, self, nthreads);
	else
		job_epoch_sliced(c, self, nthreads);
	fp_flush_leave(csr);
}

/* Transposes the weights of net's dense layers into wt (input gradients). */
void
train_transpose_weights(const NnNet *net, float *const *wt)
{
	for (int32_t l = 1; l < net->nlayers; l++)
	{
		int32_t		nin = net->units[l];
		int32_t		nout = net->units[l + 1];
		const float *W = net->W[l];
		float	   *T = wt[l];

		/* 16 x 16 blocks keep both sides in cache */
		for (int32_t k0 = 0; k0 < nin; k0 += 16)
			for (int32_t j0 = 0; j0 < nout; j0 += 16)
			{
				int32_t		k1 = k0 + 16 < nin ? k0 + 16 : nin;
				int32_t		j1 = j0 + 16 < nout ? j0 + 16 : nout;

				for (int32_t k = k0; k < k1; k++)
					for (int32_t j = j0; j < j1; j++)
						T[(size_t) j * nin + k] = W[(size_t) k * nout + j];
			}
	}
}

/*
 * Replicated updates: the second gradient buffer of each chunk and a
 * replica of the parameters, optimiser state and transposed weights for
 * each thread but the first (which uses the context's own).
 */
static DlfStatus
setup_replicas(TrainCtx *c, int nthreads)
{
	size_t		np = (size_t) c->nparams;

	for (int k = 0; k < c->nchunks; k++)
	{
		TrainChunk *ch = &c->chunks[k];

		ch->g[1] = dlf_alloc_array_aligned(np, sizeof(float));
		if (!ch->g[1])
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		train_bind_params(&c->net, &ch->grad[1], ch->g[1]);
	}
	c->rep = dlf_alloc_array(nthreads, sizeof(TrainReplica));
	if (!c->rep)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	memset(c->rep, 0, sizeof(TrainReplica) * nthreads);
	c->nrep = nthreads;
	c->rep[0].net = c->net;
	c->rep[0].P = c->P;
	c->rep[0].M1 = c->M1;
	c->rep[0].M2 = c->M2;
	for (int32_t l = 0; l <= DLF_MAX_HIDDEN; l++)
		c->rep[0].wt[l] = c->wt[l];
	/* a buffer per internal node of the chunk tree */
	for (int t = 0; t < nthreads; t++)
		for (int l = 0; l < c->nchunks - 1; l++)
		{
			c->rep[t].span[l] = dlf_alloc_array_aligned(np, sizeof(float));
			if (!c->rep[t].span[l])
				return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		}
	for (int t = 1; t < nthreads; t++)
	{
		TrainReplica *r = &c->rep[t];

		r->P = dlf_alloc_array_aligned(np, sizeof(float));
		r->M1 = dlf_alloc_array_aligned(np, sizeof(float));
		r->M2 = dlf_alloc_array_aligned(np, sizeof(float));
		if (!r->P || !r->M1 || !r->M2)
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		train_bind_params(&c->net, &r->net, r->P);
		for (int32_t l = 1; l < c->net.nlayers; l++)
		{
			r->wt[l] = dlf_alloc_array_aligned((size_t) c->net.units[l] *
											   c->net.units[l + 1], sizeof(float));
			if (!r->wt[l])
				return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		}
	}
	return DLF_OK;
}

/*
 * Allocates the chunks, the transposed weights and the thread pool.  The
 * chunk count depends only on the batch size and the network size.
 */
DlfStatus
train_setup_parallel(TrainCtx *c)
{
	const DlfTrainOptions *opt = c->opt;
	int			K = c->nchunks;
	int			nthreads = dlf_pool_size(c->pool);
	int32_t		ccap;

	ccap = (c->cap + K - 1) / K;
	c->chunks = dlf_alloc_array(K, sizeof(TrainChunk));
	if (!c->chunks)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	memset(c->chunks, 0, sizeof(TrainChunk) * K);
	for (int k = 0; k < K; k++)
	{
		TrainChunk *ch = &c->chunks[k];
		DlfStatus	st;

		if ((st = nn_batch_alloc(&ch->bt, ccap, c->nf, c->err)) != DLF_OK ||
			(st = nn_work_alloc(&ch->work, &c->net, ccap, opt->dropout > 0.0,
								c->err)) != DLF_OK)
			return st;
		ch->g[0] = dlf_alloc_array_aligned(c->nparams, sizeof(float));
		if (!ch->g[0])
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		train_bind_params(&c->net, &ch->grad[0], ch->g[0]);
	}
	for (int32_t l = 1; l < c->net.nlayers; l++)
	{
		c->wt[l] = dlf_alloc_array_aligned((size_t) c->net.units[l] * c->net.units[l + 1],
								   sizeof(float));
		if (!c->wt[l])
			return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	}
	c->replicate = nthreads > 1 && opt->dropout == 0.0 &&
		c->nparams <= REPLICATE_MAX_PARAMS;
	if (c->replicate)
		return setup_replicas(c, nthreads);
	return DLF_OK;
}

/*
 * Fixes the chunk count (a function of the batch size and the network's
 * size only) and starts the thread pool, which also serves the passes over
 * all rows before and after the epochs.
 */
DlfStatus
train_start_pool(TrainCtx *c)
{
	const DlfTrainOptions *opt = c->opt;
	int			K = MAX_CHUNKS;
	int			nthreads = opt->nthreads;
	int32_t		width = 0;

	for (int32_t l = 1; l < c->net.nlayers; l++)
		if (c->net.units[l] > width)
			width = c->net.units[l];
	/*
	 * Wide layers need tall chunks to keep the matrix kernels efficient:
	 * at least WIDE_CHUNK_ROWS rows per chunk (but two chunks at least).
	 */
	while (K > 1 && (K > opt->batch_size ||
					 (int64_t) K * c->nparams > CHUNK_GRAD_FLOATS ||
					 (K > 2 && width > 64 && opt->batch_size / K < WIDE_CHUNK_ROWS)))
		K /= 2;
	c->nchunks = K;
	if (nthreads == 0)
	{
		nthreads = dlf_online_cpus();
		if (nthreads > DEFAULT_MAX_THREADS)
			nthreads = DEFAULT_MAX_THREADS;
	}
	if (nthreads > K)
		nthreads = K;
	return dlf_pool_start(&c->pool, nthreads, c->err);
}


/* Runs job_epoch on rows [lo, hi) alone or pooled; returns seconds per batch. */
static double
run_segment(TrainCtx *c, int64_t lo, int64_t hi, int pooled)
{
	double		t0 = train_elapsed(c);
	int64_t		nb = (hi - lo + c->cap - 1) / c->cap;

	c->seg_lo = lo;
	c->seg_hi = hi;
	c->ep_pool = pooled ? c->pool : NULL;
	if (pooled)
		dlf_pool_run(c->pool, job_epoch, c);
	else
		job_epoch(c, 0, 1);
	return nb > 0 ? (train_elapsed(c) - t0) / nb : 0.0;
}

/*
 * One epoch of mini-batches, with the threads or the calling thread alone.
 * The model is the same either way, so each epoch runs in whichever mode
 * was faster per batch (on a busy machine, barriers can cost more than
 * threads gain), after a probe of the other mode on its first 1/32 of the
 * batches (at least EPOCH_PROBE_MIN) in the first two epochs and every
 * fourth after: a quiet machine loses little to the probes and a busy one
 * still finds the better mode within a few epochs.
 */
void
train_run_epoch(TrainCtx *c, int32_t epoch)
{
	int64_t		B = c->cap;
	int64_t		nb = (c->ntrain + B - 1) / B;
	int64_t		probe;
	int			best;

	if (dlf_pool_size(c->pool) < 2)
	{
		run_segment(c, 0, c->ntrain, 0);
		return;
	}
	/* unmeasured modes count as fast, so each gets measured once */
	best = !(c->batch_secs[0] > 0.0 && c->batch_secs[1] > 0.0 &&
			 c->batch_secs[0] < c->batch_secs[1]);
	probe = nb / 32 > EPOCH_PROBE_MIN ? nb / 32 : EPOCH_PROBE_MIN;
	if (probe * 2 > nb)
	{
		/* too few batches to split: alternate whole epochs until measured */
		if (c->batch_secs[0] <= 0.0 || c->batch_secs[1] <= 0.0)
			best = c->batch_secs[1] > 0.0 ? 0 : 1;
		c->batch_secs[best] = run_segment(c, 0, c->ntrain, best);
		return;
	}
	if (epoch > 2 && epoch % 4 != 0)
	{
		c->batch_secs[best] = run_segment(c, 0, c->ntrain, best);
		return;
	}
	c->batch_secs[!best] = run_segment(c, 0, probe * B, !best);
	if (c->ep_stop || c->ep_diverged)
		return;
	c->batch_secs[best] = run_segment(c, probe * B, c->ntrain, best);
}

/*
 * Job: the epoch shuffle.  Positions are cut into stripes of
 * SHUFFLE_STRIPE starting at c->sh_off (the last one wraps around the
 * end), and each stripe is shuffled in place (Fisher-Yates) with a PRNG
 * seeded from the epoch's key and the stripe number.  The stripes are
 * disjoint, so threads take whole stripes and the order is the same for
 * any thread count; and a stripe fits in cache, so this is much faster
 * than one shuffle over all positions.  train_split_rows shuffled everything
 * once; the moving boundaries let rows drift across stripes over epochs.
 */
void
train_job_shuffle(void *arg, int self, int nthreads)
{
	TrainCtx   *c = arg;
	int64_t		n = c->ntrain;
	int64_t		nstripes = (n + SHUFFLE_STRIPE - 1) / SHUFFLE_STRIPE;
	uint32_t   *a = c->train_idx;

	for (int64_t s = self; s < nstripes; s += nthreads)
	{
		int64_t		lo = s * SHUFFLE_STRIPE;
		int64_t		len = n - lo < SHUFFLE_STRIPE ? n - lo : SHUFFLE_STRIPE;
		int64_t		base = lo + c->sh_off;
		DlfRng		rng;

		dlf_rng_seed(&rng, dlf_mix64(c->sh_key + (uint64_t) s));
		if (base >= n)
			base -= n;
		if (base + len <= n)
		{
			train_shuffle(&rng, a + base, len);
			continue;
		}
		/* the stripe wraps around the end */
		for (int64_t i = len - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) dlf_rng_below(&rng, (uint64_t) i + 1);
			int64_t		pi = base + i < n ? base + i : base + i - n;
			int64_t		pj = base + j < n ? base + j : base + j - n;
			uint32_t	t = a[pi];

			a[pi] = a[pj];
			a[pj] = t;
		}
	}
}
