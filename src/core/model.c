/*
 * model.c
 *	  Construction, layout and destruction of DlfModel.
 */
#include "dlfin_core.h"
#include "woe.h"

#include <math.h>
#include <string.h>

/* Allocates an empty model; NULL when out of memory. */
DlfModel *
dlf_model_new(void)
{
	DlfModel   *m = dlf_alloc0(sizeof(DlfModel));

	if (m)
	{
		m->best_valid_loss = NAN;
		m->target_scale = 1.0;
		m->ece_before = NAN;
		m->ece_after = NAN;
	}
	return m;
}

/* Frees a model and everything it owns. */
void
dlf_model_free(DlfModel *m)
{
	if (m == NULL)
		return;
	if (m->features)
	{
		for (int32_t f = 0; f < m->nfeatures; f++)
		{
			DlfFeature *ft = &m->features[f];

			dlf_free(ft->name);
			if (ft->categories)
				for (int32_t c = 0; c < ft->ncat; c++)
					dlf_free(ft->categories[c]);
			dlf_free(ft->categories);
			dlf_free(ft->reason);
			dlf_free(ft->dist.edges);
			dlf_free(ft->dist.share);
			dlf_woe_free(ft->woe);
		}
		dlf_free(m->features);
	}
	if (m->classes)
		for (int32_t c = 0; c < m->nclasses; c++)
			dlf_free(m->classes[c]);
	dlf_free(m->classes);
	if (m->weights)
		for (int32_t l = 0; l < m->nlayers; l++)
			dlf_free(m->weights[l]);
	if (m->biases)
		for (int32_t l = 0; l < m->nlayers; l++)
			dlf_free(m->biases[l]);
	dlf_free(m->weights);
	dlf_free(m->biases);
	for (int64_t i = 0; i < (int64_t) (m->nmembers - 1) * m->nlayers; i++)
	{
		dlf_free(m->mweights ? m->mweights[i] : NULL);
		dlf_free(m->mbiases ? m->mbiases[i] : NULL);
	}
	dlf_free(m->mweights);
	dlf_free(m->mbiases);
	dlf_free(m->skip);
	dlf_free(m->units);
	dlf_free(m->options_json);
	dlf_free(m->cv_json);
	dlf_free(m->train_loss);
	dlf_free(m->valid_loss);
	if (m->metric_names)
		for (int32_t i = 0; i < m->nmetrics; i++)
			dlf_free(m->metric_names[i]);
	dlf_free(m->metric_names);
	dlf_free(m->metric_values);
	dlf_free(m->iso_x);
	dlf_free(m->iso_y);
	dlf_free(m->score_dist.edges);
	dlf_free(m->score_dist.share);
	dlf_free(m);
}

/* Assigns each feature its slice of the network inputs; returns the total. */
int32_t
dlf_model_layout(DlfModel *m)
{
	int32_t		off = 0;

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		DlfFeature *ft = &m->features[f];

		ft->input_offset = off;
		ft->ninputs = ft->kind == DLF_FEAT_CATEGORICAL ? ft->ncat + 2 : 1;
		off += ft->ninputs;
	}
	return off;
}

/* Counts weights and biases of all layers (one network, no skip path). */
int64_t
dlf_model_nparams(const DlfModel *m)
{
	int64_t		n = 0;

	for (int32_t l = 0; l < m->nlayers; l++)
		n += (int64_t) m->units[l] * m->units[l + 1] + m->units[l + 1];
	return n;
}

/* Adds a validation metric, or replaces one of the same name. */
DlfStatus
dlf_model_set_metric(DlfModel *m, const char *name, double value,
					 DlfError *err)
{
	char	  **names;
	double	   *values;

	for (int32_t i = 0; i < m->nmetrics; i++)
		if (strcmp(m->metric_names[i], name) == 0)
		{
			m->metric_values[i] = value;
			return DLF_OK;
		}
	if (m->nmetrics >= DLF_MAX_METRICS)
		return dlf_fail(err, DLF_ERR_LIMIT, "too many model metrics");
	names = dlf_alloc_array(m->nmetrics + 1, sizeof(char *));
	values = dlf_alloc_array(m->nmetrics + 1, sizeof(double));
	if (names == NULL || values == NULL)
	{
		dlf_free(names);
		dlf_free(values);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	if (m->nmetrics)
	{
		memcpy(names, m->metric_names, m->nmetrics * sizeof(char *));
		memcpy(values, m->metric_values, m->nmetrics * sizeof(double));
	}
	names[m->nmetrics] = dlf_strndup(name, strlen(name));
	if (names[m->nmetrics] == NULL)
	{
		dlf_free(names);
		dlf_free(values);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	values[m->nmetrics] = value;
	dlf_free(m->metric_names);
	dlf_free(m->metric_values);
	m->metric_names = names;
	m->metric_values = values;
	m->nmetrics++;
	return DLF_OK;
}

/* Zeroes the first-layer weights of one input in every member. */
void
dlf_model_zero_input(DlfModel *m, int32_t input)
{
	for (int32_t e = 0; e < dlf_model_members(m); e++)
	{
		memset(dlf_member_weights(m, e, 0) + (size_t) input * m->units[1], 0,
			   sizeof(float) * m->units[1]);
		if (m->skip)
			memset(dlf_member_skip(m, e) + (size_t) input * m->units[m->nlayers],
				   0, sizeof(float) * m->units[m->nlayers]);
	}
}

/* Skip-path weights of one member: units[0] x outputs, 0 without. */
int64_t
dlf_model_nskip(const DlfModel *m)
{
	return m->skip ? (int64_t) m->units[0] * m->units[m->nlayers] : 0;
}

/*
 * Counts every parameter of the model: each member's weights, biases and
 * skip-path weights (what dlfin_model_info and the model card report).
 */
int64_t
dlf_model_nparams_total(const DlfModel *m)
{
	return (dlf_model_nparams(m) + dlf_model_nskip(m)) * dlf_model_members(m);
}
