/*
 * woe_fn.c
 *	  The "woe" and "woe_binning" training options: which features are
 *	  encoded by their weight of evidence, with which binning; the call
 *	  into the core (src/core/woe.c) that bins them on the training rows in
 *	  the final function and replaces their columns.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "dlfin_pg.h"
#include "woe.h"

/* The parsed options. */
typedef struct DlfWoeSpec
{
	bool		all;			/* "woe": true */
	int			nnames;			/* "woe": [names] */
	char	  **names;
	bool		binning_given;
	DlfBinOptions bin;
} DlfWoeSpec;

static const char *const monotonic_names[] = {"descending", "none", "ascending", "auto"};

/* The spec's WoE part, created with default binning on first use. */
static DlfWoeSpec *
woe_spec(DlfTrainSpec *spec)
{
	if (spec->woe == NULL)
	{
		spec->woe = palloc0(sizeof(DlfWoeSpec));
		dlfin_binning_options(NULL, &spec->woe->bin, "");
	}
	return spec->woe;
}

/* Raises 22023 for a bad "woe" value. */
static void
pg_attribute_noreturn()
bad_woe(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for dlfin_train option \"woe\""),
			 errdetail("Option \"woe\" must be true, false or an array of distinct feature names.")));
}

/* "woe": true (every feature), false, or an array of feature names. */
void
dlfin_parse_woe(JsonbValue *v, DlfTrainSpec *spec)
{
	DlfWoeSpec *w = woe_spec(spec);
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;

	if (v->type == jbvBool)
	{
		w->all = v->val.boolean;
		return;
	}
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		bad_woe();
	w->names = palloc(sizeof(char *) * Max(JsonContainerSize(v->val.binary.data), 1));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		char	   *s;

		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvString || e.val.string.len == 0)
			bad_woe();
		s = pnstrdup(e.val.string.val, e.val.string.len);
		for (int i = 0; i < w->nnames; i++)
			if (strcmp(w->names[i], s) == 0)
				bad_woe();
		w->names[w->nnames++] = s;
	}
}

/* "woe_binning": dlfin_binning's options for every WoE feature. */
void
dlfin_parse_woe_binning(JsonbValue *v, DlfTrainSpec *spec)
{
	DlfWoeSpec *w = woe_spec(spec);

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for dlfin_train option \"woe_binning\""),
				 errdetail("Option \"woe_binning\" must be an object of dlfin_binning's options.")));
	dlfin_binning_options(JsonbValueToJsonb(v), &w->bin, "dlfin_train \"woe_binning\"");
	w->binning_given = true;
}

/* Whether any feature is to be WoE-encoded. */
static bool
woe_on(const DlfTrainSpec *spec)
{
	return spec->woe && (spec->woe->all || spec->woe->nnames > 0);
}

/* Appends "woe" or "woe_binning" (the effective binning) when WoE is on. */
void
dlfin_woe_json(StringInfo s, const DlfTrainSpec *spec, bool is_binning)
{
	const DlfWoeSpec *w = spec->woe;

	if (!woe_on(spec))
		return;
	if (s->len > 1)
		appendStringInfoString(s, ", ");
	if (is_binning)
	{
		appendStringInfo(s, "\"woe_binning\": {\"max_bins\": %d, \"min_share\": %s, "
						 "\"monotonic\": \"%s\", \"prebins\": %d}",
						 w->bin.max_bins, float8out_internal(w->bin.min_share),
						 monotonic_names[w->bin.monotonic + 1], w->bin.prebins);
		return;
	}
	appendStringInfoString(s, "\"woe\": ");
	if (w->all)
	{
		appendStringInfoString(s, "true");
		return;
	}
	appendStringInfoChar(s, '[');
	for (int i = 0; i < w->nnames; i++)
	{
		if (i)
			appendStringInfoString(s, ", ");
		escape_json(s, w->names[i]);
	}
	appendStringInfoChar(s, ']');
}

/* Raises 22023: "woe" cannot be combined with option. */
static void
pg_attribute_noreturn()
woe_conflict(const char *option, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("dlfin_train option \"woe\" cannot be combined with \"%s\"", option),
			 errdetail("%s", why),
			 errhint("Train without \"%s\", or without \"woe\".", option)));
}

/*
 * Bins the chosen features on the training rows (in the core) and swaps
 * their columns for WoE columns; the schema's features become numeric
 * with their WoE tables.  Runs in the final function, on every row.
 */
void
dlfin_apply_woe(const DlfTrainSpec *spec, DlfModel *m, DlfDataset *data)
{
	const DlfWoeSpec *w = spec->woe;
	uint8	   *which;
	DlfError	err;

	if (!woe_on(spec))
	{
		if (w && w->binning_given)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("dlfin_train option \"woe_binning\" needs option \"woe\""),
					 errhint("Name the features to encode, as \"woe\": [\"income\"], or \"woe\": true for all.")));
		return;
	}
	if (spec->init)
		woe_conflict("init", "A warm start keeps the encoding of the model it starts from.");
	if (spec->encoding)
		woe_conflict("encoding", "Distributed training fixes each feature's scaling before the rows are seen.");
	which = palloc0(m->nfeatures);
	for (int32 f = 0; f < m->nfeatures; f++)
		which[f] = w->all;
	for (int i = 0; i < w->nnames; i++)
		which[dlfin_option_feature(m, spec, "woe", w->names[i])] = 1;
	if (dlf_woe_encode(m, data, which, &w->bin, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	pfree(which);
}

/*
 * Refuses the ONNX export of a model with WoE features: the exported graph
 * has no nodes for the bin lookup (see doc/scorecards.md).
 */
void
dlfin_refuse_woe_export(const DlfModel *m)
{
	for (int32 f = 0; f < m->nfeatures; f++)
		if (m->features[f].woe)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot export a model with WoE-encoded features to ONNX"),
					 errdetail("Feature \"%s\" is encoded by the WoE of its bin, which the exported graph has no nodes for.",
							   m->features[f].name),
					 errhint("Train the model without \"woe\" to export it, or export the WoE columns' scorecard from dlfin_model_info().")));
}
