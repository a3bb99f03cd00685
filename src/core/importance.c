/*
 * importance.c
 *	  Permutation importance of each feature on the validation rows.
 */
#include "govern_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- permutation importance ------------------------------------------------ */

/*
 * Main metric of the logits z against the rows' labels, higher is better:
 * dlf_main_metric's for classification; for regression the negated RMSE,
 * summed plainly (not dlf_main_metric's Kahan sums: the importances
 * stored in models were computed so, and their bytes must not change).
 */
static DlfStatus
main_metric(Gov *g, const uint32_t *rows, int64_t n, const float *z,
			double *score, uint8_t *bin, int32_t *pred, int32_t *act,
			double *out)
{
	const DlfModel *m = g->m;
	int32_t		nout = m->units[m->nlayers];
	const char *name;

	if (m->task == DLF_TASK_REGRESSION)
	{
		double		ss = 0.0;

		for (int64_t i = 0; i < n; i++)
		{
			double		e = (double) z[i] * m->target_scale + m->target_mean -
				dlf_label(g->d, rows[i]);

			ss += e * e;
		}
		*out = -sqrt(ss / n);
		return DLF_OK;
	}
	for (int64_t i = 0; i < n; i++)
	{
		if (m->task == DLF_TASK_BINARY)
		{
			score[i] = 1.0 / (1.0 + exp(-(double) z[i]));
			bin[i] = dlf_label(g->d, rows[i]) > 0.5;
		}
		else
		{
			const float *zr = z + (size_t) i * nout;
			int32_t		am = 0;

			for (int32_t j = 1; j < nout; j++)
				if (zr[j] > zr[am])
					am = j;
			pred[i] = am;
			act[i] = (int32_t) dlf_label(g->d, rows[i]);
		}
	}
	return dlf_main_metric(m->task, m->nclasses, score, bin, NULL, pred, act, n,
						   out, &name, g->err);
}

/* The logits of one network or ensemble: gov_logits on the Gov arg. */
static DlfStatus
gov_logits_fn(void *arg, const uint32_t *rows, int64_t n, int32_t pf,
			  const uint32_t *src, float *z)
{
	return gov_logits((Gov *) arg, rows, n, pf, src, z);
}

/*
 * Permutation importance: the mean drop of the main metric (AUC, accuracy;
 * RMSE increase for regression) over IMP_REPEATS seeded permutations of
 * the feature's values among the first IMP_MAX_ROWS validation rows.
 */
DlfStatus
gov_importance(Gov *g, const uint32_t *rows, int64_t n, uint64_t seed)
{
	return gov_importance_by(g, rows, n, seed, gov_logits_fn, g, NULL);
}

/*
 * gov_importance with the logits from fn(arg, ...) (out-of-fold scoring:
 * cv_oof.c), into imp[nfeatures], or the features of g->m when imp is NULL;
 * g gives the task, the rows' labels and the error.
 */
DlfStatus
gov_importance_by(Gov *g, const uint32_t *rows, int64_t n, uint64_t seed,
				  GovLogitsFn fn, void *arg, double *imp)
{
	DlfModel   *m = g->m;
	int32_t		nout = m->units[m->nlayers];
	float	   *z = dlf_alloc_array((size_t) n * nout, sizeof(float));
	double	   *score = dlf_alloc_array(n, sizeof(double));
	uint8_t    *bin = dlf_alloc_array(n, sizeof(uint8_t));
	int32_t    *pred = dlf_alloc_array(n, sizeof(int32_t));
	int32_t    *act = dlf_alloc_array(n, sizeof(int32_t));
	uint32_t   *perm = dlf_alloc_array(n, sizeof(uint32_t));
	double		base;
	DlfStatus	st = DLF_OK;

	if (!z || !score || !bin || !pred || !act || !perm)
	{
		st = dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	if ((st = fn(arg, rows, n, -1, NULL, z)) != DLF_OK ||
		(st = main_metric(g, rows, n, z, score, bin, pred, act, &base)) != DLF_OK)
		goto done;
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		double		drop = 0.0;

		for (int r = 0; r < IMP_REPEATS; r++)
		{
			DlfRng		rng;
			double		v;

			/* a stream per (feature, repeat): independent of other features */
			dlf_rng_seed(&rng, dlf_mix64(seed ^ UINT64_C(0x696d706f7274616e)) +
						 (uint64_t) f * IMP_REPEATS + (uint64_t) r);
			memcpy(perm, rows, sizeof(uint32_t) * n);
			for (int64_t i = n - 1; i > 0; i--)
			{
				int64_t		j = (int64_t) dlf_rng_below(&rng, (uint64_t) i + 1);
				uint32_t	t = perm[i];

				perm[i] = perm[j];
				perm[j] = t;
			}
			if ((st = fn(arg, rows, n, f, perm, z)) != DLF_OK ||
				(st = main_metric(g, rows, n, z, score, bin, pred, act, &v)) != DLF_OK)
				goto done;
			drop += base - v;
		}
		if (imp)
			imp[f] = drop / IMP_REPEATS;
		else
			m->features[f].importance = drop / IMP_REPEATS;
	}
done:
	dlf_free(z);
	dlf_free(score);
	dlf_free(bin);
	dlf_free(pred);
	dlf_free(act);
	dlf_free(perm);
	return st;
}
