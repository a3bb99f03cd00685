/*
 * onnx_read.c
 *	  ONNX import: the multilayer perceptron of a decoded ONNX graph (see
 *	  onnx_parse.c) as a dlfin model.
 *
 * The network is found by walking forward from the first Gemm or MatMul:
 * Gemm, or MatMul followed by Add, layers with one hidden activation
 * (Relu, Tanh, Sigmoid, LeakyRelu with dlfin's slope 0.01) between them,
 * ending in Sigmoid (binary), Softmax (multiclass) or nothing (regression,
 * unless the options say otherwise).  Identity, Dropout and Flatten of a
 * 2-D tensor pass through.  What feeds the first layer is either a graph
 * input (the columns, scaled as the options say) or dlfin's own encoding
 * (Imputer and LabelEncoder/OneHot blocks, see onnx_write.c), whose
 * parameters are read from the graph.  Anything else is refused with an
 * error that names the operator: never a model that scores differently.
 */
#include "onnx_graph.h"

#include <stdio.h>
#include <string.h>

/* The network read from the graph. */
typedef struct Net
{
	int32_t		nlayers;
	int32_t		units[DLF_MAX_HIDDEN + 2];
	float	   *W[DLF_MAX_HIDDEN + 1];	/* [in x out], row-major by input */
	float	   *b[DLF_MAX_HIDDEN + 1];
	int			activation;		/* hidden; 0 before the first */
	const char *final_op;		/* "Sigmoid", "Softmax" or NULL */
	const char *input;			/* tensor feeding the first layer */
	const char *logits;			/* output of the last layer */
} Net;

typedef struct Rd
{
	OGraph	   *g;
	DlfError   *err;
	Net			net;
	DlfModel   *m;
} Rd;

/* Fails with an unsupported-graph error (DLF_ERR_INVALID). */
static DlfStatus
unsupported(Rd *r, const char *fmt, const char *arg, const char *detail)
{
	dlf_fail(r->err, DLF_ERR_INVALID, fmt, arg);
	if (detail)
		dlf_detail(r->err, "%s", detail);
	return DLF_ERR_INVALID;
}

#define SUPPORTED_DETAIL "dlfin imports multilayer perceptrons: Gemm or MatMul+Add layers, Relu, Tanh, Sigmoid or LeakyRelu (alpha 0.01) between them, and a final Sigmoid, Softmax or no activation; see doc/onnx.md."

/* ---- graph lookups ---- */

/* The value of metadata key, or NULL. */
static const char *
meta_get(const OGraph *g, const char *key)
{
	for (int32_t i = 0; i < g->nmeta; i++)
		if (strcmp(g->meta_key[i], key) == 0)
			return g->meta_value[i];
	return NULL;
}

/* An initializer, or the value of a Constant node, by name; NULL if none. */
static const OTensor *
tensor_get(const OGraph *g, const char *name)
{
	for (int32_t i = 0; i < g->ninits; i++)
		if (g->inits[i].name && strcmp(g->inits[i].name, name) == 0)
			return &g->inits[i];
	for (int32_t i = 0; i < g->nnodes; i++)
	{
		const ONode *n = &g->nodes[i];

		if (strcmp(n->op, "Constant") == 0 && n->nout == 1 &&
			strcmp(n->out[0], name) == 0)
			for (int64_t a = 0; a < n->nattrs; a++)
				if (strcmp(n->attrs[a].name, "value") == 0 && n->attrs[a].t)
					return n->attrs[a].t;
	}
	return NULL;
}

/* The node producing a tensor, or NULL ("" names no tensor). */
static const ONode *
producer(const OGraph *g, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return NULL;
	for (int32_t i = 0; i < g->nnodes; i++)
		for (int64_t o = 0; o < g->nodes[i].nout; o++)
			if (strcmp(g->nodes[i].out[o], name) == 0)
				return &g->nodes[i];
	return NULL;
}

/* The first node consuming a tensor as its input k (k -1: any), or NULL. */
static const ONode *
consumer(const OGraph *g, const char *name, int k)
{
	for (int32_t i = 0; i < g->nnodes; i++)
		for (int64_t j = 0; j < g->nodes[i].nin; j++)
			if ((k < 0 || j == k) && strcmp(g->nodes[i].in[j], name) == 0)
				return &g->nodes[i];
	return NULL;
}

/* Input k of a node, or "" when it has no such input. */
static const char *
in_k(const ONode *n, int k)
{
	return n && n->nin > k ? n->in[k] : "";
}

/* Whether a node is op in ai.onnx (domain "" or "ai.onnx"). */
static int
is_op(const ONode *n, const char *op)
{
	return n && strcmp(n->op, op) == 0 &&
		(n->domain[0] == '\0' || strcmp(n->domain, "ai.onnx") == 0);
}

/* Whether a node is op in ai.onnx.ml. */
static int
is_ml(const ONode *n, const char *op)
{
	return n && strcmp(n->op, op) == 0 && strcmp(n->domain, "ai.onnx.ml") == 0;
}

/* An attribute of a node, or NULL. */
static const OAttr *
attr_get(const ONode *n, const char *name)
{
	for (int64_t a = 0; a < n->nattrs; a++)
		if (strcmp(n->attrs[a].name, name) == 0)
			return &n->attrs[a];
	return NULL;
}

/* An integer attribute, or dflt. */
static int64_t
attr_int(const ONode *n, const char *name, int64_t dflt)
{
	const OAttr *a = attr_get(n, name);

	return a ? a->i : dflt;
}

/* The graph input of a name, or NULL. */
static const OValue *
graph_input(const OGraph *g, const char *name)
{
	for (int32_t i = 0; i < g->ninputs; i++)
		if (strcmp(g->inputs[i].name, name) == 0)
			return &g->inputs[i];
	return NULL;
}

/* Skips pass-through nodes after a tensor: its effective name. */
static const char *
skip_passthrough(const OGraph *g, const char *t)
{
	for (int guard = 0; guard < g->nnodes; guard++)
	{
		const ONode *c = consumer(g, t, 0);

		if (!(is_op(c, "Identity") || is_op(c, "Dropout") ||
			  (is_op(c, "Flatten") && attr_int(c, "axis", 1) == 1)) || c->nout < 1)
			break;
		t = c->out[0];
	}
	return t;
}

/* ---- the network ---- */

/* A float32 weight copy of a float or double tensor; NULL if not one. */
static float *
weights_of(const OTensor *t)
{
	float	   *w;

	if (t == NULL || (t->f == NULL && t->d == NULL))
		return NULL;
	w = dlf_alloc_array((size_t) (t->n ? t->n : 1), sizeof(float));
	if (w == NULL)
		return NULL;
	for (int64_t i = 0; i < t->n; i++)
		w[i] = t->f ? t->f[i] : (float) t->d[i];
	return w;
}

/* Adds a layer from W (rows x cols, transposed when trans) and a bias. */
static DlfStatus
add_layer(Rd *r, const ONode *n, const OTensor *W, int trans,
		  const OTensor *B, double alpha, double beta)
{
	Net		   *net = &r->net;
	int32_t		l = net->nlayers;
	int64_t		in,
				out;
	float	   *w;

	if (l > DLF_MAX_HIDDEN)
	{
		dlf_fail(r->err, DLF_ERR_LIMIT, "ONNX network has more than %d layers",
				 DLF_MAX_HIDDEN + 1);
		return DLF_ERR_LIMIT;
	}
	if (W == NULL || W->ndims != 2 || (W->f == NULL && W->d == NULL))
		return unsupported(r, "weights of ONNX node \"%s\" are not a constant 2-D float tensor",
						   n->name ? n->name : n->op, SUPPORTED_DETAIL);
	in = trans ? W->dims[1] : W->dims[0];
	out = trans ? W->dims[0] : W->dims[1];
	if (in < 1 || out < 1 || in > DLF_MAX_INPUTS || out > DLF_MAX_UNITS ||
		(l > 0 && in != net->units[l]))
		return unsupported(r, "layer shapes of ONNX node \"%s\" do not chain",
						   n->name ? n->name : n->op, NULL);
	if (B && !(B->n == out && (B->f || B->d)))
		return unsupported(r, "bias of ONNX node \"%s\" is not a constant vector of the layer's width",
						   n->name ? n->name : n->op, NULL);
	if ((w = weights_of(W)) == NULL ||
		(net->b[l] = dlf_alloc_array(out, sizeof(float))) == NULL)
	{
		dlf_free(w);
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	net->W[l] = w;
	if (trans)
	{
		net->W[l] = dlf_alloc_array((size_t) in * out, sizeof(float));
		if (net->W[l] == NULL)
		{
			dlf_free(w);
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
		}
		for (int64_t i = 0; i < in; i++)
			for (int64_t j = 0; j < out; j++)
				net->W[l][i * out + j] = w[j * in + i];
		dlf_free(w);
	}
	if (alpha != 1.0)
		for (int64_t i = 0; i < in * out; i++)
			net->W[l][i] = (float) (alpha * net->W[l][i]);
	for (int64_t j = 0; j < out; j++)
		net->b[l][j] = B ? (float) (beta * (B->f ? B->f[j] : B->d[j])) : 0.0f;
	net->units[l] = (int32_t) in;
	net->units[l + 1] = (int32_t) out;
	net->nlayers++;
	return DLF_OK;
}

/* A Gemm node as a layer: Y = alpha A B' + beta C, A not transposed. */
static DlfStatus
gemm_layer(Rd *r, const ONode *n, const char **next)
{
	if (n->nin < 2 || n->nout < 1 || attr_int(n, "transA", 0) != 0)
		return unsupported(r, "ONNX Gemm node \"%s\" with a transposed input is not supported",
						   n->name ? n->name : "", SUPPORTED_DETAIL);
	{
		const OAttr *a = attr_get(n, "alpha");
		const OAttr *b = attr_get(n, "beta");
		const OTensor *C = n->nin > 2 && n->in[2][0] ? tensor_get(r->g, n->in[2]) : NULL;

		if (n->nin > 2 && n->in[2][0] && C == NULL)
			return unsupported(r, "bias of ONNX node \"%s\" is not a constant",
							   n->name ? n->name : "Gemm", NULL);
		*next = n->out[0];
		return add_layer(r, n, tensor_get(r->g, n->in[1]),
						 attr_int(n, "transB", 0) != 0, C,
						 a ? a->f : 1.0, b ? b->f : 1.0);
	}
}

/* A MatMul node (and the Add of a bias after it) as a layer. */
static DlfStatus
matmul_layer(Rd *r, const ONode *n, const char **next)
{
	const ONode *add;
	const OTensor *B = NULL;

	if (n->nin != 2 || n->nout < 1)
		return unsupported(r, "ONNX MatMul node \"%s\" is malformed", n->name ? n->name : "", NULL);
	*next = n->out[0];
	add = consumer(r->g, *next, -1);
	if (is_op(add, "Add") && add->nin == 2 && add->nout >= 1)
	{
		const char *other = strcmp(add->in[0], *next) == 0 ? add->in[1] : add->in[0];

		B = tensor_get(r->g, other);
		if (B == NULL)
			return unsupported(r, "ONNX Add node \"%s\" after a MatMul does not add a constant bias",
							   add->name ? add->name : "", SUPPORTED_DETAIL);
		*next = add->out[0];
	}
	return add_layer(r, n, tensor_get(r->g, n->in[1]), 0, B, 1.0, 1.0);
}

/* The dlfin activation code of an ONNX activation node, 0 if none. */
static int
activation_of(const ONode *n)
{
	if (is_op(n, "Relu"))
		return DLF_ACT_RELU;
	if (is_op(n, "Tanh"))
		return DLF_ACT_TANH;
	if (is_op(n, "Sigmoid"))
		return DLF_ACT_SIGMOID;
	if (is_op(n, "LeakyRelu"))
		return DLF_ACT_LEAKY_RELU;
	return 0;
}

/* Whether the tensor feeds a layer (through pass-through nodes). */
static int
feeds_layer(const OGraph *g, const char *t)
{
	const ONode *c = consumer(g, skip_passthrough(g, t), 0);

	return is_op(c, "Gemm") || is_op(c, "MatMul");
}

/* Walks the layers from the first Gemm/MatMul to the logits. */
static DlfStatus
read_network(Rd *r)
{
	OGraph	   *g = r->g;
	Net		   *net = &r->net;
	const ONode *first = NULL;
	const char *t;
	DlfStatus	st;

	for (int32_t i = 0; i < g->nnodes && !first; i++)
		if (is_op(&g->nodes[i], "Gemm") || is_op(&g->nodes[i], "MatMul"))
			first = &g->nodes[i];
	if (first == NULL || first->nin < 1)
		return unsupported(r, "ONNX graph has no %s layer", "Gemm or MatMul", SUPPORTED_DETAIL);
	net->input = first->in[0];
	t = net->input;
	for (;;)
	{
		const ONode *n = consumer(g, skip_passthrough(g, t), 0);
		int			act;

		t = skip_passthrough(g, t);
		if (is_op(n, "Gemm"))
			st = gemm_layer(r, n, &t);
		else if (is_op(n, "MatMul"))
			st = matmul_layer(r, n, &t);
		else
			return unsupported(r, "unsupported ONNX operator \"%s\" in the network",
							   n ? n->op : "(none)", SUPPORTED_DETAIL);
		if (st != DLF_OK)
			return st;
		t = skip_passthrough(g, t);
		net->logits = t;
		n = consumer(g, t, 0);
		act = activation_of(n);
		if (act == 0 || n->nout < 1)
		{
			if (feeds_layer(g, t))
				return unsupported(r, "ONNX network has two layers without an activation between them%s",
								   "", SUPPORTED_DETAIL);
			if (n && n->nout >= 1 && feeds_layer(g, n->out[0]))
				return unsupported(r, "unsupported ONNX operator \"%s\" in the network",
								   n->op, SUPPORTED_DETAIL);
			break;				/* no activation: the logits */
		}
		if (!feeds_layer(g, n->out[0]))
		{
			/* an activation after the last layer is the output's */
			if (act == DLF_ACT_SIGMOID)
				net->final_op = "Sigmoid";
			else
				return unsupported(r, "unsupported final ONNX operator \"%s\"", n->op,
								   SUPPORTED_DETAIL);
			break;
		}
		if (act == DLF_ACT_LEAKY_RELU)
		{
			const OAttr *a = attr_get(n, "alpha");

			if (a && a->f != 0.01f)
				return unsupported(r, "ONNX LeakyRelu node \"%s\" has an alpha other than 0.01",
								   n->name ? n->name : "", "dlfin's leaky ReLU has slope 0.01 below zero.");
		}
		if (net->activation != 0 && net->activation != act)
			return unsupported(r, "ONNX network mixes hidden activations (%s and another)",
							   n->op, "dlfin uses one activation for every hidden layer.");
		net->activation = act;
		t = n->out[0];
	}
	{
		const ONode *n = consumer(g, net->logits, 0);

		if (net->final_op == NULL && is_op(n, "Softmax") && n->nout >= 1)
		{
			int64_t		axis = attr_int(n, "axis", g->opset >= 13 ? -1 : 1);

			if (axis != 1 && axis != -1)
				return unsupported(r, "ONNX Softmax node \"%s\" is not over the classes (axis 1)",
								   n->name ? n->name : "", NULL);
			net->final_op = "Softmax";
		}
	}
	if (net->activation == 0)
		net->activation = DLF_ACT_RELU;	/* no hidden layer: unused */
	return DLF_OK;
}

/* ---- the features ---- */

/* A dlf_alloc'ed copy of a string, or NULL. */
static char *
dup(const char *s)
{
	return dlf_strndup(s, strlen(s));
}

/* Allocates the model's features (zeroed, importance unknown). */
static DlfStatus
alloc_features(Rd *r, int32_t n)
{
	DlfModel   *m = r->m;

	if (n < 1 || n > DLF_MAX_FEATURES)
	{
		dlf_fail(r->err, DLF_ERR_LIMIT, "ONNX network has %d inputs; between 1 and %d are allowed",
				 (int) n, DLF_MAX_FEATURES);
		return DLF_ERR_LIMIT;
	}
	m->features = dlf_alloc_array(n, sizeof(DlfFeature));
	if (m->features == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	memset(m->features, 0, sizeof(DlfFeature) * n);
	m->nfeatures = n;
	for (int32_t f = 0; f < n; f++)
	{
		m->features[f].importance = NAN;
		m->features[f].scale = 1.0;
	}
	return DLF_OK;
}

/* The columns feed the network directly: one numeric feature per input. */
static DlfStatus
plain_features(Rd *r, const DlfOnnxOptions *o, const OValue *v)
{
	int32_t		k = r->net.units[0];
	DlfModel   *m = r->m;
	DlfStatus	st;

	if (v->type != ONNX_FLOAT && v->type != ONNX_DOUBLE)
		return unsupported(r, "ONNX graph input \"%s\" is not a float tensor", v->name,
						   "dlfin imports networks over float or double columns.");
	if ((o->nfeatures && o->nfeatures != k) || (o->nmean && o->nmean != k) ||
		(o->nscale && o->nscale != k))
	{
		dlf_fail(r->err, DLF_ERR_INVALID,
				 "options of dlfin_from_onnx do not match the network's %d inputs", (int) k);
		dlf_detail(r->err, "Options \"features\", \"mean\" and \"scale\" need one entry per input.");
		return DLF_ERR_INVALID;
	}
	if ((st = alloc_features(r, k)) != DLF_OK)
		return st;
	for (int32_t f = 0; f < k; f++)
	{
		DlfFeature *ft = &m->features[f];
		char		name[32];

		snprintf(name, sizeof(name), "f%d", (int) f + 1);
		ft->name = dup(o->nfeatures ? o->names[f] : name);
		ft->kind = DLF_FEAT_NUMERIC;
		ft->sqltype = o->sqltypes && o->nfeatures ? o->sqltypes[f] : DLF_SQL_NUMBER;
		ft->mean = o->nmean ? o->mean[f] : 0.0;
		ft->scale = o->nscale ? o->scale[f] : 1.0;
		if (ft->name == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
		if (!(ft->scale > 0))
			return dlf_fail(r->err, DLF_ERR_INVALID,
							"option \"scale\" of dlfin_from_onnx must be positive");
	}
	return DLF_OK;
}

/* The producer of a node's input k if it is a Cast to `to', else NULL. */
static const ONode *
cast_before(const OGraph *g, const ONode *n, int k, int64_t to)
{
	const ONode *c = n && n->nin > k ? producer(g, n->in[k]) : NULL;

	return is_op(c, "Cast") && c->nin == 1 && attr_int(c, "to", 0) == to ? c : NULL;
}

/* A double vector initializer of k values ([k] or [1, k]), or NULL. */
static const double *
vector_of(const OGraph *g, const ONode *n, int k, int64_t len)
{
	const OTensor *t = n && n->nin > k ? tensor_get(g, n->in[k]) : NULL;

	return t && t->d && t->n == len ? t->d : NULL;
}

/* A scale whose reciprocal is exactly inv, as the scorer will compute it. */
static double
scale_of(double inv)
{
	double		s = 1.0 / inv;

	for (int i = 0; i < 8 && 1.0 / s != inv; i++)
		s = nextafter(s, 1.0 / s < inv ? 0.0 : INFINITY);
	return 1.0 / s == inv ? s : 1.0 / inv;
}

/*
 * The numeric block of a dlfin graph, from its Imputer back: Cast to
 * float, Mul by 1/scale, Sub the mean, Cast to double, Cast to float,
 * Concat of the graph inputs.
 */
static DlfStatus
numeric_block(Rd *r, const ONode *imp, const ONode **concat,
			  const double **mean, const double **inv)
{
	const OGraph *g = r->g;
	const ONode *c32 = cast_before(g, imp, 0, ONNX_FLOAT);
	const ONode *mul = c32 ? producer(g, c32->in[0]) : NULL;
	const ONode *sub = is_op(mul, "Mul") ? producer(g, in_k(mul, 0)) : NULL;
	const ONode *c64 = is_op(sub, "Sub") ? cast_before(g, sub, 0, ONNX_DOUBLE) : NULL;
	const ONode *round = cast_before(g, c64, 0, ONNX_FLOAT);
	const OAttr *iv = attr_get(imp, "imputed_value_floats");
	int64_t		k;

	*concat = round ? producer(g, round->in[0]) : NULL;
	k = *concat ? (*concat)->nin : 0;
	*mean = vector_of(g, sub, 1, k);
	*inv = vector_of(g, mul, 1, k);
	if (!is_op(*concat, "Concat") || *mean == NULL || *inv == NULL ||
		iv == NULL || iv->nfloats != k)
		return unsupported(r, "unsupported ONNX preprocessing before \"%s\"", imp->op,
						   "dlfin reads its own numeric encoding: Concat, Cast to float and to double, Sub the means, Mul by the reciprocal scales, Cast to float, Imputer.");
	for (int64_t j = 0; j < k; j++)
		if (iv->floats[j] != 0 || !isfinite((*mean)[j]) ||
			!((*inv)[j] > 0) || !isfinite((*inv)[j]))
			return unsupported(r, "ONNX %s of the numeric features is not dlfin's",
							   "Imputer", "dlfin imputes a NULL with the training mean, which it scales to 0.");
	return DLF_OK;
}

/* A text block of a dlfin graph: LabelEncoder, OneHot, Flatten. */
static DlfStatus
text_block(Rd *r, const ONode *flat, const ONode **enc, int64_t *depth)
{
	const ONode *hot = producer(r->g, in_k(flat, 0));
	const OTensor *d = hot && hot->nin == 3 ? tensor_get(r->g, hot->in[1]) : NULL;
	const OTensor *v = hot && hot->nin == 3 ? tensor_get(r->g, hot->in[2]) : NULL;

	*enc = producer(r->g, in_k(hot, 0));
	if (!is_op(hot, "OneHot") || d == NULL || d->n != 1 || (d->i == NULL && d->f == NULL) ||
		v == NULL || v->f == NULL || v->n != 2 || v->f[0] != 0 || v->f[1] != 1 ||
		attr_int(hot, "axis", -1) != -1 || !is_ml(*enc, "LabelEncoder") ||
		attr_int(flat, "axis", 1) != 1)
		return unsupported(r, "unsupported ONNX preprocessing before \"%s\"", flat->op,
						   "dlfin reads its own text encoding: LabelEncoder, OneHot with values 0 and 1, Flatten.");
	*depth = d->i ? d->i[0] : (int64_t) d->f[0];
	if (*depth < 2 || *depth > (int64_t) DLF_MAX_CATEGORIES + 2)
		return unsupported(r, "ONNX OneHot depth of \"%s\" is out of range", flat->name ? flat->name : "", NULL);
	return DLF_OK;
}

/* A text feature's vocabulary from its LabelEncoder (codes 0..ncat-1). */
static DlfStatus
vocabulary(Rd *r, const ONode *enc, DlfFeature *ft, int64_t depth)
{
	const OAttr *keys = attr_get(enc, "keys_strings"),
			   *vals = attr_get(enc, "values_int64s");
	int32_t		ncat = (int32_t) (depth - 2);

	if (keys == NULL || vals == NULL || keys->nstrings != vals->nints ||
		attr_int(enc, "default_int64", -1) != ncat)
		return unsupported(r, "ONNX LabelEncoder of \"%s\" does not map unseen strings to the \"other\" code",
						   ft->name, NULL);
	ft->ncat = ncat;
	ft->categories = dlf_alloc_array(ncat ? ncat : 1, sizeof(char *));
	if (ft->categories == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	memset(ft->categories, 0, sizeof(char *) * (ncat ? ncat : 1));
	for (int64_t k = 0; k < keys->nstrings; k++)
	{
		int64_t		c = vals->ints[k];

		if (c == ncat + 1 && keys->strings[k][0] == '\0')
			continue;			/* "" stands for NULL */
		if (c < 0 || c >= ncat || ft->categories[c] != NULL)
			return unsupported(r, "ONNX LabelEncoder of \"%s\" maps strings to codes dlfin cannot represent",
							   ft->name, NULL);
		if ((ft->categories[c] = dup(keys->strings[k])) == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t c = 0; c < ncat; c++)
		if (ft->categories[c] == NULL)
			return unsupported(r, "ONNX LabelEncoder of \"%s\" leaves a category code unused",
							   ft->name, NULL);
	return DLF_OK;
}

/* Index of a graph input, or -1. */
static int32_t
input_index(const OGraph *g, const char *name)
{
	for (int32_t i = 0; i < g->ninputs; i++)
		if (strcmp(g->inputs[i].name, name) == 0)
			return i;
	return -1;
}

/* Claims graph input `name' as a feature; -1 (failure set) if it cannot. */
static int32_t
claim(Rd *r, const char *name, int32_t *row_of, int32_t row)
{
	int32_t		f = input_index(r->g, name);

	if (f < 0 || row_of[f] >= 0)
	{
		unsupported(r, "ONNX tensor \"%s\" is not a graph input used once", name,
					"dlfin reads each feature column from its own graph input.");
		return -1;
	}
	row_of[f] = row;
	return f;
}

/*
 * A dlfin export's encoding: the features in graph input order, and the
 * first layer's rows moved from the Concat's block order to theirs.
 */
static DlfStatus
dlfin_features(Rd *r, const ONode *top)
{
	DlfModel   *m = r->m;
	int32_t    *row_of;
	int32_t		row = 0;
	DlfStatus	st;

	if ((st = alloc_features(r, r->g->ninputs)) != DLF_OK)
		return st;
	if ((row_of = dlf_alloc_array(m->nfeatures, sizeof(int32_t))) == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	for (int32_t f = 0; f < m->nfeatures; f++)
		row_of[f] = -1;
	for (int64_t b = 0; b < top->nin && st == DLF_OK; b++)
	{
		const ONode *p = producer(r->g, top->in[b]);
		const ONode *sub;
		const double *mean,
				   *inv;
		int64_t		depth;
		int32_t		f;

		if (is_ml(p, "Imputer") && (st = numeric_block(r, p, &sub, &mean, &inv)) == DLF_OK)
			for (int64_t j = 0; j < sub->nin && st == DLF_OK; j++)
			{
				const OValue *v;

				if ((f = claim(r, sub->in[j], row_of, row++)) < 0)
					st = DLF_ERR_INVALID;
				else if ((v = &r->g->inputs[f])->type != ONNX_DOUBLE && v->type != ONNX_FLOAT)
					st = unsupported(r, "ONNX graph input \"%s\" is not a float tensor", v->name, NULL);
				else
				{
					m->features[f].kind = DLF_FEAT_NUMERIC;
					m->features[f].sqltype = v->doc && strcmp(v->doc, "boolean") == 0 ?
						DLF_SQL_BOOL : DLF_SQL_NUMBER;
					m->features[f].mean = mean[j];
					m->features[f].scale = scale_of(inv[j]);
				}
			}
		else if (is_op(p, "Flatten") && (st = text_block(r, p, &sub, &depth)) == DLF_OK)
		{
			if ((f = claim(r, in_k(sub, 0), row_of, row)) < 0)
				st = DLF_ERR_INVALID;
			else if (r->g->inputs[f].type != ONNX_STRING)
				st = unsupported(r, "ONNX graph input \"%s\" is not a string tensor",
								 r->g->inputs[f].name, NULL);
			else
			{
				m->features[f].kind = DLF_FEAT_CATEGORICAL;
				m->features[f].sqltype = DLF_SQL_TEXT;
				m->features[f].name = dup(r->g->inputs[f].name);
				st = vocabulary(r, sub, &m->features[f], depth);
				row += (int32_t) depth;
			}
		}
		else if (st == DLF_OK)
			st = unsupported(r, "unsupported ONNX operator \"%s\" before the network",
							 p ? p->op : "(none)", SUPPORTED_DETAIL);
	}
	for (int32_t f = 0; f < m->nfeatures && st == DLF_OK; f++)
	{
		if (row_of[f] < 0)
			st = unsupported(r, "ONNX graph input \"%s\" does not feed the network",
							 r->g->inputs[f].name, NULL);
		else if (m->features[f].name == NULL &&
				 (m->features[f].name = dup(r->g->inputs[f].name)) == NULL)
			st = dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	if (st == DLF_OK && dlf_model_layout(m) != r->net.units[0])
		st = unsupported(r, "ONNX encoding of \"%s\" does not match the first layer's inputs",
						 top->name ? top->name : "Concat", NULL);
	if (st == DLF_OK)
	{
		/* first-layer rows from block order to feature order */
		int32_t		nout = r->net.units[1];
		float	   *w = dlf_alloc_array((size_t) r->net.units[0] * nout, sizeof(float));

		if (w == NULL)
			st = dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
		else
		{
			for (int32_t f = 0; f < m->nfeatures; f++)
				memcpy(w + (size_t) m->features[f].input_offset * nout,
					   r->net.W[0] + (size_t) row_of[f] * nout,
					   sizeof(float) * (size_t) m->features[f].ninputs * nout);
			dlf_free(r->net.W[0]);
			r->net.W[0] = w;
		}
	}
	dlf_free(row_of);
	return st;
}

/* ---- the outputs ---- */

/* Class names: given, or from a dlfin export's label encoder, or 0..k-1. */
static DlfStatus
set_classes(Rd *r, const DlfOnnxOptions *o, int32_t k)
{
	DlfModel   *m = r->m;
	const ONode *lab = producer(r->g, "label");
	const OAttr *names = lab && is_ml(lab, "LabelEncoder") ?
		attr_get(lab, "values_strings") : NULL;

	if (o->nclasses && o->nclasses != k)
	{
		dlf_fail(r->err, DLF_ERR_INVALID,
				 "option \"classes\" of dlfin_from_onnx names %d classes but the network has %d",
				 (int) o->nclasses, (int) k);
		return DLF_ERR_INVALID;
	}
	m->nclasses = k;
	if ((m->classes = dlf_alloc_array(k, sizeof(char *))) == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	memset(m->classes, 0, sizeof(char *) * k);
	for (int32_t c = 0; c < k; c++)
	{
		char		name[16];

		snprintf(name, sizeof(name), "%d", (int) c);
		m->classes[c] = dup(o->nclasses ? o->classes[c] :
							names && names->nstrings == k ? names->strings[c] : name);
		if (m->classes[c] == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	return DLF_OK;
}

/* A double scalar initializer of a dlfin export, or dflt. */
static double
scalar(const OGraph *g, const char *name, double dflt)
{
	const OTensor *t = tensor_get(g, name);

	return t && t->n == 1 ? (t->d ? t->d[0] : t->f ? t->f[0] : dflt) : dflt;
}

/* Whether a node produces out from the given inputs (NULL: any). */
static int
makes(const OGraph *g, const char *out, const char *op, const char *in0,
	  const char *in1)
{
	const ONode *n = producer(g, out);

	return is_op(n, op) && n->nin >= 1 && (!in0 || strcmp(n->in[0], in0) == 0) &&
		(!in1 || (n->nin >= 2 && strcmp(n->in[1], in1) == 0));
}

/*
 * The output of a dlfin export: the task from the metadata, checked
 * against the nodes that compute "score" from the logits (onnx_write.c),
 * and the calibration and target scaling those nodes use.
 */
static DlfStatus
dlfin_outputs(Rd *r, const char *task)
{
	DlfModel   *m = r->m;
	const OGraph *g = r->g;
	const char *z = "dlfin_logits_f64";
	int			fits;

	m->task = strcmp(task, "binary") == 0 ? DLF_TASK_BINARY :
		strcmp(task, "multiclass") == 0 ? DLF_TASK_MULTICLASS :
		strcmp(task, "regression") == 0 ? DLF_TASK_REGRESSION : 0;
	fits = makes(g, z, "Cast", r->net.logits, NULL);
	if (m->task == DLF_TASK_REGRESSION)
	{
		fits &= makes(g, "score", "Add", "dlfin_scaled", "dlfin_target_mean") &&
			makes(g, "dlfin_scaled", "Mul", z, "dlfin_target_scale");
		m->target_scale = scalar(g, "dlfin_target_scale", NAN);
		m->target_mean = scalar(g, "dlfin_target_mean", NAN);
	}
	else if (m->task == DLF_TASK_MULTICLASS)
		fits &= makes(g, "probabilities", "Softmax", z, NULL);
	else if (m->task == DLF_TASK_BINARY && makes(g, "score", "Sigmoid", "dlfin_platt_neg", NULL))
	{
		fits &= makes(g, "dlfin_platt_neg", "Neg", "dlfin_platt_lin", NULL) &&
			makes(g, "dlfin_platt_lin", "Add", "dlfin_platt_az", "dlfin_platt_b") &&
			makes(g, "dlfin_platt_az", "Mul", z, "dlfin_platt_a");
		m->calibration = DLF_CALIB_PLATT;
		m->platt_a = scalar(g, "dlfin_platt_a", NAN);
		m->platt_b = scalar(g, "dlfin_platt_b", NAN);
	}
	else if (m->task == DLF_TASK_BINARY && makes(g, "dlfin_p_raw", "Sigmoid", z, NULL))
	{
		const OTensor *x = tensor_get(g, "dlfin_iso_x"),
				   *y = tensor_get(g, "dlfin_iso_y");

		fits &= x && y && x->d && y->d && x->n == y->n && x->n >= 1 && x->n <= 100000 &&
			(makes(g, "score", "Where", "dlfin_iso_low", NULL) ||
			 makes(g, "score", "Add", "dlfin_iso_0", NULL));
		if (fits)
		{
			m->calibration = DLF_CALIB_ISOTONIC;
			m->niso = (int32_t) x->n;
			m->iso_x = dlf_alloc_array(x->n, sizeof(double));
			m->iso_y = dlf_alloc_array(x->n, sizeof(double));
			if (!m->iso_x || !m->iso_y)
				return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
			memcpy(m->iso_x, x->d, sizeof(double) * x->n);
			memcpy(m->iso_y, y->d, sizeof(double) * x->n);
		}
	}
	else
		fits &= m->task == DLF_TASK_BINARY && makes(g, "score", "Sigmoid", z, NULL);
	if (!fits)
		return unsupported(r, "ONNX graph's output for dlfin task \"%s\" is not dlfin's", task,
						   "A graph with dlfin metadata must compute its outputs as dlfin_onnx writes them.");
	return DLF_OK;
}

/* The task of a plain MLP from its final operator and the options. */
static DlfStatus
plain_outputs(Rd *r, const DlfOnnxOptions *o)
{
	Net		   *net = &r->net;
	DlfModel   *m = r->m;
	int32_t		k = net->units[net->nlayers];
	const char *final = net->logits;
	int			task = o->task;

	if (net->final_op)
		final = consumer(r->g, net->logits, 0)->out[0];
	final = skip_passthrough(r->g, final);
	{
		int			is_output = 0;

		for (int32_t i = 0; i < r->g->noutputs; i++)
			is_output |= strcmp(r->g->outputs[i].name, final) == 0;
		if (!is_output)
		{
			const ONode *c = consumer(r->g, final, -1);

			return unsupported(r, "unsupported ONNX operator \"%s\" after the network",
							   c ? c->op : "(none)",
							   "The network's output (after a final Sigmoid or Softmax, if any) must be a graph output.");
		}
	}
	if (task == 0)
		task = net->final_op == NULL ? DLF_TASK_REGRESSION :
			net->final_op[1] == 'i' || k == 2 ? DLF_TASK_BINARY : DLF_TASK_MULTICLASS;
	if ((task == DLF_TASK_REGRESSION && (net->final_op || k != 1)) ||
		(task == DLF_TASK_BINARY && !(k == 1 || (k == 2 && net->final_op && net->final_op[1] == 'o'))) ||
		(task == DLF_TASK_BINARY && k == 1 && net->final_op && net->final_op[1] == 'o') ||
		(task == DLF_TASK_MULTICLASS && (k < 3 || (net->final_op && net->final_op[1] == 'i'))))
		return unsupported(r, "ONNX network output (%s) does not fit the task",
						   net->final_op ? net->final_op : "no activation",
						   "A binary classifier ends in one output with Sigmoid (or none), or two with Softmax; a multiclass one in three or more outputs with Softmax (or none); a regression in one output without activation.");
	m->task = (uint8_t) task;
	if (task == DLF_TASK_BINARY && k == 2)
	{
		/* softmax of two logits is the sigmoid of their difference */
		int32_t		l = net->nlayers - 1,
					in = net->units[l];

		for (int32_t i = 0; i < in; i++)
			net->W[l][i] = net->W[l][i * 2 + 1] - net->W[l][i * 2];
		net->b[l][0] = net->b[l][1] - net->b[l][0];
		net->units[net->nlayers] = 1;
	}
	return DLF_OK;
}

/* Moves the network into the model. */
static DlfStatus
take_network(Rd *r)
{
	DlfModel   *m = r->m;
	Net		   *net = &r->net;

	m->nlayers = net->nlayers;
	m->activation = (uint8_t) net->activation;
	m->units = dlf_alloc_array(net->nlayers + 1, sizeof(int32_t));
	m->weights = dlf_alloc_array(net->nlayers, sizeof(float *));
	m->biases = dlf_alloc_array(net->nlayers, sizeof(float *));
	if (!m->units || !m->weights || !m->biases)
	{
		dlf_free(m->units);
		dlf_free(m->weights);
		dlf_free(m->biases);
		m->units = NULL;
		m->weights = NULL;
		m->biases = NULL;
		m->nlayers = 0;
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t l = 0; l <= net->nlayers; l++)
		m->units[l] = net->units[l];
	for (int32_t l = 0; l < net->nlayers; l++)
	{
		m->weights[l] = net->W[l];
		m->biases[l] = net->b[l];
		net->W[l] = net->b[l] = NULL;
	}
	return DLF_OK;
}

/* Reads the features, the task and the classes around the network. */
static DlfStatus
read_model(Rd *r, const DlfOnnxOptions *o)
{
	const OValue *in = graph_input(r->g, r->net.input);
	const ONode *top = in ? NULL : producer(r->g, r->net.input);
	const char *task = meta_get(r->g, "dlfin.task");
	DlfStatus	st;
	int32_t		k = r->net.units[r->net.nlayers];

	if (in)
		st = plain_features(r, o, in);
	else if (is_op(top, "Concat") && task)
		st = dlfin_features(r, top);
	else
		return unsupported(r, "unsupported ONNX operator \"%s\" before the network",
						   top ? top->op : "(none)", SUPPORTED_DETAIL);
	if (st != DLF_OK)
		return st;
	if (in)
		st = plain_outputs(r, o);
	else
		st = dlfin_outputs(r, task);
	if (st != DLF_OK)
		return st;
	if (r->m->task == DLF_TASK_BINARY)
		st = set_classes(r, o, 2);
	else if (r->m->task == DLF_TASK_MULTICLASS)
		st = set_classes(r, o, k);
	if (st == DLF_OK && (r->m->options_json = dup("{\"source\": \"onnx\"}")) == NULL)
		st = dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	return st == DLF_OK ? take_network(r) : st;
}

/* Reads an ONNX MLP (or a dlfin export) into a new model. */
DlfStatus
dlf_onnx_import(const uint8_t *buf, size_t len, const DlfOnnxOptions *opt,
				DlfModel **out, DlfError *err)
{
	Rd			r;
	DlfStatus	st;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.err = err;
	if ((st = og_parse(buf, len, &r.g, err)) != DLF_OK)
		return st;
	if ((r.m = dlf_model_new()) == NULL)
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	if (st == DLF_OK)
		st = read_network(&r);
	if (st == DLF_OK)
		st = read_model(&r, opt);
	for (int32_t l = 0; l <= DLF_MAX_HIDDEN; l++)
	{
		dlf_free(r.net.W[l]);
		dlf_free(r.net.b[l]);
	}
	og_free(r.g);
	if (st != DLF_OK)
	{
		dlf_model_free(r.m);
		return st;
	}
	dlf_model_layout(r.m);
	*out = r.m;
	return DLF_OK;
}
