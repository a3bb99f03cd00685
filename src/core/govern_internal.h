/*
 * govern_internal.h
 *	  What the governance files share (private to them): the batch scorer.
 */
#ifndef DLFIN_GOVERN_INTERNAL_H
#define DLFIN_GOVERN_INTERNAL_H

#include "nn_internal.h"
#include "pool.h"

#define IMP_REPEATS		5		/* permutations per feature */
#define IMP_MAX_ROWS	20000	/* validation rows used for importance */
#define GOV_BATCH		256
#define PLATT_ITERS		100

typedef struct Gov
{
	DlfModel   *m;
	const DlfDataset *d;
	const DlfTrainHooks *hooks;
	DlfError   *err;
	NnNet		net;
	NnBatch		bt;
	NnWork		work;
	double	   *inv_scale;
	struct DlfEnsNets *ens;		/* an ensemble's members, or NULL */
	DlfPool    *pool;			/* threads for the passes over all rows */
	struct Gov *threads;		/* a Gov per pool thread ([0]: a copy) */
} Gov;


/* govern.c */
int			gov_interrupted(const Gov *g);
DlfStatus	gov_open(Gov *g, DlfModel *m, const DlfDataset *data,
					 const DlfTrainHooks *hooks, DlfError *err, DlfPool *pool);
void		gov_close(Gov *g);
DlfStatus	gov_logits(Gov *g, const uint32_t *rows, int64_t n, int32_t pf,
					   const uint32_t *src, float *z);
double		gov_score_of(const DlfModel *m, const float *z);

/* calibrate.c */
DlfStatus	gov_calibrate(Gov *g, const uint32_t *rows, int64_t n);

/* importance.c */
DlfStatus	gov_importance(Gov *g, const uint32_t *rows, int64_t n,
						   uint64_t seed);
/* Logits of rows (feature pf of row i from row src[i] when pf >= 0). */
typedef DlfStatus (*GovLogitsFn) (void *arg, const uint32_t *rows, int64_t n,
								  int32_t pf, const uint32_t *src, float *z);
DlfStatus	gov_importance_by(Gov *g, const uint32_t *rows, int64_t n,
							  uint64_t seed, GovLogitsFn fn, void *arg,
							  double *imp);

/* distributions.c */
DlfStatus	gov_distributions(Gov *g);

#endif							/* DLFIN_GOVERN_INTERNAL_H */
