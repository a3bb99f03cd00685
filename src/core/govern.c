/*
 * govern.c
 *	  Governance fitted after training: its entry point and the batch
 *	  scorer that importance, calibration and the distributions share.
 */
#include "govern_internal.h"
#include "ensemble.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- batch scoring over the dataset --------------------------------------- */

/* Asks the caller whether to stop. */
int
gov_interrupted(const Gov *g)
{
	return g->hooks && g->hooks->interrupted &&
		g->hooks->interrupted(g->hooks->arg);
}

/*
 * Runs the network over rows[0..n): logits into z (n x nout).  When pf >= 0
 * feature pf of row i is taken from row src[i] instead (permutation).
 */
DlfStatus
gov_logits(Gov *g, const uint32_t *rows, int64_t n, int32_t pf,
		   const uint32_t *src, float *z)
{
	const DlfModel *m = g->m;
	int32_t		nout = m->units[m->nlayers];

	for (int64_t s = 0; s < n; s += GOV_BATCH)
	{
		int32_t		cnt = (int32_t) (n - s < GOV_BATCH ? n - s : GOV_BATCH);

		if (gov_interrupted(g))
			return dlf_fail(g->err, DLF_ERR_INTERRUPTED, "canceling statement due to user request");
		for (int32_t r = 0; r < cnt; r++)
		{
			int32_t    *ix = g->bt.idx + (size_t) r * g->bt.maxent;
			float	   *vx = g->bt.val + (size_t) r * g->bt.maxent;
			int32_t		nnz = 0;

			for (int32_t f = 0; f < m->nfeatures; f++)
			{
				const DlfFeature *ft = &m->features[f];
				uint32_t	row = (f == pf) ? src[s + r] : rows[s + r];

				/* one entry per feature, zeros too, as the scorer has */
				if (ft->kind == DLF_FEAT_NUMERIC)
				{
					ix[nnz] = ft->input_offset;
					vx[nnz++] = dlf_std_value(g->d->num[f][row], ft->mean,
											  g->inv_scale[f]);
				}
				else
				{
					ix[nnz] = ft->input_offset + g->d->cat[f][row];
					vx[nnz++] = 1.0f;
				}
			}
			g->bt.nnz[r] = nnz;
		}
		g->bt.rows = cnt;
		/* the scorer's kernel, so these are dlfin_predict's bits */
		if (g->ens)
			dlf_ens_forward_rows(g->ens, &g->bt, &g->work);
		else
			nn_forward_rows(&g->net, &g->bt, &g->work);
		memcpy(z + (size_t) s * nout, g->work.act[m->nlayers - 1],
			   sizeof(float) * (size_t) cnt * nout);
	}
	return DLF_OK;
}

/* The score dlfin_predict returns, from one row's logits. */
double
gov_score_of(const DlfModel *m, const float *z)
{
	int32_t		nout = m->units[m->nlayers];

	if (m->task == DLF_TASK_BINARY)
		return dlf_calibrated(m, z[0]);
	if (m->task == DLF_TASK_REGRESSION)
		return (double) z[0] * m->target_scale + m->target_mean;
	{
		double		mx = z[0],
					sum = 0.0;

		for (int32_t j = 1; j < nout; j++)
			if (z[j] > mx)
				mx = z[j];
		for (int32_t j = 0; j < nout; j++)
			sum += exp((double) z[j] - mx);
		return 1.0 / sum;		/* the top class: exp(0) / sum */
	}
}


/* Frees a Gov's ensemble view. */
static void
gov_ens_free(Gov *g)
{
	dlf_ens_nets_free(g->ens);
	dlf_free(g->ens);
	g->ens = NULL;
}

/* Allocates a Gov's batch scratch for gov_logits. */
static DlfStatus
gov_scratch(Gov *g)
{
	DlfStatus	st;

	g->ens = NULL;
	if ((st = nn_batch_alloc(&g->bt, GOV_BATCH, g->m->nfeatures, g->err)) != DLF_OK)
		return st;
	if (g->m->nmembers > 1)
	{
		if (!(g->ens = dlf_alloc0(sizeof(DlfEnsNets))))
			return dlf_fail(g->err, DLF_ERR_NOMEM, "out of memory");
		if ((st = dlf_ens_nets_init(g->ens, g->m, GOV_BATCH, g->err)) != DLF_OK)
			return st;
	}
	return nn_work_alloc(&g->work, &g->net, GOV_BATCH, 0, g->err);
}

/*
 * Sets g up for model m over data: the network, the reciprocal scales and
 * a scratch per thread of pool.  gov_close frees it, also after a failure.
 */
DlfStatus
gov_open(Gov *g, DlfModel *m, const DlfDataset *data,
		 const DlfTrainHooks *hooks, DlfError *err, DlfPool *pool)
{
	int			T = dlf_pool_size(pool);
	DlfStatus	st;

	memset(g, 0, sizeof(*g));
	g->m = m;
	g->d = data;
	g->hooks = hooks;
	g->err = err;
	g->net.nlayers = m->nlayers;
	g->net.activation = m->activation;
	for (int32_t l = 0; l <= m->nlayers; l++)
		g->net.units[l] = m->units[l];
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		g->net.W[l] = m->weights[l];
		g->net.b[l] = m->biases[l];
	}
	g->net.S = m->skip;
	g->inv_scale = dlf_alloc_array(m->nfeatures, sizeof(double));
	if (g->inv_scale == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int32_t f = 0; f < m->nfeatures; f++)
		g->inv_scale[f] = 1.0 / m->features[f].scale;
	g->pool = pool;
	g->threads = dlf_alloc_array(T, sizeof(Gov));
	if (g->threads == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	memset(g->threads, 0, sizeof(Gov) * T);
	if ((st = gov_scratch(g)) != DLF_OK)
		return st;
	g->threads[0] = *g;
	for (int t = 1; t < T; t++)
	{
		Gov		   *w = &g->threads[t];

		/* the caller's hooks are never called from another thread */
		*w = *g;
		w->hooks = NULL;
		memset(&w->bt, 0, sizeof(w->bt));
		memset(&w->work, 0, sizeof(w->work));
		if ((st = gov_scratch(w)) != DLF_OK)
			return st;
	}
	return DLF_OK;
}

/* Frees what gov_open allocated. */
void
gov_close(Gov *g)
{
	int			T = dlf_pool_size(g->pool);

	for (int t = 1; g->threads && t < T; t++)
	{
		nn_batch_free(&g->threads[t].bt);
		nn_work_free(&g->threads[t].work);
		gov_ens_free(&g->threads[t]);
	}
	dlf_free(g->threads);
	dlf_free(g->inv_scale);
	nn_batch_free(&g->bt);
	nn_work_free(&g->work);
	gov_ens_free(g);
}

/* Importance, calibration and distributions after training (see nn_internal.h). */
DlfStatus
dlf_govern_fit_pool(DlfModel *m, const DlfDataset *data,
					const uint32_t *valid_idx, int64_t nvalid, uint64_t seed,
					const DlfTrainHooks *hooks, DlfError *err, DlfPool *pool)
{
	Gov			g;
	DlfStatus	st;

	if ((st = gov_open(&g, m, data, hooks, err, pool)) != DLF_OK)
		goto done;
	for (int32_t f = 0; f < m->nfeatures; f++)
		m->features[f].importance = NAN;
	m->ece_before = NAN;
	m->ece_after = NAN;
	if (nvalid > 0)
	{
		if ((st = gov_importance(&g, valid_idx, nvalid < IMP_MAX_ROWS ? nvalid : IMP_MAX_ROWS,
								 seed)) != DLF_OK)
			goto done;
		if (m->task == DLF_TASK_BINARY &&
			(st = gov_calibrate(&g, valid_idx, nvalid)) != DLF_OK)
			goto done;
	}
	else if (m->calibration != DLF_CALIB_NONE)
	{
		st = dlf_fail(err, DLF_ERR_DATA, "calibration needs validation rows");
		dlf_detail(err, "Too few rows were left for validation; raise validation_fraction or train on more rows.");
		goto done;
	}
	st = gov_distributions(&g);
done:
	gov_close(&g);
	return st;
}

/*
 * The drift reference of a model (dlfin_core.h): the NULL shares and the
 * feature and score distributions of the rows of data, as training
 * computes them over its rows.
 */
DlfStatus
dlf_govern_reference(DlfModel *m, const DlfDataset *data, DlfError *err)
{
	Gov			g;
	DlfStatus	st;

	if (data->nrows < 1 || data->nfeatures != m->nfeatures)
		return dlf_fail(err, DLF_ERR_INVALID, "reference rows do not fit the model");
	if ((st = gov_open(&g, m, data, NULL, err, NULL)) == DLF_OK)
	{
		for (int32_t f = 0; f < m->nfeatures; f++)
		{
			const DlfFeature *ft = &m->features[f];
			int64_t		k = 0;

			for (int64_t i = 0; i < data->nrows; i++)
				k += ft->kind == DLF_FEAT_NUMERIC ? !isfinite(data->num[f][i]) :
					data->cat[f][i] == DLF_CAT_MISSING(ft);
			m->features[f].missing_share = (double) k / data->nrows;
		}
		st = gov_distributions(&g);
	}
	gov_close(&g);
	return st;
}
