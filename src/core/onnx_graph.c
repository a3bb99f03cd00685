/*
 * onnx_graph.c
 *	  Lookups in the decoded ONNX graph (onnx_graph.h): tensors, producers
 *	  and consumers, attributes, metadata.  Linear scans: the graph is
 *	  bounded (DLF_ONNX_MAX_NODES) and import runs once.
 */
#include "onnx_graph.h"

#include <string.h>

/* The value of metadata key, or NULL. */
const char *
og_meta(const OGraph *g, const char *key)
{
	for (int32_t i = 0; i < g->nmeta; i++)
		if (strcmp(g->meta_key[i], key) == 0)
			return g->meta_value[i];
	return NULL;
}

/* An initializer, or the value of a Constant node, by name; NULL if none. */
const OTensor *
og_tensor(const OGraph *g, const char *name)
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
const ONode *
og_producer(const OGraph *g, const char *name)
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
const ONode *
og_consumer(const OGraph *g, const char *name, int k)
{
	for (int32_t i = 0; i < g->nnodes; i++)
		for (int64_t j = 0; j < g->nodes[i].nin; j++)
			if ((k < 0 || j == k) && strcmp(g->nodes[i].in[j], name) == 0)
				return &g->nodes[i];
	return NULL;
}

/* Input k of a node, or "" when it has no such input. */
const char *
og_in(const ONode *n, int k)
{
	return n && n->nin > k ? n->in[k] : "";
}

/* Whether a node is op in ai.onnx (domain "" or "ai.onnx"). */
int
og_is_op(const ONode *n, const char *op)
{
	return n && strcmp(n->op, op) == 0 &&
		(n->domain[0] == '\0' || strcmp(n->domain, "ai.onnx") == 0);
}

/* Whether a node is op in ai.onnx.ml. */
int
og_is_ml(const ONode *n, const char *op)
{
	return n && strcmp(n->op, op) == 0 && strcmp(n->domain, "ai.onnx.ml") == 0;
}

/* An attribute of a node, or NULL. */
const OAttr *
og_attr(const ONode *n, const char *name)
{
	for (int64_t a = 0; a < n->nattrs; a++)
		if (strcmp(n->attrs[a].name, name) == 0)
			return &n->attrs[a];
	return NULL;
}

/* An integer attribute, or dflt. */
int64_t
og_attr_int(const ONode *n, const char *name, int64_t dflt)
{
	const OAttr *a = og_attr(n, name);

	return a ? a->i : dflt;
}

/* The graph input of a name, or NULL. */
const OValue *
og_input(const OGraph *g, const char *name)
{
	for (int32_t i = 0; i < g->ninputs; i++)
		if (strcmp(g->inputs[i].name, name) == 0)
			return &g->inputs[i];
	return NULL;
}
