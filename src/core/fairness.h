/*
 * fairness.h
 *	  Fairness of class decisions per group: counts, rates, adverse impact
 *	  ratio with the four-fifths rule, parity and equal-opportunity gaps.
 *
 * Pure C; dlfin_fairness (src/pg/govern_fn.c) keeps the per-group counts
 * in its aggregate state and writes these results as jsonb.
 */
#ifndef DLFIN_FAIRNESS_H
#define DLFIN_FAIRNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Decision counts of one group. */
typedef struct DlfFairCounts
{
	int64_t		n;				/* rows */
	int64_t		approved;		/* score >= threshold */
	int64_t		pos;			/* label true */
	int64_t		tp;				/* approved and label true */
	int64_t		fp;				/* approved and label false */
} DlfFairCounts;

/* Rates of one group against the reference (most-approved) group. */
typedef struct DlfFairRates
{
	double		approval_rate;	/* NaN for an empty group */
	double		tpr;			/* NaN without positives */
	double		fpr;			/* NaN without negatives */
	double		adverse_impact_ratio;	/* NaN when the reference approves none */
	bool		four_fifths_violation;	/* ratio below 0.8, tested exactly */
} DlfFairRates;

/* Counts one row: approved when score >= threshold. */
void		dlf_fair_count(DlfFairCounts *g, double score, bool label,
						   double threshold);

/* Adds the counts of src into dst. */
void		dlf_fair_add(DlfFairCounts *dst, const DlfFairCounts *src);

/* Whether counts are consistent (n >= 1, tp + fp = approved, ...). */
bool		dlf_fair_counts_valid(const DlfFairCounts *g);

/* Rates of group g given the reference group ref. */
void		dlf_fair_rates(const DlfFairCounts *g, const DlfFairCounts *ref,
						   DlfFairRates *out);

/*
 * Over n groups (given as a strided array of structs that start with
 * DlfFairCounts, in the order ties should break): the reference group
 * (highest approval rate, the first on ties; -1 when n = 0), the demographic
 * parity difference (max - min approval rate) and the equal-opportunity
 * difference (max - min TPR over groups with positives; NaN when none).
 */
int			dlf_fair_summary(const void *groups, int32_t n, size_t stride,
							 double *parity_diff, double *eo_diff);

#endif							/* DLFIN_FAIRNESS_H */
