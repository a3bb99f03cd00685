/*
 * onnx_dlfin_net.c
 *	  ONNX import of the network of a graph that dlfin_onnx wrote: the
 *	  layers as the one-row kernel computes them (onnx_write.c,
 *	  write_layer) and the hidden activations (write_activation).
 *
 * The graph spells out dlfin's float32 operations one by one, so reading
 * it back means checking that every node is the one dlfin writes, by its
 * tensor names and operands, and taking the weights from the layer's
 * initializers.  A graph that differs anywhere is refused (naming the
 * tensor): it might compute something else.
 */
#include "onnx_read.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NAMELEN 96

/* Whether out is made by op from in0 (and in1 when given) alone. */
static int
made(const OGraph *g, const char *out, const char *op, const char *in0,
	 const char *in1)
{
	const ONode *n = og_producer(g, out);

	return og_is_op(n, op) && n->nin == (in1 ? 2 : 1) && strcmp(n->in[0], in0) == 0 &&
		(!in1 || strcmp(n->in[1], in1) == 0);
}

/* Whether a tensor is the int64 vector v[n]. */
static int
int64s_are(const OGraph *g, const char *name, const int64_t *v, int64_t n)
{
	const OTensor *t = og_tensor(g, name);

	if (t == NULL || t->i == NULL || t->n != n || t->ndims != 1)
		return 0;
	for (int64_t i = 0; i < n; i++)
		if (t->i[i] != v[i])
			return 0;
	return 1;
}

/* Whether out is a Split of in along axis into parts <prefix>0 .. n-1. */
static int
split_into(const OGraph *g, const char *in, const char *prefix, int64_t n,
		   int64_t axis)
{
	char		name[NAMELEN];
	const ONode *s;

	snprintf(name, sizeof(name), "%s0", prefix);
	s = og_producer(g, name);
	if (!og_is_op(s, "Split") || s->nin != 1 || strcmp(s->in[0], in) != 0 ||
		s->nout != n || og_attr_int(s, "axis", 0) != axis || og_attr(s, "split"))
		return 0;
	for (int64_t i = 0; i < n; i++)
	{
		snprintf(name, sizeof(name), "%s%d", prefix, (int) i);
		if (strcmp(s->out[i], name) != 0)
			return 0;
	}
	return 1;
}

/* A float tensor of the given dims, or NULL. */
static const OTensor *
floats_of(const OGraph *g, const char *name, const int64_t *dims, int ndims)
{
	const OTensor *t = og_tensor(g, name);

	if (t == NULL || t->f == NULL || t->ndims != ndims)
		return NULL;
	for (int i = 0; i < ndims; i++)
		if (dims[i] >= 0 && t->dims[i] != dims[i])
			return NULL;
	return t;
}

/* Fails naming the tensor of layer l that is not dlfin's. */
static DlfStatus
not_dlfin(Rd *r, const char *tensor)
{
	return rd_unsupported(r, "ONNX tensor \"%s\" of a dlfin graph is not computed as dlfin_onnx writes it",
						  tensor, "A graph with dlfin metadata must compute its network as dlfin_onnx writes it; see doc/onnx.md.");
}

/* Layer l from in: the checked node chain, its weights and bias into net. */
static DlfStatus
read_layer(Rd *r, int32_t l, const char *in, int64_t n, const char *out)
{
	const OGraph *g = r->g;
	Net		   *net = &r->net;
	char		nm[12][48];
	const OTensor *W,
			   *B;
	int64_t		q = (n + 3) / 4,
				nout;
	const char *part[] = {"W", "b", "x", "terms", "padded", "groups", "shape",
	"pads", "out", "g", "s", "sum"};

	for (int i = 0; i < 12; i++)
		snprintf(nm[i], sizeof(nm[i]), "dlfin_L%d_%s", (int) l, part[i]);
	W = floats_of(g, nm[0], (const int64_t[]) {l == 0 ? -1 : net->units[l], -1}, 2);
	if (W == NULL || W->dims[0] < 1 || W->dims[0] > DLF_MAX_INPUTS ||
		W->dims[1] < 1 || W->dims[1] > DLF_MAX_UNITS)
		return not_dlfin(r, nm[0]);
	nout = W->dims[1];
	B = floats_of(g, nm[1], (const int64_t[]) {1, 1, 4, nout}, 4);
	if (B == NULL)
		return not_dlfin(r, nm[1]);
	for (int64_t j = nout; j < 4 * nout; j++)
		if (B->f[j] != 0.0f || signbit(B->f[j]))
			return not_dlfin(r, nm[1]);
	if (!made(g, nm[2], "Unsqueeze", in, "dlfin_axis2") ||
		!int64s_are(g, "dlfin_axis2", (const int64_t[]) {2}, 1))
		return not_dlfin(r, nm[2]);
	if (l == 0 ? !(made(g, "dlfin_L0_products", "Mul", nm[2], nm[0]) &&
				   made(g, nm[3], "MatMul", "dlfin_feature_map", "dlfin_L0_products"))
		: !made(g, nm[3], "Mul", nm[2], nm[0]))
		return not_dlfin(r, nm[3]);
	if (!made(g, nm[4], "Pad", nm[3], nm[7]) ||
		og_attr(og_producer(g, nm[4]), "mode") ||
		!int64s_are(g, nm[7], (const int64_t[]) {0, 0, 0, 0, 4 * q - n, 0}, 6))
		return not_dlfin(r, nm[4]);
	if (!made(g, nm[5], "Reshape", nm[4], nm[6]) ||
		!int64s_are(g, nm[6], (const int64_t[]) {0, q, 4, nout}, 4) ||
		!split_into(g, nm[5], nm[9], q, 1))
		return not_dlfin(r, nm[5]);
	for (int64_t i = 0; i < q; i++)
	{
		char		prev[NAMELEN],
					cur[NAMELEN],
					grp[NAMELEN];

		if (i == 0)
			snprintf(prev, NAMELEN, "%s", nm[1]);
		else
			snprintf(prev, NAMELEN, "%s%d", nm[10], (int) i - 1);
		snprintf(cur, NAMELEN, "%s%d", nm[10], (int) i);
		snprintf(grp, NAMELEN, "%s%d", nm[9], (int) i);
		if (!made(g, cur, "Add", prev, grp))
			return not_dlfin(r, cur);
	}
	/* (s0 + s2) + (s1 + s3), then [N, units] */
	{
		char		c[6][NAMELEN];

		for (int i = 0; i < 6; i++)
			snprintf(c[i], NAMELEN, "dlfin_L%d_%s", (int) l,
					 (const char *[]) {"h", "h0", "h1", "pair", "p", "p0"}[i]);
		snprintf(nm[10], sizeof(nm[10]), "dlfin_L%d_s%d", (int) l, (int) q - 1);
		snprintf(nm[9], sizeof(nm[9]), "dlfin_L%d_p1", (int) l);
		if (!split_into(g, nm[10], c[0], 2, 2) || !made(g, c[3], "Add", c[1], c[2]) ||
			!split_into(g, c[3], c[4], 2, 2) || !made(g, nm[11], "Add", c[5], nm[9]))
			return not_dlfin(r, nm[11]);
		if (!made(g, out, "Reshape", nm[11], nm[8]) ||
			!int64s_are(g, nm[8], (const int64_t[]) {0, nout}, 2))
			return not_dlfin(r, out);
	}
	net->W[l] = dlf_alloc_array((size_t) W->n, sizeof(float));
	net->b[l] = dlf_alloc_array((size_t) nout, sizeof(float));
	if (net->W[l] == NULL || net->b[l] == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	memcpy(net->W[l], W->f, sizeof(float) * W->n);
	memcpy(net->b[l], B->f, sizeof(float) * nout);
	net->units[l] = (int32_t) W->dims[0];
	net->units[l + 1] = (int32_t) nout;
	net->nlayers = l + 1;
	return DLF_OK;
}

/* Whether out is a Cast of in to the type. */
static int
cast_of(const OGraph *g, const char *out, const char *in, int64_t to)
{
	return made(g, out, "Cast", in, NULL) &&
		og_attr_int(og_producer(g, out), "to", -1) == to;
}

/* The activation code of the nodes from z to h (write_activation), or 0. */
static int
read_activation(const OGraph *g, int32_t l, const char *z, const char *h)
{
	const ONode *n = og_producer(g, h);
	const OTensor *one = og_tensor(g, "dlfin_one_f");
	char		t[5][NAMELEN];

	for (int i = 0; i < 5; i++)
		snprintf(t[i], NAMELEN, "dlfin_A%d_%d", (int) l, i);
	if (made(g, h, "Relu", z, NULL))
		return DLF_ACT_RELU;
	if (made(g, h, "LeakyRelu", z, NULL))
	{
		const OAttr *a = og_attr(n, "alpha");

		return !a || a->f == 0.01f ? DLF_ACT_LEAKY_RELU : 0;
	}
	if (cast_of(g, h, t[1], ONNX_FLOAT) && made(g, t[1], "Tanh", t[0], NULL) &&
		cast_of(g, t[0], z, ONNX_DOUBLE))
		return DLF_ACT_TANH;
	if (made(g, h, "Div", "dlfin_one_f", t[4]) &&
		made(g, t[4], "Add", "dlfin_one_f", t[3]) &&
		cast_of(g, t[3], t[2], ONNX_FLOAT) && made(g, t[2], "Exp", t[1], NULL) &&
		cast_of(g, t[1], t[0], ONNX_DOUBLE) && made(g, t[0], "Neg", z, NULL) &&
		one && one->f && one->n == 1 && one->ndims == 0 && one->f[0] == 1.0f)
		return DLF_ACT_SIGMOID;
	return 0;
}

/*
 * The network of a dlfin export: the layers from "dlfin_encoded" (the
 * Concat of the feature blocks, read by rd_dlfin_features) to
 * "dlfin_logits", with the feature map that rd_dlfin_features checks.
 */
DlfStatus
rd_dlfin_network(Rd *r)
{
	const OGraph *g = r->g;
	Net		   *net = &r->net;
	const OTensor *fmap = floats_of(g, "dlfin_feature_map", (const int64_t[]) {-1, -1}, 2);
	char		in[NAMELEN] = "dlfin_encoded";

	/* exports of what one imported network cannot hold (onnx_write_ens.c) */
	if (og_tensor(g, "dlfin_m0_L0_W") != NULL)
		return rd_unsupported(r, "cannot import %s exported by dlfin_onnx", "an ensemble",
							  "Import reads one network; score the ensemble with the original model or with the ONNX graph itself.");
	if (og_tensor(g, "dlfin_skip_S") != NULL)
		return rd_unsupported(r, "cannot import %s exported by dlfin_onnx", "a model with a skip path",
							  "Import reads one network without a skip path; score the model with the original model or with the ONNX graph itself.");
	if (fmap == NULL || fmap->dims[0] < 1 || fmap->dims[0] > DLF_MAX_FEATURES)
		return not_dlfin(r, "dlfin_feature_map");
	net->fmap = fmap;
	net->input = "dlfin_encoded";
	net->logits = "dlfin_logits";
	for (int32_t l = 0;; l++)
	{
		const ONode *z = og_producer(g, "dlfin_logits");
		char		sum[NAMELEN],
					out[NAMELEN],
					h[NAMELEN];
		int			last,
					act;
		DlfStatus	st;

		if (l > DLF_MAX_HIDDEN)
		{
			dlf_fail(r->err, DLF_ERR_LIMIT, "ONNX network has more than %d layers",
					 DLF_MAX_HIDDEN + 1);
			return DLF_ERR_LIMIT;
		}
		snprintf(sum, NAMELEN, "dlfin_L%d_sum", (int) l);
		last = z && z->nin >= 1 && strcmp(z->in[0], sum) == 0;
		if (last)
			snprintf(out, NAMELEN, "dlfin_logits");
		else
			snprintf(out, NAMELEN, "dlfin_z%d", (int) l);
		st = read_layer(r, l, in, l == 0 ? fmap->dims[0] : net->units[l], out);
		if (st != DLF_OK)
			return st;
		if (l == 0 && fmap->dims[1] != net->units[0])
			return not_dlfin(r, "dlfin_feature_map");
		if (last)
			break;
		snprintf(h, NAMELEN, "dlfin_h%d", (int) l + 1);
		act = read_activation(g, l, out, h);
		if (act == 0 || (net->activation != 0 && act != net->activation))
			return not_dlfin(r, h);
		net->activation = act;
		snprintf(in, NAMELEN, "%s", h);
	}
	if (net->activation == 0)
		net->activation = DLF_ACT_RELU;	/* no hidden layer: unused */
	return DLF_OK;
}
