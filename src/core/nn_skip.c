/*
 * nn_skip.c
 *	  The linear skip path ("skip": true, wide & deep): the network's
 *	  encoded inputs also feed its output units directly through a weight
 *	  matrix S (units[0] x units[nlayers], row-major by input like W[0]),
 *	  so the network contains logistic (or linear, or softmax) regression
 *	  as the special case of zero hidden weights.  S has no bias: the
 *	  output layer's bias serves both paths.
 *
 * Compiled without FMA contraction, like the one-row kernel (nn_row.c):
 * nn_skip_row is part of the bits of every score.  The batch functions
 * only feed the gradient.
 */
#include "nn_internal.h"

#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif

/* Adds sum_e val[e] * S[idx[e]] to each row's logits (gradient path). */
void
nn_skip_forward(const NnNet *net, const NnBatch *bt, float *logits)
{
	int32_t		nout = net->units[net->nlayers];

	for (int32_t r = 0; r < bt->rows; r++)
	{
		const int32_t *ix = bt->idx + (size_t) r * bt->maxent;
		const float *vx = bt->val + (size_t) r * bt->maxent;

		nn_skip_row(net, ix, vx, bt->nnz[r], logits + (size_t) r * nout);
	}
}

/* dS = sum over rows of x_r (sparse) times G_r, rows in order, + scaled l2 * S. */
void
nn_skip_backward(const NnNet *net, const NnBatch *bt, const float *G,
				 float l2, float *dS)
{
	int32_t		nin = net->units[0];
	int32_t		nout = net->units[net->nlayers];

	memset(dS, 0, sizeof(float) * (size_t) nin * nout);
	for (int32_t r = 0; r < bt->rows; r++)
	{
		const float *g = G + (size_t) r * nout;
		const int32_t *ix = bt->idx + (size_t) r * bt->maxent;
		const float *vx = bt->val + (size_t) r * bt->maxent;

		for (int32_t e = 0; e < bt->nnz[r]; e++)
		{
			float	   *dk = dS + (size_t) ix[e] * nout;

			for (int32_t j = 0; j < nout; j++)
				dk[j] += vx[e] * g[j];
		}
	}
	if (l2 != 0.0f)
	{
		float		ls = l2 * DLF_SKIP_L2_SCALE;

		for (size_t i = 0; i < (size_t) nin * nout; i++)
			dS[i] += ls * net->S[i];
	}
}

/* Adds the skip path to one row's logits in the fixed scoring order. */
void
nn_skip_row(const NnNet *net, const int32_t *idx, const float *val,
			int32_t nnz, float *logits)
{
	int32_t		nout = net->units[net->nlayers];

	for (int32_t j = 0; j < nout; j++)
	{
		float		s = 0.0f;

		for (int32_t e = 0; e < nnz; e++)
			s += val[e] * net->S[(size_t) (idx ? idx[e] : e) * nout + j];
		logits[j] = logits[j] + s;
	}
}
