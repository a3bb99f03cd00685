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
 * input (the columns as the options declare them, onnx_foreign.c) or
 * dlfin's own encoding (Imputer and LabelEncoder/OneHot blocks, see
 * onnx_write.c), whose parameters are read from the graph.  Anything else is refused with an
 * error that names the operator: never a model that scores differently.
 */
#include "onnx_read.h"

#include <stdio.h>
#include <string.h>

/* Fails with an unsupported-graph error (DLF_ERR_INVALID). */
DlfStatus
rd_unsupported(Rd *r, const char *fmt, const char *arg, const char *detail)
{
	dlf_fail(r->err, DLF_ERR_INVALID, fmt, arg);
	if (detail)
		dlf_detail(r->err, "%s", detail);
	return DLF_ERR_INVALID;
}

/* Skips pass-through nodes after a tensor: its effective name. */
static const char *
skip_passthrough(const OGraph *g, const char *t)
{
	for (int guard = 0; guard < g->nnodes; guard++)
	{
		const ONode *c = og_consumer(g, t, 0);

		if (!(og_is_op(c, "Identity") || og_is_op(c, "Dropout") ||
			  (og_is_op(c, "Flatten") && og_attr_int(c, "axis", 1) == 1)) || c->nout < 1)
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
		return rd_unsupported(r, "weights of ONNX node \"%s\" are not a constant 2-D float tensor",
						   n->name ? n->name : n->op, SUPPORTED_DETAIL);
	in = trans ? W->dims[1] : W->dims[0];
	out = trans ? W->dims[0] : W->dims[1];
	if (in < 1 || out < 1 || in > DLF_MAX_INPUTS || out > DLF_MAX_UNITS ||
		(l > 0 && in != net->units[l]))
		return rd_unsupported(r, "layer shapes of ONNX node \"%s\" do not chain",
						   n->name ? n->name : n->op, NULL);
	if (B && !(B->n == out && (B->f || B->d)))
		return rd_unsupported(r, "bias of ONNX node \"%s\" is not a constant vector of the layer's width",
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
	if (n->nin < 2 || n->nout < 1 || og_attr_int(n, "transA", 0) != 0)
		return rd_unsupported(r, "ONNX Gemm node \"%s\" with a transposed input is not supported",
						   n->name ? n->name : "", SUPPORTED_DETAIL);
	{
		const OAttr *a = og_attr(n, "alpha");
		const OAttr *b = og_attr(n, "beta");
		const OTensor *C = n->nin > 2 && n->in[2][0] ? og_tensor(r->g, n->in[2]) : NULL;

		if (n->nin > 2 && n->in[2][0] && C == NULL)
			return rd_unsupported(r, "bias of ONNX node \"%s\" is not a constant",
							   n->name ? n->name : "Gemm", NULL);
		*next = n->out[0];
		return add_layer(r, n, og_tensor(r->g, n->in[1]),
						 og_attr_int(n, "transB", 0) != 0, C,
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
		return rd_unsupported(r, "ONNX MatMul node \"%s\" is malformed", n->name ? n->name : "", NULL);
	*next = n->out[0];
	add = og_consumer(r->g, *next, -1);
	if (og_is_op(add, "Add") && add->nin == 2 && add->nout >= 1)
	{
		const char *other = strcmp(add->in[0], *next) == 0 ? add->in[1] : add->in[0];

		B = og_tensor(r->g, other);
		if (B == NULL)
			return rd_unsupported(r, "ONNX Add node \"%s\" after a MatMul does not add a constant bias",
							   add->name ? add->name : "", SUPPORTED_DETAIL);
		*next = add->out[0];
	}
	return add_layer(r, n, og_tensor(r->g, n->in[1]), 0, B, 1.0, 1.0);
}

/* The dlfin activation code of an ONNX activation node, 0 if none. */
static int
activation_of(const ONode *n)
{
	if (og_is_op(n, "Relu"))
		return DLF_ACT_RELU;
	if (og_is_op(n, "Tanh"))
		return DLF_ACT_TANH;
	if (og_is_op(n, "Sigmoid"))
		return DLF_ACT_SIGMOID;
	if (og_is_op(n, "LeakyRelu"))
		return DLF_ACT_LEAKY_RELU;
	return 0;
}

/* Whether the tensor feeds a layer (through pass-through nodes). */
static int
feeds_layer(const OGraph *g, const char *t)
{
	const ONode *c = og_consumer(g, skip_passthrough(g, t), 0);

	return og_is_op(c, "Gemm") || og_is_op(c, "MatMul");
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
		if (og_is_op(&g->nodes[i], "Gemm") || og_is_op(&g->nodes[i], "MatMul"))
			first = &g->nodes[i];
	if (first == NULL || first->nin < 1)
		return rd_unsupported(r, "ONNX graph has no %s layer", "Gemm or MatMul", SUPPORTED_DETAIL);
	net->input = first->in[0];
	t = net->input;
	for (;;)
	{
		const ONode *n = og_consumer(g, skip_passthrough(g, t), 0);
		int			act;

		t = skip_passthrough(g, t);
		if (og_is_op(n, "Gemm"))
			st = gemm_layer(r, n, &t);
		else if (og_is_op(n, "MatMul"))
			st = matmul_layer(r, n, &t);
		else
			return rd_unsupported(r, "unsupported ONNX operator \"%s\" in the network",
							   n ? n->op : "(none)", SUPPORTED_DETAIL);
		if (st != DLF_OK)
			return st;
		t = skip_passthrough(g, t);
		net->logits = t;
		n = og_consumer(g, t, 0);
		act = activation_of(n);
		if (act == 0 || n->nout < 1)
		{
			if (feeds_layer(g, t))
				return rd_unsupported(r, "ONNX network has two layers without an activation between them%s",
								   "", SUPPORTED_DETAIL);
			if (n && n->nout >= 1 && feeds_layer(g, n->out[0]))
				return rd_unsupported(r, "unsupported ONNX operator \"%s\" in the network",
								   n->op, SUPPORTED_DETAIL);
			break;				/* no activation: the logits */
		}
		if (!feeds_layer(g, n->out[0]))
		{
			/* an activation after the last layer is the output's */
			if (act == DLF_ACT_SIGMOID)
				net->final_op = "Sigmoid";
			else
				return rd_unsupported(r, "unsupported final ONNX operator \"%s\"", n->op,
								   SUPPORTED_DETAIL);
			break;
		}
		if (act == DLF_ACT_LEAKY_RELU)
		{
			const OAttr *a = og_attr(n, "alpha");

			if (a && a->f != 0.01f)
				return rd_unsupported(r, "ONNX LeakyRelu node \"%s\" has an alpha other than 0.01",
								   n->name ? n->name : "", "dlfin's leaky ReLU has slope 0.01 below zero.");
		}
		if (net->activation != 0 && net->activation != act)
			return rd_unsupported(r, "ONNX network mixes hidden activations (%s and another)",
							   n->op, "dlfin uses one activation for every hidden layer.");
		net->activation = act;
		t = n->out[0];
	}
	{
		const ONode *n = og_consumer(g, net->logits, 0);

		if (net->final_op == NULL && og_is_op(n, "Softmax") && n->nout >= 1)
		{
			int64_t		axis = og_attr_int(n, "axis", g->opset >= 13 ? -1 : 1);

			if (axis != 1 && axis != -1)
				return rd_unsupported(r, "ONNX Softmax node \"%s\" is not over the classes (axis 1)",
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
char *
rd_dup(const char *s)
{
	return dlf_strndup(s, strlen(s));
}

/* Allocates the model's features (zeroed, importance unknown). */
DlfStatus
rd_alloc_features(Rd *r, int32_t n)
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

/* ---- the outputs ---- */

/* Class names: given, or from a dlfin export's label encoder, or 0..k-1. */
static DlfStatus
set_classes(Rd *r, const DlfOnnxOptions *o, int32_t k)
{
	DlfModel   *m = r->m;
	const ONode *lab = og_producer(r->g, "label");
	const OAttr *names = lab && og_is_ml(lab, "LabelEncoder") ?
		og_attr(lab, "values_strings") : NULL;

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
		char		name[32];
		const char *zip = rd_zipmap_class(r->g, k, c, name, sizeof(name));

		if (zip == NULL)
			snprintf(name, sizeof(name), "%d", (int) c);
		m->classes[c] = rd_dup(o->nclasses ? o->classes[c] :
							names && names->nstrings == k ? names->strings[c] :
							zip ? zip : name);
		if (m->classes[c] == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
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
		final = og_consumer(r->g, net->logits, 0)->out[0];
	final = skip_passthrough(r->g, final);
	if (rd_sklearn_tail(r, final, k) != DLF_OK)
		return DLF_ERR_INVALID;
	if (task == 0)
		task = net->final_op == NULL ? DLF_TASK_REGRESSION :
			net->final_op[1] == 'i' || k == 2 ? DLF_TASK_BINARY : DLF_TASK_MULTICLASS;
	if ((task == DLF_TASK_REGRESSION && (net->final_op || k != 1)) ||
		(task == DLF_TASK_BINARY && !(k == 1 || (k == 2 && net->final_op && net->final_op[1] == 'o'))) ||
		(task == DLF_TASK_BINARY && k == 1 && net->final_op && net->final_op[1] == 'o') ||
		(task == DLF_TASK_MULTICLASS && (k < 3 || (net->final_op && net->final_op[1] == 'i'))))
		return rd_unsupported(r, "ONNX network output (%s) does not fit the task",
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
	const OValue *in = rd_input_behind(r->g, r->net.input);
	const ONode *top = in ? NULL : og_producer(r->g, r->net.input);
	const char *task = og_meta(r->g, "dlfin.task");
	DlfStatus	st;
	int32_t		k = r->net.units[r->net.nlayers];

	if (in)
		st = rd_foreign_features(r, o, in);
	else if (og_is_op(top, "Concat") && task)
		st = rd_dlfin_features(r, top);
	else
		return rd_foreign_preprocessing(r, r->net.input);
	if (st != DLF_OK)
		return st;
	if (in)
		st = plain_outputs(r, o);
	else
		st = rd_dlfin_outputs(r, task);
	if (st != DLF_OK)
		return st;
	if (r->m->task == DLF_TASK_BINARY)
		st = set_classes(r, o, 2);
	else if (r->m->task == DLF_TASK_MULTICLASS)
		st = set_classes(r, o, k);
	if (st == DLF_OK && (r->m->options_json = rd_dup("{\"source\": \"onnx\"}")) == NULL)
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
	{
		/* a dlfin export spells out the one-row kernel (onnx_write.c) */
		const ONode *z = og_producer(r.g, "dlfin_logits");

		if (og_meta(r.g, "dlfin.task") &&
			(og_is_op(z, "Reshape") || og_tensor(r.g, "dlfin_feature_map")))
			st = rd_dlfin_network(&r);
		else
			st = read_network(&r);
	}
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
