/*
 * test_fairness.c
 *	  Unit tests of the fairness maths of dlfin_fairness (src/core/fairness.c):
 *	  counts, rates, the exact four-fifths test, reference group and gaps.
 */
#include "fairness.h"
#include "tap.h"

#include <math.h>
#include <string.h>

/* Counting rows, adding counts and checking their consistency. */
static void
test_counts(void)
{
	DlfFairCounts a = {0},
				b = {0};

	dlf_fair_count(&a, 0.9, true, 0.5);	/* tp */
	dlf_fair_count(&a, 0.5, false, 0.5);	/* fp: the threshold approves */
	dlf_fair_count(&a, 0.1, true, 0.5);	/* fn */
	ok(a.n == 3 && a.approved == 2 && a.pos == 2 && a.tp == 1 && a.fp == 1,
	   "one row of each kind is counted");
	ok(dlf_fair_counts_valid(&a), "counted rows are consistent");
	dlf_fair_count(&b, 0.2, false, 0.5);
	dlf_fair_add(&a, &b);
	ok(a.n == 4 && a.approved == 2 && a.pos == 2, "counts add");
	b = a;
	b.tp = 2;
	ok(!dlf_fair_counts_valid(&b), "tp + fp must equal approved");
	memset(&b, 0, sizeof(b));
	ok(!dlf_fair_counts_valid(&b), "an empty group is not valid in a state");
}

/* Rates, the adverse impact ratio at exactly four fifths, the summary. */
static void
test_rates(void)
{
	/* approval rates 1.0, 0.8 (exactly 4/5: passes), 0.75 (fails) */
	DlfFairCounts g[3] = {
		{.n = 5, .approved = 5, .pos = 3, .tp = 3, .fp = 2},
		{.n = 10, .approved = 8, .pos = 4, .tp = 2, .fp = 6},
		{.n = 4, .approved = 3, .pos = 0, .tp = 0, .fp = 3},
	};
	DlfFairRates r;
	double		parity,
				opportunity;
	int			ref = dlf_fair_summary(g, 3, sizeof(DlfFairCounts), &parity, &opportunity);

	ok(ref == 0, "the most-approved group is the reference");
	is_near(parity, 0.25, 1e-15, "parity difference: 1.0 - 0.75");
	is_near(opportunity, 0.5, 1e-15, "equal opportunity over groups with positives: 1.0 - 0.5");
	dlf_fair_rates(&g[1], &g[ref], &r);
	ok(r.adverse_impact_ratio == 0.8 && !r.four_fifths_violation, "exactly 0.8 passes the four-fifths rule");
	is_near(r.tpr, 0.5, 0, "TPR");
	is_near(r.fpr, 1.0, 0, "FPR");
	dlf_fair_rates(&g[2], &g[ref], &r);
	ok(r.four_fifths_violation && isnan(r.tpr), "0.75 fails; no positives, no TPR");
	g[0].approved = g[0].tp = g[0].fp = 0;
	dlf_fair_rates(&g[1], &g[0], &r);
	ok(isnan(r.adverse_impact_ratio) && !r.four_fifths_violation,
	   "a reference that approves none gives no ratio");
	ok(dlf_fair_summary(g, 0, sizeof(DlfFairCounts), &parity, &opportunity) == -1 &&
	   isnan(parity) && isnan(opportunity), "no groups: no reference, NaN gaps");
}

int
main(void)
{
	test_counts();
	test_rates();
	return done_testing();
}
