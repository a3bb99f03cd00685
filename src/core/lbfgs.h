/*
 * lbfgs.h
 *	  Full-batch L-BFGS minimiser of the core (internal; see lbfgs.c).
 */
#ifndef DLFIN_LBFGS_H
#define DLFIN_LBFGS_H

#include "dlfin_core.h"

/* stop when the relative decrease of the loss falls to this */
#define LBFGS_FTOL		1e-7
/* or the gradient's norm falls to this */
#define LBFGS_GTOL		1e-6

typedef struct DlfLbfgsProblem
{
	/* loss *f and gradient g[n] at x; a non-finite *f is rejected */
	DlfStatus	(*eval) (void *arg, const float *x, float *g, double *f,
						 DlfError *err);
	/* projects x onto the feasible set in place, or NULL */
	void		(*project) (void *arg, float *x);
	/* nonzero to stop (checked every iteration and line-search step) */
	int			(*interrupted) (void *arg);
	/* after each accepted step, or NULL */
	void		(*iteration_done) (void *arg, int32_t iter, double loss);
	void	   *arg;
} DlfLbfgsProblem;

typedef struct DlfLbfgsResult
{
	int32_t		iterations;		/* accepted steps */
	int32_t		evals;			/* objective evaluations in line searches */
	double		loss;			/* at the returned x */
	int			converged;		/* a tolerance was met before max_iter */
	int			diverged;		/* the starting loss was not finite */
} DlfLbfgsResult;

/*
 * Minimises the objective from x, in place, for at most max_iter
 * iterations.  Every accepted step decreases the loss.
 */
DlfStatus	dlf_lbfgs(const DlfLbfgsProblem *p, float *x, int64_t n,
					  int32_t max_iter, DlfLbfgsResult *res, DlfError *err);

#endif							/* DLFIN_LBFGS_H */
