/*
 * distributions.c
 *	  The training distributions kept for drift checks (score and
 *	  feature deciles by a parallel radix select), histogram bins and PSI.
 */
#include "govern_internal.h"

#include <stdatomic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- distributions ---------------------------------------------------------- */

/* Orders doubles ascending. */
static int
dbl_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* Positions of the decile ranks: the nine decile ranks and the maximum. */
static int
decile_positions(int64_t n, int64_t *pos)
{
	for (int k = 1; k <= 9; k++)
		pos[k - 1] = (k * n + 9) / 10 - 1;
	pos[9] = n - 1;
	return 10;
}

/* Most ranks a selection finds at once. */
#define MAX_RANKS	10
/* counters of one selection digit (11 bits) */
#define DIGITS		2048
/* per-thread counters are this many int64 apart (no false sharing) */
#define PAD64		16
/*
 * A thread's counters come in NSETS interleaved sets (row i counts in set
 * i % NSETS): runs of equal digits would otherwise make every increment
 * wait for the previous one to the same counter.  Each set has the digit
 * counters of up to MAX_RANKS groups and a spare one that counts nothing.
 */
#define NSETS		4
#define SPARE		(MAX_RANKS * DIGITS)
#define SETSIZE		(SPARE + 16)
#define NCOUNTERS	(NSETS * SETSIZE)

/* Order-preserving key of a finite float; zeros map to the key of +0. */
static inline uint32_t
float_key(float x)
{
	uint32_t	u;

	x += 0.0f;					/* -0 + +0 is +0 */
	memcpy(&u, &x, sizeof(u));
	/* negative: all bits flipped; positive: the sign bit set */
	return u ^ ((uint32_t) -(int32_t) (u >> 31) | UINT32_C(0x80000000));
}

/* Whether the bits of a float are those of a finite value. */
static inline int
finite_bits(float x)
{
	uint32_t	u;

	memcpy(&u, &x, sizeof(u));
	return (u & UINT32_C(0x7f800000)) != UINT32_C(0x7f800000);
}

/* The float of a key (inverse of float_key). */
static inline float
key_float(uint32_t u)
{
	float		x;

	u = (u & UINT32_C(0x80000000)) ? u & ~UINT32_C(0x80000000) : ~u;
	memcpy(&x, &u, sizeof(x));
	return x;
}

/*
 * The values a distribution is taken over: the finite values of a float
 * column (NaN marks NULL); with m set, the column holds single logits of
 * m, ranked as logits and binned by their scores.
 */
typedef struct RankSrc
{
	const float *col;
	const DlfModel *m;
	int64_t		n;
} RankSrc;

/*
 * One counting pass over a RankSrc, split by rows among the threads, each
 * counting into its own counters (sums of counts do not depend on the
 * split).  Levels 0-2 count one digit (11, 11 and 10 bits from the top) of
 * the keys whose higher digits match a wanted rank's prefix (group);
 * level 3 counts the scores of logits per histogram bin.
 */
typedef struct RankPass
{
	const RankSrc *src;
	int			level;
	int			ng;				/* prefix groups of this level */
	uint32_t	gp[MAX_RANKS];	/* their prefixes */
	int8_t		top[DIGITS];	/* level 1: a top digit's group, or -1 */
	int32_t		ne;				/* level 3: edges */
	double		edges[9];		/* their scores */
	uint32_t   *cnt;			/* per thread: NCOUNTERS */
	int64_t    *nvals;			/* per thread (PAD64 apart): values seen */
	int64_t    *bins;			/* per thread (PAD64 apart): 10 bins */
	int			nthreads;		/* threads of the pool (counter sets) */
} RankPass;

/* Key of a column value; false for a non-finite value. */
static inline int
src_key(const float *col, int64_t i, uint32_t *k)
{
	float		x = col[i];

	*k = float_key(x);
	return finite_bits(x);
}

/* Level 3 of job_rank_pass: bin counts of the scores of logits [lo, hi). */
static void
rank_bins(const RankPass *p, int64_t lo, int64_t hi, int64_t *bins)
{
	const RankSrc *s = p->src;
	int32_t		ne = p->ne;
	double		edges[9];

	memcpy(edges, p->edges, sizeof(edges));
	memset(bins, 0, sizeof(int64_t) * 10);
	/* bin: the number of edges below the value (as dlf_hist_bin) */
	for (int64_t i = lo; i < hi; i++)
	{
		double		v = gov_score_of(s->m, &s->col[i]);
		int			b = 0;

		for (int32_t j = 0; j < ne; j++)
			b += v > edges[j];
		bins[b]++;
	}
}

/* Index mask: all ones when cond, else zero. */
#define ALL_IF(cond)	((uint32_t) 0 - (uint32_t) (cond))

/* Level 0 of job_rank_pass: top digits of the finite values in [lo, hi). */
static int64_t
rank_level0(const float *restrict col, int64_t lo, int64_t hi,
			uint32_t *restrict cnt)
{
	int64_t		seen = 0;

	for (int64_t i = lo; i < hi; i++)
	{
		uint32_t	k;
		uint32_t	m = ALL_IF(src_key(col, i, &k));

		/* non-finite values count in the spare counter, without a branch */
		cnt[(i & (NSETS - 1)) * SETSIZE + (((k >> 21) & m) | (SPARE & ~m))]++;
		seen += m & 1;
	}
	return seen;
}

/* Level 1 of job_rank_pass: middle digits of keys in a wanted top digit. */
static void
rank_level1(const float *restrict col, int64_t lo, int64_t hi,
			const int8_t *restrict top, uint32_t *restrict cnt)
{
	for (int64_t i = lo; i < hi; i++)
	{
		uint32_t	k;
		int			fin = src_key(col, i, &k);
		int			g = top[k >> 21];
		uint32_t	m = ALL_IF(fin & (g >= 0));
		uint32_t	at = (uint32_t) g * DIGITS + ((k >> 10) & 2047);

		cnt[(i & (NSETS - 1)) * SETSIZE + ((at & m) | (SPARE & ~m))]++;
	}
}

/*
 * Level 2 of job_rank_pass: low digits of keys in a wanted 22-bit prefix.
 * The ng prefixes come in ascending order (the ranks' prefixes, grouped in
 * rank order), so a key's candidate group is the number of prefixes below
 * its own: counted without a branch over a copy padded to 16 with a value
 * no prefix takes, as most keys match none and a search would mispredict.
 */
static void
rank_level2(const float *restrict col, int64_t lo, int64_t hi,
			const uint32_t *gp, int ng, uint32_t *restrict cnt)
{
	uint32_t	g16[16];

	_Static_assert(MAX_RANKS < 16, "a key past every prefix finds padding");

	for (int x = 0; x < 16; x++)
		g16[x] = x < ng ? gp[x] : UINT32_MAX;
	for (int64_t i = lo; i < hi; i++)
	{
		uint32_t	k;
		int			fin = src_key(col, i, &k);
		uint32_t	pfx = k >> 10;
		uint32_t	g = 0;
		uint32_t	m;

		for (int x = 0; x < 16; x++)
			g += g16[x] < pfx;
		m = ALL_IF(fin & (g16[g] == pfx));
		cnt[(i & (NSETS - 1)) * SETSIZE +
			(((g * DIGITS + (k & 1023)) & m) | (SPARE & ~m))]++;
	}
}

/* Job: this thread's rows of one counting pass (see RankPass). */
static void
job_rank_pass(void *arg, int self, int nthreads)
{
	RankPass   *p = arg;
	const RankSrc *s = p->src;
	int64_t		lo = s->n * self / nthreads;
	int64_t		hi = s->n * (self + 1) / nthreads;
	uint32_t   *cnt = p->cnt + (size_t) self * NCOUNTERS;

	if (p->level == 3)
	{
		rank_bins(p, lo, hi, p->bins + (size_t) self * PAD64);
		return;
	}
	for (int set = 0; set < NSETS; set++)
	{
		memset(cnt + set * SETSIZE, 0, sizeof(uint32_t) * (size_t) p->ng * DIGITS);
		cnt[set * SETSIZE + SPARE] = 0;
	}
	if (p->level == 0)
		p->nvals[(size_t) self * PAD64] = rank_level0(s->col, lo, hi, cnt);
	else if (p->level == 1)
		rank_level1(s->col, lo, hi, p->top, cnt);
	else
		rank_level2(s->col, lo, hi, p->gp, p->ng, cnt);
}

/*
 * Runs a pass on the pool and adds every thread's and set's digit counters
 * into the first set of thread 0.
 */
static void
run_rank_pass(DlfPool *pool, RankPass *p)
{
	size_t		len = (size_t) p->ng * DIGITS;

	dlf_pool_run(pool, job_rank_pass, p);
	for (int t = 0; t < p->nthreads && p->level < 3; t++)
		for (int set = t == 0 ? 1 : 0; set < NSETS; set++)
		{
			const uint32_t *c = p->cnt + (size_t) t * NCOUNTERS + set * SETSIZE;

			for (size_t i = 0; i < len; i++)
				p->cnt[i] += c[i];
		}
}

/*
 * Radix select: the keys of the decile ranks (decile_positions) of the
 * source's values into out, as a sort would place them, and into le the
 * number of values whose keys are at or below each; *nvals is the number
 * of values (none: out and le are not set).  Three counting passes, each
 * split among the pool's threads, and no scratch beyond the counters.
 */
static void
select_deciles(DlfPool *pool, RankPass *p, int64_t *nvals, uint32_t *out,
			   int64_t *le)
{
	int64_t		pos[MAX_RANKS];
	uint32_t	prefix[MAX_RANKS];	/* the wanted keys' digits so far */
	int64_t		rank[MAX_RANKS];	/* rank among keys with that prefix */
	int			tg[MAX_RANKS];	/* each rank's prefix group */
	int			np;

	*nvals = 0;
	for (int L = 0; L < 3; L++)
	{
		p->level = L;
		p->ng = 0;
		if (L == 0)
			p->ng = 1;
		else
		{
			/* group the ranks by the digits found so far */
			for (int t = 0; t < np; t++)
			{
				int			g = 0;

				while (g < p->ng && p->gp[g] != prefix[t])
					g++;
				if (g == p->ng)
					p->gp[p->ng++] = prefix[t];
				tg[t] = g;
			}
			/* level 1 looks a key's group up by its top digit */
			memset(p->top, -1, sizeof(p->top));
			for (int g = 0; L == 1 && g < p->ng; g++)
				p->top[p->gp[g]] = (int8_t) g;
		}
		run_rank_pass(pool, p);
		if (L == 0)
		{
			for (int t = 0; t < p->nthreads; t++)
				*nvals += p->nvals[(size_t) t * PAD64];
			if (*nvals == 0)
				return;
			np = decile_positions(*nvals, pos);
			for (int t = 0; t < np; t++)
			{
				prefix[t] = 0;
				rank[t] = pos[t];
				tg[t] = 0;
			}
		}
		/* each rank's digit: where its rank falls in its group's counts */
		for (int t = 0; t < np; t++)
		{
			const uint32_t *c = p->cnt + (size_t) tg[t] * DIGITS;
			uint32_t	d = 0;

			while (rank[t] >= (int64_t) c[d])
				rank[t] -= c[d++];
			prefix[t] = (prefix[t] << (L == 2 ? 10 : 11)) | d;
			/* last digit: c[d] keys equal this one, rank[t] of them before */
			if (L == 2)
				le[t] = pos[t] - rank[t] + c[d];
		}
	}
	for (int t = 0; t < np; t++)
		out[t] = prefix[t];
}

/*
 * Decile edges from the values of the decile ranks and the maximum (at):
 * edge k (k = 1..9) is the smallest value with at least k/10 of the values
 * at or below it; repeated edges and edges at the maximum are dropped, so
 * every bin is non-empty.  Returns the number of edges.
 */
static int32_t
decile_edges(const double *at, double *edges)
{
	int32_t		ne = 0;

	for (int k = 1; k <= 9; k++)
	{
		double		e = at[k - 1];

		if (e < at[9] && (ne == 0 || e > edges[ne - 1]))
			edges[ne++] = e;
	}
	return ne;
}

/* Fills h from ne edges and the counts of its ne + 1 bins over n values. */
static DlfStatus
hist_set(Gov *g, DlfHistogram *h, const double *edges, int32_t ne,
		 const int64_t *cnt, int64_t n)
{
	h->nbins = 0;
	h->share = dlf_alloc_array(ne + 1, sizeof(double));
	h->edges = ne > 0 ? dlf_alloc_array(ne, sizeof(double)) : NULL;
	if (!h->share || (ne > 0 && !h->edges))
		return dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
	h->nbins = ne + 1;
	for (int32_t b = 0; b < ne; b++)
		h->edges[b] = edges[b];
	for (int32_t b = 0; b <= ne; b++)
		h->share[b] = n > 0 ? (double) cnt[b] / (double) n : (b == 0);
	return DLF_OK;
}

/* Frees a histogram's arrays. */
static void
hist_free(DlfHistogram *h)
{
	dlf_free(h->edges);
	dlf_free(h->share);
	memset(h, 0, sizeof(*h));
}

/*
 * Decile histogram of a source (see decile_edges for the bins), every pass
 * split among the pool's threads.  For logits (src->m set, a score monotone in
 * the logit) the ranks are those of the keys and the edges their scores.
 */
static DlfStatus
decile_hist_par(Gov *g, RankPass *p, DlfHistogram *h)
{
	uint32_t	out[MAX_RANKS];
	int64_t		le[MAX_RANKS];
	double		at[MAX_RANKS];
	int64_t		n;
	int64_t		cnt[10] = {0};

	select_deciles(g->pool, p, &n, out, le);
	p->ne = 0;
	if (n > 0 && !p->src->m)
	{
		int64_t		below = 0;

		/*
		 * Values: a value is in bin b when b edges lie below it, so bin b
		 * holds the values at or below edge b but not edge b - 1; the
		 * selection counted those (an edge is the value of a rank).
		 */
		for (int t = 0; t < MAX_RANKS; t++)
			at[t] = key_float(out[t]);
		p->ne = decile_edges(at, p->edges);
		for (int32_t b = 0; b < p->ne; b++)
		{
			int			t = 0;

			while (at[t] != p->edges[b])
				t++;
			cnt[b] = le[t] - below;
			below = le[t];
		}
		cnt[p->ne] = n - below;
	}
	else if (n > 0)
	{
		/* scores of logits: several logits may share a score, so count */
		for (int t = 0; t < MAX_RANKS; t++)
		{
			float		x = key_float(out[t]);

			at[t] = gov_score_of(p->src->m, &x);
		}
		p->ne = decile_edges(at, p->edges);
		p->level = 3;
		dlf_pool_run(g->pool, job_rank_pass, p);
		for (int t = 0; t < p->nthreads; t++)
			for (int b = 0; b <= p->ne; b++)
				cnt[b] += p->bins[(size_t) t * PAD64 + b];
	}
	hist_free(h);
	return hist_set(g, h, p->edges, p->ne, cnt, n);
}


/*
 * Whether the score is a non-decreasing function of a single logit: the
 * identity-scaled regression output, the logistic function, Platt scaling
 * with a non-positive slope (score 1 / (1 + exp(a z + b))).
 */
static int
score_monotone(const DlfModel *m)
{
	if (m->units[m->nlayers] != 1)
		return 0;
	if (m->task == DLF_TASK_REGRESSION)
		return m->target_scale > 0.0;
	if (m->task != DLF_TASK_BINARY)
		return 0;
	return m->calibration == DLF_CALIB_NONE ||
		(m->calibration == DLF_CALIB_PLATT && m->platt_a <= 0.0);
}

/* The logits of rows [0, n) of the data, split among the pool's threads. */
typedef struct LogitJob
{
	Gov		   *g;				/* per thread: [0] the caller's */
	float	   *z;				/* n x nout */
	int64_t		n;
	atomic_int	stop;			/* a thread failed (interrupt) */
	DlfStatus	st;				/* thread 0's status */
} LogitJob;

/*
 * Job: this thread's batches of GOV_BATCH rows (whole batches, so the
 * logits never depend on the split).  Only thread 0's Gov has the hooks.
 */
static void
job_logits(void *arg, int self, int nthreads)
{
	LogitJob   *j = arg;
	Gov		   *g = &j->g[self];
	int32_t		nout = g->m->units[g->m->nlayers];
	int64_t		nb = (j->n + GOV_BATCH - 1) / GOV_BATCH;
	uint32_t	rows[GOV_BATCH];

	for (int64_t b = nb * self / nthreads; b < nb * (self + 1) / nthreads; b++)
	{
		int64_t		s = b * GOV_BATCH;
		int64_t		cnt = j->n - s < GOV_BATCH ? j->n - s : GOV_BATCH;
		DlfStatus	st;

		if (atomic_load(&j->stop))
			break;
		for (int64_t r = 0; r < cnt; r++)
			rows[r] = (uint32_t) (s + r);
		st = gov_logits(g, rows, cnt, -1, NULL, j->z + (size_t) s * nout);
		if (st != DLF_OK)
		{
			if (self == 0)
				j->st = st;
			atomic_store(&j->stop, 1);
			break;
		}
	}
}

/*
 * Score deciles over all rows.  When the score is monotone in the single
 * logit, the logits are kept (4 bytes a row, in zbuf): the scores of the
 * logits of the decile ranks are the scores of those ranks, exactly.
 * Other models (multiclass, isotonic calibration) keep the scores as
 * doubles and sort them.
 */
static DlfStatus
score_distribution(Gov *g, RankPass *p, float *zbuf)
{
	DlfModel   *m = g->m;
	int64_t		n = g->d->nrows;
	int32_t		nout = m->units[m->nlayers];
	float	   *z = NULL;
	double	   *v = NULL;
	DlfStatus	st = DLF_OK;

	if (score_monotone(m))
	{
		LogitJob	j;
		RankSrc		src;

		j.g = g->threads;
		j.z = zbuf;
		j.n = n;
		atomic_init(&j.stop, 0);
		j.st = DLF_OK;
		dlf_pool_run(g->pool, job_logits, &j);
		if (j.st != DLF_OK)
			return j.st;
		memset(&src, 0, sizeof(src));
		src.col = zbuf;
		src.m = m;
		src.n = n;
		p->src = &src;
		return decile_hist_par(g, p, &m->score_dist);
	}

	z = dlf_alloc_array((size_t) (n < GOV_BATCH ? n : GOV_BATCH) * nout,
						sizeof(float));
	v = dlf_alloc_array(n, sizeof(double));
	if (!z || !v)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int64_t s = 0; s < n; s += GOV_BATCH)
	{
		int64_t		cnt = n - s < GOV_BATCH ? n - s : GOV_BATCH;
		uint32_t	rows[GOV_BATCH];

		for (int64_t r = 0; r < cnt; r++)
			rows[r] = (uint32_t) (s + r);
		if ((st = gov_logits(g, rows, cnt, -1, NULL, z)) != DLF_OK)
			goto done;
		for (int64_t r = 0; r < cnt; r++)
			v[s + r] = gov_score_of(m, z + (size_t) r * nout);
	}
	qsort(v, n, sizeof(double), dbl_cmp);
	{
		int64_t		pos[MAX_RANKS];
		double		at[MAX_RANKS];
		double		edges[9];
		int64_t		cnt[10] = {0};
		int32_t		ne = 0;

		if (n > 0)
		{
			decile_positions(n, pos);
			for (int t = 0; t < MAX_RANKS; t++)
				at[t] = v[pos[t]];
			ne = decile_edges(at, edges);
		}
		for (int64_t i = 0; i < n; i++)
		{
			int			b = 0;

			for (int32_t e = 0; e < ne; e++)
				b += v[i] > edges[e];
			cnt[b]++;
		}
		hist_free(&m->score_dist);
		st = hist_set(g, &m->score_dist, edges, ne, cnt, n);
	}
done:
	dlf_free(v);
	dlf_free(z);
	return st;
}

/*
 * Training distributions over all rows: numeric features, deciles of the
 * non-NULL values (the NULL share is missing_share); categorical features,
 * the share of each code; the score, deciles of what dlfin_predict returns.
 * Numeric columns are read in place; scratch memory is 4 bytes a row for
 * the logits, except for the scores of models whose score is not monotone
 * in one logit (8 bytes a row).
 */
DlfStatus
gov_distributions(Gov *g)
{
	DlfModel   *m = g->m;
	const DlfDataset *d = g->d;
	int64_t		n = d->nrows;
	int			T = dlf_pool_size(g->pool);
	RankPass	p;
	float	   *zbuf = NULL;
	DlfStatus	st = DLF_OK;

	memset(&p, 0, sizeof(p));
	p.nthreads = T;
	p.cnt = dlf_alloc_array((size_t) T * NCOUNTERS, sizeof(uint32_t));
	p.nvals = dlf_alloc_array((size_t) T * PAD64, sizeof(int64_t));
	p.bins = dlf_alloc_array((size_t) T * PAD64, sizeof(int64_t));
	if (!p.cnt || !p.nvals || !p.bins)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int32_t f = 0; f < m->nfeatures && st == DLF_OK; f++)
	{
		DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
		{
			RankSrc		src;

			memset(&src, 0, sizeof(src));
			src.col = d->num[f];
			src.n = n;
			p.src = &src;
			st = decile_hist_par(g, &p, &ft->dist);
		}
		else
		{
			int32_t		nb = ft->ncat + 2;

			hist_free(&ft->dist);
			ft->dist.share = dlf_alloc_array(nb, sizeof(double));
			if (!ft->dist.share)
			{
				st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
				break;
			}
			ft->dist.nbins = nb;
			for (int32_t b = 0; b < nb; b++)
				ft->dist.share[b] = 0.0;
			for (int64_t i = 0; i < n; i++)
				ft->dist.share[d->cat[f][i]] += 1.0;
			for (int32_t b = 0; b < nb; b++)
				ft->dist.share[b] /= (double) n;
		}
		if (st == DLF_OK && gov_interrupted(g))
			st = dlf_fail(g->err, DLF_ERR_INTERRUPTED, "canceling statement due to user request");
	}
	if (st != DLF_OK)
		goto done;
	if (score_monotone(m))
	{
		zbuf = dlf_alloc_array(n, sizeof(float));
		if (!zbuf)
		{
			st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
	st = score_distribution(g, &p, zbuf);
done:
	dlf_free(zbuf);
	dlf_free(p.cnt);
	dlf_free(p.nvals);
	dlf_free(p.bins);
	return st;
}
/* Bin of v: the number of edges strictly below v. */
int32_t
dlf_hist_bin(const DlfHistogram *h, double v)
{
	int32_t		lo = 0,
				hi = h->nbins - 1;

	/* first edge >= v; edges[nbins - 1] is +infinity */
	while (lo < hi)
	{
		int32_t		mid = (lo + hi) / 2;

		if (h->edges[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Population stability index with floored shares. */
double
dlf_psi(const double *expected, const double *actual, int32_t n)
{
	double		psi = 0.0;

	for (int32_t i = 0; i < n; i++)
	{
		double		e = expected[i] > DLF_PSI_FLOOR ? expected[i] : DLF_PSI_FLOOR;
		double		a = actual[i] > DLF_PSI_FLOOR ? actual[i] : DLF_PSI_FLOOR;

		psi += (a - e) * log(a / e);
	}
	return psi;
}

/* The usual PSI bands. */
const char *
dlf_psi_band(double psi)
{
	if (!isfinite(psi))
		return "unknown";
	if (psi < 0.1)
		return "stable";
	if (psi <= 0.25)
		return "moderate";
	return "significant";
}
