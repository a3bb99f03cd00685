/*
 * options.c
 *	  Validation of dlfin_train's jsonb options.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "dlfin_pg.h"

/* Every option dlfin_train accepts, in the order the hint lists them. */
static const char *const valid_keys[] = {
	"activation", "adverse", "batch_size", "calibrate", "class_weight",
	"cv_folds", "dropout", "ensemble", "ensemble_sample", "epochs",
	"features", "hidden", "init", "l2",
	"learning_rate",
	"max_categories", "monotone", "optimizer", "patience", "positive",
	"reasons", "seed", "task", "threads", "validation_fraction", "verbose",
	NULL
};

/* Comma-separated list of the valid option names, for hints. */
static char *
valid_key_list(void)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; valid_keys[i]; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", valid_keys[i]);
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

/* An integer option within [lo, hi]. */
static int64
int_value(const char *key, JsonbValue *v, int64 lo, int64 hi)
{
	char		detail[200];
	double		d;

	snprintf(detail, sizeof(detail),
			 "Option \"%s\" must be an integer between " INT64_FORMAT " and " INT64_FORMAT ".",
			 key, lo, hi);
	d = num_value(key, v, detail);
	if (!(d == floor(d)) || d < (double) lo || d > (double) hi)
		bad_value(key, detail);
	return (int64) d;
}

/* A real option within [lo, hi] (lo_open: lo excluded). */
static double
real_value(const char *key, JsonbValue *v, double lo, double hi, bool lo_open)
{
	char		detail[200];
	double		d;

	snprintf(detail, sizeof(detail),
			 "Option \"%s\" must be a number %s %g and at most %g.",
			 key, lo_open ? "greater than" : "of at least", lo, hi);
	d = num_value(key, v, detail);
	if (!isfinite(d) || d > hi || (lo_open ? d <= lo : d < lo))
		bad_value(key, detail);
	return d;
}

/* A string option as a NUL-terminated copy; error if not a string. */
static char *
str_value(const char *key, JsonbValue *v, const char *detail)
{
	if (v->type != jbvString)
		bad_value(key, detail);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Index of s in the NULL-terminated list, or -1. */
static int
pick(const char *s, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
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

/* Parses one option into spec. */
static void
parse_option(const char *key, JsonbValue *v, DlfTrainSpec *spec)
{
	DlfTrainOptions *o = &spec->opt;

	if (strcmp(key, "hidden") == 0)
	{
		JsonbValue *e;
		char		detail[200];
		int			n;

		snprintf(detail, sizeof(detail),
				 "Option \"hidden\" must be an array of at most %d layer sizes between 1 and %d.",
				 DLF_MAX_HIDDEN, DLF_MAX_UNITS);
		n = array_elements(key, v, &e, detail);
		if (n > DLF_MAX_HIDDEN)
			bad_value(key, detail);
		o->nhidden = n;
		for (int i = 0; i < n; i++)
		{
			double		d = num_value(key, &e[i], detail);

			if (d != floor(d) || d < 1 || d > DLF_MAX_UNITS)
				bad_value(key, detail);
			o->hidden[i] = (int32) d;
		}
	}
	else if (strcmp(key, "activation") == 0)
	{
		static const char *const names[] = {"relu", "tanh", "sigmoid", "leaky_relu", NULL};
		const char *detail = "Option \"activation\" must be one of relu, tanh, sigmoid, leaky_relu.";
		int			i = pick(str_value(key, v, detail), names);

		if (i < 0)
			bad_value(key, detail);
		o->activation = i + 1;
	}
	else if (strcmp(key, "optimizer") == 0)
	{
		static const char *const names[] = {"sgd", "momentum", "adam", "lbfgs", "auto", NULL};
		const char *detail = "Option \"optimizer\" must be one of sgd, momentum, adam, lbfgs, auto.";
		int			i = pick(str_value(key, v, detail), names);

		if (i < 0)
			bad_value(key, detail);
		o->optimizer = i + 1;
	}
	else if (strcmp(key, "task") == 0)
	{
		static const char *const names[] = {"binary", "multiclass", "regression", NULL};
		const char *detail = "Option \"task\" must be one of binary, multiclass, regression.";
		int			i = pick(str_value(key, v, detail), names);

		if (i < 0)
			bad_value(key, detail);
		spec->task = i + 1;
	}
	else if (strcmp(key, "learning_rate") == 0)
		o->learning_rate = real_value(key, v, 0, 10, true);
	else if (strcmp(key, "batch_size") == 0)
		o->batch_size = int_value(key, v, 1, 65536);
	else if (strcmp(key, "epochs") == 0)
		o->epochs = int_value(key, v, 1, DLF_MAX_EPOCHS);
	else if (strcmp(key, "l2") == 0)
	{
		if (v->type == jbvString)
		{
			if (v->val.string.len != 4 ||
				memcmp(v->val.string.val, "auto", 4) != 0)
				bad_value(key, "Option \"l2\" must be a number between 0 and 10, or \"auto\".");
			o->l2_auto = 1;
		}
		else
		{
			o->l2 = real_value(key, v, 0, 10, false);
			o->l2_auto = 0;
		}
	}
	else if (strcmp(key, "cv_folds") == 0)
		o->cv_folds = int_value(key, v, 2, 64);
	else if (strcmp(key, "ensemble") == 0)
		o->ensemble = int_value(key, v, 1, DLF_MAX_ENSEMBLE);
	else if (strcmp(key, "ensemble_sample") == 0)
	{
		static const char *const names[] = {"seeds", "bootstrap", "folds", NULL};
		const char *detail = "Option \"ensemble_sample\" must be one of seeds, bootstrap, folds.";
		int			i = pick(str_value(key, v, detail), names);

		if (i < 0)
			bad_value(key, detail);
		o->ens_sample = i;
	}
	else if (strcmp(key, "dropout") == 0)
		o->dropout = real_value(key, v, 0, 0.9, false);
	else if (strcmp(key, "validation_fraction") == 0)
		o->validation_fraction = real_value(key, v, 0, 0.5, false);
	else if (strcmp(key, "patience") == 0)
		o->patience = int_value(key, v, 1, DLF_MAX_EPOCHS);
	else if (strcmp(key, "seed") == 0)
		o->seed = (uint64) int_value(key, v, -((int64) 1 << 53), (int64) 1 << 53);
	else if (strcmp(key, "max_categories") == 0)
		spec->max_categories = int_value(key, v, 1, DLF_MAX_CATEGORIES);
	else if (strcmp(key, "threads") == 0)
		spec->threads = int_value(key, v, 0, 64);
	else if (strcmp(key, "verbose") == 0)
	{
		if (v->type != jbvBool)
			bad_value(key, "Option \"verbose\" must be true or false.");
		spec->verbose = v->val.boolean;
	}
	else if (strcmp(key, "positive") == 0)
	{
		if (v->type == jbvString)
			spec->positive = pnstrdup(v->val.string.val, v->val.string.len);
		else if (v->type == jbvBool)
			spec->positive = pstrdup(v->val.boolean ? "true" : "false");
		else if (v->type == jbvNumeric)
			spec->positive = psprintf("%.15g",
									  num_value(key, v, ""));
		else
			bad_value(key, "Option \"positive\" must be a string, number or boolean naming one of the two label values.");
	}
	else if (strcmp(key, "features") == 0)
	{
		JsonbValue *e;
		const char *detail = "Option \"features\" must be an array of distinct, non-empty feature names.";
		int			n = array_elements(key, v, &e, detail);

		if (n > DLF_MAX_FEATURES)
			bad_value(key, detail);
		spec->nnames = n;
		spec->names = palloc(sizeof(char *) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			char	   *s = str_value(key, &e[i], detail);

			if (s[0] == '\0' || strlen(s) > DLF_MAX_NAME)
				bad_value(key, detail);
			for (int j = 0; j < i; j++)
				if (strcmp(spec->names[j], s) == 0)
					bad_value(key, detail);
			spec->names[i] = s;
		}
	}
	else if (strcmp(key, "class_weight") == 0)
	{
		const char *detail = "Option \"class_weight\" must be \"balanced\" or an object mapping class values to positive weights.";

		if (v->type == jbvString)
		{
			if (v->val.string.len != 8 ||
				strncmp(v->val.string.val, "balanced", 8) != 0)
				bad_value(key, detail);
			o->balanced = 1;
		}
		else if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
		{
			JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
			JsonbValue	k,
						val;
			JsonbIteratorToken tok;
			int			n = JsonContainerSize(v->val.binary.data);
			int			i = 0;

			if (n > DLF_MAX_CLASSES)
				bad_value(key, detail);
			spec->weight_class = palloc(sizeof(char *) * Max(n, 1));
			spec->weight_value = palloc(sizeof(double) * Max(n, 1));
			while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
			{
				if (tok != WJB_KEY)
					continue;
				tok = JsonbIteratorNext(&it, &val, true);
				spec->weight_class[i] = pnstrdup(k.val.string.val, k.val.string.len);
				spec->weight_value[i] = num_value(key, &val, detail);
				if (!(spec->weight_value[i] > 0) || !isfinite(spec->weight_value[i]) ||
					spec->weight_value[i] > 1e6)
					bad_value(key, detail);
				i++;
			}
			spec->nweights = i;
		}
		else
			bad_value(key, detail);
	}
	else if (strcmp(key, "adverse") == 0)
	{
		static const char *const names[] = {"negative", "positive", NULL};
		const char *detail = "Option \"adverse\" must be \"negative\" (the positive class is the good outcome) or \"positive\" (it is the bad one).";
		int			i = pick(str_value(key, v, detail), names);

		if (i < 0)
			bad_value(key, detail);
		spec->adverse = i;
	}
	else if (strcmp(key, "calibrate") == 0)
	{
		static const char *const names[] = {"none", "platt", "isotonic", NULL};
		const char *detail = "Option \"calibrate\" must be one of none, platt, isotonic.";
		int			i = pick(str_value(key, v, detail), names);

		if (i < 0)
			bad_value(key, detail);
		spec->calibrate = i;
	}
	else if (strcmp(key, "monotone") == 0 || strcmp(key, "reasons") == 0)
	{
		bool		mono = key[0] == 'm';
		const char *detail = mono ?
		"Option \"monotone\" must be an object mapping feature names to 1 (non-decreasing), -1 (non-increasing) or 0." :
		"Option \"reasons\" must be an object mapping feature names to non-empty reason texts.";
		JsonbIterator *it;
		JsonbValue	k,
					val;
		JsonbIteratorToken tok;
		int			n,
					i = 0;
		char	  **names;

		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			bad_value(key, detail);
		n = JsonContainerSize(v->val.binary.data);
		if (n > DLF_MAX_FEATURES)
			bad_value(key, detail);
		names = palloc(sizeof(char *) * Max(n, 1));
		if (mono)
			spec->mono_sign = palloc(sizeof(int) * Max(n, 1));
		else
			spec->reason_text = palloc(sizeof(char *) * Max(n, 1));
		it = JsonbIteratorInit(v->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			tok = JsonbIteratorNext(&it, &val, true);
			names[i] = pnstrdup(k.val.string.val, k.val.string.len);
			if (mono)
			{
				double		d = num_value(key, &val, detail);

				if (d != 1 && d != -1 && d != 0)
					bad_value(key, detail);
				spec->mono_sign[i] = (int) d;
			}
			else
			{
				char	   *t = str_value(key, &val, detail);

				if (t[0] == '\0' || strlen(t) > DLF_MAX_NAME)
					bad_value(key, detail);
				spec->reason_text[i] = t;
			}
			i++;
		}
		if (mono)
		{
			spec->nmono = i;
			spec->mono_name = names;
		}
		else
		{
			spec->nreasons = i;
			spec->reason_name = names;
		}
	}
	else if (strcmp(key, "init") == 0)
	{
		const char *detail = "Option \"init\" must be a dlfin model as a bytea hex string (\\x...), for example jsonb_build_object('init', model).";
		char	   *s = str_value(key, v, detail);

		if (strncmp(s, "\\x", 2) != 0)
			bad_value(key, detail);
		spec->init = DatumGetByteaPP(DirectFunctionCall1(byteain, CStringGetDatum(s)));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown dlfin_train option \"%s\"", key),
				 errhint("Valid options are: %s.", valid_key_list())));
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

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		parse_option(key, &v, spec);
	}
}

/* Appends a JSON string to s. */
static void
json_str(StringInfo s, const char *v)
{
	escape_json(s, v);
}

/* Writes the effective options as a JSON object (stored in the model). */
char *
dlfin_options_json(const DlfTrainSpec *spec, const DlfModel *m)
{
	static const char *const opts[] = {"", "sgd", "momentum", "adam", "lbfgs", "auto"};
	const DlfTrainOptions *o = &spec->opt;
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, "{\"task\": ");
	json_str(&s, dlf_task_name(m->task));
	appendStringInfoString(&s, ", \"hidden\": [");
	for (int i = 0; i < o->nhidden; i++)
		appendStringInfo(&s, "%s%d", i ? ", " : "", o->hidden[i]);
	appendStringInfo(&s, "], \"activation\": \"%s\", \"optimizer\": \"%s\"",
					 dlf_activation_name(o->activation), opts[o->optimizer]);
	appendStringInfo(&s, ", \"learning_rate\": %s, \"batch_size\": %d, \"epochs\": %d",
					 float8out_internal(o->learning_rate), o->batch_size, o->epochs);
	if (o->l2_auto)
		appendStringInfo(&s, ", \"l2\": \"auto\", \"cv_folds\": %d", o->cv_folds);
	else
		appendStringInfo(&s, ", \"l2\": %s", float8out_internal(o->l2));
	appendStringInfo(&s, ", \"dropout\": %s, \"validation_fraction\": %s, \"patience\": %d",
					 float8out_internal(o->dropout),
					 float8out_internal(o->validation_fraction), o->patience);
	appendStringInfo(&s, ", \"seed\": " INT64_FORMAT ", \"max_categories\": %d",
					 (int64) o->seed, spec->max_categories);
	if (o->balanced)
		appendStringInfoString(&s, ", \"class_weight\": \"balanced\"");
	else if (spec->nweights > 0)
	{
		appendStringInfoString(&s, ", \"class_weight\": {");
		for (int i = 0; i < spec->nweights; i++)
		{
			if (i)
				appendStringInfoString(&s, ", ");
			json_str(&s, spec->weight_class[i]);
			appendStringInfo(&s, ": %s", float8out_internal(spec->weight_value[i]));
		}
		appendStringInfoChar(&s, '}');
	}
	if (spec->positive && m->task == DLF_TASK_BINARY)
	{
		appendStringInfoString(&s, ", \"positive\": ");
		json_str(&s, spec->positive);
	}
	if (spec->adverse)
		appendStringInfoString(&s, ", \"adverse\": \"positive\"");
	if (spec->calibrate)
		appendStringInfo(&s, ", \"calibrate\": \"%s\"",
						 spec->calibrate == DLF_CALIB_PLATT ? "platt" : "isotonic");
	if (spec->nmono > 0)
	{
		appendStringInfoString(&s, ", \"monotone\": {");
		for (int i = 0; i < spec->nmono; i++)
		{
			if (i)
				appendStringInfoString(&s, ", ");
			json_str(&s, spec->mono_name[i]);
			appendStringInfo(&s, ": %d", spec->mono_sign[i]);
		}
		appendStringInfoChar(&s, '}');
	}
	if (spec->init)
		appendStringInfoString(&s, ", \"init\": true");
	if (o->ensemble > 1)
	{
		static const char *const samples[] = {"seeds", "bootstrap", "folds"};

		appendStringInfo(&s, ", \"ensemble\": %d, \"ensemble_sample\": \"%s\"",
						 o->ensemble, samples[o->ens_sample]);
	}
	if (o->optimizer == DLF_OPTIM_AUTO)
		appendStringInfo(&s, ", \"optimizer_chosen\": \"%s\"",
						 opts[dlf_auto_optimizer(o, m->rows_train + m->rows_valid)]);
	if (m->cv_json)
		appendStringInfo(&s, ", \"cv\": %s", m->cv_json);
	appendStringInfoChar(&s, '}');
	return s.data;
}

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
}
