/*
 * nn.c
 *	  The multilayer perceptron: float32 mini-batch kernels, forward and
 *	  backward passes, activations and losses.
 *
 * Layout: activations are row-major (row r, unit j at r * units + j);
 * weights of layer l are units[l] x units[l+1], row-major by input unit.
 * The kernels keep a tile of 16 output units in registers and run the sum
 * over the inputs in a fixed order, so the compiler vectorises over the
 * output units without ever reassociating a sum: results are exact IEEE
 * float32 and identical for every vector width.
 *
 * The one-row kernel that scores come from is nn_row.c; the tile type
 * both use is nn_kernel.h.  The AVX2 and portable variants run the full
 * tiles at 8 and 4 floats (nn_train_lanes.h), the batch buffers are
 * nn_work.c.
 */
#include "nn_kernel.h"

#include <string.h>

/*
 * tanh of a float from + - * / alone: expm1(2|x|) by a Cody-Waite
 * reduction and its Taylor polynomial to degree 13 in double, then
 * expm1 / (expm1 + 2), rounded to float once.  Within an ulp of the
 * correctly rounded result (nearly always equal to it), and the same bits
 * whatever the compiler, the C library or the CPU: it is compiled without
 * FMA contraction and calls nothing.  libm's tanhf is not that: glibc 2.41
 * (Debian 13) replaced it, so tanh models scored differently under a
 * PostgreSQL 17 build there than under 15's on Debian 12.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize ("fp-contract=off")
#endif
__attribute__((noinline)) float
dlf_tanhf(float xf)
{
	double		x = xf < 0.0f ? -(double) xf : (double) xf;
	double		y,
				r,
				p,
				two_k,
				em1;
	int			k;

	if (!(x >= 0x1p-12))		/* tanh(x) rounds to x; NaN stays NaN */
		return xf;
	if (x >= 9.5)				/* 1 - tanh(x) < 2^-26: rounds to 1 */
		return xf < 0.0f ? -1.0f : 1.0f;
	y = 2.0 * x;
	k = (int) (y * 1.4426950408889634 + 0.5);	/* 0 .. 27 */
	/* ln 2 in two parts, the first with trailing zeros: k * hi is exact */
	r = (y - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
	p = 1.0 / 6227020800.0;
	p = 1.0 / 479001600.0 + r * p;
	p = 1.0 / 39916800.0 + r * p;
	p = 1.0 / 3628800.0 + r * p;
	p = 1.0 / 362880.0 + r * p;
	p = 1.0 / 40320.0 + r * p;
	p = 1.0 / 5040.0 + r * p;
	p = 1.0 / 720.0 + r * p;
	p = 1.0 / 120.0 + r * p;
	p = 1.0 / 24.0 + r * p;
	p = 1.0 / 6.0 + r * p;
	p = 0.5 + r * p;
	p = r + r * (r * p);		/* expm1(r) */
	two_k = (double) ((int64_t) 1 << k);
	em1 = two_k * p + (two_k - 1.0);	/* expm1(y) = 2^k (1 + p) - 1 */
	y = em1 / (em1 + 2.0);
	return (float) (xf < 0.0f ? -y : y);
}
#if defined(__clang__)
#pragma STDC FP_CONTRACT ON
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

/*
 * Multiplies n backpropagated values by the activation's derivative, which
 * every supported activation can compute from its output a.
 */
static inline void
activate_grad(float *restrict d, const float *restrict a, int32_t n, int act)
{
	switch (act)
	{
		case DLF_ACT_RELU:
			for (int32_t j = 0; j < n; j++)
				d[j] = a[j] > 0.0f ? d[j] : 0.0f;
			break;
		case DLF_ACT_LEAKY_RELU:
			for (int32_t j = 0; j < n; j++)
				d[j] = a[j] > 0.0f ? d[j] : DLF_LEAKY_SLOPE * d[j];
			break;
		case DLF_ACT_TANH:
			for (int32_t j = 0; j < n; j++)
				d[j] = d[j] * (1.0f - a[j] * a[j]);
			break;
		case DLF_ACT_SIGMOID:
			for (int32_t j = 0; j < n; j++)
				d[j] = d[j] * (a[j] * (1.0f - a[j]));
			break;
		default:
			break;
	}
}

/*
 * Each kernel below keeps R = 4 independent accumulators (4 rows, or 4
 * inputs) of a 16-unit tile in registers, so the adds of one output do not
 * wait on each other's latency; remainders use plain loops with the same
 * per-element order of operations.
 */

/* The full tiles with 8-float vectors (AVX2): nn_train_lanes.h. */
typedef float vf8t __attribute__((vector_size(32)));
typedef float vf8tu __attribute__((vector_size(32), aligned(4), may_alias));
#define TRL_V		vf8t
#define TRL_VU		vf8tu
#define TRL_LANES	8
#define TRL_ROWS	6
#define TRL_FN(f)	f##8
#include "nn_train_lanes.h"
#undef TRL_V
#undef TRL_VU
#undef TRL_LANES
#undef TRL_ROWS
#undef TRL_FN

/* ... and with 4-float vectors (SSE, the portable default). */
typedef float vf4t __attribute__((vector_size(16)));
typedef float vf4tu __attribute__((vector_size(16), aligned(4), may_alias));
#define TRL_V		vf4t
#define TRL_VU		vf4tu
#define TRL_LANES	4
#define TRL_ROWS	6
#define TRL_FN(f)	f##4
#include "nn_train_lanes.h"
#undef TRL_V
#undef TRL_VU
#undef TRL_LANES
#undef TRL_ROWS
#undef TRL_FN

/* Sparse first layer, one full tile j0 for up to 4 rows (rows r..r+R). */
INLINE void
sparse_fwd_tile(const NnBatch *bt, int32_t r, int R, const float *restrict W,
				const float *restrict bias, int32_t nout, int32_t j0,
				float *restrict out)
{
	vf16		acc[4];
	int32_t		maxnnz = 0;

	for (int rr = 0; rr < R; rr++)
	{
		acc[rr] = vload(bias + j0);
		if (bt->nnz[r + rr] > maxnnz)
			maxnnz = bt->nnz[r + rr];
	}
	for (int32_t e = 0; e < maxnnz; e++)
		for (int rr = 0; rr < R; rr++)
		{
			size_t		at = (size_t) (r + rr) * bt->maxent + e;

			if (e < bt->nnz[r + rr])
				acc[rr] += bt->val[at] *
					vload(W + (size_t) bt->idx[at] * nout + j0);
		}
	for (int rr = 0; rr < R; rr++)
		vstore(out + (size_t) (r + rr) * nout + j0, acc[rr]);
}

/*
 * First layer from sparse inputs: out[r] = bias + sum_e val[e] * W[idx[e]]
 * (entries in order), then the activation (act 0: none).
 */
DLF_KERNEL static void
k_sparse_fwd(const NnBatch *bt, const float *restrict W,
			 const float *restrict bias, int32_t nout, float *restrict out,
			 int act, int lanes)
{
	int32_t		r = 0;
	int32_t		jt = nout - nout % TILE;	/* end of the full tiles */

	if (lanes == 8)
		trl_sparse_tiles8(bt, W, bias, nout, out);
	else if (lanes == 4)
		trl_sparse_tiles4(bt, W, bias, nout, out);
	else
	{
		for (; r + 4 <= bt->rows; r += 4)
			for (int32_t j0 = 0; j0 < jt; j0 += TILE)
				sparse_fwd_tile(bt, r, 4, W, bias, nout, j0, out);
		for (; r < bt->rows; r++)
			for (int32_t j0 = 0; j0 < jt; j0 += TILE)
				sparse_fwd_tile(bt, r, 1, W, bias, nout, j0, out);
	}
	for (r = 0; r < bt->rows; r++)
	{
		float	   *restrict o = out + (size_t) r * nout;

		if (jt < nout)
		{
			const int32_t *ix = bt->idx + (size_t) r * bt->maxent;
			const float *vx = bt->val + (size_t) r * bt->maxent;

			for (int32_t j = jt; j < nout; j++)
				o[j] = bias[j];
			for (int32_t e = 0; e < bt->nnz[r]; e++)
				for (int32_t j = jt; j < nout; j++)
					o[j] += vx[e] * W[(size_t) ix[e] * nout + j];
		}
		activate(o, nout, act);
	}
}

/* Dense layer, one full tile j0 for R rows from r; sum over k in order. */
INLINE void
dense_fwd_tile(const float *restrict in, int32_t r, int R, int32_t nin,
			   const float *restrict W, const float *restrict bias,
			   int32_t nout, int32_t j0, float *restrict out)
{
	vf16		acc[4];
	const float *restrict x = in + (size_t) r * nin;

	for (int rr = 0; rr < R; rr++)
	{
		acc[rr] = (vf16) {0};
		if (bias)
			acc[rr] = vload(bias + j0);
	}
	for (int32_t k = 0; k < nin; k++)
	{
		vf16		w = vload(W + (size_t) k * nout + j0);

		for (int rr = 0; rr < R; rr++)
			acc[rr] += x[(size_t) rr * nin + k] * w;
	}
	for (int rr = 0; rr < R; rr++)
		vstore(out + (size_t) (r + rr) * nout + j0, acc[rr]);
}

/*
 * Wide register tile for 32 vector registers (AVX-512): 8 rows x 32 units,
 * 16 accumulators, so each pair of weight loads feeds 16 multiply-adds.
 * bias NULL starts from zero.  Same order of operations per output as the
 * narrow tiles, so the same bits.
 */
INLINE void
wide_tile(const float *restrict in, int32_t r, int32_t nin,
		  const float *restrict W, const float *restrict bias, int32_t nout,
		  int32_t j0, float *restrict out)
{
	vf16		a0[8],
				a1[8];
	const float *restrict x = in + (size_t) r * nin;

	for (int rr = 0; rr < 8; rr++)
	{
		a0[rr] = a1[rr] = (vf16) {0};
		if (bias)
		{
			a0[rr] = vload(bias + j0);
			a1[rr] = vload(bias + j0 + 16);
		}
	}
	for (int32_t k = 0; k < nin; k++)
	{
		vf16		w0 = vload(W + (size_t) k * nout + j0);
		vf16		w1 = vload(W + (size_t) k * nout + j0 + 16);

		for (int rr = 0; rr < 8; rr++)
		{
			float		xv = x[(size_t) rr * nin + k];

			a0[rr] += xv * w0;
			a1[rr] += xv * w1;
		}
	}
	for (int rr = 0; rr < 8; rr++)
	{
		vstore(out + (size_t) (r + rr) * nout + j0, a0[rr]);
		vstore(out + (size_t) (r + rr) * nout + j0 + 16, a1[rr]);
	}
}

/*
 * out[r][j] = bias[j] + sum_k in[r][k] * W[k][j] over full 16-unit tiles:
 * wide tiles where the CPU has 32 vector registers, then narrow ones.
 * Column strips outermost, so a strip of W stays in L1 across row tiles.
 */
INLINE void
dense_tiles(const float *restrict in, int32_t rows, int32_t nin,
			const float *restrict W, const float *restrict bias, int32_t nout,
			float *restrict out, int wide)
{
	int32_t		jt = nout - nout % TILE;
	int32_t		j0 = 0;

	if (wide)
	{
		int32_t		rw = rows - rows % 8;

		for (; j0 + 2 * TILE <= jt; j0 += 2 * TILE)
			for (int32_t r = 0; r < rw; r += 8)
				wide_tile(in, r, nin, W, bias, nout, j0, out);
		/* rows of the wide strips below rw, and the last narrow strip */
		for (int32_t js = 0; js < j0; js += TILE)
		{
			int32_t		r = rw;

			for (; r + 4 <= rows; r += 4)
				dense_fwd_tile(in, r, 4, nin, W, bias, nout, js, out);
			for (; r < rows; r++)
				dense_fwd_tile(in, r, 1, nin, W, bias, nout, js, out);
		}
	}
	for (; j0 < jt; j0 += TILE)
	{
		int32_t		r = 0;

		for (; r + 4 <= rows; r += 4)
			dense_fwd_tile(in, r, 4, nin, W, bias, nout, j0, out);
		for (; r < rows; r++)
			dense_fwd_tile(in, r, 1, nin, W, bias, nout, j0, out);
	}
}

/* Whether this CPU has 32 vector registers for the wide tiles. */
static inline int
wide_ok(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	return __builtin_cpu_supports("avx512f");
#else
	return 0;
#endif
}

/* Dense layer: out[r][j] = act(bias[j] + sum_k in[r][k] * W[k][j]). */
DLF_KERNEL static void
k_dense_fwd(const float *restrict in, int32_t rows, int32_t nin,
			const float *restrict W, const float *restrict bias,
			int32_t nout, float *restrict out, int act, int lanes)
{
	int32_t		r = 0;
	int32_t		jt = nout - nout % TILE;

	if (lanes == 8)
		trl_dense_tiles8(in, rows, nin, W, bias, nout, out);
	else if (lanes == 4)
		trl_dense_tiles4(in, rows, nin, W, bias, nout, out);
	else
		dense_tiles(in, rows, nin, W, bias, nout, out, wide_ok());
	/*
	 * Narrow tail (e.g. the single output unit): rows innermost, so the
	 * rows' sums are independent instead of one serial chain per row.
	 */
	for (int32_t j = jt; j < nout; j++)
	{
		for (r = 0; r < rows; r++)
			out[(size_t) r * nout + j] = bias[j];
		for (int32_t k = 0; k < nin; k++)
		{
			float		w = W[(size_t) k * nout + j];

			for (r = 0; r < rows; r++)
				out[(size_t) r * nout + j] += in[(size_t) r * nin + k] * w;
		}
	}
	for (r = 0; r < rows; r++)
		activate(out + (size_t) r * nout, nout, act);
}

/* dW for 4 (K) inputs from k0 and one full tile j0; rows in order. */
INLINE void
dense_bwd_w_tile(const float *restrict in, const float *restrict G,
				 int32_t rows, int32_t nin, int32_t nout, int32_t k0, int K,
				 int32_t j0, float *restrict dW)
{
	vf16		acc[4];

	for (int kk = 0; kk < K; kk++)
		acc[kk] = (vf16) {0};
	for (int32_t r = 0; r < rows; r++)
	{
		vf16		g = vload(G + (size_t) r * nout + j0);
		const float *restrict x = in + (size_t) r * nin + k0;

		for (int kk = 0; kk < K; kk++)
			acc[kk] += x[kk] * g;
	}
	for (int kk = 0; kk < K; kk++)
		vstore(dW + (size_t) (k0 + kk) * nout + j0, acc[kk]);
}

/* dW for 8 inputs from k0 and 32 outputs from j0 (16 accumulators). */
INLINE void
dense_bwd_w_wide(const float *restrict in, const float *restrict G,
				 int32_t rows, int32_t nin, int32_t nout, int32_t k0,
				 int32_t j0, float *restrict dW)
{
	vf16		a0[8],
				a1[8];

	for (int kk = 0; kk < 8; kk++)
		a0[kk] = a1[kk] = (vf16) {0};
	for (int32_t r = 0; r < rows; r++)
	{
		vf16		g0 = vload(G + (size_t) r * nout + j0);
		vf16		g1 = vload(G + (size_t) r * nout + j0 + 16);
		const float *restrict x = in + (size_t) r * nin + k0;

		for (int kk = 0; kk < 8; kk++)
		{
			a0[kk] += x[kk] * g0;
			a1[kk] += x[kk] * g1;
		}
	}
	for (int kk = 0; kk < 8; kk++)
	{
		vstore(dW + (size_t) (k0 + kk) * nout + j0, a0[kk]);
		vstore(dW + (size_t) (k0 + kk) * nout + j0 + 16, a1[kk]);
	}
}

/*
 * Weight gradient of a dense layer: dW[k][j] = sum_r in[r][k] * G[r][j]
 * (+ l2 * W[k][j]), db[j] = sum_r G[r][j]; sums over r in row order.
 */
DLF_KERNEL static void
k_dense_bwd_w(const float *restrict in, const float *restrict G, int32_t rows,
			  int32_t nin, int32_t nout, const float *restrict W, float l2,
			  float *restrict dW, float *restrict db, int lanes)
{
	int32_t		k0 = 0;
	int32_t		jt = nout - nout % TILE;

	for (int32_t j = 0; j < nout; j++)
		db[j] = 0.0f;
	for (int32_t r = 0; r < rows; r++)
	{
		const float *restrict g = G + (size_t) r * nout;

		for (int32_t j = 0; j < nout; j++)
			db[j] += g[j];
	}
	if (lanes == 8)
		trl_bwd_w_tiles8(in, G, rows, nin, nout, dW);
	else if (lanes == 4)
		trl_bwd_w_tiles4(in, G, rows, nin, nout, dW);
	else if (wide_ok())
	{
		int32_t		jw = jt - jt % (2 * TILE);

		for (; k0 + 8 <= nin; k0 += 8)
		{
			for (int32_t j0 = 0; j0 < jw; j0 += 2 * TILE)
				dense_bwd_w_wide(in, G, rows, nin, nout, k0, j0, dW);
			for (int32_t j0 = jw; j0 < jt; j0 += TILE)
			{
				dense_bwd_w_tile(in, G, rows, nin, nout, k0, 4, j0, dW);
				dense_bwd_w_tile(in, G, rows, nin, nout, k0 + 4, 4, j0, dW);
			}
		}
	}
	if (lanes != 8 && lanes != 4)
	{
		for (; k0 + 4 <= nin; k0 += 4)
			for (int32_t j0 = 0; j0 < jt; j0 += TILE)
				dense_bwd_w_tile(in, G, rows, nin, nout, k0, 4, j0, dW);
		for (; k0 < nin; k0++)
			for (int32_t j0 = 0; j0 < jt; j0 += TILE)
				dense_bwd_w_tile(in, G, rows, nin, nout, k0, 1, j0, dW);
	}
	if (jt < nout)
	{
		/* narrow tail (e.g. the single output unit): rows in order */
		for (int32_t k = 0; k < nin; k++)
			for (int32_t j = jt; j < nout; j++)
				dW[(size_t) k * nout + j] = 0.0f;
		for (int32_t r = 0; r < rows; r++)
		{
			const float *restrict x = in + (size_t) r * nin;
			const float *restrict g = G + (size_t) r * nout;

			if (nout == 1)
			{
				/* contiguous over k: vectorises */
				float		g0 = g[0];

				for (int32_t k = 0; k < nin; k++)
					dW[k] += x[k] * g0;
			}
			else
				for (int32_t k = 0; k < nin; k++)
					for (int32_t j = jt; j < nout; j++)
						dW[(size_t) k * nout + j] += x[k] * g[j];
		}
	}
	if (l2 != 0.0f)
		for (size_t i = 0; i < (size_t) nin * nout; i++)
			dW[i] += l2 * W[i];
}

/*
 * Weight gradient of the sparse first layer: dW[idx] += val * G[r], rows in
 * order, after zeroing; db = sum of G; plus l2 * W.
 */
DLF_KERNEL static void
k_sparse_bwd_w(const NnBatch *bt, const float *restrict G, int32_t nin,
			   int32_t nout, const float *restrict W, float l2,
			   float *restrict dW, float *restrict db, int lanes)
{
	int32_t		jt = nout - nout % TILE;

	memset(dW, 0, sizeof(float) * (size_t) nin * nout);
	memset(db, 0, sizeof(float) * nout);
	for (int32_t r = 0; r < bt->rows; r++)
	{
		const float *restrict g = G + (size_t) r * nout;
		const int32_t *ix = bt->idx + (size_t) r * bt->maxent;
		const float *vx = bt->val + (size_t) r * bt->maxent;
		int32_t		nnz = bt->nnz[r];

		for (int32_t j = 0; j < nout; j++)
			db[j] += g[j];
		for (int32_t e = 0; e < nnz; e++)
		{
			float	   *restrict dk = dW + (size_t) ix[e] * nout;
			float		v = vx[e];

			if (lanes == 8)
				trl_axpy8(dk, v, g, jt);
			else if (lanes == 4)
				trl_axpy4(dk, v, g, jt);
			else
				for (int32_t j0 = 0; j0 < jt; j0 += TILE)
					vstore(dk + j0, vload(dk + j0) + v * vload(g + j0));
			for (int32_t j = jt; j < nout; j++)
				dk[j] += v * g[j];
		}
	}
	if (l2 != 0.0f)
		for (size_t i = 0; i < (size_t) nin * nout; i++)
			dW[i] += l2 * W[i];
}

/*
 * Input gradient of a dense layer, through the previous layer's dropout
 * mask and activation: dIn[r][k] = act'(a[r][k]) * mask[r][k] *
 * sum_j G[r][j] * Wt[j][k], with Wt the nout x nin transposed weights.
 */
DLF_KERNEL static void
k_dense_bwd_in(const float *restrict G, int32_t rows, int32_t nout,
			   const float *restrict Wt, int32_t nin,
			   const float *restrict a, const float *restrict mask, int act,
			   float *restrict dIn, int lanes)
{
	int32_t		r = 0;
	int32_t		kt = nin - nin % TILE;

	/* the same product as a forward pass: G (rows x nout) times Wt */
	if (lanes == 8)
		trl_dense_tiles8(G, rows, nout, Wt, NULL, nin, dIn);
	else if (lanes == 4)
		trl_dense_tiles4(G, rows, nout, Wt, NULL, nin, dIn);
	else
		dense_tiles(G, rows, nout, Wt, NULL, nin, dIn, wide_ok());
	for (r = 0; r < rows; r++)
	{
		float	   *restrict d = dIn + (size_t) r * nin;
		const float *restrict g = G + (size_t) r * nout;

		for (int32_t k = kt; k < nin; k++)
		{
			float		s = 0.0f;

			for (int32_t j = 0; j < nout; j++)
				s += g[j] * Wt[(size_t) j * nin + k];
			d[k] = s;
		}
		if (mask)
		{
			const float *restrict mr = mask + (size_t) r * nin;

			for (int32_t k = 0; k < nin; k++)
				d[k] *= mr[k];
		}
		activate_grad(d, a + (size_t) r * nin, nin, act);
	}
}

/* The vector width w's batch kernels run at: w->lanes, else this CPU's. */
static inline int
work_lanes(const NnWork *w)
{
	return w->lanes ? w->lanes : LANES_CPU();
}

/* Runs the network forward on the batch; logits in act[nlayers - 1]. */
void
nn_forward(const NnNet *net, const NnBatch *bt, NnWork *w, int use_mask)
{
	int32_t		L = net->nlayers;
	int			lanes = work_lanes(w);

	for (int32_t l = 0; l < L; l++)
	{
		int			act = l + 1 < L ? net->activation : 0;

		if (l == 0)
			k_sparse_fwd(bt, net->W[0], net->b[0], net->units[1], w->act[0],
						 act, lanes);
		else
			k_dense_fwd(w->in[l], bt->rows, net->units[l], net->W[l],
						net->b[l], net->units[l + 1], w->act[l], act, lanes);
		if (l + 1 < L && w->mask[l])
		{
			size_t		n = (size_t) bt->rows * net->units[l + 1];
			float	   *restrict dst = w->in[l + 1];
			const float *restrict a = w->act[l];

			if (use_mask)
			{
				const float *restrict mk = w->mask[l];

				for (size_t i = 0; i < n; i++)
					dst[i] = a[i] * mk[i];
			}
			else
				memcpy(dst, a, n * sizeof(float));
		}
	}
	if (net->S)
		nn_skip_forward(net, bt, w->act[L - 1]);
}


/* Loss and logit gradient of one row (float math, double result). */
static inline double
row_loss_grad(int task, const float *z, int32_t nout, float target,
			  float *g)
{
	switch (task)
	{
		case DLF_TASK_BINARY:
			{
				float		x = z[0];
				float		e = expf(-fabsf(x));
				float		p = x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);

				if (g)
					g[0] = p - target;
				/* max(x, 0) - x * y + log(1 + exp(-|x|)): no overflow */
				return (double) (x > 0.0f ? x : 0.0f) - (double) x * target +
					(double) log1pf(e);
			}
		case DLF_TASK_MULTICLASS:
			{
				float		mx = z[0];
				double		s = 0.0;
				int32_t		y = (int32_t) target;

				for (int32_t j = 1; j < nout; j++)
					if (z[j] > mx)
						mx = z[j];
				for (int32_t j = 0; j < nout; j++)
				{
					float		e = expf(z[j] - mx);

					s += e;
					if (g)
						g[j] = e;
				}
				if (g)
				{
					float		inv = (float) (1.0 / s);

					for (int32_t j = 0; j < nout; j++)
						g[j] *= inv;
					g[y] -= 1.0f;
				}
				return log(s) + (double) mx - (double) z[y];
			}
		default:
			{
				float		d = z[0] - target;

				if (g)
					g[0] = 2.0f * d;
				return (double) d * d;
			}
	}
}

/* Unweighted loss of one row. */
double
nn_row_loss(int task, const float *z, int32_t nout, float target)
{
	return row_loss_grad(task, z, nout, target, NULL);
}

/* Weighted loss sum of the batch; logit gradients / scale into w->delta. */
double
nn_loss(int task, const NnNet *net, const NnBatch *bt, NnWork *w,
		int want_grad, float scale)
{
	int32_t		nout = net->units[net->nlayers];
	const float *logits = w->act[net->nlayers - 1];
	double		sum = 0.0;

	for (int32_t r = 0; r < bt->rows; r++)
	{
		float	   *g = want_grad ? w->delta + (size_t) r * nout : NULL;
		float		wt = bt->weight[r];
		double		l = row_loss_grad(task, logits + (size_t) r * nout, nout,
									  bt->target[r], g);

		sum += wt * l;
		if (g)
		{
			float		f = wt / scale;

			for (int32_t j = 0; j < nout; j++)
				g[j] *= f;
		}
	}
	return sum;
}

/* Backpropagates w->delta through the network into grad. */
void
nn_backward(const NnNet *net, const NnBatch *bt, NnWork *w, int use_mask,
			float l2, NnNet *grad)
{
	nn_backward_wt(net, bt, w, use_mask, l2, grad, NULL);
}

/* nn_backward with the dense layers' transposed weights given (or NULL). */
void
nn_backward_wt(const NnNet *net, const NnBatch *bt, NnWork *w, int use_mask,
			   float l2, NnNet *grad, const float *const *wt)
{
	float	   *G = w->delta;
	float	   *D = w->delta2;
	int			lanes = work_lanes(w);

	/* the skip path's gradient, while G still holds the logits' */
	if (net->S)
		nn_skip_backward(net, bt, G, l2, grad->S);
	for (int32_t l = net->nlayers - 1; l >= 0; l--)
	{
		int32_t		nin = net->units[l];
		int32_t		nout = net->units[l + 1];

		if (l == 0)
		{
			k_sparse_bwd_w(bt, G, nin, nout, net->W[0], l2, grad->W[0],
						   grad->b[0], lanes);
			break;
		}
		k_dense_bwd_w(w->in[l], G, bt->rows, nin, nout, net->W[l], l2,
					  grad->W[l], grad->b[l], lanes);
		/* transposed W[l], so the input gradient vectorises over inputs */
		if (wt == NULL)
			for (int32_t k = 0; k < nin; k++)
				for (int32_t j = 0; j < nout; j++)
					w->wt[(size_t) j * nin + k] = net->W[l][(size_t) k * nout + j];
		k_dense_bwd_in(G, bt->rows, nout, wt ? wt[l] : w->wt, nin, w->act[l - 1],
					   use_mask ? w->mask[l - 1] : NULL, net->activation, D,
					   lanes);
		{
			float	   *t = G;

			G = D;
			D = t;
		}
	}
}
