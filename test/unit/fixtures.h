/*
 * fixtures.h
 *	  Hand-built models for the codec tests and the fuzz seed generator.
 */
#ifndef DLFIN_FIXTURES_H
#define DLFIN_FIXTURES_H

#include <math.h>
#include <string.h>

#include "dlfin_core.h"

/* Copies a C string with dlf_alloc. */
static char *
fx_str(const char *s)
{
	return dlf_strndup(s, strlen(s));
}

/* A zeroed double array. */
static double *
fx_doubles(int32_t n)
{
	return dlf_alloc_array((size_t) n, sizeof(double));
}

/* Fills a numeric histogram with nbins bins starting at lo. */
static void
fx_numeric_hist(DlfHistogram *h, int32_t nbins, double lo)
{
	h->nbins = nbins;
	h->edges = nbins > 1 ? fx_doubles(nbins - 1) : NULL;
	h->share = fx_doubles(nbins);
	for (int32_t i = 0; i < nbins - 1; i++)
		h->edges[i] = lo + i * 0.5;
	for (int32_t i = 0; i < nbins; i++)
		h->share[i] = 1.0 / nbins;
}

/* Adds a feature to a model being built (features array preallocated). */
static DlfFeature *
fx_feature(DlfModel *m, const char *name, int kind, int sqltype)
{
	DlfFeature *ft = &m->features[m->nfeatures++];

	ft->name = fx_str(name);
	ft->kind = (uint8_t) kind;
	ft->sqltype = (uint8_t) sqltype;
	ft->scale = kind == DLF_FEAT_NUMERIC ? 1.0 : 0.0;
	ft->importance = NAN;
	return ft;
}

/* Gives a categorical feature its vocabulary. */
static void
fx_categories(DlfFeature *ft, int32_t n, const char *const *names)
{
	ft->ncat = n;
	ft->categories = n ? dlf_alloc_array((size_t) n, sizeof(char *)) : NULL;
	for (int32_t i = 0; i < n; i++)
		ft->categories[i] = fx_str(names[i]);
}

/*
 * Builds a model of the given task.  full: every optional field set
 * (history, metrics, explanations, calibration, distributions); calib
 * picks the calibration of a full binary model.  hidden: units of the one
 * hidden layer, 0 for a network without hidden layer.
 */
static DlfModel *
fx_model(int task, int full, int calib, int32_t hidden)
{
	static const char *const regions[] = {"north", "south", "\xc3\xa9st", ""};
	static const char *const colours[] = {"red", "green"};
	DlfModel   *m = dlf_model_new();
	DlfFeature *ft;
	DlfRng		rng;
	int32_t		inputs;
	int32_t		outputs;

	dlf_rng_seed(&rng, (uint64_t) task * 100 + full * 10 + hidden);
	m->task = (uint8_t) task;
	m->activation = full ? DLF_ACT_TANH : DLF_ACT_RELU;
	m->features = dlf_alloc_array(8, sizeof(DlfFeature));

	ft = fx_feature(m, "age", DLF_FEAT_NUMERIC, DLF_SQL_NUMBER);
	ft->mean = 41.5;
	ft->scale = 12.25;
	ft->missing_share = 0.125;
	ft = fx_feature(m, "income", DLF_FEAT_NUMERIC, DLF_SQL_NUMBER);
	ft->mean = 52000.75;
	ft->scale = 18000.5;
	ft->monotone = full ? 1 : 0;
	ft = fx_feature(m, "region", DLF_FEAT_CATEGORICAL, DLF_SQL_TEXT);
	fx_categories(ft, 4, regions);
	ft->missing_share = 0.5;
	if (task != DLF_TASK_REGRESSION)
	{
		ft = fx_feature(m, "owner", DLF_FEAT_NUMERIC, DLF_SQL_BOOL);
		ft->mean = 0.25;
		ft->scale = 0.5;
		ft->monotone = full ? -1 : 0;
	}
	if (task == DLF_TASK_MULTICLASS)
	{
		ft = fx_feature(m, "colour", DLF_FEAT_CATEGORICAL, DLF_SQL_TEXT);
		fx_categories(ft, 2, colours);
		ft = fx_feature(m, "empty \"quoted\"\ttab", DLF_FEAT_CATEGORICAL,
						DLF_SQL_TEXT);
		fx_categories(ft, 0, NULL);
	}
	inputs = dlf_model_layout(m);

	if (task == DLF_TASK_BINARY)
	{
		m->nclasses = 2;
		m->classes = dlf_alloc_array(2, sizeof(char *));
		m->classes[0] = fx_str("good");
		m->classes[1] = fx_str("bad");
	}
	else if (task == DLF_TASK_MULTICLASS)
	{
		m->nclasses = 4;
		m->classes = dlf_alloc_array(4, sizeof(char *));
		m->classes[0] = fx_str("a");
		m->classes[1] = fx_str("b");
		m->classes[2] = fx_str("c\\d");
		m->classes[3] = fx_str("\xe6\x97\xa5");
	}
	else
	{
		m->target_mean = 101.5;
		m->target_scale = 15.75;
	}
	outputs = task == DLF_TASK_MULTICLASS ? m->nclasses : 1;

	m->nlayers = hidden ? 2 : 1;
	m->units = dlf_alloc_array((size_t) m->nlayers + 1, sizeof(int32_t));
	m->units[0] = inputs;
	if (hidden)
		m->units[1] = hidden;
	m->units[m->nlayers] = outputs;
	m->weights = dlf_alloc_array((size_t) m->nlayers, sizeof(float *));
	m->biases = dlf_alloc_array((size_t) m->nlayers, sizeof(float *));
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		int32_t		nw = m->units[l] * m->units[l + 1];

		m->weights[l] = dlf_alloc_array((size_t) nw, sizeof(float));
		m->biases[l] = dlf_alloc_array((size_t) m->units[l + 1], sizeof(float));
		for (int32_t i = 0; i < nw; i++)
			m->weights[l][i] = (float) dlf_rng_normal(&rng);
		for (int32_t i = 0; i < m->units[l + 1]; i++)
			m->biases[l][i] = (float) (dlf_rng_uniform(&rng) - 0.5);
	}

	if (!full)
		return m;

	m->options_json = fx_str("{\"hidden\": [8], \"learning_rate\": 0.01, "
							 "\"note\": \"caf\\u00e9 \\\"x\\\"\", \"seed\": -3e2}");
	m->rows_train = INT64_C(5000000000);
	m->rows_valid = 1234;
	m->epochs_run = 5;
	m->best_epoch = 4;
	m->best_valid_loss = 0.3125;
	m->nhistory = 5;
	m->train_loss = dlf_alloc_array(5, sizeof(float));
	m->valid_loss = dlf_alloc_array(5, sizeof(float));
	for (int i = 0; i < 5; i++)
	{
		m->train_loss[i] = 1.0f / (i + 1);
		m->valid_loss[i] = i == 2 ? NAN : 1.5f / (i + 1);
	}
	dlf_model_set_metric(m, "auc", 0.8125, NULL);
	dlf_model_set_metric(m, "logloss", 0.40625, NULL);
	dlf_model_set_metric(m, "ks", NAN, NULL);

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		ft = &m->features[f];
		ft->importance = f == 1 ? NAN : 0.01 * (f + 1);
		if (f != 0)
			ft->reason = fx_str(f == 2 ? "" : "Value of this feature \"too low\"");
		if (ft->kind == DLF_FEAT_CATEGORICAL)
		{
			ft->dist.nbins = ft->ncat + 2;
			ft->dist.share = fx_doubles(ft->dist.nbins);
			for (int32_t i = 0; i < ft->dist.nbins; i++)
				ft->dist.share[i] = 1.0 / ft->dist.nbins;
		}
		else if (f != 1)
			fx_numeric_hist(&ft->dist, f == 0 ? 10 : 1, -2.0);
	}
	fx_numeric_hist(&m->score_dist, 10, 0.0);
	m->ece_before = 0.0625;
	m->ece_after = task == DLF_TASK_BINARY ? 0.03125 : NAN;
	m->adverse = task == DLF_TASK_BINARY ? DLF_ADVERSE_POSITIVE : DLF_ADVERSE_NEGATIVE;
	if (task == DLF_TASK_BINARY && calib == DLF_CALIB_PLATT)
	{
		m->calibration = DLF_CALIB_PLATT;
		m->platt_a = -1.25;
		m->platt_b = 0.125;
	}
	else if (task == DLF_TASK_BINARY && calib == DLF_CALIB_ISOTONIC)
	{
		m->calibration = DLF_CALIB_ISOTONIC;
		m->niso = 4;
		m->iso_x = fx_doubles(4);
		m->iso_y = fx_doubles(4);
		for (int i = 0; i < 4; i++)
		{
			m->iso_x[i] = i < 2 ? -1.0 : i * 0.5;
			m->iso_y[i] = i * 0.25;
		}
	}
	return m;
}

#endif
