/*
 * train_tile.c
 *	  Training: each row's features side by side for the time of the epochs.
 *
 *	  Why: an epoch gathers its batches' rows in shuffled order, one value
 *	  from each feature's column, so a row costs a cache line per feature
 *	  (plus its label's).  With the columns in the last-level cache (1M rows
 *	  x 8 features), those lines come in as fast as the core's few line
 *	  fill buffers allow: the gather was 28 % of a training.  Tiled, a row's
 *	  features are one record of nf 4-byte values, one or two lines.
 *
 *	  How, without memory: the nf columns are cut into tiles of nf rows;
 *	  tile t is nf pieces of nf values (piece f: feature f's values of rows
 *	  nf*t .. nf*t + nf - 1, in column f at the same positions).  Transposed
 *	  in place, piece j holds the nf values of row nf*t + j: row i's record
 *	  is in column (i mod nf) at (i div nf) * nf.  The last n mod nf rows
 *	  stay in their columns.  A tile's transposition is its own inverse, so
 *	  untiling is the same pass.  The values read, and their order, are the
 *	  same: the model's bytes do not change.
 *
 *	  The columns are the caller's: they are untiled before dlf_train
 *	  returns, on every path, and only the epochs (train_gather) read them
 *	  meanwhile.
 */
#include "train_internal.h"

#include <string.h>

/* rows from which the features are tiled (the options may lower it) */
#ifndef TILE_MIN_ROWS
#define TILE_MIN_ROWS	(128 * 1024)
#endif
/* at most this many features: a tile (nf x nf values) on the stack */
#define TILE_MAX_FEATURES	64

/* Tiles [lo, hi) of the columns, to transpose on the pool. */
typedef struct TileJob
{
	uint32_t  **col;
	int32_t		nf;
	int64_t		lo;
	int64_t		hi;
} TileJob;

/* Transposes tile t of the columns in place (see the file comment). */
static inline void
transpose_tile(uint32_t *const *col, int32_t nf, int64_t t)
{
	uint32_t	s[TILE_MAX_FEATURES * TILE_MAX_FEATURES];
	size_t		at = (size_t) t * nf;

	for (int32_t f = 0; f < nf; f++)
		memcpy(s + (size_t) f * nf, col[f] + at, sizeof(uint32_t) * nf);
	for (int32_t j = 0; j < nf; j++)
	{
		uint32_t   *piece = col[j] + at;

		for (int32_t f = 0; f < nf; f++)
			piece[f] = s[(size_t) f * nf + j];
	}
}

/* Job: this thread's share of the job's tiles, transposed. */
static void
job_tile(void *arg, int self, int nthreads)
{
	const TileJob *j = arg;
	int64_t		n = j->hi - j->lo;

	for (int64_t t = j->lo + n * self / nthreads;
		 t < j->lo + n * (self + 1) / nthreads; t++)
		transpose_tile(j->col, j->nf, t);
}

/* Transposes tiles [lo, hi) on the training's pool. */
static void
tile_range(TrainCtx *c, int64_t lo, int64_t hi)
{
	TileJob		j;

	j.col = c->tile_col;
	j.nf = c->nf;
	j.lo = lo;
	j.hi = hi;
	dlf_pool_run(c->pool, job_tile, &j);
}

/*
 * Tiles the dataset's features for the epochs (see the file comment) when
 * it has enough rows and 2 to TILE_MAX_FEATURES features; otherwise, or
 * without the few bytes it needs, the columns stay as they are (the same
 * model).  Checks for interrupts every CHECK_EVERY rows; an interrupted
 * tiling puts back what it moved.
 */
DlfStatus
train_tile_rows(TrainCtx *c)
{
	const DlfDataset *d = c->data;
	int64_t		min_rows = c->opt->tile_min_rows > 0 ?
		c->opt->tile_min_rows : TILE_MIN_ROWS;
	int32_t		nf = c->nf;
	/* tiles between interrupt checks: CHECK_EVERY rows */
	int64_t		step = CHECK_EVERY / nf > 0 ? CHECK_EVERY / nf : 1;

	if (c->n < min_rows || nf < 2 || nf > TILE_MAX_FEATURES ||
		c->n / nf < 1 || c->n > UINT32_MAX)
		return DLF_OK;
	c->tile_col = dlf_alloc_array(nf, sizeof(uint32_t *));
	if (!c->tile_col)
		return DLF_OK;
	for (int32_t f = 0; f < nf; f++)
		c->tile_col[f] = c->m->features[f].kind == DLF_FEAT_NUMERIC ?
			(uint32_t *) d->num[f] : (uint32_t *) d->cat[f];
	/* ceil(2^64 / nf): row div nf by one multiplication (train_tile_row) */
	c->tile_magic = UINT64_MAX / (uint64_t) nf + 1;
	for (int64_t t = 0, nt = c->n / nf; t < nt; t += step)
	{
		if (train_interrupted(c))
		{
			/* put back the tiles done so far */
			c->tile_rows = t * nf;
			train_untile_rows(c);
			return train_fail_interrupted(c);
		}
		tile_range(c, t, t + step < nt ? t + step : nt);
	}
	c->tile_rows = c->n / nf * nf;
	return DLF_OK;
}

/* Puts the features back in their columns (tiles [0, tile_rows / nf)). */
void
train_untile_rows(TrainCtx *c)
{
	/* in one go: the restore cannot fail, nor stop half way */
	if (c->tile_rows > 0)
		tile_range(c, 0, c->tile_rows / c->nf);
	c->tile_rows = 0;
	dlf_free(c->tile_col);
	c->tile_col = NULL;
}
