/*
 * onnx_write.h
 *	  What the parts of ONNX export share: onnx_write.c (inputs, feature
 *	  encoding, outputs, the model), onnx_write_net.c (a network as the
 *	  one-row kernel computes it) and onnx_write_ens.c (an ensemble's
 *	  combination of its members).
 */
#ifndef DLFIN_ONNX_WRITE_H
#define DLFIN_ONNX_WRITE_H

#include "dlfin_onnx.h"
#include "protobuf.h"

/* The graph being written: its repeated fields, each in its own buffer. */
typedef struct Gb
{
	DlfBuf		nodes;			/* GraphProto.node (1) */
	DlfBuf		inits;			/* GraphProto.initializer (5) */
	DlfBuf		inputs;			/* GraphProto.input (11) */
	DlfBuf		outputs;		/* GraphProto.output (12) */
} Gb;

/* A NULL-terminated list of tensor names. */
#define IN(...)	((const char *[]) {__VA_ARGS__, NULL})

/* Starts a node (NodeProto) of op in domain; lists end with NULL. */
size_t		ow_node_begin(Gb *g, const char *op, const char *domain,
						  const char *const *in, const char *const *out);
void		ow_node_end(Gb *g, size_t mark);
/* A node without attributes. */
void		ow_node(Gb *g, const char *op, const char *const *in, const char *out);
void		ow_attr_int(Gb *g, const char *name, int64_t v);
void		ow_attr_float(Gb *g, const char *name, float v);
/* Initializers of a shape (ndims 0: a scalar). */
void		ow_init_floats(Gb *g, const char *name, const int64_t *dims, int ndims,
						   const float *v, size_t n);
void		ow_init_int64s(Gb *g, const char *name, const int64_t *dims, int ndims,
						   const int64_t *v, size_t n);

void		ow_init_doubles(Gb *g, const char *name, const int64_t *dims, int ndims,
							const double *v, size_t n);

/* The network (or ensemble), "dlfin_encoded" -> "dlfin_logits" (float). */
DlfStatus	ow_write_network(Gb *g, const DlfModel *m, DlfError *err);
/* Member e's network and skip path, "dlfin_encoded" -> out, names pfx*. */
DlfStatus	ow_write_member(Gb *g, const DlfModel *m, int32_t e, const char *pfx,
							const char *out, DlfError *err);
/* An ensemble's members and the logits of their mean (onnx_write_ens.c). */
DlfStatus	ow_write_ensemble(Gb *g, const DlfModel *m, DlfError *err);

#endif							/* DLFIN_ONNX_WRITE_H */
