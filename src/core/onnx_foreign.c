/*
 * onnx_foreign.c
 *	  ONNX import: the features of a network trained elsewhere (PyTorch,
 *	  scikit-learn), whose graph input is the network's input and whose
 *	  preprocessing the options of dlfin_from_onnx declare.
 *
 * A number or boolean feature takes one network input, standardised by
 * the options' mean and scale (one entry per number or boolean feature,
 * in feature order).  A text feature takes one network input per declared
 * category: the one-hot was done outside the graph, with scikit-learn's
 * handle_unknown='ignore' semantics (an unseen value or NULL sets none of
 * them).  dlfin's own one-hot has two more inputs, "other" and "missing";
 * their first-layer weight rows are zero (the all-zero one-hot), or a copy
 * of the row of the category an unseen value or NULL stands for when the
 * options name one.  A graph whose own preprocessing feeds the network
 * (skl2onnx's Scaler, OneHotEncoder, ...) is refused naming the operator.
 */
#include "onnx_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOREIGN_DETAIL "dlfin reads a network whose graph input is the network's input. Convert the network alone (for scikit-learn, the pipeline's last step) and declare the preprocessing in the options: \"mean\" and \"scale\" for standardised columns, a text feature with its \"categories\" for a one-hot encoded column; see doc/onnx.md."

/* Whether feature f of the options is a text feature. */
static int
is_text(const DlfOnnxOptions *o, int32_t f)
{
	return o->sqltypes && o->ncat && o->sqltypes[f] == DLF_SQL_TEXT;
}

/* Network inputs the options' features take; *nnum: number/boolean ones. */
static int64_t
option_inputs(const DlfOnnxOptions *o, int32_t *nnum)
{
	int64_t		n = 0;

	*nnum = 0;
	for (int32_t f = 0; f < o->nfeatures; f++)
	{
		if (is_text(o, f))
			n += o->ncat[f];
		else
		{
			n++;
			(*nnum)++;
		}
	}
	return n;
}

/* qsort comparison of two C strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A text feature's declared categories: 1 or more, distinct, copied. */
static DlfStatus
text_feature(Rd *r, const DlfOnnxOptions *o, int32_t f, DlfFeature *ft)
{
	int32_t		n = o->ncat[f];
	char	  **sorted;
	DlfStatus	st = DLF_OK;

	ft->kind = DLF_FEAT_CATEGORICAL;
	ft->sqltype = DLF_SQL_TEXT;
	if (n < 1 || n > DLF_MAX_CATEGORIES ||
		(o->other && (o->other[f] < -1 || o->other[f] >= n)) ||
		(o->missing && (o->missing[f] < -1 || o->missing[f] >= n)))
	{
		dlf_fail(r->err, DLF_ERR_INVALID,
				 "text feature \"%s\" of dlfin_from_onnx needs between 1 and %d categories",
				 ft->name, DLF_MAX_CATEGORIES);
		return DLF_ERR_INVALID;
	}
	/* a repeated category would leave its second input unreachable */
	if ((sorted = dlf_alloc_array(n, sizeof(char *))) == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	memcpy(sorted, o->categories[f], sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), cmp_str);
	for (int32_t c = 1; c < n && st == DLF_OK; c++)
		if (strcmp(sorted[c - 1], sorted[c]) == 0)
		{
			dlf_fail(r->err, DLF_ERR_INVALID,
					 "text feature \"%s\" of dlfin_from_onnx lists category \"%s\" twice",
					 ft->name, sorted[c]);
			st = DLF_ERR_INVALID;
		}
	dlf_free(sorted);
	if (st != DLF_OK)
		return st;
	if ((ft->categories = dlf_alloc_array(n, sizeof(char *))) == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	memset(ft->categories, 0, sizeof(char *) * n);
	ft->ncat = n;
	for (int32_t c = 0; c < n; c++)
		if ((ft->categories[c] = rd_dup(o->categories[f][c])) == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	return DLF_OK;
}

/* Copies network input row `from' of W to row `to' of the new matrix. */
static void
copy_row(float *dst, int32_t to, const float *W, int32_t from, int32_t nout)
{
	memcpy(dst + (size_t) to * nout, W + (size_t) from * nout, sizeof(float) * nout);
}

/*
 * The first layer with dlfin's "other" and "missing" rows after each text
 * feature's categories: zero, or the row of the category they stand for.
 */
static DlfStatus
expand_first_layer(Rd *r, const DlfOnnxOptions *o)
{
	DlfModel   *m = r->m;
	Net		   *net = &r->net;
	int32_t		nout = net->units[1],
				src = 0,
				total = dlf_model_layout(m);
	float	   *w;

	if (total == net->units[0])
		return DLF_OK;			/* no text feature */
	if (total > DLF_MAX_INPUTS)
	{
		dlf_fail(r->err, DLF_ERR_LIMIT, "imported model would have %d network inputs; at most %d are allowed",
				 (int) total, DLF_MAX_INPUTS);
		return DLF_ERR_LIMIT;
	}
	if ((w = dlf_alloc_array((size_t) total * nout, sizeof(float))) == NULL)
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	memset(w, 0, sizeof(float) * (size_t) total * nout);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		int32_t		at = ft->input_offset;

		if (ft->kind != DLF_FEAT_CATEGORICAL)
		{
			copy_row(w, at, net->W[0], src++, nout);
			continue;
		}
		for (int32_t c = 0; c < ft->ncat; c++)
			copy_row(w, at + c, net->W[0], src + c, nout);
		if (o->other && o->other[f] >= 0)
			copy_row(w, at + DLF_CAT_OTHER(ft), net->W[0], src + o->other[f], nout);
		if (o->missing && o->missing[f] >= 0)
			copy_row(w, at + DLF_CAT_MISSING(ft), net->W[0], src + o->missing[f], nout);
		src += ft->ncat;
	}
	dlf_free(net->W[0]);
	net->W[0] = w;
	net->units[0] = total;
	return DLF_OK;
}

/* The features of a network fed by graph input v, as the options say. */
DlfStatus
rd_foreign_features(Rd *r, const DlfOnnxOptions *o, const OValue *v)
{
	int32_t		k = r->net.units[0],
				nnum = k;
	int64_t		nin = k;
	DlfModel   *m = r->m;
	DlfStatus	st;

	if (v->type != ONNX_FLOAT && v->type != ONNX_DOUBLE)
		return rd_unsupported(r, "ONNX graph input \"%s\" is not a float tensor", v->name,
							  "dlfin imports networks over float or double columns.");
	if (o->nfeatures)
		nin = option_inputs(o, &nnum);
	if (nin != k || (o->nmean && o->nmean != nnum) || (o->nscale && o->nscale != nnum))
	{
		dlf_fail(r->err, DLF_ERR_INVALID,
				 "options of dlfin_from_onnx do not match the network's %d inputs", (int) k);
		dlf_detail(r->err, "Option \"features\" takes one input per number or boolean feature and one per category of a text feature (%lld here); \"mean\" and \"scale\" need one entry per number or boolean feature (%d here).",
				   (long long) nin, (int) nnum);
		return DLF_ERR_INVALID;
	}
	if ((st = rd_alloc_features(r, o->nfeatures ? o->nfeatures : k)) != DLF_OK)
		return st;
	for (int32_t f = 0, j = 0; f < m->nfeatures; f++)
	{
		DlfFeature *ft = &m->features[f];
		char		name[32];

		snprintf(name, sizeof(name), "f%d", (int) f + 1);
		if ((ft->name = rd_dup(o->nfeatures ? o->names[f] : name)) == NULL)
			return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
		if (o->nfeatures && is_text(o, f))
		{
			if ((st = text_feature(r, o, f, ft)) != DLF_OK)
				return st;
			continue;
		}
		ft->kind = DLF_FEAT_NUMERIC;
		ft->sqltype = o->sqltypes && o->nfeatures ? o->sqltypes[f] : DLF_SQL_NUMBER;
		ft->mean = o->nmean ? o->mean[j] : 0.0;
		ft->scale = o->nscale ? o->scale[j] : 1.0;
		j++;
		if (!(ft->scale > 0))
			return dlf_fail(r->err, DLF_ERR_INVALID,
							"option \"scale\" of dlfin_from_onnx must be positive");
	}
	return expand_first_layer(r, o);
}

/*
 * Refuses the nodes that compute the network's input: names a one-hot
 * encoder among them (what option "features" replaces), else the
 * ai.onnx.ml operator nearest the network (skl2onnx's Scaler, Imputer,
 * ...), else the operator right before the network.
 */
DlfStatus
rd_foreign_preprocessing(Rd *r, const char *input)
{
	const OGraph *g = r->g;
	const ONode *top = og_producer(g, input);
	int32_t    *queue;
	uint8_t    *seen;
	int32_t		head = 0,
				tail = 0,
				lookups = 0;
	const ONode *ml = NULL,
			   *hot = NULL;

	queue = dlf_alloc_array(g->nnodes ? g->nnodes : 1, sizeof(int32_t));
	seen = dlf_alloc_array(g->nnodes ? g->nnodes : 1, 1);
	if (queue == NULL || seen == NULL)
	{
		dlf_free(queue);
		dlf_free(seen);
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	memset(seen, 0, g->nnodes ? g->nnodes : 1);
	if (top)
	{
		queue[tail++] = (int32_t) (top - g->nodes);
		seen[top - g->nodes] = 1;
	}
	/*
	 * breadth first, so the operator nearest the network is named; a few
	 * producer lookups (each scans the graph) reach any converter's
	 * preprocessing, and keep a forged graph from costing more
	 */
	while (head < tail && hot == NULL && lookups < 64)
	{
		const ONode *n = &g->nodes[queue[head++]];

		if (ml == NULL && strcmp(n->domain, "ai.onnx.ml") == 0)
			ml = n;
		if (og_is_ml(n, "OneHotEncoder") || og_is_op(n, "OneHot"))
			hot = n;
		for (int64_t i = 0; i < n->nin && lookups < 64; i++, lookups++)
		{
			const ONode *p = og_producer(g, n->in[i]);

			if (p && !seen[p - g->nodes])
			{
				seen[p - g->nodes] = 1;
				queue[tail++] = (int32_t) (p - g->nodes);
			}
		}
	}
	dlf_free(queue);
	dlf_free(seen);
	if (hot || ml)
		return rd_unsupported(r, "unsupported ONNX operator \"%s\" before the network",
							  hot ? hot->op : ml->op,
							  FOREIGN_DETAIL);
	return rd_unsupported(r, "unsupported ONNX operator \"%s\" before the network",
						  top ? top->op : "(none)", SUPPORTED_DETAIL);
}
