/*
 * registry_cache.h
 *	  The registry's per-call-site lookup (registry.c) and the test a row
 *	  scored by name makes against it, inline in the scoring functions
 *	  (predict.c) so that a row scored by name makes the calls a row
 *	  scored by bytes makes.
 */
#ifndef DLFIN_REGISTRY_CACHE_H
#define DLFIN_REGISTRY_CACHE_H

#include "utils/snapmgr.h"

#include "scoring.h"

/* The looked-up deployed model; lives in DlfScoreCache.lookup. */
typedef struct RegistryCache
{
	MemoryContext cxt;			/* holds name and model; reset per lookup */
	text	   *name;			/* name looked up, NULL before the first */
	int32		version;
	bytea	   *model;			/* detoasted model bytes */
	uint64		generation;		/* counts the fetches: model's address is
								 * valid for the generation it came with */
	const void *name_arg;		/* the name datum the lookup was made for */
	bool		name_const;		/* ... a Const of the plan: its address
								 * proves its bytes for the whole query */
	/* identity of the snapshot the lookup ran under */
	uint64		completions;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
} RegistryCache;

/* True when the cached lookup ran under the active snapshot. */
static inline bool
registry_snapshot_current(const RegistryCache *r)
{
	Snapshot	snap;

	if (!ActiveSnapshotSet())
		return false;
	snap = GetActiveSnapshot();
	return snap->snapXactCompletionCount == r->completions &&
		snap->xmin == r->xmin && snap->xmax == r->xmax &&
		snap->curcid == r->curcid;
}

/*
 * True when the cached lookup was made for this name (a plain or short
 * varlena) under the active snapshot.  A constant name at the address it
 * was looked up for needs no compare.
 */
static inline bool
registry_lookup_current(const RegistryCache *r, const struct varlena *name)
{
	Size		len;

	if (r->model == NULL)		/* before the first lookup, or after a failed one */
		return false;
	if (!(r->name_const && (const void *) name == r->name_arg))
	{
		len = VARSIZE_ANY_EXHDR(name);
		if (len != VARSIZE_ANY_EXHDR(r->name) ||
			memcmp(VARDATA_ANY(name), VARDATA_ANY(r->name), len) != 0)
			return false;
	}
	return registry_snapshot_current(r);
}

/*
 * The call site's scorer when the cached lookup is current for this row's
 * name and the scorer was matched to the lookup's bytes since that lookup
 * (it forgets the address whenever it fetches again, and its buffer stays
 * in place until then): a row costs what the bytes form's cache check
 * costs, without the lookup's calls.  NULL otherwise.
 */
static inline DlfScoreCache *
dlfin_registry_hit(FunctionCallInfo fcinfo)
{
	DlfScoreCache *c = fcinfo->flinfo->fn_extra;
	const struct varlena *name = (const struct varlena *) DatumGetPointer(PG_GETARG_DATUM(0));

	if (c == NULL || c->model == NULL || c->lookup == NULL ||
		c->key.last_ptr != (const void *) ((RegistryCache *) c->lookup)->model)
		return NULL;
	if (VARATT_IS_EXTENDED(name) && !VARATT_IS_SHORT(name))
		return NULL;			/* compressed or external: the long way */
	return registry_lookup_current(c->lookup, name) ? c : NULL;
}

#endif
