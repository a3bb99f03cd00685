/*
 * test_modelcheck.c
 *	  Unit tests of the model card's checks: monotone sweeps and per-group
 *	  held-out performance (src/core/modelcheck.c).
 */
#include "dlfin_core.h"
#include "dlfin_metrics.h"
#include "modelcheck.h"
#include "tap.h"
#include "fixtures.h"

#include <string.h>

/* Interrupt callback that always asks to stop. */
static int
always_stop(void *arg)
{
	return 1;
}

/* A linear model sweeps monotonically: one direction holds, the other fails. */
static void
test_monotone(void)
{
	DlfModel   *m = fx_model(DLF_TASK_REGRESSION, 0, 0, 0);
	DlfError	err;
	DlfScorer  *sc = dlf_scorer_new(m, &err);
	double		out[4];
	DlfMonotoneCheck up,
				down;

	ok(sc != NULL, "scorer of a linear regression model");
	m->features[0].monotone = 1;
	ok(dlf_monotone_check(sc, m, 0, out, NULL, NULL, &up, &err) == DLF_OK, "increasing check runs");
	m->features[0].monotone = -1;
	ok(dlf_monotone_check(sc, m, 0, out, NULL, NULL, &down, &err) == DLF_OK, "decreasing check runs");
	ok((up.violations == 0) != (down.violations == 0),
	   "a linear model holds one direction and violates the other (%lld, %lld)",
	   (long long) up.violations, (long long) down.violations);
	ok(up.violations + down.violations == DLF_MONO_CONTEXTS + 1,
	   "every sweep of the wrong direction is a violation");
	ok(up.worst <= 0 && down.worst <= 0 && (up.worst < 0 || down.worst < 0),
	   "the worst step is reported against the constraint");
	ok(up.first == down.first && up.last == down.last && up.first != up.last,
	   "both ends of the baseline sweep are reported");
	ok(dlf_monotone_check(sc, m, 0, out, always_stop, NULL, &up, &err) == DLF_ERR_INTERRUPTED,
	   "the check answers an interrupt");
	dlf_scorer_free(sc);
	dlf_model_free(m);
}

/* Groups: NULL first, then byte order; counts, mean score, AUC, truncation. */
static void
test_groups(void)
{
	double		score[] = {0.9, 0.1, 0.8, 0.2, 0.7, 0.6, 0.3, 0.5};
	bool		label[] = {true, false, true, false, false, true, true, false};
	char	   *group[] = {"b", "b", NULL, "a", "b", "a", NULL, "b"};
	DlfGroupPerf g[3];
	int			ng;
	bool		more;
	DlfError	err;

	ok(dlf_group_performance(score, label, group, 8, 3, g, &ng, &more, NULL, NULL, &err) == DLF_OK,
	   "group performance runs");
	ok(ng == 3 && !more, "three groups, none left out");
	ok(group[g[0].row] == NULL && strcmp(group[g[1].row], "a") == 0 &&
	   strcmp(group[g[2].row], "b") == 0, "NULL group first, then byte order");
	ok(g[0].n == 2 && g[0].positives == 2 && isnan(g[0].auc), "one-class group has no AUC");
	ok(g[1].n == 2 && g[1].positives == 1 && g[1].auc == 1.0, "group a: AUC 1");
	is_near(g[2].mean_score, (0.9 + 0.1 + 0.7 + 0.5) / 4, 1e-15, "group b: mean score");
	is_near(g[2].auc, 1.0, 1e-15, "group b: AUC 1 (0.9 above 0.7, 0.5, 0.1)");
	ok(dlf_group_performance(score, label, group, 8, 2, g, &ng, &more, NULL, NULL, &err) == DLF_OK &&
	   ng == 2 && more, "groups beyond the limit are left out and flagged");
	ok(dlf_group_performance(score, label, group, 0, 2, g, &ng, &more, NULL, NULL, &err) == DLF_OK &&
	   ng == 0 && !more, "no rows, no groups");
}

int
main(void)
{
	test_monotone();
	test_groups();
	return done_testing();
}
