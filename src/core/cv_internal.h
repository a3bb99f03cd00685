/*
 * cv_internal.h
 *	  The deterministic folds of cv.c, shared with cv_eval.c (dlfin_cv).
 */
#ifndef DLFIN_CV_INTERNAL_H
#define DLFIN_CV_INTERNAL_H

#include "dlfin_core.h"

/*
 * Stratified folds of the rows, fold[i] in [0, k), by content only (the
 * same multiset of rows gives the same folds in any order); DLF_ERR_INVALID
 * when a class has fewer rows than folds.
 */
DlfStatus	cv_folds(const DlfModel *m, const DlfDataset *d, int k,
					 uint8_t *fold, DlfError *err);
/* The rows in content order (class, hash, content): ord[0..nrows). */
DlfStatus	cv_order(const DlfModel *m, const DlfDataset *d, uint32_t *ord,
					 DlfError *err);
/*
 * Out-of-fold figures of a "cv" ensemble (cv_oof.c): each row scored by
 * the fold fit fits[fold[row]] that did not train on it; the validation
 * metrics and permutation importances of m from those scores.
 */
DlfStatus	cv_oof(DlfModel *m, DlfModel *const *fits, int k,
				   const uint8_t *fold, const DlfDataset *data, uint64_t seed,
				   const DlfTrainHooks *hooks, DlfError *err);
/* Copies the rows whose fold is (in) or is not (!in) k into out. */
DlfStatus	cv_subset(const DlfModel *m, const DlfDataset *src,
					  const uint8_t *fold, int k, int in, DlfDataset *out,
					  DlfError *err);
/* Frees what cv_subset allocated. */
void		cv_subset_free(DlfDataset *d);

/* Each held-out row's output, label and class (cv_score_rows). */
typedef struct CvRows
{
	double	   *score;			/* output 0 (binary: the logit) */
	double	   *label;
	int32_t    *pred;			/* classifiers: the class of the top output */
	int32_t    *act;			/* the label as a class index */
	uint8_t    *bin;			/* binary: label > 0.5 */
	int64_t		overflowed;		/* rows the scorer could not score */
} CvRows;

/* Scores the rows of d with model fm, with the scorer's bits. */
DlfStatus	cv_score_rows(const DlfModel *fm, const DlfDataset *d, CvRows *r,
						  DlfError *err);
/* Frees what cv_score_rows allocated. */
void		cv_rows_free(CvRows *r);

#endif							/* DLFIN_CV_INTERNAL_H */
