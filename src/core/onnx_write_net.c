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

/*
 * A matrix with one row per encoded input (the first layer's weights, or
 * the skip path's S), its rows put in block order (numeric first).
 */
static float *
permuted_rows(const DlfModel *m, const float *src, int32_t nout)
{
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
			memcpy(w + row * nout, src + (size_t) ft->input_offset * nout,
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
 * segments of an isotonic map magnify beyond 1e-5).  Names: <pfx>L<l>_*
 * (pfx: dlfin_, or dlfin_m<e>_ for member e of an ensemble).
 */
static DlfStatus
write_layer(Gb *g, const DlfModel *m, const char *pfx, int32_t l, const char *in,
			const char *out, const float *w, const float *bias)
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
		snprintf(nm[i], sizeof(nm[i]), "%sL%d_%s", pfx, (int) l,
				 (const char *[]) {"W", "b", "x", "terms", "padded", "groups",
					 "shape", "pads", "out"}[i]);
	memcpy(b4, bias, sizeof(float) * nout);
	ow_init_floats(g, nm[0], (const int64_t[]) {m->units[l], nout}, 2, w,
				(size_t) m->units[l] * nout);
	ow_init_floats(g, nm[1], (const int64_t[]) {1, 1, 4, nout}, 4, b4, (size_t) 4 * nout);
	dlf_free(b4);
	ow_node(g, "Unsqueeze", IN(in, "dlfin_axis2"), nm[2]);
	if (l == 0)
	{
		char		prod[48];

		snprintf(prod, sizeof(prod), "%sL0_products", pfx);
		ow_node(g, "Mul", IN(nm[2], nm[0]), prod);
		ow_node(g, "MatMul", IN("dlfin_feature_map", prod), nm[3]);
	}
	else
		ow_node(g, "Mul", IN(nm[2], nm[0]), nm[3]);
	ow_init_int64s(g, nm[7], (const int64_t[]) {6}, 1,
				(const int64_t[]) {0, 0, 0, 0, 4 * q - n, 0}, 6);
	ow_node(g, "Pad", IN(nm[3], nm[7]), nm[4]);
	ow_init_int64s(g, nm[6], (const int64_t[]) {4}, 1,
				(const int64_t[]) {0, q, 4, nout}, 4);
	ow_node(g, "Reshape", IN(nm[4], nm[6]), nm[5]);
	snprintf(cur, sizeof(cur), "%sL%d_g", pfx, (int) l);
	split(g, nm[5], cur, q, 1);
	/* the lanes: bias + group 0, then + group 1, ... */
	snprintf(prev, sizeof(prev), "%s", nm[1]);
	for (int32_t i = 0; i < q; i++)
	{
		char		grp[48];

		snprintf(grp, sizeof(grp), "%sL%d_g%d", pfx, (int) l, (int) i);
		snprintf(cur, sizeof(cur), "%sL%d_s%d", pfx, (int) l, (int) i);
		ow_node(g, "Add", IN(prev, grp), cur);
		snprintf(prev, sizeof(prev), "%s", cur);
	}
	/* (s0 + s2) + (s1 + s3) */
	snprintf(cur, sizeof(cur), "%sL%d_h", pfx, (int) l);
	split(g, prev, cur, 2, 2);
	snprintf(nm[2], sizeof(nm[2]), "%sL%d_h0", pfx, (int) l);
	snprintf(nm[3], sizeof(nm[3]), "%sL%d_h1", pfx, (int) l);
	snprintf(nm[4], sizeof(nm[4]), "%sL%d_pair", pfx, (int) l);
	ow_node(g, "Add", IN(nm[2], nm[3]), nm[4]);
	snprintf(cur, sizeof(cur), "%sL%d_p", pfx, (int) l);
	split(g, nm[4], cur, 2, 2);
	snprintf(nm[2], sizeof(nm[2]), "%sL%d_p0", pfx, (int) l);
	snprintf(nm[3], sizeof(nm[3]), "%sL%d_p1", pfx, (int) l);
	snprintf(nm[4], sizeof(nm[4]), "%sL%d_sum", pfx, (int) l);
	ow_node(g, "Add", IN(nm[2], nm[3]), nm[4]);
	ow_init_int64s(g, nm[8], (const int64_t[]) {2}, 1, (const int64_t[]) {0, nout}, 2);
	ow_node(g, "Reshape", IN(nm[4], nm[8]), out);
	return DLF_OK;
}

/*
 * The hidden activation of "z" -> "h" with dlfin's float32 operations:
 * the tanh and the exp of the sigmoid in double rounded once to float
 * (dlf_tanhf and expf are within half an ulp, nearly always equal), the
 * rest as activate() in nn.c.  Names: <pfx>A<l>_*.
 */
static void
write_activation(Gb *g, const DlfModel *m, const char *pfx, int32_t l,
				 const char *z, const char *h)
{
	char		t[5][48];
	size_t		mark;

	for (int i = 0; i < 5; i++)
		snprintf(t[i], sizeof(t[i]), "%sA%d_%d", pfx, (int) l, i);
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

/*
 * The skip path of member e, added to its network's logits "net" -> out,
 * as nn_skip_row computes it: the products x_k * S_k, one term per
 * feature in feature order through the feature map (exact, as for the
 * first layer), summed one by one from 0 in float32, then logits + sum.
 * Names: <pfx>skip_*.
 */
static DlfStatus
write_skip(Gb *g, const DlfModel *m, const char *pfx, int32_t e, const char *net,
		   const char *out)
{
	int32_t		nin = m->units[0];
	int32_t		nout = m->units[m->nlayers];
	float	   *s = permuted_rows(m, dlf_member_skip(m, e), nout);
	char		nm[6][48],
				prev[48],
				cur[48];

	if (s == NULL)
		return DLF_ERR_NOMEM;
	for (int i = 0; i < 6; i++)
		snprintf(nm[i], sizeof(nm[i]), "%sskip_%s", pfx,
				 (const char *[]) {"S", "products", "terms", "t", "shape", "zero"}[i]);
	ow_init_floats(g, nm[0], (const int64_t[]) {nin, nout}, 2, s, (size_t) nin * nout);
	dlf_free(s);
	/* the first layer's [N, inputs, 1] view of the encoded inputs */
	snprintf(cur, sizeof(cur), "%sL0_x", pfx);
	ow_node(g, "Mul", IN(cur, nm[0]), nm[1]);
	ow_node(g, "MatMul", IN("dlfin_feature_map", nm[1]), nm[2]);
	split(g, nm[2], nm[3], m->nfeatures, 1);
	ow_init_floats(g, nm[5], NULL, 0, (const float[]) {0.0f}, 1);
	snprintf(prev, sizeof(prev), "%s", nm[5]);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		char		term[64];

		snprintf(term, sizeof(term), "%s%d", nm[3], (int) f);
		snprintf(cur, sizeof(cur), "%sskip_s%d", pfx, (int) f);
		ow_node(g, "Add", IN(prev, term), cur);
		snprintf(prev, sizeof(prev), "%s", cur);
	}
	ow_init_int64s(g, nm[4], (const int64_t[]) {2}, 1, (const int64_t[]) {0, nout}, 2);
	snprintf(cur, sizeof(cur), "%sskip", pfx);
	ow_node(g, "Reshape", IN(prev, nm[4]), cur);
	ow_node(g, "Add", IN(net, cur), out);
	return DLF_OK;
}

/*
 * Network e of the model (its layers, hidden activations and skip path),
 * "dlfin_encoded" -> out, its names prefixed by pfx.
 */
DlfStatus
ow_write_member(Gb *g, const DlfModel *m, int32_t e, const char *pfx,
				const char *out, DlfError *err)
{
	char		in[48] = "dlfin_encoded";
	char		last[48];

	/* with a skip path the layers end in <pfx>net_logits */
	if (m->skip)
		snprintf(last, sizeof(last), "%snet_logits", pfx);
	else
		snprintf(last, sizeof(last), "%s", out);
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		char		zn[48];
		float	   *w = l == 0 ? permuted_rows(m, dlf_member_weights(m, e, 0), m->units[1])
			: dlf_member_weights(m, e, l);
		DlfStatus	st;

		if (w == NULL)
			return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		if (l + 1 == m->nlayers)
			snprintf(zn, sizeof(zn), "%s", last);
		else
			snprintf(zn, sizeof(zn), "%sz%d", pfx, (int) l);
		st = write_layer(g, m, pfx, l, in, zn, w, dlf_member_biases(m, e, l));
		if (l == 0)
			dlf_free(w);
		if (st != DLF_OK)
			return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		if (l + 1 == m->nlayers)
			break;
		snprintf(in, sizeof(in), "%sh%d", pfx, (int) l + 1);
		write_activation(g, m, pfx, l, zn, in);
	}
	if (m->skip && write_skip(g, m, pfx, e, last, out) != DLF_OK)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	return DLF_OK;
}

/*
 * The network -> "dlfin_logits": one network's logits, or an ensemble's
 * (its members' and their combination, onnx_write_ens.c).
 */
DlfStatus
ow_write_network(Gb *g, const DlfModel *m, DlfError *err)
{
	ow_init_int64s(g, "dlfin_axis2", (const int64_t[]) {1}, 1, (const int64_t[]) {2}, 1);
	if (m->activation == DLF_ACT_SIGMOID && m->nlayers > 1)
		ow_init_floats(g, "dlfin_one_f", NULL, 0, (const float[]) {1.0f}, 1);
	if (write_feature_map(g, m, err) != DLF_OK)
		return err->code;
	if (dlf_model_members(m) > 1)
		return ow_write_ensemble(g, m, err);
	return ow_write_member(g, m, 0, "dlfin_", "dlfin_logits", err);
}
