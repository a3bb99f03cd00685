/*
 * predict.c
 *	  Inline scoring: dlfin_predict, dlfin_predict_class, dlfin_predict_proba
 *	  and dlfin_model_info over a model bytea, and the three scoring
 *	  functions by registry name (whose lookup is registry.c's).
 *
 * The decoded model and its scorer are cached in fn_extra for the life of
 * the query (model_cache.c), recognised by the bytes of the model datum as
 * passed.  A row that overflows the network is an error (22003), never a
 * NaN score.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "dlfin_pg.h"
#include "numconv.h"
#include "registry_cache.h"
#include "rowargs.h"
#include "scoring.h"
#include "std_row.h"

PG_FUNCTION_INFO_V1(dlfin_predict);
PG_FUNCTION_INFO_V1(dlfin_predict_class);
PG_FUNCTION_INFO_V1(dlfin_predict_proba);
PG_FUNCTION_INFO_V1(dlfin_model_info);
PG_FUNCTION_INFO_V1(dlfin_predict_name);
PG_FUNCTION_INFO_V1(dlfin_predict_class_name);
PG_FUNCTION_INFO_V1(dlfin_predict_proba_name);

/*
 * Loads the row's features into the scorer without running it; raw, when
 * not NULL, receives each numeric feature's value (NaN for NULL).
 */
void
dlfin_load_row(FunctionCallInfo fcinfo, DlfScoreCache *c, int first_feature,
			   double *raw)
{
	const DlfModel *m = c->model;

	dlf_scorer_reset(c->scorer);
	for (int32 f = 0; f < m->nfeatures; f++)
	{
		int			arg = first_feature + f;
		const DlfArgType *t = &c->types[f];

		if (m->features[f].sqltype == DLF_SQL_TEXT)
		{
			const char *s = NULL;
			int			len = 0;

			if (!PG_ARGISNULL(arg))
				dlfin_datum_text(PG_GETARG_DATUM(arg), t, &s, &len);
			dlf_scorer_set_category(c->scorer, f, s, len, PG_ARGISNULL(arg));
		}
		else if (PG_ARGISNULL(arg))
		{
			dlf_scorer_set_numeric(c->scorer, f, 0, 1);
			if (raw)
				raw[f] = NAN;
		}
		else
		{
			bool		bad;
			double		v;

			/* float8, the common column type, without the conversion call */
			if (t->base == FLOAT8OID)
			{
				v = DatumGetFloat8(PG_GETARG_DATUM(arg));
				bad = !isfinite(v);
			}
			else
				v = dlfin_datum_to_double(PG_GETARG_DATUM(arg), t, &bad);

			if (bad)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("dlfin feature \"%s\" is NaN or infinite",
								m->features[f].name)));
			/* as in training: beyond float4 it would silently become NULL */
			if (fabs(v) > DLFIN_FLOAT4_LIMIT)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("dlfin feature \"%s\" value %g is out of range",
								m->features[f].name, v),
						 errdetail("Feature values are stored as real (float4).")));
			dlf_scorer_set_numeric(c->scorer, f, v, 0);
			if (raw)
				raw[f] = v;
		}
		/* a WoE feature's training column held its WoE: drift bins that */
		if (raw && m->features[f].woe)
			raw[f] = dlf_scorer_woe(c->scorer, f);
	}
}

/* Reports a non-finite or out-of-range numeric feature value. */
static void
pg_attribute_noreturn()
bad_numeric(const DlfModel *m, int32 f, double v)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("dlfin feature \"%s\" is NaN or infinite",
						m->features[f].name)));
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("dlfin feature \"%s\" value %g is out of range",
					m->features[f].name, v),
			 errdetail("Feature values are stored as real (float4).")));
}

/*
 * A feature argument of an all-numeric row as a double, read by its
 * DlfConv (NaN for a NaN or infinite numeric): no call for the built-in
 * number types and for most numerics.
 */
static inline double
arg_double(const DlfScoreCache *c, int32 f, Datum d)
{
	double		v;
	bool		bad;

	switch ((DlfConv) c->conv[f])
	{
		case DLF_CONV_FLOAT8:
			return DatumGetFloat8(d);
		case DLF_CONV_INT4:
			return (double) DatumGetInt32(d);
		case DLF_CONV_INT8:
			return (double) DatumGetInt64(d);
		case DLF_CONV_INT2:
			return (double) DatumGetInt16(d);
		case DLF_CONV_FLOAT4:
			return (double) DatumGetFloat4(d);
		case DLF_CONV_BOOL:
			return DatumGetBool(d) ? 1.0 : 0.0;
		case DLF_CONV_NUMERIC:
			if (dlfin_numeric_to_double_fast(d, &v))
				return v;
			break;
		case DLF_CONV_OTHER:
			break;
	}
	v = dlfin_datum_to_double(d, &c->types[f], &bad);
	return bad ? NAN : v;
}

/*
 * Standardises the arguments of an all-numeric row whose types are not all
 * float8 into std, checking each as dlfin_load_row does.
 */
static inline void
std_converted(const DlfScoreCache *c, const NullableDatum *args, int32 nf,
			  float *std)
{
	const double *mean = c->mean;
	const double *inv_scale = c->inv_scale;

	for (int32 f = 0; f < nf; f++)
	{
		double		v;

		if (args[f].isnull)
		{
			std[f] = 0.0f;
			continue;
		}
		v = arg_double(c, f, args[f].value);
		if (unlikely(!(fabs(v) <= DLFIN_FLOAT4_LIMIT)))
			bad_numeric(c->model, f, v);
		std[f] = dlf_std_finite((float) v, mean[f], inv_scale[f]);
	}
}

/*
 * Scores a row of an all-numeric model: each argument is read, checked
 * with one range test (as dlfin_load_row checks it) and standardised
 * straight into c->std, which the network reads next.  Float8 arguments,
 * the usual case, are standardised where they lie by the core's
 * dlf_std_row (two at a time): the row's latency starts with them.
 */
static inline void
score_numeric_row(FunctionCallInfo fcinfo, DlfScoreCache *c,
				  int first_feature, double *out)
{
	const NullableDatum *args = &fcinfo->args[first_feature];
	int32		nf = c->model->nfeatures;

#ifdef USE_FLOAT8_BYVAL
	if (likely(c->all_float8))
	{
		/* a by-value float8 Datum holds the double's bits */
		int32		bad = dlf_std_row(&args[0].value, &args[0].isnull,
									  sizeof(NullableDatum), c->mean,
									  c->inv_scale, c->std, nf);

		if (unlikely(bad < nf))
			bad_numeric(c->model, bad, DatumGetFloat8(args[bad].value));
	}
	else
#endif
		std_converted(c, args, nf, c->std);
	if (unlikely(dlf_scorer_run_std(c->scorer, c->std, out)))
		dlfin_report_overflow();
}

/* The bytes of a text feature argument, as dlfin_datum_text reads them. */
static inline void
arg_text(const DlfArgType *t, Datum d, const char **s, int *len)
{
	const struct varlena *v = (const struct varlena *) DatumGetPointer(d);

	/* a plain or short text in place, without the call */
	if (t->kind == DLF_ARG_TEXT && t->base != BPCHAROID &&
		(!VARATT_IS_EXTENDED(v) || VARATT_IS_SHORT(v)))
	{
		*s = VARDATA_ANY(v);
		*len = VARSIZE_ANY_EXHDR(v);
		return;
	}
	dlfin_datum_text(d, t, s, len);
}

/*
 * Scores a row of a model with categorical features as one first-layer
 * entry per feature: a numeric feature's standardised value at its input,
 * or the input of a category's one-hot code with 1 (the entries
 * dlf_scorer_run builds from dlfin_load_row's inputs, so the same bits),
 * checking each numeric value as dlfin_load_row does.
 */
static inline void
score_entries_row(FunctionCallInfo fcinfo, DlfScoreCache *c,
				  int first_feature, double *out)
{
	const NullableDatum *args = &fcinfo->args[first_feature];
	const DlfModel *m = c->model;
	int32		nf = m->nfeatures;

	for (int32 f = 0; f < nf; f++)
	{
		if (m->features[f].sqltype == DLF_SQL_TEXT)
		{
			const char *s = NULL;
			int			len = 0;

			if (!args[f].isnull)
				arg_text(&c->types[f], args[f].value, &s, &len);
			c->idx[f] = dlf_scorer_category_input(c->scorer, f, s, len,
												  args[f].isnull);
			c->val[f] = 1.0f;
			continue;
		}
		c->idx[f] = c->offsets[f];
		if (args[f].isnull)
			c->val[f] = 0.0f;
		else
		{
			double		v = arg_double(c, f, args[f].value);

			if (unlikely(!(fabs(v) <= DLFIN_FLOAT4_LIMIT)))
				bad_numeric(m, f, v);
			c->val[f] = dlf_std_finite((float) v, c->mean[f], c->inv_scale[f]);
		}
	}
	if (unlikely(dlf_scorer_run_entries(c->scorer, c->idx, c->val, out)))
		dlfin_report_overflow();
}

/* Loads the row's features into the scorer and runs the network. */
static inline void
score_row(FunctionCallInfo fcinfo, DlfScoreCache *c, int first_feature,
		  double *out)
{
	if (c->std != NULL)
	{
		score_numeric_row(fcinfo, c, first_feature, out);
		return;
	}
	if (c->idx != NULL)
	{
		score_entries_row(fcinfo, c, first_feature, out);
		return;
	}
	dlfin_load_row(fcinfo, c, first_feature, NULL);
	if (unlikely(dlf_scorer_run(c->scorer, out)))
		dlfin_report_overflow();
}

/* Rejects the VARIADIC-array call form of a scoring function. */
void
dlfin_reject_variadic(FunctionCallInfo fcinfo)
{
	/* the call site does not change within a query: check its first call */
	if (fcinfo->flinfo->fn_extra == NULL && get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("dlfin scoring functions do not accept a VARIADIC array"),
				 errhint("Pass the features as separate arguments.")));
}

/* Scores the row's features into c->out, sized for the cached model. */
static inline void
score_row_out(FunctionCallInfo fcinfo, DlfScoreCache *c, int first_feature)
{
	if (unlikely(c->out == NULL))
		c->out = MemoryContextAlloc(c->cxt, sizeof(double) * Max(c->model->nclasses, 1));
	score_row(fcinfo, c, first_feature, c->out);
}

/* Scores the row's features into c->out, sized for the cached model. */
void
dlfin_score_row_out(FunctionCallInfo fcinfo, DlfScoreCache *c, int first_feature)
{
	score_row_out(fcinfo, c, first_feature);
}

/*
 * Scores one row: decodes (cached) and runs; false when the model (or, by
 * name, the name) is NULL.  A row of the cached model takes no call into
 * the rest of the glue, by bytes or by name.
 */
static pg_attribute_always_inline bool
score(FunctionCallInfo fcinfo, bool by_name, DlfScoreCache **cp)
{
	DlfScoreCache *c;

	if (PG_ARGISNULL(0))
		return false;
	c = by_name ? dlfin_registry_hit(fcinfo) :
		dlfin_score_cache_hit(fcinfo, PG_GETARG_DATUM(0));
	if (unlikely(c == NULL))
	{
		Datum		model;

		/* the checks of a new model (the variadic form: first call only) */
		dlfin_reject_variadic(fcinfo);
		model = by_name ? PointerGetDatum(dlfin_registry_model(fcinfo, NULL)) :
			PG_GETARG_DATUM(0);
		c = dlfin_score_cache_get(fcinfo, model, 1);
	}
	score_row_out(fcinfo, c, 1);
	*cp = c;
	return true;
}

/* Index of the most probable class (first on ties). */
static int32
argmax_class(const DlfScoreCache *c)
{
	const DlfModel *m = c->model;
	int32		best = 0;

	if (m->task == DLF_TASK_BINARY)
		return c->out[0] >= 0.5 ? 1 : 0;
	for (int32 k = 1; k < m->nclasses; k++)
		if (c->out[k] > c->out[best])
			best = k;
	return best;
}

/*
 * What dlfin_predict returns for a scored row: binary, probability of the
 * positive class; regression, the prediction; multiclass, the top class
 * probability.
 */
static inline Datum
result_predict(DlfScoreCache *c)
{
	if (c->model->task == DLF_TASK_MULTICLASS)
		return Float8GetDatum(c->out[argmax_class(c)]);
	return Float8GetDatum(c->out[0]);
}

/* What dlfin_predict_class returns for a scored row: the class as text. */
static Datum
result_class(DlfScoreCache *c)
{
	if (c->model->task == DLF_TASK_REGRESSION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("dlfin_predict_class needs a classification model"),
				 errhint("Use dlfin_predict for a regression model.")));
	return PointerGetDatum(cstring_to_text(c->model->classes[argmax_class(c)]));
}

/* What dlfin_predict_proba returns for a scored row: class probabilities. */
static Datum
result_proba(DlfScoreCache *c)
{
	Datum	   *d;
	int32		k;

	if (c->model->task == DLF_TASK_REGRESSION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("dlfin_predict_proba needs a classification model"),
				 errhint("Use dlfin_predict for a regression model.")));
	k = c->model->nclasses;
	d = palloc(sizeof(Datum) * k);
	if (c->model->task == DLF_TASK_BINARY)
	{
		d[0] = Float8GetDatum(1.0 - c->out[0]);
		d[1] = Float8GetDatum(c->out[0]);
	}
	else
		for (int32 i = 0; i < k; i++)
			d[i] = Float8GetDatum(c->out[i]);
	return PointerGetDatum(construct_array(d, k, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * A scoring function's call: its row form, or the row scored and given to
 * result; NULL for a NULL model or name.  Always inlined with constant
 * arguments, so each entry point below is the straight path it spells.
 */
static pg_attribute_always_inline Datum
scoring_call(FunctionCallInfo fcinfo, const DlfRowForm *form, bool by_name,
			 Datum (*result) (DlfScoreCache *c))
{
	DlfScoreCache *c;

	DLFIN_ROW_FORM(fcinfo, form);
	if (!score(fcinfo, by_name, &c))
		PG_RETURN_NULL();
	return result(c);
}

/*
 * dlfin_predict(model, features...): binary, probability of the positive
 * class; regression, the prediction; multiclass, the top class probability.
 */
Datum
dlfin_predict(PG_FUNCTION_ARGS)
{
	return scoring_call(fcinfo, &dlfin_row_predict, false, result_predict);
}

/* dlfin_predict_class(model, features...): the predicted class as text. */
Datum
dlfin_predict_class(PG_FUNCTION_ARGS)
{
	return scoring_call(fcinfo, &dlfin_row_predict_class, false, result_class);
}

/* dlfin_predict_proba(model, features...): class probabilities. */
Datum
dlfin_predict_proba(PG_FUNCTION_ARGS)
{
	return scoring_call(fcinfo, &dlfin_row_predict_proba, false, result_proba);
}

/* dlfin_predict(name, features...): dlfin_predict with the deployed model. */
Datum
dlfin_predict_name(PG_FUNCTION_ARGS)
{
	return scoring_call(fcinfo, &dlfin_row_predict_name, true, result_predict);
}

/* dlfin_predict_class(name, features...): the predicted class as text. */
Datum
dlfin_predict_class_name(PG_FUNCTION_ARGS)
{
	return scoring_call(fcinfo, &dlfin_row_predict_class_name, true, result_class);
}

/* dlfin_predict_proba(name, features...): class probabilities. */
Datum
dlfin_predict_proba_name(PG_FUNCTION_ARGS)
{
	return scoring_call(fcinfo, &dlfin_row_predict_proba_name, true, result_proba);
}

/*
 * The description as jsonb.  The codec accepts any RFC 8259 options text,
 * but jsonb refuses some of it (numbers beyond numeric's range such as
 * 1e999999, strings over 256 MB): for a forged model that is a corrupt
 * model (22P03) like any other, not a numeric overflow.
 */
static Datum
info_jsonb(char *text)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	PG_TRY();
	{
		result = DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
	}
	PG_CATCH();
	{
		ErrorData  *e;
		int			category;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		category = ERRCODE_TO_CATEGORY(e->sqlerrcode);
		if (category != ERRCODE_DATA_EXCEPTION &&
			category != ERRCODE_PROGRAM_LIMIT_EXCEEDED)
			PG_RE_THROW();
		/* the transaction is aborted by the new error, as it would be */
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("dlfin model has training options that are not valid jsonb"),
				 errdetail("%s", e->message)));
	}
	PG_END_TRY();
	return result;
}

/* dlfin_model_info(model): the model's description as jsonb. */
Datum
dlfin_model_info(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	DlfModel   *m = dlfin_decode_model(b);
	DlfBuf		buf;
	Datum		result;

	dlf_buf_init(&buf);
	dlf_model_info_json(m, (const uint8_t *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), &buf);
	if (buf.failed)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	result = info_jsonb((char *) buf.data);
	dlf_buf_free(&buf);
	dlf_model_free(m);
	PG_RETURN_DATUM(result);
}
