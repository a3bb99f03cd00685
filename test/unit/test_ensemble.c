/*
 * test_ensemble.c
 *	  Ensembles ("ensemble": k): the model holds k networks in format
 *	  version 2, scores the mean probability, explains it with complete
 *	  attributions, and is a function of the multiset of rows.
 */
#include "tap.h"
#include "synth.h"
#include "dlfin_codec.h"

/* Trains an ensemble; returns the model (bytes in *out when out). */
static DlfModel *
train_ens(int task, int nclasses, int k, int sample, int shuffled,
		  int calib, uint8_t **out, size_t *len)
{
	DlfModel   *m = schema(task, nclasses, 3, 3);
	DlfDataset *d = synth(m, 1500, 11);
	DlfTrainOptions opt;

	if (shuffled)
		reverse_rows(d);
	m->calibration = calib;
	dlf_train_options_default(&opt);
	opt.epochs = 30;
	opt.hidden[0] = 8;
	opt.hidden[1] = 4;
	opt.ensemble = k;
	opt.ens_sample = sample;
	m = train_encoded(m, d, &opt, out, len);
	free_data(d);
	return m;
}

/* A view of member e of m as a one-network model (shares its arrays). */
static DlfModel
member_view(const DlfModel *m, int e, float **W, float **b)
{
	DlfModel	v = *m;

	for (int l = 0; l < m->nlayers; l++)
	{
		W[l] = dlf_member_weights(m, e, l);
		b[l] = dlf_member_biases(m, e, l);
	}
	v.weights = W;
	v.biases = b;
	v.nmembers = 0;
	v.mweights = NULL;
	v.mbiases = NULL;
	return v;
}

/* The score is the mean of the members' outputs, class by class. */
static void
test_mean(int task, int nclasses, const char *t)
{
	DlfModel   *m = train_ens(task, nclasses, 4, DLF_ENS_SEEDS, 0, 0, NULL, NULL);
	DlfDataset *d;
	DlfScorer  *s,
			   *ms[4];
	DlfModel	v[4];
	float	   *W[4][DLF_MAX_HIDDEN + 1],
			   *B[4][DLF_MAX_HIDDEN + 1];
	DlfError	err;
	double		worst = 0.0;
	int			nout = nclasses > 2 ? nclasses : 1;

	ok(m != NULL && m->nmembers == 4, "%s: four members", t);
	if (!m)
		return;
	d = synth(m, 50, 5);
	s = dlf_scorer_new(m, &err);
	for (int e = 0; e < 4; e++)
	{
		v[e] = member_view(m, e, W[e], B[e]);
		ms[e] = dlf_scorer_new(&v[e], &err);
	}
	for (int64_t i = 0; i < d->nrows; i++)
	{
		double		out[8],
					mo[8],
					mean[8] = {0};

		data_row(s, m, d, i);
		dlf_scorer_run(s, out);
		for (int e = 0; e < 4; e++)
		{
			data_row(ms[e], m, d, i);
			dlf_scorer_run(ms[e], mo);
			for (int j = 0; j < nout; j++)
				mean[j] += mo[j] / 4;
		}
		for (int j = 0; j < nout; j++)
		{
			double		dev = fabs(out[j] - mean[j]) /
				(task == DLF_TASK_REGRESSION ? fabs(mean[j]) : 1.0);

			if (dev > worst)
				worst = dev;
		}
	}
	ok(worst < 2e-6, "%s: score is the members' mean (worst deviation %g)", t, worst);
	for (int e = 0; e < 4; e++)
		dlf_scorer_free(ms[e]);
	dlf_scorer_free(s);
	free_data(d);
	dlf_model_free(m);
}

/* Attributions are complete, and without calibration the members' mean. */
static void
test_explain(int calib, const char *t)
{
	DlfModel   *m = train_ens(DLF_TASK_BINARY, 2, 3, DLF_ENS_SEEDS, 0, calib, NULL, NULL);
	DlfDataset *d;
	DlfScorer  *s,
			   *ms[3];
	DlfExplainer *x,
			   *mx[3];
	DlfModel	v[3];
	float	   *W[3][DLF_MAX_HIDDEN + 1],
			   *B[3][DLF_MAX_HIDDEN + 1];
	DlfError	err;
	double		contrib[8],
				mc[8];
	double		worst_gap = 0.0,
				worst_mean = 0.0;
	int			fails = 0;

	ok(m != NULL, "%s: trains", t);
	if (!m)
		return;
	d = synth(m, 20, 6);
	s = dlf_scorer_new(m, &err);
	x = dlf_explainer_new(m, &err);
	for (int e = 0; e < 3; e++)
	{
		v[e] = member_view(m, e, W[e], B[e]);
		ms[e] = dlf_scorer_new(&v[e], &err);
		mx[e] = dlf_explainer_new(&v[e], &err);
	}
	for (int64_t i = 0; i < d->nrows; i++)
	{
		DlfExplanation ex = {.contrib = contrib};
		double		mean[8] = {0};

		data_row(s, m, d, i);
		if (dlf_explain(x, s, &ex, &err) != DLF_OK)
		{
			fails++;
			continue;
		}
		if (fabs(ex.gap) > worst_gap)
			worst_gap = fabs(ex.gap);
		for (int e = 0; e < 3 && !calib; e++)
		{
			DlfExplanation me = {.contrib = mc};

			data_row(ms[e], m, d, i);
			if (dlf_explain(mx[e], ms[e], &me, &err) != DLF_OK)
				fails++;
			for (int f = 0; f < m->nfeatures; f++)
				mean[f] += mc[f] / 3;
		}
		for (int f = 0; f < m->nfeatures && !calib; f++)
			if (fabs(mean[f] - contrib[f]) > worst_mean)
				worst_mean = fabs(mean[f] - contrib[f]);
	}
	ok(fails == 0, "%s: every row explains (%d failures)", t, fails);
	ok(worst_gap <= DLF_EXPLAIN_TOLERANCE, "%s: completeness (worst gap %g)", t, worst_gap);
	if (!calib)
		ok(worst_mean < 1e-5, "%s: the members' mean attributions (worst %g)", t, worst_mean);
	for (int e = 0; e < 3; e++)
	{
		dlf_explainer_free(mx[e]);
		dlf_scorer_free(ms[e]);
	}
	dlf_explainer_free(x);
	dlf_scorer_free(s);
	free_data(d);
	dlf_model_free(m);
}

/* Same multiset of rows, same bytes; version 2; decoding round-trips. */
static void
test_bytes(int sample, const char *t)
{
	uint8_t    *b1 = NULL,
			   *b2 = NULL,
			   *b3 = NULL;
	size_t		l1 = 0,
				l2 = 0,
				l3 = 0;
	DlfModel   *m1 = train_ens(DLF_TASK_BINARY, 2, 3, sample, 0, 0, &b1, &l1);
	DlfModel   *m2 = train_ens(DLF_TASK_BINARY, 2, 3, sample, 1, 0, &b2, &l2);
	DlfModel   *dm = NULL;
	DlfError	err;

	ok(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0,
	   "%s: same rows in another order give the same bytes", t);
	ok(b1 && b1[8] == 2 && b1[9] == 0, "%s: written as format version 2", t);
	ok(b1 && dlf_model_decode(b1, l1, &dm, &err) == DLF_OK && dm->nmembers == 3,
	   "%s: decodes with its three members", t);
	ok(dm && dlf_model_encode(dm, &b3, &l3, &err) == DLF_OK && l3 == l1 &&
	   memcmp(b1, b3, l1) == 0, "%s: decoding and encoding round-trips", t);
	ok(m1 && m1->metric_values && m1->nmetrics > 0 && m1->score_dist.nbins > 0,
	   "%s: validation metrics and distributions recorded", t);
	dlf_free(b1);
	dlf_free(b2);
	dlf_free(b3);
	dlf_model_free(m1);
	dlf_model_free(m2);
	dlf_model_free(dm);
}

/* Forged ENSEMBLE sections and version mismatches are refused. */
static void
test_codec(void)
{
	uint8_t    *b = NULL,
			   *one = NULL;
	size_t		len = 0,
				lone = 0;
	DlfModel   *m = train_ens(DLF_TASK_BINARY, 2, 2, DLF_ENS_SEEDS, 0, 0, &b, &len);
	DlfModel   *dm = NULL;
	DlfError	err;
	uint8_t    *c;
	size_t		pos = DLF_HEADER_SIZE;
	int			n = 0;

	if (!m || !b)
	{
		ok(0, "codec: trains");
		return;
	}
	/* find section 11 */
	while (pos + 6 <= len && (c = b + pos, c[0] | (c[1] << 8)) != 11)
		pos += 6 + (size_t) (c[2] | (c[3] << 8) | (c[4] << 16) | ((uint32_t) c[5] << 24));
	ok(pos + 6 < len, "codec: section ENSEMBLE is there");
	c = malloc(len);

	/* the count says more members than the bytes hold */
	memcpy(c, b, len);
	c[pos + 6] = 5;
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, len, &dm, &err) == DLF_ERR_CORRUPT &&
	   strstr(err.detail, "ENSEMBLE") != NULL, "codec: forged count refused (%s)", err.detail);
	/* zero further members */
	memcpy(c, b, len);
	memset(c + pos + 6, 0, 4);
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, len, &dm, &err) == DLF_ERR_CORRUPT, "codec: no members refused");
	/* a non-finite member weight */
	memcpy(c, b, len);
	memset(c + pos + 10, 0xff, 4);
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, len, &dm, &err) == DLF_ERR_CORRUPT &&
	   strstr(err.detail, "member") != NULL, "codec: NaN weight refused (%s)", err.detail);
	/* version 1 with an eleventh section */
	memcpy(c, b, len);
	c[8] = 1;
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, len, &dm, &err) == DLF_ERR_CORRUPT, "codec: version 1 with ENSEMBLE refused (%s)", err.detail);
	/* version 2 without it */
	memcpy(c, b, pos);
	*(uint32_t *) (c + 12) = (uint32_t) pos;
	*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, pos - DLF_HEADER_SIZE);
	ok(dlf_model_decode(c, pos, &dm, &err) == DLF_ERR_CORRUPT &&
	   strstr(err.detail, "ENSEMBLE") != NULL, "codec: version 2 without ENSEMBLE refused (%s)", err.detail);
	/* every truncation fails cleanly */
	for (size_t cut = pos; cut < len; cut += 7)
	{
		memcpy(c, b, cut);
		*(uint32_t *) (c + 12) = (uint32_t) cut;
		*(uint32_t *) (c + 16) = dlf_crc32(c + DLF_HEADER_SIZE, cut - DLF_HEADER_SIZE);
		n += dlf_model_decode(c, cut, &dm, &err) == DLF_ERR_CORRUPT;
		if (dm)
			dlf_model_free(dm);
		dm = NULL;
	}
	ok(n == (int) ((len - pos + 6) / 7), "codec: every truncation refused (%d)", n);
	/* one network: version 1, as before */
	dlf_model_free(m);
	m = train_ens(DLF_TASK_BINARY, 2, 1, DLF_ENS_SEEDS, 0, 0, &one, &lone);
	ok(one && one[8] == 1 && m->nmembers == 0, "codec: ensemble 1 is format version 1");
	free(c);
	dlf_free(b);
	dlf_free(one);
	dlf_model_free(m);
}

/* Limits and options. */
static void
test_limits(void)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
	DlfDataset *d = synth(m, 300, 3);
	DlfTrainOptions opt;
	DlfError	err;
	DlfModel   *e = train_ens(DLF_TASK_BINARY, 2, 2, DLF_ENS_SEEDS, 0, 0, NULL, NULL);

	dlf_train_options_default(&opt);
	opt.ensemble = DLF_MAX_ENSEMBLE + 1;
	ok(dlf_train_auto(m, d, &opt, NULL, &err) == DLF_ERR_INVALID,
	   "ensemble above %d refused", DLF_MAX_ENSEMBLE);
	dlf_train_options_default(&opt);
	opt.init = e;
	opt.epochs = 2;
	opt.hidden[0] = 8;			/* train_ens's shape */
	opt.hidden[1] = 4;
	ok(dlf_train_auto(m, d, &opt, NULL, &err) == DLF_OK && dlf_model_members(m) == 1,
	   "warm start from an ensemble: one network from its member 0");
	free_data(d);
	dlf_model_free(m);
	dlf_model_free(e);
}

int
main(void)
{
	test_mean(DLF_TASK_BINARY, 2, "binary");
	test_mean(DLF_TASK_MULTICLASS, 3, "multiclass");
	test_mean(DLF_TASK_REGRESSION, 0, "regression");
	test_explain(DLF_CALIB_NONE, "explain");
	test_explain(DLF_CALIB_PLATT, "explain platt");
	test_explain(DLF_CALIB_ISOTONIC, "explain isotonic");
	test_bytes(DLF_ENS_SEEDS, "seeds");
	test_bytes(DLF_ENS_BOOTSTRAP, "bootstrap");
	test_bytes(DLF_ENS_FOLDS, "folds");
	test_codec();
	test_limits();
	return done_testing();
}
