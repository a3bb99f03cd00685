/*
 * onnx_sklearn.c
 *	  ONNX import: what skl2onnx writes around an MLPClassifier's or
 *	  MLPRegressor's network (its converter for sklearn.neural_network),
 *	  read as what it is: the network's output, reshaped or repackaged.
 *
 * Before the network, skl2onnx casts the input to float (or double).
 * After it: a regressor's Reshape to [N, 1]; a classifier's probability
 * tensor (binary: Concat of 1 - p and p; multiclass: Identity), ArgMax
 * over it, ArrayFeatureExtractor of the class labels, Reshape (and Cast)
 * to the label output, and ZipMap of the probabilities to a list of maps.
 * Every node that reads the network's output, or a tensor derived from
 * it, must be one of these, so that what the graph outputs is what the
 * dlfin model computes (its scores, dlfin_predict_proba, and with the
 * class names, dlfin_predict_class); anything else is refused, naming it.
 */
#include "onnx_read.h"

#include <stdio.h>
#include <string.h>

/* What a tensor after the network holds. */
typedef enum Tail
{
	TAIL_P,						/* the network's output (or a copy) */
	TAIL_NEG,					/* binary: 1 - p */
	TAIL_PROBA,					/* binary: [1 - p, p] */
	TAIL_INDEX,					/* ArgMax of the probabilities */
	TAIL_LABEL,					/* class labels of those indexes */
	TAIL_MAP					/* ZipMap: no node may read it */
} Tail;

#define TAIL_DEPTH	16

/* Whether a tensor is the constant int64 shape v[n]. */
static int
shape_is(const OGraph *g, const char *name, const int64_t *v, int64_t n)
{
	const OTensor *t = og_tensor(g, name);

	if (t == NULL || t->i == NULL || t->n != n)
		return 0;
	for (int64_t i = 0; i < n; i++)
		if (t->i[i] != v[i])
			return 0;
	return 1;
}

/* Whether a tensor is the constant 1 (float or double, one value). */
static int
is_one(const OGraph *g, const char *name)
{
	const OTensor *t = og_tensor(g, name);

	return t && t->n == 1 && (t->f ? t->f[0] == 1.0f : t->d && t->d[0] == 1.0);
}

/*
 * The kind of node n's outputs when it reads tensor t (of kind `kind') of
 * the network's output p (k values a row), or -1 if n is not skl2onnx's.
 */
static int
tail_step(const OGraph *g, const ONode *n, const char *t, Tail kind,
		  const char *p, int32_t k)
{
	const ONode *sub;

	if (og_is_op(n, "Identity") && n->nin == 1)
		return kind;
	if (og_is_op(n, "Reshape") && n->nin == 2 && strcmp(n->in[0], t) == 0)
	{
		/* one value a row: to [N, 1] (regression) or [N] (labels) */
		if (kind == TAIL_P && k == 1 && shape_is(g, n->in[1], (const int64_t[]) {-1, 1}, 2))
			return kind;
		if (kind == TAIL_LABEL && shape_is(g, n->in[1], (const int64_t[]) {-1}, 1))
			return kind;
		return -1;
	}
	if (kind == TAIL_P && k == 1 && og_is_op(n, "Sub") && n->nin == 2 &&
		strcmp(n->in[1], t) == 0 && strcmp(t, p) == 0 && is_one(g, n->in[0]))
		return TAIL_NEG;
	if ((kind == TAIL_P || kind == TAIL_NEG) && k == 1 && og_is_op(n, "Concat") &&
		n->nin == 2 && og_attr_int(n, "axis", 0) == 1 && strcmp(n->in[1], p) == 0 &&
		(sub = og_producer(g, n->in[0])) != NULL && og_is_op(sub, "Sub") &&
		sub->nin == 2 && strcmp(sub->in[1], p) == 0 && is_one(g, sub->in[0]))
		return TAIL_PROBA;
	if ((kind == TAIL_PROBA || (kind == TAIL_P && k > 1)) && og_is_op(n, "ArgMax") &&
		n->nin == 1 && og_attr_int(n, "axis", 0) == 1 &&
		og_attr_int(n, "select_last_index", 0) == 0)
		return TAIL_INDEX;
	if (kind == TAIL_INDEX && og_is_ml(n, "ArrayFeatureExtractor") && n->nin == 2 &&
		strcmp(n->in[1], t) == 0 && og_tensor(g, n->in[0]) != NULL)
		return TAIL_LABEL;
	if (kind == TAIL_LABEL && og_is_op(n, "Cast") && n->nin == 1)
		return TAIL_LABEL;
	if ((kind == TAIL_PROBA || (kind == TAIL_P && k > 1)) && og_is_ml(n, "ZipMap") &&
		n->nin == 1)
		return TAIL_MAP;
	return -1;
}

/*
 * Checks every node that reads tensor t (of kind `kind') and, in turn,
 * its outputs; counts the graph outputs of probabilities or labels met.
 * Returns the first node that is not skl2onnx's, or NULL.
 */
static const ONode *
tail_walk(const OGraph *g, const char *t, Tail kind, const char *p, int32_t k,
		  int depth, int *outputs)
{
	for (int32_t i = 0; i < g->noutputs; i++)
		if (strcmp(g->outputs[i].name, t) == 0 && kind != TAIL_NEG)
			(*outputs)++;
	for (int32_t i = 0; i < g->nnodes; i++)
	{
		const ONode *n = &g->nodes[i];
		int			reads = 0,
					next;

		for (int64_t j = 0; j < n->nin; j++)
			reads |= strcmp(n->in[j], t) == 0;
		if (!reads)
			continue;
		next = depth < TAIL_DEPTH && kind != TAIL_MAP ? tail_step(g, n, t, kind, p, k) : -1;
		if (next < 0)
			return n;
		for (int64_t o = 0; o < n->nout; o++)
		{
			const ONode *bad = tail_walk(g, n->out[o], (Tail) next, p, k, depth + 1, outputs);

			if (bad)
				return bad;
		}
	}
	return NULL;
}

/*
 * Whether what follows the network's output p (k values a row) is nothing
 * but a graph output or skl2onnx's outputs; fails naming the first node
 * that is neither.
 */
DlfStatus
rd_sklearn_tail(Rd *r, const char *p, int32_t k)
{
	int			outputs = 0;
	const ONode *bad = tail_walk(r->g, p, TAIL_P, p, k, 0, &outputs);

	if (bad || outputs == 0)
		return rd_unsupported(r, "unsupported ONNX operator \"%s\" after the network",
							  bad ? bad->op : "(none)",
							  "The network's output (after a final Sigmoid or Softmax, if any) must be a graph output, or go through what skl2onnx writes for an MLP (Concat of 1 - p and p, ArgMax, ArrayFeatureExtractor, Reshape, ZipMap).");
	return DLF_OK;
}

/* The graph input behind Identity and skl2onnx's Cast to float or double. */
const OValue *
rd_input_behind(const OGraph *g, const char *t)
{
	for (int guard = 0; guard < TAIL_DEPTH; guard++)
	{
		const OValue *in = og_input(g, t);
		const ONode *c;

		if (in)
			return in;
		c = og_producer(g, t);
		if (!(og_is_op(c, "Identity") ||
			  (og_is_op(c, "Cast") && (og_attr_int(c, "to", 0) == ONNX_FLOAT ||
									   og_attr_int(c, "to", 0) == ONNX_DOUBLE))) ||
			c->nin != 1)
			return NULL;
		t = c->in[0];
	}
	return NULL;
}

/* Class names from a ZipMap's labels (skl2onnx's classifiers), or NULL. */
const char *
rd_zipmap_class(const OGraph *g, int32_t k, int32_t c, char *buf, size_t len)
{
	for (int32_t i = 0; i < g->nnodes; i++)
	{
		const ONode *n = &g->nodes[i];
		const OAttr *s = og_is_ml(n, "ZipMap") ? og_attr(n, "classlabels_strings") : NULL;
		const OAttr *v = og_is_ml(n, "ZipMap") ? og_attr(n, "classlabels_int64s") : NULL;

		if (s && s->nstrings == k)
			return s->strings[c];
		if (v && v->nints == k)
		{
			snprintf(buf, len, "%lld", (long long) v->ints[c]);
			return buf;
		}
	}
	return NULL;
}
