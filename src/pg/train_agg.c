/*
 * train_agg.c
 *	  The dlfin_train aggregate: transition, combine, serial/deserial and the
 *	  final function that hands the buffered rows to the core trainer.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "schema.h"
#include "train_state.h"

PG_FUNCTION_INFO_V1(dlfin_train_sfunc);
PG_FUNCTION_INFO_V1(dlfin_train_combine);
PG_FUNCTION_INFO_V1(dlfin_train_serialize);
PG_FUNCTION_INFO_V1(dlfin_train_deserialize);
PG_FUNCTION_INFO_V1(dlfin_train_final);

/* Name of feature f for messages: from the names given, else f1..fn. */
static char *
feature_name(char **names, int32 f)
{
	return names ? names[f] : psprintf("f%d", f + 1);
}

/* Creates the state on the first row: types, options check. */
static TrainState *
first_row(FunctionCallInfo fcinfo, int label_arg, Jsonb *options)
{
	int			nargs = PG_NARGS();
	int32		nfeat = nargs - label_arg - 1;
	DlfArgType	label_type;
	DlfArgType *types;
	DlfTrainSpec *spec = palloc(sizeof(DlfTrainSpec));
	char	  **names;
	TrainState *st;

	if (nfeat < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train needs a label and at least one feature")));
	if (nfeat > DLF_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dlfin_train accepts at most %d features", DLF_MAX_FEATURES)));
	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("dlfin_train does not accept a VARIADIC array"),
				 errhint("Pass the features as separate arguments.")));
	/* validate the options now, so a typo fails before the scan */
	dlfin_parse_options(options, spec);
	if (spec->nnames > 0 && spec->nnames != nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train option \"features\" names %d features but %d were given",
						spec->nnames, nfeat)));
	if (!dlfin_classify_type(get_fn_expr_argtype(fcinfo->flinfo, label_arg),
							 &label_type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("dlfin_train label of type %s is not supported",
						format_type_be(get_fn_expr_argtype(fcinfo->flinfo, label_arg))),
				 errhint("Use a boolean, numeric or text label.")));
	/* the "features" option, else the expressions (label: input label_arg - 1) */
	names = spec->nnames ? spec->names :
		dlfin_call_feature_names(fcinfo, &dlfin_train_call(fcinfo)->names, label_arg, nfeat);
	types = palloc(sizeof(DlfArgType) * nfeat);
	for (int32 f = 0; f < nfeat; f++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, label_arg + 1 + f);

		if (!dlfin_classify_type(t, &types[f]))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("dlfin_train feature \"%s\" of type %s is not supported",
							feature_name(names, f), format_type_be(t)),
					 errhint("Features may be smallint, integer, bigint, real, double precision, numeric, boolean or text.")));
	}
	st = train_state_new(nfeat, &label_type, types, options);
	train_state_set_names(st, names);
	/* kept for the final function: the options are parsed once */
	st->spec = spec;
	return st;
}

/* Buffers row's feature arguments (after the label at label_arg). */
static void
buffer_features(FunctionCallInfo fcinfo, TrainState *st, int label_arg, int64 row)
{
	for (int32 f = 0; f < st->nfeat; f++)
	{
		TrainColumn *c = &st->cols[f];
		int			arg = label_arg + 1 + f;

		if (c->type.sqltype == DLF_SQL_TEXT)
		{
			const char *s;
			int			len;

			if (PG_ARGISNULL(arg))
				c->cat[row] = -1;
			else
			{
				dlfin_datum_text(PG_GETARG_DATUM(arg), &c->type, &s, &len);
				if (len > DLF_MAX_NAME)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("dlfin_train feature \"%s\" has a category longer than %d bytes",
									feature_name(st->names, f), DLF_MAX_NAME)));
				c->cat[row] = dlfin_dict_add(&c->dict, s, len, 1);
			}
		}
		else if (PG_ARGISNULL(arg))
			c->num[row] = NAN;
		else
		{
			bool		bad;
			double		v;

			/* float8, the common column type, without the conversion call */
			if (c->type.base == FLOAT8OID)
			{
				v = DatumGetFloat8(PG_GETARG_DATUM(arg));
				bad = isnan(v) || isinf(v);
			}
			else
				v = dlfin_datum_to_double(PG_GETARG_DATUM(arg), &c->type, &bad);

			if (bad)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("dlfin_train feature \"%s\" is NaN or infinite",
								feature_name(st->names, f))));
			if (fabs(v) > DLFIN_FLOAT4_LIMIT)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("dlfin_train feature \"%s\" value %g is out of range",
								feature_name(st->names, f), v),
						 errdetail("Feature values are stored as real (float4).")));
			c->num[row] = (float) v;
		}
	}
}

/* Transition: buffers one row of dlfin_train([options,] label, feature, ...). */
Datum
dlfin_train_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	TrainState *st;
	int64		row;
	bool		with_options = dlfin_train_options_form(fcinfo);
	int			label_arg = with_options ? 2 : 1;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "dlfin_train called in non-aggregate context");
	old = MemoryContextSwitchTo(aggcxt);
	if (PG_ARGISNULL(0))
	{
		st = first_row(fcinfo, label_arg, with_options ? dlfin_train_options_jsonb(fcinfo) : NULL);
		if (with_options && !PG_ARGISNULL(1))
			dlfin_train_remember_options(fcinfo, st);
	}
	else
	{
		st = (TrainState *) PG_GETARG_POINTER(0);
		if (with_options)
			dlfin_train_check_options(fcinfo, st);
	}

	/* rows with a NULL label are skipped */
	if (PG_ARGISNULL(label_arg))
	{
		MemoryContextSwitchTo(old);
		PG_RETURN_POINTER(st);
	}

	row = st->nrows;
	train_state_reserve(st, row + 1);

	if (st->label_type.sqltype == DLF_SQL_TEXT)
	{
		const char *s;
		int			len;

		dlfin_datum_text(PG_GETARG_DATUM(label_arg), &st->label_type, &s, &len);
		train_state_set_text_label(st, row, s, len);
	}
	else
	{
		bool		bad;
		double		y = dlfin_datum_to_double(PG_GETARG_DATUM(label_arg),
											  &st->label_type, &bad);

		if (bad)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("dlfin_train label is NaN or infinite")));
		train_state_set_label(st, row, y);
	}

	buffer_features(fcinfo, st, label_arg, row);
	st->nrows = row + 1;
	/* dictionaries grow too: keep within the limit */
	if ((row & 1023) == 0)
		train_state_check_memory(st);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* Combine: merges the rows of a partial state into another. */
Datum
dlfin_train_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	TrainState *a;
	TrainState *b;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "dlfin_train_combine called in non-aggregate context");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	b = (TrainState *) PG_GETARG_POINTER(1);
	old = MemoryContextSwitchTo(aggcxt);
	if (PG_ARGISNULL(0))
	{
		/* copy into the aggregate context: b may live elsewhere */
		DlfArgType *types = palloc(sizeof(DlfArgType) * b->nfeat);

		for (int32 f = 0; f < b->nfeat; f++)
			types[f] = b->cols[f].type;
		a = train_state_new(b->nfeat, &b->label_type, types, b->options);
	}
	else
		a = (TrainState *) PG_GETARG_POINTER(0);
	train_state_merge(a, b);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

/* Serial function for parallel aggregation. */
Datum
dlfin_train_serialize(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(train_state_serialize((TrainState *) PG_GETARG_POINTER(0),
											train_state_consumable(fcinfo),
											train_state_spillable(fcinfo)));
}

/* Deserial function for parallel aggregation. */
Datum
dlfin_train_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	TrainState *st;
	bytea	   *b;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "dlfin_train_deserialize called in non-aggregate context");
	/* a copy, if one is needed, lives for this input row only, as b does */
	b = PG_GETARG_BYTEA_PP(0);
	old = MemoryContextSwitchTo(aggcxt);
	st = train_state_deserialize(b);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* ---- final function -------------------------------------------------- */

/* Copies a string into core-owned memory. */
static char *
core_strdup(const char *s)
{
	char	   *r = dlf_strndup(s, strlen(s));

	if (r == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return r;
}

/* Allocates core-owned zeroed memory or errors. */
static void *
core_alloc0(size_t n, size_t size)
{
	void	   *p = dlf_alloc_array(n, size);

	if (p == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return p;
}

/*
 * Task and classes from the buffered labels (the core decides them), then
 * the labels in the form the trainer takes: class indexes, or for
 * regression a double per row.
 */
static void
setup_labels(TrainState *st, DlfTrainSpec *spec, DlfModel *m)
{
	DlfLabelColumn l;
	DlfError	err;
	bool		text = st->label_type.sqltype == DLF_SQL_TEXT;

	l.is_text = text;
	l.is_bool = st->label_type.kind == DLF_ARG_BOOL;
	/* numeric: more than DLF_MAX_CLASSES once the state switched to values */
	l.ndistinct = text ? st->label_dict.n :
		st->label_val ? DLF_MAX_CLASSES + 1 : st->nvals;
	l.str = (const char *const *) st->label_dict.str;
	l.len = st->label_dict.len;
	l.vals = st->vals;
	l.nrows = st->nrows;
	l.code = st->label_code;
	if (dlf_schema_labels(m, &l, spec->task, spec->positive, &err) != DLF_OK)
		dlfin_report_core_error(&err);
	if (m->task == DLF_TASK_REGRESSION && st->label_val == NULL)
	{
		/* the trainer wants the values: a double per row */
		st->label_val = palloc_extended(sizeof(double) * st->nrows, MCXT_ALLOC_HUGE);
		for (int64 r = 0; r < st->nrows; r++)
			st->label_val[r] = st->vals[st->label_code[r]];
		pfree(st->label_code);
		st->label_code = NULL;
	}
	if (m->task != DLF_TASK_REGRESSION && spec->nweights > 0)
	{
		spec->opt.class_weights = palloc(sizeof(double) * m->nclasses);
		if (dlf_schema_class_weights(m, spec->weight_class, spec->weight_value,
									 spec->nweights, spec->opt.class_weights,
									 &err) != DLF_OK)
			dlfin_report_core_error(&err);
	}
}

/* Sets up feature f of the model from its buffered column (in the core). */
static void
setup_feature(TrainState *st, const DlfTrainSpec *spec, DlfModel *m,
			  const DlfModel *init, int32 f)
{
	TrainColumn *c = &st->cols[f];
	DlfTextColumn col;
	DlfError	err;

	col.n = c->dict.n;
	col.str = (const char *const *) c->dict.str;
	col.len = c->dict.len;
	col.count = c->dict.count;
	col.code = c->cat;
	if (dlf_schema_feature(m, f, spec->nnames ? spec->names[f] : feature_name(st->names, f),
						   c->type.sqltype,
						   c->type.sqltype == DLF_SQL_TEXT ? &col : NULL,
						   st->nrows, spec->max_categories, init,
						   dlfin_interrupt_pending, NULL, &err) != DLF_OK)
		dlfin_report_core_error(&err);
}

/* Errors out unless a warm-start model has the schema of this call. */
static void
check_init_schema(const DlfModel *init, const DlfModel *m)
{
	DlfError	err;

	if (dlf_schema_check_init(init, m, &err) != DLF_OK)
		dlfin_report_core_error(&err);
}

/* Epoch callback: a NOTICE per epoch when "verbose" is on. */
static void
report_epoch(void *arg, const DlfEpochReport *r)
{
	ereport(NOTICE,
			(errmsg("epoch %d: train loss %.5f, validation loss %.5f, validation %s %.5f, %.2f s",
					r->epoch, r->train_loss, r->valid_loss,
					r->metric_name ? r->metric_name : "metric",
					r->valid_metric, r->seconds)));
}

/*
 * The model schema, dataset, options and hooks of a training from the
 * buffered rows of st (shared by dlfin_train and dlfin_cv); the dataset's
 * columns are the state's.
 */
DlfModel *
dlfin_train_prepare(TrainState *st, DlfTrainSpec *spec, DlfDataset *data,
					DlfTrainHooks *hooks)
{
	DlfModel   *m;
	DlfModel   *init = NULL;
	DlfModel   *enc = NULL;

	/* parsed on the first row, unless the state came from parallel workers */
	if (st->spec)
		*spec = *st->spec;
	else
		dlfin_parse_options(st->options, spec);
	if (spec->init)
		init = dlfin_decode_model(spec->init);
	else if (spec->encoding)
		enc = dlfin_encoding_model(spec->encoding, st->nfeat);

	m = dlf_model_new();
	if (m == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	setup_labels(st, spec, m);
	m->nfeatures = st->nfeat;
	m->features = core_alloc0(st->nfeat, sizeof(DlfFeature));
	if (init && init->nfeatures != st->nfeat)
		check_init_schema(init, m);
	for (int32 f = 0; f < st->nfeat; f++)
		setup_feature(st, spec, m, init ? init : enc, f);
	if (enc)
	{
		dlfin_check_encoding(enc, m);
		spec->opt.encoding = enc;
	}
	if (init)
	{
		check_init_schema(init, m);
		spec->opt.init = init;
	}
	dlfin_apply_governance(spec, m);

	data->nrows = st->nrows;
	data->nfeatures = st->nfeat;
	data->num = palloc0(sizeof(float *) * st->nfeat);
	data->cat = palloc0(sizeof(int32 *) * st->nfeat);
	for (int32 f = 0; f < st->nfeat; f++)
	{
		data->num[f] = st->cols[f].num;
		data->cat[f] = st->cols[f].cat;
	}
	/* classification: 2-byte class indexes; regression: the values */
	data->label = st->label_val;
	data->cls = m->task == DLF_TASK_REGRESSION ? NULL : st->label_code;
	/* "woe": bin the chosen features on these rows, encode their columns */
	dlfin_apply_woe(spec, m, data);

	spec->opt.nthreads = spec->threads ? spec->threads : dlfin_threads;
	hooks->interrupted = dlfin_interrupt_pending;
	hooks->epoch_done = spec->verbose ? report_epoch : NULL;
	hooks->arg = NULL;
	return m;
}

/* Final function: trains the model on the buffered rows, returns bytea. */
Datum
dlfin_train_final(PG_FUNCTION_ARGS)
{
	TrainState *st;
	DlfTrainSpec spec;
	DlfModel   *m;
	DlfDataset	data;
	DlfTrainHooks hooks;
	DlfError	err;
	DlfStatus	rc;
	bytea	   *result;
	char	   *json;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (TrainState *) PG_GETARG_POINTER(0);
	train_state_check_owned(st);
	if (st->nrows == 0)
		PG_RETURN_NULL();
	m = dlfin_train_prepare(st, &spec, &data, &hooks);

	/* the defaults' rule first, so the JSON records what it chose */
	dlf_train_resolve(&spec.opt, m, &data);
	/* set before training, so the trainer does not write its own */
	json = dlfin_options_json(&spec, m);
	m->options_json = core_strdup(json);
	/* the state goes with this call (FINALFUNC_MODIFY = READ_WRITE) */
	spec.opt.consume = 1;
	rc = dlf_train_auto(m, &data, &spec.opt, &hooks, &err);
	if (rc == DLF_OK)
		rc = dlf_zero_unused_inputs(m, data.cat, data.nrows, &err);
	if (rc != DLF_OK)
		dlfin_report_core_error(&err);
	if (spec.opt.optimizer == DLF_OPTIM_AUTO || m->cv_json)
	{
		dlf_free(m->options_json);
		m->options_json = core_strdup(dlfin_options_json_trained(json, &spec, m));
	}
	result = dlfin_encode_trained_model(m);
	dlf_model_free(m);
	PG_RETURN_BYTEA_P(result);
}
