/*
 * dict.c
 *	  String dictionary of the training aggregate (category vocabularies and
 *	  text labels).  Codes are dense and in arrival order; the final function
 *	  reorders them canonically, so arrival order never reaches the model.
 */
#include "postgres.h"

#include "dict.h"
#include "dlfin_core.h"

/* Hash slot of a string. */
static inline uint32
dict_hash(const char *s, int len)
{
	return (uint32) dlf_hash64(s, len, 0);
}

/* Rebuilds the slot table with room for twice the entries. */
static void
dict_grow_slots(DlfDict *d)
{
	int32		nslots = d->nslots ? d->nslots * 2 : 64;
	int32	   *slots = palloc_extended(sizeof(int32) * nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	for (int32 c = 0; c < d->n; c++)
	{
		uint32		h = dict_hash(d->str[c], d->len[c]) & (nslots - 1);

		while (slots[h])
			h = (h + 1) & (nslots - 1);
		slots[h] = c + 1;
	}
	if (d->slots)
		pfree(d->slots);
	d->bytes += sizeof(int32) * (nslots - d->nslots);
	d->slots = slots;
	d->nslots = nslots;
}

/* Returns the code of s, adding it when new; its count grows by add. */
int32
dlfin_dict_add(DlfDict *d, const char *s, int len, int64 add)
{
	uint32		h;
	int32		code;

	if (d->nslots == 0 || (d->n + 1) * 2 > d->nslots)
		dict_grow_slots(d);
	h = dict_hash(s, len) & (d->nslots - 1);
	while (d->slots[h])
	{
		code = d->slots[h] - 1;
		if (d->len[code] == len && memcmp(d->str[code], s, len) == 0)
		{
			d->count[code] += add;
			return code;
		}
		h = (h + 1) & (d->nslots - 1);
	}
	if (d->n == d->cap)
	{
		int32		cap = d->cap ? d->cap * 2 : 16;

		if (d->cap == 0)
		{
			d->str = palloc(sizeof(char *) * cap);
			d->len = palloc(sizeof(int32) * cap);
			d->count = palloc(sizeof(int64) * cap);
		}
		else
		{
			d->str = repalloc_huge(d->str, sizeof(char *) * cap);
			d->len = repalloc_huge(d->len, sizeof(int32) * cap);
			d->count = repalloc_huge(d->count, sizeof(int64) * cap);
		}
		d->bytes += (sizeof(char *) + sizeof(int32) + sizeof(int64)) * (cap - d->cap);
		d->cap = cap;
	}
	code = d->n++;
	d->str[code] = pnstrdup(s, len);
	d->len[code] = len;
	d->count[code] = add;
	d->bytes += len + 1 + 16;	/* string plus allocator overhead */
	d->slots[h] = code + 1;
	return code;
}
