/*
 * test_points.c
 *	  Unit tests of score points (src/core/points.c): the scale's
 *	  convention, points of probabilities and logits, completeness of
 *	  points-based explanations, and reasons by points lost.
 */
#include "dlfin_core.h"
#include "nn_internal.h"
#include "points.h"
#include "synth.h"
#include "tap.h"

#include <string.h>

static const DlfPointsScale scale = {600.0, 50.0, 20.0, 1};

/* The convention: base odds score base points; doubling adds pdo. */
static void
test_scale(void)
{
	double		p50 = 50.0 / 51.0,	/* good:bad 50:1 */
				p100 = 100.0 / 101.0;

	is_near(dlf_points_factor(&scale), 20.0 / log(2.0), 1e-12, "factor = pdo / ln 2");
	is_near(dlf_points_of_prob(&scale, DLF_ADVERSE_NEGATIVE, p50), 600.0, 1e-9,
			"odds 50:1 of the good (positive) class score 600");
	is_near(dlf_points_of_prob(&scale, DLF_ADVERSE_NEGATIVE, p100), 620.0, 1e-9,
			"doubling the odds adds pdo");
	is_near(dlf_points_of_prob(&scale, DLF_ADVERSE_POSITIVE, 1.0 - p50), 600.0, 1e-9,
			"with adverse positive the negative class is the good one");
	ok(isfinite(dlf_points_of_prob(&scale, DLF_ADVERSE_NEGATIVE, 1.0)) &&
	   isfinite(dlf_points_of_prob(&scale, DLF_ADVERSE_NEGATIVE, 0.0)),
	   "probabilities 0 and 1 give finite points");
}

/* Points-based explanations add up within 1e-6 points on random rows. */
static void
check_points(const DlfModel *m, const char *what)
{
	DlfError	err;
	DlfScorer  *s = dlf_scorer_new(m, &err);
	DlfExplainer *e = dlf_explainer_new(m, &err);
	double		contrib[16],
				out[2],
				worst = 0.0,
				worst_score = 0.0;
	int			fails = 0;
	DlfRng		r;

	dlf_explainer_set_points(e, &scale);
	dlf_rng_seed(&r, 5);
	for (int i = 0; i < 200; i++)
	{
		DlfExplanation ex;
		double		sum = 0.0;

		ex.contrib = contrib;
		random_row(s, m, &r);
		if (dlf_explain(e, s, &ex, &err) != DLF_OK)
		{
			fails++;
			continue;
		}
		for (int f = 0; f < m->nfeatures; f++)
			sum += contrib[f];
		worst = fmax(worst, fabs(sum - (ex.score - ex.baseline)));
		dlf_scorer_run(s, out);
		worst_score = fmax(worst_score,
						   fabs(dlf_points_of_prob(&scale, m->adverse, out[0]) - ex.score));
	}
	ok(fails == 0, "%s: every points explanation succeeds", what);
	ok(worst <= 1e-6, "%s: points add up to score - baseline within 1e-6 (worst %.2g)", what, worst);
	ok(worst_score <= 1e-2, "%s: the explained score is the scorer's points (worst %.2g)",
	   what, worst_score);
	dlf_explainer_free(e);
	dlf_scorer_free(s);
}

/* Completeness for activations, calibrations and the adverse side. */
static void
test_explain(void)
{
	static const char *const names[] = {"relu", "tanh", "platt", "sigmoid", "adverse positive"};

	for (int k = 0; k < 5; k++)
	{
		DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
		DlfDataset *d = synth(m, 2000, 21 + k);

		if (k == 2)
			m->calibration = DLF_CALIB_PLATT;
		if (k == 4)
			m->adverse = DLF_ADVERSE_POSITIVE;
		if (train_quiet(m, d, k == 1 ? DLF_ACT_TANH : k == 3 ? DLF_ACT_SIGMOID : DLF_ACT_RELU, 20))
			check_points(m, names[k]);
		dlf_model_free(m);
		free_data(d);
	}
}

/* Reasons by points lost: most negative first, ties by position. */
static void
test_reasons(void)
{
	double		p[6] = {-3.0, 4.0, -7.5, -3.0, 0.0, -1.0};
	int32_t		idx[6];
	int32_t		n = dlf_points_reasons(p, 6, 3, idx);

	ok(n == 3 && idx[0] == 2 && idx[1] == 0 && idx[2] == 3,
	   "the three largest losses, ties in feature order");
	n = dlf_points_reasons(p, 6, 6, idx);
	ok(n == 4 && idx[3] == 5, "features gaining points are never reasons");
	ok(dlf_points_reasons(p, 6, 0, idx) == 0, "k = 0 gives none");
}

int
main(void)
{
	test_scale();
	test_explain();
	test_reasons();
	return done_testing();
}
