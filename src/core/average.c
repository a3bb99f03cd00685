/*
 * average.c
 *	  Weighted model averaging of networks that share one encoding.
 */
#include "average.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The first difference between the task, classes and target of a and b. */
static void
diff_target(const DlfModel *a, const DlfModel *b, char *why, size_t sz)
{
	if (a->task != b->task)
		snprintf(why, sz, "The tasks differ.");
	else if (a->nclasses != b->nclasses)
		snprintf(why, sz, "The models have %d and %d classes.",
				 (int) a->nclasses, (int) b->nclasses);
	for (int32_t c = 0; c < a->nclasses && !why[0]; c++)
		if (strcmp(a->classes[c], b->classes[c]) != 0)
			snprintf(why, sz, "Class %d is \"%s\" in one model and \"%s\" in the other.",
					 (int) c + 1, a->classes[c], b->classes[c]);
	if (!why[0] && (memcmp(&a->target_mean, &b->target_mean, sizeof(double)) != 0 ||
					memcmp(&a->target_scale, &b->target_scale, sizeof(double)) != 0))
		snprintf(why, sz, "The target scaling differs.");
}

/* The first difference between the encodings of feature f of a and b. */
static void
diff_feature(const DlfFeature *x, const DlfFeature *y, int32_t f, char *why,
			 size_t sz)
{
	if (strcmp(x->name, y->name) != 0 || x->kind != y->kind ||
		x->sqltype != y->sqltype)
		snprintf(why, sz, "Feature %d differs in name or type.", (int) f + 1);
	else if (x->woe || y->woe)
		snprintf(why, sz, "Feature \"%s\" is WoE-encoded, with bins of its own rows.", x->name);
	else if (x->kind == DLF_FEAT_NUMERIC &&
			 (memcmp(&x->mean, &y->mean, sizeof(double)) != 0 ||
			  memcmp(&x->scale, &y->scale, sizeof(double)) != 0))
		snprintf(why, sz, "Feature \"%s\" is scaled differently.", x->name);
	else if (x->ncat != y->ncat)
		snprintf(why, sz, "Feature \"%s\" has %d categories in one model and %d in the other.",
				 x->name, (int) x->ncat, (int) y->ncat);
	for (int32_t c = 0; c < x->ncat && !why[0]; c++)
		if (strcmp(x->categories[c], y->categories[c]) != 0)
			snprintf(why, sz, "Feature \"%s\" has other categories.", x->name);
}

/* Checks that a and b can be averaged (see average.h). */
DlfStatus
dlf_model_averageable(const DlfModel *a, const DlfModel *b, DlfError *err)
{
	char		why[256] = "";

	diff_target(a, b, why, sizeof(why));
	if (!why[0] && a->nfeatures != b->nfeatures)
		snprintf(why, sizeof(why), "The models have %d and %d features.",
				 (int) a->nfeatures, (int) b->nfeatures);
	for (int32_t f = 0; f < a->nfeatures && !why[0]; f++)
		diff_feature(&a->features[f], &b->features[f], f, why, sizeof(why));
	if (!why[0] && (a->nmembers > 1 || b->nmembers > 1))
		snprintf(why, sizeof(why), "An ensemble cannot be averaged.");
	if (!why[0] && (a->calibration != DLF_CALIB_NONE || b->calibration != DLF_CALIB_NONE))
		snprintf(why, sizeof(why), "A calibrated model cannot be averaged.");
	if (!why[0] && (a->nlayers != b->nlayers || a->activation != b->activation))
		snprintf(why, sizeof(why), "The networks differ in shape.");
	for (int32_t l = 0; l <= a->nlayers && !why[0]; l++)
		if (a->units[l] != b->units[l])
			snprintf(why, sizeof(why), "The networks differ in shape.");
	if (!why[0])
		return DLF_OK;
	dlf_fail(err, DLF_ERR_INVALID, "models of different shape or encoding cannot be averaged");
	dlf_detail(err, "%s", why);
	return DLF_ERR_INVALID;
}

/* dst[i] = sum_k w[k] * src_k[i] / wsum, summed in member order. */
static void
average_array(float *dst, DlfModel *const *m, const double *w, int32_t n,
			  double wsum, int32_t layer, int bias, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		double		s = 0.0;

		for (int32_t k = 0; k < n; k++)
		{
			const float *src = bias ? m[k]->biases[layer] : m[k]->weights[layer];

			s += w[k] * (double) src[i];
		}
		dst[i] = (float) (s / wsum);
	}
}

/* Averages the networks of m[0..n) into m[0] (see average.h). */
DlfStatus
dlf_model_average(DlfModel *const *m, const double *w, int32_t n, DlfError *err)
{
	double		wsum = 0.0;
	int64_t		rows_train = 0,
				rows_valid = 0;
	DlfStatus	rc;

	if (n < 1)
		return dlf_fail(err, DLF_ERR_INVALID, "no models to average");
	for (int32_t k = 0; k < n; k++)
	{
		if (!(w[k] >= 0.0) || !isfinite(w[k]))
			return dlf_fail(err, DLF_ERR_INVALID,
							"model weight %d is negative or not finite", (int) k + 1);
		if ((rc = dlf_model_averageable(m[0], m[k], err)) != DLF_OK)
			return rc;
		wsum += w[k];
		rows_train += m[k]->rows_train;
		rows_valid += m[k]->rows_valid;
	}
	if (!(wsum > 0.0))
		return dlf_fail(err, DLF_ERR_INVALID, "model weights sum to zero");
	/* in place: each entry reads every member's value before writing m[0]'s */
	for (int32_t l = 0; l < m[0]->nlayers; l++)
	{
		size_t		nw = (size_t) m[0]->units[l] * (size_t) m[0]->units[l + 1];

		average_array(m[0]->weights[l], m, w, n, wsum, l, 0, nw);
		average_array(m[0]->biases[l], m, w, n, wsum, l, 1,
					  (size_t) m[0]->units[l + 1]);
	}
	m[0]->rows_train = rows_train;
	m[0]->rows_valid = rows_valid;
	return DLF_OK;
}
