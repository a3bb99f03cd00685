/*
 * codec_check.c
 *	  Model codec: the checkers, the semantic rules of each section, run
 *	  before encoding and after decoding each section.
 */
#include "codec_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks a model string: present, bounded, UTF-8 without NUL. */
static DlfStatus
check_text(Ctx *c, const char *s, size_t maxlen, int allow_empty,
		   const char *what)
{
	size_t		n;

	if (s == NULL)
		return codec_bad(c, "The %s is missing.", what);
	n = strlen(s);
	if (n > maxlen)
		return codec_bad(c, "The %s is %zu bytes long, more than the limit of %zu.",
						 what, n, maxlen);
	if (n == 0 && !allow_empty)
		return codec_bad(c, "The %s is empty.", what);
	if (!dlf_utf8_valid(s, n))
		return codec_bad(c, "The %s is not valid UTF-8.", what);
	return DLF_OK;
}

/* Orders string pointers for the duplicate check. */
static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Fails when two of the n strings are equal (n log n, one allocation). */
static DlfStatus
check_unique(Ctx *c, char *const *s, int32_t n, const char *what)
{
	char	  **sorted;
	DlfStatus	st = DLF_OK;

	if (n < 2)
		return DLF_OK;
	sorted = dlf_alloc_array((size_t) n, sizeof(char *));
	if (sorted == NULL)
		return codec_nomem(c);
	memcpy(sorted, s, (size_t) n * sizeof(char *));
	qsort(sorted, (size_t) n, sizeof(char *), cmp_strp);
	for (int32_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
		{
			st = codec_bad(c, "Two %s have the same name.", what);
			break;
		}
	dlf_free(sorted);
	return st;
}

/* Nonzero when v is finite or NaN (the "NaN when unknown" fields). */
static int
finite_or_nan(double v)
{
	return isfinite(v) || isnan(v);
}

/* ---- checkers: the semantic rules of each section ---------------------- */

/* META: enumerations. */
DlfStatus
codec_check_meta(Ctx *c, const DlfModel *m)
{
	if (m->task < DLF_TASK_BINARY || m->task > DLF_TASK_REGRESSION)
		return codec_bad(c, "Task code %u is not valid.", m->task);
	if (m->activation < DLF_ACT_RELU || m->activation > DLF_ACT_LEAKY_RELU)
		return codec_bad(c, "Activation code %u is not valid.", m->activation);
	if (m->adverse > DLF_ADVERSE_POSITIVE)
		return codec_bad(c, "Adverse class code %u is not valid.", m->adverse);
	if (m->calibration > DLF_CALIB_ISOTONIC)
		return codec_bad(c, "Calibration code %u is not valid.", m->calibration);
	if (m->calibration != DLF_CALIB_NONE && m->task != DLF_TASK_BINARY)
		return codec_bad(c, "Calibration is only valid for binary classifiers.");
	return DLF_OK;
}

/* Total network inputs of the features (64-bit, no overflow). */
static int64_t
total_inputs(const DlfModel *m)
{
	int64_t		n = 0;

	for (int32_t f = 0; f < m->nfeatures; f++)
		n += m->features[f].kind == DLF_FEAT_CATEGORICAL ?
			(int64_t) m->features[f].ncat + 2 : 1;
	return n;
}

/* FEATURES: names, kinds, statistics, vocabularies. */
DlfStatus
codec_check_features(Ctx *c, const DlfModel *m)
{
	char	  **names;
	DlfStatus	st;
	int64_t		inputs;

	if (m->nfeatures < 1 || m->nfeatures > DLF_MAX_FEATURES)
		return codec_bad(c, "The model has %d features; between 1 and %d are allowed.",
						 (int) m->nfeatures, DLF_MAX_FEATURES);
	if (m->features == NULL)
		return codec_bad(c, "The feature array is missing.");
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		char		what[64];

		snprintf(what, sizeof(what), "name of feature %d", (int) f + 1);
		TRY(check_text(c, ft->name, DLF_MAX_NAME, 0, what));
		if (ft->kind != DLF_FEAT_NUMERIC && ft->kind != DLF_FEAT_CATEGORICAL)
			return codec_bad(c, "Feature %d has kind code %u, which is not valid.",
							 (int) f + 1, ft->kind);
		if (ft->sqltype < DLF_SQL_NUMBER || ft->sqltype > DLF_SQL_TEXT)
			return codec_bad(c, "Feature %d has SQL type code %u, which is not valid.",
							 (int) f + 1, ft->sqltype);
		/* a WoE-encoded text feature is numeric (section WOE checks it) */
		if (ft->sqltype == DLF_SQL_TEXT && ft->kind != DLF_FEAT_CATEGORICAL &&
			!ft->woe && c->version < 4)
			return codec_bad(c, "Feature %d is text but not categorical.", (int) f + 1);
		if (ft->monotone < -1 || ft->monotone > 1)
			return codec_bad(c, "Feature %d has monotone constraint %d; it must be -1, 0 or 1.",
							 (int) f + 1, (int) ft->monotone);
		if (!isfinite(ft->mean))
			return codec_bad(c, "Feature %d has a mean that is not finite.", (int) f + 1);
		if (!isfinite(ft->scale) ||
			(ft->kind == DLF_FEAT_NUMERIC && !(ft->scale > 0)))
			return codec_bad(c, "Feature %d has scale %g; it must be finite and positive.",
							 (int) f + 1, ft->scale);
		if (!(ft->missing_share >= 0 && ft->missing_share <= 1))
			return codec_bad(c, "Feature %d has missing share %g; it must be between 0 and 1.",
							 (int) f + 1, ft->missing_share);
		if (ft->kind == DLF_FEAT_NUMERIC && ft->ncat != 0)
			return codec_bad(c, "Numeric feature %d declares %d categories.",
							 (int) f + 1, (int) ft->ncat);
		if (ft->ncat < 0 || ft->ncat > DLF_MAX_CATEGORIES)
			return codec_bad(c, "Feature %d has %d categories; at most %d are allowed.",
							 (int) f + 1, (int) ft->ncat, DLF_MAX_CATEGORIES);
		if (ft->ncat > 0 && ft->categories == NULL)
			return codec_bad(c, "The categories of feature %d are missing.", (int) f + 1);
		for (int32_t k = 0; k < ft->ncat; k++)
		{
			snprintf(what, sizeof(what), "category %d of feature %d",
					 (int) k + 1, (int) f + 1);
			TRY(check_text(c, ft->categories[k], DLF_MAX_NAME, 1, what));
		}
		snprintf(what, sizeof(what), "categories of feature %d", (int) f + 1);
		TRY(check_unique(c, ft->categories, ft->ncat, what));
	}
	inputs = total_inputs(m);
	if (inputs > DLF_MAX_INPUTS)
		return codec_bad(c, "The features need %lld network inputs, more than the limit of %d.",
						 (long long) inputs, DLF_MAX_INPUTS);
	names = dlf_alloc_array((size_t) m->nfeatures, sizeof(char *));
	if (names == NULL)
		return codec_nomem(c);
	for (int32_t f = 0; f < m->nfeatures; f++)
		names[f] = m->features[f].name;
	st = check_unique(c, names, m->nfeatures, "features");
	dlf_free(names);
	return st;
}

/* CLASSES: count by task, names unique. */
DlfStatus
codec_check_classes(Ctx *c, const DlfModel *m)
{
	char		what[64];

	switch (m->task)
	{
		case DLF_TASK_BINARY:
			if (m->nclasses != 2)
				return codec_bad(c, "A binary classifier has %d classes instead of 2.",
								 (int) m->nclasses);
			break;
		case DLF_TASK_MULTICLASS:
			if (m->nclasses < 3 || m->nclasses > DLF_MAX_CLASSES)
				return codec_bad(c, "A multiclass classifier has %d classes; between 3 and %d are allowed.",
								 (int) m->nclasses, DLF_MAX_CLASSES);
			break;
		default:
			if (m->nclasses != 0)
				return codec_bad(c, "A regression model has %d classes instead of 0.",
								 (int) m->nclasses);
			break;
	}
	if (m->nclasses > 0 && m->classes == NULL)
		return codec_bad(c, "The class names are missing.");
	for (int32_t k = 0; k < m->nclasses; k++)
	{
		snprintf(what, sizeof(what), "name of class %d", (int) k + 1);
		TRY(check_text(c, m->classes[k], DLF_MAX_NAME, 1, what));
	}
	return check_unique(c, m->classes, m->nclasses, "classes");
}

/* TARGET: the regression target scaling. */
DlfStatus
codec_check_target(Ctx *c, const DlfModel *m)
{
	if (!isfinite(m->target_mean))
		return codec_bad(c, "The target mean is not finite.");
	if (!isfinite(m->target_scale) || !(m->target_scale > 0))
		return codec_bad(c, "The target scale is %g; it must be finite and positive.",
						 m->target_scale);
	return DLF_OK;
}

/* NETWORK, shape only: layer count and units against the features. */
DlfStatus
codec_check_units(Ctx *c, const DlfModel *m)
{
	int64_t		inputs = total_inputs(m);
	int32_t		outputs = m->task == DLF_TASK_MULTICLASS ? m->nclasses : 1;
	int64_t		params = 0;

	if (m->nlayers < 1 || m->nlayers > DLF_MAX_HIDDEN + 1)
		return codec_bad(c, "The network has %d weight layers; between 1 and %d are allowed.",
						 (int) m->nlayers, DLF_MAX_HIDDEN + 1);
	if (m->units == NULL)
		return codec_bad(c, "The layer sizes are missing.");
	if (m->units[0] != inputs)
		return codec_bad(c, "The network has %d inputs but the features need %lld.",
						 (int) m->units[0], (long long) inputs);
	for (int32_t l = 1; l <= m->nlayers; l++)
		if (m->units[l] < 1 || m->units[l] > DLF_MAX_UNITS)
			return codec_bad(c, "Layer %d has %d units; between 1 and %d are allowed.",
							 (int) l, (int) m->units[l], DLF_MAX_UNITS);
	if (m->units[m->nlayers] != outputs)
		return codec_bad(c, "The network has %d outputs but the task needs %d.",
						 (int) m->units[m->nlayers], (int) outputs);
	for (int32_t l = 0; l < m->nlayers; l++)
		params += (int64_t) m->units[l] * m->units[l + 1] + m->units[l + 1];
	if (params > DLF_MAX_PARAMS)
		return codec_bad(c, "The network has %lld parameters, more than the limit of %d.",
						 (long long) params, DLF_MAX_PARAMS);
	return DLF_OK;
}

/* NETWORK: shape, then every weight and bias present and finite. */
DlfStatus
codec_check_network(Ctx *c, const DlfModel *m)
{
	TRY(codec_check_units(c, m));
	if (m->weights == NULL || m->biases == NULL)
		return codec_bad(c, "The weights are missing.");
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		size_t		nw = (size_t) m->units[l] * (size_t) m->units[l + 1];
		const float *w = m->weights[l];
		const float *bias = m->biases[l];

		if (w == NULL || bias == NULL)
			return codec_bad(c, "The weights of layer %d are missing.", (int) l + 1);
		for (size_t i = 0; i < nw; i++)
			if (!isfinite(w[i]))
				return codec_bad(c, "Weight %zu of layer %d is not finite.",
								 i + 1, (int) l + 1);
		for (int32_t i = 0; i < m->units[l + 1]; i++)
			if (!isfinite(bias[i]))
				return codec_bad(c, "Bias %d of layer %d is not finite.",
								 (int) i + 1, (int) l + 1);
	}
	return DLF_OK;
}

/* TRAINING: options, counts, history. */
DlfStatus
codec_check_training(Ctx *c, const DlfModel *m)
{
	if (m->options_json && m->options_json[0] != '\0')
	{
		size_t		n = strlen(m->options_json);

		if (n > DLF_MAX_MODEL_BYTES)
			return codec_bad(c, "The training options are too long.");
		if (!dlf_json_object_valid(m->options_json, n))
			return codec_bad(c, "The training options are not a valid JSON object.");
	}
	if (m->rows_train < 0 || m->rows_valid < 0)
		return codec_bad(c, "A row count is negative.");
	if (m->epochs_run < 0 || m->epochs_run > DLF_MAX_EPOCHS)
		return codec_bad(c, "The model ran %d epochs; between 0 and %d are allowed.",
						 (int) m->epochs_run, DLF_MAX_EPOCHS);
	if (m->best_epoch < 0 || m->best_epoch > m->epochs_run)
		return codec_bad(c, "The best epoch %d is not between 0 and the %d epochs run.",
						 (int) m->best_epoch, (int) m->epochs_run);
	if (!finite_or_nan(m->best_valid_loss))
		return codec_bad(c, "The best validation loss is infinite.");
	if (m->nhistory < 0 || m->nhistory > DLF_MAX_HISTORY)
		return codec_bad(c, "The history has %d epochs; at most %d are allowed.",
						 (int) m->nhistory, DLF_MAX_HISTORY);
	if (m->nhistory > 0 && (m->train_loss == NULL || m->valid_loss == NULL))
		return codec_bad(c, "The loss history is missing.");
	for (int32_t i = 0; i < m->nhistory; i++)
		if (!finite_or_nan(m->train_loss[i]) || !finite_or_nan(m->valid_loss[i]))
			return codec_bad(c, "The loss of epoch %d is infinite.", (int) i + 1);
	return DLF_OK;
}

/* METRICS: names and values. */
DlfStatus
codec_check_metrics(Ctx *c, const DlfModel *m)
{
	char		what[64];

	if (m->nmetrics < 0 || m->nmetrics > DLF_MAX_METRICS)
		return codec_bad(c, "The model has %d metrics; at most %d are allowed.",
						 (int) m->nmetrics, DLF_MAX_METRICS);
	if (m->nmetrics > 0 && (m->metric_names == NULL || m->metric_values == NULL))
		return codec_bad(c, "The metrics are missing.");
	for (int32_t i = 0; i < m->nmetrics; i++)
	{
		snprintf(what, sizeof(what), "name of metric %d", (int) i + 1);
		TRY(check_text(c, m->metric_names[i], DLF_MAX_NAME, 0, what));
		if (!finite_or_nan(m->metric_values[i]))
			return codec_bad(c, "Metric %d is infinite.", (int) i + 1);
	}
	return check_unique(c, m->metric_names, m->nmetrics, "metrics");
}

/* EXPLAIN: importances and reason texts of the features. */
DlfStatus
codec_check_explain(Ctx *c, const DlfModel *m)
{
	char		what[64];

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (!finite_or_nan(ft->importance))
			return codec_bad(c, "The importance of feature %d is infinite.", (int) f + 1);
		if (ft->reason)
		{
			snprintf(what, sizeof(what), "reason text of feature %d", (int) f + 1);
			TRY(check_text(c, ft->reason, DLF_MAX_NAME, 1, what));
		}
	}
	return DLF_OK;
}

/* CALIBRATION: Platt coefficients, isotonic points, ECE. */
DlfStatus
codec_check_calibration(Ctx *c, const DlfModel *m)
{
	if (!isfinite(m->platt_a) || !isfinite(m->platt_b))
		return codec_bad(c, "A Platt coefficient is not finite.");
	if (m->niso < 0 || m->niso > DLF_MAX_ISO)
		return codec_bad(c, "The isotonic calibration has %d points; at most %d are allowed.",
						 (int) m->niso, DLF_MAX_ISO);
	if (m->calibration == DLF_CALIB_ISOTONIC ? m->niso < 1 : m->niso != 0)
		return codec_bad(c, "The isotonic calibration has %d points, which does not match the calibration method.",
						 (int) m->niso);
	if (m->niso > 0 && (m->iso_x == NULL || m->iso_y == NULL))
		return codec_bad(c, "The isotonic calibration points are missing.");
	for (int32_t i = 0; i < m->niso; i++)
	{
		if (!isfinite(m->iso_x[i]) || (i > 0 && !(m->iso_x[i] >= m->iso_x[i - 1])))
			return codec_bad(c, "Isotonic point %d is not finite or not in ascending order.",
							 (int) i + 1);
		if (!(m->iso_y[i] >= 0 && m->iso_y[i] <= 1))
			return codec_bad(c, "Isotonic point %d has probability %g; it must be between 0 and 1.",
							 (int) i + 1, m->iso_y[i]);
	}
	if (!(isnan(m->ece_before) || (m->ece_before >= 0 && m->ece_before <= 1)) ||
		!(isnan(m->ece_after) || (m->ece_after >= 0 && m->ece_after <= 1)))
		return codec_bad(c, "A calibration error is not between 0 and 1.");
	return DLF_OK;
}

/*
 * One histogram: catbins < 0 for a numeric one (edges ascending), else the
 * number of bins a categorical one must have.
 */
static DlfStatus
check_hist(Ctx *c, const DlfHistogram *h, int64_t catbins, const char *what)
{
	if (h->nbins == 0)
		return DLF_OK;
	if (catbins >= 0 ? h->nbins != catbins : (h->nbins < 1 || h->nbins > DLF_MAX_BINS))
		return codec_bad(c, "The %s has %d bins, which does not fit its kind.",
						 what, (int) h->nbins);
	if (h->share == NULL || (catbins < 0 && h->nbins > 1 && h->edges == NULL))
		return codec_bad(c, "The %s is incomplete.", what);
	for (int32_t i = 0; i < h->nbins; i++)
		if (!(h->share[i] >= 0 && h->share[i] <= 1))
			return codec_bad(c, "The %s has a share that is not between 0 and 1.", what);
	if (catbins < 0)
		for (int32_t i = 0; i < h->nbins - 1; i++)
			if (!isfinite(h->edges[i]) || (i > 0 && !(h->edges[i] >= h->edges[i - 1])))
				return codec_bad(c, "The %s has edges that are not finite and ascending.",
								 what);
	return DLF_OK;
}

/* DISTRIBUTIONS: score histogram and one histogram per feature. */
DlfStatus
codec_check_distributions(Ctx *c, const DlfModel *m)
{
	char		what[64];

	TRY(check_hist(c, &m->score_dist, -1, "score distribution"));
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		snprintf(what, sizeof(what), "distribution of feature %d", (int) f + 1);
		TRY(check_hist(c, &ft->dist,
					   ft->kind == DLF_FEAT_CATEGORICAL ? (int64_t) ft->ncat + 2 : -1,
					   what));
	}
	return DLF_OK;
}


/* Runs every checker, in section order. */
DlfStatus
codec_check_model(Ctx *c, const DlfModel *m)
{
	TRY(codec_check_meta(c, m));
	TRY(codec_check_features(c, m));
	TRY(codec_check_classes(c, m));
	TRY(codec_check_target(c, m));
	TRY(codec_check_network(c, m));
	TRY(codec_check_training(c, m));
	TRY(codec_check_metrics(c, m));
	TRY(codec_check_explain(c, m));
	TRY(codec_check_calibration(c, m));
	return codec_check_distributions(c, m);
}
