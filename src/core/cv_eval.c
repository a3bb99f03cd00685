/*
 * cv_eval.c
 *	  Cross-validation for users (dlfin_cv): k-fold CV of a training with
 *	  the given options, reporting each fold's held-out metrics and their
 *	  mean and standard deviation, without keeping a model.
 *
 * The folds are cv.c's: stratified and dealt by content, so the same
 * multiset of rows gives the same folds and, each fold's training being
 * deterministic, the same figures in any row order.  Each fold's
 * complement trains exactly as dlfin_train would train on it
 * (dlf_train_auto: the auto choices, "l2": "auto" as a nested CV,
 * ensembles, the skip path, calibration), and the fold is scored with the
 * scorer's bits, as dlfin_predict would score it.
 */
#include "cv_internal.h"
#include "ensemble.h"

#include <stdio.h>
#include <string.h>

#define CV_MAX_METRICS	4

/* The metrics reported for a task, the main one first. */
static int
cv_metric_names(int task, const char **names)
{
	static const char *const bin[] = {"auc", "logloss", "brier", "accuracy"};
	static const char *const mc[] = {"accuracy", "macro_f1"};
	static const char *const reg[] = {"rmse", "mae", "r2"};
	const char *const *src = task == DLF_TASK_BINARY ? bin :
		task == DLF_TASK_MULTICLASS ? mc : reg;
	int			n = task == DLF_TASK_BINARY ? 4 : task == DLF_TASK_MULTICLASS ? 2 : 3;

	for (int i = 0; i < n; i++)
		names[i] = src[i];
	return n;
}

/* Frees what cv_score_rows allocated. */
void
cv_rows_free(CvRows *r)
{
	dlf_free(r->score);
	dlf_free(r->label);
	dlf_free(r->pred);
	dlf_free(r->act);
	dlf_free(r->bin);
	memset(r, 0, sizeof(*r));
}

/* Scores the rows of d with model fm; see cv_internal.h. */
DlfStatus
cv_score_rows(const DlfModel *fm, const DlfDataset *d, CvRows *r,
			  DlfError *err)
{
	DlfScorer  *s = dlf_scorer_new(fm, err);
	int32_t		nf = fm->nfeatures;
	int32_t		nout = fm->task == DLF_TASK_MULTICLASS ? fm->nclasses : 1;
	int32_t    *idx = dlf_alloc_array(nf, sizeof(int32_t));
	float	   *val = dlf_alloc_array(nf, sizeof(float));
	double	   *out = dlf_alloc_array(nout, sizeof(double));
	DlfStatus	st = DLF_OK;

	memset(r, 0, sizeof(*r));
	r->score = dlf_alloc_array(d->nrows, sizeof(double));
	r->label = dlf_alloc_array(d->nrows, sizeof(double));
	r->pred = dlf_alloc_array(d->nrows, sizeof(int32_t));
	r->act = dlf_alloc_array(d->nrows, sizeof(int32_t));
	r->bin = dlf_alloc_array(d->nrows, sizeof(uint8_t));
	if (!s || !idx || !val || !out || !r->score || !r->label || !r->pred ||
		!r->act || !r->bin)
	{
		st = s ? dlf_fail(err, DLF_ERR_NOMEM, "out of memory") : err->code;
		cv_rows_free(r);
		goto done;
	}
	for (int64_t i = 0; i < d->nrows; i++)
	{
		for (int32_t f = 0; f < nf; f++)
		{
			const DlfFeature *ft = &fm->features[f];

			idx[f] = ft->input_offset;
			val[f] = 1.0f;
			if (ft->kind == DLF_FEAT_NUMERIC)
				val[f] = dlf_std_value(d->num[f][i], ft->mean, 1.0 / ft->scale);
			else
				idx[f] += d->cat[f][i];
		}
		r->overflowed += dlf_scorer_run_entries(s, idx, val, out) != 0;
		r->label[i] = dlf_label(d, i);
		r->score[i] = out[0];
		r->bin[i] = r->label[i] > 0.5;
		r->act[i] = (int32_t) r->label[i];
		r->pred[i] = 0;
		for (int32_t j = 1; j < nout; j++)
			if (out[j] > out[r->pred[i]])
				r->pred[i] = j;
	}
done:
	dlf_scorer_free(s);
	dlf_free(idx);
	dlf_free(val);
	dlf_free(out);
	return st;
}

/* Scores the rows of d with model fm into met: the task's metrics. */
static DlfStatus
cv_eval_rows(const DlfModel *fm, const DlfDataset *d, double *met,
			 DlfError *err)
{
	CvRows		r;
	DlfStatus	st = cv_score_rows(fm, d, &r, err);

	if (st != DLF_OK)
		return st;
	if (r.overflowed)
		st = dlf_fail(err, DLF_ERR_RANGE, "a held-out row overflowed the network");
	else if (fm->task == DLF_TASK_BINARY)
	{
		DlfBinaryMetrics bm;

		st = dlf_binary_metrics(r.score, r.bin, d->nrows, 0.5, &bm, err);
		met[0] = bm.auc;
		met[1] = bm.logloss;
		met[2] = bm.brier;
		met[3] = bm.accuracy;
	}
	else if (fm->task == DLF_TASK_REGRESSION)
	{
		DlfRegressionMetrics rm;

		dlf_regression_metrics(r.score, r.label, d->nrows, &rm);
		met[0] = rm.rmse;
		met[1] = rm.mae;
		met[2] = rm.r2;
	}
	else
		st = dlf_multiclass_summary(r.pred, r.act, d->nrows, fm->nclasses,
									&met[0], &met[1], err);
	cv_rows_free(&r);
	return st;
}

/* Trains on every fold but j and scores fold j into met; rows into *ntr, *nte. */
static DlfStatus
cv_eval_fold(const DlfModel *m, const DlfDataset *data, const uint8_t *fold,
			 int j, const DlfTrainOptions *opt, const DlfTrainHooks *hooks,
			 double *met, int64_t *ntr, int64_t *nte, DlfError *err)
{
	DlfDataset	tr,
				te;
	DlfModel   *fm;
	DlfTrainHooks fh = {0};
	DlfStatus	st;

	if (hooks)
	{
		fh.interrupted = hooks->interrupted;
		fh.arg = hooks->arg;
	}
	if (fh.interrupted && fh.interrupted(fh.arg))
		return dlf_fail(err, DLF_ERR_INTERRUPTED, "training interrupted");
	if ((st = cv_subset(m, data, fold, j, 0, &tr, err)) != DLF_OK)
		return st;
	if ((st = cv_subset(m, data, fold, j, 1, &te, err)) != DLF_OK)
	{
		cv_subset_free(&tr);
		return st;
	}
	*ntr = tr.nrows;
	*nte = te.nrows;
	fm = dlf_model_schema_copy(m);
	if (!fm)
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	else
	{
		fm->calibration = m->calibration;
		st = dlf_train_auto(fm, &tr, opt, &fh, err);
	}
	if (st == DLF_OK)
		st = cv_eval_rows(fm, &te, met, err);
	dlf_model_free(fm);
	cv_subset_free(&tr);
	cv_subset_free(&te);
	return st;
}

/* Writes the figures as JSON: per fold, then mean and sd of each metric. */
static DlfStatus
cv_eval_json(const DlfModel *m, int k, int64_t nrows, const double *met,
			 const int64_t *rows, char **out, DlfError *err)
{
	const char *names[CV_MAX_METRICS];
	int			nm = cv_metric_names(m->task, names);
	DlfBuf		b;

	dlf_buf_init(&b);
	dlf_buf_printf(&b, "{\"task\": \"%s\", \"folds\": %d, \"rows\": %lld, \"metric\": \"%s\", \"per_fold\": [",
				   dlf_task_name(m->task), k, (long long) nrows, names[0]);
	for (int j = 0; j < k; j++)
	{
		dlf_buf_printf(&b, "%s{\"fold\": %d, \"train_rows\": %lld, \"test_rows\": %lld",
					   j ? ", " : "", j + 1, (long long) rows[2 * j],
					   (long long) rows[2 * j + 1]);
		for (int i = 0; i < nm; i++)
		{
			dlf_buf_printf(&b, ", \"%s\": ", names[i]);
			dlf_buf_json_double(&b, met[j * CV_MAX_METRICS + i]);
		}
		dlf_buf_append(&b, "}", 1);
	}
	dlf_buf_append(&b, "]", 1);
	for (int part = 0; part < 2; part++)
	{
		dlf_buf_printf(&b, ", \"%s\": {", part ? "sd" : "mean");
		for (int i = 0; i < nm; i++)
		{
			double		s1 = 0.0,
						s2 = 0.0;

			for (int j = 0; j < k; j++)
			{
				s1 += met[j * CV_MAX_METRICS + i];
				s2 += met[j * CV_MAX_METRICS + i] * met[j * CV_MAX_METRICS + i];
			}
			dlf_buf_printf(&b, "%s\"%s\": ", i ? ", " : "", names[i]);
			dlf_buf_json_double(&b, part ? sqrt(fmax(0.0, (s2 - s1 * s1 / k) / (k - 1))) :
								s1 / k);
		}
		dlf_buf_append(&b, "}", 1);
	}
	dlf_buf_append(&b, "}", 2);	/* with the terminating NUL */
	if (b.failed)
	{
		dlf_buf_free(&b);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	*out = (char *) b.data;
	return DLF_OK;
}

/* k-fold cross-validation of a training with opt; see dlfin_core.h. */
DlfStatus
dlf_cv_evaluate(const DlfModel *m, const DlfDataset *data,
				const DlfTrainOptions *opt, const DlfTrainHooks *hooks,
				char **out, DlfError *err)
{
	int			k = opt->cv_folds;
	uint8_t    *fold;
	double	   *met;
	int64_t    *rows;
	DlfStatus	st = DLF_OK;

	*out = NULL;
	if (k < 2 || k > 64)
		return dlf_fail(err, DLF_ERR_INVALID, "cv_folds must be between 2 and 64");
	if (data->nrows < 2 * (int64_t) k)
	{
		dlf_fail(err, DLF_ERR_INVALID, "too few rows for %d cross-validation folds", k);
		dlf_detail(err, "There are %lld rows; every fold needs rows to train on and rows to score.",
				   (long long) data->nrows);
		dlf_hint(err, "Lower \"cv_folds\" (at least 2).");
		return DLF_ERR_INVALID;
	}
	fold = dlf_alloc_array(data->nrows, sizeof(uint8_t));
	met = dlf_alloc_array((size_t) k * CV_MAX_METRICS, sizeof(double));
	rows = dlf_alloc_array((size_t) k * 2, sizeof(int64_t));
	if (!fold || !met || !rows)
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	else if ((st = cv_folds(m, data, k, fold, err)) == DLF_ERR_INVALID)
	{
		dlf_detail(err, "Every class of the label needs at least cv_folds (%d) rows.", k);
		dlf_hint(err, "Lower \"cv_folds\" (at least 2), or add rows of the rarest class.");
	}
	for (int j = 0; j < k && st == DLF_OK; j++)
		st = cv_eval_fold(m, data, fold, j, opt, hooks, met + j * CV_MAX_METRICS,
						  &rows[2 * j], &rows[2 * j + 1], err);
	if (st == DLF_OK)
		st = cv_eval_json(m, k, data->nrows, met, rows, out, err);
	dlf_free(fold);
	dlf_free(met);
	dlf_free(rows);
	return st;
}
