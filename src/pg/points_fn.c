/*
 * points_fn.c
 *	  Score points: the "points" training option (validated here, written
 *	  into the model's options JSON), dlfin_points (the score in points of a
 *	  binary model) and dlfin_explain_points (integrated gradients on the
 *	  calibrated log-odds, in points), each over model bytes or a registry
 *	  name.  The maths is in src/core/points.c.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "dlfin_pg.h"
#include "points.h"
#include "rowargs.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(dlfin_points);
PG_FUNCTION_INFO_V1(dlfin_points_name);
PG_FUNCTION_INFO_V1(dlfin_explain_points);
PG_FUNCTION_INFO_V1(dlfin_explain_points_name);

#define POINTS_DETAIL "Option \"points\" must be an object with base_score (a number), " \
	"base_odds and pdo (positive numbers), and optionally reasons (\"points\" or \"probability\")."

/* Raises the error of a bad "points" option. */
static void
bad_points(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for dlfin_train option \"points\""),
			 errdetail(POINTS_DETAIL),
			 errhint("For example \"points\": {\"base_score\": 600, \"base_odds\": 50, \"pdo\": 20}.")));
}

/* A finite number of at most 1e9 in magnitude (positive: > 0). */
static double
points_num(JsonbValue *v, bool positive)
{
	double		d;

	if (v->type != jbvNumeric)
		bad_points();
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(d) || fabs(d) > 1e9 || (positive && !(d > 0.0)))
		bad_points();
	return d;
}

/*
 * Reads a "points" object (base_score, base_odds, pdo required; reasons
 * optional) into a new scale.  Used for the option and for stored models.
 */
static DlfPointsScale *
points_from_container(JsonbContainer *jc)
{
	DlfPointsScale *s = palloc0(sizeof(DlfPointsScale));
	JsonbIterator *it = JsonbIteratorInit(jc);
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	int			seen = 0;

	s->rank_reasons = 1;
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "base_score") == 0)
			s->base_score = points_num(&v, false), seen |= 1;
		else if (strcmp(key, "base_odds") == 0)
			s->base_odds = points_num(&v, true), seen |= 2;
		else if (strcmp(key, "pdo") == 0)
			s->pdo = points_num(&v, true), seen |= 4;
		else if (strcmp(key, "reasons") == 0 && v.type == jbvString &&
				 (v.val.string.len == 6 || v.val.string.len == 11) &&
				 (strncmp(v.val.string.val, "points", 6) == 0 ||
				  strncmp(v.val.string.val, "probability", 11) == 0))
			s->rank_reasons = v.val.string.val[1] == 'o';
		else
			bad_points();
	}
	if (seen != 7)
		bad_points();
	return s;
}

/* Parses the "points" training option. */
struct DlfPointsScale *
dlfin_parse_points(JsonbValue *v)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_points();
	return points_from_container(v->val.binary.data);
}

/* Refuses a points scale on a model that is not a binary classifier. */
void
dlfin_check_points(const struct DlfPointsScale *s, const DlfModel *m)
{
	if (s != NULL && m->task != DLF_TASK_BINARY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train option \"points\" needs a binary classification model"),
				 errhint("Points scale the odds of the two classes; remove the option for this task.")));
	if (s != NULL && m->calibration == DLF_CALIB_ISOTONIC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train option \"points\" cannot be combined with isotonic calibration"),
				 errdetail("An isotonic map reaches probabilities 0 and 1, whose odds have no finite points."),
				 errhint("Use \"calibrate\": \"platt\" or no calibration with points.")));
}

/* Appends the value of the effective "points" option to the options JSON. */
void
dlfin_points_json(StringInfo s, const struct DlfPointsScale *p)
{
	appendStringInfo(s, "{\"base_score\": %s", float8out_internal(p->base_score));
	appendStringInfo(s, ", \"base_odds\": %s", float8out_internal(p->base_odds));
	appendStringInfo(s, ", \"pdo\": %s, \"reasons\": \"%s\"}", float8out_internal(p->pdo),
					 p->rank_reasons ? "points" : "probability");
}

/* The points scale stored in a model's options, or NULL. */
struct DlfPointsScale *
dlfin_model_points(const DlfModel *m)
{
	Jsonb	   *j;
	JsonbValue *v;

	if (m->task != DLF_TASK_BINARY || m->options_json == NULL ||
		strstr(m->options_json, "\"points\"") == NULL)
		return NULL;
	j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(m->options_json)));
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		return NULL;
	v = getKeyJsonValueFromContainer(&j->root, "points", 6, NULL);
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		return NULL;
	return points_from_container(v->val.binary.data);
}

/* The model's scale for a points function, or an error saying why not. */
static const DlfPointsScale *
need_points(const DlfModel *m, const char *fname)
{
	DlfPointsScale *s;

	if (m->task != DLF_TASK_BINARY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a binary classification model", fname),
				 errhint("Points scale the odds of two classes.")));
	s = dlfin_model_points(m);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model has no points scale"),
				 errhint("Train with the option \"points\", for example {\"points\": {\"base_score\": 600, \"base_odds\": 50, \"pdo\": 20}}.")));
	return s;
}

/* Per-model data of the points functions (in the cache's context). */
typedef struct PointsExtra
{
	DlfPointsScale scale;
	DlfExplainer *explainer;	/* dlfin_explain_points only */
	double	   *contrib;
} PointsExtra;

/* The cache of argument 0's model (bytes or name) with its scale. */
static DlfScoreCache *
points_cache(FunctionCallInfo fcinfo, bool by_name, const char *fname)
{
	Datum		model;
	DlfScoreCache *c;

	/* a row of the cached model goes straight to scoring */
	if (!by_name)
	{
		c = dlfin_score_cache_hit(fcinfo, PG_GETARG_DATUM(0));
		if (likely(c != NULL && c->extra != NULL))
			return c;
	}
	/* the call site does not change within a query: check its first call */
	if (fcinfo->flinfo->fn_extra == NULL && get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s does not accept a VARIADIC array", fname),
				 errhint("Pass the features as separate arguments.")));
	model = by_name ? PointerGetDatum(dlfin_registry_model(fcinfo, NULL)) : PG_GETARG_DATUM(0);
	c = dlfin_score_cache_get(fcinfo, model, 1);
	if (c->extra == NULL)
	{
		const DlfPointsScale *s = need_points(c->model, fname);
		PointsExtra *x = MemoryContextAllocZero(c->cxt, sizeof(PointsExtra));

		x->scale = *s;
		c->extra = x;
	}
	return c;
}

/* The score in points of the row (features from argument 1). */
static Datum
points_common(FunctionCallInfo fcinfo, bool by_name)
{
	DlfScoreCache *c = points_cache(fcinfo, by_name, "dlfin_points");
	PointsExtra *x = c->extra;

	dlfin_score_row_out(fcinfo, c, 1);
	return Float8GetDatum(dlf_points_of_prob(&x->scale, c->model->adverse, c->out[0]));
}

static const DlfRowForm row_points = {dlfin_points, 0, 1, false, false};
static const DlfRowForm row_points_name = {dlfin_points, 0, 1, true, false};

/* dlfin_points(model, features...): the row's score in points. */
Datum
dlfin_points(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &row_points);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(points_common(fcinfo, false));
}

/* dlfin_points(name, features...): dlfin_points with the deployed model. */
Datum
dlfin_points_name(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &row_points_name);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(points_common(fcinfo, true));
}

/* The points explanation of the row as jsonb. */
static Datum
explain_points_common(FunctionCallInfo fcinfo, bool by_name)
{
	DlfScoreCache *c = points_cache(fcinfo, by_name, "dlfin_explain_points");
	PointsExtra *x = c->extra;
	const DlfModel *m = c->model;
	DlfExplanation ex;
	DlfError	err;

	if (x->explainer == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(c->cxt);

		x->contrib = palloc(sizeof(double) * m->nfeatures);
		x->explainer = dlf_explainer_new(m, &err);
		MemoryContextSwitchTo(old);
		if (x->explainer == NULL)
			dlfin_report_core_error(&err);
		dlf_explainer_set_interrupt(x->explainer, dlfin_interrupt_pending, NULL);
		dlf_explainer_set_points(x->explainer, &x->scale);
	}
	dlfin_load_row(fcinfo, c, 1, NULL);
	ex.contrib = x->contrib;
	if (dlf_explain(x->explainer, c->scorer, &ex, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	return dlfin_explanation_jsonb(m, &ex, "points", false);
}

static const DlfRowForm row_explain_points = {dlfin_explain_points, 0, 1, false, false};
static const DlfRowForm row_explain_points_name = {dlfin_explain_points, 0, 1, true, false};

/*
 * dlfin_explain_points(model, features...): {"score", "baseline",
 * "contributions"} in points; contributions add up to score - baseline.
 */
Datum
dlfin_explain_points(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &row_explain_points);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(explain_points_common(fcinfo, false));
}

/* dlfin_explain_points(name, features...): with the deployed model. */
Datum
dlfin_explain_points_name(PG_FUNCTION_ARGS)
{
	DLFIN_ROW_FORM(fcinfo, &row_explain_points_name);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(explain_points_common(fcinfo, true));
}
