/*
 * nn_train_lanes.h
 *	  The batch kernels' full 16-unit tiles (nn.c) for vectors of TRL_LANES
 *	  floats, for the kernel variants whose CPU has no 16-float registers:
 *	  GCC lowers nn.c's 16-float tiles through memory there (an x86-64-v3
 *	  build trained [32, 16] at 4.5 GFLOP/s against 20 with AVX-512).
 *
 * A template, included by nn.c once per width with TRL_V (the float vector
 * type), TRL_VU (its unaligned, may_alias twin), TRL_LANES, TRL_ROWS and
 * TRL_FN (a name suffix) defined.  A tile here is two vectors
 * (2 * TRL_LANES units) for TRL_ROWS rows (or inputs), then 4, then 1
 * (the sparse layer's: 4 rows, then 1): with 6, 12 accumulators, which
 * fit the 16 registers of AVX2 and SSE beside the two weight vectors and a
 * broadcast (7 % faster on [256, 256] than 4 with AVX2).  It covers the
 * same units as nn.c's tiles (those below the last multiple of 16; nn.c's
 * plain loops do the rest), and each lane performs exactly the operations
 * of nn.c's tiles on its output: the bias (or +0), then x * w added in
 * input (or row) order, the product and the add written as one expression
 * as there, so FMA variants contract them alike.  So every output has the bits nn.c's tiles give it.
 */

/* Loads / stores TRL_LANES floats at any address. */
#define TRL_LOAD(p)		(*(const TRL_VU *) (p))
#define TRL_STORE(p, v)	(*(TRL_VU *) (p) = (v))

/* Sparse first layer, units j0 .. j0 + 2 * TRL_LANES - 1 of R rows from r. */
INLINE void
TRL_FN(trl_sparse_tile) (const NnBatch *bt, int32_t r, int R,
						 const float *restrict W, const float *restrict bias,
						 int32_t nout, int32_t j0, float *restrict out)
{
	TRL_V		a0[4],
				a1[4];
	int32_t		maxnnz = 0;

	for (int rr = 0; rr < R; rr++)
	{
		a0[rr] = TRL_LOAD(bias + j0);
		a1[rr] = TRL_LOAD(bias + j0 + TRL_LANES);
		if (bt->nnz[r + rr] > maxnnz)
			maxnnz = bt->nnz[r + rr];
	}
	for (int32_t e = 0; e < maxnnz; e++)
		for (int rr = 0; rr < R; rr++)
		{
			size_t		at = (size_t) (r + rr) * bt->maxent + e;

			if (e < bt->nnz[r + rr])
			{
				const float *w = W + (size_t) bt->idx[at] * nout + j0;

				a0[rr] += bt->val[at] * TRL_LOAD(w);
				a1[rr] += bt->val[at] * TRL_LOAD(w + TRL_LANES);
			}
		}
	for (int rr = 0; rr < R; rr++)
	{
		TRL_STORE(out + (size_t) (r + rr) * nout + j0, a0[rr]);
		TRL_STORE(out + (size_t) (r + rr) * nout + j0 + TRL_LANES, a1[rr]);
	}
}

/* The sparse first layer's full 16-unit tiles, 4 rows at a time. */
INLINE void
TRL_FN(trl_sparse_tiles) (const NnBatch *bt, const float *restrict W,
						  const float *restrict bias, int32_t nout,
						  float *restrict out)
{
	int32_t		r = 0;
	int32_t		jt = nout - nout % TILE;

	for (; r + 4 <= bt->rows; r += 4)
		for (int32_t j0 = 0; j0 < jt; j0 += 2 * TRL_LANES)
			TRL_FN(trl_sparse_tile) (bt, r, 4, W, bias, nout, j0, out);
	for (; r < bt->rows; r++)
		for (int32_t j0 = 0; j0 < jt; j0 += 2 * TRL_LANES)
			TRL_FN(trl_sparse_tile) (bt, r, 1, W, bias, nout, j0, out);
}

/* Dense layer, units j0 .. j0 + 2 * TRL_LANES - 1 of R rows from r. */
INLINE void
TRL_FN(trl_dense_tile) (const float *restrict in, int32_t r, int R,
						int32_t nin, const float *restrict W,
						const float *restrict bias, int32_t nout, int32_t j0,
						float *restrict out)
{
	TRL_V		a0[TRL_ROWS],
				a1[TRL_ROWS];
	const float *restrict x = in + (size_t) r * nin;

	for (int rr = 0; rr < R; rr++)
	{
		a0[rr] = a1[rr] = (TRL_V) {0};
		if (bias)
		{
			a0[rr] = TRL_LOAD(bias + j0);
			a1[rr] = TRL_LOAD(bias + j0 + TRL_LANES);
		}
	}
	for (int32_t k = 0; k < nin; k++)
	{
		TRL_V		w0 = TRL_LOAD(W + (size_t) k * nout + j0);
		TRL_V		w1 = TRL_LOAD(W + (size_t) k * nout + j0 + TRL_LANES);

		for (int rr = 0; rr < R; rr++)
		{
			float		xv = x[(size_t) rr * nin + k];

			a0[rr] += xv * w0;
			a1[rr] += xv * w1;
		}
	}
	for (int rr = 0; rr < R; rr++)
	{
		TRL_STORE(out + (size_t) (r + rr) * nout + j0, a0[rr]);
		TRL_STORE(out + (size_t) (r + rr) * nout + j0 + TRL_LANES, a1[rr]);
	}
}

/*
 * out[r][j] = bias[j] + sum_k in[r][k] * W[k][j] over the full 16-unit
 * tiles (bias NULL: from zero); column strips outermost, as in nn.c.
 */
INLINE void
TRL_FN(trl_dense_tiles) (const float *restrict in, int32_t rows, int32_t nin,
						 const float *restrict W, const float *restrict bias,
						 int32_t nout, float *restrict out)
{
	int32_t		jt = nout - nout % TILE;

	for (int32_t j0 = 0; j0 < jt; j0 += 2 * TRL_LANES)
	{
		int32_t		r = 0;

		for (; r + TRL_ROWS <= rows; r += TRL_ROWS)
			TRL_FN(trl_dense_tile) (in, r, TRL_ROWS, nin, W, bias, nout, j0,
									out);
		for (; r + 4 <= rows; r += 4)
			TRL_FN(trl_dense_tile) (in, r, 4, nin, W, bias, nout, j0, out);
		for (; r < rows; r++)
			TRL_FN(trl_dense_tile) (in, r, 1, nin, W, bias, nout, j0, out);
	}
}

/* dW for K (up to TRL_ROWS) inputs from k0, 2 * TRL_LANES units from j0. */
INLINE void
TRL_FN(trl_bwd_w_tile) (const float *restrict in, const float *restrict G,
						int32_t rows, int32_t nin, int32_t nout, int32_t k0,
						int K, int32_t j0, float *restrict dW)
{
	TRL_V		a0[TRL_ROWS],
				a1[TRL_ROWS];

	for (int kk = 0; kk < K; kk++)
		a0[kk] = a1[kk] = (TRL_V) {0};
	for (int32_t r = 0; r < rows; r++)
	{
		TRL_V		g0 = TRL_LOAD(G + (size_t) r * nout + j0);
		TRL_V		g1 = TRL_LOAD(G + (size_t) r * nout + j0 + TRL_LANES);
		const float *restrict x = in + (size_t) r * nin + k0;

		for (int kk = 0; kk < K; kk++)
		{
			a0[kk] += x[kk] * g0;
			a1[kk] += x[kk] * g1;
		}
	}
	for (int kk = 0; kk < K; kk++)
	{
		TRL_STORE(dW + (size_t) (k0 + kk) * nout + j0, a0[kk]);
		TRL_STORE(dW + (size_t) (k0 + kk) * nout + j0 + TRL_LANES, a1[kk]);
	}
}

/* dW[k][j] = sum_r in[r][k] * G[r][j] over the full 16-unit tiles. */
INLINE void
TRL_FN(trl_bwd_w_tiles) (const float *restrict in, const float *restrict G,
						 int32_t rows, int32_t nin, int32_t nout,
						 float *restrict dW)
{
	int32_t		k0 = 0;
	int32_t		jt = nout - nout % TILE;

	for (; k0 + TRL_ROWS <= nin; k0 += TRL_ROWS)
		for (int32_t j0 = 0; j0 < jt; j0 += 2 * TRL_LANES)
			TRL_FN(trl_bwd_w_tile) (in, G, rows, nin, nout, k0, TRL_ROWS, j0,
									dW);
	for (; k0 + 4 <= nin; k0 += 4)
		for (int32_t j0 = 0; j0 < jt; j0 += 2 * TRL_LANES)
			TRL_FN(trl_bwd_w_tile) (in, G, rows, nin, nout, k0, 4, j0, dW);
	for (; k0 < nin; k0++)
		for (int32_t j0 = 0; j0 < jt; j0 += 2 * TRL_LANES)
			TRL_FN(trl_bwd_w_tile) (in, G, rows, nin, nout, k0, 1, j0, dW);
}

/* d[j] += v * g[j] for j below jt (a multiple of 16). */
INLINE void
TRL_FN(trl_axpy) (float *restrict d, float v, const float *restrict g,
				  int32_t jt)
{
	for (int32_t j0 = 0; j0 < jt; j0 += TRL_LANES)
		TRL_STORE(d + j0, TRL_LOAD(d + j0) + v * TRL_LOAD(g + j0));
}

#undef TRL_LOAD
#undef TRL_STORE
