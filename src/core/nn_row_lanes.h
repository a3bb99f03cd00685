/*
 * nn_row_lanes.h
 *	  The one-row kernel (nn_row.c) for vectors of ROWL_LANES floats, for
 *	  the kernel variants whose CPU has no 16-float registers: GCC lowers
 *	  nn_row.c's 16-float tiles through memory there (an x86-64-v3 build
 *	  ran [32, 16] at about 530 ns a row against 35 with AVX-512).
 *
 * A template, included by nn_row.c once per width with ROWL_V (the float
 * vector type), ROWL_VI (the int32 vector of the same size), ROWL_LANES,
 * ROWL_ROWS (rows of a batch tile) and ROWL_FN (a name suffix) defined, inside its no-contraction region.
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

/* Units j0 .. nout - 1 of a layer for one row, one unit at a time. */
INLINE void
ROWL_FN(rowl_units) (const int32_t *restrict idx, const float *restrict x,
					 int32_t n, const float *restrict W,
					 const float *restrict bias, int32_t nout, int32_t j0,
					 int act, float *restrict o)
{
	for (int32_t j = j0; j < nout; j++)
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
	ROWL_FN(rowl_units) (idx, x, n, W, bias, nout, j, act, o);
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

/*
 * Units j0 .. j0 + ROWL_LANES - 1 of a dense layer for ROWL_ROWS rows of x
 * (row stride n) at once, each lane of each row with rowl_tiles'
 * operations: a wide layer's weights are read once for the rows instead
 * of once a row.  12 accumulators: they fit the 16 registers of AVX2/SSE.
 */
INLINE void
ROWL_FN(rowl_rows_tile) (const float *restrict x, int32_t n,
						 const float *restrict W, const float *restrict bias,
						 int32_t nout, int32_t j0, int act, float *restrict o)
{
	ROWL_V		s[ROWL_ROWS][4];
	int32_t		k = 0;

	for (int r = 0; r < ROWL_ROWS; r++)
	{
		s[r][0] = ROWL_LOAD(bias + j0);
		s[r][1] = s[r][2] = s[r][3] = (ROWL_V) {0};
	}
	for (; k + 4 <= n; k += 4)
		for (int p = 0; p < 4; p++)
		{
			ROWL_V		w = ROWL_LOAD(W + (size_t) (k + p) * nout + j0);

			for (int r = 0; r < ROWL_ROWS; r++)
				s[r][p] = s[r][p] + x[(size_t) r * n + k + p] * w;
		}
	/* the last n mod 4 inputs, each into its own partial sum */
	for (int p = 0; k + p < n; p++)
	{
		ROWL_V		w = ROWL_LOAD(W + (size_t) (k + p) * nout + j0);

		for (int r = 0; r < ROWL_ROWS; r++)
			s[r][p] = s[r][p] + x[(size_t) r * n + k + p] * w;
	}
	for (int r = 0; r < ROWL_ROWS; r++)
	{
		ROWL_V		v = (s[r][0] + s[r][2]) + (s[r][1] + s[r][3]);

		ROWL_FN(rowl_act) (&v, act);
		*(ROWL_VU *) (o + (size_t) r * nout + j0) = v;
	}
}

/*
 * A dense layer for rows rows of x: ROWL_ROWS rows at a time through
 * rowl_rows_tile (the units past the last full vector one at a time), the
 * last rows as rowl_layer does them.
 */
INLINE void
ROWL_FN(rowl_dense_rows) (const float *restrict x, int32_t rows, int32_t n,
						  const float *restrict W, const float *restrict bias,
						  int32_t nout, int act, float *restrict o)
{
	int32_t		jt = nout - nout % ROWL_LANES;
	int32_t		r = 0;

	for (; r + ROWL_ROWS <= rows; r += ROWL_ROWS)
	{
		for (int32_t j0 = 0; j0 < jt; j0 += ROWL_LANES)
			ROWL_FN(rowl_rows_tile) (x + (size_t) r * n, n, W, bias, nout, j0,
									 act, o + (size_t) r * nout);
		if (jt < nout)
			for (int32_t rr = r; rr < r + ROWL_ROWS; rr++)
				ROWL_FN(rowl_units) (NULL, x + (size_t) rr * n, n, W, bias,
									 nout, jt, act, o + (size_t) rr * nout);
	}
	for (; r < rows; r++)
		ROWL_FN(rowl_layer) (NULL, x + (size_t) r * n, n, W, bias, nout, act,
							 o + (size_t) r * nout);
}

/*
 * nn_forward_rows at this width: the first layer row by row, then the
 * dense layers by rowl_dense_rows.  Every row gets the bits rowl_forward
 * gives it.
 */
INLINE void
ROWL_FN(rowl_rows) (const NnNet *net, const NnBatch *bt, NnWork *w)
{
	int32_t		L = net->nlayers;
	int32_t		rows = bt->rows;
	int			a = net->activation;
	int			fused = a == DLF_ACT_RELU || a == DLF_ACT_LEAKY_RELU ? a : 0;

	for (int32_t l = 0; l < L; l++)
	{
		int32_t		nin = net->units[l];
		int32_t		nout = net->units[l + 1];
		int			la = l + 1 < L ? fused : 0;
		float	   *out = w->act[l];

		if (l == 0)
			for (int32_t r = 0; r < rows; r++)
				ROWL_FN(rowl_layer) (bt->idx + (size_t) r * bt->maxent,
									 bt->val + (size_t) r * bt->maxent,
									 bt->nnz[r], net->W[0], net->b[0], nout,
									 la, out + (size_t) r * nout);
		else
			ROWL_FN(rowl_dense_rows) (w->act[l - 1], rows, nin, net->W[l],
									  net->b[l], nout, la, out);
		if (l + 1 < L && !fused)
			activate(out, (int32_t) ((size_t) rows * nout), a);
	}
	if (net->S)
		nn_skip_forward(net, bt, w->act[L - 1]);
}

#undef ROWL_LOAD
#undef ROWL_W
