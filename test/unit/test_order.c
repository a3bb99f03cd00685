/*
 * test_order.c
 *	  Unit tests of the canonical row order (train_order.c) against its
 *	  definition, written out plainly: rows sorted by the top 64 - ibits
 *	  bits of their content hash, rows that agree there by content.  The
 *	  bucketed, multithreaded implementation must give the same sequence of
 *	  row contents for any row count, duplicates and thread count.
 */
#include "train_internal.h"
#include "pool.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define NF	3

/* A synthetic dataset: two numeric features, one categorical, a class. */
typedef struct Rows
{
	int64_t		n;
	float	   *num[NF];
	int32_t    *cat[NF];
	uint16_t   *cls;
	DlfFeature	ft[NF];
	DlfModel	m;
	DlfDataset	d;
} Rows;

/* xorshift64: the test's own deterministic stream. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Fills n rows: dup 0, all distinct; 1, seven distinct rows repeated; 2,
 * every row identical; 3, about half the rows duplicates.  Zeros of both
 * signs and NaNs are there too (one canonical form each in the hash).
 */
static void
rows_make(Rows *r, int64_t n, int dup, uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	r->n = n;
	r->num[0] = malloc(sizeof(float) * n);
	r->num[1] = malloc(sizeof(float) * n);
	r->cat[2] = malloc(sizeof(int32_t) * n);
	r->cls = malloc(sizeof(uint16_t) * n);
	for (int64_t i = 0; i < n; i++)
	{
		uint64_t	u = next(&seed);
		int64_t		src = dup == 1 ? (int64_t) (u % 7) : dup == 2 ? 0 :
			dup == 3 ? (int64_t) (u % (n / 2 + 1)) : i;

		r->num[0][i] = dup == 0 ? (float) (u >> 40) : (float) (src % 1000) * 0.5f;
		r->num[1][i] = dup == 0 ? (float) ((u >> 8) & 0xffff) : (float) (src / 1000);
		if (src % 97 == 3)
			r->num[1][i] = (u & 1) ? -0.0f : NAN;
		r->cat[2][i] = (int32_t) (src % 6);
		r->cls[i] = (uint16_t) (src % 2);
	}
	for (int f = 0; f < NF; f++)
		r->ft[f].kind = f < 2 ? DLF_FEAT_NUMERIC : DLF_FEAT_CATEGORICAL;
	r->ft[2].ncat = 4;
	r->m.nfeatures = NF;
	r->m.features = r->ft;
	r->m.nclasses = 2;
	r->m.task = DLF_TASK_BINARY;
	r->d.nrows = n;
	r->d.nfeatures = NF;
	r->d.num = r->num;
	r->d.cat = r->cat;
	r->d.cls = r->cls;
}

/* Frees what rows_make allocated. */
static void
rows_free(Rows *r)
{
	free(r->num[0]);
	free(r->num[1]);
	free(r->cat[2]);
	free(r->cls);
}

/* Canonical bits of row i's values, label first (the hash's inputs). */
static void
row_bits(const Rows *r, int64_t i, uint64_t *v)
{
	double		y = (double) r->cls[i];

	memcpy(&v[0], &y, sizeof(y));
	for (int f = 0; f < NF; f++)
	{
		uint32_t	x = 0;

		if (f < 2)
		{
			float		a = r->num[f][i];

			if (a != a)
				x = UINT32_C(0x7fc00000);
			else if (a != 0.0f)
				memcpy(&x, &a, sizeof(x));
		}
		else
			x = (uint32_t) r->cat[f][i];
		v[1 + f] = x;
	}
}

/* The content hash train_order.c defines: label, then each feature. */
static uint64_t
row_hash(const Rows *r, int64_t i)
{
	uint64_t	v[1 + NF];
	uint64_t	h;

	row_bits(r, i, v);
	h = dlf_mix64(v[0] ^ UINT64_C(0x6a09e667f3bcc908));
	for (int f = 0; f < NF; f++)
		h = dlf_mix64(h + v[1 + f] + UINT64_C(0x9e3779b97f4a7c15));
	return h;
}

/* The reference sort's rows and key bits (qsort has no argument). */
static const Rows *ref_rows;
static uint64_t *ref_key;

/* Reference order: key bits, then content (label, features), then index. */
static int
ref_cmp(const void *pa, const void *pb)
{
	uint32_t	a = *(const uint32_t *) pa,
				b = *(const uint32_t *) pb;
	uint64_t	va[1 + NF],
				vb[1 + NF];

	if (ref_key[a] != ref_key[b])
		return ref_key[a] < ref_key[b] ? -1 : 1;
	row_bits(ref_rows, a, va);
	row_bits(ref_rows, b, vb);
	for (int k = 0; k < 1 + NF; k++)
		if (va[k] != vb[k])
			return va[k] < vb[k] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/*
 * Orders the rows with train_canonical_order on `threads' threads and
 * checks the sequence of contents against the reference order.
 */
static int
order_matches(const Rows *r, int threads)
{
	TrainCtx	c;
	DlfError	err;
	int64_t		n = r->n;
	int			ibits = 1;
	uint32_t   *ref = malloc(sizeof(uint32_t) * n);
	int			same = 1;

	while (ibits < 31 && ((int64_t) 1 << ibits) < n)
		ibits++;
	ref_rows = r;
	ref_key = malloc(sizeof(uint64_t) * n);
	for (int64_t i = 0; i < n; i++)
	{
		ref_key[i] = row_hash(r, i) & ~((UINT64_C(1) << ibits) - 1);
		ref[i] = (uint32_t) i;
	}
	qsort(ref, n, sizeof(uint32_t), ref_cmp);

	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	c.m = (DlfModel *) &r->m;
	c.data = (DlfDataset *) &r->d;
	c.nf = NF;
	c.n = n;
	c.task = DLF_TASK_BINARY;
	c.err = &err;
	if (dlf_pool_start(&c.pool, threads, &err) != DLF_OK ||
		train_canonical_order(&c) != DLF_OK)
		same = 0;
	for (int64_t p = 0; same && p < n; p++)
	{
		uint64_t	va[1 + NF],
					vb[1 + NF];

		row_bits(r, c.train_idx[p], va);
		row_bits(r, ref[p], vb);
		same = memcmp(va, vb, sizeof(va)) == 0;
	}
	if (c.pool)
		dlf_pool_stop(c.pool);
	free(c.train_idx);
	free(ref_key);
	free(ref);
	return same;
}

int
main(void)
{
	/* one bucket (below 4,096 rows), bucket-count steps, kept-bit runs */
	static const int64_t sizes[] = {1, 2, 3, 100, 4095, 4097, 70001};
	static const char *const kind[] = {"distinct", "7 distinct", "identical",
	"half duplicates"};

	for (int s = 0; s < (int) (sizeof(sizes) / sizeof(sizes[0])); s++)
		for (int dup = 0; dup < 4; dup++)
		{
			Rows		r;
			int			same = 1;

			rows_make(&r, sizes[s], dup, 88172645463325252ULL + s * 16 + dup);
			for (int t = 1; t <= 3; t++)
				same &= order_matches(&r, t);
			ok(same, "%lld rows, %s: the definition's order on 1, 2 and 3 threads",
			   (long long) sizes[s], kind[dup]);
			rows_free(&r);
		}

	/*
	 * 2^20 + 1 distinct rows keep 36 hash bits each, so about 8 pairs agree
	 * on them and are hashed again (sort_run).
	 */
	{
		Rows		r;

		rows_make(&r, (INT64_C(1) << 20) + 1, 0, 12345);
		ok(order_matches(&r, 2), "2^20 + 1 distinct rows: the definition's order");
		rows_free(&r);
	}
	return done_testing();
}
