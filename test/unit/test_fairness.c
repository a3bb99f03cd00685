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

/* Fisher's exact test against SciPy 1.10's fisher_exact (two-sided). */
static void
test_fisher(void)
{
	static const struct
	{
		int64_t		a, b, c, d;
		double		p;
	}			ref[] = {
		{3, 7, 9, 1, 0.019766611097880443},
		{1, 4, 40, 10, 0.012373083405269863},
		{0, 5, 30, 2, 4.817651876475405e-05},
		{2, 2, 2, 2, 1.0},
		{10, 3, 4, 12, 0.009220570313398513},
		{5, 0, 0, 5, 0.007936507936507938},
		{1, 1, 3, 0, 0.4000000000000001},
	};

	for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++)
		is_near(dlf_fisher_exact(ref[i].a, ref[i].b, ref[i].c, ref[i].d), ref[i].p, 1e-12,
				"Fisher [[%lld, %lld], [%lld, %lld]] = SciPy's %.17g",
				(long long) ref[i].a, (long long) ref[i].b, (long long) ref[i].c,
				(long long) ref[i].d, ref[i].p);
	ok(dlf_fisher_exact(0, 0, 3, 4) == 1.0, "an empty row gives 1");
}

/* The z-test, SMD, marginal effect and the test switch. */
static void
test_significance(void)
{
	double		z,
				p = dlf_two_prop_z(420, 1000, 520, 1000, &z);
	DlfFairCounts g = {0},
				r = {0};
	DlfFairTest t;
	double		mg,
				mr,
				v;

	is_near(z, -4.480207599709123, 1e-12, "pooled two-proportion z");
	is_near(p, 7.45704732623617e-06, 1e-15, "its two-sided p-value");
	ok(isnan(dlf_two_prop_z(5, 5, 7, 7, &z)), "no variance: NaN");
	/* scores 0.1, 0.2, ... : group 10 rows, reference 20 rows */
	for (int i = 1; i <= 10; i++)
		dlf_fair_count(&g, i / 20.0, false, 0.3);
	for (int i = 1; i <= 20; i++)
		dlf_fair_count(&r, i / 20.0, false, 0.3);
	mg = 5.5 / 20.0;
	mr = 10.5 / 20.0;
	v = 0.0;
	for (int i = 1; i <= 10; i++)
		v += (i / 20.0 - mg) * (i / 20.0 - mg);
	for (int i = 1; i <= 20; i++)
		v += (i / 20.0 - mr) * (i / 20.0 - mr);
	v /= 28.0;
	dlf_fair_test(&g, &r, &t);
	is_near(t.smd, (mg - mr) / sqrt(v), 1e-12, "SMD is Cohen's d with the pooled variance");
	is_near(t.marginal_effect, 5.0 / 10.0 - 15.0 / 20.0, 1e-15, "marginal effect: difference of approval rates");
	ok(t.exact, "expected counts below 5: Fisher's exact test");
	is_near(t.p_value, dlf_fisher_exact(5, 5, 15, 5), 1e-15, "on the table of approvals");
	ok(!t.practically_significant, "not significant at 0.05: not flagged");
	{
		DlfFairCounts a = {0},
					b = {0};

		a.n = 1000, a.approved = 420, b.n = 1000, b.approved = 520;
		a.fp = 420, b.fp = 520;
		dlf_fair_test(&a, &b, &t);
		ok(!t.exact && t.practically_significant == false, "z-test; ratio 0.81 is not adverse");
		a.approved = a.fp = 400;
		dlf_fair_test(&a, &b, &t);
		ok(t.practically_significant, "ratio 0.77 with p < 0.05 is flagged");
	}
	{
		DlfFairCounts a = {0},
					b = {0},
					c;

		/* moments combine in any split */
		for (int i = 0; i < 7; i++)
			dlf_fair_count(&a, 600 + i * 13.0, true, 0.5);
		for (int i = 7; i < 30; i++)
			dlf_fair_count(&b, 600 + i * 13.0, true, 0.5);
		c = a;
		dlf_fair_add(&c, &b);
		memset(&a, 0, sizeof(a));
		for (int i = 0; i < 30; i++)
			dlf_fair_count(&a, 600 + i * 13.0, true, 0.5);
		{
			double		m1,
						s1,
						m2,
						s2,
						v = 0.0;

			dlf_fair_moments(&c, &m1, &s1);
			dlf_fair_moments(&a, &m2, &s2);
			for (int i = 0; i < 30; i++)
				v += (i * 13.0 - 14.5 * 13.0) * (i * 13.0 - 14.5 * 13.0);
			ok(m1 == m2 && s1 == s2, "moments do not depend on how rows were split");
			is_near(m1, 600 + 14.5 * 13.0, 1e-12, "mean");
			is_near(s1, v, 1e-9, "sum of squared deviations");
		}
	}
}

int
main(void)
{
	test_fisher();
	test_significance();
	test_counts();
	test_rates();
	return done_testing();
}
