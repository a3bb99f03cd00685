/*
 * onnx_write.c
 *	  ONNX export: a dlfin model as an ONNX graph that scores raw feature
 *	  columns the way dlfin_predict does.
 *
 * The graph: numeric and boolean features (double [N,1], NaN for NULL) are
 * concatenated, rounded to float32 as training stored them, standardised
 * in double exactly as dlfin_std_value does (not with ai.onnx.ml Scaler,
 * whose float32 offsets would move isotonic-calibrated scores by up to
 * 1e-5) and imputed (ai.onnx.ml Imputer: NULL is the mean, 0), a value
 * that dlfin_predict refuses made NaN (outputs NaN, label ""); each text
 * feature (string [N,1], "" for NULL) goes through
 * ai.onnx.ml LabelEncoder to its category code (unseen -> "other") and
 * OneHot; the encoded blocks feed the layers (onnx_write_net.c: dlfin's
 * own order of float32 operations, not Gemm's, so the logits have the
 * same bits); the logits, cast to double as dlfin computes its outputs, go
 * through the output activation and calibration.
 */
#include "onnx_write.h"

#include <stdio.h>
#include <string.h>

#define ML	"ai.onnx.ml"

/* ---- nodes and attributes ---- */

/* Starts a node (NodeProto) of op in domain; lists end with NULL. */
size_t
ow_node_begin(Gb *g, const char *op, const char *domain,
		   const char *const *in, const char *const *out)
{
	size_t		mark = pb_begin(&g->nodes, 1);

	for (; *in; in++)
		pb_str(&g->nodes, 1, *in);
	pb_str(&g->nodes, 2, out[0]);
	for (const char *const *o = out + 1; *o; o++)
		pb_str(&g->nodes, 2, *o);
	pb_str(&g->nodes, 3, out[0]);	/* node named after its first output */
	pb_str(&g->nodes, 4, op);
	if (domain[0])
		pb_str(&g->nodes, 7, domain);
	return mark;
}

/* Ends a node. */
void
ow_node_end(Gb *g, size_t mark)
{
	pb_end(&g->nodes, mark);
}

/* A node without attributes. */
void
ow_node(Gb *g, const char *op, const char *const *in, const char *out)
{
	ow_node_end(g, ow_node_begin(g, op, "", in, (const char *[]) {out, NULL}));
}

/* Starts an AttributeProto of a type. */
static size_t
attr_begin(Gb *g, const char *name, int type)
{
	size_t		mark = pb_begin(&g->nodes, 5);

	pb_str(&g->nodes, 1, name);
	pb_int(&g->nodes, 20, type);
	return mark;
}

void
ow_attr_int(Gb *g, const char *name, int64_t v)
{
	size_t		mark = attr_begin(g, name, ONNX_ATTR_INT);

	pb_int(&g->nodes, 3, v);
	pb_end(&g->nodes, mark);
}

void
ow_attr_float(Gb *g, const char *name, float v)
{
	size_t		mark = attr_begin(g, name, ONNX_ATTR_FLOAT);

	pb_float(&g->nodes, 2, v);
	pb_end(&g->nodes, mark);
}

static void
attr_str(Gb *g, const char *name, const char *v)
{
	size_t		mark = attr_begin(g, name, ONNX_ATTR_STRING);

	pb_str(&g->nodes, 4, v);
	pb_end(&g->nodes, mark);
}

/* Repeated float attribute, unpacked as onnx.proto (proto2) declares it. */
static void
attr_floats(Gb *g, const char *name, const float *v, size_t n)
{
	size_t		mark = attr_begin(g, name, ONNX_ATTR_FLOATS);

	for (size_t i = 0; i < n; i++)
		pb_float(&g->nodes, 7, v[i]);
	pb_end(&g->nodes, mark);
}

static void
attr_ints(Gb *g, const char *name, const int64_t *v, size_t n)
{
	size_t		mark = attr_begin(g, name, ONNX_ATTR_INTS);

	for (size_t i = 0; i < n; i++)
		pb_int(&g->nodes, 8, v[i]);
	pb_end(&g->nodes, mark);
}

static void
attr_strings(Gb *g, const char *name, char *const *v, size_t n)
{
	size_t		mark = attr_begin(g, name, ONNX_ATTR_STRINGS);

	for (size_t i = 0; i < n; i++)
		pb_str(&g->nodes, 9, v[i]);
	pb_end(&g->nodes, mark);
}

/* ---- initializers (TensorProto) ---- */

/* Starts an initializer of a type and shape (ndims 0: a scalar). */
static size_t
init_begin(Gb *g, const char *name, int type, const int64_t *dims, int ndims)
{
	size_t		mark = pb_begin(&g->inits, 5);

	for (int i = 0; i < ndims; i++)
		pb_int(&g->inits, 1, dims[i]);
	pb_int(&g->inits, 2, type);
	pb_str(&g->inits, 8, name);
	return mark;
}

void
ow_init_floats(Gb *g, const char *name, const int64_t *dims, int ndims,
			const float *v, size_t n)
{
	size_t		mark = init_begin(g, name, ONNX_FLOAT, dims, ndims);

	pb_packed_floats(&g->inits, 4, v, n);
	pb_end(&g->inits, mark);
}

void
ow_init_doubles(Gb *g, const char *name, const int64_t *dims, int ndims,
			 const double *v, size_t n)
{
	size_t		mark = init_begin(g, name, ONNX_DOUBLE, dims, ndims);

	pb_packed_doubles(&g->inits, 10, v, n);
	pb_end(&g->inits, mark);
}

void
ow_init_int64s(Gb *g, const char *name, const int64_t *dims, int ndims,
			const int64_t *v, size_t n)
{
	size_t		mark = init_begin(g, name, ONNX_INT64, dims, ndims);

	pb_packed_int64s(&g->inits, 7, v, n);
	pb_end(&g->inits, mark);
}

/* A double scalar of shape [1] (broadcasts against [N, k]). */
static void
init_double1(Gb *g, const char *name, double v)
{
	ow_init_doubles(g, name, (const int64_t[]) {1}, 1, &v, 1);
}

/* ---- graph inputs and outputs (ValueInfoProto) ---- */

/* A [N, cols] tensor of a type; doc goes into the doc string if given. */
static void
value_info(DlfBuf *b, uint32_t field, const char *name, int type,
		   int64_t cols, const char *doc)
{
	size_t		vi = pb_begin(b, field);
	size_t		tp,
				tt,
				sh,
				d;

	pb_str(b, 1, name);
	tp = pb_begin(b, 2);		/* TypeProto */
	tt = pb_begin(b, 1);		/* .tensor_type */
	pb_int(b, 1, type);
	sh = pb_begin(b, 2);		/* .shape */
	d = pb_begin(b, 1);
	pb_str(b, 2, "N");			/* dim_param: rows */
	pb_end(b, d);
	d = pb_begin(b, 1);
	pb_int(b, 1, cols);
	pb_end(b, d);
	pb_end(b, sh);
	pb_end(b, tt);
	pb_end(b, tp);
	if (doc)
		pb_str(b, 3, doc);
	pb_end(b, vi);
}

/* ---- the parts of the graph ---- */

/*
 * Numeric block -> "dlfin_num_std": Concat, the rounding to float32 that
 * training's columns had, standardisation in double with dlfin's mean and
 * 1/scale, rounding to float32 (so the network sees dlfin_std_value's
 * bits), and ai.onnx.ml Imputer for NULL (NaN): the mean, which is 0.
 */
static DlfStatus
write_numeric(Gb *g, const DlfModel *m, int32_t nnum, DlfError *err)
{
	double	   *mean = dlf_alloc_array(nnum, sizeof(double));
	double	   *inv = dlf_alloc_array(nnum, sizeof(double));
	float	   *zero = dlf_alloc_array(nnum, sizeof(float));
	int64_t		dims[2] = {1, nnum};
	size_t		mark;
	int32_t		k = 0;

	if (mean == NULL || inv == NULL || zero == NULL)
	{
		dlf_free(mean);
		dlf_free(inv);
		dlf_free(zero);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	mark = ow_node_begin(g, "Concat", "", IN(NULL), IN("dlfin_num_raw"));
	/* node_begin wrote no inputs: add them now, before the attributes */
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (m->features[f].kind == DLF_FEAT_NUMERIC)
		{
			pb_str(&g->nodes, 1, m->features[f].name);
			mean[k] = m->features[f].mean;
			inv[k] = 1.0 / m->features[f].scale;	/* as the scorer has it */
			zero[k] = 0.0f;
			k++;
		}
	ow_attr_int(g, "axis", 1);
	ow_node_end(g, mark);
	ow_init_doubles(g, "dlfin_mean", dims, 2, mean, nnum);
	ow_init_doubles(g, "dlfin_inv_scale", dims, 2, inv, nnum);

	mark = ow_node_begin(g, "Cast", "", IN("dlfin_num_raw"), IN("dlfin_num_f32"));
	ow_attr_int(g, "to", ONNX_FLOAT);
	ow_node_end(g, mark);
	mark = ow_node_begin(g, "Cast", "", IN("dlfin_num_f32"), IN("dlfin_num_f64"));
	ow_attr_int(g, "to", ONNX_DOUBLE);
	ow_node_end(g, mark);
	ow_node(g, "Sub", IN("dlfin_num_f64", "dlfin_mean"), "dlfin_num_centred");
	ow_node(g, "Mul", IN("dlfin_num_centred", "dlfin_inv_scale"), "dlfin_num_scaled");
	mark = ow_node_begin(g, "Cast", "", IN("dlfin_num_scaled"), IN("dlfin_num_scaled32"));
	ow_attr_int(g, "to", ONNX_FLOAT);
	ow_node_end(g, mark);
	mark = ow_node_begin(g, "Imputer", ML, IN("dlfin_num_scaled32"), IN("dlfin_num_imputed"));
	attr_floats(g, "imputed_value_floats", zero, nnum);
	ow_attr_float(g, "replaced_value_float", NAN);
	ow_node_end(g, mark);
	/*
	 * A value dlfin_predict refuses (infinite, or beyond float4's range:
	 * 22000/22003) becomes NaN after the Imputer, so that the row's outputs
	 * are NaN (and its label "") rather than a score of an infinite input.
	 */
	init_double1(g, "dlfin_num_limit", DLF_FLOAT4_LIMIT);
	ow_init_floats(g, "dlfin_nan", NULL, 0, (const float[]) {NAN}, 1);
	ow_node(g, "Abs", IN("dlfin_num_raw"), "dlfin_num_abs");
	ow_node(g, "Greater", IN("dlfin_num_abs", "dlfin_num_limit"), "dlfin_num_refused");
	ow_node(g, "Where", IN("dlfin_num_refused", "dlfin_nan", "dlfin_num_imputed"),
			"dlfin_num_std");
	dlf_free(mean);
	dlf_free(inv);
	dlf_free(zero);
	return DLF_OK;
}

/* One text feature: LabelEncoder, OneHot, Flatten -> "dlfin_onehot_<f>". */
static DlfStatus
write_categorical(Gb *g, const DlfModel *m, int32_t f, char *out, size_t outsz,
				  DlfError *err)
{
	const DlfFeature *ft = &m->features[f];
	int32_t		nkeys = ft->ncat;
	int			empty_learned = 0;
	char	  **keys;
	int64_t    *vals;
	char		code[48],
				depth[48],
				hot[48];
	size_t		mark;

	for (int32_t c = 0; c < ft->ncat; c++)
		if (ft->categories[c][0] == '\0')
			empty_learned = 1;
	keys = dlf_alloc_array((size_t) nkeys + 1, sizeof(char *));
	vals = dlf_alloc_array((size_t) nkeys + 1, sizeof(int64_t));
	if (keys == NULL || vals == NULL)
	{
		dlf_free(keys);
		dlf_free(vals);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t c = 0; c < ft->ncat; c++)
	{
		keys[c] = ft->categories[c];
		vals[c] = c;
	}
	/* "" stands for NULL unless it is a learned category */
	if (!empty_learned)
	{
		keys[nkeys] = "";
		vals[nkeys++] = DLF_CAT_MISSING(ft);
	}
	snprintf(code, sizeof(code), "dlfin_code_%d", (int) f);
	snprintf(depth, sizeof(depth), "dlfin_depth_%d", (int) f);
	snprintf(hot, sizeof(hot), "dlfin_onehot3_%d", (int) f);
	snprintf(out, outsz, "dlfin_onehot_%d", (int) f);

	mark = ow_node_begin(g, "LabelEncoder", ML, IN(ft->name), IN(code));
	attr_strings(g, "keys_strings", keys, nkeys);
	attr_ints(g, "values_int64s", vals, nkeys);
	ow_attr_int(g, "default_int64", DLF_CAT_OTHER(ft));
	ow_node_end(g, mark);
	dlf_free(keys);
	dlf_free(vals);

	ow_init_int64s(g, depth, NULL, 0, (const int64_t[]) {(int64_t) ft->ncat + 2}, 1);
	mark = ow_node_begin(g, "OneHot", "", IN(code, depth, "dlfin_onoff"), IN(hot));
	ow_attr_int(g, "axis", -1);
	ow_node_end(g, mark);
	mark = ow_node_begin(g, "Flatten", "", IN(hot), IN(out));
	ow_attr_int(g, "axis", 1);
	ow_node_end(g, mark);
	return DLF_OK;
}

/* Isotonic calibration of "dlfin_p_raw" -> out, as dlf_calibrated reads it. */
static void
write_isotonic(Gb *g, const DlfModel *m, const char *out)
{
	int32_t		n = m->niso;
	int64_t		dims[2] = {1, n > 2 ? n - 2 : 1};
	double		inf = INFINITY;
	size_t		mark;

	/* the points, also when unused, so that import finds them */
	ow_init_doubles(g, "dlfin_iso_x", (const int64_t[]) {n}, 1, m->iso_x, n);
	ow_init_doubles(g, "dlfin_iso_y", (const int64_t[]) {n}, 1, m->iso_y, n);
	if (n == 1)
	{
		/* one point: a constant */
		init_double1(g, "dlfin_iso_zero", 0.0);
		init_double1(g, "dlfin_iso_y0", m->iso_y[0]);
		ow_node(g, "Mul", IN("dlfin_p_raw", "dlfin_iso_zero"), "dlfin_iso_0");
		ow_node(g, "Add", IN("dlfin_iso_0", "dlfin_iso_y0"), out);
		return;
	}
	ow_init_doubles(g, "dlfin_iso_thr", dims, 2, n > 2 ? m->iso_x + 1 : &inf,
				 (size_t) dims[1]);
	ow_init_int64s(g, "dlfin_iso_axes", (const int64_t[]) {1}, 1, (const int64_t[]) {1}, 1);
	ow_init_int64s(g, "dlfin_iso_one", (const int64_t[]) {1}, 1, (const int64_t[]) {1}, 1);
	init_double1(g, "dlfin_iso_xfirst", m->iso_x[0]);
	init_double1(g, "dlfin_iso_xlast", m->iso_x[n - 1]);
	init_double1(g, "dlfin_iso_yfirst", m->iso_y[0]);
	init_double1(g, "dlfin_iso_ylast", m->iso_y[n - 1]);
	/* segment: the number of interior points at or below p */
	ow_node(g, "LessOrEqual", IN("dlfin_iso_thr", "dlfin_p_raw"), "dlfin_iso_le");
	mark = ow_node_begin(g, "Cast", "", IN("dlfin_iso_le"), IN("dlfin_iso_lei"));
	ow_attr_int(g, "to", ONNX_INT64);
	ow_node_end(g, mark);
	mark = ow_node_begin(g, "ReduceSum", "", IN("dlfin_iso_lei", "dlfin_iso_axes"),
					  IN("dlfin_iso_lo"));
	ow_attr_int(g, "keepdims", 1);
	ow_node_end(g, mark);
	ow_node(g, "Add", IN("dlfin_iso_lo", "dlfin_iso_one"), "dlfin_iso_hi");
	ow_node(g, "Gather", IN("dlfin_iso_x", "dlfin_iso_lo"), "dlfin_iso_x0");
	ow_node(g, "Gather", IN("dlfin_iso_x", "dlfin_iso_hi"), "dlfin_iso_x1");
	ow_node(g, "Gather", IN("dlfin_iso_y", "dlfin_iso_lo"), "dlfin_iso_y0");
	ow_node(g, "Gather", IN("dlfin_iso_y", "dlfin_iso_hi"), "dlfin_iso_y1");
	/* y0 + (y1 - y0) * (p - x0) / (x1 - x0), in dlf_calibrated's order */
	ow_node(g, "Sub", IN("dlfin_iso_y1", "dlfin_iso_y0"), "dlfin_iso_dy");
	ow_node(g, "Sub", IN("dlfin_p_raw", "dlfin_iso_x0"), "dlfin_iso_t");
	ow_node(g, "Sub", IN("dlfin_iso_x1", "dlfin_iso_x0"), "dlfin_iso_dx");
	ow_node(g, "Mul", IN("dlfin_iso_dy", "dlfin_iso_t"), "dlfin_iso_num");
	ow_node(g, "Div", IN("dlfin_iso_num", "dlfin_iso_dx"), "dlfin_iso_frac");
	ow_node(g, "Add", IN("dlfin_iso_y0", "dlfin_iso_frac"), "dlfin_iso_mid");
	/* the ends, the lower one last as dlf_calibrated tests it first */
	ow_node(g, "GreaterOrEqual", IN("dlfin_p_raw", "dlfin_iso_xlast"), "dlfin_iso_high");
	ow_node(g, "Where", IN("dlfin_iso_high", "dlfin_iso_ylast", "dlfin_iso_mid"), "dlfin_iso_clip");
	ow_node(g, "LessOrEqual", IN("dlfin_p_raw", "dlfin_iso_xfirst"), "dlfin_iso_low");
	ow_node(g, "Where", IN("dlfin_iso_low", "dlfin_iso_yfirst", "dlfin_iso_clip"), out);
}

/*
 * A LabelEncoder from class index (int64) to class name -> "label"; a row
 * whose score is NaN (an input dlfin_predict refuses) has no class: "".
 */
static void
write_label(Gb *g, const DlfModel *m, const char *index)
{
	int64_t    *keys = dlf_alloc_array(m->nclasses, sizeof(int64_t));
	size_t		mark;

	if (keys == NULL)
	{
		g->nodes.failed = 1;
		return;
	}
	ow_init_int64s(g, "dlfin_no_class", NULL, 0, (const int64_t[]) {-1}, 1);
	ow_node(g, "IsNaN", IN("score"), "dlfin_no_score");
	ow_node(g, "Where", IN("dlfin_no_score", "dlfin_no_class", index), "dlfin_class_or_none");
	index = "dlfin_class_or_none";
	for (int32_t k = 0; k < m->nclasses; k++)
		keys[k] = k;
	mark = ow_node_begin(g, "LabelEncoder", ML, IN(index), IN("label"));
	attr_ints(g, "keys_int64s", keys, m->nclasses);
	attr_strings(g, "values_strings", m->classes, m->nclasses);
	attr_str(g, "default_string", "");
	ow_node_end(g, mark);
	dlf_free(keys);
}

/* Binary output: sigmoid or calibration, probabilities, label. */
static void
write_binary(Gb *g, const DlfModel *m)
{
	size_t		mark;

	if (m->calibration == DLF_CALIB_PLATT)
	{
		/* 1 / (1 + exp(a z + b)) = sigmoid(-(a z + b)) */
		init_double1(g, "dlfin_platt_a", m->platt_a);
		init_double1(g, "dlfin_platt_b", m->platt_b);
		ow_node(g, "Mul", IN("dlfin_logits_f64", "dlfin_platt_a"), "dlfin_platt_az");
		ow_node(g, "Add", IN("dlfin_platt_az", "dlfin_platt_b"), "dlfin_platt_lin");
		ow_node(g, "Neg", IN("dlfin_platt_lin"), "dlfin_platt_neg");
		ow_node(g, "Sigmoid", IN("dlfin_platt_neg"), "score");
	}
	else if (m->calibration == DLF_CALIB_ISOTONIC && m->niso > 0)
	{
		ow_node(g, "Sigmoid", IN("dlfin_logits_f64"), "dlfin_p_raw");
		write_isotonic(g, m, "score");
	}
	else
		ow_node(g, "Sigmoid", IN("dlfin_logits_f64"), "score");
	init_double1(g, "dlfin_one", 1.0);
	init_double1(g, "dlfin_half", 0.5);
	ow_node(g, "Sub", IN("dlfin_one", "score"), "dlfin_p_negative");
	mark = ow_node_begin(g, "Concat", "", IN("dlfin_p_negative", "score"),
					  IN("probabilities"));
	ow_attr_int(g, "axis", 1);
	ow_node_end(g, mark);
	/* the positive class from 0.5 up, as dlfin_predict_class decides */
	ow_node(g, "GreaterOrEqual", IN("score", "dlfin_half"), "dlfin_positive");
	mark = ow_node_begin(g, "Cast", "", IN("dlfin_positive"), IN("dlfin_class"));
	ow_attr_int(g, "to", ONNX_INT64);
	ow_node_end(g, mark);
	write_label(g, m, "dlfin_class");
}

/* Outputs: "score" (dlfin_predict), "probabilities" and "label". */
static void
write_outputs(Gb *g, const DlfModel *m)
{
	size_t		mark;

	/* dlfin computes outputs in double from the float32 logits */
	mark = ow_node_begin(g, "Cast", "", IN("dlfin_logits"), IN("dlfin_logits_f64"));
	ow_attr_int(g, "to", ONNX_DOUBLE);
	ow_node_end(g, mark);
	if (m->task == DLF_TASK_BINARY)
		write_binary(g, m);
	else if (m->task == DLF_TASK_MULTICLASS)
	{
		mark = ow_node_begin(g, "Softmax", "", IN("dlfin_logits_f64"), IN("probabilities"));
		ow_attr_int(g, "axis", 1);
		ow_node_end(g, mark);
		mark = ow_node_begin(g, "ReduceMax", "", IN("probabilities"), IN("score"));
		attr_ints(g, "axes", (const int64_t[]) {1}, 1);
		ow_attr_int(g, "keepdims", 1);
		ow_node_end(g, mark);
		/* the first of equal maxima, as dlfin_predict_class */
		mark = ow_node_begin(g, "ArgMax", "", IN("probabilities"), IN("dlfin_class"));
		ow_attr_int(g, "axis", 1);
		ow_attr_int(g, "keepdims", 1);
		ow_node_end(g, mark);
		write_label(g, m, "dlfin_class");
	}
	else
	{
		init_double1(g, "dlfin_target_scale", m->target_scale);
		init_double1(g, "dlfin_target_mean", m->target_mean);
		ow_node(g, "Mul", IN("dlfin_logits_f64", "dlfin_target_scale"), "dlfin_scaled");
		ow_node(g, "Add", IN("dlfin_scaled", "dlfin_target_mean"), "score");
	}
	value_info(&g->outputs, 12, "score", ONNX_DOUBLE, 1,
			   "what dlfin_predict returns");
	if (m->task != DLF_TASK_REGRESSION)
	{
		value_info(&g->outputs, 12, "probabilities", ONNX_DOUBLE, m->nclasses,
				   "class probabilities, as dlfin_predict_proba returns them");
		value_info(&g->outputs, 12, "label", ONNX_STRING, 1,
				   "predicted class, as dlfin_predict_class returns it");
	}
}

/* Fails when a feature name would collide with a name of the graph. */
static DlfStatus
check_names(const DlfModel *m, DlfError *err)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const char *n = m->features[f].name;

		if (strncmp(n, "dlfin_", 6) == 0 || strcmp(n, "score") == 0 ||
			strcmp(n, "probabilities") == 0 || strcmp(n, "label") == 0)
		{
			dlf_fail(err, DLF_ERR_INVALID,
					 "feature name \"%s\" collides with a tensor name of the ONNX graph", n);
			dlf_detail(err, "Exported graphs use the names score, probabilities, label and names starting with dlfin_.");
			return DLF_ERR_INVALID;
		}
	}
	return DLF_OK;
}

/* The graph's inputs, feature blocks and network. */
static DlfStatus
write_graph(Gb *g, const DlfModel *m, DlfError *err)
{
	int32_t		nnum = 0;
	size_t		mark;
	char		hot[48];

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		int			text = ft->kind == DLF_FEAT_CATEGORICAL;

		value_info(&g->inputs, 11, ft->name, text ? ONNX_STRING : ONNX_DOUBLE, 1,
				   dlf_sqltype_name(ft->sqltype));
		nnum += !text;
	}
	if (nnum > 0 && write_numeric(g, m, nnum, err) != DLF_OK)
		return err->code;
	if (nnum < m->nfeatures)
		ow_init_floats(g, "dlfin_onoff", (const int64_t[]) {2}, 1,
					(const float[]) {0.0f, 1.0f}, 2);
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (m->features[f].kind == DLF_FEAT_CATEGORICAL &&
			write_categorical(g, m, f, hot, sizeof(hot), err) != DLF_OK)
			return err->code;
	mark = ow_node_begin(g, "Concat", "", IN(NULL), IN("dlfin_encoded"));
	if (nnum > 0)
		pb_str(&g->nodes, 1, "dlfin_num_std");
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (m->features[f].kind == DLF_FEAT_CATEGORICAL)
		{
			snprintf(hot, sizeof(hot), "dlfin_onehot_%d", (int) f);
			pb_str(&g->nodes, 1, hot);
		}
	ow_attr_int(g, "axis", 1);
	ow_node_end(g, mark);
	if (ow_write_network(g, m, err) != DLF_OK)
		return err->code;
	write_outputs(g, m);
	return DLF_OK;
}

/* A metadata_props entry. */
static void
meta(DlfBuf *b, const char *key, const char *value)
{
	size_t		mark = pb_begin(b, 14);

	pb_str(b, 1, key);
	pb_str(b, 2, value);
	pb_end(b, mark);
}

/* Metadata: version, SHA-256, task, calibration, feature and class names. */
static void
write_metadata(DlfBuf *b, const DlfModel *m, const char *sha)
{
	static const char *const calib[] = {"none", "platt", "isotonic"};
	DlfBuf		j;

	meta(b, "dlfin.version", DLF_VERSION);
	if (sha)
		meta(b, "dlfin.model_sha256", sha);
	meta(b, "dlfin.task", dlf_task_name(m->task));
	if (m->task == DLF_TASK_BINARY)
		meta(b, "dlfin.calibration", calib[m->calibration <= 2 ? m->calibration : 0]);
	dlf_buf_init(&j);
	dlf_buf_append(&j, "[", 1);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		if (f > 0)
			dlf_buf_append(&j, ", ", 2);
		dlf_buf_json_string(&j, m->features[f].name);
	}
	dlf_buf_append(&j, "]", 1);
	meta(b, "dlfin.features", j.failed ? "" : (const char *) j.data);
	j.len = 0;
	dlf_buf_append(&j, "[", 1);
	for (int32_t k = 0; k < m->nclasses; k++)
	{
		if (k > 0)
			dlf_buf_append(&j, ", ", 2);
		dlf_buf_json_string(&j, m->classes[k]);
	}
	dlf_buf_append(&j, "]", 1);
	if (m->nclasses > 0)
		meta(b, "dlfin.classes", j.failed ? "" : (const char *) j.data);
	if (j.failed)
		b->failed = 1;
	dlf_buf_free(&j);
}

/* Writes the ModelProto of a dlfin model. */
DlfStatus
dlf_onnx_export(const DlfModel *m, const char *model_sha256, uint8_t **out,
				size_t *outlen, DlfError *err)
{
	Gb			g;
	DlfBuf		b;
	size_t		mark;
	DlfStatus	st;

	*out = NULL;
	*outlen = 0;
	if (m->nlayers < 1 || m->units == NULL || m->weights == NULL)
		return dlf_fail(err, DLF_ERR_INVALID, "model has no trained network");
	if (check_names(m, err) != DLF_OK)
		return err->code;
	dlf_buf_init(&g.nodes);
	dlf_buf_init(&g.inits);
	dlf_buf_init(&g.inputs);
	dlf_buf_init(&g.outputs);
	dlf_buf_init(&b);
	st = write_graph(&g, m, err);
	if (st == DLF_OK)
	{
		pb_int(&b, 1, DLF_ONNX_IR_VERSION);
		pb_str(&b, 2, "dlfin");
		pb_str(&b, 3, DLF_VERSION);
		mark = pb_begin(&b, 7);
		dlf_buf_append(&b, g.nodes.data, g.nodes.len);
		pb_str(&b, 2, "dlfin");
		dlf_buf_append(&b, g.inits.data, g.inits.len);
		dlf_buf_append(&b, g.inputs.data, g.inputs.len);
		dlf_buf_append(&b, g.outputs.data, g.outputs.len);
		pb_end(&b, mark);
		mark = pb_begin(&b, 8);
		pb_str(&b, 1, "");
		pb_int(&b, 2, DLF_ONNX_OPSET);
		pb_end(&b, mark);
		mark = pb_begin(&b, 8);
		pb_str(&b, 1, ML);
		pb_int(&b, 2, DLF_ONNX_ML_OPSET);
		pb_end(&b, mark);
		write_metadata(&b, m, model_sha256);
		if (g.nodes.failed || g.inits.failed || g.inputs.failed ||
			g.outputs.failed || b.failed)
			st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	dlf_buf_free(&g.nodes);
	dlf_buf_free(&g.inits);
	dlf_buf_free(&g.inputs);
	dlf_buf_free(&g.outputs);
	if (st != DLF_OK)
	{
		dlf_buf_free(&b);
		return st;
	}
	*out = b.data;
	*outlen = b.len;
	return DLF_OK;
}
