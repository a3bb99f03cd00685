/*
 * test_lbfgs.c
 *	  Unit tests of the full-batch L-BFGS optimiser: the minimiser on a
 *	  known function, training of every task, monotone descent of the
 *	  objective, byte-identical models for any row order and thread count,
 *	  monotone constraints, and the option errors.
 */
#include "dlfin_core.h"
#include "lbfgs.h"
#include "nn_internal.h"
#include "synth.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Rosenbrock-like sum in n dimensions (minimum 0 at all ones). */
static DlfStatus
rosen(void *arg, const float *x, float *g, double *f, DlfError *err)
{
	int64_t		n = *(int64_t *) arg;
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		g[i] = 0.0f;
	for (int64_t i = 0; i + 1 < n; i++)
	{
		double		a = x[i + 1] - (double) x[i] * x[i];
		double		b = 1.0 - x[i];

		s += 10.0 * a * a + b * b;
		g[i] += (float) (-40.0 * a * x[i] - 2.0 * b);
		g[i + 1] += (float) (20.0 * a);
	}
	*f = s;
	return DLF_OK;
}

/* The minimiser alone. */
static void
test_minimiser(void)
{
	int64_t		n = 6;
	float		x[6] = {-1.2f, 1, -1.2f, 1, 0, 0.5f};
	DlfLbfgsProblem p;
	DlfLbfgsResult r;
	DlfError	err;
	double		maxdev = 0.0;

	memset(&p, 0, sizeof(p));
	p.eval = rosen;
	p.arg = &n;
	ok(dlf_lbfgs(&p, x, n, 500, &r, &err) == DLF_OK, "minimiser runs");
	for (int i = 0; i < n; i++)
		maxdev = fmax(maxdev, fabs(x[i] - 1.0));
	ok(r.converged && maxdev < 1e-2, "reaches the minimum (dev %g, %d iterations)",
	   maxdev, r.iterations);
}

static uint8_t *train_opts(int task, int nclasses, int64_t n, int threads,
						   int shuffled, int l2_auto, size_t *len,
						   DlfModel **keep);

/* Trains with lbfgs; returns the encoded model (or NULL). */
static uint8_t *
train_bytes(int task, int nclasses, int64_t n, int threads, int shuffled,
			size_t *len, DlfModel **keep)
{
	return train_opts(task, nclasses, n, threads, shuffled, 0, len, keep);
}

/* Trains with lbfgs (l2_auto: "l2": "auto"); returns the encoded model. */
static uint8_t *
train_opts(int task, int nclasses, int64_t n, int threads, int shuffled,
		   int l2_auto, size_t *len, DlfModel **keep)
{
	DlfModel   *m = schema(task, nclasses, 3, 3);
	DlfDataset *d = synth(m, n, 7);
	DlfTrainOptions opt;
	DlfError	err;
	uint8_t    *out = NULL;

	if (shuffled)
		shuffle_rows(d, 99);
	dlf_train_options_default(&opt);
	opt.optimizer = DLF_OPTIM_LBFGS;
	opt.l2 = 0.01;
	opt.epochs = 200;
	opt.nthreads = threads;
	if (l2_auto)
	{
		opt.optimizer = DLF_OPTIM_AUTO;
		opt.l2_auto = 1;
		opt.cv_folds = 3;
		opt.epochs = 60;
	}
	if (dlf_train_auto(m, d, &opt, NULL, &err) != DLF_OK)
		printf("# training failed: %s\n", err.message);
	else if (dlf_model_encode(m, &out, len, &err) != DLF_OK)
		out = NULL;
	free_data(d);
	if (keep)
		*keep = m;
	else
		dlf_model_free(m);
	return out;
}

/* Every task trains, learns, and gives the same bytes for any order/threads. */
static void
test_train(int task, int nclasses)
{
	size_t		l1,
				l2,
				l3;
	DlfModel   *m = NULL;
	uint8_t    *b1 = train_bytes(task, nclasses, 1500, 1, 0, &l1, &m);
	uint8_t    *b2 = train_bytes(task, nclasses, 1500, 2, 0, &l2, NULL);
	uint8_t    *b3 = train_bytes(task, nclasses, 1500, 2, 1, &l3, NULL);
	const char *t = dlf_task_name(task);

	ok(b1 != NULL, "%s: lbfgs trains", t);
	ok(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0,
	   "%s: threads 1 and 2 give the same bytes", t);
	ok(b1 && b3 && l1 == l3 && memcmp(b1, b3, l1) == 0,
	   "%s: shuffled rows give the same bytes", t);
	if (m && m->nhistory > 1)
	{
		ok(m->train_loss[m->nhistory - 1] < m->train_loss[0] * 0.9,
		   "%s: the loss falls (%g -> %g in %d iterations)", t,
		   m->train_loss[0], m->train_loss[m->nhistory - 1], m->nhistory);
		for (int i = 0; i < m->nmetrics; i++)
			if (strcmp(m->metric_names[i], "auc") == 0)
				ok(m->metric_values[i] > 0.8, "%s: validation auc %g",
				   t, m->metric_values[i]);
	}
	else
		ok(0, "%s: history recorded", t);
	dlf_model_free(m);
	free(b1);
	free(b2);
	free(b3);
}

/* Monotone constraints hold after L-BFGS; dropout is refused. */
static void
test_constraints(void)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 0);
	DlfDataset *d = synth(m, 800, 3);
	DlfTrainOptions opt;
	DlfError	err;
	int			bad = 0;

	m->features[0].monotone = 1;
	m->features[1].monotone = -1;
	dlf_train_options_default(&opt);
	opt.optimizer = DLF_OPTIM_LBFGS;
	opt.nthreads = 1;
	ok(dlf_train(m, d, &opt, NULL, &err) == DLF_OK, "monotone lbfgs trains");
	for (int j = 0; j < m->units[1]; j++)
	{
		bad += m->weights[0][0 * m->units[1] + j] < 0.0f;
		bad += m->weights[0][1 * m->units[1] + j] > 0.0f;
	}
	for (int l = 1; l < m->nlayers; l++)
		for (int i = 0; i < m->units[l] * m->units[l + 1]; i++)
			bad += m->weights[l][i] < 0.0f;
	ok(bad == 0, "monotone signs hold (%d violations)", bad);
	dlf_model_free(m);

	m = schema(DLF_TASK_BINARY, 2, 3, 0);
	opt.dropout = 0.2;
	ok(dlf_train(m, d, &opt, NULL, &err) == DLF_ERR_INVALID &&
	   strstr(err.message, "dropout") != NULL, "dropout is refused");
	dlf_model_free(m);
	free_data(d);
}

/* "l2": "auto": deterministic folds, the CV figures, too-small sets. */
static void
test_cv(void)
{
	size_t		l1,
				l2,
				l3;
	DlfModel   *m = NULL;
	uint8_t    *b1 = train_opts(DLF_TASK_BINARY, 2, 600, 1, 0, 1, &l1, &m);
	uint8_t    *b2 = train_opts(DLF_TASK_BINARY, 2, 600, 2, 1, 1, &l2, NULL);
	uint8_t    *b3 = train_opts(DLF_TASK_REGRESSION, 0, 300, 2, 0, 1, &l3, NULL);
	DlfDataset *d;
	DlfTrainOptions opt;
	DlfError	err;
	int			found = 0;

	ok(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0,
	   "l2 auto: shuffled rows and threads 2 give the same bytes");
	ok(m && m->cv_json && strstr(m->cv_json, "\"candidates\"") != NULL,
	   "l2 auto: the CV results are recorded");
	for (int i = 0; m && i < m->nmetrics; i++)
		found += strcmp(m->metric_names[i], "cv_auc") == 0 ||
			strcmp(m->metric_names[i], "cv_auc_sd") == 0;
	ok(found == 2, "l2 auto: cv_auc and its sd are metrics");
	ok(m && m->rows_valid == 0, "l2 auto: the refit uses every row");
	ok(b3 != NULL, "l2 auto: regression trains");
	dlf_model_free(m);
	free(b1);
	free(b2);
	free(b3);

	/* a class with fewer rows than folds */
	m = schema(DLF_TASK_BINARY, 2, 3, 0);
	d = synth(m, 40, 5);
	for (int64_t i = 0; i < 40; i++)
		d->label[i] = i < 3;
	dlf_train_options_default(&opt);
	opt.l2_auto = 1;
	opt.optimizer = DLF_OPTIM_AUTO;
	ok(dlf_train_auto(m, d, &opt, NULL, &err) == DLF_ERR_INVALID &&
	   strstr(err.message, "folds") != NULL && strstr(err.detail, "lower cv_folds") != NULL,
	   "l2 auto: too few rows of a class is an error saying what to lower");
	opt.cv_folds = 1;
	ok(dlf_train_auto(m, d, &opt, NULL, &err) == DLF_ERR_INVALID,
	   "l2 auto: cv_folds 1 is refused");
	dlf_model_free(m);
	free_data(d);
}

/* The defaults' rule (dlf_train_resolve): which sets get which recipe. */
static void
test_resolve(void)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 0);
	DlfDataset *d = synth(m, 300, 3);
	DlfTrainOptions o;

	dlf_train_options_default(&o);
	o.optimizer = DLF_OPTIM_DEFAULT;
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_LBFGS && o.l2_auto && o.ens_sample == DLF_ENS_CV,
	   "resolve: 300 rows get lbfgs, l2 auto and the cv ensemble");
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_LBFGS && o.ens_sample == DLF_ENS_CV, "resolve: idempotent");
	dlf_train_options_default(&o);
	o.optimizer = DLF_OPTIM_DEFAULT;
	o.given = DLF_GIVEN_ADAM;
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_ADAM && !o.l2_auto && o.ens_sample == DLF_ENS_SEEDS,
	   "resolve: an Adam-only option keeps Adam");
	dlf_train_options_default(&o);
	o.optimizer = DLF_OPTIM_DEFAULT;
	o.given = DLF_GIVEN_ENSEMBLE | DLF_GIVEN_L2;
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_LBFGS && !o.l2_auto && o.ens_sample == DLF_ENS_SEEDS,
	   "resolve: given l2 and ensemble are kept");
	dlf_train_options_default(&o);
	o.optimizer = DLF_OPTIM_DEFAULT;
	m->calibration = DLF_CALIB_PLATT;
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_LBFGS && o.l2_auto && o.ens_sample == DLF_ENS_SEEDS,
	   "resolve: calibrate gives one network");
	m->calibration = DLF_CALIB_NONE;
	dlf_train_options_default(&o);
	o.optimizer = DLF_OPTIM_DEFAULT;
	o.cv_folds = 200;			/* a class with fewer rows than folds */
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_ADAM && !o.l2_auto, "resolve: unstratifiable sets keep Adam");
	free_data(d);
	d = synth(m, DLF_DEFAULT_CV_ROWS + 1, 3);
	dlf_train_options_default(&o);
	o.optimizer = DLF_OPTIM_DEFAULT;
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_ADAM && !o.l2_auto && o.ens_sample == DLF_ENS_SEEDS,
	   "resolve: more than %d rows keep Adam", DLF_DEFAULT_CV_ROWS);
	dlf_train_options_default(&o);
	o.optimizer = DLF_OPTIM_AUTO;
	dlf_train_resolve(&o, m, d);
	ok(o.optimizer == DLF_OPTIM_AUTO, "resolve: a given optimizer is left alone");
	dlf_model_free(m);
	free_data(d);
}

int
main(void)
{
	test_minimiser();
	test_train(DLF_TASK_BINARY, 2);
	test_train(DLF_TASK_MULTICLASS, 3);
	test_train(DLF_TASK_REGRESSION, 0);
	test_constraints();
	test_cv();
	test_resolve();
	return done_testing();
}
