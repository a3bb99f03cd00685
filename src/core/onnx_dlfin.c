/*
 * onnx_dlfin.c
 *	  ONNX import of a graph that dlfin_onnx wrote (onnx_write.c): its
 *	  feature encoding (the numeric block's Imputer chain, each text
 *	  feature's LabelEncoder and OneHot) and its outputs (calibration,
 *	  target scaling), read from the graph's nodes and initializers, so
 *	  that export -> import gives the same model.
 */
#include "onnx_read.h"

#include <math.h>
#include <string.h>

/* The producer of a node's input k if it is a Cast to `to', else NULL. */
static const ONode *
cast_before(const OGraph *g, const ONode *n, int k, int64_t to)
{
	const ONode *c = n && n->nin > k ? og_producer(g, n->in[k]) : NULL;

	return og_is_op(c, "Cast") && c->nin == 1 && og_attr_int(c, "to", 0) == to ? c : NULL;
}

/* A double vector initializer of k values ([k] or [1, k]), or NULL. */
static const double *
vector_of(const OGraph *g, const ONode *n, int k, int64_t len)
{
	const OTensor *t = n && n->nin > k ? og_tensor(g, n->in[k]) : NULL;

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
	const ONode *mul = c32 ? og_producer(g, c32->in[0]) : NULL;
	const ONode *sub = og_is_op(mul, "Mul") ? og_producer(g, og_in(mul, 0)) : NULL;
	const ONode *c64 = og_is_op(sub, "Sub") ? cast_before(g, sub, 0, ONNX_DOUBLE) : NULL;
	const ONode *round = cast_before(g, c64, 0, ONNX_FLOAT);
	const OAttr *iv = og_attr(imp, "imputed_value_floats");
	int64_t		k;

	*concat = round ? og_producer(g, round->in[0]) : NULL;
	k = *concat ? (*concat)->nin : 0;
	*mean = vector_of(g, sub, 1, k);
	*inv = vector_of(g, mul, 1, k);
	if (!og_is_op(*concat, "Concat") || *mean == NULL || *inv == NULL ||
		iv == NULL || iv->nfloats != k)
		return rd_unsupported(r, "unsupported ONNX preprocessing before \"%s\"", imp->op,
						   "dlfin reads its own numeric encoding: Concat, Cast to float and to double, Sub the means, Mul by the reciprocal scales, Cast to float, Imputer.");
	for (int64_t j = 0; j < k; j++)
		if (iv->floats[j] != 0 || !isfinite((*mean)[j]) ||
			!((*inv)[j] > 0) || !isfinite((*inv)[j]))
			return rd_unsupported(r, "ONNX %s of the numeric features is not dlfin's",
							   "Imputer", "dlfin imputes a NULL with the training mean, which it scales to 0.");
	return DLF_OK;
}

/* A text block of a dlfin graph: LabelEncoder, OneHot, Flatten. */
static DlfStatus
text_block(Rd *r, const ONode *flat, const ONode **enc, int64_t *depth)
{
	const ONode *hot = og_producer(r->g, og_in(flat, 0));
	const OTensor *d = hot && hot->nin == 3 ? og_tensor(r->g, hot->in[1]) : NULL;
	const OTensor *v = hot && hot->nin == 3 ? og_tensor(r->g, hot->in[2]) : NULL;

	*enc = og_producer(r->g, og_in(hot, 0));
	if (!og_is_op(hot, "OneHot") || d == NULL || d->n != 1 || (d->i == NULL && d->f == NULL) ||
		v == NULL || v->f == NULL || v->n != 2 || v->f[0] != 0 || v->f[1] != 1 ||
		og_attr_int(hot, "axis", -1) != -1 || !og_is_ml(*enc, "LabelEncoder") ||
		og_attr_int(flat, "axis", 1) != 1)
		return rd_unsupported(r, "unsupported ONNX preprocessing before \"%s\"", flat->op,
						   "dlfin reads its own text encoding: LabelEncoder, OneHot with values 0 and 1, Flatten.");
	*depth = d->i ? d->i[0] : (int64_t) d->f[0];
	if (*depth < 2 || *depth > (int64_t) DLF_MAX_CATEGORIES + 2)
		return rd_unsupported(r, "ONNX OneHot depth of \"%s\" is out of range", flat->name ? flat->name : "", NULL);
	return DLF_OK;
}

/* A text feature's vocabulary from its LabelEncoder (codes 0..ncat-1). */
static DlfStatus
vocabulary(Rd *r, const ONode *enc, DlfFeature *ft, int64_t depth)
{
	const OAttr *keys = og_attr(enc, "keys_strings"),
			   *vals = og_attr(enc, "values_int64s");
	int32_t		ncat = (int32_t) (depth - 2);

	if (keys == NULL || vals == NULL || keys->nstrings != vals->nints ||
		og_attr_int(enc, "default_int64", -1) != ncat)
		return rd_unsupported(r, "ONNX LabelEncoder of \"%s\" does not map unseen strings to the \"other\" code",
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
			return rd_unsupported(r, "ONNX LabelEncoder of \"%s\" maps strings to codes dlfin cannot represent",
							   ft->name, NULL);
		if ((ft->categories[c] = rd_dup(keys->strings[k])) == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t c = 0; c < ncat; c++)
		if (ft->categories[c] == NULL)
			return rd_unsupported(r, "ONNX LabelEncoder of \"%s\" leaves a category code unused",
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
		rd_unsupported(r, "ONNX tensor \"%s\" is not a graph input used once", name,
					"dlfin reads each feature column from its own graph input.");
		return -1;
	}
	row_of[f] = row;
	return f;
}

/* A numeric block of a dlfin export: one feature per Imputer input. */
static DlfStatus
read_numeric_block(Rd *r, const ONode *p, int32_t *row_of, int32_t *row)
{
	DlfModel   *m = r->m;
	const ONode *sub;
	const double *mean,
			   *inv;
	DlfStatus	st = numeric_block(r, p, &sub, &mean, &inv);

	for (int64_t j = 0; st == DLF_OK && j < sub->nin; j++)
	{
		const OValue *v;
		int32_t		f;

		if ((f = claim(r, sub->in[j], row_of, (*row)++)) < 0)
			st = DLF_ERR_INVALID;
		else if ((v = &r->g->inputs[f])->type != ONNX_DOUBLE && v->type != ONNX_FLOAT)
			st = rd_unsupported(r, "ONNX graph input \"%s\" is not a float tensor", v->name, NULL);
		else
		{
			m->features[f].kind = DLF_FEAT_NUMERIC;
			m->features[f].sqltype = v->doc && strcmp(v->doc, "boolean") == 0 ?
				DLF_SQL_BOOL : DLF_SQL_NUMBER;
			m->features[f].mean = mean[j];
			m->features[f].scale = scale_of(inv[j]);
		}
	}
	return st;
}

/* A text block of a dlfin export: one feature's one-hot columns. */
static DlfStatus
read_text_block(Rd *r, const ONode *p, int32_t *row_of, int32_t *row)
{
	DlfModel   *m = r->m;
	const ONode *sub;
	int64_t		depth = 0;
	int32_t		f;
	DlfStatus	st = text_block(r, p, &sub, &depth);

	if (st != DLF_OK)
		return st;
	if ((f = claim(r, og_in(sub, 0), row_of, *row)) < 0)
		return DLF_ERR_INVALID;
	if (r->g->inputs[f].type != ONNX_STRING)
		return rd_unsupported(r, "ONNX graph input \"%s\" is not a string tensor",
							  r->g->inputs[f].name, NULL);
	m->features[f].kind = DLF_FEAT_CATEGORICAL;
	m->features[f].sqltype = DLF_SQL_TEXT;
	m->features[f].name = rd_dup(r->g->inputs[f].name);
	st = vocabulary(r, sub, &m->features[f], depth);
	*row += (int32_t) depth;
	return st;
}

/* Reads the Concat's input blocks, recording each feature's first row. */
static DlfStatus
read_blocks(Rd *r, const ONode *top, int32_t *row_of)
{
	int32_t		row = 0;
	DlfStatus	st = DLF_OK;

	for (int64_t b = 0; b < top->nin && st == DLF_OK; b++)
	{
		const ONode *p = og_producer(r->g, top->in[b]);

		/* after the Imputer, refused values made NaN (onnx_write.c) */
		if (og_is_op(p, "Where") && p->nin == 3 && strcmp(p->in[0], "dlfin_num_refused") == 0)
			p = og_producer(r->g, p->in[2]);

		if (og_is_ml(p, "Imputer"))
			st = read_numeric_block(r, p, row_of, &row);
		else if (og_is_op(p, "Flatten"))
			st = read_text_block(r, p, row_of, &row);
		else
			st = rd_unsupported(r, "unsupported ONNX operator \"%s\" before the network",
								p ? p->op : "(none)", SUPPORTED_DETAIL);
	}
	return st;
}

/* Checks that every graph input feeds the network, and names the features. */
static DlfStatus
check_all_claimed(Rd *r, const int32_t *row_of)
{
	DlfModel   *m = r->m;

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		if (row_of[f] < 0)
			return rd_unsupported(r, "ONNX graph input \"%s\" does not feed the network",
								  r->g->inputs[f].name, NULL);
		if (m->features[f].name == NULL &&
			(m->features[f].name = rd_dup(r->g->inputs[f].name)) == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	return DLF_OK;
}

/* The feature map: feature f's rows, in block order, and no other. */
static DlfStatus
check_feature_map(Rd *r, const int32_t *row_of)
{
	DlfModel   *m = r->m;
	const OTensor *fm = r->net.fmap;
	int32_t		nin = r->net.units[0];

	if (fm == NULL)
		return DLF_OK;
	if (fm->dims[0] != m->nfeatures || fm->dims[1] != nin)
		return rd_unsupported(r, "ONNX tensor \"%s\" of a dlfin graph is not computed as dlfin_onnx writes it",
							  "dlfin_feature_map", NULL);
	for (int32_t f = 0; f < m->nfeatures; f++)
		for (int32_t i = 0; i < nin; i++)
			if (fm->f[(size_t) f * nin + i] !=
				(i >= row_of[f] && i < row_of[f] + m->features[f].ninputs ? 1.0f : 0.0f))
				return rd_unsupported(r, "ONNX tensor \"%s\" of a dlfin graph is not computed as dlfin_onnx writes it",
									  "dlfin_feature_map", NULL);
	return DLF_OK;
}

/* Moves the first layer's rows from block order to feature order. */
static DlfStatus
reorder_first_layer(Rd *r, const int32_t *row_of)
{
	DlfModel   *m = r->m;
	int32_t		nout = r->net.units[1];
	float	   *w = dlf_alloc_array((size_t) r->net.units[0] * nout, sizeof(float));

	if (w == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	for (int32_t f = 0; f < m->nfeatures; f++)
		memcpy(w + (size_t) m->features[f].input_offset * nout,
			   r->net.W[0] + (size_t) row_of[f] * nout,
			   sizeof(float) * (size_t) m->features[f].ninputs * nout);
	dlf_free(r->net.W[0]);
	r->net.W[0] = w;
	return DLF_OK;
}

/*
 * A dlfin export's encoding: the features in graph input order, and the
 * first layer's rows moved from the Concat's block order to theirs.
 */
DlfStatus
rd_dlfin_features(Rd *r, const ONode *top)
{
	DlfModel   *m = r->m;
	int32_t    *row_of;
	DlfStatus	st;

	if ((st = rd_alloc_features(r, r->g->ninputs)) != DLF_OK)
		return st;
	if ((row_of = dlf_alloc_array(m->nfeatures, sizeof(int32_t))) == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	for (int32_t f = 0; f < m->nfeatures; f++)
		row_of[f] = -1;
	st = read_blocks(r, top, row_of);
	if (st == DLF_OK)
		st = check_all_claimed(r, row_of);
	if (st == DLF_OK && dlf_model_layout(m) != r->net.units[0])
		st = rd_unsupported(r, "ONNX encoding of \"%s\" does not match the first layer's inputs",
							top->name ? top->name : "Concat", NULL);
	if (st == DLF_OK)
		st = check_feature_map(r, row_of);
	if (st == DLF_OK)
		st = reorder_first_layer(r, row_of);
	dlf_free(row_of);
	return st;
}

/* A double scalar initializer of a dlfin export, or dflt. */
static double
scalar(const OGraph *g, const char *name, double dflt)
{
	const OTensor *t = og_tensor(g, name);

	return t && t->n == 1 ? (t->d ? t->d[0] : t->f ? t->f[0] : dflt) : dflt;
}

/* Whether a node produces out from the given inputs (NULL: any). */
static int
makes(const OGraph *g, const char *out, const char *op, const char *in0,
	  const char *in1)
{
	const ONode *n = og_producer(g, out);

	return og_is_op(n, op) && n->nin >= 1 && (!in0 || strcmp(n->in[0], in0) == 0) &&
		(!in1 || (n->nin >= 2 && strcmp(n->in[1], in1) == 0));
}

/*
 * The output of a dlfin export: the task from the metadata, checked
 * against the nodes that compute "score" from the logits (onnx_write.c),
 * and the calibration and target scaling those nodes use.
 */
DlfStatus
rd_dlfin_outputs(Rd *r, const char *task)
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
		const OTensor *x = og_tensor(g, "dlfin_iso_x"),
				   *y = og_tensor(g, "dlfin_iso_y");

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
		return rd_unsupported(r, "ONNX graph's output for dlfin task \"%s\" is not dlfin's", task,
						   "A graph with dlfin metadata must compute its outputs as dlfin_onnx writes them.");
	return DLF_OK;
}
