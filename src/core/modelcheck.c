/*
 * modelcheck.c
 *	  Checks of a trained model for its card: monotone sweeps and per-group
 *	  held-out performance (what src/pg/card_page.c draws).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlfin_core.h"
#include "dlfin_metrics.h"
#include "modelcheck.h"

/* Sets every feature of the scorer to its baseline: training mean or top category. */
static void
set_baseline_row(DlfScorer *sc, const DlfModel *m)
{
	dlf_scorer_reset(sc);
	for (int j = 0; j < m->nfeatures; j++)
	{
		const DlfFeature *o = &m->features[j];

		if (o->woe)
			dlf_scorer_set_woe(sc, j, o->mean);	/* mean and scale are of the WoE */
		else if (o->kind == DLF_FEAT_NUMERIC)
			dlf_scorer_set_numeric(sc, j, o->mean, 0);
		else if (o->ncat > 0)
			dlf_scorer_set_category(sc, j, o->categories[0],
									strlen(o->categories[0]), 0);
		else
			dlf_scorer_set_category(sc, j, NULL, 0, 1);
	}
}

/*
 * Sets every feature of the scorer to a random value: numeric ones drawn
 * from a normal of their training mean and standard deviation, categorical
 * ones a learned category, "other" or NULL.
 */
static void
set_random_row(DlfScorer *sc, const DlfModel *m, DlfRng *rng)
{
	static const char *const unseen = "\x01 a category no model has seen";

	dlf_scorer_reset(sc);
	for (int j = 0; j < m->nfeatures; j++)
	{
		const DlfFeature *o = &m->features[j];

		if (o->woe)
			dlf_scorer_set_woe(sc, j, o->mean + o->scale * dlf_rng_normal(rng));
		else if (o->kind == DLF_FEAT_NUMERIC)
			dlf_scorer_set_numeric(sc, j, o->mean + o->scale * dlf_rng_normal(rng), 0);
		else
		{
			uint64_t	k = dlf_rng_below(rng, (uint64_t) o->ncat + 2);

			if ((int64_t) k < o->ncat)
				dlf_scorer_set_category(sc, j, o->categories[k],
										strlen(o->categories[k]), 0);
			else if ((int64_t) k == o->ncat)
				dlf_scorer_set_category(sc, j, unseen, strlen(unseen), 0);
			else
				dlf_scorer_set_category(sc, j, NULL, 0, 1);
		}
	}
}

/*
 * Sweeps feature f over DLF_MONO_STEPS points of mean +- 3 sd with the
 * other inputs as set; *worst becomes the largest step against the
 * constraint (0 when none), *first and *last the scores at both ends.
 * Nonzero when intr asked to stop.
 */
static int
sweep_feature(DlfScorer *sc, const DlfModel *m, int f, double *out,
			  DlfInterruptFn intr, void *arg,
			  double *worst, double *first, double *last)
{
	const DlfFeature *ft = &m->features[f];
	double		prev = NAN;

	*worst = 0;
	for (int k = 0; k < DLF_MONO_STEPS; k++)
	{
		double		x = ft->mean + ft->scale * (-3.0 + 6.0 * k / (DLF_MONO_STEPS - 1));

		/* a step is a forward pass: of a wide network, milliseconds */
		if (intr && intr(arg))
			return 1;
		if (ft->woe)
			dlf_scorer_set_woe(sc, f, x);	/* a sweep of the WoE input */
		else
			dlf_scorer_set_numeric(sc, f, x, 0);
		dlf_scorer_run(sc, out);
		if (k == 0)
			*first = out[0];
		else if ((out[0] - prev) * ft->monotone < *worst)
			*worst = (out[0] - prev) * ft->monotone;
		prev = out[0];
	}
	*last = prev;
	return 0;
}

DlfStatus
dlf_monotone_check(DlfScorer *sc, const DlfModel *m, int f, double *out,
				   DlfInterruptFn intr, void *arg, DlfMonotoneCheck *res,
				   DlfError *err)
{
	DlfRng		rng;
	double		w,
				f2,
				l2;

	res->violations = 0;
	res->first = res->last = NAN;
	set_baseline_row(sc, m);
	if (sweep_feature(sc, m, f, out, intr, arg, &res->worst, &res->first, &res->last))
		return dlf_fail(err, DLF_ERR_INTERRUPTED, "canceling the monotone check");
	if (res->worst < 0)
		res->violations++;
	/* a fixed seed per feature: the card is a function of the model */
	dlf_rng_seed(&rng, 0x6d6f6e6fULL + (uint64_t) f);
	for (int c = 0; c < DLF_MONO_CONTEXTS; c++)
	{
		set_random_row(sc, m, &rng);
		if (sweep_feature(sc, m, f, out, intr, arg, &w, &f2, &l2))
			return dlf_fail(err, DLF_ERR_INTERRUPTED, "canceling the monotone check");
		if (w < 0)
			res->violations++;
		if (w < res->worst)
			res->worst = w;
	}
	return DLF_OK;
}

/* A held-out row and its group, for ordering rows by group. */
typedef struct GroupRow
{
	const char *group;
	int64_t		row;
} GroupRow;

/* Orders group names with NULL first, then by bytes. */
static int
group_name_cmp(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

/* Orders rows by group, then by position (a stable, deterministic order). */
static int
group_row_cmp(const void *a, const void *b)
{
	const GroupRow *x = a,
			   *y = b;
	int			c = group_name_cmp(x->group, y->group);

	if (c != 0)
		return c;
	return (x->row > y->row) - (x->row < y->row);
}

DlfStatus
dlf_group_performance(const double *score, const bool *label,
					  char *const *group, int64_t n, int max_groups,
					  DlfGroupPerf *out, int *ngroups, bool *more,
					  DlfInterruptFn intr, void *arg, DlfError *err)
{
	GroupRow   *rows;
	double	   *pos,
			   *neg;
	DlfStatus	st = DLF_OK;

	*ngroups = 0;
	*more = false;
	if (n <= 0)
		return DLF_OK;
	rows = dlf_alloc_array((size_t) n, sizeof(GroupRow));
	pos = dlf_alloc_array((size_t) n, sizeof(double));
	neg = dlf_alloc_array((size_t) n, sizeof(double));
	if (rows == NULL || pos == NULL || neg == NULL)
	{
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int64_t i = 0; i < n; i++)
	{
		rows[i].group = group[i];
		rows[i].row = i;
	}
	qsort(rows, (size_t) n, sizeof(GroupRow), group_row_cmp);
	for (int64_t s = 0; s < n;)
	{
		int64_t		e = s,
					np = 0,
					nn = 0;
		double		sum = 0;
		DlfBinaryMetrics gm;
		DlfGroupPerf *g;

		while (e < n && group_name_cmp(rows[s].group, rows[e].group) == 0)
		{
			int64_t		r = rows[e].row;

			sum += score[r];
			if (label[r])
				pos[np++] = score[r];
			else
				neg[nn++] = score[r];
			e++;
		}
		if (*ngroups >= max_groups)
		{
			*more = true;
			break;
		}
		if (dlf_sort_doubles_until(pos, np, intr, arg) ||
			dlf_sort_doubles_until(neg, nn, intr, arg))
		{
			st = dlf_fail(err, DLF_ERR_INTERRUPTED, "canceling the group performance");
			goto done;
		}
		st = dlf_binary_metrics_split(pos, np, neg, nn, 0.5, &gm, err);
		if (st != DLF_OK)
			goto done;
		g = &out[(*ngroups)++];
		g->row = rows[s].row;
		g->n = gm.n;
		g->positives = gm.positives;
		g->mean_score = sum / gm.n;
		g->auc = gm.auc;
		s = e;
	}
done:
	dlf_free(rows);
	dlf_free(pos);
	dlf_free(neg);
	return st;
}
