/*
 * binning.h
 *	  Weight-of-evidence binning (binning.c): types and entry points.
 */
#ifndef DLFIN_BINNING_H
#define DLFIN_BINNING_H

#include "dlfin_core.h"

#define DLF_MAX_WOE_BINS	64		/* pre-bins and bins */
#define DLF_MONO_AUTO		2		/* "monotonic": "auto" */

/* Options of a binning (dlfin_binning's jsonb). */
typedef struct DlfBinOptions
{
	double		min_share;		/* least share of all rows in a bin, [0, 0.5] */
	int			max_bins;		/* at most this many bins, 2 .. 64 */
	int			prebins;		/* quantile pre-bins of a numeric feature */
	int			monotonic;		/* 1 ascending, -1 descending, 0 none, 2 auto */
} DlfBinOptions;

/* One bin: numeric (lower, upper], or categories order[first .. +ncats). */
typedef struct DlfWoeBin
{
	double		lower;			/* -inf for the first bin */
	double		upper;			/* +inf for the last bin */
	int			first;
	int			ncats;
	int64_t		n;
	int64_t		events;
	double		woe;
	double		iv;
} DlfWoeBin;

/* A finished binning. */
typedef struct DlfBinning
{
	int			nbins;
	DlfWoeBin	bins[DLF_MAX_WOE_BINS];
	DlfWoeBin	missing;		/* NULLs; n = 0 when there were none */
	int			direction;		/* event rate with the value: +1, -1, 0 */
	int			smoothed;		/* a bin's empty cell was smoothed by 0.5 */
	double		iv;				/* total, the missing bin included */
	int64_t		events;
	int64_t		non_events;
} DlfBinning;

/* Bins numeric values (reordered) with their labels; NULLs binned apart. */
DlfStatus	dlf_bin_numeric(double *x, const unsigned char *y, int64_t n,
							int64_t miss_n, int64_t miss_events,
							const DlfBinOptions *o, DlfBinning *out, DlfError *err);

/* Groups categories (counts and events per category) into bins. */
DlfStatus	dlf_bin_categorical(const int64_t *n, const int64_t *events, int ncat,
								int64_t miss_n, int64_t miss_events,
								const DlfBinOptions *o, int *order,
								DlfBinning *out, DlfError *err);

/* "useless" (< 0.02), "weak", "medium", "strong" (<= 0.5), "suspicious". */
const char *dlf_iv_strength(double iv);

#endif							/* DLFIN_BINNING_H */
