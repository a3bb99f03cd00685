/*
 * ensemble.h
 *	  Scoring several networks as one (private to the core): the mean of
 *	  their probabilities, handed on as logits so that every consumer of
 *	  logits (scorer, validation, calibration, importance, distributions)
 *	  works on an ensemble unchanged.
 */
#ifndef DLFIN_ENSEMBLE_H
#define DLFIN_ENSEMBLE_H

#include "nn_internal.h"

typedef struct DlfEnsNets
{
	int32_t		k;				/* members */
	int			task;
	int32_t		nout;
	int32_t		cap;			/* rows of acc */
	NnNet	   *net;			/* [k] views of the members' parameters */
	double	   *acc;			/* per row and channel: running max, sum */
	float	   *z;				/* [k][nout]: one row's members' logits */
} DlfEnsNets;

/* Views of model m's members for up to cap rows at a time. */
DlfStatus	dlf_ens_nets_init(DlfEnsNets *en, const DlfModel *m, int32_t cap,
							  DlfError *err);
void		dlf_ens_nets_free(DlfEnsNets *en);

/* nn_forward_rows of the ensemble: combined logits in w->act[nlayers - 1]. */
void		dlf_ens_forward_rows(DlfEnsNets *en, const NnBatch *bt, NnWork *w);

/* nn_forward_row of the ensemble: combined logits in act[nlayers - 1]. */
float		dlf_ens_forward_row(DlfEnsNets *en, const int32_t *idx,
								const float *val, int32_t nnz,
								float *const *act);

/* A copy of m's schema (features, classes, governance requests; cv.c). */
DlfModel   *dlf_model_schema_copy(const DlfModel *m);

#endif							/* DLFIN_ENSEMBLE_H */
