/*
 * options_json.c
 *	  The options JSON stored in a trained model, written from the parsed
 *	  options by the rows of the option table (options.c).
 *
 * A row's "json" decides whether its option appears; a JSON_WRITE row names
 * one of the write functions below.  Models' bytes depend on this text: a
 * new key appears only when its option is set to a non-default value, so
 * the JSON of existing models is unchanged.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"

#include "options_internal.h"

/* Starts the next member of the JSON object s: separator and key. */
static void
json_key(StringInfo s, const char *key)
{
	if (s->len > 1)
		appendStringInfoString(s, ", ");
	escape_json(s, key);
	appendStringInfoString(s, ": ");
}

/* Appends the field of a plain option d as a JSON value. */
static void
write_plain(StringInfo s, const OptDef *d, const DlfTrainSpec *spec)
{
	const char *field = (const char *) spec + d->field;

	switch (d->kind)
	{
		case OPT_INT:
			appendStringInfo(s, "%d", *(const int *) field);
			break;
		case OPT_INT64:
			appendStringInfo(s, INT64_FORMAT, (int64) * (const uint64 *) field);
			break;
		case OPT_REAL:
			appendStringInfoString(s, float8out_internal(*(const double *) field));
			break;
		case OPT_CHOICE:
			escape_json(s, d->names[*(const int *) field - d->base]);
			break;
		case OPT_BOOL:
			appendStringInfoString(s, *(const bool *) field ? "true" : "false");
			break;
		case OPT_OTHER:
			break;
	}
}

/* "task": the model's, decided from the labels when not given. */
void
optjson_task(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	json_key(s, d->key);
	escape_json(s, dlf_task_name(m->task));
}

/* "hidden": the layer sizes. */
void
optjson_hidden(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	json_key(s, d->key);
	appendStringInfoChar(s, '[');
	for (int i = 0; i < spec->opt.nhidden; i++)
		appendStringInfo(s, "%s%d", i ? ", " : "", spec->opt.hidden[i]);
	appendStringInfoChar(s, ']');
}

/* "l2": the number, or "auto". */
void
optjson_l2(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	json_key(s, d->key);
	if (spec->opt.l2_auto)
		appendStringInfoString(s, "\"auto\"");
	else
		appendStringInfoString(s, float8out_internal(spec->opt.l2));
}

/* "cv_folds": only when "l2" is "auto". */
void
optjson_cv_folds(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (!spec->opt.l2_auto)
		return;
	json_key(s, d->key);
	write_plain(s, d, spec);
}

/* "class_weight": "balanced", or the weights given by class. */
void
optjson_class_weight(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (!spec->opt.balanced && spec->nweights == 0)
		return;
	json_key(s, d->key);
	if (spec->opt.balanced)
	{
		appendStringInfoString(s, "\"balanced\"");
		return;
	}
	appendStringInfoChar(s, '{');
	for (int i = 0; i < spec->nweights; i++)
	{
		if (i)
			appendStringInfoString(s, ", ");
		escape_json(s, spec->weight_class[i]);
		appendStringInfo(s, ": %s", float8out_internal(spec->weight_value[i]));
	}
	appendStringInfoChar(s, '}');
}

/* "positive": when given, for a binary model. */
void
optjson_positive(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (!spec->positive || m->task != DLF_TASK_BINARY)
		return;
	json_key(s, d->key);
	escape_json(s, spec->positive);
}

/* "monotone": the constraints as given. */
void
optjson_monotone(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (spec->nmono == 0)
		return;
	json_key(s, d->key);
	appendStringInfoChar(s, '{');
	for (int i = 0; i < spec->nmono; i++)
	{
		if (i)
			appendStringInfoString(s, ", ");
		escape_json(s, spec->mono_name[i]);
		appendStringInfo(s, ": %d", spec->mono_sign[i]);
	}
	appendStringInfoChar(s, '}');
}

/* "init": true for a warm start (the model itself is not repeated). */
void
optjson_init(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (!spec->init)
		return;
	json_key(s, d->key);
	appendStringInfoString(s, "true");
}

/* Writes "points" (the score scale), if set. */
void
optjson_points(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (spec->points == NULL)
		return;
	json_key(s, d->key);
	dlfin_points_json(s, spec->points);
}

/* Writes "ensemble" or "ensemble_sample" when more than one network is trained. */
void
optjson_ensemble(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (spec->opt.ens_sample == DLF_ENS_CV && spec->opt.l2_auto &&
		strcmp(d->key, "ensemble") == 0)
	{
		/* the refit and the chosen penalty's fold fits (cv.c) */
		json_key(s, d->key);
		appendStringInfo(s, "%d", Min(spec->opt.cv_folds + 1, DLF_MAX_ENSEMBLE));
		return;
	}
	if (spec->opt.ensemble <= 1 && spec->opt.ens_sample != DLF_ENS_CV)
		return;
	json_key(s, d->key);
	write_plain(s, d, spec);
}

/* Writes "skip" when the network has a skip path (new key: old JSON kept). */
void
optjson_skip(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	if (!spec->opt.skip)
		return;
	json_key(s, d->key);
	write_plain(s, d, spec);
}

/* Writes "woe" or "woe_binning" when features are WoE-encoded. */
void
optjson_woe(StringInfo s, const OptDef *d, const DlfTrainSpec *spec, const DlfModel *m)
{
	dlfin_woe_json(s, spec, strcmp(d->key, "woe_binning") == 0);
}

/* Writes the effective options as a JSON object (stored in the model). */
char *
dlfin_options_json(const DlfTrainSpec *spec, const DlfModel *m)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	for (int i = 0; i < dlfin_noptions; i++)
	{
		const OptDef *d = &dlfin_option_table[i];

		if (d->json == JSON_WRITE)
			d->write(&s, d, spec, m);
		else if (d->json == JSON_YES ||
				 (d->json == JSON_NONZERO && *(const int *) ((const char *) spec + d->field) != 0))
		{
			json_key(&s, d->key);
			write_plain(&s, d, spec);
		}
	}
	appendStringInfoChar(&s, '}');
	return s.data;
}

/*
 * The options JSON of a trained model: json (from dlfin_options_json, set
 * before training) with what training chose for "auto" options added.
 */
char *
dlfin_options_json_trained(const char *json, const DlfTrainSpec *spec,
						   const DlfModel *m)
{
	const DlfTrainOptions *o = &spec->opt;
	StringInfoData s;

	initStringInfo(&s);
	appendBinaryStringInfo(&s, json, strlen(json) - 1);	/* without '}' */
	if (o->optimizer == DLF_OPTIM_AUTO)
		appendStringInfo(&s, ", \"optimizer_chosen\": \"%s\"",
						 dlf_optimizer_name(dlf_auto_optimizer(o, m->rows_train + m->rows_valid)));
	if (m->cv_json)
		appendStringInfo(&s, ", \"cv\": %s", m->cv_json);
	appendStringInfoChar(&s, '}');
	return s.data;
}
