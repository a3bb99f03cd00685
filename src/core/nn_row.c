/*
 * nn_row.c
 *	  The one-row forward kernel that every reported or stored score comes
 *	  from (nn_forward_row, nn_forward_rows, nn_row_plan): a fixed order of
 *	  operations, compiled without FMA contraction.  Moved verbatim from
 *	  nn.c, whose batch kernels only feed the gradient.
 *
 * row_tiles is long on purpose: its two side-by-side tiles keep
 * their partial sums in named variables the compiler holds in registers,
 * and a helper taking them by pointer would spill them to memory on the
 * scoring path.
 */
#include "nn_kernel.h"

#include <string.h>

/*
 * The one-row kernel.  Its arithmetic is the reference for every score
 * dlfin reports or stores (dlfin_predict, the validation metrics, the
 * calibration, the score distribution, permutation importance), so its
 * order of operations is fixed here, independently of the vector width of
 * the kernel variant, and it need not match the batch kernels of nn.c (whose
 * results only feed the gradient).
 *
 * Output j of a layer with inputs x_0 .. x_{n-1} and weights w_k = W[k][j]
 * is built from ROW_SUMS = 4 partial sums, each over every fourth input:
 *
 *	 s_0 = bias_j;  s_1 = s_2 = s_3 = +0
 *	 for k = 0, 1, .., n - 1:  s_{k mod 4} = s_{k mod 4} + x_k * w_k
 *	 out_j = act((s_0 + s_2) + (s_1 + s_3))
 *
 * For the first layer the inputs x_k are the row's entries, one per
 * feature in feature order: a numeric feature's standardised value (even
 * 0) or a categorical feature's one-hot input with value 1; so k counts
 * features, not input numbers.  act is the hidden activation (none for
 * the output layer).  x_k * w_k is rounded before the add, in every
 * kernel variant: this part of the file is compiled without contracting a
 * multiply and an add into an FMA, which compilers do or do not do at
 * will (GCC 12 fused every such sum here, GCC 14 only some), so a model
 * scores with the same bits whatever the compiler of the build and
 * whatever the CPU.  Scoring through SQL is bound by a row's latency,
 * which the add chains set, so this costs about 3 ns a row there (2 % of
 * a [32, 16] network's query); rows scored back to back overlap and
 * feel the doubled operations more (bench_score: 63 against 52 ns).  The
 * vector code runs lanes over output units, so each lane performs exactly
 * the operations above whatever the width.  The four sums make the
 * longest dependency chain a quarter of the inputs: a single row's cost is
 * mostly its latency.
 */
#define ROW_SUMS	4

/* No FMA contraction in the one-row kernel (see above), up to pop_options. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize ("fp-contract=off")
#endif

typedef int32_t vi16 __attribute__((vector_size(64)));

/*
 * A vector of ROW_SUMS floats: the partial sums of one unit side by side,
 * for the units that do not fill a tile (e.g. the single output unit).
 */
typedef float vfs __attribute__((vector_size(4 * ROW_SUMS)));
typedef float vfsu __attribute__((vector_size(4 * ROW_SUMS), aligned(4), may_alias));
typedef int32_t vis __attribute__((vector_size(4 * ROW_SUMS)));

/* Where a layer of the one-row kernel reads its inputs x_k. */
#define ROW_SPARSE	0			/* first layer: x[k] times row idx[k] of W */
#define ROW_MEM		1			/* x[k] times row k of W */
#define ROW_REG		2			/* the same, x[k] also in lane k % 16 of
								 * r0 (k < 16) or r1: 16 or 32 inputs */

/*
 * Inputs k .. k + 3 (k a multiple of 4) as a vector for row_units, taken
 * from the registers r0, r1 that hold the previous layer's output: k is a
 * constant once the loops are unrolled, so this is one broadcast of a
 * 128-bit lane.  Clang, which makes the bitcode for the JIT, has no
 * __builtin_shuffle: it reads the stored copy, same values.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define ROW_REGV(k)			((k) < 16 ? *r0 : *r1)
#define ROW_Q(k)			(((k) & 15) >> 2)
#define ROW_CHUNK(k) \
	__builtin_shuffle(ROW_REGV(k), (vi16) {0, 1, 2, 3, 0, 1, 2, 3, \
										  0, 1, 2, 3, 0, 1, 2, 3} + 4 * ROW_Q(k))
#define ROW_QUAD(k)			ROW_LOW(ROW_CHUNK(k))
#else
#define ROW_QUAD(k)			(*(const vfsu *) (x + (k)))
#endif

/* The low ROW_SUMS lanes of a tile. */
#define ROW_LOW(v)			((vfs) {(v)[0], (v)[1], (v)[2], (v)[3]})

/*
 * ReLU and leaky ReLU of a tile in registers, with the operations of
 * activate() (NaN and -0 become +0 under ReLU); other activations (act 0
 * here) are applied by activate() after the layer is stored.
 */
INLINE void
row_act(vf16 *v, int act)
{
	vi16		pos = *v > (vf16) {0};

	if (act == DLF_ACT_RELU)
		*v = (vf16) ((vi16) *v & pos);
	else if (act == DLF_ACT_LEAKY_RELU)
		*v = (vf16) (((vi16) *v & pos) |
					 ((vi16) (DLF_LEAKY_SLOPE * *v) & ~pos));
}

/* Input k's row of W: idx[k] for the sparse first layer, else k. */
#define ROW_W(k)	(W + (size_t) (mode == ROW_SPARSE ? idx[k] : (k)) * nout)

/*
 * One 16-unit tile of one layer for one row from unit j0, or two side by
 * side (two), stored after the in-register activation act (see row_act)
 * and left in *t0 (and *t1).  a0..a3 are s_0..s_3 of the first tile, b0..b3
 * of the second: named variables, so that they stay in registers.  In
 * ROW_REG mode n must be 16 or 32, a constant.
 */
INLINE void
row_tiles(int mode, const int32_t *restrict idx, const float *restrict x,
		  int32_t n, const float *restrict W, const float *restrict bias,
		  int32_t nout, int32_t j0, int two, int act, float *restrict o,
		  vf16 *t0, vf16 *t1)
{
	vf16		a0 = vload(bias + j0),
				a1 = {0},
				a2 = {0},
				a3 = {0};
	vf16		b0 = {0},
				b1 = {0},
				b2 = {0},
				b3 = {0};
	int32_t		k = 0;
	const float *wk = W + j0;	/* dense: row k of W, from unit j0 */
	size_t		stride = nout;

	if (two)
		b0 = vload(bias + j0 + 16);
	/*
	 * In ROW_REG mode the inputs are read from the stored layer too,
	 * although they are in r0, r1: a broadcast from memory runs on a
	 * load port, a shuffle out of a register on the vector port that
	 * the multiplies and adds share (two per input, as they are not
	 * fused).  With shuffles the default network's second layer waited
	 * for that port: 3.4 ns more per scored row (bench_score).  There
	 * n is a constant, 16 or 32, so the tests of the tail fold away.
	 */
	for (; k + 4 <= n; k += 4)
	{
		const float *w0,
				   *w1,
				   *w2,
				   *w3;

		if (mode == ROW_SPARSE)
		{
			w0 = ROW_W(k) + j0;
			w1 = ROW_W(k + 1) + j0;
			w2 = ROW_W(k + 2) + j0;
			w3 = ROW_W(k + 3) + j0;
		}
		else
		{
			/* a running pointer: no multiplication per input */
			w0 = wk;
			w1 = wk + stride;
			w2 = wk + 2 * stride;
			w3 = wk + 3 * stride;
			wk += 4 * stride;
		}
		a0 += x[k] * vload(w0);
		a1 += x[k + 1] * vload(w1);
		a2 += x[k + 2] * vload(w2);
		a3 += x[k + 3] * vload(w3);
		if (two)
		{
			b0 += x[k] * vload(w0 + 16);
			b1 += x[k + 1] * vload(w1 + 16);
			b2 += x[k + 2] * vload(w2 + 16);
			b3 += x[k + 3] * vload(w3 + 16);
		}
	}
	/* the last n mod 4 inputs */
	if (k < n)
	{
		a0 += x[k] * vload(ROW_W(k) + j0);
		if (two)
			b0 += x[k] * vload(ROW_W(k) + j0 + 16);
	}
	if (k + 1 < n)
	{
		a1 += x[k + 1] * vload(ROW_W(k + 1) + j0);
		if (two)
			b1 += x[k + 1] * vload(ROW_W(k + 1) + j0 + 16);
	}
	if (k + 2 < n)
	{
		a2 += x[k + 2] * vload(ROW_W(k + 2) + j0);
		if (two)
			b2 += x[k + 2] * vload(ROW_W(k + 2) + j0 + 16);
	}
	a0 = (a0 + a2) + (a1 + a3);
	row_act(&a0, act);
	vstore(o + j0, a0);
	*t0 = a0;
	if (two)
	{
		b0 = (b0 + b2) + (b1 + b3);
		row_act(&b0, act);
		vstore(o + j0 + 16, b0);
		*t1 = b0;
	}
}

/*
 * Units j0 .. nout - 1 of one layer for one row (fewer than a tile, e.g.
 * the single output unit), one unit at a time with lane p holding s_p:
 * each step is one vector multiply-add over ROW_SUMS inputs (so the FMA
 * variants fuse it, as in the tiles), and the last n mod ROW_SUMS inputs
 * update only their own lanes.  Returns unit j0's value.
 */
INLINE float
row_units(int mode, const int32_t *restrict idx, const float *restrict x,
		  const vf16 *r0, const vf16 *r1, int32_t n,
		  const float *restrict W, const float *restrict bias, int32_t nout,
		  int32_t j0, int act, float *restrict o)
{
	float		first = 0.0f;

	for (int32_t j = j0; j < nout; j++)
	{
		vfs			acc = {0};
		vfs			xv = {0},
					wv = {0};
		int32_t		k = 0;
		float		v;

		acc[0] = bias[j];
		if (mode == ROW_REG)
		{
#pragma GCC unroll 8
			for (k = 0; k < n; k += ROW_SUMS)
			{
				xv = ROW_QUAD(k);
				if (nout == 1)
					wv = *(const vfsu *) (W + k);
				else
					for (int p = 0; p < ROW_SUMS; p++)
						wv[p] = W[(size_t) (k + p) * nout + j];
				acc = acc + xv * wv;
			}
		}
		else
		{
			for (; k + ROW_SUMS <= n; k += ROW_SUMS)
			{
				xv = *(const vfsu *) (x + k);
				if (mode != ROW_SPARSE && nout == 1)
					wv = *(const vfsu *) (W + k);
				else
#pragma GCC unroll 8
					for (int p = 0; p < ROW_SUMS; p++)
						wv[p] = ROW_W(k + p)[j];
				acc = acc + xv * wv;
			}
			if (k < n)
			{
				vis			keep;
				vfs			next;

#pragma GCC unroll 8
				for (int p = 0; p < ROW_SUMS; p++)
				{
					int			in = k + p < n;

					xv[p] = in ? x[k + p] : 0.0f;
					wv[p] = in ? ROW_W(k + p)[j] : 0.0f;
					keep[p] = in ? 0 : -1;
				}
				/* lanes past the end keep their sum exactly (even a -0) */
				next = acc + xv * wv;
				acc = (vfs) (((vis) next & ~keep) | ((vis) acc & keep));
			}
		}
		v = (acc[0] + acc[2]) + (acc[1] + acc[3]);
		if (act == DLF_ACT_RELU)
			v = v > 0.0f ? v : 0.0f;
		else if (act == DLF_ACT_LEAKY_RELU)
			v = v > 0.0f ? v : DLF_LEAKY_SLOPE * v;
		o[j] = v;
		if (j == j0)
			first = v;
	}
	return first;
}

/*
 * One layer of the one-row kernel, with ReLU or leaky ReLU (act) fused; a
 * layer of 16 or 32 units leaves its output in *t0 and *t1 too.
 */
INLINE void
row_layer(int mode, const int32_t *restrict idx, const float *restrict x,
		  const vf16 *r0, const vf16 *r1, int32_t n,
		  const float *restrict W, const float *restrict bias, int32_t nout,
		  int act, float *restrict o, vf16 *t0, vf16 *t1)
{
	int32_t		jt = nout - nout % TILE;
	int32_t		j0 = 0;

	if (mode == ROW_REG)
	{
		/*
		 * At most 32 units (see nn_forward_row): no loop over the tiles,
		 * which would tempt the compiler to keep all the broadcast inputs
		 * across it, more than there are registers.
		 */
		if (jt == 2 * TILE)
			row_tiles(mode, idx, x, n, W, bias, nout, 0, 1, act, o,
					  t0, t1);
		else if (jt == TILE)
			row_tiles(mode, idx, x, n, W, bias, nout, 0, 0, act, o,
					  t0, t1);
	}
	else
	{
		for (; j0 + 2 * TILE <= jt; j0 += 2 * TILE)
			row_tiles(mode, idx, x, n, W, bias, nout, j0, 1, act, o,
					  t0, t1);
		if (j0 < jt)
			row_tiles(mode, idx, x, n, W, bias, nout, j0, 0, act, o,
					  t0, t1);
	}
	if (jt < nout)
		row_units(mode, idx, x, r0, r1, n, W, bias, nout, jt, act, o);
}

/* The one-row kernel with 8-float vectors (AVX2): nn_row_lanes.h. */
typedef float vf8r __attribute__((vector_size(32)));
typedef float vf8ru __attribute__((vector_size(32), aligned(4), may_alias));
typedef int32_t vi8r __attribute__((vector_size(32)));
#define ROWL_V		vf8r
#define ROWL_VU		vf8ru
#define ROWL_VI		vi8r
#define ROWL_LANES	8
#define ROWL_ROWS	3
#define ROWL_FN(f)	f##8
#include "nn_row_lanes.h"
#undef ROWL_V
#undef ROWL_VU
#undef ROWL_VI
#undef ROWL_LANES
#undef ROWL_ROWS
#undef ROWL_FN

/* ... and with 4-float vectors (SSE, the portable default). */
typedef float vf4r __attribute__((vector_size(16)));
typedef float vf4ru __attribute__((vector_size(16), aligned(4), may_alias));
typedef int32_t vi4r __attribute__((vector_size(16)));
#define ROWL_V		vf4r
#define ROWL_VU		vf4ru
#define ROWL_VI		vi4r
#define ROWL_LANES	4
#define ROWL_ROWS	3
#define ROWL_FN(f)	f##4
#include "nn_row_lanes.h"
#undef ROWL_V
#undef ROWL_VU
#undef ROWL_VI
#undef ROWL_LANES
#undef ROWL_ROWS
#undef ROWL_FN

/*
 * Whether the network is small enough for row_small: two or more layers,
 * every hidden layer of 16 or 32 units with ReLU or leaky ReLU, and at most
 * 32 outputs (the default [32, 16] and its neighbours), and no skip path
 * (row_general adds it after the output layer).
 */
static inline int
row_small_ok(const NnNet *net)
{
	if (net->nlayers < 2 || net->units[net->nlayers] > 32 || net->S ||
		(net->activation != DLF_ACT_RELU &&
		 net->activation != DLF_ACT_LEAKY_RELU))
		return 0;
	for (int32_t l = 1; l < net->nlayers; l++)
		if (net->units[l] != 16 && net->units[l] != 32)
			return 0;
	return 1;
}

/*
 * The one-row kernel for the networks of row_small_ok.  Every layer width
 * is a constant in its branch, so the loops unroll completely and the
 * addresses are shifts; a hidden layer reads the previous one back from
 * memory (see row_tiles), the output layer from registers.  The operations
 * are those of the general path.
 */
INLINE float
row_small(const NnNet *net, const int32_t *restrict idx,
		  const float *restrict val, int32_t nnz, float *const *act)
{
	int32_t		L = net->nlayers;
	int			a = net->activation;
	int32_t		w = net->units[1];	/* units in h0, h1 */
	vf16		h0 = {0},
				h1 = {0},
				t0 = {0},
				t1 = {0};

	/* the first layer, from the entries */
	if (idx == NULL && w == 32)
		row_tiles(ROW_MEM, NULL, val, nnz, net->W[0], net->b[0],
				  32, 0, 1, a, act[0], &h0, &h1);
	else if (idx == NULL)
		row_tiles(ROW_MEM, NULL, val, nnz, net->W[0], net->b[0],
				  16, 0, 0, a, act[0], &h0, &h1);
	else if (w == 32)
		row_tiles(ROW_SPARSE, idx, val, nnz, net->W[0],
				  net->b[0], 32, 0, 1, a, act[0], &h0, &h1);
	else
		row_tiles(ROW_SPARSE, idx, val, nnz, net->W[0],
				  net->b[0], 16, 0, 0, a, act[0], &h0, &h1);

	/* the other hidden layers, from registers to registers */
	for (int32_t l = 1; l + 1 < L; l++)
	{
		int32_t		nout = net->units[l + 1];
		const float *W = net->W[l];
		const float *b = net->b[l];

		if (w == 32 && nout == 32)
			row_tiles(ROW_REG, NULL, act[l - 1], 32, W, b, 32, 0, 1,
					  a, act[l], &t0, &t1);
		else if (w == 32)
			row_tiles(ROW_REG, NULL, act[l - 1], 32, W, b, 16, 0, 0,
					  a, act[l], &t0, &t1);
		else if (nout == 32)
			row_tiles(ROW_REG, NULL, act[l - 1], 16, W, b, 32, 0, 1,
					  a, act[l], &t0, &t1);
		else
			row_tiles(ROW_REG, NULL, act[l - 1], 16, W, b, 16, 0, 0,
					  a, act[l], &t0, &t1);
		h0 = t0;
		h1 = t1;
		w = nout;
	}

	/* the output layer, no activation; one unit (binary, regression) as a
	 * constant too */
	if (net->units[L] == 1 && w == 32)
		return row_units(ROW_REG, NULL, act[L - 2], &h0, &h1, 32,
						 net->W[L - 1], net->b[L - 1], 1, 0, 0, act[L - 1]);
	if (net->units[L] == 1)
		return row_units(ROW_REG, NULL, act[L - 2], &h0, &h1, 16,
						 net->W[L - 1], net->b[L - 1], 1, 0, 0, act[L - 1]);
	if (w == 32)
		row_layer(ROW_REG, NULL, act[L - 2], &h0, &h1, 32, net->W[L - 1],
				  net->b[L - 1], net->units[L], 0, act[L - 1], &t0, &t1);
	else
		row_layer(ROW_REG, NULL, act[L - 2], &h0, &h1, 16, net->W[L - 1],
				  net->b[L - 1], net->units[L], 0, act[L - 1], &t0, &t1);
	return act[L - 1][0];
}

/*
 * nn_forward_row for any network, layer by layer through act[].  A
 * function of its own: its spills and loops stay out of the prologue of
 * the small networks' path.
 */
DLF_KERNEL __attribute__((noinline)) static void
row_general(const NnNet *net, const int32_t *restrict idx,
			const float *restrict val, int32_t nnz, float *const *act)
{
	int32_t		L = net->nlayers;
	int			a = net->activation;
	/* ReLU and leaky ReLU are applied in registers, the others after */
	int			fused = a == DLF_ACT_RELU || a == DLF_ACT_LEAKY_RELU ? a : 0;
	vf16		t0,
				t1;				/* unused outside row_small */

	for (int32_t l = 0; l < L; l++)
	{
		int32_t		nout = net->units[l + 1];
		int			hidden = l + 1 < L;
		int			la = hidden ? fused : 0;

		/* one instance per input mode */
		if (l == 0 && idx != NULL)
			row_layer(ROW_SPARSE, idx, val, NULL, NULL, nnz, net->W[0],
					  net->b[0], nout, la, act[0], &t0, &t1);
		else if (l == 0)
			row_layer(ROW_MEM, NULL, val, NULL, NULL, nnz, net->W[0],
					  net->b[0], nout, la, act[0], &t0, &t1);
		else
			row_layer(ROW_MEM, NULL, act[l - 1], NULL, NULL, net->units[l],
					  net->W[l], net->b[l], nout, la, act[l], &t0, &t1);
		if (hidden && !fused)
			activate(act[l], nout, a);
	}
	if (net->S)
		nn_skip_row(net, idx, val, nnz, act[L - 1]);
}

/*
 * Forward pass of a single row in the order defined above: the first layer
 * from its nnz entries (idx NULL: entry k is input k), then dense layers;
 * act[l] receives layer l's output.  Small networks take row_small.
 * Returns the first output, straight from a register when it can.
 */
DLF_KERNEL float
nn_forward_row(const NnNet *net, const int32_t *restrict idx,
			   const float *restrict val, int32_t nnz, float *const *act)
{
	/* the CPU's width (nn_kernel.h); 16 floats take the tiles above */
	int			lanes = net->row_lanes ? net->row_lanes : LANES_CPU();

	if (lanes == 8)
		return rowl_forward8(net, idx, val, nnz, act);
	if (lanes == 4)
		return rowl_forward4(net, idx, val, nnz, act);
	if (net->row_small)
		return row_small(net, idx, val, nnz, act);
	row_general(net, idx, val, nnz, act);
	return act[net->nlayers - 1][0];
}

/*
 * One 16-unit tile from unit j0 of a dense layer for four rows at once
 * (inputs x, outputs o: row-major, n and nout wide): for each row exactly
 * the operations of row_tiles, but every weight vector is loaded once for
 * the four rows, which a wide layer (a weight matrix beyond the L1 cache)
 * needs.  a, c, d, e are the rows' s_0..s_3.
 */
INLINE void
rows4_tile(const float *restrict x, int32_t n, const float *restrict W,
		   const float *restrict bias, int32_t nout, int32_t j0, int act,
		   float *restrict o)
{
	const float *x0 = x,
			   *x1 = x + n,
			   *x2 = x + 2 * (size_t) n,
			   *x3 = x + 3 * (size_t) n;
	vf16		b = vload(bias + j0);
	vf16		a0 = b,
				a1 = {0},
				a2 = {0},
				a3 = {0};
	vf16		c0 = b,
				c1 = {0},
				c2 = {0},
				c3 = {0};
	vf16		d0 = b,
				d1 = {0},
				d2 = {0},
				d3 = {0};
	vf16		e0 = b,
				e1 = {0},
				e2 = {0},
				e3 = {0};
	const float *wk = W + j0;
	size_t		stride = nout;
	int32_t		k = 0;

	for (; k + 4 <= n; k += 4)
	{
		vf16		w0 = vload(wk),
					w1 = vload(wk + stride),
					w2 = vload(wk + 2 * stride),
					w3 = vload(wk + 3 * stride);

		a0 += x0[k] * w0;
		a1 += x0[k + 1] * w1;
		a2 += x0[k + 2] * w2;
		a3 += x0[k + 3] * w3;
		c0 += x1[k] * w0;
		c1 += x1[k + 1] * w1;
		c2 += x1[k + 2] * w2;
		c3 += x1[k + 3] * w3;
		d0 += x2[k] * w0;
		d1 += x2[k + 1] * w1;
		d2 += x2[k + 2] * w2;
		d3 += x2[k + 3] * w3;
		e0 += x3[k] * w0;
		e1 += x3[k + 1] * w1;
		e2 += x3[k + 2] * w2;
		e3 += x3[k + 3] * w3;
		wk += 4 * stride;
	}
	/* the last n mod 4 inputs */
	if (k < n)
	{
		vf16		w0 = vload(wk);

		a0 += x0[k] * w0;
		c0 += x1[k] * w0;
		d0 += x2[k] * w0;
		e0 += x3[k] * w0;
	}
	if (k + 1 < n)
	{
		vf16		w1 = vload(wk + stride);

		a1 += x0[k + 1] * w1;
		c1 += x1[k + 1] * w1;
		d1 += x2[k + 1] * w1;
		e1 += x3[k + 1] * w1;
	}
	if (k + 2 < n)
	{
		vf16		w2 = vload(wk + 2 * stride);

		a2 += x0[k + 2] * w2;
		c2 += x1[k + 2] * w2;
		d2 += x2[k + 2] * w2;
		e2 += x3[k + 2] * w2;
	}
	a0 = (a0 + a2) + (a1 + a3);
	c0 = (c0 + c2) + (c1 + c3);
	d0 = (d0 + d2) + (d1 + d3);
	e0 = (e0 + e2) + (e1 + e3);
	row_act(&a0, act);
	row_act(&c0, act);
	row_act(&d0, act);
	row_act(&e0, act);
	vstore(o + j0, a0);
	vstore(o + nout + j0, c0);
	vstore(o + 2 * (size_t) nout + j0, d0);
	vstore(o + 3 * (size_t) nout + j0, e0);
}

/*
 * nn_forward_rows for networks off the small path: the first layer row by
 * row, then each dense layer four rows at a time (rows4_tile; the units
 * beyond the last full tile and the last rows as row_layer does them).
 * Every row gets the bits nn_forward_row gives it.
 */
DLF_KERNEL static void
rows_general(const NnNet *net, const NnBatch *bt, NnWork *w)
{
	int32_t		L = net->nlayers;
	int32_t		rows = bt->rows;
	int			a = net->activation;
	int			fused = a == DLF_ACT_RELU || a == DLF_ACT_LEAKY_RELU ? a : 0;
	vf16		t0,
				t1;

	for (int32_t l = 0; l < L; l++)
	{
		int32_t		nin = net->units[l];
		int32_t		nout = net->units[l + 1];
		int32_t		jt = nout - nout % TILE;
		int			hidden = l + 1 < L;
		int			la = hidden ? fused : 0;
		float	   *out = w->act[l];
		int32_t		r = 0;

		if (l == 0)
		{
			for (; r < rows; r++)
				row_layer(ROW_SPARSE, bt->idx + (size_t) r * bt->maxent,
						  bt->val + (size_t) r * bt->maxent, NULL, NULL,
						  bt->nnz[r], net->W[0], net->b[0], nout, la,
						  out + (size_t) r * nout, &t0, &t1);
		}
		else
		{
			const float *in = w->act[l - 1];

			for (; r + 4 <= rows; r += 4)
			{
				for (int32_t j0 = 0; j0 < jt; j0 += TILE)
					rows4_tile(in + (size_t) r * nin, nin, net->W[l],
							   net->b[l], nout, j0, la,
							   out + (size_t) r * nout);
				if (jt < nout)
					for (int32_t rr = r; rr < r + 4; rr++)
						row_units(ROW_MEM, NULL, in + (size_t) rr * nin, NULL,
								  NULL, nin, net->W[l], net->b[l], nout, jt,
								  la, out + (size_t) rr * nout);
			}
			for (; r < rows; r++)
				row_layer(ROW_MEM, NULL, in + (size_t) r * nin, NULL, NULL, nin,
						  net->W[l], net->b[l], nout, la,
						  out + (size_t) r * nout, &t0, &t1);
		}
		if (hidden && !fused)
			activate(out, (int32_t) ((size_t) rows * nout), a);
	}
	if (net->S)
		nn_skip_forward(net, bt, w->act[L - 1]);
}

/*
 * Chooses nn_forward_row's path once for a net's shape, rather than for
 * every row; both paths give the same bits, so a net never planned is
 * merely slower.
 */
void
nn_row_plan(NnNet *net)
{
	net->row_small = row_small_ok(net);
	net->row_lanes = LANES_CPU();
}

/*
 * nn_forward_rows over the whole batch at the net's width: the four-row
 * tiles of 16 floats (AVX-512) or the templates' three-row tiles of 8 or 4.
 */
DLF_KERNEL static void
rows_lanes(const NnNet *net, const NnBatch *bt, NnWork *w)
{
	if (net->row_lanes == 8)
		rowl_rows8(net, bt, w);
	else if (net->row_lanes == 4)
		rowl_rows4(net, bt, w);
	else
		rows_general(net, bt, w);
}

/*
 * Scores every row of a batch with the one-row kernel: each row's layer
 * outputs go where nn_forward puts them (logits in w->act[nlayers - 1]),
 * with the bits of nn_forward_row.  For evaluation, never for gradients.
 * With AVX-512 small networks go row by row (row_small keeps them in
 * registers); otherwise layer by layer over the batch, which reuses each
 * weight for several rows.  A net whose row_lanes is set runs that width.
 */
void
nn_forward_rows(const NnNet *net, const NnBatch *bt, NnWork *w)
{
	NnNet		plan = *net;
	float	   *act[DLF_MAX_HIDDEN + 1];

	nn_row_plan(&plan);
	if (net->row_lanes)
		plan.row_lanes = net->row_lanes;	/* a test's width */
	if (!plan.row_small || plan.row_lanes != 16)
	{
		rows_lanes(&plan, bt, w);
		return;
	}
	for (int32_t r = 0; r < bt->rows; r++)
	{
		for (int32_t l = 0; l < net->nlayers; l++)
			act[l] = w->act[l] + (size_t) r * net->units[l + 1];
		nn_forward_row(&plan, bt->idx + (size_t) r * bt->maxent,
					   bt->val + (size_t) r * bt->maxent, bt->nnz[r], act);
	}
}

#if defined(__clang__)
#pragma STDC FP_CONTRACT ON
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
