/*
 * test_skip.c
 *	  The linear skip path ("skip": true): its gradient, the one-row and
 *	  batch scoring kernels' bits, training with every optimiser and task,
 *	  L2 and monotone constraints on its weights, ensembles, complete
 *	  attributions, format version 3, and what refuses it.
 */
#include "tap.h"
#include "synth.h"
#include "dlfin_codec.h"
#include "dlfin_onnx.h"

/* Trains a skip model; returns it (bytes in *out when out). */
static DlfModel *
train_skip(int task, int nclasses, int optimizer, int k, int shuffled,
		   int threads, int calib, uint8_t **out, size_t *len)
{
	DlfModel   *m = schema(task, nclasses, 3, 3);
	DlfDataset *d = synth(m, 1200, 17);
	DlfTrainOptions opt;

	if (shuffled)
		reverse_rows(d);
	m->calibration = calib;
	dlf_train_options_default(&opt);
	opt.epochs = 25;
	opt.hidden[0] = 8;
	opt.hidden[1] = 4;
	opt.optimizer = optimizer;
	opt.ensemble = k;
	opt.nthreads = threads;
	opt.skip = 1;
	m = train_encoded(m, d, &opt, out, len);
	free_data(d);
	return m;
}

/* A random net of the given hidden widths with a random skip path. */
static NnNet
rand_net(int nh, const int *hidden, int nin, int nout, DlfRng *r)
{
	NnNet		net;

	memset(&net, 0, sizeof(net));
	net.nlayers = nh + 1;
	net.activation = DLF_ACT_RELU;
	net.units[0] = nin;
	for (int i = 0; i < nh; i++)
		net.units[i + 1] = hidden[i];
	net.units[nh + 1] = nout;
	for (int l = 0; l <= nh; l++)
	{
		size_t		nw = (size_t) net.units[l] * net.units[l + 1];

		net.W[l] = malloc(nw * sizeof(float));
		net.b[l] = malloc(net.units[l + 1] * sizeof(float));
		for (size_t i = 0; i < nw; i++)
			net.W[l][i] = (float) (dlf_rng_normal(r) * 0.4);
		for (int j = 0; j < net.units[l + 1]; j++)
			net.b[l][j] = (float) (dlf_rng_normal(r) * 0.1);
	}
	net.skip = 1;
	net.S = malloc((size_t) nin * nout * sizeof(float));
	for (int i = 0; i < nin * nout; i++)
		net.S[i] = (float) (dlf_rng_normal(r) * 0.5);
	return net;
}

/* Frees rand_net's buffers. */
static void
free_rand_net(NnNet *net)
{
	for (int l = 0; l < net->nlayers; l++)
	{
		free(net->W[l]);
		free(net->b[l]);
	}
	free(net->S);
}

/* A batch of rows with one entry per "feature" (every other input). */
static void
fill_batch(NnBatch *bt, int rows, int nin, DlfRng *r, int task, int nout)
{
	bt->rows = rows;
	for (int i = 0; i < rows; i++)
	{
		bt->nnz[i] = nin / 2;
		for (int e = 0; e < nin / 2; e++)
		{
			bt->idx[i * bt->maxent + e] = 2 * e + (int) dlf_rng_below(r, 2);
			bt->val[i * bt->maxent + e] = (float) dlf_rng_normal(r);
		}
		bt->target[i] = task == DLF_TASK_REGRESSION ? (float) dlf_rng_normal(r) :
			(float) dlf_rng_below(r, nout > 1 ? nout : 2);
		bt->weight[i] = 1.0f;
	}
}

/* The batch kernel's dS against central differences of the loss. */
static void
test_gradient(int task, int nout, const char *t)
{
	DlfRng		r;
	int			hidden[2] = {6, 5};
	NnNet		net,
				grad;
	NnBatch		bt;
	NnWork		w;
	DlfError	err;
	float	   *g;
	size_t		np = 0;
	double		worst = 0.0;

	dlf_rng_seed(&r, 3);
	net = rand_net(2, hidden, 8, nout, &r);
	nn_batch_alloc(&bt, 16, 4, &err);
	nn_work_alloc(&w, &net, 16, 0, &err);
	fill_batch(&bt, 16, 8, &r, task, nout);
	for (int l = 0; l < net.nlayers; l++)
		np += (size_t) net.units[l] * net.units[l + 1] + net.units[l + 1];
	np += (size_t) 8 * nout;
	g = calloc(np, sizeof(float));
	grad = net;
	{
		float	   *p = g;

		for (int l = 0; l < net.nlayers; l++)
		{
			grad.W[l] = p;
			p += net.units[l] * net.units[l + 1];
			grad.b[l] = p;
			p += net.units[l + 1];
		}
		grad.S = p;
	}
	nn_forward(&net, &bt, &w, 0);
	nn_loss(task, &net, &bt, &w, 1, 1.0f);
	nn_backward(&net, &bt, &w, 0, 0.25f, &grad);
	for (int i = 0; i < 8 * nout; i++)
	{
		float		s0 = net.S[i];
		double		lp,
					lm,
					reg;
		const float h = 1e-2f;

		net.S[i] = s0 + h;
		nn_forward(&net, &bt, &w, 0);
		lp = nn_loss(task, &net, &bt, &w, 0, 1.0f);
		net.S[i] = s0 - h;
		nn_forward(&net, &bt, &w, 0);
		lm = nn_loss(task, &net, &bt, &w, 0, 1.0f);
		net.S[i] = s0;
		reg = 0.25 * DLF_SKIP_L2_SCALE * s0;
		if (fabs((lp - lm) / (2 * h) + reg - grad.S[i]) > worst)
			worst = fabs((lp - lm) / (2 * h) + reg - grad.S[i]);
	}
	ok(worst < 2e-2, "%s: skip gradient matches central differences (worst %g)", t, worst);
	free(g);
	free_rand_net(&net);
	nn_batch_free(&bt);
	nn_work_free(&w);
}

/* nn_forward_rows gives every row nn_forward_row's bits, skip included. */
static void
test_row_bits(int nh, int h0, int h1, int nout, const char *t)
{
	DlfRng		r;
	int			hidden[2] = {h0, h1};
	NnNet		net;
	NnBatch		bt;
	NnWork		w;
	DlfError	err;
	float	   *act[DLF_MAX_HIDDEN + 1];
	int			same = 1,
				moved = 0;

	dlf_rng_seed(&r, 9);
	net = rand_net(nh, hidden, 12, nout, &r);
	nn_batch_alloc(&bt, 9, 6, &err);
	nn_work_alloc(&w, &net, 9, 0, &err);
	fill_batch(&bt, 9, 12, &r, DLF_TASK_MULTICLASS, nout);
	nn_row_plan(&net);
	nn_forward_rows(&net, &bt, &w);
	for (int l = 0; l < net.nlayers; l++)
		act[l] = malloc(sizeof(float) * net.units[l + 1]);
	for (int i = 0; i < 9; i++)
	{
		float		z0 = nn_forward_row(&net, bt.idx + i * bt.maxent,
										bt.val + i * bt.maxent, bt.nnz[i], act);
		const float *zb = w.act[net.nlayers - 1] + (size_t) i * nout;

		same &= memcmp(act[net.nlayers - 1], zb, sizeof(float) * nout) == 0 &&
			z0 == zb[0];
	}
	/* and the skip path is really in there */
	{
		float	   *S = net.S;
		float		z;

		net.S = NULL;
		z = nn_forward_row(&net, bt.idx, bt.val, bt.nnz[0], act);
		moved = z != w.act[net.nlayers - 1][0];
		net.S = S;
	}
	ok(same, "%s: batch scoring has the one-row kernel's bits", t);
	ok(moved, "%s: the skip path changes the logits", t);
	for (int l = 0; l < net.nlayers; l++)
		free(act[l]);
	free_rand_net(&net);
	nn_batch_free(&bt);
	nn_work_free(&w);
}

/* Every task and optimiser trains, with a skip path that learned. */
static void
test_train(int task, int nclasses, int optimizer, const char *t)
{
	DlfModel   *m = train_skip(task, nclasses, optimizer, 1, 0, 0, 0, NULL, NULL);
	double		norm = 0.0;

	ok(m != NULL && m->skip != NULL, "%s: trains with a skip path", t);
	if (!m)
		return;
	for (int64_t i = 0; i < dlf_model_nskip(m); i++)
		norm += fabs(m->skip[i]);
	ok(norm > 0.0 && isfinite(norm), "%s: the skip weights moved (|S|_1 %g)", t, norm);
	dlf_model_free(m);
}

/* Same rows in any order or thread count: same bytes; version 3. */
static void
test_bytes(int optimizer, int k, const char *t)
{
	uint8_t    *b1 = NULL,
			   *b2 = NULL,
			   *b3 = NULL,
			   *b4 = NULL;
	size_t		l1 = 0,
				l2 = 0,
				l3 = 0,
				l4 = 0;
	DlfModel   *m1 = train_skip(DLF_TASK_BINARY, 2, optimizer, k, 0, 1, 0, &b1, &l1);
	DlfModel   *m2 = train_skip(DLF_TASK_BINARY, 2, optimizer, k, 1, 2, 0, &b2, &l2);
	DlfModel   *dm = NULL;
	DlfError	err;

	ok(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0,
	   "%s: shuffled rows and 2 threads give the same bytes", t);
	ok(b1 && b1[8] == 3 && b1[9] == 0, "%s: written as format version 3", t);
	ok(b1 && dlf_model_decode(b1, l1, &dm, &err) == DLF_OK && dm->skip != NULL &&
	   dlf_model_members(dm) == k, "%s: decodes with its skip path", t);
	ok(dm && dlf_model_encode(dm, &b3, &l3, &err) == DLF_OK && l3 == l1 &&
	   memcmp(b1, b3, l1) == 0, "%s: decoding and encoding round-trips", t);
	/* the stored validation AUC is what the scorer's bits give */
	if (m1 && dm)
	{
		DlfModel   *m0 = schema(DLF_TASK_BINARY, 2, 3, 3);
		DlfDataset *d = synth(m0, 40, 23);
		DlfScorer  *s1 = dlf_scorer_new(m1, &err),
				   *s2 = dlf_scorer_new(dm, &err);
		int			same = 1;

		for (int64_t i = 0; i < d->nrows; i++)
		{
			double		o1[4],
						o2[4];

			data_row(s1, m1, d, i);
			data_row(s2, dm, d, i);
			dlf_scorer_run(s1, o1);
			dlf_scorer_run(s2, o2);
			same &= o1[0] == o2[0] && isfinite(o1[0]);
		}
		ok(same, "%s: the decoded model scores with the same bits", t);
		dlf_scorer_free(s1);
		dlf_scorer_free(s2);
		free_data(d);
		dlf_model_free(m0);
	}
	(void) b4;
	(void) l4;
	dlf_free(b1);
	dlf_free(b2);
	dlf_free(b3);
	dlf_model_free(m1);
	dlf_model_free(m2);
	dlf_model_free(dm);
}

/* Attributions are complete with the skip path (one network, ensembles). */
static void
test_explain(int task, int nclasses, int k, int calib, const char *t)
{
	DlfModel   *m = train_skip(task, nclasses, DLF_OPTIM_ADAM, k, 0, 0, calib,
							   NULL, NULL);
	DlfDataset *d;
	DlfScorer  *s;
	DlfExplainer *x;
	DlfError	err;
	double		contrib[8];
	double		worst = 0.0,
				worst_score = 0.0;
	int			fails = 0;

	ok(m != NULL, "%s: trains", t);
	if (!m)
		return;
	d = synth(m, 25, 6);
	s = dlf_scorer_new(m, &err);
	x = dlf_explainer_new(m, &err);
	for (int64_t i = 0; i < d->nrows; i++)
	{
		DlfExplanation ex = {.contrib = contrib};
		double		out[8];

		data_row(s, m, d, i);
		if (dlf_explain(x, s, &ex, &err) != DLF_OK)
		{
			printf("# %s\n", err.message);
			fails++;
			continue;
		}
		dlf_scorer_run(s, out);
		if (fabs(ex.gap) > worst)
			worst = fabs(ex.gap);
		if (task == DLF_TASK_BINARY && fabs(ex.score - out[0]) > worst_score)
			worst_score = fabs(ex.score - out[0]);
	}
	ok(fails == 0, "%s: every row explains (%d failures)", t, fails);
	ok(worst <= DLF_EXPLAIN_TOLERANCE * (task == DLF_TASK_REGRESSION ? m->target_scale : 1),
	   "%s: completeness (worst gap %g)", t, worst);
	ok(worst_score == 0.0, "%s: the explained score is the scorer's", t);
	dlf_explainer_free(x);
	dlf_scorer_free(s);
	free_data(d);
	dlf_model_free(m);
}

/* Monotone constraints hold on the skip weights. */
static void
test_monotone(int optimizer, const char *t)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
	DlfDataset *d = synth(m, 800, 4);
	DlfTrainOptions opt;
	DlfError	err;
	int			signs = 1;

	m->features[0].monotone = -1;	/* against the data: x1 pushes up */
	m->features[1].monotone = 1;	/* x2 pushes down */
	dlf_train_options_default(&opt);
	opt.epochs = 20;
	opt.hidden[0] = 8;
	opt.hidden[1] = 4;
	opt.optimizer = optimizer;
	opt.skip = 1;
	ok(dlf_train_auto(m, d, &opt, NULL, &err) == DLF_OK && m->skip, "%s: trains", t);
	if (m->skip)
	{
		signs = m->skip[m->features[0].input_offset] <= 0.0f &&
			m->skip[m->features[1].input_offset] >= 0.0f;
		for (int l = 1; l < m->nlayers; l++)
			for (int i = 0; i < m->units[l] * m->units[l + 1]; i++)
				signs &= m->weights[l][i] >= 0.0f;
	}
	ok(signs, "%s: skip weights take the constraints' signs", t);
	free_data(d);
	dlf_model_free(m);
}

/* L2 reaches the skip weights: a strong penalty shrinks them. */
static void
test_l2(void)
{
	double		n[2];

	for (int i = 0; i < 2; i++)
	{
		DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
		DlfDataset *d = synth(m, 800, 4);
		DlfTrainOptions opt;
		DlfError	err;

		dlf_train_options_default(&opt);
		opt.optimizer = DLF_OPTIM_LBFGS;
		opt.epochs = 60;
		opt.hidden[0] = 8;
		opt.hidden[1] = 4;
		opt.l2 = i ? 0.3 : 0.0;
		opt.skip = 1;
		n[i] = 0.0;
		if (dlf_train_auto(m, d, &opt, NULL, &err) == DLF_OK)
			for (int64_t j = 0; j < dlf_model_nskip(m); j++)
				n[i] += (double) m->skip[j] * m->skip[j];
		free_data(d);
		dlf_model_free(m);
	}
	ok(n[1] < 0.5 * n[0], "l2 shrinks the skip weights (|S|^2 %g -> %g)", n[0], n[1]);
}

/* Forged SKIP sections, warm starts across shapes, ONNX. */
static void
test_refusals(void)
{
	uint8_t    *b = NULL,
			   *x = NULL;
	size_t		len = 0,
				xl = 0;
	DlfModel   *m = train_skip(DLF_TASK_BINARY, 2, DLF_OPTIM_ADAM, 1, 0, 0, 0, &b, &len);
	DlfModel   *dm = NULL,
			   *m2 = schema(DLF_TASK_BINARY, 2, 3, 3);
	DlfDataset *d = synth(m2, 300, 3);
	DlfTrainOptions opt;
	DlfError	err;
	uint8_t    *c;
	size_t		pos = DLF_HEADER_SIZE;

	if (!m || !b)
	{
		ok(0, "refusals: trains");
		return;
	}
	while (pos + 6 <= len && (c = b + pos, c[0] | (c[1] << 8)) != 12)
		pos += 6 + (size_t) (c[2] | (c[3] << 8) | (c[4] << 16) | ((uint32_t) c[5] << 24));
	ok(pos + 6 < len, "codec: section SKIP is there");
	c = malloc(len);
	memcpy(c, b, len);
	memset(c + pos + 6, 0xff, 4);
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, len, &dm, &err) == DLF_ERR_CORRUPT &&
	   strstr(err.detail, "Skip") != NULL, "codec: NaN skip weight refused (%s)", err.detail);
	/* version 2 (an old reader's newest) with a twelfth section */
	memcpy(c, b, len);
	c[8] = 2;
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, len, &dm, &err) == DLF_ERR_CORRUPT,
	   "codec: version 2 with SKIP refused (%s)", err.detail);
	/* version 3 without SKIP */
	memcpy(c, b, pos);
	*(uint32_t *) (c + 12) = (uint32_t) pos;
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, pos - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, pos, &dm, &err) == DLF_ERR_CORRUPT &&
	   strstr(err.detail, "SKIP") != NULL, "codec: version 3 without SKIP refused (%s)", err.detail);
	/* a SKIP section a float short */
	{
		size_t		n = 0;

		for (size_t cut = pos + 6; cut < len; cut += 5)
		{
			memcpy(c, b, cut);
			c[pos + 2] = 0;
			*(uint32_t *) (c + 12) = (uint32_t) cut;
			*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, cut - DLF_HEADER_SIZE);
			n += dlf_model_decode(c, cut, &dm, &err) == DLF_ERR_CORRUPT;
		}
		ok(n == (len - pos - 6 + 4) / 5, "codec: every truncation of SKIP refused");
	}
	free(c);

	dlf_train_options_default(&opt);
	opt.init = m;
	ok(dlf_train_auto(m2, d, &opt, NULL, &err) == DLF_ERR_INVALID &&
	   strstr(err.message, "architecture") != NULL,
	   "warm start of a network without skip from one with it refused");
	opt.skip = 1;
	opt.hidden[0] = 32;
	opt.hidden[1] = 16;
	ok(dlf_train_auto(m2, d, &opt, NULL, &err) == DLF_ERR_INVALID,
	   "warm start of another shape refused");
	{
		DlfOnnxOptions oo = {0};
		DlfModel   *back = NULL;

		ok(dlf_onnx_export(m, NULL, &x, &xl, &err) == DLF_OK &&
		   dlf_onnx_import(x, xl, &oo, &back, &err) == DLF_ERR_INVALID && back == NULL &&
		   strstr(err.message, "skip path") != NULL, "ONNX export; its import refused: %s",
		   err.message);
	}
	dlf_free(x);
	free_data(d);
	dlf_model_free(m2);
	dlf_free(b);
	dlf_model_free(m);
}

/* A skip model warm-starts from a skip model of its shape. */
static void
test_warm(void)
{
	DlfModel   *m = train_skip(DLF_TASK_BINARY, 2, DLF_OPTIM_ADAM, 1, 0, 0, 0, NULL, NULL);
	DlfModel   *m2 = schema(DLF_TASK_BINARY, 2, 3, 3);
	DlfDataset *d = synth(m2, 300, 3);
	DlfTrainOptions opt;
	DlfError	err;

	dlf_train_options_default(&opt);
	opt.hidden[0] = 8;
	opt.hidden[1] = 4;
	opt.epochs = 3;
	opt.skip = 1;
	opt.init = m;
	ok(m && dlf_train_auto(m2, d, &opt, NULL, &err) == DLF_OK && m2->skip,
	   "warm start from a skip model");
	free_data(d);
	dlf_model_free(m2);
	dlf_model_free(m);
}

int
main(void)
{
	test_gradient(DLF_TASK_BINARY, 1, "binary");
	test_gradient(DLF_TASK_MULTICLASS, 3, "multiclass");
	test_gradient(DLF_TASK_REGRESSION, 1, "regression");
	test_row_bits(2, 32, 16, 1, "[32,16] (small path off)");
	test_row_bits(2, 20, 7, 3, "[20,7] x3");
	test_row_bits(0, 0, 0, 1, "no hidden layer");
	test_train(DLF_TASK_BINARY, 2, DLF_OPTIM_ADAM, "binary adam");
	test_train(DLF_TASK_BINARY, 2, DLF_OPTIM_LBFGS, "binary lbfgs");
	test_train(DLF_TASK_MULTICLASS, 3, DLF_OPTIM_SGD, "multiclass sgd");
	test_train(DLF_TASK_MULTICLASS, 3, DLF_OPTIM_LBFGS, "multiclass lbfgs");
	test_train(DLF_TASK_REGRESSION, 0, DLF_OPTIM_MOMENTUM, "regression momentum");
	test_train(DLF_TASK_REGRESSION, 0, DLF_OPTIM_LBFGS, "regression lbfgs");
	test_bytes(DLF_OPTIM_ADAM, 1, "adam");
	test_bytes(DLF_OPTIM_LBFGS, 1, "lbfgs");
	test_bytes(DLF_OPTIM_ADAM, 3, "adam ensemble 3");
	test_explain(DLF_TASK_BINARY, 2, 1, DLF_CALIB_NONE, "explain binary");
	test_explain(DLF_TASK_BINARY, 2, 1, DLF_CALIB_PLATT, "explain platt");
	test_explain(DLF_TASK_MULTICLASS, 3, 1, DLF_CALIB_NONE, "explain multiclass");
	test_explain(DLF_TASK_REGRESSION, 0, 1, DLF_CALIB_NONE, "explain regression");
	test_explain(DLF_TASK_BINARY, 2, 3, DLF_CALIB_NONE, "explain ensemble");
	test_explain(DLF_TASK_BINARY, 2, 3, DLF_CALIB_ISOTONIC, "explain ensemble isotonic");
	test_monotone(DLF_OPTIM_ADAM, "monotone adam");
	test_monotone(DLF_OPTIM_LBFGS, "monotone lbfgs");
	test_l2();
	test_refusals();
	test_warm();
	return done_testing();
}
