/*
 * cv_oof.c
 *	  Out-of-fold validation figures of a "cv" ensemble.
 *
 * A "cv" ensemble trains on every row (no validation split), so its
 * validation metrics and permutation importances come from the
 * cross-validation instead: each row is scored by the fold fit that did
 * not train on it (the chosen penalty's fit on the row's fold's
 * complement; the refit, which saw every row, is not used).  The rows are
 * taken in content order (cv_order), so the sums and the permutations,
 * hence the figures' bits, depend only on the multiset of rows.
 */
#include "cv_internal.h"
#include "govern_internal.h"

#include <math.h>
#include <string.h>

/* The fold fits' scorers and the scratch of one out-of-fold pass. */
typedef struct Oof
{
	Gov		   *g;				/* [k]: a scorer per fold fit */
	int			k;
	const uint8_t *fold;		/* fold of each data row */
	int32_t		nout;
	uint32_t   *rows;			/* [n]: one fold's rows */
	uint32_t   *src;			/* [n]: their permuted sources */
	int64_t    *pos;			/* [n]: their positions in the caller's rows */
	float	   *zj;				/* [n * nout]: their logits */
} Oof;

/* GovLogitsFn: the logits of each row from the fit of its fold. */
static DlfStatus
oof_logits(void *arg, const uint32_t *rows, int64_t n, int32_t pf,
		   const uint32_t *src, float *z)
{
	Oof		   *o = (Oof *) arg;

	for (int j = 0; j < o->k; j++)
	{
		int64_t		nj = 0;
		DlfStatus	st;

		for (int64_t i = 0; i < n; i++)
			if (o->fold[rows[i]] == j)
			{
				o->rows[nj] = rows[i];
				o->src[nj] = pf >= 0 ? src[i] : rows[i];
				o->pos[nj++] = i;
			}
		if (nj == 0)
			continue;
		if ((st = gov_logits(&o->g[j], o->rows, nj, pf, o->src, o->zj)) != DLF_OK)
			return st;
		for (int64_t q = 0; q < nj; q++)
			memcpy(z + (size_t) o->pos[q] * o->nout, o->zj + (size_t) q * o->nout,
				   sizeof(float) * o->nout);
	}
	return DLF_OK;
}

/* The binary metrics of scores against labels, stored in m. */
static DlfStatus
oof_binary(DlfModel *m, const double *score, const uint8_t *bin, int64_t n,
		   DlfError *err)
{
	DlfBinaryMetrics bm;
	DlfStatus	st = dlf_binary_metrics(score, bin, n, 0.5, &bm, err);

	if (st == DLF_OK)
		st = dlf_model_set_metric(m, "auc", bm.auc, err);
	if (st == DLF_OK)
		st = dlf_model_set_metric(m, "ks", bm.ks, err);
	if (st == DLF_OK)
		st = dlf_model_set_metric(m, "logloss", bm.logloss, err);
	if (st == DLF_OK)
		st = dlf_model_set_metric(m, "accuracy", bm.accuracy, err);
	return st;
}

/*
 * The validation metrics of logits z of rows[0..n) (train_store_metrics'
 * set: auc, ks, logloss, accuracy; rmse, r2; accuracy, macro_f1), into m.
 */
static DlfStatus
oof_metrics(DlfModel *m, const DlfDataset *d, const uint32_t *rows, int64_t n,
			const float *z, int32_t nout, DlfError *err)
{
	double	   *score = dlf_alloc_array(n, sizeof(double));
	double	   *label = dlf_alloc_array(n, sizeof(double));
	uint8_t    *bin = dlf_alloc_array(n, sizeof(uint8_t));
	int32_t    *pred = dlf_alloc_array(n, sizeof(int32_t));
	int32_t    *act = dlf_alloc_array(n, sizeof(int32_t));
	DlfStatus	st = DLF_OK;

	if (!score || !label || !bin || !pred || !act)
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int64_t i = 0; st == DLF_OK && i < n; i++)
	{
		const float *zr = z + (size_t) i * nout;
		int32_t		am = 0;

		label[i] = dlf_label(d, rows[i]);
		/* as train_evaluate scores validation rows */
		score[i] = m->task == DLF_TASK_BINARY ? 1.0 / (1.0 + exp(-(double) zr[0])) :
			(double) zr[0] * m->target_scale + m->target_mean;
		bin[i] = label[i] > 0.5;
		for (int32_t j = 1; j < nout; j++)
			if (zr[j] > zr[am])
				am = j;
		pred[i] = am;
		act[i] = (int32_t) label[i];
	}
	if (st == DLF_OK && m->task == DLF_TASK_BINARY)
		st = oof_binary(m, score, bin, n, err);
	else if (st == DLF_OK && m->task == DLF_TASK_REGRESSION)
	{
		DlfRegressionMetrics rm;

		dlf_regression_metrics(score, label, n, &rm);
		st = dlf_model_set_metric(m, "rmse", rm.rmse, err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(m, "r2", rm.r2, err);
	}
	else if (st == DLF_OK)
	{
		double		acc,
					f1;

		st = dlf_multiclass_summary(pred, act, n, m->nclasses, &acc, &f1, err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(m, "accuracy", acc, err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(m, "macro_f1", f1, err);
	}
	dlf_free(score);
	dlf_free(label);
	dlf_free(bin);
	dlf_free(pred);
	dlf_free(act);
	return st;
}

/*
 * The permutation importances of m from the out-of-fold logits, on at
 * most IMP_MAX_ROWS of the rows in content order (evenly spaced).
 */
static DlfStatus
oof_importance(DlfModel *m, Oof *o, const uint32_t *ord, int64_t n,
			   uint64_t seed, DlfError *err)
{
	int64_t		ni = n < IMP_MAX_ROWS ? n : IMP_MAX_ROWS;
	uint32_t   *rows = dlf_alloc_array(ni, sizeof(uint32_t));
	double	   *imp = dlf_alloc_array(m->nfeatures, sizeof(double));
	DlfStatus	st = DLF_OK;

	if (!rows || !imp)
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int64_t i = 0; st == DLF_OK && i < ni; i++)
		rows[i] = ord[ni == n ? i : i * n / ni];
	if (st == DLF_OK)
		st = gov_importance_by(&o->g[0], rows, ni, seed, oof_logits, o, imp);
	for (int32_t f = 0; st == DLF_OK && f < m->nfeatures; f++)
		m->features[f].importance = imp[f];
	dlf_free(rows);
	dlf_free(imp);
	return st;
}

/* Out-of-fold metrics and importances of m; see cv_internal.h. */
DlfStatus
cv_oof(DlfModel *m, DlfModel *const *fits, int k, const uint8_t *fold,
	   const DlfDataset *data, uint64_t seed, const DlfTrainHooks *hooks,
	   DlfError *err)
{
	int64_t		n = data->nrows;
	Oof			o;
	uint32_t   *ord = dlf_alloc_array(n, sizeof(uint32_t));
	float	   *z = NULL;
	int			opened = 0;
	DlfStatus	st = DLF_OK;

	memset(&o, 0, sizeof(o));
	o.k = k;
	o.fold = fold;
	o.nout = m->units[m->nlayers];
	o.g = dlf_alloc0(sizeof(Gov) * k);
	o.rows = dlf_alloc_array(n, sizeof(uint32_t));
	o.src = dlf_alloc_array(n, sizeof(uint32_t));
	o.pos = dlf_alloc_array(n, sizeof(int64_t));
	o.zj = dlf_alloc_array((size_t) n * o.nout, sizeof(float));
	z = dlf_alloc_array((size_t) n * o.nout, sizeof(float));
	if (!ord || !o.g || !o.rows || !o.src || !o.pos || !o.zj || !z)
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int j = 0; st == DLF_OK && j < k; j++)
	{
		st = gov_open(&o.g[j], fits[j], data, hooks, err, NULL);
		opened = j + 1;			/* gov_close frees also after a failure */
	}
	if (st == DLF_OK)
		st = cv_order(m, data, ord, err);
	if (st == DLF_OK)
		st = oof_logits(&o, ord, n, -1, NULL, z);
	if (st == DLF_OK)
		st = oof_metrics(m, data, ord, n, z, o.nout, err);
	if (st == DLF_OK)
		st = oof_importance(m, &o, ord, n, seed, err);
	for (int j = 0; j < opened; j++)
		gov_close(&o.g[j]);
	dlf_free(o.g);
	dlf_free(o.rows);
	dlf_free(o.src);
	dlf_free(o.pos);
	dlf_free(o.zj);
	dlf_free(z);
	dlf_free(ord);
	return st;
}
