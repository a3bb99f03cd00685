/*
 * test_explain.c
 *	  Unit tests of explanation and governance: completeness of integrated
 *	  gradients, reason codes, monotone constraints on random pairs,
 *	  calibration, permutation importance, distributions and PSI.
 */
#include "dlfin_core.h"
#include "nn_internal.h"
#include "synth.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Completeness and agreement with the scorer on random rows. */
static void
check_completeness(const DlfModel *m, const char *what, int nrows)
{
	DlfError	err;
	DlfScorer  *s = dlf_scorer_new(m, &err);
	DlfExplainer *e = dlf_explainer_new(m, &err);
	double		contrib[16],
				out[8],
				worst = 0.0,
				worst_score = 0.0;
	int			fails = 0,
				maxsteps = 0;
	DlfRng		r;
	double		unit = m->task == DLF_TASK_REGRESSION ? m->target_scale : 1.0;

	dlf_rng_seed(&r, 99);
	for (int i = 0; i < nrows; i++)
	{
		DlfExplanation ex;
		double		sum = 0.0,
					sc;

		ex.contrib = contrib;
		random_row(s, m, &r);
		if (dlf_explain(e, s, &ex, &err) != DLF_OK)
			fails++;
		for (int f = 0; f < m->nfeatures; f++)
			sum += contrib[f];
		if (fabs(sum - (ex.score - ex.baseline)) > worst)
			worst = fabs(sum - (ex.score - ex.baseline));
		dlf_scorer_run(s, out);
		sc = m->task == DLF_TASK_MULTICLASS ? out[ex.klass] : out[0];
		if (fabs(sc - ex.score) > worst_score)
			worst_score = fabs(sc - ex.score);
		if (ex.steps > maxsteps)
			maxsteps = ex.steps;
	}
	ok(fails == 0, "%s: every explanation succeeds", what);
	ok(worst <= 1e-4 * unit, "%s: |sum(contrib) - (score - baseline)| <= 1e-4 on %d rows (worst %.2g, max steps %d)",
	   what, nrows, worst / unit, maxsteps);
	ok(worst_score <= 1e-4 * unit, "%s: explained score matches the scorer (worst %.2g)",
	   what, worst_score / unit);
	dlf_explainer_free(e);
	dlf_scorer_free(s);
}

/* Explanations: completeness for every task, activation and calibration. */
static void
test_completeness(void)
{
	static const int acts[] = {DLF_ACT_RELU, DLF_ACT_TANH, DLF_ACT_SIGMOID, DLF_ACT_LEAKY_RELU};
	static const char *const names[] = {"relu", "tanh", "sigmoid", "leaky_relu"};

	for (int a = 0; a < 4; a++)
	{
		DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
		DlfDataset *d = synth(m, 1500, 7 + a);
		char		what[64];

		snprintf(what, sizeof(what), "binary %s", names[a]);
		if (train_quiet(m, d, acts[a], 20))
			check_completeness(m, what, 200);
		dlf_model_free(m);
		free_data(d);
	}
	{
		DlfModel   *m = schema(DLF_TASK_REGRESSION, 0, 3, 3);
		DlfDataset *d = synth(m, 1500, 3);

		if (train_quiet(m, d, DLF_ACT_RELU, 20))
			check_completeness(m, "regression", 200);
		dlf_model_free(m);
		free_data(d);
	}
	{
		DlfModel   *m = schema(DLF_TASK_MULTICLASS, 3, 3, 3);
		DlfDataset *d = synth(m, 1500, 4);

		if (train_quiet(m, d, DLF_ACT_RELU, 20))
			check_completeness(m, "multiclass", 200);
		dlf_model_free(m);
		free_data(d);
	}
	for (int cal = DLF_CALIB_PLATT; cal <= DLF_CALIB_ISOTONIC; cal++)
	{
		DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
		DlfDataset *d = synth(m, 3000, 11);

		m->calibration = (uint8_t) cal;
		if (train_quiet(m, d, DLF_ACT_RELU, 20))
		{
			ok(m->calibration == cal, "calibration %d is recorded", cal);
			/*
			 * Both maps are fitted on these rows, but Platt scaling
			 * minimises log loss, not ECE: on an already calibrated
			 * network it may move ECE by sampling noise either way.
			 */
			ok(isfinite(m->ece_before) && isfinite(m->ece_after) &&
			   m->ece_after <= m->ece_before +
			   (cal == DLF_CALIB_PLATT ? 0.01 : 1e-12),
			   "calibration %d: validation ECE %.4f -> %.4f", cal,
			   m->ece_before, m->ece_after);
			check_completeness(m, cal == DLF_CALIB_PLATT ? "platt" : "isotonic", 200);
			if (cal == DLF_CALIB_PLATT)
				ok(m->platt_a <= 0, "Platt slope keeps scores increasing");
			else
			{
				int			mono = 1;

				for (int32_t i = 1; i < m->niso; i++)
					mono &= m->iso_x[i] >= m->iso_x[i - 1] && m->iso_y[i] >= m->iso_y[i - 1];
				ok(m->niso > 0 && mono, "isotonic map is non-decreasing (%d points)", m->niso);
			}
			{
				uint8_t    *buf;
				size_t		len;
				DlfModel   *back = NULL;
				DlfError	err;

				ok(dlf_model_encode(m, &buf, &len, &err) == DLF_OK &&
				   dlf_model_decode(buf, len, &back, &err) == DLF_OK &&
				   back->calibration == cal && back->niso == m->niso &&
				   back->platt_a == m->platt_a,
				   "calibration survives the codec");
				dlf_model_free(back);
				dlf_free(buf);
			}
		}
		dlf_model_free(m);
		free_data(d);
	}
}

/* Reason codes: adverse side, order, ties, k. */
static void
test_reasons(void)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 5, 0);
	double		c[5] = {-0.1, 0.3, -0.2, -0.1, 0.0};
	int32_t		idx[5];
	int32_t		n;

	n = dlf_reason_features(m, c, 5, idx);
	ok(n == 3 && idx[0] == 2 && idx[1] == 0 && idx[2] == 3,
	   "negative side: most negative first, ties by position, no positive or zero");
	n = dlf_reason_features(m, c, 2, idx);
	ok(n == 2 && idx[0] == 2 && idx[1] == 0, "k limits the list");
	n = dlf_reason_features(m, c, 0, idx);
	ok(n == 0, "k = 0 lists nothing");
	m->adverse = DLF_ADVERSE_POSITIVE;
	n = dlf_reason_features(m, c, 5, idx);
	ok(n == 1 && idx[0] == 1, "positive side lists only positive contributions");
	dlf_model_free(m);
}

/* Monotone constraints: no violation on thousands of random pairs. */
static void
test_monotone(int task)
{
	DlfModel   *m = schema(task, task == DLF_TASK_BINARY ? 2 : 0, 3, 3);
	DlfDataset *d = synth(m, 2000, 21);
	DlfError	err;
	DlfScorer  *s;
	DlfRng		r;
	int			viol = 0,
				moved = 0;
	const int	pairs = 5000;
	const char *what = task == DLF_TASK_BINARY ? "binary" : "regression";

	m->features[0].monotone = 1;
	m->features[1].monotone = -1;
	if (task == DLF_TASK_BINARY)
		m->calibration = DLF_CALIB_PLATT;
	if (!train_quiet(m, d, DLF_ACT_RELU, 15))
	{
		ok(0, "monotone %s model trains", what);
		return;
	}
	s = dlf_scorer_new(m, &err);
	dlf_rng_seed(&r, 5);
	for (int i = 0; i < pairs; i++)
	{
		int			f = i % 2;
		double		lo[1],
					hi[1],
					base[3],
					a,
					b;
		char		cb[16];
		int			c = (int) dlf_rng_below(&r, 5);

		/* a random row, then the same row with feature f moved up */
		for (int k = 0; k < 3; k++)
			base[k] = dlf_rng_normal(&r) * 8.0 + 10.0;
		a = base[f];
		b = a + fabs(dlf_rng_normal(&r)) * (i % 3 == 0 ? 0.01 : 5.0);
		snprintf(cb, sizeof(cb), "c%d", c);
		for (int pass = 0; pass < 2; pass++)
		{
			dlf_scorer_reset(s);
			for (int k = 0; k < 3; k++)
				dlf_scorer_set_numeric(s, k, k == f ? (pass ? b : a) : base[k], 0);
			dlf_scorer_set_category(s, 3, cb, strlen(cb), c == 4);
			dlf_scorer_run(s, pass ? hi : lo);
		}
		if (m->features[f].monotone * (hi[0] - lo[0]) < 0)
			viol++;
		if (hi[0] != lo[0])
			moved++;
	}
	ok(viol == 0, "monotone %s: no violation in %d random pairs", what, pairs);
	ok(moved > pairs / 4, "monotone %s: the constrained features still matter (%d pairs moved)",
	   what, moved);
	{
		int			signs = 1;

		for (int j = 0; j < m->units[1]; j++)
			signs &= m->weights[0][m->features[0].input_offset * m->units[1] + j] >= 0 &&
				m->weights[0][m->features[1].input_offset * m->units[1] + j] <= 0;
		for (int l = 1; l < m->nlayers; l++)
			for (int64_t i = 0; i < (int64_t) m->units[l] * m->units[l + 1]; i++)
				signs &= m->weights[l][i] >= 0;
		ok(signs, "monotone %s: weights have the constrained signs", what);
	}
	dlf_scorer_free(s);
	dlf_model_free(m);
	free_data(d);
}

/* Monotone and calibration requests that cannot be honoured. */
static void
test_govern_errors(void)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 2, 3);
	DlfDataset *d = synth(m, 300, 1);
	DlfTrainOptions opt;
	DlfError	err;

	dlf_train_options_default(&opt);
	opt.epochs = 2;
	m->features[2].monotone = 1;
	ok(dlf_train(m, d, &opt, NULL, &err) == DLF_ERR_INVALID,
	   "categorical monotone is rejected: %s", err.message);
	m->features[2].monotone = 0;
	m->calibration = DLF_CALIB_PLATT;
	opt.validation_fraction = 0;
	ok(dlf_train(m, d, &opt, NULL, &err) == DLF_ERR_INVALID,
	   "calibration without validation is rejected: %s", err.message);
	dlf_model_free(m);
	free_data(d);

	m = schema(DLF_TASK_REGRESSION, 0, 2, 0);
	d = synth(m, 300, 1);
	m->calibration = DLF_CALIB_PLATT;
	opt.validation_fraction = 0.2;
	ok(dlf_train(m, d, &opt, NULL, &err) == DLF_ERR_INVALID,
	   "calibration of a regression is rejected: %s", err.message);
	dlf_model_free(m);
	free_data(d);

	m = schema(DLF_TASK_MULTICLASS, 3, 2, 0);
	d = synth(m, 300, 1);
	m->features[0].monotone = -1;
	ok(dlf_train(m, d, &opt, NULL, &err) == DLF_ERR_INVALID,
	   "monotone multiclass is rejected: %s", err.message);
	dlf_model_free(m);
	free_data(d);
}

/* Importance is deterministic and ranks signal above noise. */
static void
test_importance(void)
{
	double		imp[2][4];

	for (int run = 0; run < 2; run++)
	{
		DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
		DlfDataset *d = synth(m, 3000, 31);

		if (train_quiet(m, d, DLF_ACT_RELU, 15))
			for (int f = 0; f < 4; f++)
				imp[run][f] = m->features[f].importance;
		dlf_model_free(m);
		free_data(d);
	}
	ok(memcmp(imp[0], imp[1], sizeof(imp[0])) == 0, "importance is reproducible");
	ok(imp[0][0] > imp[0][2] && imp[0][1] > imp[0][2] && imp[0][3] > imp[0][2],
	   "signal features beat the noise feature (%.3f %.3f %.3f %.3f)",
	   imp[0][0], imp[0][1], imp[0][2], imp[0][3]);
	ok(fabs(imp[0][2]) < 0.02, "noise feature importance is near zero (%.4f)", imp[0][2]);
}

/* Distributions and PSI. */
static void
test_distributions(void)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
	DlfDataset *d = synth(m, 2000, 41);
	double		sum;
	double		e[3] = {0.5, 0.3, 0.2},
				a[3] = {0.2, 0.3, 0.5},
				z[3] = {0.5, 0.5, 0.0};
	DlfHistogram h;
	double		edges[2] = {1.0, 2.0};

	if (train_quiet(m, d, DLF_ACT_RELU, 5))
	{
		const DlfHistogram *x1 = &m->features[0].dist;
		const DlfHistogram *c = &m->features[3].dist;

		ok(x1->nbins == 10, "numeric feature has 10 decile bins (%d)", x1->nbins);
		sum = 0;
		for (int b = 0; b < x1->nbins; b++)
			sum += x1->share[b];
		is_near(sum, 1.0, 1e-12, "numeric shares sum to 1");
		ok(fabs(x1->share[0] - 0.1) < 0.002, "a decile holds a tenth of the values (%.4f)", x1->share[0]);
		ok(c->nbins == 5, "categorical feature has ncat + 2 bins");
		sum = 0;
		for (int b = 0; b < c->nbins; b++)
			sum += c->share[b];
		is_near(sum, 1.0, 1e-12, "categorical shares sum to 1");
		ok(c->share[4] == 0.0 && c->share[3] > 0.2, "other and missing shares are as in the data");
		ok(m->score_dist.nbins == 10, "score has 10 decile bins");
	}
	is_near(dlf_psi(e, e, 3), 0.0, 1e-15, "PSI of identical shares is 0");
	is_near(dlf_psi(e, a, 3), 0.3 * log(0.2 / 0.5) * -1 + 0.3 * log(0.5 / 0.2), 1e-12,
			"PSI matches the formula");
	is_near(dlf_psi(e, z, 3), 0.0 + 0.2 * log(0.5 / 0.3) + (1e-4 - 0.2) * log(1e-4 / 0.2), 1e-12,
			"PSI floors empty bins at 1e-4");
	ok(strcmp(dlf_psi_band(0.05), "stable") == 0 && strcmp(dlf_psi_band(0.25), "moderate") == 0 &&
	   strcmp(dlf_psi_band(0.26), "significant") == 0, "PSI bands");
	h.nbins = 3;
	h.edges = edges;
	ok(dlf_hist_bin(&h, 0.5) == 0 && dlf_hist_bin(&h, 1.0) == 0 && dlf_hist_bin(&h, 1.5) == 1 &&
	   dlf_hist_bin(&h, 2.0) == 1 && dlf_hist_bin(&h, 9.0) == 2, "edges are inclusive upper bounds");
	dlf_model_free(m);
	free_data(d);
}

/* Orders floats ascending (no NaN here; -0 and +0 compare equal). */
static int
cmp_float(const void *a, const void *b)
{
	float		x = *(const float *) a,
				y = *(const float *) b;

	return x < y ? -1 : x > y;
}

/*
 * The decile bins of a column by sorting its finite values, as
 * distributions.c defines them: edge k is the value of rank
 * ceil(k n / 10) - 1, edges equal to an earlier one or to the maximum are
 * dropped, and bin b holds the values above edge b - 1 and at or below
 * edge b.  Returns the number of bins.
 */
static int
ref_deciles(const float *col, int64_t n, double *edges, double *share)
{
	float	   *v = malloc(sizeof(float) * (n ? n : 1));
	int64_t		nv = 0,
				le = 0,
				below = 0;
	double		at[10];
	int			ne = 0;

	for (int64_t i = 0; i < n; i++)
		if (isfinite(col[i]))
			v[nv++] = col[i];
	qsort(v, nv, sizeof(float), cmp_float);
	for (int k = 1; k <= 10; k++)
		at[k - 1] = v[k < 10 ? (k * nv + 9) / 10 - 1 : nv - 1];
	for (int k = 0; k < 9; k++)
		if (at[k] < at[9] && (ne == 0 || at[k] > edges[ne - 1]))
			edges[ne++] = at[k];
	/* le: the values at or below edge b, counted on from the last edge */
	for (int b = 0; b <= ne; b++)
	{
		while (le < nv && (b == ne || v[le] <= edges[b]))
			le++;
		share[b] = (double) (le - below) / (double) nv;
		below = le;
	}
	free(v);
	return ne + 1;
}

/*
 * Numeric feature distributions equal a sort's, bit for bit, on columns
 * whose deciles share their top digits (the radix selection's third pass
 * then tells several candidate prefixes apart), with ties, zeros of both
 * signs, negative values and NULLs, on one and three threads.
 */
static void
test_decile_exact(void)
{
	for (int threads = 1; threads <= 3; threads += 2)
	{
		DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 1);
		DlfDataset *d = synth(m, 30000, 43);
		DlfTrainOptions opt;
		DlfError	err;
		DlfRng		r;

		dlf_rng_seed(&r, 44);
		for (int64_t i = 0; i < d->nrows; i++)
		{
			double		u = dlf_rng_uniform(&r),
						w = dlf_rng_uniform(&r);

			d->num[0][i] = u < 0.05 ? NAN : u < 0.15 ? 5.0f :
				u < 0.45 ? (float) (1000.0 + 0.5 * w) :
				u < 0.55 ? (i % 2 ? -0.0f : 0.0f) :
				u < 0.7 ? (float) (-100.0 * w) : (float) (1e6 * w);
			d->num[1][i] = (float) (1.0 + 1e-4 * w);
		}
		dlf_train_options_default(&opt);
		opt.epochs = 2;
		opt.nthreads = threads;
		if (dlf_train(m, d, &opt, NULL, &err) != DLF_OK)
			printf("# training failed: %s\n", err.message);
		for (int f = 0; f < 2; f++)
		{
			const DlfHistogram *h = &m->features[f].dist;
			double		edges[9],
						share[10];
			int			nb = ref_deciles(d->num[f], d->nrows, edges, share);
			int			same = h->nbins == nb;

			for (int b = 0; same && b < nb; b++)
				same = share[b] == h->share[b] &&
					(b == nb - 1 || edges[b] == h->edges[b]);
			ok(same, "feature %d's deciles are a sort's (%d threads, %d bins)",
			   f, threads, nb);
		}
		dlf_model_free(m);
		free_data(d);
	}
}

int
main(void)
{
	test_completeness();
	test_reasons();
	test_monotone(DLF_TASK_BINARY);
	test_monotone(DLF_TASK_REGRESSION);
	test_govern_errors();
	test_importance();
	test_distributions();
	test_decile_exact();
	return done_testing();
}
