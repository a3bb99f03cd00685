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
/* Copies the rows whose fold is (in) or is not (!in) k into out. */
DlfStatus	cv_subset(const DlfModel *m, const DlfDataset *src,
					  const uint8_t *fold, int k, int in, DlfDataset *out,
					  DlfError *err);
/* Frees what cv_subset allocated. */
void		cv_subset_free(DlfDataset *d);

#endif							/* DLFIN_CV_INTERNAL_H */
