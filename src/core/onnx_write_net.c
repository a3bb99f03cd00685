/*
 * onnx_write_net.c
 *	  ONNX export of the network: each layer as dlfin's one-row kernel
 *	  (nn.c, nn_forward_row) computes it, operation for operation, so that
 *	  onnxruntime's float32 logits have dlfin_predict's bits; the hidden
 *	  activations with dlfin's roundings.  onnx_dlfin_net.c reads it back.
 */
#include "onnx_write.h"

#include <stdio.h>
#include <string.h>

/* The first layer's weights with rows in block order (numeric first). */
static float *
permuted_w0(const DlfModel *m)
{
	int32_t		nout = m->units[1];
	float	   *w = dlf_alloc_array((size_t) m->units[0] * nout, sizeof(float));
	size_t		row = 0;

	if (w == NULL)
		return NULL;
	for (int pass = 0; pass < 2; pass++)
		for (int32_t f = 0; f < m->nfeatures; f++)
		{
			const DlfFeature *ft = &m->features[f];

			if ((ft->kind == DLF_FEAT_NUMERIC) != (pass == 0))
				continue;
			memcpy(w + row * nout, m->weights[0] + (size_t) ft->input_offset * nout,
				   sizeof(float) * (size_t) ft->ninputs * nout);
			row += ft->ninputs;
		}
	return w;
}

/* A Split of in along axis into nout equal parts named <prefix><i>. */
static void
split(Gb *g, const char *in, const char *prefix, int32_t nout, int axis)
{
	size_t		mark = pb_begin(&g->nodes, 1);
	char		name[48];

	pb_str(&g->nodes, 1, in);
	for (int32_t i = 0; i < nout; i++)
	{
		snprintf(name, sizeof(name), "%s%d", prefix, (int) i);
		pb_str(&g->nodes, 2, name);
	}
	snprintf(name, sizeof(name), "%s0", prefix);
	pb_str(&g->nodes, 3, name);
	pb_str(&g->nodes, 4, "Split");
	ow_attr_int(g, "axis", axis);
	ow_node_end(g, mark);
}

/* A Cast node. */
static void
cast(Gb *g, const char *in, const char *out, int to)
{
	size_t		mark = ow_node_begin(g, "Cast", "", IN(in), IN(out));

	ow_attr_int(g, "to", to);
	ow_node_end(g, mark);
}

/*
 * The first layer's feature map: row f has ones on the encoded inputs of
 * feature f (in block order).  MatMul by it turns the [N, inputs, units]
 * products into one term per feature, in feature order: each of its sums
 * has a single non-zero term, so it is exact in any order.
 */
static DlfStatus
write_feature_map(Gb *g, const DlfModel *m, DlfError *err)
{
	int32_t		nin = m->units[0];
	float	   *map = dlf_alloc_array((size_t) m->nfeatures * nin, sizeof(float));
	int32_t		row = 0;

	if (map == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int pass = 0; pass < 2; pass++)
		for (int32_t f = 0; f < m->nfeatures; f++)
		{
			const DlfFeature *ft = &m->features[f];

			if ((ft->kind == DLF_FEAT_NUMERIC) != (pass == 0))
				continue;
			for (int32_t i = 0; i < ft->ninputs; i++)
				map[(size_t) f * nin + row++] = 1.0f;
		}
	ow_init_floats(g, "dlfin_feature_map", (const int64_t[]) {m->nfeatures, nin}, 2,
				map, (size_t) m->nfeatures * nin);
	dlf_free(map);
	return DLF_OK;
}

/*
 * Layer l as the one-row kernel computes it (nn.c), operation for
 * operation: the products x_k * w_k ([N, n, units]; for the first layer,
 * one per feature), padded with zeros to 4q and cut into q groups of 4
 * consecutive k; four lanes start at (bias, +0, +0, +0) and add the groups
 * in order; then (s0 + s2) + (s1 + s3).  Each step is one float32
 * operation, which onnxruntime rounds as IEEE does, so the logits have
 * dlfin_predict's bits rather than Gemm's precision (which the steep
 * segments of an isotonic map magnify beyond 1e-5).  Names: dlfin_L<l>_*.
 */
static DlfStatus
write_layer(Gb *g, const DlfModel *m, int32_t l, const char *in, const char *out,
			const float *w)
{
	int32_t		n = l == 0 ? m->nfeatures : m->units[l];
	int32_t		nout = m->units[l + 1];
	int32_t		q = (n + 3) / 4;
	float	   *b4 = dlf_alloc_array((size_t) 4 * nout, sizeof(float));
	char		nm[9][48],
				prev[48],
				cur[48];

	if (b4 == NULL)
	{
		g->nodes.failed = 1;
		return DLF_ERR_NOMEM;
	}
	/* W, bias lanes, unsqueezed input, terms, padded, reshaped, shape, pads */
	for (int i = 0; i < 9; i++)
		snprintf(nm[i], sizeof(nm[i]), "dlfin_L%d_%s", (int) l,
				 (const char *[]) {"W", "b", "x", "terms", "padded", "groups",
					 "shape", "pads", "out"}[i]);
	memcpy(b4, m->biases[l], sizeof(float) * nout);
	ow_init_floats(g, nm[0], (const int64_t[]) {m->units[l], nout}, 2, w,
				(size_t) m->units[l] * nout);
	ow_init_floats(g, nm[1], (const int64_t[]) {1, 1, 4, nout}, 4, b4, (size_t) 4 * nout);
	dlf_free(b4);
	ow_node(g, "Unsqueeze", IN(in, "dlfin_axis2"), nm[2]);
	if (l == 0)
	{
		ow_node(g, "Mul", IN(nm[2], nm[0]), "dlfin_L0_products");
		ow_node(g, "MatMul", IN("dlfin_feature_map", "dlfin_L0_products"), nm[3]);
	}
	else
		ow_node(g, "Mul", IN(nm[2], nm[0]), nm[3]);
	ow_init_int64s(g, nm[7], (const int64_t[]) {6}, 1,
				(const int64_t[]) {0, 0, 0, 0, 4 * q - n, 0}, 6);
	ow_node(g, "Pad", IN(nm[3], nm[7]), nm[4]);
	ow_init_int64s(g, nm[6], (const int64_t[]) {4}, 1,
				(const int64_t[]) {0, q, 4, nout}, 4);
	ow_node(g, "Reshape", IN(nm[4], nm[6]), nm[5]);
	snprintf(cur, sizeof(cur), "dlfin_L%d_g", (int) l);
	split(g, nm[5], cur, q, 1);
	/* the lanes: bias + group 0, then + group 1, ... */
	snprintf(prev, sizeof(prev), "%s", nm[1]);
	for (int32_t i = 0; i < q; i++)
	{
		char		grp[48];

		snprintf(grp, sizeof(grp), "dlfin_L%d_g%d", (int) l, (int) i);
		snprintf(cur, sizeof(cur), "dlfin_L%d_s%d", (int) l, (int) i);
		ow_node(g, "Add", IN(prev, grp), cur);
		snprintf(prev, sizeof(prev), "%s", cur);
	}
	/* (s0 + s2) + (s1 + s3) */
	snprintf(cur, sizeof(cur), "dlfin_L%d_h", (int) l);
	split(g, prev, cur, 2, 2);
	snprintf(nm[2], sizeof(nm[2]), "dlfin_L%d_h0", (int) l);
	snprintf(nm[3], sizeof(nm[3]), "dlfin_L%d_h1", (int) l);
	snprintf(nm[4], sizeof(nm[4]), "dlfin_L%d_pair", (int) l);
	ow_node(g, "Add", IN(nm[2], nm[3]), nm[4]);
	snprintf(cur, sizeof(cur), "dlfin_L%d_p", (int) l);
	split(g, nm[4], cur, 2, 2);
	snprintf(nm[2], sizeof(nm[2]), "dlfin_L%d_p0", (int) l);
	snprintf(nm[3], sizeof(nm[3]), "dlfin_L%d_p1", (int) l);
	snprintf(nm[4], sizeof(nm[4]), "dlfin_L%d_sum", (int) l);
	ow_node(g, "Add", IN(nm[2], nm[3]), nm[4]);
	ow_init_int64s(g, nm[8], (const int64_t[]) {2}, 1, (const int64_t[]) {0, nout}, 2);
	ow_node(g, "Reshape", IN(nm[4], nm[8]), out);
	return DLF_OK;
}

/*
 * The hidden activation of "z" -> "h" with dlfin's float32 operations:
 * the tanh and the exp of the sigmoid in double rounded once to float
 * (dlf_tanhf and expf are within half an ulp, nearly always equal), the
 * rest as activate() in nn.c.  Names: dlfin_A<l>_*.
 */
static void
write_activation(Gb *g, const DlfModel *m, int32_t l, const char *z, const char *h)
{
	char		t[5][48];
	size_t		mark;

	for (int i = 0; i < 5; i++)
		snprintf(t[i], sizeof(t[i]), "dlfin_A%d_%d", (int) l, i);
	switch (m->activation)
	{
		case DLF_ACT_TANH:
			cast(g, z, t[0], ONNX_DOUBLE);
			ow_node(g, "Tanh", IN(t[0]), t[1]);
			cast(g, t[1], h, ONNX_FLOAT);
			break;
		case DLF_ACT_SIGMOID:
			/* 1.0f / (1.0f + expf(-z)) */
			ow_node(g, "Neg", IN(z), t[0]);
			cast(g, t[0], t[1], ONNX_DOUBLE);
			ow_node(g, "Exp", IN(t[1]), t[2]);
			cast(g, t[2], t[3], ONNX_FLOAT);
			ow_node(g, "Add", IN("dlfin_one_f", t[3]), t[4]);
			ow_node(g, "Div", IN("dlfin_one_f", t[4]), h);
			break;
		case DLF_ACT_LEAKY_RELU:
			mark = ow_node_begin(g, "LeakyRelu", "", IN(z), IN(h));
			ow_attr_float(g, "alpha", 0.01f);
			ow_node_end(g, mark);
			break;
		default:
			ow_node(g, "Relu", IN(z), h);
			break;
	}
}

/* The layers and hidden activations -> "dlfin_logits". */
DlfStatus
ow_write_network(Gb *g, const DlfModel *m, DlfError *err)
{
	char		in[48] = "dlfin_encoded";

	ow_init_int64s(g, "dlfin_axis2", (const int64_t[]) {1}, 1, (const int64_t[]) {2}, 1);
	if (m->activation == DLF_ACT_SIGMOID && m->nlayers > 1)
		ow_init_floats(g, "dlfin_one_f", NULL, 0, (const float[]) {1.0f}, 1);
	if (write_feature_map(g, m, err) != DLF_OK)
		return err->code;
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		char		zn[48];
		float	   *w = l == 0 ? permuted_w0(m) : m->weights[l];
		DlfStatus	st;

		if (w == NULL)
			return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		if (l + 1 == m->nlayers)
			snprintf(zn, sizeof(zn), "dlfin_logits");
		else
			snprintf(zn, sizeof(zn), "dlfin_z%d", (int) l);
		st = write_layer(g, m, l, in, zn, w);
		if (l == 0)
			dlf_free(w);
		if (st != DLF_OK)
			return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		if (l + 1 == m->nlayers)
			break;
		snprintf(in, sizeof(in), "dlfin_h%d", (int) l + 1);
		write_activation(g, m, l, zn, in);
	}
	return DLF_OK;
}
