/*
 * synth.h
 *	  Synthetic schemas, datasets and trainings for the tests that train
 *	  models (test_explain.c, test_points.c, test_lbfgs.c, test_ensemble.c,
 *	  test_skip.c, test_average.c): a schema of numeric features and one
 *	  categorical, rows drawn from a seeded generator, the same rows in
 *	  another order, quiet trainings and random scorer rows.
 */
#ifndef DLFIN_SYNTH_H
#define DLFIN_SYNTH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlfin_core.h"
#include "nn_internal.h"

/* Makes a schema: nnum numeric features then one categorical with ncat. */
static DlfModel *
schema(int task, int nclasses, int nnum, int ncat)
{
	DlfModel   *m = dlf_model_new();
	char		buf[32];

	m->task = task;
	m->nfeatures = nnum + (ncat > 0);
	m->features = dlf_alloc0(m->nfeatures * sizeof(DlfFeature));
	for (int f = 0; f < m->nfeatures; f++)
	{
		DlfFeature *ft = &m->features[f];

		snprintf(buf, sizeof(buf), "x%d", f + 1);
		ft->name = dlf_strndup(buf, strlen(buf));
		ft->importance = NAN;
		ft->kind = f < nnum ? DLF_FEAT_NUMERIC : DLF_FEAT_CATEGORICAL;
		ft->sqltype = f < nnum ? DLF_SQL_NUMBER : DLF_SQL_TEXT;
		if (f >= nnum)
		{
			ft->ncat = ncat;
			ft->categories = dlf_alloc_array(ncat, sizeof(char *));
			for (int c = 0; c < ncat; c++)
			{
				snprintf(buf, sizeof(buf), "c%d", c);
				ft->categories[c] = dlf_strndup(buf, strlen(buf));
			}
		}
	}
	m->nclasses = task == DLF_TASK_REGRESSION ? 0 : nclasses;
	if (m->nclasses)
	{
		m->classes = dlf_alloc_array(m->nclasses, sizeof(char *));
		for (int c = 0; c < m->nclasses; c++)
		{
			snprintf(buf, sizeof(buf), "k%d", c);
			m->classes[c] = dlf_strndup(buf, strlen(buf));
		}
	}
	return m;
}

/* Synthetic rows: label driven by x1 (up), x2 (down), the category; x3 noise. */
static DlfDataset *
synth(const DlfModel *m, int64_t n, uint64_t seed)
{
	DlfDataset *d = calloc(1, sizeof(DlfDataset));
	DlfRng		r;

	dlf_rng_seed(&r, seed);
	d->nrows = n;
	d->nfeatures = m->nfeatures;
	d->num = calloc(m->nfeatures, sizeof(float *));
	d->cat = calloc(m->nfeatures, sizeof(int32_t *));
	d->label = calloc(n, sizeof(double));
	for (int f = 0; f < m->nfeatures; f++)
		if (m->features[f].kind == DLF_FEAT_NUMERIC)
			d->num[f] = calloc(n, sizeof(float));
		else
			d->cat[f] = calloc(n, sizeof(int32_t));
	for (int64_t i = 0; i < n; i++)
	{
		double		s = 0.0;

		for (int f = 0; f < m->nfeatures; f++)
		{
			const DlfFeature *ft = &m->features[f];

			if (ft->kind == DLF_FEAT_NUMERIC)
			{
				double		v = dlf_rng_normal(&r) * 3.0 + 10.0;

				if (dlf_rng_uniform(&r) < 0.05)
					v = NAN;	/* a few NULLs */
				d->num[f][i] = (float) v;
				if (isfinite(v))
					s += f == 0 ? 0.8 * (v - 10) : f == 1 ? -0.5 * (v - 10) :
						0.0;
			}
			else
			{
				int32_t		c = (int32_t) dlf_rng_below(&r, ft->ncat + 1);

				d->cat[f][i] = c;
				s += c == 1 ? 1.5 : c == 2 ? -1.0 : 0.0;
			}
		}
		s += 0.8 * dlf_rng_normal(&r);
		if (m->task == DLF_TASK_REGRESSION)
			d->label[i] = 100.0 + 20.0 * s;
		else if (m->task == DLF_TASK_BINARY)
			d->label[i] = s > 0.3;
		else
			d->label[i] = s < -1 ? 0 : s < 1 ? 1 : 2;
	}
	return d;
}

/* Frees a dataset made by synth. */
static void
free_data(DlfDataset *d)
{
	for (int f = 0; f < d->nfeatures; f++)
	{
		free(d->num[f]);
		free(d->cat[f]);
	}
	free(d->num);
	free(d->cat);
	free(d->label);
	free(d);
}

/* Swaps rows i and j of a dataset: label and every column. */
static inline void
swap_rows(DlfDataset *d, int64_t i, int64_t j)
{
	double		t = d->label[i];

	d->label[i] = d->label[j];
	d->label[j] = t;
	for (int f = 0; f < d->nfeatures; f++)
	{
		if (d->num[f])
		{
			float		u = d->num[f][i];

			d->num[f][i] = d->num[f][j];
			d->num[f][j] = u;
		}
		else
		{
			int32_t		u = d->cat[f][i];

			d->cat[f][i] = d->cat[f][j];
			d->cat[f][j] = u;
		}
	}
}

/* Reverses the order of the rows: the same multiset, another order. */
static inline void
reverse_rows(DlfDataset *d)
{
	for (int64_t i = 0; i < d->nrows / 2; i++)
		swap_rows(d, i, d->nrows - 1 - i);
}

/* Shuffles the rows (seeded Fisher-Yates): the same multiset, another order. */
static inline void
shuffle_rows(DlfDataset *d, uint64_t seed)
{
	DlfRng		r;

	dlf_rng_seed(&r, seed);
	for (int64_t i = d->nrows - 1; i > 0; i--)
		swap_rows(d, i, (int64_t) dlf_rng_below(&r, i + 1));
}

/*
 * Trains m on d with dlf_train_auto and, when out is not NULL, encodes it
 * into *out (NULL on failure).  Returns m, or NULL (m freed) when training
 * fails; says why in a TAP comment.
 */
static inline DlfModel *
train_encoded(DlfModel *m, DlfDataset *d, const DlfTrainOptions *opt,
			  uint8_t **out, size_t *len)
{
	DlfError	err;

	if (dlf_train_auto(m, d, opt, NULL, &err) != DLF_OK)
	{
		printf("# training failed: %s (%s)\n", err.message, err.detail);
		dlf_model_free(m);
		return NULL;
	}
	if (out && dlf_model_encode(m, out, len, &err) != DLF_OK)
	{
		printf("# encoding failed: %s (%s)\n", err.message, err.detail);
		*out = NULL;
	}
	return m;
}

/*
 * Trains m on d with dlf_train, one thread, the given activation and
 * epochs, a 0.2 validation split and no early stop.  Returns m, or NULL
 * when training fails (says why in a TAP comment).
 */
static inline DlfModel *
train_quiet(DlfModel *m, DlfDataset *d, int act, int epochs)
{
	DlfTrainOptions opt;
	DlfError	err;

	dlf_train_options_default(&opt);
	opt.epochs = epochs;
	opt.activation = act;
	opt.validation_fraction = 0.2;
	opt.patience = 1000;
	opt.nthreads = 1;
	if (dlf_train(m, d, &opt, NULL, &err) != DLF_OK)
	{
		printf("# training failed: %s\n", err.message);
		return NULL;
	}
	return m;
}

/* Loads row i of a synthetic set (synth) into a scorer. */
static inline void
data_row(DlfScorer *s, const DlfModel *m, const DlfDataset *d, int64_t i)
{
	char		buf[16];

	dlf_scorer_reset(s);
	for (int f = 0; f < m->nfeatures; f++)
		if (d->num[f])
			dlf_scorer_set_numeric(s, f, d->num[f][i], isnan(d->num[f][i]));
		else
		{
			snprintf(buf, sizeof(buf), "c%d", d->cat[f][i]);
			dlf_scorer_set_category(s, f, buf, strlen(buf), 0);
		}
}

/* Loads a random row into the scorer: NULLs, unseen and NULL categories. */
static inline void
random_row(DlfScorer *s, const DlfModel *m, DlfRng *r)
{
	dlf_scorer_reset(s);
	for (int f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
			dlf_scorer_set_numeric(s, f, dlf_rng_normal(r) * 6.0 + 10.0,
								   dlf_rng_uniform(r) < 0.1);
		else
		{
			char		buf[16];
			int			c = (int) dlf_rng_below(r, ft->ncat + 2);

			snprintf(buf, sizeof(buf), "c%d", c);
			dlf_scorer_set_category(s, f, buf, strlen(buf), c == ft->ncat + 1);
		}
	}
}

#endif
