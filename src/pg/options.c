/*
 * options.c
 *	  dlfin_train's jsonb options: one table of every option drives the
 *	  parsing, the validation, the hint's list of valid names and the
 *	  options JSON stored in the model.
 *
 * Adding an option is one row in `option_defs` below: a plain integer, number,
 * choice or boolean needs only the row (its field in DlfTrainSpec, its
 * range or names, whether the model's JSON shows it); an option of another
 * shape names a parse function and, if the JSON shows it, a write function.
 * The rows are in the order the model's JSON lists the options; the hint
 * lists them sorted.  The write functions and the JSON itself are in
 * options_json.c.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "options_internal.h"

static const char *const task_names[] = {"binary", "multiclass", "regression", NULL};
static const char *const adverse_names[] = {"negative", "positive", NULL};
static const char *const calibrate_names[] = {"none", "platt", "isotonic", NULL};
static const char *const ens_sample_names[] = {"seeds", "bootstrap", "folds", "cv", NULL};

static void parse_hidden(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_l2(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_class_weight(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_positive(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_monotone(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_reasons(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_init(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_features(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_points(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_encoding(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);
static void parse_woe(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);

#define F(member)	offsetof(DlfTrainSpec, member)

/* Every option, in the order of the model's options JSON. */
static const OptDef option_defs[] = {
	{"task", OPT_CHOICE, F(task), .names = task_names, .base = 1,
	.json = JSON_WRITE, .write = optjson_task},
	{"hidden", OPT_OTHER, .parse = parse_hidden, .json = JSON_WRITE, .write = optjson_hidden},
	{"activation", OPT_CHOICE, F(opt.activation), .names = dlf_activation_names, .base = 1,
	.json = JSON_YES},
	{"optimizer", OPT_CHOICE, F(opt.optimizer), .names = dlf_optimizer_names, .base = 1,
	.json = JSON_YES},
	{"learning_rate", OPT_REAL, F(opt.learning_rate), 0, 10, .lo_open = true, .json = JSON_YES,
	.given = DLF_GIVEN_ADAM},
	{"batch_size", OPT_INT, F(opt.batch_size), 1, 65536, .json = JSON_YES, .given = DLF_GIVEN_ADAM},
	{"epochs", OPT_INT, F(opt.epochs), 1, DLF_MAX_EPOCHS, .json = JSON_YES},
	{"l2", OPT_OTHER, .parse = parse_l2, .json = JSON_WRITE, .write = optjson_l2,
	.given = DLF_GIVEN_L2},
	{"cv_folds", OPT_INT, F(opt.cv_folds), 2, 64, .json = JSON_WRITE, .write = optjson_cv_folds},
	{"dropout", OPT_REAL, F(opt.dropout), 0, 0.9, .json = JSON_YES},
	{"validation_fraction", OPT_REAL, F(opt.validation_fraction), 0, 0.5, .json = JSON_YES,
	.given = DLF_GIVEN_ADAM},
	{"patience", OPT_INT, F(opt.patience), 1, DLF_MAX_EPOCHS, .json = JSON_YES,
	.given = DLF_GIVEN_ADAM},
	{"seed", OPT_INT64, F(opt.seed), -9007199254740992.0, 9007199254740992.0, .json = JSON_YES},
	{"max_categories", OPT_INT, F(max_categories), 1, DLF_MAX_CATEGORIES, .json = JSON_YES},
	{"class_weight", OPT_OTHER, .parse = parse_class_weight,
	.detail = "Option \"class_weight\" must be \"balanced\" or an object mapping class values to positive weights.",
	.json = JSON_WRITE, .write = optjson_class_weight},
	{"positive", OPT_OTHER, .parse = parse_positive,
	.detail = "Option \"positive\" must be a string, number or boolean naming one of the two label values.",
	.json = JSON_WRITE, .write = optjson_positive},
	{"adverse", OPT_CHOICE, F(adverse), .names = adverse_names, .base = 0,
	.detail = "Option \"adverse\" must be \"negative\" (the positive class is the good outcome) or \"positive\" (it is the bad one).",
	.json = JSON_NONZERO},
	{"calibrate", OPT_CHOICE, F(calibrate), .names = calibrate_names, .base = 0,
	.json = JSON_NONZERO},
	{"monotone", OPT_OTHER, .parse = parse_monotone,
	.detail = "Option \"monotone\" must be an object mapping feature names to 1 (non-decreasing), -1 (non-increasing) or 0.",
	.json = JSON_WRITE, .write = optjson_monotone},
	{"points", OPT_OTHER, .parse = parse_points, .json = JSON_WRITE, .write = optjson_points},
	{"init", OPT_OTHER, .parse = parse_init,
	.detail = "Option \"init\" must be a dlfin model as a bytea hex string (\\x...), for example jsonb_build_object('init', model).",
	.json = JSON_WRITE, .write = optjson_init},
	{"ensemble", OPT_INT, F(opt.ensemble), 1, DLF_MAX_ENSEMBLE,
	.json = JSON_WRITE, .write = optjson_ensemble, .given = DLF_GIVEN_ENSEMBLE},
	{"ensemble_sample", OPT_CHOICE, F(opt.ens_sample), .names = ens_sample_names, .base = 0,
	.json = JSON_WRITE, .write = optjson_ensemble, .given = DLF_GIVEN_ENSEMBLE},
	{"skip", OPT_BOOL, F(opt.skip), .json = JSON_WRITE, .write = optjson_skip},
	{"woe", OPT_OTHER, .parse = parse_woe,
	.detail = "Option \"woe\" must be true, false or an array of distinct feature names.",
	.json = JSON_WRITE, .write = optjson_woe},
	{"woe_binning", OPT_OTHER, .parse = parse_woe, .json = JSON_WRITE, .write = optjson_woe},
	{"features", OPT_OTHER, .parse = parse_features,
	.detail = "Option \"features\" must be an array of distinct, non-empty feature names."},
	{"reasons", OPT_OTHER, .parse = parse_reasons,
	.detail = "Option \"reasons\" must be an object mapping feature names to non-empty reason texts."},
	{"encoding", OPT_OTHER, .parse = parse_encoding,
	.detail = "Option \"encoding\" must be an object with an array \"features\" (dlfin.train_distributed builds it)."},
	{"threads", OPT_INT, F(threads), 0, 64},
	{"verbose", OPT_BOOL, F(verbose)},
};

#define NOPTIONS	lengthof(option_defs)

const OptDef *const dlfin_option_table = option_defs;
const int	dlfin_noptions = NOPTIONS;

/* strcmp of two option rows by key, for the sorted hint. */
static int
cmp_key(const void *a, const void *b)
{
	return strcmp((*(const OptDef *const *) a)->key, (*(const OptDef *const *) b)->key);
}

/* Comma-separated sorted list of the valid option names, for hints. */
static char *
valid_key_list(void)
{
	const OptDef *sorted[NOPTIONS];
	StringInfoData s;

	for (int i = 0; i < (int) NOPTIONS; i++)
		sorted[i] = &option_defs[i];
	qsort(sorted, NOPTIONS, sizeof(sorted[0]), cmp_key);
	initStringInfo(&s);
	for (int i = 0; i < (int) NOPTIONS; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", sorted[i]->key);
	return s.data;
}

/* Raises the error for a bad option value; detail explains what is valid. */
static void
bad_value(const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for dlfin_train option \"%s\"", key),
			 errdetail("%s", detail),
			 errhint("Valid options are: %s.", valid_key_list())));
}

/* What is valid for option d, for its error detail. */
static char *
option_detail(const OptDef *d)
{
	StringInfoData s;

	if (d->detail)
		return pstrdup(d->detail);
	initStringInfo(&s);
	switch (d->kind)
	{
		case OPT_INT:
		case OPT_INT64:
			appendStringInfo(&s, "Option \"%s\" must be an integer between " INT64_FORMAT " and " INT64_FORMAT ".",
							 d->key, (int64) d->lo, (int64) d->hi);
			break;
		case OPT_REAL:
			appendStringInfo(&s, "Option \"%s\" must be a number %s %g and at most %g.",
							 d->key, d->lo_open ? "greater than" : "of at least", d->lo, d->hi);
			break;
		case OPT_CHOICE:
			appendStringInfo(&s, "Option \"%s\" must be one of ", d->key);
			for (int i = 0; d->names[i]; i++)
				appendStringInfo(&s, "%s%s", i ? ", " : "", d->names[i]);
			appendStringInfoChar(&s, '.');
			break;
		case OPT_BOOL:
			appendStringInfo(&s, "Option \"%s\" must be true or false.", d->key);
			break;
		case OPT_OTHER:
			break;
	}
	return s.data;
}

/* The value of a jsonb number as double; error if not a number. */
static double
num_value(const char *key, JsonbValue *v, const char *detail)
{
	if (v->type != jbvNumeric)
		bad_value(key, detail);
	/* 1e400 is +Infinity and 1e-400 is 0 here, so the range checks apply */
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

/* A string option as a NUL-terminated copy; error if not a string. */
static char *
str_value(const char *key, JsonbValue *v, const char *detail)
{
	if (v->type != jbvString)
		bad_value(key, detail);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Parses a value of a plain kind (all but OPT_OTHER) into its field. */
static void
parse_plain(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	char	   *field = (char *) spec + d->field;
	char	   *detail = option_detail(d);
	double		x;
	int			i;

	switch (d->kind)
	{
		case OPT_INT:
		case OPT_INT64:
			x = num_value(d->key, v, detail);
			if (!(x == floor(x)) || x < d->lo || x > d->hi)
				bad_value(d->key, detail);
			if (d->kind == OPT_INT)
				*(int *) field = (int) x;
			else
				*(uint64 *) field = (uint64) (int64) x;
			break;
		case OPT_REAL:
			x = num_value(d->key, v, detail);
			if (!isfinite(x) || x > d->hi || (d->lo_open ? x <= d->lo : x < d->lo))
				bad_value(d->key, detail);
			*(double *) field = x;
			break;
		case OPT_CHOICE:
			{
				char	   *s = str_value(d->key, v, detail);

				for (i = 0; d->names[i]; i++)
					if (strcmp(s, d->names[i]) == 0)
						break;
				if (!d->names[i])
					bad_value(d->key, detail);
				*(int *) field = i + d->base;
				break;
			}
		case OPT_BOOL:
			if (v->type != jbvBool)
				bad_value(d->key, detail);
			*(bool *) field = v->val.boolean;
			break;
		case OPT_OTHER:
			d->parse(d, v, spec);
			break;
	}
	pfree(detail);
}

/* Iterates the elements of a jsonb array value, or errors. */
static int
array_elements(const char *key, JsonbValue *v, JsonbValue **elems,
			   const char *detail)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			n = 0,
				cap = 8;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		bad_value(key, detail);
	*elems = palloc(sizeof(JsonbValue) * cap);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (n == cap)
		{
			cap *= 2;
			*elems = repalloc(*elems, sizeof(JsonbValue) * cap);
		}
		(*elems)[n++] = e;
	}
	return n;
}

/*
 * The pairs of a jsonb object value with at most max keys: keys into
 * *names, values into *vals; returns their number, or errors.
 */
static int
object_pairs(const char *key, JsonbValue *v, int max, char ***names,
			 JsonbValue **vals, const char *detail)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbIteratorToken tok;
	int			n,
				i = 0;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_value(key, detail);
	n = JsonContainerSize(v->val.binary.data);
	if (n > max)
		bad_value(key, detail);
	*names = palloc(sizeof(char *) * Max(n, 1));
	*vals = palloc(sizeof(JsonbValue) * Max(n, 1));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		(*names)[i] = pnstrdup(k.val.string.val, k.val.string.len);
		JsonbIteratorNext(&it, &(*vals)[i], true);
		i++;
	}
	return i;
}

/* "hidden": an array of layer sizes. */
static void
parse_hidden(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	JsonbValue *e;
	char		detail[200];
	int			n;

	snprintf(detail, sizeof(detail),
			 "Option \"hidden\" must be an array of at most %d layer sizes between 1 and %d.",
			 DLF_MAX_HIDDEN, DLF_MAX_UNITS);
	n = array_elements(d->key, v, &e, detail);
	if (n > DLF_MAX_HIDDEN)
		bad_value(d->key, detail);
	spec->opt.nhidden = n;
	for (int i = 0; i < n; i++)
	{
		double		x = num_value(d->key, &e[i], detail);

		if (x != floor(x) || x < 1 || x > DLF_MAX_UNITS)
			bad_value(d->key, detail);
		spec->opt.hidden[i] = (int32) x;
	}
}

/* "l2": a number, or "auto" (chosen by cross-validation). */
static void
parse_l2(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	if (v->type == jbvString)
	{
		if (v->val.string.len != 4 ||
			memcmp(v->val.string.val, "auto", 4) != 0)
			bad_value(d->key, "Option \"l2\" must be a number between 0 and 10, or \"auto\".");
		spec->opt.l2_auto = 1;
	}
	else
	{
		OptDef		num = {"l2", OPT_REAL, F(opt.l2), 0, 10};

		parse_plain(&num, v, spec);
		spec->opt.l2_auto = 0;
	}
}

/* "class_weight": "balanced" or an object of positive weights by class. */
static void
parse_class_weight(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	JsonbValue *vals;
	int			n;

	if (v->type == jbvString)
	{
		if (v->val.string.len != 8 ||
			strncmp(v->val.string.val, "balanced", 8) != 0)
			bad_value(d->key, d->detail);
		spec->opt.balanced = 1;
		return;
	}
	n = object_pairs(d->key, v, DLF_MAX_CLASSES, &spec->weight_class, &vals, d->detail);
	spec->weight_value = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		double		w = num_value(d->key, &vals[i], d->detail);

		if (!(w > 0) || !isfinite(w) || w > 1e6)
			bad_value(d->key, d->detail);
		spec->weight_value[i] = w;
	}
	spec->nweights = n;
}

/* "positive": the positive class as a string, number or boolean. */
static void
parse_positive(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	if (v->type == jbvString)
		spec->positive = pnstrdup(v->val.string.val, v->val.string.len);
	else if (v->type == jbvBool)
		spec->positive = pstrdup(v->val.boolean ? "true" : "false");
	else if (v->type == jbvNumeric)
		spec->positive = psprintf("%.15g", num_value(d->key, v, ""));
	else
		bad_value(d->key, d->detail);
}

/* "monotone": an object of 1, -1 or 0 by feature name. */
static void
parse_monotone(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	JsonbValue *vals;
	int			n = object_pairs(d->key, v, DLF_MAX_FEATURES, &spec->mono_name,
								 &vals, d->detail);

	spec->mono_sign = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		double		x = num_value(d->key, &vals[i], d->detail);

		if (x != 1 && x != -1 && x != 0)
			bad_value(d->key, d->detail);
		spec->mono_sign[i] = (int) x;
	}
	spec->nmono = n;
}

/* "reasons": an object of reason texts by feature name. */
static void
parse_reasons(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	JsonbValue *vals;
	int			n = object_pairs(d->key, v, DLF_MAX_FEATURES, &spec->reason_name,
								 &vals, d->detail);

	spec->reason_text = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *t = str_value(d->key, &vals[i], d->detail);

		if (t[0] == '\0' || strlen(t) > DLF_MAX_NAME)
			bad_value(d->key, d->detail);
		spec->reason_text[i] = t;
	}
	spec->nreasons = n;
}

/* "points": the score scale (points_fn.c checks and parses it). */
static void
parse_points(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	spec->points = dlfin_parse_points(v);
}

/* "woe" and "woe_binning": the WoE encoding (woe_fn.c parses them). */
static void
parse_woe(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	if (strcmp(d->key, "woe") == 0)
		dlfin_parse_woe(v, spec);
	else
		dlfin_parse_woe_binning(v, spec);
}

/* "init": a model to start from, as a bytea hex string. */
static void
parse_init(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	char	   *s = str_value(d->key, v, d->detail);

	if (strncmp(s, "\\x", 2) != 0)
		bad_value(d->key, d->detail);
	spec->init = DatumGetByteaPP(DirectFunctionCall1(byteain, CStringGetDatum(s)));
}

/* "encoding": the scaling to train with; checked against the rows later. */
static void
parse_encoding(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_value(d->key, d->detail);
	spec->encoding = JsonbValueToJsonb(v);
}

/* "features": the features' names, distinct and non-empty. */
static void
parse_features(const OptDef *d, JsonbValue *v, DlfTrainSpec *spec)
{
	JsonbValue *e;
	int			n = array_elements(d->key, v, &e, d->detail);

	if (n > DLF_MAX_FEATURES)
		bad_value(d->key, d->detail);
	spec->nnames = n;
	spec->names = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *s = str_value(d->key, &e[i], d->detail);

		if (s[0] == '\0' || strlen(s) > DLF_MAX_NAME)
			bad_value(d->key, d->detail);
		for (int j = 0; j < i; j++)
			if (strcmp(spec->names[j], s) == 0)
				bad_value(d->key, d->detail);
		spec->names[i] = s;
	}
}

/* Validates the options jsonb (NULL for defaults) into spec. */
void
dlfin_parse_options(Jsonb *options, DlfTrainSpec *spec)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	memset(spec, 0, sizeof(*spec));
	dlf_train_options_default(&spec->opt);
	/* resolved by the core from the rows (dlf_train_resolve) */
	spec->opt.optimizer = DLF_OPTIM_DEFAULT;
	spec->max_categories = 100;
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options) || JB_ROOT_IS_SCALAR(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train options must be a jsonb object"),
				 errhint("Valid options are: %s.", valid_key_list())));
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		int			i;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		for (i = 0; i < (int) NOPTIONS; i++)
			if (strcmp(key, option_defs[i].key) == 0)
				break;
		if (i == (int) NOPTIONS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown dlfin_train option \"%s\"", key),
					 errhint("Valid options are: %s.", valid_key_list())));
		parse_plain(&option_defs[i], &v, spec);
		spec->opt.given |= option_defs[i].given;
	}
}

/* ---- options that name features -------------------------------------- */

/*
 * Index of the feature called name, or an error naming the option.  Unless
 * the "features" option named them, features also answer to f1, f2, ...
 * by position, as they were called before names came from the expressions.
 */
static int32
feature_index(const DlfModel *m, const DlfTrainSpec *spec, const char *option,
			  const char *name)
{
	for (int32 f = 0; f < m->nfeatures; f++)
		if (strcmp(m->features[f].name, name) == 0)
			return f;
	/* "f" and 1 to 4 digits without a leading zero: DLF_MAX_FEATURES */
	if (spec->nnames == 0 && name[0] == 'f' && name[1] >= '1' && name[1] <= '9' &&
		strspn(name + 1, "0123456789") == strlen(name + 1) && strlen(name) <= 5 &&
		atoi(name + 1) <= m->nfeatures)
		return atoi(name + 1) - 1;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("dlfin_train option \"%s\" names unknown feature \"%s\"",
					option, name),
			 spec->nnames ?
			 errhint("Feature names come from the \"features\" option.") :
			 errhint("Features are named after their argument expressions (a column by its name), or f1, f2, ... by position.")));
	return -1;
}

/* feature_index for the options other files parse (woe_fn.c). */
int32
dlfin_option_feature(const DlfModel *m, const DlfTrainSpec *spec,
					 const char *option, const char *name)
{
	return feature_index(m, spec, option, name);
}

/*
 * Copies the explanation and governance options into the model schema:
 * adverse side, calibration, monotone constraints and reason texts.  The
 * core checks what depends on the task and the feature kinds.
 */
void
dlfin_apply_governance(const DlfTrainSpec *spec, DlfModel *m)
{
	m->adverse = (uint8) spec->adverse;
	m->calibration = (uint8) spec->calibrate;
	for (int i = 0; i < spec->nmono; i++)
		m->features[feature_index(m, spec, "monotone", spec->mono_name[i])].monotone =
			(int8) spec->mono_sign[i];
	for (int i = 0; i < spec->nreasons; i++)
	{
		DlfFeature *ft = &m->features[feature_index(m, spec, "reasons", spec->reason_name[i])];
		size_t		len = strlen(spec->reason_text[i]);

		dlf_free(ft->reason);
		ft->reason = dlf_strndup(spec->reason_text[i], len);
		if (ft->reason == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	dlfin_check_points(spec->points, m);
}
