/*
 * train.c
 *	  Training entry point: option and schema checks, the network's shape,
 *	  the epoch loop with early stopping, and the finished model.
 *
 * Reproducibility: rows are first sorted by a hash of their content (ties
 * broken by the content itself), so every later step -- statistics, the
 * seeded shuffles, the split, the batches -- sees the same sequence whatever
 * order the rows arrived in.  Nothing depends on time or addresses.
 */
#include "train_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * Fills opt with the documented defaults.  batch_size 64: on the credit
 * data (test/data, 8 seeds) batches of 32/64/128/256 reach the same
 * validation AUC (0.839-0.840), and 64 finishes soonest with early
 * stopping (27 epochs against 41 for 256).
 */
void
dlf_train_options_default(DlfTrainOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->nhidden = 2;
	opt->hidden[0] = 32;
	opt->hidden[1] = 16;
	opt->activation = DLF_ACT_RELU;
	opt->optimizer = DLF_OPTIM_ADAM;
	opt->learning_rate = 0.001;
	opt->batch_size = 64;
	opt->epochs = 100;
	opt->l2 = 0.0;
	opt->l2_auto = 0;
	opt->cv_folds = 5;
	opt->dropout = 0.0;
	opt->validation_fraction = 0.1;
	opt->patience = 10;
	opt->class_weights = NULL;
	opt->balanced = 0;
	opt->seed = 42;
	opt->nthreads = 0;
	opt->init = NULL;
	opt->encoding = NULL;
	opt->ensemble = 1;
	opt->ens_sample = DLF_ENS_SEEDS;
}

/* Seconds since training started. */
double
train_elapsed(const TrainCtx *c)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) (t.tv_sec - c->t0.tv_sec) +
		(double) (t.tv_nsec - c->t0.tv_nsec) * 1e-9;
}

/* Asks the caller whether to stop. */
int
train_interrupted(const TrainCtx *c)
{
	return c->hooks && c->hooks->interrupted &&
		c->hooks->interrupted(c->hooks->arg);
}

/* Fails with DLF_ERR_INTERRUPTED. */
DlfStatus
train_fail_interrupted(TrainCtx *c)
{
	return dlf_fail(c->err, DLF_ERR_INTERRUPTED, "training interrupted");
}

/* Frees everything the context owns (never the model or the data). */
static void
ctx_free(TrainCtx *c)
{
	dlf_free(c->mean);
	dlf_free(c->scale);
	dlf_free(c->inv_scale);
	dlf_free(c->missing);
	dlf_free(c->cw);
	dlf_free(c->ccount);
	dlf_free(c->train_idx);
	dlf_free(c->valid_idx);
	dlf_free_aligned(c->P);
	dlf_free_aligned(c->M1);
	dlf_free_aligned(c->M2);
	dlf_free_aligned(c->best);
	/* join the workers before freeing what they use */
	dlf_pool_stop(c->pool);
	c->pool = NULL;
	for (int k = 0; c->chunks && k < c->nchunks; k++)
	{
		nn_batch_free(&c->chunks[k].bt);
		nn_work_free(&c->chunks[k].work);
		dlf_free_aligned(c->chunks[k].g[0]);
		dlf_free_aligned(c->chunks[k].g[1]);
	}
	dlf_free(c->chunks);
	/* rep[0] borrows the context's arrays */
	for (int t = 0; c->rep && t < c->nrep; t++)
		for (int l = 0; l < MAX_CHUNKS - 1; l++)
			dlf_free_aligned(c->rep[t].span[l]);
	for (int t = 1; c->rep && t < c->nrep; t++)
	{
		dlf_free_aligned(c->rep[t].P);
		dlf_free_aligned(c->rep[t].M1);
		dlf_free_aligned(c->rep[t].M2);
		for (int l = 0; l <= DLF_MAX_HIDDEN; l++)
			dlf_free_aligned(c->rep[t].wt[l]);
	}
	dlf_free(c->rep);
	for (int l = 0; l <= DLF_MAX_HIDDEN; l++)
		dlf_free_aligned(c->wt[l]);
	nn_batch_free(&c->bt);
	nn_work_free(&c->work);
	dlf_free(c->vscore);
	dlf_free(c->vlabel);
	dlf_free(c->vbin);
	dlf_free(c->vpred);
	dlf_free(c->vact);
	dlf_free(c->hist_train);
	dlf_free(c->hist_valid);
	train_ens_free(c);
}

/* ---- checks ------------------------------------------------------------ */

/* Validates option values and ranges. */
static DlfStatus
check_options(const DlfTrainOptions *opt, DlfError *err)
{
	if (opt->nhidden < 0 || opt->nhidden > DLF_MAX_HIDDEN)
		return dlf_fail(err, DLF_ERR_LIMIT,
						"too many hidden layers (at most %d)", DLF_MAX_HIDDEN);
	for (int i = 0; i < opt->nhidden; i++)
	{
		if (opt->hidden[i] < 1)
			return dlf_fail(err, DLF_ERR_INVALID,
							"hidden layer sizes must be positive");
		if (opt->hidden[i] > DLF_MAX_UNITS)
			return dlf_fail(err, DLF_ERR_LIMIT,
							"hidden layer has too many units (at most %d)",
							DLF_MAX_UNITS);
	}
	if (opt->activation < DLF_ACT_RELU || opt->activation > DLF_ACT_LEAKY_RELU)
		return dlf_fail(err, DLF_ERR_INVALID, "invalid activation");
	if (opt->optimizer < DLF_OPTIM_SGD || opt->optimizer > DLF_OPTIM_LBFGS)
		return dlf_fail(err, DLF_ERR_INVALID, "invalid optimizer");
	if (opt->optimizer == DLF_OPTIM_LBFGS && opt->dropout > 0.0)
	{
		dlf_fail(err, DLF_ERR_INVALID,
				 "dropout cannot be used with optimizer lbfgs");
		dlf_detail(err, "Full-batch L-BFGS needs a deterministic loss; "
				   "set dropout to 0 or use optimizer adam.");
		return DLF_ERR_INVALID;
	}
	if (!(opt->learning_rate > 0.0) || !isfinite(opt->learning_rate))
		return dlf_fail(err, DLF_ERR_INVALID,
						"learning_rate must be a positive number");
	if (opt->batch_size < 1 || opt->batch_size > 65536)
		return dlf_fail(err, DLF_ERR_INVALID,
						"batch_size must be between 1 and 65536");
	if (opt->epochs < 1 || opt->epochs > DLF_MAX_EPOCHS)
		return dlf_fail(err, DLF_ERR_INVALID,
						"epochs must be between 1 and %d", DLF_MAX_EPOCHS);
	if (!(opt->l2 >= 0.0) || !isfinite(opt->l2))
		return dlf_fail(err, DLF_ERR_INVALID,
						"l2 must be a non-negative number");
	if (!(opt->dropout >= 0.0 && opt->dropout < 1.0))
		return dlf_fail(err, DLF_ERR_INVALID,
						"dropout must be at least 0 and less than 1");
	if (!(opt->validation_fraction >= 0.0 && opt->validation_fraction <= 0.9))
		return dlf_fail(err, DLF_ERR_INVALID,
						"validation_fraction must be between 0 and 0.9");
	if (opt->patience < 1)
		return dlf_fail(err, DLF_ERR_INVALID, "patience must be positive");
	if (opt->nthreads < 0 || opt->nthreads > 1024)
		return dlf_fail(err, DLF_ERR_INVALID,
						"threads must be between 0 and 1024");
	return DLF_OK;
}

/* Validates the model schema and dataset shape; sets n, nf, ninputs. */
static DlfStatus
check_schema(TrainCtx *c)
{
	DlfModel   *m = c->m;
	DlfDataset *d = c->data;

	if (m->task != DLF_TASK_BINARY && m->task != DLF_TASK_MULTICLASS &&
		m->task != DLF_TASK_REGRESSION)
		return dlf_fail(c->err, DLF_ERR_INVALID, "invalid task");
	if (m->nfeatures < 1)
		return dlf_fail(c->err, DLF_ERR_INVALID, "no features");
	if (m->nfeatures > DLF_MAX_FEATURES)
		return dlf_fail(c->err, DLF_ERR_LIMIT,
						"too many features (at most %d)", DLF_MAX_FEATURES);
	if (d->nfeatures != m->nfeatures)
		return dlf_fail(c->err, DLF_ERR_INVALID,
						"dataset and model have different numbers of features");
	if (m->task == DLF_TASK_BINARY && m->nclasses != 2)
		return dlf_fail(c->err, DLF_ERR_INVALID,
						"binary classification needs two classes");
	if (m->task == DLF_TASK_MULTICLASS &&
		(m->nclasses < 2 || m->nclasses > DLF_MAX_CLASSES))
	{
		if (m->nclasses > DLF_MAX_CLASSES)
			return dlf_fail(c->err, DLF_ERR_LIMIT,
							"too many classes (at most %d)", DLF_MAX_CLASSES);
		return dlf_fail(c->err, DLF_ERR_DATA, "label has only one class");
	}
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
		{
			if (d->num == NULL || d->num[f] == NULL)
				return dlf_fail(c->err, DLF_ERR_INVALID,
								"numeric feature %d has no column", f + 1);
		}
		else if (ft->kind == DLF_FEAT_CATEGORICAL)
		{
			if (d->cat == NULL || d->cat[f] == NULL)
				return dlf_fail(c->err, DLF_ERR_INVALID,
								"categorical feature %d has no column", f + 1);
			if (ft->ncat < 0 || ft->ncat > DLF_MAX_CATEGORIES)
				return dlf_fail(c->err, DLF_ERR_LIMIT,
								"feature has too many categories (at most %d)",
								DLF_MAX_CATEGORIES);
		}
		else
			return dlf_fail(c->err, DLF_ERR_INVALID, "invalid feature kind");
	}
	if (d->nrows < 1)
		return dlf_fail(c->err, DLF_ERR_DATA, "no training rows");
	if (d->nrows > INT32_MAX)
		return dlf_fail(c->err, DLF_ERR_LIMIT,
						"too many training rows (at most %d)", INT32_MAX);
	if (d->label == NULL && d->cls == NULL)
		return dlf_fail(c->err, DLF_ERR_INVALID, "dataset has no labels");
	if (d->cls != NULL && m->task == DLF_TASK_REGRESSION)
		return dlf_fail(c->err, DLF_ERR_INVALID,
						"regression needs label values, not class indexes");
	c->n = d->nrows;
	c->nf = m->nfeatures;
	c->task = m->task;
	c->ninputs = dlf_model_layout(m);
	if (c->ninputs > DLF_MAX_INPUTS)
		return dlf_fail(c->err, DLF_ERR_LIMIT,
						"too many network inputs (%d, at most %d)",
						c->ninputs, DLF_MAX_INPUTS);
	c->nout = m->task == DLF_TASK_MULTICLASS ? m->nclasses : 1;
	return DLF_OK;
}

/* Sets up the layer sizes and checks the parameter count. */
static DlfStatus
setup_net(TrainCtx *c)
{
	const DlfTrainOptions *opt = c->opt;
	NnNet	   *net = &c->net;
	int64_t		np = 0;

	memset(net, 0, sizeof(*net));
	net->nlayers = opt->nhidden + 1;
	net->activation = opt->activation;
	net->units[0] = c->ninputs;
	for (int i = 0; i < opt->nhidden; i++)
		net->units[i + 1] = opt->hidden[i];
	net->units[net->nlayers] = c->nout;
	for (int32_t l = 0; l < net->nlayers; l++)
		np += (int64_t) net->units[l] * net->units[l + 1] + net->units[l + 1];
	/* the skip path's weights follow the layers' in the parameters */
	net->skip = opt->skip;
	if (opt->skip)
		np += (int64_t) net->units[0] * net->units[net->nlayers];
	if (np > DLF_MAX_PARAMS)
	{
		dlf_fail(c->err, DLF_ERR_LIMIT, "network has too many parameters");
		dlf_detail(c->err, "The network would have %lld weights and biases; "
				   "the limit is %d.", (long long) np, DLF_MAX_PARAMS);
		return DLF_ERR_LIMIT;
	}
	c->nparams = np;
	if (opt->init)
	{
		const DlfModel *im = opt->init;
		int			same = im->nlayers == net->nlayers && im->units != NULL &&
			im->weights != NULL && im->biases != NULL;

		for (int32_t l = 0; same && l <= net->nlayers; l++)
			same = im->units[l] == net->units[l];
		for (int32_t l = 0; same && l < net->nlayers; l++)
			same = im->weights[l] != NULL && im->biases[l] != NULL;
		/*
		 * An ensemble's init is its member 0 (weights, biases and the
		 * first skip matrix): a "cv" ensemble's refit on every row, so a
		 * default model can be warm-started from (doc/training.md).
		 */
		same = same && (im->skip != NULL) == (opt->skip != 0);
		if (!same || im->task != c->task || im->nfeatures != c->nf)
			return dlf_fail(c->err, DLF_ERR_INVALID,
							"init model architecture does not match");
	}
	return DLF_OK;
}


/*
 * Replaces the model's skip-path weights with the trained ones (none
 * without a skip path); nonzero when out of memory.
 */
static int
store_skip(TrainCtx *c)
{
	size_t		n = (size_t) c->net.units[0] * c->net.units[c->net.nlayers];
	float	   *S = NULL;

	if (c->net.S)
	{
		S = dlf_alloc_array(n, sizeof(float));
		if (S == NULL)
			return 1;
		memcpy(S, c->net.S, n * sizeof(float));
	}
	dlf_free(c->m->skip);
	c->m->skip = S;
	return 0;
}

/* Fails with "training diverged". */
static DlfStatus
fail_diverged(TrainCtx *c, int epoch)
{
	dlf_fail(c->err, DLF_ERR_DATA, "training diverged");
	dlf_detail(c->err, "The loss became non-finite in epoch %d; "
			   "try a lower learning_rate.", epoch);
	return DLF_ERR_DATA;
}

/* The epoch loop with early stopping; leaves the best parameters in P. */
static DlfStatus
train_loop(TrainCtx *c)
{
	const DlfTrainOptions *opt = c->opt;
	double		best_loss = INFINITY;
	int32_t		best_epoch = 0;
	int32_t		since_best = 0;
	int32_t		epoch;
	DlfStatus	st;

	c->hist_train = dlf_alloc_array(opt->epochs, sizeof(float));
	c->hist_valid = dlf_alloc_array(opt->epochs, sizeof(float));
	if (!c->hist_train || !c->hist_valid)
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");

	c->b1t = 1.0;
	c->b2t = 1.0;
	c->job_mask = opt->dropout > 0.0;
	/* decided once, not per batch and thread */
	for (int32_t f = 0; f < c->nf; f++)
		c->monotone |= c->m->features[f].monotone != 0;
	train_transpose_weights(&c->net, c->wt);
	for (epoch = 1; epoch <= opt->epochs; epoch++)
	{
		double		tsum = 0.0;
		double		vloss = NAN;
		double		metric = NAN;
		const char *mname = NULL;

		c->sh_key = dlf_rng_next(&c->rng);
		c->sh_off = (int64_t) dlf_rng_below(&c->rng, (uint64_t) c->ntrain);
		dlf_pool_run(c->pool, train_job_shuffle, c);
		c->ep_stop = 0;
		c->ep_diverged = 0;
		c->ep_tsum = 0.0;
		train_run_epoch(c, epoch);
		if (c->ep_stop)
			return train_fail_interrupted(c);
		if (c->ep_diverged)
			return fail_diverged(c, epoch);
		tsum = c->ep_tsum;
		c->hist_train[epoch - 1] = (float) (tsum / c->ntrain);
		/* a loss beyond float range is a divergence too (the history) */
		if (!isfinite(c->hist_train[epoch - 1]))
			return fail_diverged(c, epoch);
		c->hist_valid[epoch - 1] = NAN;
		if (c->nvalid > 0)
		{
			int			want = c->hooks && c->hooks->epoch_done;

			st = train_evaluate(c, &vloss, want);
			if (st != DLF_OK)
				return st;
			if (!isfinite((float) vloss))
				return fail_diverged(c, epoch);
			if (want && (st = train_main_metric(c, &metric, &mname)) != DLF_OK)
				return st;
			c->hist_valid[epoch - 1] = (float) vloss;
			if (vloss < best_loss - 1e-7)
			{
				best_loss = vloss;
				best_epoch = epoch;
				since_best = 0;
				memcpy(c->best, c->P, c->nparams * sizeof(float));
			}
			else
				since_best++;
		}
		if (c->hooks && c->hooks->epoch_done)
		{
			DlfEpochReport rep;

			rep.epoch = epoch;
			rep.train_loss = tsum / c->ntrain;
			rep.valid_loss = vloss;
			rep.valid_metric = metric;
			rep.metric_name = mname;
			rep.seconds = train_elapsed(c);
			c->hooks->epoch_done(c->hooks->arg, &rep);
		}
		if (c->nvalid > 0 && since_best >= opt->patience)
			break;
	}
	c->m->epochs_run = epoch > opt->epochs ? opt->epochs : epoch;
	c->m->best_epoch = best_epoch;
	c->m->best_valid_loss = c->nvalid > 0 ? best_loss : NAN;
	if (c->nvalid > 0)
		memcpy(c->P, c->best, c->nparams * sizeof(float));
	for (int64_t i = 0; i < c->nparams; i++)
		if (!isfinite(c->P[i]))
			return fail_diverged(c, c->m->epochs_run);
	return DLF_OK;
}

/* Writes the effective options as JSON (only when the caller set none). */
static void
write_options_json(TrainCtx *c)
{
	const DlfTrainOptions *o = c->opt;
	DlfBuf		b;

	if (c->m->options_json)
		return;
	dlf_buf_init(&b);
	dlf_buf_append(&b, "{\"hidden\": [", 12);
	for (int i = 0; i < o->nhidden; i++)
		dlf_buf_printf(&b, "%s%d", i ? ", " : "", o->hidden[i]);
	dlf_buf_printf(&b, "], \"activation\": \"%s\", \"optimizer\": \"%s\"",
				   dlf_activation_name(o->activation),
				   dlf_optimizer_name(o->optimizer));
	dlf_buf_append(&b, ", \"learning_rate\": ", 19);
	dlf_buf_json_double(&b, o->learning_rate);
	dlf_buf_printf(&b, ", \"batch_size\": %d, \"epochs\": %d", o->batch_size,
				   o->epochs);
	dlf_buf_append(&b, ", \"l2\": ", 8);
	dlf_buf_json_double(&b, o->l2);
	dlf_buf_append(&b, ", \"dropout\": ", 13);
	dlf_buf_json_double(&b, o->dropout);
	dlf_buf_append(&b, ", \"validation_fraction\": ", 25);
	dlf_buf_json_double(&b, o->validation_fraction);
	dlf_buf_printf(&b, ", \"patience\": %d, \"seed\": %llu", o->patience,
				   (unsigned long long) o->seed);
	if (o->balanced)
		dlf_buf_printf(&b, ", \"class_weight\": \"balanced\"");
	else if (o->class_weights && c->task != DLF_TASK_REGRESSION)
	{
		dlf_buf_printf(&b, ", \"class_weight\": [");
		for (int32_t j = 0; j < c->m->nclasses; j++)
		{
			if (j)
				dlf_buf_append(&b, ", ", 2);
			dlf_buf_json_double(&b, o->class_weights[j]);
		}
		dlf_buf_append(&b, "]", 1);
	}
	if (o->ensemble > 1)
		dlf_buf_printf(&b, ", \"ensemble\": %d", o->ensemble);
	dlf_buf_printf(&b, ", \"warm_start\": %s}", o->init ? "true" : "false");
	if (!b.failed)
		c->m->options_json = (char *) b.data;
	else
		dlf_buf_free(&b);
}

/* Copies the feature and target statistics into the model. */
static void
store_stats(TrainCtx *c)
{
	for (int32_t f = 0; f < c->nf; f++)
	{
		c->m->features[f].mean = c->mean[f];
		c->m->features[f].scale = c->scale[f];
		c->m->features[f].missing_share = c->missing[f];
	}
	c->m->target_mean = c->tmean;
	c->m->target_scale = c->tscale;
}

/* Moves the trained network, statistics and history into the model. */
static DlfStatus
finish_model(TrainCtx *c)
{
	DlfModel   *m = c->m;
	const NnNet *net = &c->net;
	int32_t		L = net->nlayers;
	int32_t    *units;
	float	  **W;
	float	  **b;
	int			failed = 0;

	units = dlf_alloc_array(L + 1, sizeof(int32_t));
	W = dlf_alloc_array(L, sizeof(float *));
	b = dlf_alloc_array(L, sizeof(float *));
	failed = !units || !W || !b;
	if (!failed && (failed = store_skip(c)) != 0)
	{
		dlf_free(units);
		dlf_free(W);
		dlf_free(b);
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t l = 0; !failed && l < L; l++)
	{
		size_t		nw = (size_t) net->units[l] * net->units[l + 1];

		W[l] = dlf_alloc_array(nw, sizeof(float));
		b[l] = dlf_alloc_array(net->units[l + 1], sizeof(float));
		if (!W[l] || !b[l])
		{
			failed = 1;
			break;
		}
		memcpy(W[l], net->W[l], nw * sizeof(float));
		memcpy(b[l], net->b[l], net->units[l + 1] * sizeof(float));
	}
	if (failed)
	{
		for (int32_t l = 0; W && b && l < L; l++)
		{
			dlf_free(W[l]);
			dlf_free(b[l]);
		}
		dlf_free(W);
		dlf_free(b);
		dlf_free(units);
		return dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t l = 0; l <= L; l++)
		units[l] = net->units[l];

	/* replace whatever network the model had */
	if (m->weights)
		for (int32_t l = 0; l < m->nlayers; l++)
			dlf_free(m->weights[l]);
	if (m->biases)
		for (int32_t l = 0; l < m->nlayers; l++)
			dlf_free(m->biases[l]);
	dlf_free(m->weights);
	dlf_free(m->biases);
	dlf_free(m->units);
	m->nlayers = L;
	m->units = units;
	m->weights = W;
	m->biases = b;
	m->activation = (uint8_t) net->activation;

	store_stats(c);
	m->rows_train = c->ntrain;
	m->rows_valid = c->nvalid;

	dlf_free(m->train_loss);
	dlf_free(m->valid_loss);
	m->nhistory = m->epochs_run;
	m->train_loss = c->hist_train;
	m->valid_loss = c->hist_valid;
	c->hist_train = NULL;
	c->hist_valid = NULL;
	write_options_json(c);
	return DLF_OK;
}

/* Trains the network of m on data; see dlfin_core.h. */
DlfStatus
dlf_train(DlfModel *m, DlfDataset *data, const DlfTrainOptions *opt,
		  const DlfTrainHooks *hooks, DlfError *err)
{
	TrainCtx	c;
	DlfStatus	st;

	memset(&c, 0, sizeof(c));
	c.m = m;
	c.data = data;
	c.opt = opt;
	c.hooks = hooks;
	c.err = err;
	clock_gettime(CLOCK_MONOTONIC, &c.t0);
	if (m == NULL || data == NULL || opt == NULL)
		return dlf_fail(err, DLF_ERR_INVALID, "missing training argument");

	if ((st = check_options(opt, err)) != DLF_OK ||
		(st = check_schema(&c)) != DLF_OK ||
		(st = dlf_govern_check(m, opt, err)) != DLF_OK ||
		(st = setup_net(&c)) != DLF_OK ||
		(st = train_start_pool(&c)) != DLF_OK ||
		(st = train_canonical_order(&c)) != DLF_OK ||
		(st = train_compute_stats(&c)) != DLF_OK)
		goto done;

	if (opt->stats_only)
	{
		/* cv.c: the whole set's encoding, shared by fits on its parts */
		store_stats(&c);
		goto done;
	}
	dlf_rng_seed(&c.rng, opt->seed);
	if ((st = train_split_rows(&c)) != DLF_OK ||
		(opt->member > 0 && (st = train_member_rows(&c)) != DLF_OK) ||
		(st = train_init_params(&c)) != DLF_OK ||
		(st = train_permute_rows(&c)) != DLF_OK ||
		(st = train_tile_rows(&c)) != DLF_OK)
		goto done;
	dlf_monotone_project(m, &c.net, opt->init == NULL);

	c.cap = opt->batch_size;
	if (opt->optimizer == DLF_OPTIM_LBFGS)
		c.cap = LBFGS_BLOCK_ROWS * c.nchunks;	/* full batch: blocks of rows */
	if (c.cap > c.ntrain && c.cap > c.nvalid)
		c.cap = (int32_t) (c.ntrain > c.nvalid ? c.ntrain : c.nvalid);
	if ((st = nn_batch_alloc(&c.bt, c.cap, c.nf, err)) != DLF_OK ||
		(st = nn_work_alloc(&c.work, &c.net, c.cap, 0, err)) != DLF_OK ||
		(st = train_setup_parallel(&c)) != DLF_OK)
		goto done;
	if (c.nvalid > 0)
	{
		c.vscore = dlf_alloc_array(c.nvalid, sizeof(double));
		c.vlabel = dlf_alloc_array(c.nvalid, sizeof(double));
		c.vbin = dlf_alloc_array(c.nvalid, sizeof(uint8_t));
		c.vpred = dlf_alloc_array(c.nvalid, sizeof(int32_t));
		c.vact = dlf_alloc_array(c.nvalid, sizeof(int32_t));
		if (!c.vscore || !c.vlabel || !c.vbin || !c.vpred || !c.vact)
		{
			st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
			goto done;
		}
	}

	st = opt->optimizer == DLF_OPTIM_LBFGS ? train_lbfgs_loop(&c) : train_loop(&c);
	/* what follows reads the dataset in its columns, by row numbers or positions */
	train_untile_rows(&c);
	if (opt->consume)
		train_keep_rearranged(&c);
	else
		train_unpermute_rows(&c);
	if (st != DLF_OK)
		goto done;
	/* an ensemble's metrics and governance are the whole ensemble's */
	if (opt->nextra > 0 && (st = train_ens_attach(&c)) != DLF_OK)
		goto done;
	if (opt->bare)
	{
		/* a CV fit or an ensemble's member: its caller measures */
		st = finish_model(&c);
		goto done;
	}
	if (c.nvalid > 0 && (st = train_store_metrics(&c)) != DLF_OK)
		goto done;
	if ((st = finish_model(&c)) != DLF_OK)
		goto done;
	if (opt->nextra > 0 && (st = train_ens_store(&c)) != DLF_OK)
		goto done;
	/* the training order is done with: its memory serves the statistics */
	dlf_free(c.train_idx);
	c.train_idx = NULL;
	st = dlf_govern_fit_pool(m, data, c.valid_idx, c.nvalid, opt->seed, hooks,
							 err, c.pool);

done:
	train_untile_rows(&c);
	train_unpermute_rows(&c);
	ctx_free(&c);
	return st;
}
