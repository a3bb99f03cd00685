/*
 * dlfin_onnx.h
 *	  ONNX export and import of dlfin models (onnx_write.c, onnx_read.c),
 *	  and the ONNX field numbers both sides share.  doc/onnx.md describes
 *	  the graphs.
 */
#ifndef DLFIN_ONNX_H
#define DLFIN_ONNX_H

#include "dlfin_core.h"

/* What export writes: IR 7 with ai.onnx 13 and ai.onnx.ml 2 (ORT >= 1.8). */
#define DLF_ONNX_IR_VERSION		7
#define DLF_ONNX_OPSET			13
#define DLF_ONNX_ML_OPSET		2

/* Import bounds, beyond the model limits of dlfin_core.h. */
#define DLF_ONNX_MAX_BYTES		((size_t) 256 * 1024 * 1024)
#define DLF_ONNX_MAX_NODES		4096
#define DLF_ONNX_MAX_NAMES		4096	/* inputs or outputs of one node */
#define DLF_ONNX_MAX_ATTRS		64
#define DLF_ONNX_MAX_DIMS		8

/* TensorProto.DataType values used here. */
#define ONNX_FLOAT		1
#define ONNX_INT32		6
#define ONNX_INT64		7
#define ONNX_STRING		8
#define ONNX_BOOL		9
#define ONNX_DOUBLE		11

/* AttributeProto.AttributeType values. */
#define ONNX_ATTR_FLOAT		1
#define ONNX_ATTR_INT		2
#define ONNX_ATTR_STRING	3
#define ONNX_ATTR_TENSOR	4
#define ONNX_ATTR_FLOATS	6
#define ONNX_ATTR_INTS		7
#define ONNX_ATTR_STRINGS	8

/*
 * Writes the model as a self-contained ONNX model: raw feature columns in,
 * dlfin_predict's score (and class probabilities and label) out.
 * model_sha256 (hex, or NULL) goes into the metadata.  *out is allocated
 * with dlf_alloc.
 */
DlfStatus	dlf_onnx_export(const DlfModel *m, const char *model_sha256,
							uint8_t **out, size_t *outlen, DlfError *err);

/* What import needs to know that an ONNX MLP does not say. */
typedef struct DlfOnnxOptions
{
	int32_t		nfeatures;		/* names given, 0 for x1..xn */
	char	  **names;
	uint8_t    *sqltypes;		/* [nfeatures] DlfSqlType number, boolean or
								 * text, or NULL for number */
	/* text features (sqltype DLF_SQL_TEXT), NULL when there are none: */
	int32_t    *ncat;			/* [nfeatures] categories = network inputs */
	char	 ***categories;		/* [nfeatures] in network input order */
	int32_t    *other;			/* [nfeatures] category an unseen value
								 * takes, -1: none (all-zero one-hot) */
	int32_t    *missing;		/* [nfeatures] category NULL takes, -1: none */
	int			task;			/* DlfTask, 0 = from the graph's output */
	int32_t		nclasses;		/* class names given, 0 for 0..k-1 */
	char	  **classes;
	int32_t		nmean;			/* scaling outside the graph, one per number
								 * or boolean feature, or 0 */
	double	   *mean;
	int32_t		nscale;
	double	   *scale;
} DlfOnnxOptions;

/*
 * Reads an ONNX MLP (or a dlfin export) into a new model.  Malformed bytes
 * give DLF_ERR_CORRUPT; a well-formed graph that is not an MLP dlfin can
 * represent gives DLF_ERR_INVALID naming the operator or shape; a graph
 * beyond the limits, DLF_ERR_LIMIT.
 */
DlfStatus	dlf_onnx_import(const uint8_t *buf, size_t len,
							const DlfOnnxOptions *opt, DlfModel **out,
							DlfError *err);

#endif							/* DLFIN_ONNX_H */
