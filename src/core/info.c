/*
 * info.c
 *	  The JSON description of a model returned by dlfin_model_info().
 *
 * The output is valid JSON for every model dlf_model_decode accepts: all
 * strings are UTF-8 (checked by the decoder) and escaped here, non-finite
 * numbers are written as null, and options_json is embedded raw only after
 * it passed the strict JSON object check.
 */
#include "woe.h"
#include "dlfin_codec.h"

#include <math.h>
#include <string.h>

/* Name of a task code. */
const char *
dlf_task_name(int task)
{
	switch (task)
	{
		case DLF_TASK_BINARY:
			return "binary";
		case DLF_TASK_MULTICLASS:
			return "multiclass";
		case DLF_TASK_REGRESSION:
			return "regression";
	}
	return "unknown";
}

/* Activation names, index DlfActivation - 1, NULL-terminated. */
const char *const dlf_activation_names[] = {"relu", "tanh", "sigmoid", "leaky_relu", NULL};

/* Optimiser names, index DlfOptimizer - 1, NULL-terminated. */
const char *const dlf_optimizer_names[] = {"sgd", "momentum", "adam", "lbfgs", "auto", NULL};

/* Name of an activation code. */
const char *
dlf_activation_name(int act)
{
	if (act >= DLF_ACT_RELU && act <= DLF_ACT_LEAKY_RELU)
		return dlf_activation_names[act - 1];
	return "unknown";
}

/* Name of an optimiser code. */
const char *
dlf_optimizer_name(int opt)
{
	if (opt >= DLF_OPTIM_SGD && opt <= DLF_OPTIM_AUTO)
		return dlf_optimizer_names[opt - 1];
	return "unknown";
}

/* Name of a SQL type code. */
const char *
dlf_sqltype_name(int t)
{
	switch (t)
	{
		case DLF_SQL_NUMBER:
			return "number";
		case DLF_SQL_BOOL:
			return "boolean";
		case DLF_SQL_TEXT:
			return "text";
	}
	return "unknown";
}

/* Writes a JSON key followed by a colon, with a leading comma if needed. */
static void
key(DlfBuf *b, int comma, const char *k)
{
	if (comma)
		dlf_buf_append(b, ",", 1);
	dlf_buf_json_string(b, k);
	dlf_buf_append(b, ":", 1);
}

/* Writes an array of floats (null for NaN). */
static void
float_array(DlfBuf *b, const float *v, int32_t n)
{
	dlf_buf_append(b, "[", 1);
	for (int32_t i = 0; i < n; i++)
	{
		if (i)
			dlf_buf_append(b, ",", 1);
		dlf_buf_json_double(b, v[i]);
	}
	dlf_buf_append(b, "]", 1);
}

/* Writes an array of strings. */
static void
string_array(DlfBuf *b, char *const *v, int32_t n)
{
	dlf_buf_append(b, "[", 1);
	for (int32_t i = 0; i < n; i++)
	{
		if (i)
			dlf_buf_append(b, ",", 1);
		dlf_buf_json_string(b, v[i] ? v[i] : "");
	}
	dlf_buf_append(b, "]", 1);
}

/* Writes a training distribution: {"edges": [...], "shares": [...]}. */
static void
hist_json(DlfBuf *b, const DlfHistogram *h)
{
	dlf_buf_append(b, "{", 1);
	if (h->edges)
	{
		key(b, 0, "edges");
		dlf_buf_append(b, "[", 1);
		for (int32_t i = 0; i < h->nbins - 1; i++)
		{
			if (i)
				dlf_buf_append(b, ",", 1);
			dlf_buf_json_double(b, h->edges[i]);
		}
		dlf_buf_append(b, "],", 2);
	}
	key(b, 0, "shares");
	dlf_buf_append(b, "[", 1);
	for (int32_t i = 0; i < h->nbins; i++)
	{
		if (i)
			dlf_buf_append(b, ",", 1);
		dlf_buf_json_double(b, h->share[i]);
	}
	dlf_buf_append(b, "]}", 2);
}

/* Writes one feature object. */
static void
feature_json(DlfBuf *b, const DlfFeature *ft)
{
	int			categorical = ft->kind == DLF_FEAT_CATEGORICAL;

	dlf_buf_append(b, "{", 1);
	key(b, 0, "name");
	dlf_buf_json_string(b, ft->name ? ft->name : "");
	key(b, 1, "kind");
	dlf_buf_json_string(b, categorical ? "categorical" : ft->woe ? "woe" : "numeric");
	key(b, 1, "type");
	dlf_buf_json_string(b, dlf_sqltype_name(ft->sqltype));
	key(b, 1, "imputation");
	if (ft->woe)
	{
		/* NULL takes the missing bin's WoE; scaling is of the WoE */
		dlf_buf_json_string(b, "missing bin");
		key(b, 1, "scaling");
		dlf_buf_append(b, "{", 1);
		key(b, 0, "mean");
		dlf_buf_json_double(b, ft->mean);
		key(b, 1, "scale");
		dlf_buf_json_double(b, ft->scale);
		dlf_buf_append(b, "}", 1);
	}
	else if (categorical)
	{
		dlf_buf_json_string(b, "missing");
		key(b, 1, "categories");
		string_array(b, ft->categories, ft->ncat);
		key(b, 1, "other_share");
		if (ft->dist.nbins == ft->ncat + 2 && ft->dist.share)
			dlf_buf_json_double(b, ft->dist.share[ft->ncat]);
		else
			dlf_buf_append(b, "null", 4);
	}
	else
	{
		dlf_buf_json_double(b, ft->mean);
		key(b, 1, "scaling");
		dlf_buf_append(b, "{", 1);
		key(b, 0, "mean");
		dlf_buf_json_double(b, ft->mean);
		key(b, 1, "scale");
		dlf_buf_json_double(b, ft->scale);
		dlf_buf_append(b, "}", 1);
	}
	key(b, 1, "missing_share");
	dlf_buf_json_double(b, ft->missing_share);
	if (ft->monotone != 0)
	{
		key(b, 1, "monotone");
		dlf_buf_printf(b, "%d", (int) ft->monotone);
	}
	if (isfinite(ft->importance))
	{
		key(b, 1, "importance");
		dlf_buf_json_double(b, ft->importance);
	}
	if (ft->reason)
	{
		key(b, 1, "reason");
		dlf_buf_json_string(b, ft->reason);
	}
	if (ft->woe)
	{
		/* the input is the WoE of the value's bin: bins, WoE, IV */
		key(b, 1, "woe");
		dlf_woe_json(b, ft->woe);
	}
	if (ft->dist.nbins > 0 && ft->dist.share)
	{
		/* numeric: shares of non-NULL values; categorical: per code */
		key(b, 1, "distribution");
		hist_json(b, &ft->dist);
	}
	dlf_buf_append(b, "}", 1);
}

/* Writes the layers array and the hidden activation. */
static void
layers_json(DlfBuf *b, const DlfModel *m)
{
	key(b, 1, "layers");
	dlf_buf_append(b, "[", 1);
	for (int32_t l = 0; m->units && l < m->nlayers; l++)
	{
		if (l)
			dlf_buf_append(b, ",", 1);
		dlf_buf_printf(b, "{\"inputs\":%d,\"outputs\":%d,\"activation\":",
					   (int) m->units[l], (int) m->units[l + 1]);
		dlf_buf_json_string(b, l == m->nlayers - 1 ? "linear" :
							dlf_activation_name(m->activation));
		dlf_buf_append(b, "}", 1);
	}
	dlf_buf_append(b, "]", 1);
	key(b, 1, "activation");
	dlf_buf_json_string(b, dlf_activation_name(m->activation));
	key(b, 1, "parameters");
	dlf_buf_printf(b, "%lld",
				   (long long) (m->units ? dlf_model_nparams_total(m) : 0));
	if (m->nmembers > 1)
	{
		/* only ensembles: the description of other models is unchanged */
		key(b, 1, "ensemble");
		dlf_buf_printf(b, "%d", (int) m->nmembers);
	}
	if (m->skip)
	{
		/* only with a skip path: the inputs' weights into the outputs */
		key(b, 1, "skip");
		dlf_buf_printf(b, "{\"inputs\":%d,\"outputs\":%d}",
					   (int) m->units[0], (int) m->units[m->nlayers]);
	}
}

/* Writes the training metadata: options, rows, epochs, metrics, history. */
static void
training_json(DlfBuf *b, const DlfModel *m)
{
	key(b, 1, "options");
	if (m->options_json && m->options_json[0] &&
		dlf_json_object_valid(m->options_json, strlen(m->options_json)))
		dlf_buf_append(b, m->options_json, strlen(m->options_json));
	else
		dlf_buf_append(b, "{}", 2);
	key(b, 1, "rows");
	dlf_buf_printf(b, "{\"train\":%lld,\"validation\":%lld}",
				   (long long) m->rows_train, (long long) m->rows_valid);
	key(b, 1, "epochs_run");
	dlf_buf_printf(b, "%d", (int) m->epochs_run);
	key(b, 1, "best_epoch");
	dlf_buf_printf(b, "%d", (int) m->best_epoch);
	key(b, 1, "best_valid_loss");
	dlf_buf_json_double(b, m->best_valid_loss);
	key(b, 1, "validation_metrics");
	dlf_buf_append(b, "{", 1);
	for (int32_t i = 0; i < m->nmetrics; i++)
	{
		key(b, i > 0, m->metric_names[i] ? m->metric_names[i] : "");
		dlf_buf_json_double(b, m->metric_values[i]);
	}
	dlf_buf_append(b, "}", 1);
	key(b, 1, "history");
	dlf_buf_append(b, "{", 1);
	key(b, 0, "train_loss");
	float_array(b, m->train_loss, m->nhistory);
	key(b, 1, "valid_loss");
	float_array(b, m->valid_loss, m->nhistory);
	dlf_buf_append(b, "}", 1);
}

/* Writes the model description of dlfin_model_info() as JSON text. */
void
dlf_model_info_json(const DlfModel *m, const uint8_t *bytes, size_t nbytes,
					DlfBuf *out)
{
	uint16_t	format_version = 0;
	uint32_t	crc = 0;
	char		version[DLF_MAX_VERSION_STR + 1];
	int			have_bytes;

	have_bytes = dlf_model_peek(bytes, nbytes, &format_version, &crc,
								version, sizeof(version));
	dlf_buf_append(out, "{", 1);
	key(out, 0, "format_version");
	if (have_bytes)
		dlf_buf_printf(out, "%u", (unsigned) format_version);
	else
		dlf_buf_printf(out, "%d", m->nmembers > 1 ? DLF_FORMAT_VERSION :
					   DLF_FORMAT_VERSION_SINGLE);
	key(out, 1, "dlfin_version");
	dlf_buf_json_string(out, have_bytes ? version : DLF_VERSION);
	key(out, 1, "task");
	dlf_buf_json_string(out, dlf_task_name(m->task));
	key(out, 1, "classes");
	string_array(out, m->classes, m->nclasses);
	if (m->task == DLF_TASK_BINARY && m->nclasses == 2)
	{
		key(out, 1, "positive_class");
		dlf_buf_json_string(out, m->classes[1] ? m->classes[1] : "");
	}
	if (m->task == DLF_TASK_REGRESSION)
	{
		key(out, 1, "target");
		dlf_buf_append(out, "{", 1);
		key(out, 0, "mean");
		dlf_buf_json_double(out, m->target_mean);
		key(out, 1, "scale");
		dlf_buf_json_double(out, m->target_scale);
		dlf_buf_append(out, "}", 1);
	}
	key(out, 1, "features");
	dlf_buf_append(out, "[", 1);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		if (f)
			dlf_buf_append(out, ",", 1);
		feature_json(out, &m->features[f]);
	}
	dlf_buf_append(out, "]", 1);
	layers_json(out, m);
	training_json(out, m);
	if (m->calibration != DLF_CALIB_NONE)
	{
		key(out, 1, "calibration");
		dlf_buf_append(out, "{", 1);
		key(out, 0, "method");
		if (m->calibration == DLF_CALIB_PLATT)
		{
			dlf_buf_json_string(out, "platt");
			key(out, 1, "platt_a");
			dlf_buf_json_double(out, m->platt_a);
			key(out, 1, "platt_b");
			dlf_buf_json_double(out, m->platt_b);
		}
		else
		{
			dlf_buf_json_string(out, "isotonic");
			key(out, 1, "points");
			dlf_buf_printf(out, "%d", (int) m->niso);
		}
		key(out, 1, "ece_before");
		dlf_buf_json_double(out, m->ece_before);
		key(out, 1, "ece_after");
		dlf_buf_json_double(out, m->ece_after);
		dlf_buf_append(out, "}", 1);
	}
	if (m->score_dist.nbins > 0 && m->score_dist.share)
	{
		key(out, 1, "score_distribution");
		hist_json(out, &m->score_dist);
	}
	if (m->calibration == DLF_CALIB_NONE && isfinite(m->ece_before))
	{
		key(out, 1, "validation_ece");
		dlf_buf_json_double(out, m->ece_before);
	}
	key(out, 1, "adverse");
	dlf_buf_json_string(out, m->adverse == DLF_ADVERSE_POSITIVE ?
						"positive" : "negative");
	key(out, 1, "size_bytes");
	dlf_buf_printf(out, "%zu", nbytes);
	key(out, 1, "checksum");
	if (have_bytes)
		dlf_buf_printf(out, "\"%08x\"", (unsigned) crc);
	else
		dlf_buf_append(out, "null", 4);
	dlf_buf_append(out, "}", 1);
}
