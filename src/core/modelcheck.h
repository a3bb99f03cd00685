/*
 * modelcheck.h
 *	  Checks of a trained model drawn on its card: monotone constraints by
 *	  sweeps, and performance per group of held-out rows.
 *
 * Pure C, no PostgreSQL headers: the glue (src/pg/card_page.c) turns the
 * results into HTML.
 */
#ifndef DLFIN_MODELCHECK_H
#define DLFIN_MODELCHECK_H

#include <stdbool.h>

#include "dlfin_core.h"

#define DLF_MONO_STEPS		41	/* points per sweep, mean -3 sd to +3 sd */
#define DLF_MONO_CONTEXTS	200	/* random contexts of the other features */

/* Outcome of checking one feature's monotone constraint. */
typedef struct DlfMonotoneCheck
{
	int64_t		violations;		/* sweeps with a step against the constraint */
	double		worst;			/* largest step against it, as a value <= 0 */
	double		first;			/* score at the low end of the baseline sweep */
	double		last;			/* score at the high end of the baseline sweep */
} DlfMonotoneCheck;

/*
 * Sweeps numeric feature f of m (features[f].monotone != 0) over
 * DLF_MONO_STEPS points, once with the other features at their baseline and
 * in DLF_MONO_CONTEXTS seeded random contexts; out holds the scorer's
 * outputs.  DLF_ERR_INTERRUPTED when intr (may be NULL) asks to stop.
 */
DlfStatus	dlf_monotone_check(DlfScorer *sc, const DlfModel *m, int f,
							   double *out, DlfInterruptFn intr, void *arg,
							   DlfMonotoneCheck *res, DlfError *err);

/* Performance of one group of held-out rows. */
typedef struct DlfGroupPerf
{
	int64_t		row;			/* a row of the group: group[row] names it */
	int64_t		n;				/* rows */
	int64_t		positives;		/* rows labelled positive */
	double		mean_score;
	double		auc;			/* NaN unless both classes are present */
} DlfGroupPerf;

/*
 * Groups the n held-out rows by group[] (NULL is a group, ordered first;
 * the others in byte order) and fills out[] with at most max_groups groups;
 * *ngroups is their number and *more is set when further groups exist.
 * Scores must not be NaN.
 */
DlfStatus	dlf_group_performance(const double *score, const bool *label,
								  char *const *group, int64_t n,
								  int max_groups, DlfGroupPerf *out,
								  int *ngroups, bool *more,
								  DlfInterruptFn intr, void *arg,
								  DlfError *err);

#endif							/* DLFIN_MODELCHECK_H */
