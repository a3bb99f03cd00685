/*
 * onnx_read.h
 *	  What the two halves of ONNX import share: onnx_read.c (the network,
 *	  plain MLPs) and onnx_dlfin.c (the encoding and outputs of a graph
 *	  that dlfin_onnx wrote).
 */
#ifndef DLFIN_ONNX_READ_H
#define DLFIN_ONNX_READ_H

#include "onnx_graph.h"

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
	const struct OTensor *fmap; /* a dlfin export's feature map, or NULL */
} Net;

typedef struct Rd
{
	OGraph	   *g;
	DlfError   *err;
	Net			net;
	DlfModel   *m;
} Rd;

#define SUPPORTED_DETAIL "dlfin imports multilayer perceptrons: Gemm or MatMul+Add layers, Relu, Tanh, Sigmoid or LeakyRelu (alpha 0.01) between them, and a final Sigmoid, Softmax or no activation; see doc/onnx.md."

/* Fails with an unsupported-graph error (DLF_ERR_INVALID) naming arg. */
DlfStatus	rd_unsupported(Rd *r, const char *fmt, const char *arg, const char *detail);
char	   *rd_dup(const char *s);	/* dlf_alloc'ed copy, or NULL */
/* Allocates the model's n features (zeroed, importance unknown). */
DlfStatus	rd_alloc_features(Rd *r, int32_t n);
/* A foreign network's features, as the options declare (onnx_foreign.c). */
DlfStatus	rd_foreign_features(Rd *r, const DlfOnnxOptions *o, const OValue *v);
/* Refuses a foreign graph's own preprocessing, naming its operator. */
DlfStatus	rd_foreign_preprocessing(Rd *r, const char *input);
/* skl2onnx's nodes around an MLP (onnx_sklearn.c). */
DlfStatus	rd_sklearn_tail(Rd *r, const char *p, int32_t k);
const OValue *rd_input_behind(const OGraph *g, const char *t);
const char *rd_zipmap_class(const OGraph *g, int32_t k, int32_t c, char *buf, size_t len);
/* A dlfin export's network (onnx_dlfin_net.c). */
DlfStatus	rd_dlfin_network(Rd *r);
/* A dlfin export's features, from the Concat that feeds the network. */
DlfStatus	rd_dlfin_features(Rd *r, const ONode *top);
/* A dlfin export's task (from its metadata), calibration and scaling. */
DlfStatus	rd_dlfin_outputs(Rd *r, const char *task);

#endif							/* DLFIN_ONNX_READ_H */
