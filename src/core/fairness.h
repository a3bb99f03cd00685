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
	/*
	 * Sum of the scores and of their squares, each as an unevaluated sum
	 * hi + lo of two doubles (error-free transformations), so that the
	 * moments hardly depend on the order rows and states are added in:
	 * parallel plans give the same means as serial ones.
	 */
	double		score_sum[2];
	double		score_sq[2];
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

/*
 * Significance of a group's approvals against the reference group's: the
 * 2x2 table (approved, denied) x (group, reference).  The test is Fisher's
 * exact test (two-sided) when an expected cell count is below
 * DLF_FAIR_EXACT_BELOW, else the pooled two-proportion z-test (two-sided).
 */
#define DLF_FAIR_EXACT_BELOW	5.0

typedef struct DlfFairTest
{
	bool		exact;			/* Fisher's exact test, else the z-test */
	double		z;				/* z statistic, NaN for the exact test */
	double		p_value;		/* two-sided */
	double		marginal_effect;	/* approval rate minus the reference's */
	double		smd;			/* standardised mean difference of scores */
	bool		practically_significant;	/* ratio < 0.8 and p < 0.05 */
} DlfFairTest;

/*
 * Two-sided p-value of Fisher's exact test of the table [[a, b], [c, d]]:
 * the probability, under the hypergeometric law with the margins fixed, of
 * the tables no more probable than the observed one (within a relative
 * 1e-7, R's rule for ties).
 */
double		dlf_fisher_exact(int64_t a, int64_t b, int64_t c, int64_t d);

/*
 * Pooled two-proportion z statistic of x1 / n1 against x2 / n2 (into *z)
 * and its two-sided p-value erfc(|z| / sqrt 2); NaN when undefined.
 */
double		dlf_two_prop_z(int64_t x1, int64_t n1, int64_t x2, int64_t n2,
						   double *z);

/*
 * Cohen's d: (mean1 - mean2) / pooled standard deviation, the pooled
 * variance (m2_1 + m2_2) / (n1 + n2 - 2); NaN when it is zero or undefined.
 */
double		dlf_smd(int64_t n1, double mean1, double m2_1,
					int64_t n2, double mean2, double m2_2);

/* Mean score of a group and the sum of squared deviations from it. */
void		dlf_fair_moments(const DlfFairCounts *g, double *mean, double *m2);

/* The significance of group g against the reference group ref. */
void		dlf_fair_test(const DlfFairCounts *g, const DlfFairCounts *ref,
						  DlfFairTest *out);

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
