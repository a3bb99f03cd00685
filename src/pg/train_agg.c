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
	DlfTrainSpec spec;
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
	dlfin_parse_options(options, &spec);
	if (spec.nnames > 0 && spec.nnames != nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train option \"features\" names %d features but %d were given",
						spec.nnames, nfeat)));
	if (!dlfin_classify_type(get_fn_expr_argtype(fcinfo->flinfo, label_arg),
							 &label_type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("dlfin_train label of type %s is not supported",
						format_type_be(get_fn_expr_argtype(fcinfo->flinfo, label_arg))),
				 errhint("Use a boolean, numeric or text label.")));
	/* the "features" option, else the expressions (label: input label_arg - 1) */
	names = spec.nnames ? spec.names :
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
	return st;
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
			if (fabs(v) > 3.0e38)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("dlfin_train feature \"%s\" value %g is out of range",
								feature_name(st->names, f), v),
						 errdetail("Feature values are stored as real (float4).")));
			c->num[row] = (float) v;
		}
	}
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
	PG_RETURN_BYTEA_P(train_state_serialize((TrainState *) PG_GETARG_POINTER(0)));
}

/* Deserial function for parallel aggregation. */
Datum
dlfin_train_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	TrainState *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "dlfin_train_deserialize called in non-aggregate context");
	old = MemoryContextSwitchTo(aggcxt);
	st = train_state_deserialize(PG_GETARG_BYTEA_PP(0));
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* ---- final function -------------------------------------------------- */

/* qsort comparator for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Text name of a numeric class value. */
static char *
number_class_name(double v, const DlfArgType *t)
{
	if (t->kind == DLF_ARG_BOOL)
		return pstrdup(v != 0 ? "true" : "false");
	return psprintf("%.15g", v);
}

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

/* qsort_arg comparator: dictionary entries by bytes. */
static int
cmp_dict_bytes(const void *a, const void *b, void *arg)
{
	return dlfin_dict_cmp((const DlfDict *) arg, *(const int32 *) a,
						*(const int32 *) b);
}

/*
 * Decides the task and the classes from the labels and rewrites the label
 * codes as class indexes (classification) or the labels as doubles
 * (regression).  Class order is canonical (sorted), so it never depends on
 * row order.
 */
static void
setup_labels(TrainState *st, DlfTrainSpec *spec, DlfModel *m)
{
	int64		n = st->nrows;
	int32		k;
	char	  **names;
	int			task = spec->task;

	if (st->label_type.sqltype == DLF_SQL_TEXT)
	{
		DlfDict    *d = &st->label_dict;
		int32	   *order = palloc(sizeof(int32) * Max(d->n, 1));
		int32	   *rank = palloc(sizeof(int32) * Max(d->n, 1));

		if (task == DLF_TASK_REGRESSION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("dlfin_train task \"regression\" needs a numeric label")));
		k = d->n;
		for (int32 i = 0; i < k; i++)
			order[i] = i;
		qsort_arg(order, k, sizeof(int32), cmp_dict_bytes, d);
		for (int32 i = 0; i < k; i++)
			rank[order[i]] = i;
		names = palloc(sizeof(char *) * Max(k, 1));
		for (int32 i = 0; i < k; i++)
			names[i] = d->str[order[i]];
		/* k <= TRAIN_MAX_LABEL_CODES, so ranks fit the codes */
		for (int64 r = 0; r < n; r++)
			st->label_code[r] = (uint16) rank[st->label_code[r]];
	}
	else
	{
		/*
		 * The distinct values: the state's code table, or more than
		 * DLF_MAX_CLASSES of them once it switched to values.
		 */
		int64		nd = st->label_val ? DLF_MAX_CLASSES + 1 : st->nvals;
		double	   *vals = NULL;

		/* two values (or a boolean) classify; one value is an error below */
		if (task == 0 && (nd > 2 && st->label_type.kind != DLF_ARG_BOOL))
			task = DLF_TASK_REGRESSION;
		if (task == DLF_TASK_REGRESSION)
		{
			if (st->label_type.kind == DLF_ARG_BOOL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("dlfin_train task \"regression\" needs a numeric label")));
			if (nd < 2)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("dlfin_train label has only one distinct value"),
						 errdetail("A model needs a label that varies.")));
			if (st->label_val == NULL)
			{
				/* the trainer wants the values: a double per row */
				st->label_val = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
				for (int64 r = 0; r < n; r++)
					st->label_val[r] = st->vals[st->label_code[r]];
				pfree(st->label_code);
				st->label_code = NULL;
			}
			m->task = DLF_TASK_REGRESSION;
			m->nclasses = 0;
			return;
		}
		if (nd > DLF_MAX_CLASSES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("dlfin_train label has more than %d distinct values",
							DLF_MAX_CLASSES)));
		k = (int32) nd;
		vals = palloc(sizeof(double) * Max(k, 1));
		memcpy(vals, st->vals, sizeof(double) * k);
		qsort(vals, k, sizeof(double), cmp_double);
		names = palloc(sizeof(char *) * Max(k, 1));
		for (int32 i = 0; i < k; i++)
			names[i] = number_class_name(vals[i], &st->label_type);
		{
			uint16		rank[DLF_MAX_CLASSES];

			for (int32 c = 0; c < k; c++)
			{
				double	   *hit = bsearch(&st->vals[c], vals, k, sizeof(double),
										  cmp_double);

				rank[c] = (uint16) (hit - vals);
			}
			for (int64 r = 0; r < n; r++)
				st->label_code[r] = rank[st->label_code[r]];
		}
		pfree(vals);
	}

	if (k < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("dlfin_train label has only one class"),
				 errdetail("Every row with a label has the value \"%s\".", names[0]),
				 errhint("A classifier needs at least two classes.")));
	if (task == 0)
		task = k == 2 ? DLF_TASK_BINARY : DLF_TASK_MULTICLASS;
	if (task == DLF_TASK_BINARY && k != 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("dlfin_train task \"binary\" needs exactly two label values, found %d", k)));
	if (task == DLF_TASK_MULTICLASS && k < 3)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("dlfin_train task \"multiclass\" needs at least three label values, found %d", k),
				 errhint("Use task \"binary\" for two classes.")));
	if (spec->positive && task != DLF_TASK_BINARY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train option \"positive\" applies only to binary classification")));
	if (spec->positive)
	{
		if (strcmp(spec->positive, names[0]) == 0)
		{
			char	   *t = names[0];

			/* the named class becomes class 1 */
			names[0] = names[1];
			names[1] = t;
			for (int64 r = 0; r < n; r++)
				st->label_code[r] = 1 - st->label_code[r];
		}
		else if (strcmp(spec->positive, names[1]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("dlfin_train option \"positive\" value \"%s\" is not a label value",
							spec->positive),
					 errdetail("The label values are \"%s\" and \"%s\".", names[0], names[1])));
	}
	m->task = task;
	m->nclasses = k;
	m->classes = core_alloc0(k, sizeof(char *));
	for (int32 i = 0; i < k; i++)
		m->classes[i] = core_strdup(names[i]);

	if (spec->nweights > 0)
	{
		spec->opt.class_weights = palloc(sizeof(double) * k);
		for (int32 i = 0; i < k; i++)
			spec->opt.class_weights[i] = 1.0;
		for (int i = 0; i < spec->nweights; i++)
		{
			int32		c;

			for (c = 0; c < k; c++)
				if (strcmp(spec->weight_class[i], names[c]) == 0)
					break;
			if (c == k)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("dlfin_train option \"class_weight\" names unknown class \"%s\"",
								spec->weight_class[i])));
			spec->opt.class_weights[c] = spec->weight_value[i];
		}
	}
}

/* qsort_arg comparator: most frequent first, then by bytes. */
static int
cmp_vocab(const void *a, const void *b, void *arg)
{
	const DlfDict *d = arg;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	/* a million distinct values take a second to sort */
	CHECK_FOR_INTERRUPTS();
	if (d->count[x] != d->count[y])
		return d->count[x] > d->count[y] ? -1 : 1;
	return dlfin_dict_cmp(d, x, y);
}

/*
 * Sets up feature f of the model from its buffered column: name, kind and,
 * for text, the vocabulary (the max_categories most frequent values; ties by
 * bytes) with the column rewritten to model codes.  With a warm-start model
 * the vocabulary is the init model's.
 */
static void
setup_feature(TrainState *st, const DlfTrainSpec *spec, DlfModel *m,
			  const DlfModel *init, int32 f)
{
	TrainColumn *c = &st->cols[f];
	DlfFeature *ft = &m->features[f];
	int64		n = st->nrows;
	DlfError	err;

	ft->name = core_strdup(spec->nnames ? spec->names[f] : feature_name(st->names, f));
	ft->sqltype = c->type.sqltype;
	ft->importance = NAN;
	if (c->type.sqltype != DLF_SQL_TEXT)
	{
		ft->kind = DLF_FEAT_NUMERIC;
		return;
	}
	ft->kind = DLF_FEAT_CATEGORICAL;
	{
		DlfDict    *d = &c->dict;
		int32	   *map = palloc(sizeof(int32) * Max(d->n, 1));
		int32		keep;

		if (init)
		{
			const DlfFeature *it = &init->features[f];

			keep = it->ncat;
			ft->categories = core_alloc0(Max(keep, 1), sizeof(char *));
			for (int32 i = 0; i < keep; i++)
			{
				if ((i & 4095) == 0)
					CHECK_FOR_INTERRUPTS();
				ft->categories[i] = core_strdup(it->categories[i]);
			}
			/* a hash of the init model's categories, not a search each */
			if (dlf_category_codes(init, f, (const char *const *) d->str, d->len,
								   d->n, map, dlfin_interrupt_pending, NULL,
								   &err) != DLF_OK)
				dlfin_report_core_error(&err);
		}
		else
		{
			int32	   *order = palloc(sizeof(int32) * Max(d->n, 1));

			for (int32 i = 0; i < d->n; i++)
				order[i] = i;
			qsort_arg(order, d->n, sizeof(int32), cmp_vocab, d);
			keep = Min(d->n, spec->max_categories);
			ft->categories = core_alloc0(Max(keep, 1), sizeof(char *));
			for (int32 i = 0; i < d->n; i++)
			{
				if (i < keep)
					ft->categories[i] = core_strdup(d->str[order[i]]);
				map[order[i]] = i < keep ? i : keep;	/* rare: "other" */
			}
			pfree(order);
		}
		ft->ncat = keep;
		for (int64 r = 0; r < n; r++)
		{
			if ((r & ((1 << 20) - 1)) == 0)
				CHECK_FOR_INTERRUPTS();
			c->cat[r] = c->cat[r] < 0 ? keep + 1 : map[c->cat[r]];
		}
		pfree(map);
	}
}

/* Checks that a warm-start model has the schema of this training call. */
static void
check_init_schema(const DlfModel *init, const DlfModel *m)
{
	const char *why = NULL;

	if (init->task != m->task)
		why = "The task differs.";
	else if (init->nclasses != m->nclasses)
		why = "The classes differ.";
	else if (init->nfeatures != m->nfeatures)
		why = psprintf("The init model has %d features, this call %d.",
					   init->nfeatures, m->nfeatures);
	else
	{
		for (int32 c = 0; c < m->nclasses && !why; c++)
			if (strcmp(init->classes[c], m->classes[c]) != 0)
				why = "The classes differ.";
		for (int32 f = 0; f < m->nfeatures && !why; f++)
			if (init->features[f].sqltype != m->features[f].sqltype)
				why = psprintf("Feature %d is %s in the init model and %s here.", f + 1,
							   dlf_sqltype_name(init->features[f].sqltype),
							   dlf_sqltype_name(m->features[f].sqltype));
	}
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dlfin_train option \"init\" model does not match the training data"),
				 errdetail("%s", why)));
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
 * Zeroes the first-layer weights of one-hot inputs that were never active
 * in training (an "other" or "missing" bucket no training row used).  Their
 * weights never influenced training, so this changes no training result,
 * but it makes an unseen category score like the baseline instead of
 * through random initial weights.
 */
static void
zero_unused_inputs(DlfModel *m, TrainState *st)
{
	for (int32 f = 0; f < m->nfeatures; f++)
	{
		DlfFeature *ft = &m->features[f];
		int64	   *used;

		if (ft->kind != DLF_FEAT_CATEGORICAL)
			continue;
		used = palloc0(sizeof(int64) * (ft->ncat + 2));
		for (int64 r = 0; r < st->nrows; r++)
			used[st->cols[f].cat[r]]++;
		for (int32 c = 0; c < ft->ncat + 2; c++)
			if (used[c] == 0)
				dlf_model_zero_input(m, ft->input_offset + c);
		pfree(used);
	}
}

/* Final function: trains the model on the buffered rows, returns bytea. */
Datum
dlfin_train_final(PG_FUNCTION_ARGS)
{
	TrainState *st;
	DlfTrainSpec spec;
	DlfModel   *m;
	DlfModel   *init = NULL;
	DlfDataset	data;
	DlfTrainHooks hooks;
	DlfError	err;
	DlfStatus	rc;
	bytea	   *result;
	char	   *json;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (TrainState *) PG_GETARG_POINTER(0);
	if (st->nrows == 0)
		PG_RETURN_NULL();

	dlfin_parse_options(st->options, &spec);
	if (spec.init)
		init = dlfin_decode_model(spec.init);

	m = dlf_model_new();
	if (m == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	setup_labels(st, &spec, m);
	m->nfeatures = st->nfeat;
	m->features = core_alloc0(st->nfeat, sizeof(DlfFeature));
	if (init && init->nfeatures != st->nfeat)
		check_init_schema(init, m);
	for (int32 f = 0; f < st->nfeat; f++)
		setup_feature(st, &spec, m, init, f);
	if (init)
	{
		check_init_schema(init, m);
		spec.opt.init = init;
	}
	dlfin_apply_governance(&spec, m);

	data.nrows = st->nrows;
	data.nfeatures = st->nfeat;
	data.num = palloc0(sizeof(float *) * st->nfeat);
	data.cat = palloc0(sizeof(int32 *) * st->nfeat);
	for (int32 f = 0; f < st->nfeat; f++)
	{
		data.num[f] = st->cols[f].num;
		data.cat[f] = st->cols[f].cat;
	}
	/* classification: 2-byte class indexes; regression: the values */
	data.label = st->label_val;
	data.cls = m->task == DLF_TASK_REGRESSION ? NULL : st->label_code;

	spec.opt.nthreads = spec.threads ? spec.threads : dlfin_threads;
	hooks.interrupted = dlfin_interrupt_pending;
	hooks.epoch_done = spec.verbose ? report_epoch : NULL;
	hooks.arg = NULL;

	rc = dlf_train_auto(m, &data, &spec.opt, &hooks, &err);
	if (rc != DLF_OK)
		dlfin_report_core_error(&err);
	zero_unused_inputs(m, st);

	json = dlfin_options_json(&spec, m);
	m->options_json = core_strdup(json);
	result = dlfin_encode_trained_model(m);
	dlf_model_free(m);
	PG_RETURN_BYTEA_P(result);
}
