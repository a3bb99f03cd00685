/*
 * mcache.c
 *	  Identity of the model a scoring cache holds: a private copy of the
 *	  datum bytes it was decoded from, compared byte for byte.
 *
 * A cache is consulted once a row, so the identity must be cheap, and it
 * must never be fooled: two models with the same length, the same headers
 * and the same CRC-32 are still two models, and freed memory comes back at
 * the same address with other bytes in it.  So the key decides by the
 * bytes: memcmp of the whole datum as the caller passes it (a TOAST
 * pointer is 18 bytes, compressed bytes are what is stored), which costs
 * far less than decoding and, for inline models, about as much as reading
 * the weights once.  The address alone is trusted only when the caller
 * proves that the same address holds the same bytes for the life of the
 * cache (a constant of the query plan).
 */
#include "dlfin_core.h"

#include <string.h>

/* Forgets the cached bytes (frees the copy). */
void
dlf_model_key_clear(DlfModelKey *k)
{
	dlf_free(k->bytes);
	k->bytes = NULL;
	k->len = 0;
	k->last_ptr = NULL;
}

/*
 * Remembers len bytes at p as the cached model's identity (copied with the
 * core allocator); trust_ptr as in DlfModelKey.  DLF_ERR_NOMEM when the
 * copy cannot be made (the key is then empty).
 */
DlfStatus
dlf_model_key_set(DlfModelKey *k, const void *p, size_t len, int trust_ptr,
				  DlfError *err)
{
	dlf_model_key_clear(k);
	k->bytes = dlf_alloc(len > 0 ? len : 1);
	if (k->bytes == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	memcpy(k->bytes, p, len);
	k->len = len;
	k->last_ptr = p;
	k->trust_ptr = trust_ptr != 0;
	return DLF_OK;
}
