/*
 * onnx_graph.h
 *	  The decoded view of an ONNX model that import works on (onnx_parse.c
 *	  builds it from the bytes, onnx_read.c reads a network out of it).
 *	  Only what an MLP and dlfin's own graphs use is kept.
 */
#ifndef DLFIN_ONNX_GRAPH_H
#define DLFIN_ONNX_GRAPH_H

#include "dlfin_onnx.h"
#include "protobuf.h"

#define Max64(a, b)	((a) > (b) ? (a) : (b))

/* A tensor: values kept for float, double and int64 tensors only. */
typedef struct OTensor
{
	char	   *name;
	int			type;			/* ONNX_FLOAT, ... */
	int			ndims;
	int64_t		dims[DLF_ONNX_MAX_DIMS];
	int64_t		n;				/* elements */
	int			external;		/* data in an external file: unusable */
	float	   *f;
	double	   *d;
	int64_t    *i;
} OTensor;

typedef struct OAttr
{
	char	   *name;
	int			type;
	float		f;
	int64_t		i;
	char	   *s;
	OTensor    *t;
	int64_t		nfloats,
				nints,
				nstrings;
	float	   *floats;
	int64_t    *ints;
	char	  **strings;
	int			has_graph;
} OAttr;

typedef struct ONode
{
	char	   *name;
	char	   *op;
	char	   *domain;			/* "" for ai.onnx */
	int64_t		nin,
				nout,
				nattrs;
	char	  **in;				/* "" for an omitted optional input */
	char	  **out;
	OAttr	   *attrs;
} ONode;

/* A graph input or output. */
typedef struct OValue
{
	char	   *name;
	char	   *doc;
	int			type;
	int			ndims;
	int64_t		dims[DLF_ONNX_MAX_DIMS];	/* -1: symbolic or unknown */
} OValue;

typedef struct OGraph
{
	int64_t		ir_version;
	int64_t		opset;			/* of ai.onnx */
	int32_t		nnodes,
				ninits,
				ninputs,
				noutputs,
				nmeta;
	ONode	   *nodes;
	OTensor    *inits;
	OValue	   *inputs;
	OValue	   *outputs;
	char	  **meta_key;
	char	  **meta_value;
	void	   *arena;			/* every allocation of the view */
} OGraph;

/* Decodes ModelProto bytes; DLF_ERR_CORRUPT on malformed bytes. */
DlfStatus	og_parse(const uint8_t *buf, size_t len, OGraph **out, DlfError *err);
void		og_free(OGraph *g);

/* ---- lookups (onnx_graph.c) ---- */

const char *og_meta(const OGraph *g, const char *key);	/* value or NULL */
/* An initializer, or a Constant node's value, by name; NULL if none. */
const OTensor *og_tensor(const OGraph *g, const char *name);
const ONode *og_producer(const OGraph *g, const char *name);
/* The first node with the tensor as input k (k -1: any), or NULL. */
const ONode *og_consumer(const OGraph *g, const char *name, int k);
const char *og_in(const ONode *n, int k);	/* input k, or "" */
int			og_is_op(const ONode *n, const char *op);	/* in ai.onnx */
int			og_is_ml(const ONode *n, const char *op);	/* in ai.onnx.ml */
const OAttr *og_attr(const ONode *n, const char *name);
int64_t		og_attr_int(const ONode *n, const char *name, int64_t dflt);
const OValue *og_input(const OGraph *g, const char *name);

#endif							/* DLFIN_ONNX_GRAPH_H */
