/*
 * train_internal.h
 *	  The training context shared by the train*.c files (private to them).
 */
#ifndef DLFIN_TRAIN_INTERNAL_H
#define DLFIN_TRAIN_INTERNAL_H

#include "nn_internal.h"
#include "pool.h"

#include <time.h>

/* rows between interrupt checks in the linear preprocessing passes */
#define CHECK_EVERY		65536

/*
 * Each mini-batch is split into at most this many chunks of consecutive
 * rows.  A chunk's gradient is computed on its own and the chunks' gradients
 * are added in chunk order, so the result depends on the chunk count (a
 * function of the network's size only) and never on the number of threads
 * that computed the chunks: training is bit-reproducible across thread
 * counts.  Threads take whole chunks, so at most this many are useful.
 */
#define MAX_CHUNKS		8
/* the chunks' gradient buffers together stay below this many floats */
#define CHUNK_GRAD_FLOATS	(16 * 1024 * 1024)
/* rows per chunk that networks with hidden layers over 64 units want */
#define WIDE_CHUNK_ROWS		128
/* batches an epoch runs in the other thread mode at least, to time it */
#define EPOCH_PROBE_MIN		8
/*
 * The epoch shuffle permutes the training order within stripes of this
 * many positions (fixed, so the order never depends on the thread count);
 * the stripes' boundaries move by a random offset every epoch.
 */
#define SHUFFLE_STRIPE	65536
/*
 * Networks with at most this many parameters train with replicated
 * updates (see job_epoch_replicated): every thread applies the whole
 * optimiser step to its own copy of the parameters, which costs less than
 * the second barrier per batch that sliced updates need.
 */
#define REPLICATE_MAX_PARAMS	16384
/* default thread count (threads 0): one per online CPU, at most this */
#define DEFAULT_MAX_THREADS	8

/*
 * One chunk of a mini-batch: its rows' encoding, activations, gradient.
 * Gradient, rows and loss come twice, by batch parity: with replicated
 * updates a thread may compute batch t + 1 while another still reads
 * batch t (only [0] is used otherwise).
 */
typedef struct TrainChunk
{
	NnBatch		bt;
	NnWork		work;
	NnNet		grad[2];		/* views of g[] */
	float	   *g[2];			/* [nparams] gradient of this chunk */
	int32_t		rows[2];		/* rows of the batch, may be 0 */
	double		loss[2];		/* weighted loss sum of those rows */
} TrainChunk;

/* A thread's own parameters and optimiser state (replicated updates). */
typedef struct TrainReplica
{
	NnNet		net;			/* view of P */
	float	   *P;
	float	   *M1;
	float	   *M2;
	float	   *wt[DLF_MAX_HIDDEN + 1];	/* transposed W[l], l >= 1 */
	float	   *span[MAX_CHUNKS - 1];	/* sums of several threads' chunks */
} TrainReplica;

typedef struct TrainCtx
{
	DlfModel   *m;
	DlfDataset *data;
	const DlfTrainOptions *opt;
	const DlfTrainHooks *hooks;
	DlfError   *err;
	struct timespec t0;

	int64_t		n;
	int32_t		nf;
	int32_t		ninputs;
	int32_t		nout;
	int			task;

	/* per feature: statistics and encoding */
	double	   *mean;
	double	   *scale;
	double	   *inv_scale;
	double	   *missing;
	double		tmean;
	double		tscale;

	/* class weights (classification) */
	double	   *cw;
	int64_t    *ccount;

	/* canonical row indexes of the two splits */
	uint32_t   *train_idx;
	int64_t		ntrain;
	uint32_t   *valid_idx;
	int64_t		nvalid;

	/* train_layout.c: row of each position while the dataset is rearranged */
	uint32_t   *rowof;			/* NULL: the rows are where the caller put them */
	uint32_t   *perm_tmp;		/* [n] scratch; the training order meanwhile */
	int			nplanes;		/* planes rearranged so far */

	/* train_tile.c: each row's features side by side during the epochs */
	int64_t		tile_rows;		/* rows tiled (a multiple of nf); 0: none */
	uint32_t  **tile_col;		/* [nf] the features' columns, as 4-byte values */
	uint64_t	tile_magic;		/* ceil(2^64 / nf) */

	/* network, parameters, optimiser state */
	NnNet		net;
	int64_t		nparams;
	float	   *P;				/* parameters */
	float	   *M1;				/* momentum / Adam first moment */
	float	   *M2;				/* Adam second moment */
	float	   *best;			/* parameters of the best epoch */
	NnBatch		bt;
	NnWork		work;
	int32_t		cap;

	/* parallel mini-batch: chunks, pool and the current batch's job */
	int			nchunks;
	TrainChunk *chunks;
	DlfPool    *pool;
	float	   *wt[DLF_MAX_HIDDEN + 1];	/* transposed W[l], l >= 1 */
	int			replicate;		/* replicated updates: rep[] per thread */
	TrainReplica *rep;			/* rep[0] is the context's own state */
	int			nrep;			/* entries of rep */
	int			stop[2];		/* replicated: thread 0 saw an interrupt */
	int			job_mask;		/* dropout on */
	int			monotone;		/* some feature has a monotone constraint */
	double		b1t;			/* Adam: beta1^step, beta2^step */
	double		b2t;
	DlfPool    *ep_pool;		/* pool running this segment, NULL: caller alone */
	int64_t		seg_lo;			/* the segment's rows of the epoch's order */
	int64_t		seg_hi;
	double		batch_secs[2];	/* last time per batch: [0] alone, [1] pool */
	int			ep_stop;		/* thread 0 saw an interrupt */
	int			ep_diverged;	/* the loss became non-finite */
	double		ep_tsum;		/* the epoch's loss sum */
	uint64_t	sh_key;			/* this epoch's shuffle: stripe seeds */
	int64_t		sh_off;			/* and where the first stripe starts */

	/* validation outputs */
	double	   *vscore;			/* [nvalid * (nout or 1)] */
	double	   *vlabel;
	uint8_t    *vbin;
	int32_t    *vpred;
	int32_t    *vact;

	float	   *hist_train;
	float	   *hist_valid;

	DlfRng		rng;

	/* ensemble.c: the members' view, and the rows before a member's sample */
	struct DlfEnsNets *ens;
	int64_t		ntrain_all;
} TrainCtx;

/* First row of chunk k of a batch of `rows' rows (rows of chunk k: next - this). */
static inline int32_t
chunk_start(int32_t rows, int k, int nchunks)
{
	return (int32_t) (((int64_t) rows * k) / nchunks);
}

/* train.c */
double		train_elapsed(const TrainCtx *c);
int			train_interrupted(const TrainCtx *c);
DlfStatus	train_fail_interrupted(TrainCtx *c);

/* train_order.c */
DlfStatus	train_canonical_order(TrainCtx *c);

/* train_layout.c */
DlfStatus	train_permute_rows(TrainCtx *c);
void		train_unpermute_rows(TrainCtx *c);
void		train_keep_rearranged(TrainCtx *c);

/* train_tile.c */
DlfStatus	train_tile_rows(TrainCtx *c);
void		train_untile_rows(TrainCtx *c);

/*
 * The record of row i's features while the rows are tiled (train_tile.c),
 * NULL for a row in the columns as given: its nf 4-byte values, in feature
 * order.
 */
static inline const uint32_t *
train_tile_row(const TrainCtx *c, uint32_t i)
{
	uint32_t	t;

	if (i >= c->tile_rows)
		return NULL;
	/* exact for every 32-bit i: the magic's excess over 2^64 / nf is < 1 */
	t = (uint32_t) (((unsigned __int128) i * c->tile_magic) >> 64);
	return c->tile_col[i - t * (uint32_t) c->nf] + (size_t) t * c->nf;
}

/* train_prep.c */
DlfStatus	train_compute_stats(TrainCtx *c);
void		train_shuffle(DlfRng *rng, uint32_t *a, int64_t n);
DlfStatus	train_split_rows(TrainCtx *c);
void		train_bind_params(const NnNet *shape, NnNet *view, float *buf);
DlfStatus	train_init_params(TrainCtx *c);

/* train_step.c */
void		train_gather(const TrainCtx *c, NnBatch *bt, const uint32_t *idx,
						 int32_t rows, int64_t avail);
void		train_draw_masks(TrainCtx *c, NnWork *w, int32_t rows);
void		train_chunk_gradients(TrainCtx *c, int self, int nthreads,
								  const uint32_t *idx, int32_t B, int64_t avail,
								  int par, const NnNet *net, float *const *wt);
void		train_tree_own(TrainChunk *chunks, int nchunks, int par, int lo,
						   int hi, int self, int nthreads, int64_t n);
void		train_update_slice(TrainCtx *c, int self, int nthreads, float bc1,
							   float bc2);
void		train_update_all(TrainCtx *c, TrainReplica *r, int par,
							 int nthreads, float bc1, float bc2);
int			train_batch_done(TrainCtx *c, int self, int par, double *b1t,
							 double *b2t);

/* train_parallel.c */
void		train_transpose_weights(const NnNet *net, float *const *wt);
DlfStatus	train_setup_parallel(TrainCtx *c);
DlfStatus	train_start_pool(TrainCtx *c);
void		train_run_epoch(TrainCtx *c, int32_t epoch);
void		train_job_shuffle(void *arg, int self, int nthreads);

/* train_lbfgs.c: full-batch L-BFGS instead of train_loop */
#define LBFGS_BLOCK_ROWS	256	/* rows per block of a chunk's gradient */
DlfStatus	train_lbfgs_loop(TrainCtx *c);

/* ensemble.c */
DlfStatus	train_member_rows(TrainCtx *c);
DlfStatus	train_ens_attach(TrainCtx *c);
void		train_ens_free(TrainCtx *c);
DlfStatus	train_ens_store(TrainCtx *c);

/* train_eval.c */
DlfStatus	train_evaluate(TrainCtx *c, double *loss, int want_out);
DlfStatus	train_main_metric(TrainCtx *c, double *value, const char **name);
DlfStatus	train_store_metrics(TrainCtx *c);

#endif							/* DLFIN_TRAIN_INTERNAL_H */
