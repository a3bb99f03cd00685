/*
 * cv.c
 *	  Training with the L2 strength chosen by k-fold cross-validation
 *	  ("l2": "auto") and the optimiser chosen by the row count
 *	  ("optimizer": "auto").
 *
 * Folds are stratified and depend only on the rows' content: rows are
 * sorted by (class, content hash, content) and dealt round-robin, so the
 * same multiset of rows gives the same folds in any order.  Each candidate
 * is trained on every fold's complement (no validation split) and scored
 * on the fold; the candidate with the best mean metric (AUC, accuracy or
 * minus RMSE; ties to the stronger penalty) is refitted on all rows.
 */
#include "cv_internal.h"
#include "ensemble.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Candidates, as scikit-learn's alpha: the penalty of a fit on n rows is
 * l2 = alpha / n (scikit-learn adds alpha * |W|^2 / (2 n) to the mean loss).
 * 17 between 10 and 30: on 300 credit rows 30 kills the ReLU network and
 * 10 wins; with 17 the held-out AUC at 1,000 rows rose by 0.007
 * (doc/quality.md).  1 at the start of the path for "cv" ensembles only:
 * on 300 rows their AUC rose from 0.8038 to 0.8076 (LogisticRegression
 * 0.8062), within 0.0002 at 1,000 rows and above; one network got worse
 * (0.8000 at 300 rows, seed sd 0.005 at 1,000), so it starts at 3.
 */
static const double cv_alpha[] = {1.0, 3.0, 10.0, 17.0, 30.0};

#define CV_MAXCAND	((int) (sizeof(cv_alpha) / sizeof(cv_alpha[0])))

/* The optimiser "auto" stands for on n rows. */
int
dlf_auto_optimizer(const DlfTrainOptions *opt, int64_t n)
{
	if (opt->optimizer != DLF_OPTIM_AUTO)
		return opt->optimizer;
	if (opt->dropout > 0.0 || n > DLF_AUTO_LBFGS_ROWS)
		return DLF_OPTIM_ADAM;
	return DLF_OPTIM_LBFGS;
}

/* Whether every class of data has at least k rows (regression: 2k rows). */
static int
cv_stratifiable(const DlfModel *m, const DlfDataset *data, int k)
{
	int64_t		count[DLF_MAX_CLASSES] = {0};

	if (data->nrows < 2 * (int64_t) k)
		return 0;
	if (m->task == DLF_TASK_REGRESSION)
		return 1;
	if (m->nclasses < 1 || m->nclasses > DLF_MAX_CLASSES)
		return 0;				/* dlf_train reports it */
	for (int64_t i = 0; i < data->nrows; i++)
	{
		double		c = dlf_label(data, i);

		if (c >= 0 && c < m->nclasses)
			count[(int) c]++;
	}
	for (int32_t j = 0; j < m->nclasses; j++)
		if (count[j] < k)
			return 0;
	return 1;
}

/*
 * The defaults' rule (dlfin_core.h, doc/quality.md "The defaults"): the
 * small-data recipe where it is known to beat logistic regression and can
 * run without a new error, one Adam network (the recipe of models before
 * it) everywhere else, so large sets keep their bytes.
 */
void
dlf_train_resolve(DlfTrainOptions *opt, const DlfModel *m,
				  const DlfDataset *data)
{
	int			small;

	if (opt->optimizer != DLF_OPTIM_DEFAULT)
		return;
	small = data->nrows <= DLF_DEFAULT_CV_ROWS && opt->dropout == 0.0 &&
		!opt->init && !opt->encoding && !(opt->given & DLF_GIVEN_ADAM) &&
		opt->cv_folds >= 2 && opt->cv_folds <= 64 &&
		cv_stratifiable(m, data, opt->cv_folds);
	if (!small)
	{
		opt->optimizer = DLF_OPTIM_ADAM;
		return;
	}
	opt->optimizer = DLF_OPTIM_LBFGS;
	if (!(opt->given & DLF_GIVEN_L2))
		opt->l2_auto = 1;
	if (opt->l2_auto && !(opt->given & DLF_GIVEN_ENSEMBLE) &&
		m->calibration == DLF_CALIB_NONE)
		opt->ens_sample = DLF_ENS_CV;
}

/*
 * label * 1e6 as the row hash takes it: truncated, negative values in two's
 * complement, beyond the 64-bit range the bits x86-64's conversion gave.
 * A plain (uint64_t) cast of a negative double is undefined behaviour and
 * differs between CPUs (AVX-512's conversion saturates, ARM's gives 0), which
 * would move rows between folds; this is what every x86-64 build computed.
 */
static uint64_t
label_key(double v)
{
	if (v >= 0.0)
		return v < 18446744073709551616.0 ? (uint64_t) v : 0;
	if (v > -9223372036854775808.0)
		return (uint64_t) (int64_t) v;
	return UINT64_C(0x8000000000000000);
}

/* Content hash of row i (feature values and label). */
static uint64_t
cv_row_hash(const DlfModel *m, const DlfDataset *d, int64_t i)
{
	uint64_t	h = dlf_mix64(label_key(dlf_label(d, i) * 1e6) + 0x9e3779b97f4a7c15ULL);

	for (int32_t f = 0; f < d->nfeatures; f++)
	{
		uint32_t	b;

		if (m->features[f].kind == DLF_FEAT_NUMERIC)
		{
			float		x = d->num[f][i];

			if (isnan(x))
				b = 0x7fc00000u;
			else if (x == 0.0f)
				b = 0;
			else
				memcpy(&b, &x, 4);
		}
		else
			b = (uint32_t) d->cat[f][i];
		h = dlf_mix64(h ^ (b + ((uint64_t) f << 32)));
	}
	return h;
}

typedef struct CvSort
{
	const DlfModel *m;
	const DlfDataset *d;
	const uint64_t *h;
} CvSort;

static CvSort cv_sort_ctx;		/* qsort has no argument; training is serial */

/* Orders rows by class, hash, then content (a total order on contents). */
static int
cv_cmp(const void *pa, const void *pb)
{
	const CvSort *s = &cv_sort_ctx;
	uint32_t	a = *(const uint32_t *) pa;
	uint32_t	b = *(const uint32_t *) pb;
	double		la = s->m->task == DLF_TASK_REGRESSION ? 0 : dlf_label(s->d, a);
	double		lb = s->m->task == DLF_TASK_REGRESSION ? 0 : dlf_label(s->d, b);

	if (la != lb)
		return la < lb ? -1 : 1;
	if (s->h[a] != s->h[b])
		return s->h[a] < s->h[b] ? -1 : 1;
	for (int32_t f = 0; f < s->d->nfeatures; f++)
	{
		if (s->m->features[f].kind == DLF_FEAT_NUMERIC)
		{
			float		x = s->d->num[f][a],
						y = s->d->num[f][b];

			if (isnan(x) != isnan(y))
				return isnan(x) ? -1 : 1;
			if (!isnan(x) && x != y)
				return x < y ? -1 : 1;
		}
		else if (s->d->cat[f][a] != s->d->cat[f][b])
			return s->d->cat[f][a] < s->d->cat[f][b] ? -1 : 1;
	}
	if (dlf_label(s->d, a) != dlf_label(s->d, b))
		return dlf_label(s->d, a) < dlf_label(s->d, b) ? -1 : 1;
	return 0;					/* equal rows: either order gives same folds */
}

/* A copy of the schema of m (features, classes, governance requests). */
DlfModel *
dlf_model_schema_copy(const DlfModel *m)
{
	DlfModel   *c = dlf_model_new();

	if (!c)
		return NULL;
	c->task = m->task;
	c->activation = m->activation;
	c->adverse = m->adverse;
	c->calibration = DLF_CALIB_NONE;
	c->nfeatures = m->nfeatures;
	c->features = dlf_alloc0(sizeof(DlfFeature) * m->nfeatures);
	c->nclasses = m->nclasses;
	if (m->nclasses)
		c->classes = dlf_alloc0(sizeof(char *) * m->nclasses);
	if (!c->features || (m->nclasses && !c->classes))
	{
		dlf_model_free(c);
		return NULL;
	}
	for (int32_t j = 0; j < m->nclasses; j++)
		if (!(c->classes[j] = dlf_strndup(m->classes[j], strlen(m->classes[j]))))
			goto fail;
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *s = &m->features[f];
		DlfFeature *t = &c->features[f];

		t->kind = s->kind;
		t->sqltype = s->sqltype;
		t->monotone = s->monotone;
		t->importance = NAN;
		t->ncat = s->ncat;
		if (!(t->name = dlf_strndup(s->name, strlen(s->name))))
			goto fail;
		if (s->ncat > 0)
		{
			if (!(t->categories = dlf_alloc0(sizeof(char *) * s->ncat)))
				goto fail;
			for (int32_t k = 0; k < s->ncat; k++)
				if (!(t->categories[k] = dlf_strndup(s->categories[k],
													 strlen(s->categories[k]))))
					goto fail;
		}
	}
	return c;
fail:
	dlf_model_free(c);
	return NULL;
}

/* Frees a dataset made by cv_subset. */
void
cv_subset_free(DlfDataset *d)
{
	for (int32_t f = 0; d->num && f < d->nfeatures; f++)
	{
		dlf_free(d->num[f]);
		dlf_free(d->cat[f]);
	}
	dlf_free(d->num);
	dlf_free(d->cat);
	dlf_free(d->label);
	dlf_free(d->cls);
}

/* Copies the rows whose fold is (or, with !in, is not) k. */
DlfStatus
cv_subset(const DlfModel *m, const DlfDataset *src, const uint8_t *fold,
		  int k, int in, DlfDataset *out, DlfError *err)
{
	int64_t		n = 0,
				j = 0;

	memset(out, 0, sizeof(*out));
	for (int64_t i = 0; i < src->nrows; i++)
		n += (fold[i] == k) == in;
	out->nrows = n;
	out->nfeatures = src->nfeatures;
	out->num = dlf_alloc0(sizeof(float *) * src->nfeatures);
	out->cat = dlf_alloc0(sizeof(int32_t *) * src->nfeatures);
	if (src->cls)
		out->cls = dlf_alloc_array(n, sizeof(uint16_t));
	else
		out->label = dlf_alloc_array(n, sizeof(double));
	if (!out->num || !out->cat || (!out->cls && !out->label))
		goto nomem;
	for (int32_t f = 0; f < src->nfeatures; f++)
	{
		if (m->features[f].kind == DLF_FEAT_NUMERIC)
		{
			if (!(out->num[f] = dlf_alloc_array(n, sizeof(float))))
				goto nomem;
		}
		else if (!(out->cat[f] = dlf_alloc_array(n, sizeof(int32_t))))
			goto nomem;
	}
	for (int64_t i = 0; i < src->nrows; i++)
	{
		if ((fold[i] == k) != in)
			continue;
		for (int32_t f = 0; f < src->nfeatures; f++)
			if (out->num[f])
				out->num[f][j] = src->num[f][i];
			else
				out->cat[f][j] = src->cat[f][i];
		if (out->cls)
			out->cls[j] = src->cls[i];
		else
			out->label[j] = src->label[i];
		j++;
	}
	return DLF_OK;
nomem:
	cv_subset_free(out);
	return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
}

/* The fold metric of model fm on rows d (higher is better). */
static DlfStatus
cv_score(const DlfModel *fm, const DlfDataset *d, double *metric,
		 DlfError *err)
{
	CvRows		r;
	DlfStatus	st = cv_score_rows(fm, d, &r, err);
	double		hits = 0.0,
				se = 0.0;

	if (st != DLF_OK)
		return st;
	if (fm->task == DLF_TASK_BINARY)
	{
		DlfBinaryMetrics bm;

		st = dlf_binary_metrics(r.score, r.bin, d->nrows, 0.5, &bm, err);
		*metric = isnan(bm.auc) ? 0.5 : bm.auc;
	}
	else if (fm->task == DLF_TASK_REGRESSION)
	{
		/* a plain sum, not metrics.c's compensated one: the bits CV chose by */
		for (int64_t i = 0; i < d->nrows; i++)
			se += (r.score[i] - r.label[i]) * (r.score[i] - r.label[i]);
		*metric = -sqrt(se / (double) d->nrows);
	}
	else
	{
		for (int64_t i = 0; i < d->nrows; i++)
			hits += r.pred[i] == r.act[i];
		*metric = hits / (double) d->nrows;
	}
	cv_rows_free(&r);
	return st;
}

/* The rows by class, content hash and content: ord[0..n). */
DlfStatus
cv_order(const DlfModel *m, const DlfDataset *d, uint32_t *ord, DlfError *err)
{
	int64_t		n = d->nrows;
	uint64_t   *h = dlf_alloc_array(n, sizeof(uint64_t));

	if (!h)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int64_t i = 0; i < n; i++)
	{
		ord[i] = (uint32_t) i;
		h[i] = cv_row_hash(m, d, i);
	}
	cv_sort_ctx.m = m;
	cv_sort_ctx.d = d;
	cv_sort_ctx.h = h;
	qsort(ord, n, sizeof(uint32_t), cv_cmp);
	dlf_free(h);
	return DLF_OK;
}

/*
 * Stratified folds of the rows, fold[i] in [0, k): by content, see the
 * file's opening comment.  Fails when a class has fewer rows than folds.
 */
DlfStatus
cv_folds(const DlfModel *m, const DlfDataset *d, int k, uint8_t *fold,
		 DlfError *err)
{
	int64_t		n = d->nrows;
	uint32_t   *ord = dlf_alloc_array(n, sizeof(uint32_t));
	int64_t		run = 0;
	DlfStatus	st;

	if (!ord)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	if ((st = cv_order(m, d, ord, err)) != DLF_OK)
	{
		dlf_free(ord);
		return st;
	}
	for (int64_t i = 0; i < n; i++)
	{
		int			newclass = m->task != DLF_TASK_REGRESSION && i > 0 &&
			dlf_label(d, ord[i]) != dlf_label(d, ord[i - 1]);

		if (newclass)
		{
			if (run < k)
				break;
			run = 0;
		}
		fold[ord[i]] = (uint8_t) (run % k);
		run++;
	}
	dlf_free(ord);
	if (run < k)
	{
		dlf_fail(err, DLF_ERR_INVALID,
				 "too few rows for %d cross-validation folds", k);
		dlf_detail(err, "Every class needs at least cv_folds rows; "
				   "lower cv_folds or give \"l2\" a number.");
		return DLF_ERR_INVALID;
	}
	return DLF_OK;
}

/* The state of one "l2": "auto" training (dlf_train_auto). */
typedef struct CvRun
{
	DlfModel   *m;
	DlfDataset *data;
	const DlfTrainOptions *opt;
	const DlfTrainHooks *hooks;
	DlfError   *err;
	DlfTrainOptions o;			/* the refit's options */
	int			k;
	uint8_t    *fold;
	DlfModel   *enc;			/* "cv" ensembles: the whole set's statistics */
	const double *alpha;		/* cv_alpha ("cv"), else cv_alpha from 3 on */
	int			ncand;
	DlfModel  **fits;			/* "cv" ensembles: [ncand * k] fold fits */
	double		s1[CV_MAXCAND];
	double		s2[CV_MAXCAND];
	double		mean[CV_MAXCAND];
	double		sd[CV_MAXCAND];
	int			best;
} CvRun;

/* Hooks for a fit inside the CV: interrupts only, no epoch reports. */
static DlfTrainHooks
cv_fit_hooks(const DlfTrainHooks *hooks)
{
	DlfTrainHooks fh = {0};

	if (hooks)
	{
		fh.interrupted = hooks->interrupted;
		fh.arg = hooks->arg;
	}
	return fh;
}

/*
 * Candidate c on fold j's complement tr, scored on te into *met; prev is
 * the fold's fit of the next weaker penalty, or NULL.
 */
static DlfStatus
cv_fit(CvRun *r, DlfDataset *tr, DlfDataset *te, int c, DlfModel *prev,
	   DlfModel **fit, double *met)
{
	DlfTrainOptions fo = r->o;
	DlfTrainHooks fh = cv_fit_hooks(r->hooks);
	DlfModel   *fm;
	DlfStatus	st;

	*fit = NULL;
	*met = 0.0;
	if (fh.interrupted && fh.interrupted(fh.arg))
		return dlf_fail(r->err, DLF_ERR_INTERRUPTED, "training interrupted");
	fo.l2 = r->alpha[c] / (double) tr->nrows;
	fo.validation_fraction = 0.0;
	fo.optimizer = dlf_auto_optimizer(r->opt, tr->nrows);
	fo.ensemble = 1;			/* the penalty is chosen for one network */
	fo.bare = 1;				/* scored here, on its fold */
	if (r->enc)
		fo.encoding = r->enc;	/* members share the model's statistics */
	if (prev && fo.optimizer == DLF_OPTIM_LBFGS)
	{
		fo.init = prev;
		fo.epochs = (r->opt->epochs + 1) / 2;
	}
	if (!(fm = dlf_model_schema_copy(r->m)))
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	*fit = fm;
	if ((st = dlf_train(fm, tr, &fo, &fh, r->err)) != DLF_OK)
		return st;
	return cv_score(fm, te, met, r->err);
}

/*
 * Per fold, the penalties from the weakest up (the regularisation path):
 * each fit but the first starts from the previous one's weights, which is
 * close to its optimum, and runs half the iterations.  Upwards, because a
 * strong penalty can kill a ReLU network on few rows, and a dead network
 * is no start for the next.
 */
static DlfStatus
cv_fold(CvRun *r, int j)
{
	DlfDataset	tr,
				te;
	DlfModel   *prev = NULL;
	DlfStatus	st;

	if ((st = cv_subset(r->m, r->data, r->fold, j, 0, &tr, r->err)) != DLF_OK)
		return st;
	if ((st = cv_subset(r->m, r->data, r->fold, j, 1, &te, r->err)) != DLF_OK)
	{
		cv_subset_free(&tr);
		return st;
	}
	for (int c = 0; c < r->ncand && st == DLF_OK; c++)
	{
		DlfModel   *fm;
		double		met;

		st = cv_fit(r, &tr, &te, c, prev, &fm, &met);
		if (!r->fits)
			dlf_model_free(prev);
		else if (fm)
			r->fits[c * r->k + j] = fm;
		prev = fm;
		r->s1[c] += met;
		r->s2[c] += met * met;
	}
	if (!r->fits)
		dlf_model_free(prev);
	cv_subset_free(&tr);
	cv_subset_free(&te);
	return st;
}

/* Each candidate's mean and sd; the best mean wins. */
static void
cv_choose(CvRun *r)
{
	int			k = r->k;

	r->best = 0;
	for (int c = 0; c < r->ncand; c++)
	{
		r->mean[c] = r->s1[c] / k;
		r->sd[c] = sqrt(fmax(0.0, (r->s2[c] - r->s1[c] * r->s1[c] / k) / (k - 1)));
		/* ties (within 1e-4) go to the stronger penalty */
		if (c == 0 || r->mean[c] >= r->mean[r->best] - 1e-4)
			r->best = c;
	}
}

/* The chosen candidate's CV figures as metrics and as m->cv_json. */
static DlfStatus
cv_record(CvRun *r)
{
	DlfModel   *m = r->m;
	const char *mname = m->task == DLF_TASK_BINARY ? "auc" :
		m->task == DLF_TASK_REGRESSION ? "rmse" : "accuracy";
	double		sign = m->task == DLF_TASK_REGRESSION ? -1.0 : 1.0;
	char		key[64];
	DlfStatus	st;
	DlfBuf		b;

	snprintf(key, sizeof(key), "cv_%s", mname);
	st = dlf_model_set_metric(m, key, sign * r->mean[r->best], r->err);
	snprintf(key, sizeof(key), "cv_%s_sd", mname);
	if (st == DLF_OK)
		st = dlf_model_set_metric(m, key, r->sd[r->best], r->err);
	if (st != DLF_OK)
		return st;
	dlf_buf_init(&b);
	dlf_buf_printf(&b, "{\"folds\": %d, \"metric\": \"%s\", \"l2\": ", r->k, mname);
	dlf_buf_json_double(&b, r->o.l2);
	dlf_buf_append(&b, ", \"candidates\": [", 17);
	for (int c = 0; c < r->ncand; c++)
	{
		dlf_buf_printf(&b, "%s{\"alpha\": ", c ? ", " : "");
		dlf_buf_json_double(&b, r->alpha[c]);
		dlf_buf_append(&b, ", \"l2\": ", 8);
		dlf_buf_json_double(&b, r->alpha[c] / (double) r->data->nrows);
		dlf_buf_append(&b, ", \"mean\": ", 10);
		dlf_buf_json_double(&b, sign * r->mean[c]);
		dlf_buf_append(&b, ", \"sd\": ", 8);
		dlf_buf_json_double(&b, r->sd[c]);
		dlf_buf_append(&b, "}", 1);
	}
	dlf_buf_append(&b, "]", 1);
	if (r->fits)				/* where the validation metrics come from */
		dlf_buf_printf(&b, ", \"validation\": \"out-of-fold\"");
	dlf_buf_append(&b, "}", 2);	/* with the terminating NUL */
	if (b.failed)
	{
		dlf_buf_free(&b);
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	}
	dlf_free(m->cv_json);
	m->cv_json = (char *) b.data;
	return DLF_OK;
}

/*
 * Trains m on all rows with the chosen penalty.  A "cv" ensemble adds the
 * chosen penalty's fold fits as further members (up to 63 of them).
 */
static DlfStatus
cv_refit(CvRun *r)
{
	r->o.l2 = r->alpha[r->best] / (double) r->data->nrows;
	/* all rows train; a validation split only for a calibration to fit */
	if (r->m->calibration == DLF_CALIB_NONE)
		r->o.validation_fraction = 0.0;
	if (!r->fits)
		return dlf_train_ensemble(r->m, r->data, &r->o, r->hooks, r->err);
	r->o.ensemble = 1;
	r->o.nextra = r->k < DLF_MAX_ENSEMBLE ? r->k : DLF_MAX_ENSEMBLE - 1;
	r->o.extra = (const DlfModel *const *) (r->fits + r->best * r->k);
	return dlf_train(r->m, r->data, &r->o, r->hooks, r->err);
}

/*
 * The checks before a CV: DLF_OK to run it; otherwise *done is set and
 * the status is the training's (without "l2": "auto", or a set dlf_train
 * refuses itself) or the error.
 */
static DlfStatus
cv_start(CvRun *r, int *done)
{
	DlfDataset *data = r->data;
	DlfModel   *m = r->m;
	int			k = r->k;

	*done = 1;
	if (r->opt->ens_sample == DLF_ENS_CV && !r->opt->l2_auto)
	{
		dlf_fail(r->err, DLF_ERR_INVALID,
				 "ensemble_sample \"cv\" needs \"l2\": \"auto\"");
		dlf_detail(r->err, "Its members are the fits of the penalty's cross-validation.");
		dlf_hint(r->err, "Add \"l2\": \"auto\", or use \"ensemble_sample\": \"folds\".");
		return DLF_ERR_INVALID;
	}
	if (r->opt->ens_sample == DLF_ENS_CV && m->calibration != DLF_CALIB_NONE)
	{
		/* the fold fits have seen every row: none is left to calibrate on */
		dlf_fail(r->err, DLF_ERR_INVALID,
				 "ensemble_sample \"cv\" cannot be calibrated");
		dlf_detail(r->err, "Its members have trained on every row, so no row is left to fit the calibration on.");
		dlf_hint(r->err, "Use \"ensemble_sample\": \"folds\" with \"ensemble\", or leave out \"calibrate\".");
		return DLF_ERR_INVALID;
	}
	if (!r->opt->l2_auto)
		return dlf_train_ensemble(m, data, &r->o, r->hooks, r->err);
	if (k < 2 || k > 64)
		return dlf_fail(r->err, DLF_ERR_INVALID,
						"cv_folds must be between 2 and 64");
	if (data->nrows > INT32_MAX || data->nfeatures != m->nfeatures ||
		m->nfeatures < 1)
		return dlf_train(m, data, &r->o, r->hooks, r->err); /* its own errors */
	if (data->nrows < 2 * (int64_t) k)
	{
		dlf_fail(r->err, DLF_ERR_INVALID,
				 "too few rows for %d cross-validation folds", k);
		dlf_detail(r->err, "Every fold needs training rows; "
				   "lower cv_folds or give \"l2\" a number.");
		return DLF_ERR_INVALID;
	}
	*done = 0;
	return DLF_OK;
}

/* The whole set's statistics, in a schema copy, for a "cv" ensemble. */
static DlfStatus
cv_encoding(CvRun *r)
{
	DlfTrainOptions so = r->o;
	DlfTrainHooks fh = cv_fit_hooks(r->hooks);

	r->fits = dlf_alloc0(sizeof(DlfModel *) * r->ncand * r->k);
	if (!r->fits || !(r->enc = dlf_model_schema_copy(r->m)))
		return dlf_fail(r->err, DLF_ERR_NOMEM, "out of memory");
	so.stats_only = 1;
	so.bare = 1;
	so.ensemble = 1;
	return dlf_train(r->enc, r->data, &so, &fh, r->err);
}

/* Trains with opt's auto choices resolved; see dlfin_core.h. */
DlfStatus
dlf_train_auto(DlfModel *m, DlfDataset *data, const DlfTrainOptions *opt,
			   const DlfTrainHooks *hooks, DlfError *err)
{
	CvRun		r;
	DlfStatus	st;
	int			done;

	DlfTrainOptions ro;

	if (m == NULL || data == NULL || opt == NULL)
		return dlf_fail(err, DLF_ERR_INVALID, "missing training argument");
	ro = *opt;
	dlf_train_resolve(&ro, m, data);
	opt = &ro;
	memset(&r, 0, sizeof(r));
	r.m = m;
	r.data = data;
	r.opt = opt;
	r.hooks = hooks;
	r.err = err;
	r.o = *opt;
	r.o.optimizer = dlf_auto_optimizer(opt, data->nrows);
	r.k = opt->cv_folds;
	r.alpha = opt->ens_sample == DLF_ENS_CV ? cv_alpha : cv_alpha + 1;
	r.ncand = opt->ens_sample == DLF_ENS_CV ? CV_MAXCAND : CV_MAXCAND - 1;
	st = cv_start(&r, &done);
	if (done)
		return st;
	/* the folds and the out-of-fold scores read rows by number after fits */
	r.o.consume = 0;
	if (opt->ens_sample == DLF_ENS_CV)
		st = cv_encoding(&r);
	if (st == DLF_OK && !(r.fold = dlf_alloc_array(data->nrows, sizeof(uint8_t))))
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	if (st == DLF_OK)
		st = cv_folds(m, data, r.k, r.fold, err);
	for (int j = 0; j < r.k && st == DLF_OK; j++)
		st = cv_fold(&r, j);
	if (st == DLF_OK)
	{
		cv_choose(&r);
		st = cv_refit(&r);
	}
	/* a "cv" ensemble has no validation rows: its figures are out-of-fold */
	if (st == DLF_OK && r.fits)
		st = cv_oof(m, r.fits + r.best * r.k, r.k, r.fold, data, r.o.seed,
					hooks, err);
	if (st == DLF_OK)
		st = cv_record(&r);
	for (int i = 0; r.fits && i < r.ncand * r.k; i++)
		dlf_model_free(r.fits[i]);
	dlf_free(r.fits);
	dlf_model_free(r.enc);
	dlf_free(r.fold);
	return st;
}
