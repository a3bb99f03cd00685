/*
 * average.h
 *	  Model averaging: the weighted mean of the networks of models that
 *	  share one encoding and shape (data-parallel training, one member per
 *	  Citus shard; src/sql/46_train_distributed.sql drives the rounds).
 *
 * Pure C.  The result depends only on the members, their weights and
 * their order (the sums run in member order), so a fixed order gives
 * byte-identical models.
 */
#ifndef DLFIN_AVERAGE_H
#define DLFIN_AVERAGE_H

#include "dlfin_core.h"

/*
 * Checks that b can be averaged with a: the same task, classes, features
 * (name, kind, SQL type, mean and scale bit for bit, vocabulary), target
 * scaling and network shape, one network each, no fitted calibration.
 * DLF_ERR_INVALID with a detail naming the first difference otherwise.
 */
DlfStatus	dlf_model_averageable(const DlfModel *a, const DlfModel *b,
								  DlfError *err);

/*
 * Replaces the weights and biases of m[0] by the mean of those of
 * m[0..n), member i weighted by w[i] (finite, >= 0, not all 0); rows_train
 * and rows_valid become the sums.  Everything else of m[0] (its training
 * history, metrics, distributions) stays m[0]'s.  Every member must be
 * averageable with m[0].
 */
DlfStatus	dlf_model_average(DlfModel *const *m, const double *w, int32_t n,
							  DlfError *err);

#endif							/* DLFIN_AVERAGE_H */
