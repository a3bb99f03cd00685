/*
 * explain_internal.h
 *	  What explain.c (integrated gradients) and explain_ens.c (its
 *	  ensembles) share: the explainer's buffers and the double-precision
 *	  pieces of the network.
 */
#ifndef DLFIN_EXPLAIN_INTERNAL_H
#define DLFIN_EXPLAIN_INTERNAL_H

#include "nn_internal.h"
#include "points.h"

#define IG_MIN_STEPS	16		/* equal intervals before refinement */
#define IG_MAX_DEPTH	24		/* halvings of one interval */
#define IG_TARGET		1e-7	/* total completeness gap aimed at */

struct DlfExplainer
{
	const DlfModel *m;
	int32_t		maxu;			/* widest layer */
	double	   *pre[DLF_MAX_HIDDEN + 1];	/* pre-activations, units[l+1] */
	double	   *post[DLF_MAX_HIDDEN + 1];	/* activations of hidden layers */
	double	   *g;				/* backward buffer, maxu */
	double	   *g2;				/* backward buffer, maxu */
	/* active inputs of the current row */
	int32_t		nact;
	int32_t    *idx;			/* input index */
	int32_t    *feat;			/* feature of the input */
	double	   *xv;				/* row value */
	double	   *bv;				/* baseline value */
	double	   *gsum;			/* integral of the gradients over alpha */
	int32_t		cap;			/* room for active inputs */
	double	   *gbuf;			/* gradients: (IG_MAX_DEPTH + 2) x cap */
	int32_t		nint;			/* intervals accepted */
	double	   *probs;			/* the scorer's outputs, nclasses (or 1) */
	int32_t    *bidx;			/* the baseline row's entries, one per */
	float	   *bval;			/* feature */
	DlfInterruptFn intr;		/* interrupt callback, or NULL */
	void	   *intr_arg;
	DlfStatus	stop;			/* why the integral stopped, or DLF_OK */
	const DlfPointsScale *points;	/* explain points (binary), or NULL */
	double	   *eout;			/* ensemble: members' probabilities */
};

/* Hidden activation of a pre-activation value (as nn.c, in double). */
static inline double
act_f(int act, double v)
{
	switch (act)
	{
		case DLF_ACT_RELU:
			return v > 0.0 ? v : 0.0;
		case DLF_ACT_LEAKY_RELU:
			return v > 0.0 ? v : DLF_LEAKY_SLOPE * v;
		case DLF_ACT_TANH:
			return tanh(v);
		case DLF_ACT_SIGMOID:
			return 1.0 / (1.0 + exp(-v));
	}
	return v;
}

/* Derivative of the hidden activation from pre-activation v and output a. */
static inline double
act_d(int act, double v, double a)
{
	switch (act)
	{
		case DLF_ACT_RELU:
			return v > 0.0 ? 1.0 : 0.0;
		case DLF_ACT_LEAKY_RELU:
			return v > 0.0 ? 1.0 : DLF_LEAKY_SLOPE;
		case DLF_ACT_TANH:
			return 1.0 - a * a;
		case DLF_ACT_SIGMOID:
			return a * (1.0 - a);
	}
	return 1.0;
}

/* Softmax of the n logits z into p, in double, the largest subtracted first. */
static inline void
explain_softmax(const double *z, double *p, int32_t n)
{
	double		mx = z[0],
				sum = 0.0;

	for (int32_t j = 1; j < n; j++)
		if (z[j] > mx)
			mx = z[j];
	for (int32_t j = 0; j < n; j++)
		sum += (p[j] = exp(z[j] - mx));
	for (int32_t j = 0; j < n; j++)
		p[j] /= sum;
}

/* explain.c */
double		explain_iso_slope(const DlfModel *m, double p);
const double *explain_forward(DlfExplainer *e, int32_t mem, double alpha);
void		explain_backward(DlfExplainer *e, int32_t mem, double *grad);

/* explain_ens.c */
double		ens_eval_point(DlfExplainer *e, double alpha, int32_t klass,
						   int32_t *klass_out, double *grad);

#endif							/* DLFIN_EXPLAIN_INTERNAL_H */
