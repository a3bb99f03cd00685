/*
 * metrics_internal.h
 *	  What the evaluation aggregates (metrics.c, metrics_sum.c,
 *	  metrics_reg.c, metrics_mc.c) share: serial format magics, the memory
 *	  limit of their buffers, NaN checks, the NULL-for-NaN return.
 *
 * Every aggregate keeps an internal state in the aggregate memory context,
 * has combine, serial and deserial functions (so it runs in parallel plans)
 * and computes its result in the final function after putting the state in
 * a canonical order, so that the result does not depend on scan or merge
 * order.  The buffers of exact metrics are bounded by
 * dlfin.max_training_memory.
 */
#ifndef DLFIN_METRICS_INTERNAL_H
#define DLFIN_METRICS_INTERNAL_H

#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "aggutil.h"
#include "dlfin_pg.h"
#include "dlfin_metrics.h"

/* Serial format magics and version: checked on deserialisation. */
#define BIN_MAGIC		0x444c4642	/* "DLFB" */
#define SUM_MAGIC		0x444c4653	/* "DLFS" */
#define REG_MAGIC		0x444c4652	/* "DLFR" */
#define MC_MAGIC		0x444c464d	/* "DLFM" */
#define SERIAL_VERSION	1

/* ---- shared helpers ---- */

/* Raises the out-of-memory error for a state that would exceed the GUC. */
static inline void
memory_limit_error(const char *what, int64 rows, Size bytes_per_row)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("%s needs more memory than dlfin.max_training_memory allows",
					what),
			 errdetail("It keeps %zu bytes per row, and %lld rows need more than %d kB.",
					   bytes_per_row, (long long) rows,
					   dlfin_max_training_memory),
			 errhint("Raise dlfin.max_training_memory, or evaluate a sample of the rows.")));
}

/* Returns a capacity of at least need elements within the memory limit. */
static inline int64
grow_capacity(int64 have, int64 need, Size elsize, const char *what)
{
	int64		limit = (int64) dlfin_max_training_memory * 1024 / (int64) elsize;
	int64		cap = have > 0 ? have : 256;

	if (need > limit)
		memory_limit_error(what, need, elsize);
	while (cap < need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	return cap;
}

/* Rejects a NaN input value. */
static inline void
check_not_nan(double v, const char *name)
{
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be NaN", name)));
}

/* Returns a float8 datum, or SQL NULL for NaN. */
#define RETURN_METRIC(v) \
	do { \
		double ret_ = (v); \
		if (isnan(ret_)) \
			PG_RETURN_NULL(); \
		PG_RETURN_FLOAT8(ret_); \
	} while (0)

#endif							/* DLFIN_METRICS_INTERNAL_H */
