/*
 * train_order.c
 *	  Training: the canonical row order (rows sorted by a hash of their
 *	  content, so training never depends on the order rows arrived in).
 */
#include "train_internal.h"

#include <stdatomic.h>

#include <math.h>
#include <string.h>

/* ---- canonical order ---------------------------------------------------- */

/* Canonical bits of a float value: one NaN, one zero. */
static inline uint32_t
fbits(float x)
{
	uint32_t	u;

	if (x != x)
		return UINT32_C(0x7fc00000);
	if (x == 0.0f)
		return 0;
	memcpy(&u, &x, sizeof(u));
	return u;
}

/* Canonical bits of a double value. */
static inline uint64_t
dbits(double x)
{
	uint64_t	u;

	if (x != x)
		return UINT64_C(0x7ff8000000000000);
	if (x == 0.0)
		return 0;
	memcpy(&u, &x, sizeof(u));
	return u;
}

/* Total order on row content: label, then each feature's canonical bits. */
static int
row_cmp(const TrainCtx *c, uint32_t a, uint32_t b)
{
	const DlfDataset *d = c->data;
	uint64_t	la = dbits(dlf_label(d, a));
	uint64_t	lb = dbits(dlf_label(d, b));

	if (la != lb)
		return la < lb ? -1 : 1;
	for (int32_t f = 0; f < c->nf; f++)
	{
		uint32_t	xa,
					xb;

		if (c->m->features[f].kind == DLF_FEAT_NUMERIC)
		{
			xa = fbits(d->num[f][a]);
			xb = fbits(d->num[f][b]);
		}
		else
		{
			xa = (uint32_t) d->cat[f][a];
			xb = (uint32_t) d->cat[f][b];
		}
		if (xa != xb)
			return xa < xb ? -1 : 1;
	}
	return 0;
}

/* Heap sort of keys by row content (index in the low ibits bits). */
static void
heap_sort_rows(const TrainCtx *c, uint64_t *k, int64_t n, uint64_t imask)
{
	/* sift-down heap sort: O(n log n) even for adversarial duplicates */
	for (int64_t start = n / 2 - 1; start >= -(n - 1); start--)
	{
		int64_t		root;
		int64_t		end;

		if (start >= 0)
		{
			root = start;
			end = n;
		}
		else
		{
			uint64_t	t;

			end = n + start;	/* move the max to position end */
			t = k[0];
			k[0] = k[end];
			k[end] = t;
			root = 0;
		}
		for (;;)
		{
			int64_t		child = 2 * root + 1;
			uint64_t	t;

			if (child >= end)
				break;
			if (child + 1 < end &&
				row_cmp(c, (uint32_t) (k[child] & imask),
						(uint32_t) (k[child + 1] & imask)) < 0)
				child++;
			if (row_cmp(c, (uint32_t) (k[root] & imask),
						(uint32_t) (k[child] & imask)) >= 0)
				break;
			t = k[root];
			k[root] = k[child];
			k[child] = t;
			root = child;
		}
	}
}

/*
 * The top bbits of a row's hash pick its bucket in train_canonical_order:
 * ceil(log2(n)) - ORDER_BUCKET_ROW_BITS (about 4,096 rows a bucket, sorted
 * in the core's own cache), at most ORDER_BUCKET_BITS_MAX (the place pass
 * writes to two lines per bucket at a time: 8,192 lines stay in L2).  Only
 * the work depends on it, not the order.  With 2^19 buckets of about 32
 * rows (before) the count and place passes missed the cache on every row
 * at 10M rows: the ordering took 0.47 s against 0.028 s at 1M.
 */
#define ORDER_BUCKET_ROW_BITS	12
#define ORDER_BUCKET_BITS_MAX	12
/* rows ahead whose columns the rare rehash (sort_run) prefetches */
#define ORDER_PREFETCH		16

/* Prefetches the label and feature values of row i. */
static inline __attribute__((always_inline)) void
prefetch_row(const TrainCtx *c, int64_t i)
{
	const DlfDataset *d = c->data;

	__builtin_prefetch(d->cls ? (const void *) &d->cls[i] :
					   (const void *) &d->label[i]);
	for (int32_t f = 0; f < c->nf; f++)
		__builtin_prefetch(c->m->features[f].kind == DLF_FEAT_NUMERIC ?
						   (const void *) &d->num[f][i] :
						   (const void *) &d->cat[f][i]);
}

/* Content hash of row i: the label, then each feature's canonical bits. */
static inline uint64_t
row_hash(const TrainCtx *c, int64_t i)
{
	const DlfDataset *d = c->data;
	uint64_t	h = dlf_mix64(dbits(dlf_label(d, i)) ^ UINT64_C(0x6a09e667f3bcc908));

	for (int32_t f = 0; f < c->nf; f++)
	{
		uint32_t	x = c->m->features[f].kind == DLF_FEAT_NUMERIC ?
			fbits(d->num[f][i]) : (uint32_t) d->cat[f][i];

		h = dlf_mix64(h + x + UINT64_C(0x9e3779b97f4a7c15));
	}
	return h;
}

/* rows hashed at a time by block_hash */
#define HASH_BLOCK		256

/*
 * Content hashes of rows [lo, lo + m) into h (m <= HASH_BLOCK), a column at a
 * time: the rows' mixes are independent, so they vectorise.
 */
DLF_KERNEL static void
block_hash(const TrainCtx *c, int64_t lo, int m, uint64_t *restrict h)
{
	const DlfDataset *d = c->data;

	if (d->cls)
		for (int r = 0; r < m; r++)
			h[r] = dlf_mix64(dbits((double) d->cls[lo + r]) ^ UINT64_C(0x6a09e667f3bcc908));
	else
		for (int r = 0; r < m; r++)
			h[r] = dlf_mix64(dbits(d->label[lo + r]) ^ UINT64_C(0x6a09e667f3bcc908));
	for (int32_t f = 0; f < c->nf; f++)
	{
		if (c->m->features[f].kind == DLF_FEAT_NUMERIC)
		{
			const float *restrict col = d->num[f] + lo;

			for (int r = 0; r < m; r++)
				h[r] = dlf_mix64(h[r] + fbits(col[r]) + UINT64_C(0x9e3779b97f4a7c15));
		}
		else
		{
			const int32_t *restrict col = d->cat[f] + lo;

			for (int r = 0; r < m; r++)
				h[r] = dlf_mix64(h[r] + (uint32_t) col[r] + UINT64_C(0x9e3779b97f4a7c15));
		}
	}
}

/* Checks the labels and category codes of every row. */
static DlfStatus
check_rows(TrainCtx *c)
{
	const DlfDataset *d = c->data;
	int64_t		n = c->n;

	for (int64_t i = 0; i < n; i++)
	{
		double		y = dlf_label(d, i);

		if (c->task == DLF_TASK_REGRESSION ? !isfinite(y) :
			!(y >= 0.0 && y < c->m->nclasses && y == floor(y)))
		{
			if (c->task == DLF_TASK_REGRESSION)
				return dlf_fail(c->err, DLF_ERR_DATA,
								"label contains a non-finite value");
			return dlf_fail(c->err, DLF_ERR_INVALID,
							"class index out of range");
		}
	}
	for (int32_t f = 0; f < c->nf; f++)
	{
		const DlfFeature *ft = &c->m->features[f];
		const int32_t *col = d->cat[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
			continue;
		for (int64_t i = 0; i < n; i++)
			if (col[i] < 0 || col[i] > ft->ncat + 1)
				return dlf_fail(c->err, DLF_ERR_INVALID,
								"categorical code out of range");
	}
	return DLF_OK;
}

/*
 * Orders the rows e[0..m) by (hash & ~imask), then rows whose hashes agree
 * by content; key is scratch for m entries.  Rows are hashed again, from
 * scattered reads: only for runs whose stored hash bits agree (rare).
 */
static void
sort_run(const TrainCtx *c, uint32_t *e, int64_t m, uint64_t *key,
		 uint64_t imask)
{
	for (int64_t i = 0; i < m; i++)
	{
		if (i + ORDER_PREFETCH < m)
			prefetch_row(c, e[i + ORDER_PREFETCH]);
		key[i] = (row_hash(c, e[i]) & ~imask) | e[i];
	}
	dlf_sort_u64(key, m);
	/* rows whose hashes agree are ordered by content instead of index */
	for (int64_t i = 0; i < m;)
	{
		int64_t		j = i + 1;

		while (j < m && (key[j] & ~imask) == (key[i] & ~imask))
			j++;
		if (j - i > 1)
			heap_sort_rows(c, key + i, j - i, imask);
		i = j;
	}
	for (int64_t i = 0; i < m; i++)
		e[i] = (uint32_t) (key[i] & imask);
}

/*
 * The passes of train_canonical_order, split among the pool's threads: count
 * (rows per bucket of each thread's rows), place (each thread's entries at
 * its own offsets in each bucket) and sort (whole buckets per thread).
 *
 * A row's entry is 6 bytes: in hi, the 16 hash bits after the bucket's; in
 * perm, the row index in the low ibits bits and the 32 - ibits hash bits
 * after those 16 above it.  With the bucket's bits,
 * which the position holds, an entry keeps 36 hash bits up to 2^24 rows
 * (29 at 2^31): rows whose kept bits agree are rare (about 8 pairs among
 * 2^20 distinct rows), and only they are hashed again.
 */
typedef struct OrderJob
{
	TrainCtx   *c;
	int			phase;			/* 0 count, 1 place, 2 sort */
	int64_t    *cur;			/* per thread: nb counters, then cursors */
	const int64_t *end;			/* end of each bucket */
	uint32_t   *perm;			/* n entries: more hash bits, row */
	uint16_t   *hi;				/* n entries: the next 16 hash bits */
	uint64_t  **key;			/* per thread: scratch of maxb entries */
	int			ibits;
	int			bbits;			/* bucket bits */
	atomic_int	stop;			/* thread 0 saw an interrupt */
} OrderJob;

/* Thread 0 checks for an interrupt; every thread learns whether to stop. */
static inline int
order_stop(OrderJob *j, int self)
{
	if (self == 0 && train_interrupted(j->c))
		atomic_store(&j->stop, 1);
	return atomic_load_explicit(&j->stop, memory_order_relaxed);
}

/* The bucket of a row with hash h: its top bbits bits. */
static inline int64_t
bucket_of(const OrderJob *j, uint64_t h)
{
	return j->bbits ? (int64_t) (h >> (64 - j->bbits)) : 0;
}

/* Places row i with hash h at position p (see OrderJob). */
static inline void
place_row(OrderJob *j, int64_t p, uint64_t h, int64_t i)
{
	uint64_t	after = h << j->bbits;	/* the bits below the bucket's */
	int			spare = 32 - j->ibits;

	j->hi[p] = (uint16_t) (after >> 48);
	j->perm[p] = (uint32_t) (((after << 16) >> (64 - spare)) << j->ibits) |
		(uint32_t) i;
}

/*
 * Sorts the m entries of one bucket from position s: by the hash bits
 * they keep, then index, and rows whose kept bits agree (rare) by their
 * whole hash, then content (sort_run).  key is scratch for m entries.
 */
static void
sort_bucket(OrderJob *j, int64_t s, int64_t m, uint64_t *key)
{
	uint32_t   *e = j->perm + s;
	int			low = 16 + j->ibits;	/* key bits below the kept hash bits */
	uint64_t	imask = (UINT64_C(1) << j->ibits) - 1;

	for (int64_t i = 0; i < m; i++)
		key[i] = ((uint64_t) j->hi[s + i] << 48) | ((uint64_t) e[i] << 16);
	dlf_sort_u64(key, m);
	for (int64_t i = 0; i < m; i++)
		e[i] = (uint32_t) ((key[i] >> 16) & imask);
	for (int64_t i = 0; i < m;)
	{
		int64_t		k = i + 1;

		while (k < m && key[k] >> low == key[i] >> low)
			k++;
		if (k - i > 1)
			sort_run(j->c, e + i, k - i, key + i, imask);
		i = k;
	}
}

/* Job: this thread's part of one pass of train_canonical_order. */
static void
job_order(void *arg, int self, int nthreads)
{
	OrderJob   *j = arg;
	TrainCtx   *c = j->c;
	int64_t		nb = (int64_t) 1 << j->bbits;
	int64_t    *cur = j->cur + (size_t) self * (nb + 8);
	int64_t		lo = c->n * self / nthreads;
	int64_t		hi = c->n * (self + 1) / nthreads;

	if (j->phase < 2)
	{
		uint64_t	h[HASH_BLOCK];

		if (j->phase == 0)
			memset(cur, 0, sizeof(int64_t) * nb);
		for (int64_t i = lo; i < hi; i += HASH_BLOCK)
		{
			int			m = (int) (hi - i < HASH_BLOCK ? hi - i : HASH_BLOCK);

			block_hash(c, i, m, h);
			if (j->phase == 0)
				for (int r = 0; r < m; r++)
					cur[bucket_of(j, h[r])]++;
			else
				for (int r = 0; r < m; r++)
					place_row(j, cur[bucket_of(j, h[r])]++, h[r], i + r);
			if (((i - lo) & (CHECK_EVERY - 1)) < HASH_BLOCK && order_stop(j, self))
				return;
		}
	}
	else
	{
		for (int64_t b = nb * self / nthreads; b < nb * (self + 1) / nthreads; b++)
		{
			int64_t		s = b ? j->end[b - 1] : 0;

			sort_bucket(j, s, j->end[b] - s, j->key[self]);
			if ((b & 63) == 0 && order_stop(j, self))
				return;
		}
	}
}

/*
 * Puts the rows into canonical order -- by the high bits of a content hash
 * (all but the low ceil(log2(n)) bits), rows that agree there by content --
 * without moving them: c->train_idx[p] becomes the row at canonical
 * position p.  Later steps go through it (statistics sum in that order, the
 * seeded shuffle permutes it), so nothing depends on arrival order.  Also
 * checks labels and category codes.
 *
 * Rows are counted into buckets by their hash's top bits, then placed as
 * 6-byte entries (see OrderJob; hashes computed twice, sequentially,
 * instead of stored); each bucket is sorted in cache.  Each pass is split
 * among the pool's threads, with the same result as one thread.  Memory:
 * the 4-byte array, 2 bytes a row meanwhile, a counter per bucket and
 * thread, and 8 bytes per row of the largest bucket and thread.
 */
DlfStatus
train_canonical_order(TrainCtx *c)
{
	int64_t		n = c->n;
	int64_t		nb;
	int			T = dlf_pool_size(c->pool);
	int64_t    *end;
	int64_t		maxb = 0;
	OrderJob	j;
	DlfStatus	st;

	if ((st = check_rows(c)) != DLF_OK)
		return st;
	memset(&j, 0, sizeof(j));
	j.c = c;
	j.ibits = 1;
	while (j.ibits < 31 && ((int64_t) 1 << j.ibits) < n)
		j.ibits++;
	j.bbits = j.ibits - ORDER_BUCKET_ROW_BITS;
	if (j.bbits < 0)
		j.bbits = 0;
	if (j.bbits > ORDER_BUCKET_BITS_MAX)
		j.bbits = ORDER_BUCKET_BITS_MAX;
	nb = (int64_t) 1 << j.bbits;
	atomic_init(&j.stop, 0);
	/* not zeroed: the place pass writes every entry */
	j.perm = dlf_alloc((size_t) n * sizeof(uint32_t));
	j.hi = dlf_alloc((size_t) n * sizeof(uint16_t));
	/* counters of a thread are padded apart: no false sharing */
	j.cur = dlf_alloc_array((size_t) T * (nb + 8), sizeof(int64_t));
	end = dlf_alloc_array(nb, sizeof(int64_t));
	j.key = dlf_alloc_array(T, sizeof(uint64_t *));
	if (!j.perm || !j.hi || !j.cur || !end || !j.key)
	{
		st = dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}

	/* count rows per bucket and thread */
	j.phase = 0;
	dlf_pool_run(c->pool, job_order, &j);
	if (atomic_load(&j.stop))
		goto train_interrupted;
	/* bucket b: rows of thread 0, then of thread 1, ... */
	{
		int64_t		at = 0;

		for (int64_t b = 0; b < nb; b++)
		{
			int64_t		start = at;

			for (int t = 0; t < T; t++)
			{
				int64_t    *cnt = j.cur + (size_t) t * (nb + 8);
				int64_t		k = cnt[b];

				cnt[b] = at;
				at += k;
			}
			end[b] = at;
			if (at - start > maxb)
				maxb = at - start;
		}
	}
	j.phase = 1;
	dlf_pool_run(c->pool, job_order, &j);
	if (atomic_load(&j.stop))
		goto train_interrupted;
	for (int t = 0; t < T; t++)
	{
		j.key[t] = dlf_alloc((size_t) (maxb > 0 ? maxb : 1) * sizeof(uint64_t));
		if (!j.key[t])
		{
			st = dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
	j.end = end;
	j.phase = 2;
	dlf_pool_run(c->pool, job_order, &j);
	if (atomic_load(&j.stop))
		goto train_interrupted;
	c->train_idx = j.perm;
	j.perm = NULL;
	st = DLF_OK;
	goto done;

train_interrupted:
	st = train_fail_interrupted(c);
done:
	for (int t = 0; j.key && t < T; t++)
		dlf_free(j.key[t]);
	dlf_free(j.key);
	dlf_free(j.cur);
	dlf_free(end);
	dlf_free(j.hi);
	dlf_free(j.perm);
	return st;
}
