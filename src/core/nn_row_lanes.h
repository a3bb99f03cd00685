/*
 * nn_row_lanes.h
 *	  The one-row kernel (nn_row.c) for vectors of ROWL_LANES floats, for
 *	  the kernel variants whose CPU has no 16-float registers: GCC lowers
 *	  nn_row.c's 16-float tiles through memory there (an x86-64-v3 build
 *	  ran [32, 16] at about 530 ns a row against 35 with AVX-512).
 *
 * A template, included by nn_row.c once per width with ROWL_V (the float
 * vector type), ROWL_VI (the int32 vector of the same size), ROWL_LANES
 * and ROWL_FN (a name suffix) defined, inside its no-contraction region.
 * Lanes run over output units as in nn_row.c, and each lane performs
 * exactly the operations fixed at the top of nn_row.c: s_0 = bias,
 * s_1 = s_2 = s_3 = +0, s_{k mod 4} += x_k * w_k in input order (product
 * rounded, then added), ((s_0 + s_2) + (s_1 + s_3)), then the activation
 * as row_act applies it; units past the last full tile take the same
 * operations one at a time.  So every output has the bits nn_forward_row
 * gives it at any width.  Layers hand each other their output through
 * act[], and each input is broadcast from there.
 */

/* Loads ROWL_LANES floats at any address. */
#define ROWL_LOAD(p)	(*(const ROWL_VU *) (p))
/* Input k's row of W: row idx[k] of the first layer (idx not NULL), else k. */
#define ROWL_W(k)		(W + (size_t) (idx ? idx[k] : (k)) * nout)

/* ReLU and leaky ReLU of a vector in place, with row_act's operations. */
INLINE void
ROWL_FN(rowl_act) (ROWL_V *v, int act)
{
	ROWL_VI		pos = *v > (ROWL_V) {0};

	if (act == DLF_ACT_RELU)
		*v = (ROWL_V) ((ROWL_VI) *v & pos);
	else if (act == DLF_ACT_LEAKY_RELU)
		*v = (ROWL_V) (((ROWL_VI) *v & pos) |
					   ((ROWL_VI) (DLF_LEAKY_SLOPE * *v) & ~pos));
}

/*
 * Units j0 .. j0 + ROWL_LANES - 1 of a layer, and as many again beside
 * them when two (their partial sums interleaved for independent chains):
 * input k is x[k] times row idx[k] of W (idx NULL: row k).
 */
INLINE void
ROWL_FN(rowl_tiles) (const int32_t *restrict idx, const float *restrict x,
					 int32_t n, const float *restrict W,
					 const float *restrict bias, int32_t nout, int32_t j0,
					 int two, int act, float *restrict o)
{
	ROWL_V		a0 = ROWL_LOAD(bias + j0),
				a1 = {0},
				a2 = {0},
				a3 = {0};
	ROWL_V		b0 = {0},
				b1 = {0},
				b2 = {0},
				b3 = {0};
	int32_t		k = 0;

	if (two)
		b0 = ROWL_LOAD(bias + j0 + ROWL_LANES);
	for (; k + 4 <= n; k += 4)
	{
		const float *w0 = ROWL_W(k) + j0,
				   *w1 = ROWL_W(k + 1) + j0,
				   *w2 = ROWL_W(k + 2) + j0,
				   *w3 = ROWL_W(k + 3) + j0;

		a0 = a0 + x[k] * ROWL_LOAD(w0);
		a1 = a1 + x[k + 1] * ROWL_LOAD(w1);
		a2 = a2 + x[k + 2] * ROWL_LOAD(w2);
		a3 = a3 + x[k + 3] * ROWL_LOAD(w3);
		if (two)
		{
			b0 = b0 + x[k] * ROWL_LOAD(w0 + ROWL_LANES);
			b1 = b1 + x[k + 1] * ROWL_LOAD(w1 + ROWL_LANES);
			b2 = b2 + x[k + 2] * ROWL_LOAD(w2 + ROWL_LANES);
			b3 = b3 + x[k + 3] * ROWL_LOAD(w3 + ROWL_LANES);
		}
	}
	/* the last n mod 4 inputs, each into its own partial sum */
	if (k < n)
	{
		a0 = a0 + x[k] * ROWL_LOAD(ROWL_W(k) + j0);
		if (two)
			b0 = b0 + x[k] * ROWL_LOAD(ROWL_W(k) + j0 + ROWL_LANES);
	}
	if (k + 1 < n)
	{
		a1 = a1 + x[k + 1] * ROWL_LOAD(ROWL_W(k + 1) + j0);
		if (two)
			b1 = b1 + x[k + 1] * ROWL_LOAD(ROWL_W(k + 1) + j0 + ROWL_LANES);
	}
	if (k + 2 < n)
	{
		a2 = a2 + x[k + 2] * ROWL_LOAD(ROWL_W(k + 2) + j0);
		if (two)
			b2 = b2 + x[k + 2] * ROWL_LOAD(ROWL_W(k + 2) + j0 + ROWL_LANES);
	}
	a0 = (a0 + a2) + (a1 + a3);
	ROWL_FN(rowl_act) (&a0, act);
	*(ROWL_VU *) (o + j0) = a0;
	if (two)
	{
		b0 = (b0 + b2) + (b1 + b3);
		ROWL_FN(rowl_act) (&b0, act);
		*(ROWL_VU *) (o + j0 + ROWL_LANES) = b0;
	}
}

/* One layer for one row: full tiles, two at a time, then unit by unit. */
INLINE void
ROWL_FN(rowl_layer) (const int32_t *restrict idx, const float *restrict x,
					 int32_t n, const float *restrict W,
					 const float *restrict bias, int32_t nout, int act,
					 float *restrict o)
{
	int32_t		j = 0;

	for (; j + 2 * ROWL_LANES <= nout; j += 2 * ROWL_LANES)
		ROWL_FN(rowl_tiles) (idx, x, n, W, bias, nout, j, 1, act, o);
	if (j + ROWL_LANES <= nout)
	{
		ROWL_FN(rowl_tiles) (idx, x, n, W, bias, nout, j, 0, act, o);
		j += ROWL_LANES;
	}
	for (; j < nout; j++)
	{
		float		s0 = bias[j],
					s1 = 0.0f,
					s2 = 0.0f,
					s3 = 0.0f;
		float		v;
		int32_t		k = 0;

		for (; k + 4 <= n; k += 4)
		{
			s0 = s0 + x[k] * ROWL_W(k)[j];
			s1 = s1 + x[k + 1] * ROWL_W(k + 1)[j];
			s2 = s2 + x[k + 2] * ROWL_W(k + 2)[j];
			s3 = s3 + x[k + 3] * ROWL_W(k + 3)[j];
		}
		if (k < n)
			s0 = s0 + x[k] * ROWL_W(k)[j];
		if (k + 1 < n)
			s1 = s1 + x[k + 1] * ROWL_W(k + 1)[j];
		if (k + 2 < n)
			s2 = s2 + x[k + 2] * ROWL_W(k + 2)[j];
		v = (s0 + s2) + (s1 + s3);
		if (act == DLF_ACT_RELU)
			v = v > 0.0f ? v : 0.0f;
		else if (act == DLF_ACT_LEAKY_RELU)
			v = v > 0.0f ? v : DLF_LEAKY_SLOPE * v;
		o[j] = v;
	}
}

/*
 * nn_forward_row at this width: the first layer from the row's entries,
 * then layer by layer through act[]; ReLU and leaky ReLU in registers,
 * other activations by activate(), the skip path by nn_skip_row.
 */
INLINE float
ROWL_FN(rowl_forward) (const NnNet *net, const int32_t *restrict idx,
					   const float *restrict val, int32_t nnz,
					   float *const *act)
{
	int32_t		L = net->nlayers;
	int			a = net->activation;
	int			fused = a == DLF_ACT_RELU || a == DLF_ACT_LEAKY_RELU ? a : 0;

	for (int32_t l = 0; l < L; l++)
	{
		int32_t		nout = net->units[l + 1];
		int			hidden = l + 1 < L;

		if (l == 0)
			ROWL_FN(rowl_layer) (idx, val, nnz, net->W[0], net->b[0], nout,
								 hidden ? fused : 0, act[0]);
		else
			ROWL_FN(rowl_layer) (NULL, act[l - 1], net->units[l], net->W[l],
								 net->b[l], nout, hidden ? fused : 0, act[l]);
		if (hidden && !fused)
			activate(act[l], nout, a);
	}
	if (net->S)
		nn_skip_row(net, idx, val, nnz, act[L - 1]);
	return act[L - 1][0];
}

#undef ROWL_LOAD
#undef ROWL_W
