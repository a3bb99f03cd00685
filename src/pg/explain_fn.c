/*
 * explain_fn.c
 *	  Per-row explanations over a model bytea or a registry name:
 *	  dlfin_explain (integrated gradients as jsonb), dlfin_reasons
 *	  (adverse-action reason codes) and dlfin_importance (the permutation
 *	  importances stored at training).
 *
 * The row's features go through the same per-query model cache as
 * dlfin_predict (scoring.h); the explainer's workspace lives in the cache's
 * memory context, so it is rebuilt only when the model changes.  The name
 * forms look the deployed version up with the registry's per-query lookup
 * (registry.c), so one query explains with one version, as scoring does.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "dlfin_pg.h"
#include "points.h"
#include "rowargs.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(dlfin_explain);
PG_FUNCTION_INFO_V1(dlfin_reasons);
PG_FUNCTION_INFO_V1(dlfin_importance);
PG_FUNCTION_INFO_V1(dlfin_explain_name);
PG_FUNCTION_INFO_V1(dlfin_reasons_name);
PG_FUNCTION_INFO_V1(dlfin_importance_name);

/* What the cache's extra slot holds for the explaining functions. */
typedef struct ExplainExtra
{
	DlfExplainer *explainer;
	double	   *contrib;		/* [nfeatures] */
	int32	   *idx;			/* [nfeatures] */
	DlfPointsScale *points;		/* dlfin_reasons by points lost, or NULL */
} ExplainExtra;

/* Raises an error for the VARIADIC-array call form of an explaining function. */
static void
reject_variadic(FunctionCallInfo fcinfo, const char *fname)
{
	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s does not accept a VARIADIC array", fname),
				 errhint("Pass the features as separate arguments.")));
}

/* The model datum of argument 0: the bytes, or the deployed model of a name. */
static Datum
model_arg(FunctionCallInfo fcinfo, bool by_name)
{
	if (by_name)
		return PointerGetDatum(dlfin_registry_model(fcinfo, NULL));
	return PG_GETARG_DATUM(0);
}

/*
 * Loads the row and explains it; returns the cache (contributions in ex).
 * With by_points, a model whose points scale ranks reasons is explained in
 * points (ExplainExtra.points set).
 */
static DlfScoreCache *
explain_row(FunctionCallInfo fcinfo, Datum model, int first_feature,
			DlfExplanation *ex, bool by_points)
{
	DlfScoreCache *c;
	ExplainExtra *x;
	DlfError	err;

	c = dlfin_score_cache_get(fcinfo, model, first_feature);
	x = c->extra;
	if (x == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(c->cxt);

		x = palloc0(sizeof(ExplainExtra));
		x->contrib = palloc(sizeof(double) * c->model->nfeatures);
		x->idx = palloc(sizeof(int32) * c->model->nfeatures);
		x->explainer = dlf_explainer_new(c->model, &err);
		MemoryContextSwitchTo(old);
		if (x->explainer == NULL)
			dlfin_report_core_error(&err);
		/* the path integral answers cancel and statement_timeout */
		dlf_explainer_set_interrupt(x->explainer, dlfin_interrupt_pending, NULL);
		if (by_points)
		{
			old = MemoryContextSwitchTo(c->cxt);
			x->points = dlfin_model_points(c->model);
			MemoryContextSwitchTo(old);
			if (x->points && !x->points->rank_reasons)
				x->points = NULL;
			dlf_explainer_set_points(x->explainer, x->points);
		}
		c->extra = x;
	}
	dlfin_load_row(fcinfo, c, first_feature, NULL);
	ex->contrib = x->contrib;
	if (dlf_explain(x->explainer, c->scorer, ex, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	return c;
}

/*
 * The jsonb {"score", "baseline", "scale", "class" (if with_class),
 * "contributions"} of explanation ex of model m.
 */
Datum
dlfin_explanation_jsonb(const DlfModel *m, const DlfExplanation *ex,
						const char *scale, bool with_class)
{
	DlfBuf		b;
	Datum		result;

	dlf_buf_init(&b);
	dlf_buf_append(&b, "{\"score\": ", 10);
	dlf_buf_json_double(&b, ex->score);
	dlf_buf_append(&b, ", \"baseline\": ", 14);
	dlf_buf_json_double(&b, ex->baseline);
	dlf_buf_append(&b, ", \"scale\": ", 11);
	dlf_buf_json_string(&b, scale);
	if (with_class)
	{
		dlf_buf_append(&b, ", \"class\": ", 11);
		dlf_buf_json_string(&b, m->classes[ex->klass]);
	}
	dlf_buf_append(&b, ", \"contributions\": {", 20);
	for (int32 f = 0; f < m->nfeatures; f++)
	{
		if (f)
			dlf_buf_append(&b, ", ", 2);
		dlf_buf_json_string(&b, m->features[f].name);
		dlf_buf_append(&b, ": ", 2);
		dlf_buf_json_double(&b, ex->contrib[f]);
	}
	dlf_buf_append(&b, "}}", 2);
	if (b.failed)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum((char *) b.data));
	dlf_buf_free(&b);
	return result;
}

/* The jsonb explanation of the row, with the model of argument 0 or a name. */
static Datum
explain_common(FunctionCallInfo fcinfo, bool by_name)
{
	DlfExplanation ex;
	DlfScoreCache *c;
	const DlfModel *m;

	reject_variadic(fcinfo, "dlfin_explain");
	c = explain_row(fcinfo, model_arg(fcinfo, by_name), 1, &ex, false);
	m = c->model;
	return dlfin_explanation_jsonb(m, &ex,
								   m->task == DLF_TASK_REGRESSION ? "label" :
								   m->task == DLF_TASK_MULTICLASS ? "class probability" :
								   m->calibration != DLF_CALIB_NONE ? "calibrated probability" :
								   "probability",
								   m->task == DLF_TASK_MULTICLASS);
}

/*
 * dlfin_explain(model, features...): {"score", "baseline", "contributions"}
 * on the scale of dlfin_predict; contributions add up to score - baseline.
 */
Datum
dlfin_explain(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &dlfin_row_explain);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(explain_common(fcinfo, false));
}

/* dlfin_explain(name, features...): dlfin_explain with the deployed model. */
Datum
dlfin_explain_name(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &dlfin_row_explain_name);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(explain_common(fcinfo, true));
}

/* The reason codes of the row (k in argument 1), with a model or a name. */
static Datum
reasons_common(FunctionCallInfo fcinfo, bool by_name)
{
	DlfExplanation ex;
	DlfScoreCache *c;
	const DlfModel *m;
	ExplainExtra *x;
	Datum		model;
	int32		k,
				n;
	Datum	   *d;

	k = PG_GETARG_INT32(1);
	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of reasons must not be negative")));
	reject_variadic(fcinfo, "dlfin_reasons");
	model = model_arg(fcinfo, by_name);
	c = dlfin_score_cache_get(fcinfo, model, 2);
	if (c->model->task == DLF_TASK_MULTICLASS)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("dlfin_reasons needs a binary classification or regression model"),
				 errhint("Use dlfin_explain for a multiclass model.")));
	c = explain_row(fcinfo, model, 2, &ex, true);
	m = c->model;
	x = c->extra;
	if (k > m->nfeatures)
		k = m->nfeatures;
	if (x->points)
		n = dlf_points_reasons(ex.contrib, m->nfeatures, k, x->idx);
	else
		n = dlf_reason_features(m, ex.contrib, k, x->idx);
	d = palloc(sizeof(Datum) * Max(n, 1));
	for (int32 i = 0; i < n; i++)
	{
		const DlfFeature *ft = &m->features[x->idx[i]];

		d[i] = PointerGetDatum(cstring_to_text(ft->reason ? ft->reason : ft->name));
	}
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * dlfin_reasons(model, k, features...): the texts of up to k features that
 * pushed this row's score most toward the adverse side.
 */
Datum
dlfin_reasons(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &dlfin_row_reasons);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(reasons_common(fcinfo, false));
}

/* dlfin_reasons(name, k, features...): dlfin_reasons with the deployed model. */
Datum
dlfin_reasons_name(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &dlfin_row_reasons_name);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(reasons_common(fcinfo, true));
}

/* Orders feature indexes by importance, highest first, unknown last. */
static int
cmp_importance(const void *a, const void *b, void *arg)
{
	const DlfModel *m = arg;
	int32		i = *(const int32 *) a,
				j = *(const int32 *) b;
	double		x = m->features[i].importance,
				y = m->features[j].importance;

	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (!isnan(x) && x != y)
		return x > y ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Returns the importance rows of the model bytes as a materialized set. */
static void
importance_rows(FunctionCallInfo fcinfo, bytea *bytes)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DlfModel   *m;
	int32	   *order;

	InitMaterializedSRF(fcinfo, 0);
	m = dlfin_decode_model(bytes);
	order = palloc(sizeof(int32) * m->nfeatures);
	for (int32 f = 0; f < m->nfeatures; f++)
		order[f] = f;
	qsort_arg(order, m->nfeatures, sizeof(int32), cmp_importance, m);
	for (int32 r = 0; r < m->nfeatures; r++)
	{
		const DlfFeature *ft = &m->features[order[r]];
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = PointerGetDatum(cstring_to_text(ft->name));
		values[1] = Float8GetDatum(ft->importance);
		values[2] = Int32GetDatum(r + 1);
		if (isnan(ft->importance))
			nulls[1] = nulls[2] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	dlf_model_free(m);
}

/*
 * dlfin_importance(model): one row per feature with its permutation
 * importance and rank (1 = most important; ties by feature position), in
 * rank order.  Importance and rank are NULL when the model has none.
 */
Datum
dlfin_importance(PG_FUNCTION_ARGS)
{
	importance_rows(fcinfo, PG_GETARG_BYTEA_PP(0));
	PG_RETURN_VOID();
}

/* dlfin_importance(name): dlfin_importance of the deployed model. */
Datum
dlfin_importance_name(PG_FUNCTION_ARGS)
{
	importance_rows(fcinfo, dlfin_registry_model(fcinfo, NULL));
	PG_RETURN_VOID();
}
