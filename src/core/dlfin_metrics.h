/*
 * dlfin_metrics.h
 *	  Metric building blocks of the dlfin core beyond dlfin_core.h, used by
 *	  the SQL aggregates: exact order-independent sums, metrics over scores
 *	  already split by class, ROC points, deciles and multiclass reports.
 *
 * Plain C11 (with the GCC/Clang __int128 extension), no PostgreSQL headers.
 */
#ifndef DLFIN_METRICS_H
#define DLFIN_METRICS_H

#include "dlfin_core.h"

/* Clipping bound of log loss, as scikit-learn's eps=1e-15. */
#define DLF_LOGLOSS_EPS		1e-15

/* Largest term an exact sum accepts (log loss terms are at most 34.54). */
#define DLF_EXACT_MAX_TERM	64.0

/*
 * Exact sum of non-negative terms below DLF_EXACT_MAX_TERM, each rounded
 * down to a multiple of 2^-64: the result does not depend on the order of
 * the additions or of merges, so parallel plans give identical results.
 */
typedef struct DlfExactSum
{
	unsigned __int128 acc;		/* sum in units of 2^-64 */
} DlfExactSum;

/* Adds term; returns 0 (and adds nothing) if term is out of range. */
int			dlf_exact_add(DlfExactSum *s, double term);
/* Merges b into a. */
void		dlf_exact_merge(DlfExactSum *a, const DlfExactSum *b);
/* The sum as a double. */
double		dlf_exact_value(const DlfExactSum *s);

/* Log loss term of one score against a 0/1 label (scikit-learn's form). */
double		dlf_logloss_term(double score, int label);

/* Sorts doubles ascending in place (no NaN allowed). */
void		dlf_sort_doubles(double *v, int64_t n);

/*
 * The same, but asks stop(arg) (may be NULL) about every million elements
 * of work and gives up when it returns nonzero: returns nonzero then, with
 * v a permutation of the input (call again to finish).  Sorted input costs
 * one pass.
 */
int			dlf_sort_doubles_until(double *v, int64_t n,
								   int (*stop) (void *arg), void *arg);

/*
 * Binary metrics from the scores of the positives and of the negatives.
 * Sorts both arrays in place (ascending), then computes everything in that
 * canonical order, so the result depends only on the two multisets.  NaN
 * scores give DLF_ERR_INVALID.  brier and ece are NaN when a score lies
 * outside [0, 1]; auc and ks are NaN unless both classes are present;
 * precision, recall, specificity and f1 are 0 when their denominator is 0
 * (scikit-learn's zero_division default); everything but counts is NaN for
 * n = 0.
 */
DlfStatus	dlf_binary_metrics_split(double *pos, int64_t npos,
									 double *neg, int64_t nneg,
									 double threshold,
									 DlfBinaryMetrics *out, DlfError *err);

/*
 * ROC curve of sorted (ascending) class scores, as scikit-learn's
 * roc_curve(drop_intermediate=False): one point per distinct score from the
 * highest down, preceded by (0, 0) at threshold max + 1.  Writes at most
 * max_points points (max_points >= 2), picked evenly by index and always
 * keeping the first and the last; returns the number written, or -1 when a
 * class is empty.  The arrays need max_points entries.
 */
int64_t		dlf_roc_points(const double *pos, int64_t npos,
						   const double *neg, int64_t nneg,
						   int64_t max_points,
						   double *thresholds, double *fpr, double *tpr);

/* One score decile of a gains table (decile 1 holds the highest scores). */
typedef struct DlfDecile
{
	int64_t		count;
	int64_t		positives;
	double		min_score, max_score;	/* NaN when empty */
	double		positive_rate;	/* NaN when empty */
	double		cumulative_capture;	/* share of all positives so far */
	double		lift;			/* positive_rate / overall rate */
} DlfDecile;

/*
 * Gains table of sorted (ascending) class scores: rows ranked by score,
 * highest first, cut into 10 groups of equal count; rows with equal scores
 * stay together, in the decile of the middle of their rank range.
 */
void		dlf_deciles(const double *pos, int64_t npos,
						const double *neg, int64_t nneg, DlfDecile out[10]);

/* Per-class and averaged figures of a multiclass confusion matrix. */
typedef struct DlfMulticlassReport
{
	int64_t		n;
	int32_t		nlabels;		/* classes present as predicted or actual */
	double		accuracy;
	double		macro_precision, macro_recall, macro_f1;
	double		weighted_precision, weighted_recall, weighted_f1;
} DlfMulticlassReport;

/*
 * Computes the report of a k x k confusion matrix cm[actual * k + predicted]
 * and, if the arrays are not NULL, per-class precision, recall, f1 and
 * support (k entries each).  Averages run over the classes that occur as
 * actual or predicted, as scikit-learn's labels=None; zero denominators
 * give 0.
 */
void		dlf_multiclass_report(const int64_t *cm, int32_t k,
								  DlfMulticlassReport *rep,
								  double *precision, double *recall,
								  double *f1, int64_t *support);

#endif							/* DLFIN_METRICS_H */
