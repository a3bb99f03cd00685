/*
 * average_fn.c
 *	  Data-parallel training support: dlfin_average_models (the weighted
 *	  mean of models that share one encoding, src/core/average.c) and the
 *	  "encoding" training option (the global scaling and vocabularies that
 *	  dlfin.train_distributed computes from per-shard statistics).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "average.h"
#include "dlfin_pg.h"

PG_FUNCTION_INFO_V1(dlfin_average_models);

/* Raises the error for an "encoding" the rows do not fit. */
static void
bad_encoding(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("dlfin_train option \"encoding\" does not match the training data"),
			 errdetail_internal("%s", detail)));
}

/* The value of key in a jsonb object container, or NULL. */
static JsonbValue *
get_key(JsonbContainer *c, const char *key)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* A jsonb number as a finite double; errors otherwise. */
static double
number_of(JsonbValue *v, const char *what)
{
	double		x;

	if (v == NULL || v->type != jbvNumeric)
		bad_encoding(psprintf("\"%s\" must be a number.", what));
	x = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(x))
		bad_encoding(psprintf("\"%s\" must be finite.", what));
	return x;
}

/* Fills feature f of the skeleton from its jsonb object. */
static void
encoding_feature(DlfFeature *ft, JsonbValue *v, int32 f)
{
	JsonbValue *cats;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_encoding(psprintf("Entry %d of \"features\" is not an object.", f + 1));
	cats = get_key(v->val.binary.data, "categories");
	if (cats == NULL)
	{
		ft->kind = DLF_FEAT_NUMERIC;
		ft->mean = number_of(get_key(v->val.binary.data, "mean"), "mean");
		ft->scale = number_of(get_key(v->val.binary.data, "scale"), "scale");
		if (!(ft->scale > 0.0))
			bad_encoding("\"scale\" must be positive.");
		return;
	}
	if (cats->type != jbvBinary || !JsonContainerIsArray(cats->val.binary.data))
		bad_encoding("\"categories\" must be an array of strings.");
	ft->kind = DLF_FEAT_CATEGORICAL;
	ft->ncat = JsonContainerSize(cats->val.binary.data);
	if (ft->ncat > DLF_MAX_CATEGORIES)
		bad_encoding("Too many categories.");
	ft->categories = palloc0(sizeof(char *) * Max(ft->ncat, 1));
	for (int32 c = 0; c < ft->ncat; c++)
	{
		JsonbValue *s = getIthJsonbValueFromContainer(cats->val.binary.data, c);

		if (s->type != jbvString)
			bad_encoding("\"categories\" must be an array of strings.");
		ft->categories[c] = pnstrdup(s->val.string.val, s->val.string.len);
	}
}

/*
 * A model skeleton (features and target scaling only, palloc'd) from the
 * "encoding" option of a call with nfeat features.
 */
DlfModel *
dlfin_encoding_model(Jsonb *enc, int32 nfeat)
{
	DlfModel   *m = palloc0(sizeof(DlfModel));
	JsonbValue *feats = get_key(&enc->root, "features");
	JsonbValue *v;

	if (feats == NULL || feats->type != jbvBinary ||
		!JsonContainerIsArray(feats->val.binary.data))
		bad_encoding("\"features\" must be an array.");
	if (JsonContainerSize(feats->val.binary.data) != (uint32) nfeat)
		bad_encoding(psprintf("The encoding has %d features, this call %d.",
							  (int) JsonContainerSize(feats->val.binary.data), nfeat));
	m->nfeatures = nfeat;
	m->features = palloc0(sizeof(DlfFeature) * Max(nfeat, 1));
	for (int32 f = 0; f < nfeat; f++)
		encoding_feature(&m->features[f],
						 getIthJsonbValueFromContainer(feats->val.binary.data, f), f);
	m->target_mean = 0.0;
	m->target_scale = 1.0;
	if ((v = get_key(&enc->root, "target_mean")) != NULL)
		m->target_mean = number_of(v, "target_mean");
	if ((v = get_key(&enc->root, "target_scale")) != NULL)
		m->target_scale = number_of(v, "target_scale");
	if (!(m->target_scale > 0.0))
		bad_encoding("\"target_scale\" must be positive.");
	return m;
}

/* Errors out unless the kinds of the encoding's features are m's. */
void
dlfin_check_encoding(const DlfModel *enc, const DlfModel *m)
{
	for (int32 f = 0; f < m->nfeatures; f++)
		if (enc->features[f].kind != m->features[f].kind)
			bad_encoding(psprintf("Feature %d is %s in the encoding and %s here.", f + 1,
								  enc->features[f].kind == DLF_FEAT_NUMERIC ? "numeric" : "categorical",
								  m->features[f].kind == DLF_FEAT_NUMERIC ? "numeric" : "categorical"));
}

/*
 * dlfin_average_models(models bytea[], weights float8[]): the weighted
 * mean of the networks, the rest of the first model kept.  NULL elements
 * are errors, not skipped: a missing member would silently change the
 * result.
 */
Datum
dlfin_average_models(PG_FUNCTION_ARGS)
{
	ArrayType  *ma = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *wa = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *mv,
			   *wv;
	bool	   *mn,
			   *wn;
	int			n,
				nw;
	DlfModel  **m;
	double	   *w;
	DlfError	err;
	bytea	   *result;

	if (ARR_NDIM(ma) > 1 || ARR_NDIM(wa) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						errmsg("dlfin_average_models takes one-dimensional arrays")));
	deconstruct_array(ma, BYTEAOID, -1, false, TYPALIGN_INT, &mv, &mn, &n);
	deconstruct_array(wa, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &wv, &wn, &nw);
	if (n == 0 || n != nw)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("dlfin_average_models needs as many weights as models, at least one"),
						errdetail("There are %d models and %d weights.", n, nw)));
	m = palloc0(sizeof(DlfModel *) * n);
	w = palloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (mn[i] || wn[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("dlfin_average_models model or weight %d is null", i + 1)));
		m[i] = dlfin_decode_model(DatumGetByteaPP(mv[i]));
		w[i] = DatumGetFloat8(wv[i]);
	}
	if (dlf_model_average(m, w, n, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	result = dlfin_encode_model(m[0]);
	for (int i = 0; i < n; i++)
		dlf_model_free(m[i]);
	PG_RETURN_BYTEA_P(result);
}
