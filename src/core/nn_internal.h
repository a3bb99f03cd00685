/*
 * nn_internal.h
 *	  Internal interface of the multilayer perceptron: kernels, the network
 *	  view used by training and scoring, forward and backward passes.
 *
 * Not part of the public core interface; the unit tests include it to check
 * gradients against a double-precision reference.
 */
#ifndef DLFIN_NN_INTERNAL_H
#define DLFIN_NN_INTERNAL_H

#include "dlfin_core.h"

#include <math.h>

/*
 * Hot kernels get x86-64-v4 (AVX-512) and x86-64-v3 (AVX2 + FMA) variants
 * chosen at load time, with a portable default.  The kernels never
 * reassociate a sum (each output is accumulated in a fixed order), so a
 * given variant is deterministic; the FMA variants round a*b+c once, so
 * their bits can differ from the default variant's (pre-2013 CPUs).
 */
#ifndef DLF_KERNEL				/* -DDLF_KERNEL= builds one variant only */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
	defined(__linux__) && __GNUC__ >= 11
#define DLF_KERNEL __attribute__((target_clones("arch=x86-64-v4", \
												"arch=x86-64-v3", "default")))
#define DLF_KERNEL_CLONES 1
#else
#define DLF_KERNEL
#endif
#endif

#define DLF_LEAKY_SLOPE 0.01f

/* tanh of a float with the same bits on every build (see nn.c). */
float		dlf_tanhf(float x);

/* A view of the network's parameters (model arrays or a training buffer). */
typedef struct NnNet
{
	int32_t		nlayers;
	int32_t		units[DLF_MAX_HIDDEN + 2];
	int			activation;		/* DlfActivation of hidden layers */
	float	   *W[DLF_MAX_HIDDEN + 1];	/* units[l] x units[l+1] */
	float	   *b[DLF_MAX_HIDDEN + 1];	/* units[l+1] */
	int			row_small;		/* set by nn_row_plan: nn_forward_row may
								 * take its path for small networks (same
								 * bits either way) */
	int			row_lanes;		/* set by nn_row_plan: the vector width
								 * nn_forward_row runs at on this CPU (0:
								 * decided at each call) */
	int			skip;			/* has a linear skip path ("skip": true) */
	float	   *S;				/* its weights, units[0] x units[nlayers],
								 * added to the logits; NULL without */
} NnNet;

/*
 * A mini-batch.  The first layer's input is sparse: each row has up to
 * `maxent' (input index, value) entries, nnz[r] of them used, in ascending
 * input order: one per feature (a numeric input even when it is 0, the
 * one-hot input of a category with value 1).
 */
typedef struct NnBatch
{
	int32_t		rows;
	int32_t		maxent;
	int32_t    *idx;			/* [cap * maxent] */
	float	   *val;			/* [cap * maxent] */
	int32_t    *nnz;			/* [cap] */
	float	   *target;			/* [cap]: class index or scaled target */
	float	   *weight;			/* [cap]: loss weight of the row */
} NnBatch;

/* Per-batch activations, deltas and dropout masks for up to cap rows. */
typedef struct NnWork
{
	int32_t		cap;
	int			dropout;		/* in[] has own buffers (else aliases act[]) */
	float	   *act[DLF_MAX_HIDDEN + 1];	/* layer outputs; last = logits */
	float	   *mask[DLF_MAX_HIDDEN + 1];	/* dropout scale per hidden unit,
											 * or NULL */
	float	   *in[DLF_MAX_HIDDEN + 1]; /* input of layer l >= 1 (after
										 * dropout; = act[l-1] without) */
	float	   *delta;			/* [cap * maxunits] */
	float	   *delta2;			/* [cap * maxunits] */
	float	   *wt;				/* transposed weights, max layer size */
	int			lanes;			/* vector width of the batch kernels: 0 (as
								 * nn_work_alloc leaves it) for this CPU's,
								 * LANES_CPU(); tests set 16, 8 or 4 to run
								 * the other widths' code, same bits */
} NnWork;

/* Allocates a batch for cap rows and maxent entries per row. */
DlfStatus	nn_batch_alloc(NnBatch *bt, int32_t cap, int32_t maxent,
						   DlfError *err);
void		nn_batch_free(NnBatch *bt);

/* Allocates workspace for cap rows; with_dropout adds mask buffers. */
DlfStatus	nn_work_alloc(NnWork *w, const NnNet *net, int32_t cap,
						  int with_dropout, DlfError *err);
void		nn_work_free(NnWork *w);

/*
 * Forward pass of bt->rows rows.  When dropout masks are given (training)
 * the hidden outputs are multiplied by them.  Logits end in
 * w->act[nlayers - 1], rows x units[nlayers].
 */
void		nn_forward(const NnNet *net, const NnBatch *bt, NnWork *w,
					   int use_mask);

/*
 * Forward pass of one row given as nnz first-layer entries (one per feature,
 * as in NnBatch; idx NULL: entry k is input k); act[l] receives layer l's
 * output (units[l+1] floats).  Returns the first output (the logit of a
 * binary or regression model).
 * Its order of operations (see nn.c) defines every score dlfin reports; it
 * differs from nn_forward's, which only serves the gradient.
 */
float		nn_forward_row(const NnNet *net, const int32_t *idx,
						   const float *val, int32_t nnz, float *const *act);

/* Chooses nn_forward_row's path for the net's shape (sets row_small). */
void		nn_row_plan(NnNet *net);

/*
 * nn_forward_row on each row of bt, without dropout: logits in
 * w->act[nlayers - 1], rows x units[nlayers], as nn_forward leaves them.
 * Evaluation on training rows (validation, calibration, importance, score
 * distribution) goes through here, so it gives dlfin_predict's bits.
 */
void		nn_forward_rows(const NnNet *net, const NnBatch *bt, NnWork *w);

/*
 * Loss of the logits in w: returns the sum of weight * loss over the rows
 * and, when want_grad, leaves dLoss/dlogit / scale in w->delta where loss
 * is the per-row weighted loss (scale is usually the batch size).
 */
double		nn_loss(int task, const NnNet *net, const NnBatch *bt, NnWork *w,
					int want_grad, float scale);

/*
 * Backward pass after nn_forward and nn_loss(want_grad): writes the
 * gradient of sum(weight * loss) / scale + l2/2 * |W|^2 into grad (same
 * layout as the net: grad->W[l], grad->b[l]); overwrites, not accumulates.
 */
void		nn_backward(const NnNet *net, const NnBatch *bt, NnWork *w,
						int use_mask, float l2, NnNet *grad);

/*
 * nn_backward with precomputed transposes: wt[l] (l >= 1) holds W[l]
 * transposed, units[l+1] x units[l]; wt NULL transposes into w->wt.
 */
void		nn_backward_wt(const NnNet *net, const NnBatch *bt, NnWork *w,
						   int use_mask, float l2, NnNet *grad,
						   const float *const *wt);

/*
 * Scores a row given as its first-layer entries (input idx[f], value
 * val[f] for each feature f, as training encodes rows) with the scorer's
 * kernel; out as dlf_scorer_run.
 */
int			dlf_scorer_run_entries(DlfScorer *s, const int32_t *idx,
								   const float *val, double *out);

/*
 * The skip path's weights are penalised with l2 times this (doc/quality.md):
 * the penalties that suit a network's hidden weights (alpha 3..30 in
 * scikit-learn's scaling) are stronger than what suits a linear model
 * (logistic regression's default is alpha 1).
 */
#ifndef DLF_SKIP_L2_SCALE
#define DLF_SKIP_L2_SCALE	0.1f
#endif

/*
 * The linear skip path (nn_skip.c): the inputs feed the logits directly
 * through net->S.  nn_skip_forward adds it to a batch's logits (gradient
 * only); nn_skip_backward writes dS = sum_r x_r G_r + DLF_SKIP_L2_SCALE *
 * l2 * S (overwrites);
 * nn_skip_row adds it to one row's logits in the one-row kernel's fixed
 * order (idx NULL: entry k is input k): for each output j, a sum from +0
 * over the entries in order, then logit_j + sum.
 */
void		nn_skip_forward(const NnNet *net, const NnBatch *bt, float *logits);
void		nn_skip_backward(const NnNet *net, const NnBatch *bt,
							 const float *G, float l2, float *dS);
void		nn_skip_row(const NnNet *net, const int32_t *idx, const float *val,
						int32_t nnz, float *logits);

/* Unweighted per-row loss of one row's logits (double precision). */
double		nn_row_loss(int task, const float *z, int32_t nout, float target);

/*
 * Projects the parameters onto the monotone-constrained set of the model's
 * features (govern.c): first-layer weights of an input with constraint s
 * get sign s, every deeper weight is non-negative.  With init, weights are
 * reflected (absolute values) instead of clipped, keeping the scale of a
 * fresh initialisation.  Does nothing when no feature is constrained.
 */
int32_t		dlf_iso_segment(const DlfModel *m, double p);
void		dlf_monotone_project(const DlfModel *m, NnNet *net, int init);
void		dlf_monotone_project_range(const DlfModel *m, NnNet *net,
									   const float *base, int64_t lo,
									   int64_t hi);

/*
 * After training: permutation importance and calibration on the validation
 * rows valid_idx[0..nvalid), training distributions of every feature and
 * of the score over all rows of data.  Deterministic given seed.  The
 * passes over all rows are split among the threads of pool (NULL: the
 * caller alone); the results do not depend on the pool.
 */
struct DlfPool;
DlfStatus	dlf_govern_fit_pool(DlfModel *m, const DlfDataset *data,
								const uint32_t *valid_idx, int64_t nvalid,
								uint64_t seed, const DlfTrainHooks *hooks,
								DlfError *err, struct DlfPool *pool);

#endif							/* DLFIN_NN_INTERNAL_H */
