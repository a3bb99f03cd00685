/*
 * test_nn.c
 *	  Unit tests of the multilayer perceptron: gradients against a double
 *	  precision finite-difference reference, optimisers, learning, early
 *	  stopping, reproducibility, encoding, scoring and error paths.
 */
#include "dlfin_core.h"
#include "nn_internal.h"
#include "tap.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

/* Makes a model schema with nnum numeric then ncatf categorical features. */
static DlfModel *
make_model(int task, int nclasses, int nnum, int ncatf, int ncat)
{
	DlfModel   *m = dlf_model_new();
	char		buf[32];

	m->task = task;
	m->nfeatures = nnum + ncatf;
	m->features = dlf_alloc_array(m->nfeatures, sizeof(DlfFeature));
	for (int f = 0; f < m->nfeatures; f++)
	{
		DlfFeature *ft = &m->features[f];

		snprintf(buf, sizeof(buf), "x%d", f + 1);
		ft->name = dlf_strndup(buf, strlen(buf));
		ft->importance = NAN;
		if (f < nnum)
		{
			ft->kind = DLF_FEAT_NUMERIC;
			ft->sqltype = DLF_SQL_NUMBER;
		}
		else
		{
			ft->kind = DLF_FEAT_CATEGORICAL;
			ft->sqltype = DLF_SQL_TEXT;
			ft->ncat = ncat;
			ft->categories = dlf_alloc_array(ncat, sizeof(char *));
			for (int c = 0; c < ncat; c++)
			{
				snprintf(buf, sizeof(buf), "cat%d", c);
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
			snprintf(buf, sizeof(buf), "class%d", c);
			m->classes[c] = dlf_strndup(buf, strlen(buf));
		}
	}
	return m;
}

/* Allocates a dataset with columns matching the model's features. */
static DlfDataset *
make_data(const DlfModel *m, int64_t n)
{
	DlfDataset *d = calloc(1, sizeof(DlfDataset));

	d->nrows = n;
	d->nfeatures = m->nfeatures;
	d->num = calloc(m->nfeatures, sizeof(float *));
	d->cat = calloc(m->nfeatures, sizeof(int32_t *));
	for (int f = 0; f < m->nfeatures; f++)
	{
		if (m->features[f].kind == DLF_FEAT_NUMERIC)
			d->num[f] = calloc(n, sizeof(float));
		else
			d->cat[f] = calloc(n, sizeof(int32_t));
	}
	d->label = calloc(n, sizeof(double));
	return d;
}

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

/* Copy of a dataset with rows in the order perm. */
static DlfDataset *
permuted(const DlfModel *m, const DlfDataset *d, const int64_t *perm)
{
	DlfDataset *e = make_data(m, d->nrows);

	for (int64_t i = 0; i < d->nrows; i++)
	{
		e->label[i] = d->label[perm[i]];
		for (int f = 0; f < d->nfeatures; f++)
			if (d->num[f])
				e->num[f][i] = d->num[f][perm[i]];
			else
				e->cat[f][i] = d->cat[f][perm[i]];
	}
	return e;
}

/* A copy of a model's schema (features, classes) without training. */
static DlfModel *
clone_schema(const DlfModel *m)
{
	int			nnum = 0,
				ncat = 0;

	for (int f = 0; f < m->nfeatures; f++)
		if (m->features[f].kind == DLF_FEAT_NUMERIC)
			nnum++;
		else
		{
			ncat = m->features[f].ncat;
		}
	return make_model(m->task, m->nclasses, nnum, m->nfeatures - nnum, ncat);
}

static double
unif(DlfRng *r, double a, double b)
{
	return a + (b - a) * dlf_rng_uniform(r);
}

/* Quiet options for tests. */
static DlfTrainOptions
test_options(void)
{
	DlfTrainOptions o;

	dlf_train_options_default(&o);
	return o;
}

/* ---- gradient check ------------------------------------------------------ */

#define GC_ROWS 6
#define GC_MAXU 32

/* Double-precision reference forward + loss of the whole batch. */
static double
ref_loss(int task, const NnNet *net, double *const *Wd, double *const *bd,
		 const NnBatch *bt, double l2)
{
	double		total = 0.0;
	int			L = net->nlayers;

	for (int r = 0; r < bt->rows; r++)
	{
		double		a[GC_MAXU * 2] = {0},
					z[GC_MAXU * 2];
		double		x[32] = {0};
		int			nin = net->units[0];
		double		loss;

		for (int e = 0; e < bt->nnz[r]; e++)
			x[bt->idx[r * bt->maxent + e]] = bt->val[r * bt->maxent + e];
		for (int k = 0; k < nin; k++)
			a[k] = x[k];
		for (int l = 0; l < L; l++)
		{
			int			ni = net->units[l],
						no = net->units[l + 1];

			for (int j = 0; j < no; j++)
			{
				double		s = bd[l][j];

				for (int k = 0; k < ni; k++)
					s += a[k] * Wd[l][k * no + j];
				if (l + 1 < L)
				{
					switch (net->activation)
					{
						case DLF_ACT_RELU:
							s = s > 0 ? s : 0;
							break;
						case DLF_ACT_LEAKY_RELU:
							s = s > 0 ? s : 0.01 * s;
							break;
						case DLF_ACT_TANH:
							s = tanh(s);
							break;
						default:
							s = 1 / (1 + exp(-s));
					}
				}
				z[j] = s;
			}
			for (int j = 0; j < no; j++)
				a[j] = z[j];
		}
		if (task == DLF_TASK_BINARY)
			loss = log1p(exp(-fabs(a[0]))) + (a[0] > 0 ? a[0] : 0) - a[0] * bt->target[r];
		else if (task == DLF_TASK_MULTICLASS)
		{
			int			no = net->units[L];
			double		mx = a[0],
						s = 0;

			for (int j = 1; j < no; j++)
				mx = a[j] > mx ? a[j] : mx;
			for (int j = 0; j < no; j++)
				s += exp(a[j] - mx);
			loss = log(s) + mx - a[(int) bt->target[r]];
		}
		else
			loss = (a[0] - bt->target[r]) * (a[0] - bt->target[r]);
		total += bt->weight[r] * loss;
	}
	total /= bt->rows;
	for (int l = 0; l < L; l++)
		for (int i = 0; i < net->units[l] * net->units[l + 1]; i++)
			total += 0.5 * l2 * Wd[l][i] * Wd[l][i];
	return total;
}

/* Checks backprop of one activation/task against central differences. */
static void
gradient_check(int act, int task)
{
	static const char *const an[] = {"", "relu", "tanh", "sigmoid", "leaky_relu"};
	static const char *const tn[] = {"", "binary", "multiclass", "regression"};
	NnNet		net,
				grad;
	NnBatch		bt;
	NnWork		w;
	DlfRng		rng;
	float	   *P,
			   *G;
	double	   *Wd[3],
			   *bd[3];
	int			nparams = 0;
	double		maxrel = 0.0;
	float		l2 = 0.05f;
	DlfError	err;

	memset(&net, 0, sizeof(net));
	net.nlayers = 3;
	net.activation = act;
	net.units[0] = 7;
	/* full 16-unit register tiles plus narrow tails, 4-row blocks + rest */
	net.units[1] = 20;
	net.units[2] = 17;
	net.units[3] = task == DLF_TASK_MULTICLASS ? 3 : 1;
	for (int l = 0; l < 3; l++)
		nparams += net.units[l] * net.units[l + 1] + net.units[l + 1];
	P = calloc(nparams, sizeof(float));
	G = calloc(nparams, sizeof(float));
	dlf_rng_seed(&rng, 1000 + act * 10 + task);
	{
		float	   *p = P,
				   *g = G;

		grad = net;
		for (int l = 0; l < 3; l++)
		{
			int			nw = net.units[l] * net.units[l + 1];

			net.W[l] = p;
			grad.W[l] = g;
			p += nw;
			g += nw;
			net.b[l] = p;
			grad.b[l] = g;
			p += net.units[l + 1];
			g += net.units[l + 1];
			Wd[l] = calloc(nw, sizeof(double));
			bd[l] = calloc(net.units[l + 1], sizeof(double));
		}
	}
	for (int i = 0; i < nparams; i++)
		P[i] = (float) unif(&rng, -0.8, 0.8);
	nn_batch_alloc(&bt, GC_ROWS, 4, &err);
	nn_work_alloc(&w, &net, GC_ROWS, 0, &err);
	bt.rows = GC_ROWS;
	for (int r = 0; r < GC_ROWS; r++)
	{
		int			e = 0;

		/* 3 numeric inputs (0..2, one left out as zero) and a one-hot 3..6 */
		for (int k = 0; k < 3; k++)
			if (k != r % 4)
			{
				bt.idx[r * 4 + e] = k;
				bt.val[r * 4 + e++] = (float) unif(&rng, -2, 2);
			}
		bt.idx[r * 4 + e] = 3 + r % 4;
		bt.val[r * 4 + e++] = 1.0f;
		bt.nnz[r] = e;
		bt.weight[r] = (float) (0.5 + r * 0.3);	/* class/row weights */
		if (task == DLF_TASK_BINARY)
			bt.target[r] = (float) (r % 2);
		else if (task == DLF_TASK_MULTICLASS)
			bt.target[r] = (float) (r % 3);
		else
			bt.target[r] = (float) unif(&rng, -1.5, 1.5);
	}
	nn_forward(&net, &bt, &w, 0);
	nn_loss(task, &net, &bt, &w, 1, (float) GC_ROWS);
	nn_backward(&net, &bt, &w, 0, l2, &grad);

	for (int l = 0; l < 3; l++)
	{
		for (int i = 0; i < net.units[l] * net.units[l + 1]; i++)
			Wd[l][i] = net.W[l][i];
		for (int i = 0; i < net.units[l + 1]; i++)
			bd[l][i] = net.b[l][i];
	}
	for (int l = 0; l < 3; l++)
	{
		for (int pass = 0; pass < 2; pass++)
		{
			double	   *arr = pass == 0 ? Wd[l] : bd[l];
			const float *ga = pass == 0 ? grad.W[l] : grad.b[l];
			int			cnt = pass == 0 ? net.units[l] * net.units[l + 1] : net.units[l + 1];

			for (int i = 0; i < cnt; i++)
			{
				double		h = 1e-6,
							keep = arr[i],
							lp,
							lm,
							num,
							rel;

				arr[i] = keep + h;
				lp = ref_loss(task, &net, Wd, bd, &bt, pass == 0 ? l2 : l2);
				arr[i] = keep - h;
				lm = ref_loss(task, &net, Wd, bd, &bt, l2);
				arr[i] = keep;
				num = (lp - lm) / (2 * h);
				rel = fabs(num - ga[i]) / fmax(fmax(fabs(num), fabs(ga[i])), 1e-2);
				if (rel > maxrel)
					maxrel = rel;
			}
		}
	}
	ok(maxrel < 2e-3, "gradient check %s/%s (l2, row weights): max rel err %.2e",
	   an[act], tn[task], maxrel);
	{
		/* the float forward agrees with the double reference */
		double		lf = nn_loss(task, &net, &bt, &w, 0, 1.0f) / GC_ROWS;
		double		lr = ref_loss(task, &net, Wd, bd, &bt, 0.0);

		ok(fabs(lf - lr) < 1e-4 * fmax(1.0, fabs(lr)),
		   "forward loss %s/%s matches reference (%.7f vs %.7f)",
		   an[act], tn[task], lf, lr);
	}
	for (int l = 0; l < 3; l++)
	{
		free(Wd[l]);
		free(bd[l]);
	}
	free(P);
	free(G);
	nn_batch_free(&bt);
	nn_work_free(&w);
}

/* ---- synthetic data sets --------------------------------------------------- */

/* XOR-like binary data: y = (x1 * x2 > 0), plus a noise feature. */
static DlfModel *
xor_data(int64_t n, uint64_t seed, DlfDataset **out)
{
	DlfModel   *m = make_model(DLF_TASK_BINARY, 2, 3, 0, 0);
	DlfDataset *d = make_data(m, n);
	DlfRng		r;

	dlf_rng_seed(&r, seed);
	for (int64_t i = 0; i < n; i++)
	{
		double		a = unif(&r, -1, 1),
					b = unif(&r, -1, 1);

		d->num[0][i] = (float) a;
		d->num[1][i] = (float) b;
		d->num[2][i] = (float) unif(&r, -1, 1);
		d->label[i] = a * b > 0 ? 1 : 0;
	}
	*out = d;
	return m;
}

/* Mixed data with NULLs and a categorical feature, binary label. */
static DlfModel *
mixed_data(int64_t n, uint64_t seed, DlfDataset **out)
{
	DlfModel   *m = make_model(DLF_TASK_BINARY, 2, 2, 1, 4);
	DlfDataset *d = make_data(m, n);
	DlfRng		r;

	dlf_rng_seed(&r, seed);
	for (int64_t i = 0; i < n; i++)
	{
		double		a = unif(&r, -2, 2);
		int			c = (int) dlf_rng_below(&r, 6);	/* 4 = other, 5 = missing */
		double		s = a + (c == 1 ? 1.5 : c == 2 ? -1.5 : 0) + 0.5 * dlf_rng_normal(&r);

		d->num[0][i] = (i % 7 == 3) ? NAN : (float) a;
		d->num[1][i] = (float) (100 + 10 * dlf_rng_normal(&r));
		d->cat[2][i] = c;
		d->label[i] = s > 0 ? 1 : 0;
	}
	*out = d;
	return m;
}

static int	interrupt_calls;
static int	interrupt_after;

static int
interrupt_cb(void *arg)
{
	return ++interrupt_calls > interrupt_after;
}

static int	epochs_seen;

static void
epoch_cb(void *arg, const DlfEpochReport *r)
{
	epochs_seen++;
	if (r->epoch == 1)
		ok(r->metric_name != NULL && strcmp(r->metric_name, (const char *) arg) == 0 &&
		   isfinite(r->valid_metric) && r->seconds >= 0,
		   "epoch report carries %s", (const char *) arg);
}

static double
get_metric(const DlfModel *m, const char *name)
{
	for (int i = 0; i < m->nmetrics; i++)
		if (strcmp(m->metric_names[i], name) == 0)
			return m->metric_values[i];
	return NAN;
}

/* Identical weights, biases and statistics, bit for bit. */
static int
same_model(const DlfModel *a, const DlfModel *b)
{
	if (a->nlayers != b->nlayers || a->epochs_run != b->epochs_run)
		return 0;
	for (int l = 0; l < a->nlayers; l++)
	{
		size_t		nw = (size_t) a->units[l] * a->units[l + 1];

		if (memcmp(a->weights[l], b->weights[l], nw * sizeof(float)) ||
			memcmp(a->biases[l], b->biases[l], a->units[l + 1] * sizeof(float)))
			return 0;
	}
	for (int f = 0; f < a->nfeatures; f++)
		if (memcmp(&a->features[f].mean, &b->features[f].mean, sizeof(double)) ||
			memcmp(&a->features[f].scale, &b->features[f].scale, sizeof(double)) ||
			memcmp(&a->features[f].missing_share, &b->features[f].missing_share, sizeof(double)))
			return 0;
	if (memcmp(a->train_loss, b->train_loss, a->nhistory * sizeof(float)))
		return 0;
	return 1;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_xor(void)
{
	DlfDataset *d;
	DlfModel   *m = xor_data(3000, 1, &d);
	DlfTrainOptions o = test_options();
	DlfTrainHooks h = {NULL, epoch_cb, (void *) "auc"};
	DlfError	err;
	DlfStatus	st;

	o.learning_rate = 0.01;
	o.epochs = 60;
	o.validation_fraction = 0.2;
	epochs_seen = 0;
	st = dlf_train(m, d, &o, &h, &err);
	ok(st == DLF_OK, "xor trains (%s)", st ? err.message : "ok");
	ok(get_metric(m, "auc") > 0.95, "xor validation auc %.4f > 0.95", get_metric(m, "auc"));
	ok(isfinite(get_metric(m, "ks")) && isfinite(get_metric(m, "logloss")) &&
	   isfinite(get_metric(m, "accuracy")), "binary metrics stored");
	ok(m->rows_valid == 600 && m->rows_train == 2400, "split 2400/600");
	ok(epochs_seen == m->epochs_run && m->nhistory == m->epochs_run,
	   "epoch callback and history once per epoch (%d)", m->epochs_run);
	ok(m->best_epoch >= 1 && m->best_epoch <= m->epochs_run,
	   "best epoch %d within %d", m->best_epoch, m->epochs_run);
	/* logloss of the restored model is the best validation loss */
	is_near(get_metric(m, "logloss"), m->best_valid_loss, 1e-4,
			"restored weights give the best validation loss");
	ok(m->units[0] == 3 && m->units[1] == 32 && m->units[2] == 16 &&
	   m->units[3] == 1 && m->nlayers == 3, "architecture 3-32-16-1");
	ok(m->options_json && strstr(m->options_json, "\"hidden\": [32, 16]"),
	   "options json: %s", m->options_json ? m->options_json : "(null)");
	dlf_model_free(m);
	free_data(d);
}

static void
test_optimizers(void)
{
	static const char *const names[] = {"", "sgd", "momentum", "adam"};

	for (int opt = DLF_OPTIM_SGD; opt <= DLF_OPTIM_ADAM; opt++)
	{
		DlfDataset *d;
		DlfModel   *m = mixed_data(1000, 2, &d);
		DlfTrainOptions o = test_options();
		DlfError	err;
		DlfStatus	st;

		o.optimizer = opt;
		o.learning_rate = opt == DLF_OPTIM_ADAM ? 0.003 : 0.05;
		o.epochs = 8;
		o.validation_fraction = 0;
		o.dropout = opt == DLF_OPTIM_MOMENTUM ? 0.2 : 0.0;
		o.l2 = opt == DLF_OPTIM_SGD ? 1e-3 : 0.0;
		st = dlf_train(m, d, &o, NULL, &err);
		ok(st == DLF_OK && m->train_loss[m->nhistory - 1] < 0.8 * m->train_loss[0],
		   "%s reduces the loss %.4f -> %.4f", names[opt], m->train_loss[0],
		   m->train_loss[m->nhistory - 1]);
		ok(m->best_epoch == 0 && isnan(m->best_valid_loss) && m->nmetrics == 0 &&
		   m->rows_valid == 0 && m->epochs_run == 8,
		   "%s: no validation, no metrics", names[opt]);
		dlf_model_free(m);
		free_data(d);
	}
}

/* No hidden layer: logistic regression on the inputs. */
static void
test_no_hidden(void)
{
	DlfDataset *d;
	DlfModel   *m = mixed_data(1000, 11, &d);
	DlfTrainOptions o = test_options();
	DlfError	err;
	DlfStatus	st;

	o.nhidden = 0;
	o.learning_rate = 0.02;
	o.epochs = 20;
	o.batch_size = 1;
	st = dlf_train(m, d, &o, NULL, &err);
	ok(st == DLF_OK && m->nlayers == 1 && get_metric(m, "auc") > 0.8,
	   "logistic regression (no hidden layer, batch 1): auc %.3f",
	   get_metric(m, "auc"));
	dlf_model_free(m);
	free_data(d);
}

static void
test_multiclass(void)
{
	DlfModel   *m = make_model(DLF_TASK_MULTICLASS, 3, 2, 1, 3);
	int64_t		n = 3000;
	DlfDataset *d = make_data(m, n);
	DlfTrainOptions o = test_options();
	DlfTrainHooks h = {NULL, epoch_cb, (void *) "accuracy"};
	DlfError	err;
	DlfRng		r;
	DlfStatus	st;

	dlf_rng_seed(&r, 3);
	for (int64_t i = 0; i < n; i++)
	{
		double		a = unif(&r, -1, 1),
					b = unif(&r, -1, 1);
		int			c = (int) dlf_rng_below(&r, 3);
		int			y = (a * a + b * b < 0.4) ? 0 : (a > 0 ? 1 : 2);

		if (c == 2 && y == 1)
			y = 2;
		d->num[0][i] = (float) a;
		d->num[1][i] = (float) b;
		d->cat[2][i] = c;
		d->label[i] = y;
	}
	o.learning_rate = 0.01;
	o.epochs = 40;
	o.validation_fraction = 0.2;
	epochs_seen = 0;
	st = dlf_train(m, d, &o, &h, &err);
	ok(st == DLF_OK, "multiclass trains");
	ok(get_metric(m, "accuracy") > 0.9 && get_metric(m, "macro_f1") > 0.85,
	   "multiclass accuracy %.3f, macro f1 %.3f", get_metric(m, "accuracy"),
	   get_metric(m, "macro_f1"));
	ok(m->units[m->nlayers] == 3, "multiclass has 3 outputs");
	{
		DlfScorer  *s = dlf_scorer_new(m, &err);
		double		p[3];

		dlf_scorer_reset(s);
		dlf_scorer_set_numeric(s, 0, 0.0, 0);
		dlf_scorer_set_numeric(s, 1, 0.0, 0);
		dlf_scorer_set_category(s, 2, "cat0", 4, 0);
		dlf_scorer_run(s, p);
		ok(fabs(p[0] + p[1] + p[2] - 1) < 1e-9 && p[0] > 0.8,
		   "scorer softmax sums to 1, centre is class 0 (%.3f)", p[0]);
		dlf_scorer_free(s);
	}
	dlf_model_free(m);
	free_data(d);
}

static void
test_regression(void)
{
	DlfModel   *m = make_model(DLF_TASK_REGRESSION, 0, 2, 0, 0);
	int64_t		n = 3000;
	DlfDataset *d = make_data(m, n);
	DlfTrainOptions o = test_options();
	DlfError	err;
	DlfRng		r;
	DlfStatus	st;

	dlf_rng_seed(&r, 4);
	for (int64_t i = 0; i < n; i++)
	{
		double		a = unif(&r, -2, 2),
					b = unif(&r, -2, 2);

		d->num[0][i] = (float) a;
		d->num[1][i] = (float) (b * 1000);
		d->label[i] = 500 + 100 * (sin(2 * a) + b * b) + dlf_rng_normal(&r) * 5;
	}
	o.learning_rate = 0.01;
	o.epochs = 60;
	o.validation_fraction = 0.2;
	st = dlf_train(m, d, &o, NULL, &err);
	ok(st == DLF_OK, "regression trains");
	ok(get_metric(m, "r2") > 0.95, "regression r2 %.4f > 0.95 (rmse %.2f)",
	   get_metric(m, "r2"), get_metric(m, "rmse"));
	ok(fabs(m->target_mean - 500 - 100 * 4.0 / 3.0) < 20 && m->target_scale > 50,
	   "target scaling stored (mean %.1f, scale %.1f)", m->target_mean, m->target_scale);
	{
		DlfScorer  *s = dlf_scorer_new(m, &err);
		double		y;

		dlf_scorer_set_numeric(s, 0, 0.5, 0);
		dlf_scorer_set_numeric(s, 1, 1000, 0);
		dlf_scorer_run(s, &y);
		ok(fabs(y - (500 + 100 * (sin(1.0) + 1))) < 25,
		   "scorer predicts in label units (%.1f)", y);
		dlf_scorer_free(s);
	}
	dlf_model_free(m);
	free_data(d);
}

static void
test_early_stopping(void)
{
	DlfDataset *d;
	DlfModel   *m = mixed_data(300, 5, &d);
	DlfTrainOptions o = test_options();
	DlfError	err;
	DlfStatus	st;

	/* pure noise labels: validation loss soon stops improving */
	for (int64_t i = 0; i < d->nrows; i++)
		d->label[i] = (double) ((dlf_mix64(i) >> 7) & 1);
	o.hidden[0] = 64;
	o.hidden[1] = 64;
	o.learning_rate = 0.01;
	o.epochs = 500;
	o.patience = 5;
	o.validation_fraction = 0.3;
	st = dlf_train(m, d, &o, NULL, &err);
	ok(st == DLF_OK && m->epochs_run < 500, "early stopping after %d epochs",
	   m->epochs_run);
	ok(m->best_epoch == m->epochs_run - 5, "best epoch %d = epochs run - patience",
	   m->best_epoch);
	ok(m->best_valid_loss == (double) m->valid_loss[m->best_epoch - 1] ||
	   fabs(m->best_valid_loss - m->valid_loss[m->best_epoch - 1]) < 1e-6,
	   "best validation loss recorded in history");
	for (int e = 0; e < m->nhistory; e++)
		if (!(m->valid_loss[e] >= m->best_valid_loss - 1e-6))
		{
			ok(0, "best validation loss is the minimum");
			break;
		}
	is_near(get_metric(m, "logloss"), m->best_valid_loss, 1e-4,
			"restored model reproduces the best validation loss");
	dlf_model_free(m);
	free_data(d);
}

static void
test_determinism(void)
{
	DlfDataset *d1,
			   *d2,
			   *d3;
	DlfModel   *m1 = mixed_data(2000, 6, &d1);
	DlfModel   *m2 = clone_schema(m1);
	DlfModel   *m3 = clone_schema(m1);
	int64_t    *perm = malloc(sizeof(int64_t) * 2000);
	DlfTrainOptions o = test_options();
	DlfError	err;
	DlfRng		r;
	DlfStatus	s1,
				s2,
				s3;

	/* duplicate rows too: ties in the canonical order */
	for (int i = 0; i < 50; i++)
	{
		d1->label[1000 + i] = d1->label[i];
		d1->num[0][1000 + i] = d1->num[0][i];
		d1->num[1][1000 + i] = d1->num[1][i];
		d1->cat[2][1000 + i] = d1->cat[2][i];
	}
	d1->num[1][7] = -0.0f;
	for (int64_t i = 0; i < 2000; i++)
		perm[i] = i;
	dlf_rng_seed(&r, 99);
	for (int64_t i = 1999; i > 0; i--)
	{
		int64_t		j = (int64_t) dlf_rng_below(&r, i + 1),
					t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	d2 = permuted(m1, d1, perm);
	for (int64_t i = 0; i < 2000; i++)
		if (perm[i] == 7)
			d2->num[1][i] = 0.0f;	/* -0.0 and 0.0 are the same value */
	d3 = permuted(m1, d1, perm);
	o.epochs = 5;
	o.dropout = 0.1;
	o.validation_fraction = 0.25;
	s1 = dlf_train(m1, d1, &o, NULL, &err);
	s2 = dlf_train(m2, d2, &o, NULL, &err);
	o.seed = 43;
	s3 = dlf_train(m3, d3, &o, NULL, &err);
	ok(s1 == DLF_OK && s2 == DLF_OK && s3 == DLF_OK, "three trainings succeed");
	ok(same_model(m1, m2), "row order does not change a single bit");
	ok(get_metric(m1, "auc") == get_metric(m2, "auc"), "same validation auc");
	ok(!same_model(m1, m3), "another seed gives other weights");
	/* statistics: NULL imputation and shares */
	{
		double		s = 0,
					ss = 0;
		int64_t		k = 0,
					miss = 0;

		for (int64_t i = 0; i < 2000; i++)
			if (!isnan(d1->num[0][i]))
			{
				s += d1->num[0][i];
				k++;
			}
		for (int64_t i = 0; i < 2000; i++)
			if (!isnan(d1->num[0][i]))
				ss += (d1->num[0][i] - s / k) * (d1->num[0][i] - s / k);
		for (int64_t i = 0; i < 2000; i++)
			miss += d1->cat[2][i] == 5;
		is_near(m1->features[0].mean, s / k, 1e-9, "mean over non-NULL values");
		is_near(m1->features[0].scale, sqrt(ss / k), 1e-9, "population std dev");
		is_near(m1->features[0].missing_share, (2000.0 - k) / 2000, 1e-12,
				"numeric missing share");
		is_near(m1->features[2].missing_share, miss / 2000.0, 1e-12,
				"categorical missing share");
	}
	dlf_model_free(m1);
	dlf_model_free(m2);
	dlf_model_free(m3);
	free_data(d1);
	free_data(d2);
	free_data(d3);
	free(perm);
}

/*
 * Threads: the same model, bit for bit, for a given thread count on every
 * run and across thread counts (chunked gradients added in chunk order);
 * also with dropout, l2, a wide network (wide register tiles, fewer
 * chunks) and a last batch shorter than the chunk count.  The interrupt
 * callback still stops a threaded run, which then leaves no thread behind.
 */
static void
test_threads(void)
{
	static const int counts[] = {1, 2, 3, 8};
	DlfDataset *d;
	DlfModel   *ref = mixed_data(2003, 11, &d);
	DlfDataset *copy;
	int64_t    *id = malloc(sizeof(int64_t) * 2003);
	DlfTrainOptions o = test_options();
	DlfError	err;

	for (int64_t i = 0; i < 2003; i++)
		id[i] = i;
	/*
	 * Shapes that take each update path: sliced updates (dropout; a net
	 * over 16384 parameters) and replicated ones (2 chunks; 8 chunks,
	 * which 3 threads split unevenly across the reduction tree).
	 */
	static const char *const shapes[] = {"small", "wide", "small replicated", "large"};

	for (int shape = 0; shape < 4; shape++)
	{
		DlfModel   *first = NULL;

		o = test_options();
		o.epochs = 3;
		o.batch_size = shape == 1 ? 300 : (shape == 3 ? 512 : 64);
		o.dropout = shape == 0 ? 0.2 : 0.0;
		o.l2 = 1e-3;
		o.validation_fraction = 0.2;
		if (shape == 1)
		{
			o.hidden[0] = 96;
			o.hidden[1] = 80;
		}
		if (shape == 3)
		{
			o.hidden[0] = 160;
			o.hidden[1] = 120;
		}
		for (int t = 0; t < 4; t++)
			for (int rep = 0; rep < 2; rep++)
			{
				DlfModel   *m = clone_schema(ref);
				DlfStatus	st;

				copy = permuted(ref, d, id);
				o.nthreads = counts[t];
				st = dlf_train(m, copy, &o, NULL, &err);
				ok(st == DLF_OK, "%s net, %d threads, run %d trains",
				   shapes[shape], counts[t], rep + 1);
				if (first == NULL)
					first = m;
				else
				{
					ok(same_model(first, m),
					   "%s net, %d threads, run %d: same bits as 1 thread",
					   shapes[shape], counts[t], rep + 1);
					dlf_model_free(m);
				}
				free_data(copy);
			}
		dlf_model_free(first);
	}
	/* interrupted while threads run */
	{
		DlfModel   *m = clone_schema(ref);
		DlfTrainHooks h = {interrupt_cb, NULL, NULL};

		copy = permuted(ref, d, id);
		o = test_options();
		o.nthreads = 2;
		o.epochs = 50;
		interrupt_calls = 0;
		interrupt_after = 40;
		ok(dlf_train(m, copy, &o, &h, &err) == DLF_ERR_INTERRUPTED,
		   "threaded training stops on interrupt");
		dlf_model_free(m);
		free_data(copy);
	}
	dlf_model_free(ref);
	free_data(d);
	free(id);
}

/* ---- the one-row kernel ---------------------------------------------- */

/*
 * One multiply-add of the one-row kernel: fused (fmaf, rounded once) or a
 * rounded product then a sum, the two arithmetics a kernel variant can
 * have (nn.c).  The volatile keeps the compiler from fusing the second.
 */
static float
ref_mac(float x, float w, float s, int fused)
{
	volatile float p;

	if (fused)
		return fmaf(x, w, s);
	p = x * w;
	return p + s;
}

/*
 * nn_forward_row's documented order of operations, written out plainly:
 * each output from four partial sums over every fourth input (for the
 * first layer, every fourth entry), s_0 starting at the bias, folded as
 * (s_0 + s_2) + (s_1 + s_3), then the hidden activation as activate()
 * computes it.
 */
static void
ref_forward_row(const NnNet *net, const int32_t *idx, const float *val,
				int32_t nnz, int fused, float *const *act)
{
	for (int32_t l = 0; l < net->nlayers; l++)
	{
		int32_t		nout = net->units[l + 1];
		int32_t		n = l == 0 ? nnz : net->units[l];
		const float *x = l == 0 ? val : act[l - 1];

		for (int32_t j = 0; j < nout; j++)
		{
			float		s[4] = {net->b[l][j], 0.0f, 0.0f, 0.0f};
			float		v;

			for (int32_t k = 0; k < n; k++)
			{
				int32_t		row = l == 0 && idx ? idx[k] : k;

				s[k % 4] = ref_mac(x[k], net->W[l][(size_t) row * nout + j],
								   s[k % 4], fused);
			}
			v = (s[0] + s[2]) + (s[1] + s[3]);
			if (l + 1 < net->nlayers)
			{
				switch (net->activation)
				{
					case DLF_ACT_RELU:
						v = v > 0.0f ? v : 0.0f;
						break;
					case DLF_ACT_LEAKY_RELU:
						v = v > 0.0f ? v : DLF_LEAKY_SLOPE * v;
						break;
					case DLF_ACT_TANH:
						v = dlf_tanhf(v);
						break;
					case DLF_ACT_SIGMOID:
						v = 1.0f / (1.0f + expf(-v));
						break;
				}
			}
			act[l][j] = v;
		}
	}
}

/* A network of the given layer sizes with its own parameter buffer. */
static NnNet
make_net(int nlayers, const int32_t *units, int act, DlfRng *rng)
{
	NnNet		net;

	memset(&net, 0, sizeof(net));
	net.nlayers = nlayers;
	net.activation = act;
	for (int l = 0; l <= nlayers; l++)
		net.units[l] = units[l];
	for (int l = 0; l < nlayers; l++)
	{
		net.W[l] = malloc(sizeof(float) * units[l] * units[l + 1]);
		net.b[l] = malloc(sizeof(float) * units[l + 1]);
		for (int i = 0; i < units[l] * units[l + 1]; i++)
			net.W[l][i] = (float) unif(rng, -1, 1);
		for (int i = 0; i < units[l + 1]; i++)
			net.b[l][i] = (float) unif(rng, -0.5, 0.5);
	}
	return net;
}

/* Frees make_net's buffers. */
static void
free_net(NnNet *net)
{
	for (int l = 0; l < net->nlayers; l++)
	{
		free(net->W[l]);
		free(net->b[l]);
	}
}

/* Layer outputs of one row: act[l] of units[l+1] floats. */
static void
alloc_acts(const NnNet *net, float **act)
{
	for (int l = 0; l < net->nlayers; l++)
		act[l] = calloc(net->units[l + 1], sizeof(float));
}

/* Whether every layer output of a and b has the same bits. */
static int
same_acts(const NnNet *net, float *const *a, float *const *b)
{
	for (int l = 0; l < net->nlayers; l++)
		if (memcmp(a[l], b[l], sizeof(float) * net->units[l + 1]) != 0)
			return 0;
	return 1;
}

/*
 * The row kernel against the plain reference, bit for bit, over shapes
 * that take every path: the small-network path and the general one (the
 * same net with and without nn_row_plan), the 8- and 4-float widths of
 * CPUs without AVX-512 (nn_row_lanes.h), full and partial tiles, single
 * output units, entry counts that are and are not multiples of four,
 * sparse entries and dense ones (idx NULL), every activation.
 */
static void
test_row_kernel(void)
{
	static const int32_t shapes[][5] = {
		/* nlayers, then units[0..nlayers] */
		{1, 8, 1}, {1, 9, 3}, {1, 40, 16}, {2, 8, 32, 1},
		{3, 8, 32, 16, 1}, {3, 13, 16, 32, 5}, {3, 8, 32, 32, 17},
		{2, 7, 20, 3}, {3, 30, 64, 33, 1}, {2, 5, 16, 16},
		{3, 6, 5, 7, 2}, {2, 11, 48, 1}
	};
	DlfRng		rng;
	int			as_fused = 1,	/* every row matched the fused reference */
				as_unfused = 1, /* every row matched the unfused one */
				exact = 1,
				cases = 0,
				small_cases = 0;
	double		maxdiff = 0.0;

	dlf_rng_seed(&rng, 77);
	for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
		for (int act = DLF_ACT_RELU; act <= DLF_ACT_LEAKY_RELU; act++)
		{
			int			L = shapes[sh][0];
			NnNet		net = make_net(L, &shapes[sh][1], act, &rng);
			int32_t		nin = net.units[0];
			float	   *got[DLF_MAX_HIDDEN + 1],
					   *ref[DLF_MAX_HIDDEN + 1],
					   *view[DLF_MAX_HIDDEN + 1];
			int32_t    *idx = malloc(sizeof(int32_t) * nin);
			float	   *val = malloc(sizeof(float) * nin);
			NnBatch		bt;
			NnWork		w;
			DlfError	err;

			alloc_acts(&net, got);
			alloc_acts(&net, ref);
			nn_batch_alloc(&bt, 7, nin, &err);
			nn_work_alloc(&w, &net, 7, 0, &err);
			for (int row = 0; row < 8; row++)
			{
				/* sparse: ascending inputs with gaps, some values 0 */
				int32_t		nnz = 0;

				for (int32_t k = 0; k < nin; k++)
					if (row % 2 == 0 || k % 3 != 1)
					{
						idx[nnz] = k;
						val[nnz++] = k % 5 == row % 5 ? 0.0f :
							(float) unif(&rng, -3, 3);
					}
				for (int dense = 0; dense <= (nnz == nin); dense++)
					for (int plan = 0; plan <= 3; plan++)
					{
						const int32_t *ix = dense ? NULL : idx;
						float		z;

						/* unplanned, planned, and the 8- and 4-float widths */
						net.row_small = 0;
						net.row_lanes = 0;
						if (plan)
							nn_row_plan(&net);
						if (plan >= 2)
							net.row_lanes = plan == 2 ? 8 : 4;
						small_cases += net.row_small;
						z = nn_forward_row(&net, ix, val, nnz, got);
						ref_forward_row(&net, ix, val, nnz, 0, ref);
						as_unfused &= same_acts(&net, got, ref);
						ref_forward_row(&net, ix, val, nnz, 1, ref);
						as_fused &= same_acts(&net, got, ref);
						cases++;
						if (memcmp(&z, &got[L - 1][0], sizeof(z)) != 0)
							exact = 0;
					}
				/* the batch kernel agrees to rounding, no more */
				net.row_small = 0;
				net.row_lanes = 0;
				bt.rows = 1;
				bt.nnz[0] = nnz;
				memcpy(bt.idx, idx, sizeof(int32_t) * nnz);
				memcpy(bt.val, val, sizeof(float) * nnz);
				nn_forward(&net, &bt, &w, 0);
				for (int32_t j = 0; j < net.units[L]; j++)
				{
					double		d = fabs(w.act[L - 1][j] - ref[L - 1][j]) /
						(1.0 + fabs(ref[L - 1][j]));

					if (d > maxdiff)
						maxdiff = d;
				}
				/* nn_forward_rows is the row kernel, row by row */
				nn_forward_rows(&net, &bt, &w);
				for (int l = 0; l < L; l++)
					view[l] = w.act[l];
				if (!same_acts(&net, view, got))
					exact = 0;
			}
			/* a batch of 7 rows (four or three at a time, then the rest) */
			bt.rows = 7;
			for (int r = 0; r < 7; r++)
			{
				bt.nnz[r] = nin - r % 3;
				for (int32_t k = 0; k < bt.nnz[r]; k++)
				{
					bt.idx[r * nin + k] = k;
					bt.val[r * nin + k] = (k + r) % 4 == 0 ? 0.0f : (float) unif(&rng, -2, 2);
				}
			}
			/* ... at the CPU's width, then at 8 and 4 floats (3-row tiles) */
			for (int width = 0; width <= 2; width++)
			{
				net.row_small = 0;
				net.row_lanes = width == 0 ? 0 : width == 1 ? 8 : 4;
				nn_forward_rows(&net, &bt, &w);
				nn_row_plan(&net);
				for (int r = 0; r < 7; r++)
				{
					for (int l = 0; l < L; l++)
						view[l] = w.act[l] + (size_t) r * net.units[l + 1];
					nn_forward_row(&net, bt.idx + r * nin, bt.val + r * nin,
								   bt.nnz[r], got);
					if (!same_acts(&net, view, got))
						exact = 0;
				}
			}
			for (int l = 0; l < L; l++)
			{
				free(got[l]);
				free(ref[l]);
			}
			free(idx);
			free(val);
			nn_batch_free(&bt);
			nn_work_free(&w);
			free_net(&net);
		}
	/* one arithmetic for every row: multiply, round, add; never fused */
	ok(exact && as_unfused && !as_fused,
	   "row kernel: the documented order bit for bit (%s multiply-adds), "
	   "%d rows, %d on the small-network path",
	   as_fused ? "fused" : as_unfused ? "unfused" : "NEITHER", cases,
	   small_cases);
	ok(small_cases > 0 && small_cases < cases,
	   "both paths of the row kernel were exercised");
#ifdef DLF_KERNEL_CLONES
	/* not even the variants with FMA fuse: same bits on every CPU */
	ok(!as_fused, "row kernel does not fuse its multiply-adds (CPU %s FMA)",
	   __builtin_cpu_supports("x86-64-v3") ? "with" : "without");
#endif
	ok(maxdiff < 1e-5, "batch kernel within rounding of the row kernel (max rel diff %.2e)",
	   maxdiff);
}

/*
 * dlf_tanhf, the tanh of every tanh layer: within an ulp of libm's double
 * tanh rounded to float, nearly always equal, odd, and exact at the ends.
 */
static void
test_tanhf(void)
{
	int			far = 0,
				off = 0,
				odd = 1,
				n = 0;
	union
	{
		float		f;
		uint32_t	u;
	}			v;

	/* every 499th float from 2^-14 to 12 */
	for (uint32_t u = 0x38800000u; u <= 0x41400000u; u += 499)
	{
		float		got,
					want;
		union
		{
			float		f;
			int32_t		i;
		}			a,
					b;

		v.u = u;
		got = dlf_tanhf(v.f);
		want = (float) tanh((double) v.f);
		a.f = got;
		b.f = want;
		if (a.i != b.i)
			off++;
		if (abs(a.i - b.i) > 1)
			far++;
		if (dlf_tanhf(-v.f) != -got)
			odd = 0;
		n++;
	}
	ok(far == 0 && off * 1000 < n,
	   "dlf_tanhf within an ulp of tanh (%d of %d floats differ by one)", off, n);
	ok(odd, "dlf_tanhf is odd");
	ok(signbit(dlf_tanhf(-0.0f)) && dlf_tanhf(0.0f) == 0.0f &&
	   dlf_tanhf(1e-30f) == 1e-30f && dlf_tanhf(20.0f) == 1.0f &&
	   dlf_tanhf(-INFINITY) == -1.0f && isnan(dlf_tanhf(NAN)),
	   "dlf_tanhf at 0, -0, tiny, large, -inf and NaN");
}

/*
 * Pins the order itself with values whose sums come out differently in any
 * other order: 2^24 + 1 rounds back to 2^24 in float, so which terms meet
 * first decides the result.  Every weight is 1, so fused or not makes no
 * difference here.  Through the first layer (entries), a hidden layer's
 * output (the small-network path) and the general path.
 */
static void
test_row_order(void)
{
	const float big = 16777216.0f;	/* 2^24 */
	/* entries k = 0..7 land in s_{k mod 4}: s_0 = big - big, s_1..3 = 2 */
	static const float a[8] = {16777216.0f, 1, 1, 1, -16777216.0f, 1, 1, 1};
	/* s_0 = big, s_1 = -big, s_2 = 1, s_3 = 1: the fold decides */
	static const float b[4] = {16777216.0f, -16777216.0f, 1, 1};
	int32_t		units1[2] = {8, 1},
				units2[3] = {1, 16, 1};
	int32_t		idx[8] = {0, 2, 3, 5, 8, 9, 10, 13};
	float		out[1],
				h[16];
	float	   *act1[1] = {out},
			   *act2[2] = {h, out};
	NnNet		net;
	DlfRng		rng;

	dlf_rng_seed(&rng, 1);
	net = make_net(1, units1, DLF_ACT_RELU, &rng);
	for (int k = 0; k < 8; k++)
		net.W[0][k] = 1.0f;
	net.b[0][0] = 0.0f;
	ok(nn_forward_row(&net, NULL, a, 8, act1) == 6.0f,
	   "partial sums over every fourth input: 6 (in input order: 3)");
	ok(nn_forward_row(&net, NULL, b, 4, act1) == 1.0f,
	   "folded (s0 + s2) + (s1 + s3): 1 (left to right: 2)");
	/* the bias starts s_0: big + 1 loses the 1 before -big arrives */
	net.b[0][0] = big;
	{
		static const float c[2] = {1, -16777216.0f};

		ok(nn_forward_row(&net, NULL, c, 2, act1) == 0.0f,
		   "the bias starts s_0: 0 (with the bias added last: 1)");
	}
	free_net(&net);

	/* sparse entries: k counts entries, not input numbers */
	{
		int32_t		units[2] = {14, 1};

		net = make_net(1, units, DLF_ACT_RELU, &rng);
		for (int k = 0; k < 14; k++)
			net.W[0][k] = 1.0f;
		net.b[0][0] = 0.0f;
		ok(nn_forward_row(&net, idx, a, 8, act1) == 6.0f,
		   "the first layer groups its entries, not its input numbers");
		free_net(&net);
	}

	/* a hidden layer's outputs as the next layer's inputs, both paths */
	net = make_net(2, units2, DLF_ACT_RELU, &rng);
	for (int j = 0; j < 16; j++)
	{
		/* h = [big 1 1 1 big 1 1 1 0 ...] from one input of value 1 */
		net.W[0][j] = j < 8 ? (j % 4 == 0 ? big : 1.0f) : 0.0f;
		net.b[0][j] = 0.0f;
		/* the output weights make that big - big again */
		net.W[1][j] = j == 4 ? -1.0f : 1.0f;
	}
	net.b[1][0] = 0.0f;
	{
		float		one = 1.0f;
		float		z[2];

		nn_row_plan(&net);
		z[0] = nn_forward_row(&net, NULL, &one, 1, act2);
		net.row_small = 0;
		z[1] = nn_forward_row(&net, NULL, &one, 1, act2);
		ok(net.units[1] == 16 && z[0] == 6.0f && z[1] == 6.0f,
		   "the same order in a dense layer, small-network and general path");
	}
	free_net(&net);
}

/*
 * An all-numeric model with the default hidden layers: the scorer's
 * numeric paths (raw values; standardised ones) against set_numeric and
 * run, and the score distribution training stored against the scorer
 * (each decile edge is the score of a row, so the scorer must give it).
 */
static void
test_scorer_numeric(void)
{
	DlfDataset *d;
	DlfModel   *m = xor_data(2000, 5, &d);
	DlfTrainOptions o = test_options();
	DlfError	err;
	DlfScorer  *s;
	const double *mean,
			   *inv_scale;
	double	   *scores = malloc(sizeof(double) * d->nrows);
	int			same = 1,
				found = 0;

	o.epochs = 3;
	o.validation_fraction = 0.2;
	dlf_train(m, d, &o, NULL, &err);
	s = dlf_scorer_new(m, &err);
	dlf_scorer_scaling(s, &mean, &inv_scale);
	for (int64_t i = 0; i < d->nrows; i++)
	{
		double		v[3],
					p1,
					p2,
					p3;
		float		x[3];

		for (int f = 0; f < 3; f++)
		{
			/* a NULL now and then: NaN, imputed with the mean */
			v[f] = (i + f) % 11 == 0 ? NAN : d->num[f][i];
			x[f] = dlf_std_value((float) v[f], mean[f], inv_scale[f]);
		}
		dlf_scorer_run_numeric(s, v, &p1);
		dlf_scorer_run_std(s, x, &p2);
		dlf_scorer_reset(s);
		for (int f = 0; f < 3; f++)
			dlf_scorer_set_numeric(s, f, v[f], isnan(v[f]));
		dlf_scorer_run(s, &p3);
		if (!(p1 == p2 && p2 == p3))
			same = 0;
		/* the training rows themselves, for the distribution */
		for (int f = 0; f < 3; f++)
			v[f] = d->num[f][i];
		dlf_scorer_run_numeric(s, v, &scores[i]);
	}
	ok(same, "all-numeric scorer: raw, standardised and set_numeric paths agree bit for bit");
	for (int32_t b = 0; b + 1 < m->score_dist.nbins; b++)
		for (int64_t i = 0; i < d->nrows; i++)
			if (scores[i] == m->score_dist.edges[b])
			{
				found++;
				break;
			}
	ok(m->score_dist.nbins > 1 && found == m->score_dist.nbins - 1,
	   "every stored score decile edge is the scorer's score of a training row (%d of %d)",
	   found, m->score_dist.nbins - 1);
	free(scores);
	dlf_scorer_free(s);
	dlf_model_free(m);
	free_data(d);
}

/* Scorer vs. training's evaluation and a double reference. */
static void
test_scorer(void)
{
	DlfDataset *d;
	DlfModel   *m = mixed_data(1500, 7, &d);
	DlfTrainOptions o = test_options();
	DlfError	err;
	DlfScorer  *s;
	NnNet		net;
	NnBatch		bt;
	NnWork		w;
	int			exact = 1;
	double		maxdiff = 0;
	static const char *const cats[] = {"cat0", "cat1", "cat2", "cat3", "zzz"};

	o.epochs = 5;
	o.activation = DLF_ACT_TANH;
	dlf_train(m, d, &o, NULL, &err);
	s = dlf_scorer_new(m, &err);
	memset(&net, 0, sizeof(net));
	net.nlayers = m->nlayers;
	net.activation = m->activation;
	for (int l = 0; l <= m->nlayers; l++)
		net.units[l] = m->units[l];
	for (int l = 0; l < m->nlayers; l++)
	{
		net.W[l] = m->weights[l];
		net.b[l] = m->biases[l];
	}
	nn_batch_alloc(&bt, 1, 3, &err);
	nn_work_alloc(&w, &net, 1, 0, &err);
	for (int64_t i = 0; i < 200; i++)
	{
		double		p,
					z,
					ref;
		int			code = d->cat[2][i];
		int			e = 0;
		double		h1[32],
					h2[16],
					x[9] = {0};

		dlf_scorer_reset(s);
		dlf_scorer_set_numeric(s, 0, d->num[0][i], isnan(d->num[0][i]));
		dlf_scorer_set_numeric(s, 1, d->num[1][i], 0);
		if (code == 5)
			dlf_scorer_set_category(s, 2, NULL, 0, 1);
		else
			dlf_scorer_set_category(s, 2, cats[code], strlen(cats[code]), 0);
		dlf_scorer_run(s, &p);

		/* the training-side encoding of the same row: one entry a feature */
		for (int f = 0; f < 2; f++)
		{
			float		v = dlf_std_value(d->num[f][i], m->features[f].mean,
										  1.0 / m->features[f].scale);

			x[f] = v;
			bt.idx[e] = f;
			bt.val[e++] = v;
		}
		bt.idx[e] = 2 + code;
		bt.val[e++] = 1.0f;
		x[2 + code] = 1;
		bt.nnz[0] = e;
		bt.rows = 1;
		/* what training's evaluation runs (validation, calibration) */
		nn_forward_rows(&net, &bt, &w);
		z = w.act[net.nlayers - 1][0];
		if (p != 1.0 / (1.0 + exp(-z)))
			exact = 0;
		/* double reference */
		for (int j = 0; j < 32; j++)
		{
			double		a = m->biases[0][j];

			for (int k = 0; k < 8; k++)
				a += x[k] * m->weights[0][k * 32 + j];
			h1[j] = tanh(a);
		}
		for (int j = 0; j < 16; j++)
		{
			double		a = m->biases[1][j];

			for (int k = 0; k < 32; k++)
				a += h1[k] * m->weights[1][k * 16 + j];
			h2[j] = tanh(a);
		}
		ref = m->biases[2][0];
		for (int k = 0; k < 16; k++)
			ref += h2[k] * m->weights[2][k];
		ref = 1.0 / (1.0 + exp(-ref));
		if (fabs(ref - p) > maxdiff)
			maxdiff = fabs(ref - p);
	}
	ok(exact, "scorer output is bit-identical to training's evaluation of the row");
	ok(maxdiff < 1e-5, "scorer matches a double reference (max diff %.2e)", maxdiff);
	ok(dlf_category_code(m, 2, "cat3", 4) == 3 &&
	   dlf_category_code(m, 2, "cat", 3) == 4 &&
	   dlf_category_code(m, 2, "nope", 4) == 4, "category codes");
	{
		double		p1,
					p2;

		/* unknown category scores as "other"; NULL numeric as the mean */
		dlf_scorer_reset(s);
		dlf_scorer_set_numeric(s, 0, 0, 1);
		dlf_scorer_set_numeric(s, 1, m->features[1].mean, 0);
		dlf_scorer_set_category(s, 2, "unseen value", 12, 0);
		dlf_scorer_run(s, &p1);
		dlf_scorer_reset(s);
		dlf_scorer_set_numeric(s, 0, m->features[0].mean, 0);
		dlf_scorer_set_numeric(s, 1, m->features[1].mean, 0);
		dlf_scorer_set_category(s, 2, "cat2", 4, 0);
		dlf_scorer_set_category(s, 2, "zzz", 3, 0);	/* replaces cat2 */
		dlf_scorer_run(s, &p2);
		ok(p1 == p2, "NULL imputes the mean, unknown category is other");
		m->calibration = DLF_CALIB_PLATT;
		m->platt_a = -1;
		m->platt_b = 0;
		dlf_scorer_run(s, &p1);
		ok(p1 == p2, "platt a=-1 b=0 is the identity");
		m->calibration = DLF_CALIB_ISOTONIC;
		m->niso = 2;
		m->iso_x = dlf_alloc_array(2, sizeof(double));
		m->iso_y = dlf_alloc_array(2, sizeof(double));
		m->iso_x[0] = 0;
		m->iso_x[1] = 1;
		m->iso_y[0] = 0.2;
		m->iso_y[1] = 0.4;
		dlf_scorer_run(s, &p1);
		is_near(p1, 0.2 + 0.2 * p2, 1e-12, "isotonic interpolates");
	}
	nn_batch_free(&bt);
	nn_work_free(&w);
	dlf_scorer_free(s);
	dlf_model_free(m);
	free_data(d);
}

static void
test_errors(void)
{
	DlfDataset *d;
	DlfModel   *m = mixed_data(500, 8, &d);
	DlfTrainOptions o = test_options();
	DlfTrainHooks h = {interrupt_cb, NULL, NULL};
	DlfError	err;
	DlfStatus	st;

	interrupt_calls = 0;
	interrupt_after = 20;
	st = dlf_train(m, d, &o, &h, &err);
	ok(st == DLF_ERR_INTERRUPTED && interrupt_calls == 21,
	   "interrupt stops training (%d calls)", interrupt_calls);
	interrupt_calls = 0;
	interrupt_after = 0;
	st = dlf_train(m, d, &o, &h, &err);
	ok(st == DLF_ERR_INTERRUPTED, "interrupt during preprocessing");

	o.nhidden = 3;
	o.hidden[0] = o.hidden[1] = o.hidden[2] = 4096;
	st = dlf_train(m, d, &o, NULL, &err);
	ok(st == DLF_ERR_LIMIT && strcmp(err.message, "network has too many parameters") == 0,
	   "too many parameters: %s", err.message);
	o.nhidden = 1;
	o.hidden[0] = 5000;
	st = dlf_train(m, d, &o, NULL, &err);
	ok(st == DLF_ERR_LIMIT, "too many units: %s", err.message);
	o = test_options();
	o.learning_rate = -1;
	ok(dlf_train(m, d, &o, NULL, &err) == DLF_ERR_INVALID, "negative learning rate");
	o = test_options();
	o.validation_fraction = 0.95;
	ok(dlf_train(m, d, &o, NULL, &err) == DLF_ERR_INVALID, "validation fraction range");
	o = test_options();
	o.dropout = 1.0;
	ok(dlf_train(m, d, &o, NULL, &err) == DLF_ERR_INVALID, "dropout range");

	o = test_options();
	for (int64_t i = 0; i < d->nrows; i++)
		d->label[i] = 1;
	st = dlf_train(m, d, &o, NULL, &err);
	ok(st == DLF_ERR_DATA && strcmp(err.message, "label has only one class") == 0,
	   "one class: %s", err.message);
	d->label[0] = 7;
	ok(dlf_train(m, d, &o, NULL, &err) == DLF_ERR_INVALID, "class index out of range");
	d->label[0] = 0;
	d->cat[2][3] = 9;
	ok(dlf_train(m, d, &o, NULL, &err) == DLF_ERR_INVALID, "category code out of range");
	dlf_model_free(m);
	free_data(d);

	/* divergence */
	{
		DlfModel   *r = make_model(DLF_TASK_REGRESSION, 0, 2, 0, 0);
		DlfDataset *rd = make_data(r, 400);

		for (int i = 0; i < 400; i++)
		{
			rd->num[0][i] = (float) i;
			rd->num[1][i] = (float) (i % 13);
			rd->label[i] = i * 3.0 + (i % 13);
		}
		o = test_options();
		o.optimizer = DLF_OPTIM_SGD;
		o.learning_rate = 1e6;
		st = dlf_train(r, rd, &o, NULL, &err);
		ok(st == DLF_ERR_DATA && strcmp(err.message, "training diverged") == 0 &&
		   strstr(err.detail, "learning_rate") != NULL,
		   "huge learning rate: %s / %s", err.message, err.detail);
		dlf_model_free(r);
		free_data(rd);
	}
}

static void
test_warm_start(void)
{
	DlfDataset *d,
			   *d2;
	DlfModel   *m = xor_data(1000, 9, &d);
	DlfModel   *m2 = xor_data(1000, 10, &d2);
	DlfModel   *m3 = clone_schema(m);
	DlfTrainOptions o = test_options();
	DlfError	err;
	DlfStatus	st;

	o.epochs = 30;
	o.learning_rate = 0.01;
	o.validation_fraction = 0;
	st = dlf_train(m, d, &o, NULL, &err);
	o.init = m;
	o.epochs = 3;
	st = dlf_train(m2, d2, &o, NULL, &err);
	ok(st == DLF_OK && m2->train_loss[0] < 0.5 * m->train_loss[0],
	   "warm start continues from the trained weights (%.3f vs %.3f)",
	   m2->train_loss[0], m->train_loss[0]);
	o.nhidden = 1;
	st = dlf_train(m3, d2, &o, NULL, &err);
	ok(st == DLF_ERR_INVALID &&
	   strcmp(err.message, "init model architecture does not match") == 0,
	   "warm start with another architecture: %s", err.message);
	dlf_model_free(m);
	dlf_model_free(m2);
	dlf_model_free(m3);
	free_data(d);
	free_data(d2);
}

int
main(void)
{
	for (int act = DLF_ACT_RELU; act <= DLF_ACT_LEAKY_RELU; act++)
		for (int task = DLF_TASK_BINARY; task <= DLF_TASK_REGRESSION; task++)
			gradient_check(act, task);
	test_optimizers();
	test_xor();
	test_no_hidden();
	test_multiclass();
	test_regression();
	test_early_stopping();
	test_determinism();
	test_threads();
	test_row_kernel();
	test_tanhf();
	test_row_order();
	test_scorer();
	test_scorer_numeric();
	test_errors();
	test_warm_start();
	return done_testing();
}
