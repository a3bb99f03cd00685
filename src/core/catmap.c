/*
 * catmap.c
 *	  Category codes of many strings at once, through a hash table of a
 *	  feature's learned categories: a warm start maps every distinct value
 *	  of a text column to the init model's codes this way, in time linear
 *	  in the values and categories instead of their product.
 */
#include "dlfin_core.h"

#define CATMAP_SEED		UINT64_C(0x63617467636f6465)	/* "catgcode" */
#define CATMAP_CHECK	4096	/* strings between interrupt checks */

/* Asks the interrupt callback; nonzero to stop. */
static inline int
stop_now(DlfInterruptFn intr, void *arg)
{
	return intr != NULL && intr(arg);
}

/*
 * Writes the code of each string v[i] (len[i] bytes) for feature f of m
 * into codes[i]: its category's index, or DLF_CAT_OTHER when the feature
 * did not learn it (every string of a numeric feature).  intr, when not
 * NULL, is asked every CATMAP_CHECK strings and categories; nonzero stops
 * with DLF_ERR_INTERRUPTED.
 */
DlfStatus
dlf_category_codes(const DlfModel *m, int32_t f, const char *const *v,
				   const int32_t *len, int64_t n, int32_t *codes,
				   DlfInterruptFn intr, void *arg, DlfError *err)
{
	const DlfFeature *ft;
	uint32_t	size = 2,
				mask;
	int32_t    *slot;
	uint64_t   *hash;

	if (m == NULL || f < 0 || f >= m->nfeatures)
		return dlf_fail(err, DLF_ERR_INVALID, "feature %d does not exist", (int) f + 1);
	ft = &m->features[f];
	while (size < 2 * (uint32_t) (ft->ncat > 0 ? ft->ncat : 1))
		size *= 2;
	mask = size - 1;
	slot = dlf_alloc_array(size, sizeof(int32_t));
	hash = dlf_alloc_array(size, sizeof(uint64_t));
	if (slot == NULL || hash == NULL)
	{
		dlf_free(slot);
		dlf_free(hash);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	memset(slot, 0, sizeof(int32_t) * size);
	for (int32_t c = 0; c < ft->ncat; c++)
	{
		const char *s = ft->categories[c];
		uint64_t	h = dlf_hash64(s, strlen(s), CATMAP_SEED);
		uint32_t	i = (uint32_t) h & mask;

		if (c % CATMAP_CHECK == 0 && stop_now(intr, arg))
			goto interrupted;
		/* a duplicate lands later in its chain: the first code wins */
		while (slot[i] != 0)
			i = (i + 1) & mask;
		slot[i] = c + 1;
		hash[i] = h;
	}
	for (int64_t r = 0; r < n; r++)
	{
		uint64_t	h = dlf_hash64(v[r], (size_t) len[r], CATMAP_SEED);
		uint32_t	i = (uint32_t) h & mask;

		if (r % CATMAP_CHECK == 0 && stop_now(intr, arg))
			goto interrupted;
		codes[r] = DLF_CAT_OTHER(ft);
		for (; slot[i] != 0; i = (i + 1) & mask)
		{
			const char *c = ft->categories[slot[i] - 1];

			if (hash[i] == h && strncmp(c, v[r], (size_t) len[r]) == 0 &&
				c[len[r]] == '\0')
			{
				codes[r] = slot[i] - 1;
				break;
			}
		}
	}
	dlf_free(slot);
	dlf_free(hash);
	return DLF_OK;

interrupted:
	dlf_free(slot);
	dlf_free(hash);
	return dlf_fail(err, DLF_ERR_INTERRUPTED, "category mapping interrupted");
}
