/*
 * onnx_fn.c
 *	  dlfin_onnx (export, by bytes or by registry name) and dlfin_from_onnx
 *	  (import with jsonb options): Datums in, core calls, bytea out.
 */
#include "postgres.h"

#include <math.h>

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "dlfin_pg.h"
#include "dlfin_onnx.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(dlfin_onnx);
PG_FUNCTION_INFO_V1(dlfin_onnx_name);
PG_FUNCTION_INFO_V1(dlfin_from_onnx);

#define IMPORT_KEYS "features, task, classes, mean, scale"

/* Hex SHA-256 of the model bytes, for the ONNX metadata. */
static char *
model_sha256(bytea *b)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute the SHA-256 of a dlfin model");
	pg_cryptohash_free(ctx);
	hex_encode((const char *) digest, sizeof(digest), hex);
	hex[PG_SHA256_DIGEST_LENGTH * 2] = '\0';
	return hex;
}

/* Copies core-allocated bytes into a new bytea and frees them. */
static bytea *
to_bytea(uint8_t *bytes, size_t len)
{
	bytea	   *result;

	if (len > MaxAllocSize - VARHDRSZ)
	{
		dlf_free(bytes);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ONNX model of %zu bytes is too large for a bytea", len)));
	}
	result = palloc(len + VARHDRSZ);
	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), bytes, len);
	dlf_free(bytes);
	return result;
}

/* The ONNX bytes of model bytes. */
static bytea *
export_model(bytea *b)
{
	DlfModel   *m = dlfin_decode_model(b);
	uint8_t    *bytes;
	size_t		len;
	DlfError	err;

	dlfin_refuse_woe_export(m);
	if (dlf_onnx_export(m, model_sha256(b), &bytes, &len, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	return to_bytea(bytes, len);
}

/* dlfin_onnx(model bytea): the model as an ONNX model. */
Datum
dlfin_onnx(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(export_model(PG_GETARG_BYTEA_PP(0)));
}

/* dlfin_onnx(name text): the deployed version of a named model as ONNX. */
Datum
dlfin_onnx_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(export_model(dlfin_registry_model(fcinfo, NULL)));
}

/* ---- import options ---- */

/* Raises the error of an invalid import option. */
static void
pg_attribute_noreturn()
bad_option(const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for dlfin_from_onnx option \"%s\"", key),
			 errdetail("%s", detail),
			 errhint("Valid options are: " IMPORT_KEYS ".")));
}

/* The elements of a jsonb array option, or an error. */
static int
elements(const char *key, JsonbValue *v, JsonbValue **out, const char *detail)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			n = 0;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		bad_option(key, detail);
	if (JsonContainerSize(v->val.binary.data) > DLF_MAX_INPUTS)
		bad_option(key, detail);
	*out = palloc(sizeof(JsonbValue) * Max(JsonContainerSize(v->val.binary.data), 1));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		if (tok == WJB_ELEM)
			(*out)[n++] = e;
	return n;
}

/* A jsonb string as a C string, or an error. */
static char *
string_of(const char *key, JsonbValue *v, const char *detail)
{
	if (v->type != jbvString)
		bad_option(key, detail);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

#define FEATURES_DETAIL "Option \"features\" must be an array of feature names or of objects with a \"name\", a \"type\" (\"number\", \"boolean\" or \"text\") and, for a text feature, its \"categories\" and optionally the category NULL (\"missing\") and an unseen value (\"other\") stand for."

/* The index of category name v among a text feature's categories. */
static int32_t
category_index(const char *key, JsonbValue *v, char **cats, int32_t n)
{
	char	   *c = string_of("features", v, FEATURES_DETAIL);

	for (int32_t i = 0; i < n; i++)
		if (strcmp(cats[i], c) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for dlfin_from_onnx option \"features\""),
			 errdetail("\"%s\": \"%s\" is not one of the feature's categories.", key, c),
			 errhint("\"missing\" and \"other\" name the category NULL and an unseen value stand for; without them, they set none of the feature's inputs.")));
}

/* A feature object: {"name", "type", "categories", "missing", "other"}. */
static void
parse_feature_object(JsonbContainer *obj, int i, DlfOnnxOptions *o)
{
	static const char *const keys[] = {"name", "type", "categories", "missing", "other"};
	JsonbValue *v[5];
	char	   *t;

	for (int k = 0; k < 5; k++)
		v[k] = getKeyJsonValueFromContainer(obj, keys[k], strlen(keys[k]), NULL);
	/* every key is one of these: a misspelt "missing" must not pass */
	if (v[0] == NULL || JsonContainerSize(obj) != (v[0] != NULL) + (v[1] != NULL) +
		(v[2] != NULL) + (v[3] != NULL) + (v[4] != NULL))
		bad_option("features", FEATURES_DETAIL);
	o->names[i] = string_of("features", v[0], FEATURES_DETAIL);
	t = v[1] ? string_of("features", v[1], FEATURES_DETAIL) : "number";
	if (strcmp(t, "boolean") == 0)
		o->sqltypes[i] = DLF_SQL_BOOL;
	else if (strcmp(t, "text") == 0)
		o->sqltypes[i] = DLF_SQL_TEXT;
	else if (strcmp(t, "number") != 0)
		bad_option("features", FEATURES_DETAIL);
	if (o->sqltypes[i] != DLF_SQL_TEXT)
	{
		if (v[2] || v[3] || v[4])
			bad_option("features", FEATURES_DETAIL);
		return;
	}
	if (v[2] == NULL)
		bad_option("features", FEATURES_DETAIL);
	{
		JsonbValue *e;
		int			n = elements("features", v[2], &e, FEATURES_DETAIL);

		if (n < 1)
			bad_option("features", FEATURES_DETAIL);
		o->ncat[i] = n;
		o->categories[i] = palloc(sizeof(char *) * n);
		for (int c = 0; c < n; c++)
			o->categories[i][c] = string_of("features", &e[c], FEATURES_DETAIL);
	}
	if (v[3])
		o->missing[i] = category_index("missing", v[3], o->categories[i], o->ncat[i]);
	if (v[4])
		o->other[i] = category_index("other", v[4], o->categories[i], o->ncat[i]);
}

/* Option "features": names, or objects {"name": ..., "type": ...}. */
static void
parse_features(JsonbValue *v, DlfOnnxOptions *o)
{
	JsonbValue *e;
	int			n = elements("features", v, &e, FEATURES_DETAIL);

	o->nfeatures = n;
	o->names = palloc(sizeof(char *) * Max(n, 1));
	o->sqltypes = palloc(sizeof(uint8_t) * Max(n, 1));
	o->ncat = palloc0(sizeof(int32_t) * Max(n, 1));
	o->categories = palloc0(sizeof(char **) * Max(n, 1));
	o->other = palloc(sizeof(int32_t) * Max(n, 1));
	o->missing = palloc(sizeof(int32_t) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		o->sqltypes[i] = DLF_SQL_NUMBER;
		o->other[i] = o->missing[i] = -1;
		if (e[i].type == jbvString)
			o->names[i] = string_of("features", &e[i], FEATURES_DETAIL);
		else if (e[i].type == jbvBinary && JsonContainerIsObject(e[i].val.binary.data))
			parse_feature_object(e[i].val.binary.data, i, o);
		else
			bad_option("features", FEATURES_DETAIL);
	}
}

/* An array option of finite numbers. */
static int32_t
parse_numbers(const char *key, JsonbValue *v, double **out)
{
	char		detail[128];
	JsonbValue *e;
	int			n;

	snprintf(detail, sizeof(detail),
			 "Option \"%s\" must be an array of finite numbers, one per number or boolean feature.", key);
	n = elements(key, v, &e, detail);
	*out = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (e[i].type != jbvNumeric)
			bad_option(key, detail);
		(*out)[i] = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
													   NumericGetDatum(e[i].val.numeric)));
		if (!isfinite((*out)[i]))
			bad_option(key, detail);
	}
	return n;
}

/* Parses one option. */
static void
parse_import_option(const char *key, JsonbValue *v, DlfOnnxOptions *o)
{
	if (strcmp(key, "features") == 0)
		parse_features(v, o);
	else if (strcmp(key, "task") == 0)
	{
		const char *detail = "Option \"task\" must be \"binary\", \"multiclass\" or \"regression\".";
		char	   *t = string_of(key, v, detail);

		if (strcmp(t, "binary") == 0)
			o->task = DLF_TASK_BINARY;
		else if (strcmp(t, "multiclass") == 0)
			o->task = DLF_TASK_MULTICLASS;
		else if (strcmp(t, "regression") == 0)
			o->task = DLF_TASK_REGRESSION;
		else
			bad_option(key, detail);
	}
	else if (strcmp(key, "classes") == 0)
	{
		const char *detail = "Option \"classes\" must be an array of class names.";
		JsonbValue *e;
		int			n = elements(key, v, &e, detail);

		o->nclasses = n;
		o->classes = palloc(sizeof(char *) * Max(n, 1));
		for (int i = 0; i < n; i++)
			o->classes[i] = string_of(key, &e[i], detail);
	}
	else if (strcmp(key, "mean") == 0)
		o->nmean = parse_numbers(key, v, &o->mean);
	else if (strcmp(key, "scale") == 0)
		o->nscale = parse_numbers(key, v, &o->scale);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown dlfin_from_onnx option \"%s\"", key),
				 errhint("Valid options are: " IMPORT_KEYS ".")));
}

/* Parses the options object (NULL: none). */
static void
parse_import_options(Jsonb *j, DlfOnnxOptions *o)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	memset(o, 0, sizeof(*o));
	if (j == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_from_onnx options must be a jsonb object"),
				 errhint("Valid options are: " IMPORT_KEYS ".")));
	it = JsonbIteratorInit(&j->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		parse_import_option(key, &v, o);
	}
}

/* dlfin_from_onnx(onnx bytea, options jsonb): an ONNX MLP as a dlfin model. */
Datum
dlfin_from_onnx(PG_FUNCTION_ARGS)
{
	bytea	   *onnx;
	DlfOnnxOptions opt;
	DlfModel   *m = NULL;
	DlfError	err;
	bytea	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	onnx = PG_GETARG_BYTEA_PP(0);
	parse_import_options(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), &opt);
	if (dlf_onnx_import((const uint8_t *) VARDATA_ANY(onnx), VARSIZE_ANY_EXHDR(onnx),
						&opt, &m, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	PG_TRY();
	{
		result = dlfin_encode_model(m);
	}
	PG_FINALLY();
	{
		dlf_model_free(m);
	}
	PG_END_TRY();
	PG_RETURN_BYTEA_P(result);
}
