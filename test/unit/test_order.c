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
#include "synth.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* synth's schema: two numbers (with NULLs) and a category, binary label */
#define NF	3

/* xorshift64: picks the duplicates' sources. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Copies row src of d over row i (label and every column). */
static void
copy_row(DlfDataset *d, int64_t i, int64_t src)
{
	d->label[i] = d->label[src];
	for (int f = 0; f < d->nfeatures; f++)
		if (d->num[f])
			d->num[f][i] = d->num[f][src];
		else
			d->cat[f][i] = d->cat[f][src];
}

/*
 * synth's n rows, then: dup 0, left distinct; 1, seven distinct rows
 * repeated; 2, every row identical; 3, about half the rows duplicates.
 * Some zeros are -0 (one canonical form with +0 in the hash).
 */
static DlfDataset *
rows_make(const DlfModel *m, int64_t n, int dup, uint64_t seed)
{
	DlfDataset *d = synth(m, n, seed);

	for (int64_t i = 0; i < n; i++)
	{
		uint64_t	u = next(&seed);
		int64_t		src = dup == 1 ? (int64_t) (u % (n < 7 ? n : 7)) : dup == 2 ? 0 :
			dup == 3 ? (int64_t) (u % (n / 2 + 1)) : i;

		if (i % 97 == 3)
			d->num[1][i] = (u & 1) ? -0.0f : 0.0f;
		if (src != i)
			copy_row(d, i, src);
	}
	return d;
}

/* Canonical bits of row i's values, label first (the hash's inputs). */
static void
row_bits(const DlfModel *m, const DlfDataset *d, int64_t i, uint64_t *v)
{
	double		y = dlf_label(d, i);

	memcpy(&v[0], &y, sizeof(y));
	for (int f = 0; f < NF; f++)
	{
		uint32_t	x = 0;

		if (m->features[f].kind == DLF_FEAT_NUMERIC)
		{
			float		a = d->num[f][i];

			if (a != a)
				x = UINT32_C(0x7fc00000);
			else if (a != 0.0f)
				memcpy(&x, &a, sizeof(x));
		}
		else
			x = (uint32_t) d->cat[f][i];
		v[1 + f] = x;
	}
}

/* The content hash train_order.c defines: label, then each feature. */
static uint64_t
row_hash(const DlfModel *m, const DlfDataset *d, int64_t i)
{
	uint64_t	v[1 + NF];
	uint64_t	h;

	row_bits(m, d, i, v);
	h = dlf_mix64(v[0] ^ UINT64_C(0x6a09e667f3bcc908));
	for (int f = 0; f < NF; f++)
		h = dlf_mix64(h + v[1 + f] + UINT64_C(0x9e3779b97f4a7c15));
	return h;
}

/* The reference sort's rows and key bits (qsort has no argument). */
static const DlfModel *ref_m;
static const DlfDataset *ref_d;
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
	row_bits(ref_m, ref_d, a, va);
	row_bits(ref_m, ref_d, b, vb);
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
order_matches(const DlfModel *m, const DlfDataset *d, int threads)
{
	TrainCtx	c;
	DlfError	err;
	int64_t		n = d->nrows;
	int			ibits = 1;
	uint32_t   *ref = malloc(sizeof(uint32_t) * n);
	int			same = 1;

	while (ibits < 31 && ((int64_t) 1 << ibits) < n)
		ibits++;
	ref_m = m;
	ref_d = d;
	ref_key = malloc(sizeof(uint64_t) * n);
	for (int64_t i = 0; i < n; i++)
	{
		ref_key[i] = row_hash(m, d, i) & ~((UINT64_C(1) << ibits) - 1);
		ref[i] = (uint32_t) i;
	}
	qsort(ref, n, sizeof(uint32_t), ref_cmp);

	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	c.m = (DlfModel *) m;
	c.data = (DlfDataset *) d;
	c.nf = NF;
	c.n = n;
	c.task = m->task;
	c.err = &err;
	if (dlf_pool_start(&c.pool, threads, &err) != DLF_OK ||
		train_canonical_order(&c) != DLF_OK)
		same = 0;
	for (int64_t p = 0; same && p < n; p++)
	{
		uint64_t	va[1 + NF],
					vb[1 + NF];

		row_bits(m, d, c.train_idx[p], va);
		row_bits(m, d, ref[p], vb);
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
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, NF - 1, 4);

	for (int s = 0; s < (int) (sizeof(sizes) / sizeof(sizes[0])); s++)
		for (int dup = 0; dup < 4; dup++)
		{
			DlfDataset *d = rows_make(m, sizes[s], dup, 88172645463325252ULL + s * 16 + dup);
			int			same = 1;

			for (int t = 1; t <= 3; t++)
				same &= order_matches(m, d, t);
			ok(same, "%lld rows, %s: the definition's order on 1, 2 and 3 threads",
			   (long long) sizes[s], kind[dup]);
			free_data(d);
		}

	/*
	 * 2^20 + 1 distinct rows keep 36 hash bits each, so about 8 pairs agree
	 * on them and are hashed again (sort_run).
	 */
	{
		DlfDataset *d = rows_make(m, (INT64_C(1) << 20) + 1, 0, 12345);

		ok(order_matches(m, d, 2), "2^20 + 1 distinct rows: the definition's order");
		free_data(d);
	}
	dlf_model_free(m);
	return done_testing();
}
