/*
 * test_metrics.c
 *	  Unit tests of the core metrics on small hand-computed vectors.
 */
#include "dlfin_core.h"
#include "dlfin_metrics.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define EPS 1e-12

/* Runs dlf_binary_metrics, failing the test on an error. */
static DlfBinaryMetrics
binm(const double *s, const uint8_t *y, int64_t n, double thr)
{
	DlfBinaryMetrics m;
	DlfError	err;
	DlfStatus	st = dlf_binary_metrics(s, y, n, thr, &m, &err);

	ok(st == DLF_OK, "binary metrics of %lld rows succeed", (long long) n);
	return m;
}

/* Compares doubles for qsort. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* The classic four-row example and its mirror image. */
static void
test_basic(void)
{
	const double s[] = {0.1, 0.4, 0.35, 0.8};
	const double inv[] = {0.9, 0.6, 0.65, 0.2};
	const uint8_t y[] = {0, 0, 1, 1};
	double		copy[4];
	DlfBinaryMetrics m;

	memcpy(copy, s, sizeof(s));
	m = binm(s, y, 4, 0.5);
	ok(memcmp(copy, s, sizeof(s)) == 0, "scores are not modified");
	ok(m.n == 4 && m.positives == 2, "n and positives");
	ok(m.tp == 1 && m.fp == 0 && m.tn == 2 && m.fn == 1, "confusion at 0.5");
	is_near(m.accuracy, 0.75, EPS, "accuracy");
	is_near(m.precision, 1.0, EPS, "precision");
	is_near(m.recall, 0.5, EPS, "recall");
	is_near(m.specificity, 1.0, EPS, "specificity");
	is_near(m.f1, 2.0 / 3.0, EPS, "f1");
	is_near(m.auc, 0.75, EPS, "auc");
	is_near(m.ks, 0.5, EPS, "ks");
	is_near(m.logloss, -(log(0.35) + log(0.8) + log(0.9) + log(0.6)) / 4, 1e-15,
			"logloss");
	is_near(m.brier, (0.01 + 0.16 + 0.4225 + 0.04) / 4, EPS, "brier");
	is_near(m.ece, (0.1 + 0.4 + 0.65 + 0.2) / 4, EPS, "ece");

	m = binm(inv, y, 4, 0.5);
	is_near(m.auc, 0.25, EPS, "auc of reversed scores");
	is_near(m.ks, 0.5, EPS, "ks is two-sided");

	/* threshold is inclusive: score >= threshold is positive */
	m = binm(s, y, 4, 0.35);
	ok(m.tp == 2 && m.fp == 1, "threshold is inclusive");
}

/* Ties are averaged; constant scores give AUC 0.5 and KS 0. */
static void
test_ties(void)
{
	const double s1[] = {0.2, 0.6, 0.6, 0.9};
	const uint8_t y1[] = {0, 1, 0, 1};
	const double s2[] = {0.5, 0.5, 0.5, 0.5, 0.5};
	const uint8_t y2[] = {1, 0, 1, 0, 0};
	DlfBinaryMetrics m;

	m = binm(s1, y1, 4, 0.5);
	is_near(m.auc, 0.875, EPS, "tied pair counts one half");
	is_near(m.ks, 0.5, EPS, "ks with ties");

	m = binm(s2, y2, 5, 0.5);
	is_near(m.auc, 0.5, EPS, "constant scores: auc 0.5");
	is_near(m.ks, 0.0, EPS, "constant scores: ks 0");
	is_near(m.brier, (2 * 0.25 + 3 * 0.25) / 5, EPS, "constant scores: brier");
	is_near(m.logloss, log(2.0), 1e-15, "constant scores: logloss");
	is_near(m.ece, fabs(0.5 - 0.4), EPS, "constant scores: ece");
	ok(m.tp == 2 && m.fp == 3, "constant scores at threshold 0.5");
}

/* A single class, no rows, out-of-range and NaN scores. */
static void
test_degenerate(void)
{
	const double s[] = {0.3, 0.9, 0.0, 1.0};
	const uint8_t ones[] = {1, 1, 1, 1};
	const uint8_t zeros[] = {0, 0, 0, 0};
	const double wide[] = {-2.0, 3.0, 0.5};
	const uint8_t yw[] = {0, 1, 1};
	const double nan_s[] = {0.3, NAN};
	const uint8_t yn[] = {0, 1};
	DlfBinaryMetrics m;
	DlfError	err;

	m = binm(s, ones, 4, 0.5);
	ok(isnan(m.auc) && isnan(m.ks), "single positive class: auc, ks NaN");
	is_near(m.recall, 0.5, EPS, "single positive class: recall");
	is_near(m.specificity, 0.0, EPS, "single positive class: specificity 0");
	is_near(m.logloss, (-log(0.3) - log(0.9) - log(DLF_LOGLOSS_EPS)
						- log(1 - DLF_LOGLOSS_EPS)) / 4, 1e-12,
			"single class: logloss clips 0 and 1");

	m = binm(s, zeros, 4, 0.5);
	ok(isnan(m.auc) && isnan(m.ks), "single negative class: auc, ks NaN");
	ok(m.precision == 0.0 && m.recall == 0.0 && m.f1 == 0.0,
	   "zero denominators give 0, not a division by zero");

	m = binm(s, zeros, 0, 0.5);
	ok(m.n == 0 && isnan(m.accuracy) && isnan(m.auc) && isnan(m.logloss) &&
	   isnan(m.brier), "no rows: NaN everywhere but counts");

	m = binm(wide, yw, 3, 0.5);
	is_near(m.auc, 1.0, EPS, "auc accepts any real scores");
	ok(isnan(m.brier) && isnan(m.ece), "brier and ece NaN outside [0, 1]");
	ok(isfinite(m.logloss), "logloss clips outside [0, 1]");

	ok(dlf_binary_metrics(nan_s, yn, 2, 0.5, &m, &err) == DLF_ERR_INVALID,
	   "NaN score is rejected");
}

/* Regression metrics, including a constant target. */
static void
test_regression(void)
{
	const double p[] = {1, 2, 3};
	const double a[] = {1, 3, 2};
	const double c[] = {5, 5, 5};
	DlfRegressionMetrics r;

	dlf_regression_metrics(p, a, 3, &r);
	ok(r.n == 3, "regression n");
	is_near(r.mse, 2.0 / 3, EPS, "mse");
	is_near(r.rmse, sqrt(2.0 / 3), EPS, "rmse");
	is_near(r.mae, 2.0 / 3, EPS, "mae");
	is_near(r.r2, 0.0, EPS, "r2");
	dlf_regression_metrics(a, a, 3, &r);
	is_near(r.r2, 1.0, EPS, "perfect r2");
	dlf_regression_metrics(p, c, 3, &r);
	ok(isnan(r.r2), "constant actuals: r2 NaN");
	is_near(r.mse, (16 + 9 + 4) / 3.0, EPS, "constant actuals: mse");
	dlf_regression_metrics(p, c, 0, &r);
	ok(r.n == 0 && isnan(r.mse) && isnan(r.r2), "no rows: NaN");
}

/* Multiclass summary and report. */
static void
test_multiclass(void)
{
	const int32_t pred[] = {0, 1, 1, 2};
	const int32_t act[] = {0, 1, 2, 2};
	const int32_t bad[] = {0, 1, 5, 2};
	double		acc,
				mf1;
	DlfError	err;
	int64_t		cm[9] = {0};
	DlfMulticlassReport rep;
	double		prec[3],
				rec[3],
				f1[3];
	int64_t		sup[3];

	ok(dlf_multiclass_summary(pred, act, 4, 3, &acc, &mf1, &err) == DLF_OK,
	   "multiclass summary succeeds");
	is_near(acc, 0.75, EPS, "multiclass accuracy");
	is_near(mf1, (1 + 2.0 / 3 + 2.0 / 3) / 3, EPS, "macro f1");
	ok(dlf_multiclass_summary(pred, act, 4, 4, &acc, &mf1, &err) == DLF_OK,
	   "absent class accepted");
	is_near(mf1, (1 + 2.0 / 3 + 2.0 / 3) / 3, EPS,
			"macro f1 ignores a class absent from both sides");
	ok(dlf_multiclass_summary(pred, bad, 4, 3, &acc, &mf1, &err) ==
	   DLF_ERR_INVALID, "class index out of range is rejected");
	ok(dlf_multiclass_summary(pred, act, 0, 3, &acc, &mf1, &err) == DLF_OK &&
	   isnan(acc) && isnan(mf1), "no rows: NaN");

	for (int i = 0; i < 4; i++)
		cm[act[i] * 3 + pred[i]]++;
	dlf_multiclass_report(cm, 3, &rep, prec, rec, f1, sup);
	is_near(prec[1], 0.5, EPS, "per-class precision");
	is_near(rec[2], 0.5, EPS, "per-class recall");
	ok(sup[2] == 2 && sup[0] == 1, "support");
	is_near(rep.weighted_f1, (1 + 2.0 / 3 + 2 * 2.0 / 3) / 4, EPS,
			"weighted f1");
	is_near(rep.macro_precision, (1 + 0.5 + 1) / 3, EPS, "macro precision");
}

/* ROC points and their subsampling. */
static void
test_roc(void)
{
	double		pos[] = {0.35, 0.8};
	double		neg[] = {0.1, 0.4};
	double		th[5],
				fpr[5],
				tpr[5];
	int64_t		k;

	k = dlf_roc_points(pos, 2, neg, 2, 100, th, fpr, tpr);
	ok(k == 5, "one point per distinct score plus the origin");
	ok(th[0] == 1.8 && th[1] == 0.8 && th[4] == 0.1, "thresholds");
	ok(fpr[0] == 0 && fpr[2] == 0.5 && fpr[4] == 1, "fpr");
	ok(tpr[1] == 0.5 && tpr[3] == 1 && tpr[4] == 1, "tpr");
	k = dlf_roc_points(pos, 2, neg, 2, 3, th, fpr, tpr);
	ok(k == 3 && th[0] == 1.8 && th[1] == 0.4 && th[2] == 0.1,
	   "subsampled curve keeps the ends");
	ok(dlf_roc_points(pos, 2, neg, 0, 10, th, fpr, tpr) == -1,
	   "single class: no curve");
}

/* Deciles of 20 distinct scores and of constant scores. */
static void
test_deciles(void)
{
	double		pos[6],
				neg[14];
	double		cpos[2] = {0.5, 0.5},
				cneg[3] = {0.5, 0.5, 0.5};
	DlfDecile	d[10];
	int			np = 0,
				nn = 0;

	/* scores 0.00 .. 0.19, the 6 highest positive */
	for (int i = 0; i < 20; i++)
	{
		if (i >= 14)
			pos[np++] = i / 100.0;
		else
			neg[nn++] = i / 100.0;
	}
	dlf_deciles(pos, np, neg, nn, d);
	ok(d[0].count == 2 && d[9].count == 2, "two rows per decile");
	ok(d[0].positives == 2 && d[2].positives == 2 && d[3].positives == 0,
	   "positives by decile");
	is_near(d[0].lift, 1.0 / 0.3, EPS, "lift of the top decile");
	is_near(d[1].cumulative_capture, 4.0 / 6, EPS, "cumulative capture");
	ok(d[0].max_score == 0.19 && d[0].min_score == 0.18, "score range");
	dlf_deciles(cpos, 2, cneg, 3, d);
	ok(d[5].count == 5 && d[0].count == 0 && isnan(d[0].positive_rate),
	   "equal scores stay in one decile");
}

/* Sorting and exact sums do not depend on the input order. */
static void
test_order_independence(void)
{
	enum
	{
	N = 20000};
	static double a[N],
				b[N];
	DlfRng		rng;
	DlfExactSum s1 = {0},
				s2 = {0},
				h1 = {0},
				h2 = {0};
	int			same = 1;

	dlf_rng_seed(&rng, 42);
	for (int i = 0; i < N; i++)
		a[i] = (double) dlf_rng_below(&rng, 50) / 7.0;	/* many ties */
	memcpy(b, a, sizeof(a));
	for (int i = 0; i < N; i++)
		dlf_exact_add(&s1, a[i]);
	for (int i = N - 1; i >= 0; i--)
		dlf_exact_add(i % 2 ? &h1 : &h2, a[i]);
	dlf_exact_merge(&s2, &h2);
	dlf_exact_merge(&s2, &h1);
	ok(s1.acc == s2.acc, "exact sum is the same in any order and merge");
	dlf_sort_doubles(a, N);
	qsort(b, N, sizeof(double), cmp_double);
	for (int i = 0; i < N; i++)
		if (a[i] != b[i])
			same = 0;
	ok(same, "introsort agrees with qsort on %d values with ties", N);
	for (int i = 0; i < N; i++)
		a[i] = (double) (N - i);
	dlf_sort_doubles(a, N);
	same = 1;
	for (int i = 1; i < N; i++)
		if (a[i - 1] > a[i])
			same = 0;
	ok(same, "descending input sorted");
	ok(!dlf_exact_add(&s1, -1.0) && !dlf_exact_add(&s1, NAN) &&
	   !dlf_exact_add(&s1, 100.0), "exact sum rejects out-of-range terms");
}

/* Stop callback: asks to stop from its *arg-th call on. */
static int
stop_after(void *arg)
{
	int		   *left = arg;

	return --*left <= 0;
}

/* The cancellable sort stops when asked, loses nothing and can finish. */
static void
test_sort_until(void)
{
	int64_t		n = 3000000;
	double	   *v = malloc(sizeof(double) * n);
	double	   *ref = malloc(sizeof(double) * n);
	DlfRng		r;
	int			calls = 1;
	int			same = 1,
				sorted = 1;

	dlf_rng_seed(&r, 5);
	for (int64_t i = 0; i < n; i++)
		v[i] = ref[i] = (double) (dlf_rng_next(&r) % 1000003);
	qsort(ref, n, sizeof(double), cmp_double);
	ok(dlf_sort_doubles_until(v, n, stop_after, &calls) != 0,
	   "the sort stops when the callback asks");
	for (int64_t i = 1; i < n; i++)
		sorted &= !(v[i] < v[i - 1]);
	ok(!sorted, "a stopped sort is left unfinished");
	ok(dlf_sort_doubles_until(v, n, NULL, NULL) == 0,
	   "the sort finishes without a callback");
	for (int64_t i = 0; i < n; i++)
		same &= v[i] == ref[i];
	ok(same, "stopping and resuming loses and adds nothing");
	calls = 1;
	ok(dlf_sort_doubles_until(v, n, stop_after, &calls) == 0 && calls == 1,
	   "sorted input is seen in one pass, without asking");
	free(v);
	free(ref);
}

int
main(void)
{
	test_basic();
	test_ties();
	test_degenerate();
	test_regression();
	test_multiclass();
	test_roc();
	test_deciles();
	test_order_independence();
	test_sort_until();
	return done_testing();
}
