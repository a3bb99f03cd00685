/*
 * dlfin.c
 *	  Module entry point: GUCs and the core's allocator.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "dlfin_core.h"
#include "dlfin_pg.h"

PG_MODULE_MAGIC;

int			dlfin_max_training_memory = 1024 * 1024;	/* kB */
int			dlfin_threads = 0;
bool		dlfin_drop_registry = false;

/* Core allocations go to the current memory context; NULL on failure. */
static void *
pg_core_alloc(size_t size)
{
	return MemoryContextAllocExtended(CurrentMemoryContext, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

/* Frees a core allocation. */
static void
pg_core_free(void *ptr)
{
	pfree(ptr);
}

void		_PG_init(void);

/* Defines the GUCs and installs the allocator. */
void
_PG_init(void)
{
	dlf_set_allocator(pg_core_alloc, pg_core_free);

	DefineCustomIntVariable("dlfin.max_training_memory",
							"Maximum memory for the rows buffered by one dlfin aggregate.",
							"Training data, exact metric buffers and similar per-aggregate buffers are bounded by this value.",
							&dlfin_max_training_memory,
							1024 * 1024, 64, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("dlfin.threads",
							"Number of threads used to train one model (0 means one per CPU core, at most 8).",
							NULL,
							&dlfin_threads,
							0, 0, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("dlfin.drop_registry",
							 "Allows DROP EXTENSION dlfin to drop registered models with the extension.",
							 "Off, dropping the extension (or its schema) is refused while dlfin.models has rows.",
							 &dlfin_drop_registry,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("dlfin");

	dlfin_citus_init();
}
