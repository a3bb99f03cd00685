/*
 * rowargs.c
 *	  The row form of the scoring, explaining and drift functions:
 *	  dlfin_predict(model, a) with a whole row picks the model's features
 *	  from the row's columns by name.  Extra columns are ignored; a missing
 *	  one is an error (42703), as is a column of the wrong type (42804).
 *
 * The positional function does the work.  Per query (and again only when
 * the model or the row type changes) the model's feature names are matched
 * to the row type's columns, and a call of the positional function is set
 * up whose expression gives each feature argument its column's type, so
 * the positional function checks and caches as it does for any call site.
 * Per row, the row is deformed up to the last column needed (a heap tuple
 * slot caches the column offsets) and the columns are passed on: no
 * lookup, allocation or name comparison.  The positional call has its own
 * FmgrInfo and fn_extra; see prepare() for when its cache is kept.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "dlfin_pg.h"
#include "rowargs.h"
#include "scoring.h"

/* The row form's state for one call site; lives in fn_extra. */
typedef struct RowCall
{
	MemoryContext cxt;			/* what depends on the model and row type */
	MemoryContext inner_cxt;	/* the positional call's fn_mcxt: its cache */
	bool		ready;			/* the mapping below is built */
	/* the model and row type the mapping was built for */
	void	   *raw;			/* copy of the model datum as passed */
	Size		raw_len;
	bool		pass_raw;		/* the positional call gets raw, a Const */
	void	   *last_ptr;		/* model datum pointer of the previous row */
	bool		trust_ptr;		/* last_ptr alone proves the bytes: a Const
								 * of the plan, or the registry's bytes
								 * within one lookup_gen */
	uint64		lookup_gen;		/* by name: the lookup's generation that
								 * last_ptr belongs to */
	Oid			typid;
	int32		typmod;
	/* the positional call; its fn_extra survives a new model */
	FmgrInfo	flinfo;
	FunctionCallInfo inner;
	int32		nfeat;
	int32	   *map;			/* [nfeat] feature -> column index */
	int			natts_needed;	/* columns to deform */
	TupleTableSlot *slot;
	HeapTupleData tuple;		/* the row of the current call */
	/* by name: the registry lookup, a call of its own */
	FmgrInfo	lookup_flinfo;
	FunctionCallInfo lookup;
} RowCall;

/*
 * The last named row type seen, so that the row form's calls skip the
 * catalog lookup; any change to a type forgets it.
 */
static Oid	known_row_type = InvalidOid;
static bool known_row_callback = false;

/* Forgets the known row type when pg_type changes. */
static void
forget_row_type(Datum arg, int cacheid, uint32 hashvalue)
{
	known_row_type = InvalidOid;
}

/* Whether argument row_arg's declared type is composite (or record). */
bool
dlfin_row_arg(FunctionCallInfo fcinfo, int row_arg)
{
	Oid			t = get_fn_expr_argtype(fcinfo->flinfo, row_arg);

	switch (t)
	{
		case InvalidOid:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
		case BOOLOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case UNKNOWNOID:
			/* the scalar features: a one-feature model scored positionally */
			return false;
		case RECORDOID:
			return true;
		default:
			if (t == known_row_type)
				return true;
			if (!type_is_rowtype(t))
				return false;
			if (!known_row_callback)
			{
				CacheRegisterSyscacheCallback(TYPEOID, forget_row_type, (Datum) 0);
				known_row_callback = true;
			}
			known_row_type = t;
			return true;
	}
}

/*
 * Whether the model datum is the one the mapping was built for, decided as
 * the scoring cache decides it (model_cache.c): a Const argument by its
 * address, which the plan keeps in place; the registry's bytes by their
 * address while its lookup has not fetched again (dlfin_row_call forgets
 * last_ptr when it has); any other datum by its bytes as passed (a TOAST
 * pointer is 18 of them).  A plpgsql variable or another model read into
 * the freed memory of the previous one may come back at the same address
 * with the same length, first bytes and CRC.
 */
static bool
same_model(RowCall *rc, Datum model)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(model);
	Size		len = VARSIZE_ANY(raw);
	bool		same;

	if (!rc->ready || len != rc->raw_len)
		return false;
	if ((void *) raw == rc->last_ptr && rc->trust_ptr)
		same = true;
	else
		same = dlf_same_bytes(raw, rc->raw, len);
	if (same)
		rc->last_ptr = raw;
	return same;
}

/* Raises the error for a column whose type the feature cannot take. */
static void
pg_attribute_noreturn()
wrong_type(const DlfFeature *ft, Form_pg_attribute att)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("dlfin model feature \"%s\" expects %s but column \"%s\" of the row is %s",
					ft->name, dlf_sqltype_name(ft->sqltype), NameStr(att->attname),
					format_type_be(att->atttypid))));
}

/*
 * Matches the model's features to the columns of the row type, by name,
 * and checks their types: numbers and booleans are interchangeable, text
 * is text (as positional scoring checks its arguments).
 */
static void
match_columns(RowCall *rc, const DlfModel *m, TupleDesc desc)
{
	const char **cols = palloc(sizeof(char *) * Max(desc->natts, 1));
	int32		f;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		cols[i] = att->attisdropped ? NULL : NameStr(att->attname);
	}
	rc->map = palloc(sizeof(int32) * Max(m->nfeatures, 1));
	switch (dlf_match_features(m, cols, desc->natts, rc->map, &f))
	{
		case DLF_MATCH_OK:
			break;
		case DLF_MATCH_MISSING:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("dlfin model feature \"%s\" is not a column of the row",
							m->features[f].name),
					 errdetail("The row form matches the model's features to the columns of the row, of type %s, by name.",
							   format_type_be(rc->typid)),
					 errhint("Rename the column, or pass the features one by one in the order dlfin_model_info() lists them.")));
			break;
		case DLF_MATCH_AMBIGUOUS:
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_COLUMN),
					 errmsg("dlfin model feature \"%s\" matches more than one column of the row",
							m->features[f].name)));
			break;
	}
	rc->natts_needed = 0;
	for (f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		Form_pg_attribute att = TupleDescAttr(desc, rc->map[f]);
		DlfArgType	t;

		if (!dlfin_classify_type(att->atttypid, &t) ||
			(ft->sqltype == DLF_SQL_TEXT) != (t.sqltype == DLF_SQL_TEXT))
			wrong_type(ft, att);
		rc->natts_needed = Max(rc->natts_needed, rc->map[f] + 1);
	}
}

/*
 * The expression of the positional call: the call's own arguments before
 * the row (the model as bytea when it was a name), then a parameter of
 * each feature's column type.  The positional function reads the argument
 * types, the VARIADIC flag and the model argument's stability from it.
 */
static Node *
positional_expr(FunctionCallInfo fcinfo, const DlfRowForm *form,
				const RowCall *rc, TupleDesc desc)
{
	Node	   *outer = fcinfo->flinfo->fn_expr;
	FuncExpr   *fe = makeNode(FuncExpr);

	fe->funcid = fcinfo->flinfo->fn_oid;
	fe->funcresulttype = InvalidOid;
	fe->funcvariadic = false;
	fe->funcformat = COERCE_EXPLICIT_CALL;
	for (int i = 0; i < form->row_arg; i++)
	{
		Param	   *p;

		if (i == form->model_arg && rc->pass_raw)
		{
			/* the mapping's copy: one address and its bytes until prepare */
			fe->args = lappend(fe->args, makeConst(BYTEAOID, -1, InvalidOid, -1,
												   PointerGetDatum(rc->raw),
												   false, false));
			continue;
		}
		if (outer && IsA(outer, FuncExpr) && !(form->by_name && i == form->model_arg))
		{
			fe->args = lappend(fe->args, list_nth(((FuncExpr *) outer)->args, i));
			continue;
		}
		p = makeNode(Param);
		p->paramkind = PARAM_EXEC;
		p->paramid = -1;
		p->paramtype = (form->by_name && i == form->model_arg) ? BYTEAOID :
			get_fn_expr_argtype(fcinfo->flinfo, i);
		p->paramtypmod = -1;
		p->location = -1;
		fe->args = lappend(fe->args, p);
	}
	for (int32 f = 0; f < rc->nfeat; f++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, rc->map[f]);
		Param	   *p = makeNode(Param);

		p->paramkind = PARAM_EXEC;
		p->paramid = -1;
		p->paramtype = att->atttypid;
		p->paramtypmod = att->atttypmod;
		p->paramcollid = att->attcollation;
		p->location = -1;
		fe->args = lappend(fe->args, p);
	}
	return (Node *) fe;
}

/*
 * Builds the mapping for the model datum and the row type, and the
 * positional call that uses it, in rc->cxt, reset first.  The positional
 * call's own cache is kept when the model is new (it sees a new model and
 * checks the new argument types itself; its generation count, which
 * dlfin_drift uses to notice a change of model, goes on), and reset
 * otherwise: with the same model it would keep the old argument types.
 *
 * The positional call gets the mapping's copy of the model datum as a
 * Const, so its cache recognises it by address until the copy is freed
 * here (and told so): a model in memory (the registry's bytes, a plpgsql
 * variable) is then compared once a row, by same_model, not twice.  Not
 * for an indirect or expanded TOAST pointer, whose copy would point at
 * memory the copy does not own.
 */
static void
prepare(FunctionCallInfo fcinfo, const DlfRowForm *form, RowCall *rc,
		Datum model, bool new_model, Oid typid, int32 typmod)
{
	MemoryContext old;
	struct varlena *raw = (struct varlena *) DatumGetPointer(model);
	DlfModel   *m;
	TupleDesc	cached;
	TupleDesc	desc;
	int			nargs;

	new_model &= rc->ready;		/* after a failure, start afresh */
	rc->ready = false;
	MemoryContextReset(rc->cxt);
	if (!new_model)
	{
		MemoryContextReset(rc->inner_cxt);
		rc->flinfo.fn_extra = NULL;
	}
	else
		dlfin_score_cache_moved(&rc->flinfo);	/* rc->raw was freed */
	old = MemoryContextSwitchTo(rc->cxt);
	rc->typid = typid;
	rc->typmod = typmod;
	m = dlfin_decode_model(DatumGetByteaPP(model));
	cached = lookup_rowtype_tupdesc(typid, typmod);
	desc = CreateTupleDescCopy(cached);
	ReleaseTupleDesc(cached);
	match_columns(rc, m, desc);
	rc->nfeat = m->nfeatures;

	rc->raw_len = VARSIZE_ANY(raw);
	rc->raw = palloc(rc->raw_len);
	memcpy(rc->raw, raw, rc->raw_len);
	rc->pass_raw = !VARATT_IS_EXTERNAL(raw) || VARATT_IS_EXTERNAL_ONDISK(raw);
	rc->last_ptr = raw;

	nargs = form->row_arg + rc->nfeat;
	rc->flinfo.fn_nargs = nargs;
	rc->flinfo.fn_expr = positional_expr(fcinfo, form, rc, desc);
	rc->inner = palloc0(SizeForFunctionCallInfo(nargs));
	InitFunctionCallInfoData(*rc->inner, &rc->flinfo, nargs, fcinfo->fncollation,
							 fcinfo->context, fcinfo->resultinfo);
	rc->slot = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);
	dlf_model_free(m);
	MemoryContextSwitchTo(old);
	rc->ready = true;
}

/* The state of the call site, created on its first row. */
static RowCall *
row_call_state(FunctionCallInfo fcinfo, const DlfRowForm *form)
{
	RowCall    *rc = fcinfo->flinfo->fn_extra;

	if (rc != NULL)
		return rc;
	rc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RowCall));
	rc->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "dlfin row form",
									ALLOCSET_SMALL_SIZES);
	rc->inner_cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
										  "dlfin row form call", ALLOCSET_SMALL_SIZES);
	rc->flinfo.fn_addr = form->positional;
	rc->flinfo.fn_oid = fcinfo->flinfo->fn_oid;
	rc->flinfo.fn_mcxt = rc->inner_cxt;
	rc->trust_ptr = form->by_name ||
		dlfin_arg_is_const(fcinfo->flinfo, form->model_arg);
	if (form->by_name)
	{
		/*
		 * The registry's per-query lookup keeps its cache in this fn_extra;
		 * it sees the call's expression, whose argument 0 is the name, to
		 * trust a constant name by its address.
		 */
		Assert(form->model_arg == 0);
		rc->lookup_flinfo.fn_mcxt = fcinfo->flinfo->fn_mcxt;
		rc->lookup_flinfo.fn_expr = fcinfo->flinfo->fn_expr;
		rc->lookup_flinfo.fn_oid = fcinfo->flinfo->fn_oid;
		rc->lookup_flinfo.fn_nargs = 1;
		rc->lookup = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
											SizeForFunctionCallInfo(1));
		InitFunctionCallInfoData(*rc->lookup, &rc->lookup_flinfo, 1, InvalidOid,
								 NULL, NULL);
	}
	fcinfo->flinfo->fn_extra = rc;
	return rc;
}

/*
 * The row form of a scoring, explaining or drift function: form->positional
 * called with the row's columns named like the model's features, in the
 * model's order.  A NULL model or row gives NULL (a transition function
 * keeps its state).
 */
Datum
dlfin_row_call(FunctionCallInfo fcinfo, const DlfRowForm *form)
{
	RowCall    *rc = row_call_state(fcinfo, form);
	FunctionCallInfo inner;
	HeapTupleHeader td;
	Datum		model;
	Datum		result;
	bool		same;

	if (PG_ARGISNULL(form->model_arg) || PG_ARGISNULL(form->row_arg))
	{
		if (form->transition && !PG_ARGISNULL(0))
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		PG_RETURN_NULL();
	}
	model = PG_GETARG_DATUM(form->model_arg);
	if (form->by_name)
	{
		uint64		gen;

		rc->lookup->args[0] = fcinfo->args[form->model_arg];
		model = PointerGetDatum(dlfin_registry_model_gen(rc->lookup, &gen));
		if (gen != rc->lookup_gen)
		{
			/* fetched again: the old bytes' address may hold new ones */
			rc->lookup_gen = gen;
			rc->last_ptr = NULL;
		}
	}
	td = PG_GETARG_HEAPTUPLEHEADER(form->row_arg);
	same = same_model(rc, model);
	if (!same || HeapTupleHeaderGetTypeId(td) != rc->typid ||
		HeapTupleHeaderGetTypMod(td) != rc->typmod)
		prepare(fcinfo, form, rc, model, !same, HeapTupleHeaderGetTypeId(td),
				HeapTupleHeaderGetTypMod(td));

	rc->tuple.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&rc->tuple.t_self);
	rc->tuple.t_tableOid = InvalidOid;
	rc->tuple.t_data = td;
	ExecStoreHeapTuple(&rc->tuple, rc->slot, false);
	slot_getsomeattrs(rc->slot, rc->natts_needed);

	inner = rc->inner;
	for (int i = 0; i < form->row_arg; i++)
		inner->args[i] = fcinfo->args[i];
	inner->args[form->model_arg].value = rc->pass_raw ? PointerGetDatum(rc->raw) : model;
	for (int32 f = 0; f < rc->nfeat; f++)
	{
		inner->args[form->row_arg + f].value = rc->slot->tts_values[rc->map[f]];
		inner->args[form->row_arg + f].isnull = rc->slot->tts_isnull[rc->map[f]];
	}
	inner->isnull = false;
	result = form->positional(inner);
	fcinfo->isnull = inner->isnull;
	ExecClearTuple(rc->slot);
	return result;
}

/* ---- the row forms of the SQL functions ---------------------------------- */

extern Datum dlfin_predict(PG_FUNCTION_ARGS);
extern Datum dlfin_predict_class(PG_FUNCTION_ARGS);
extern Datum dlfin_predict_proba(PG_FUNCTION_ARGS);
extern Datum dlfin_explain(PG_FUNCTION_ARGS);
extern Datum dlfin_reasons(PG_FUNCTION_ARGS);
extern Datum dlfin_drift_sfunc(PG_FUNCTION_ARGS);

/* positional function, model argument, row argument, by name, transition */
const DlfRowForm dlfin_row_predict = {dlfin_predict, 0, 1, false, false};
const DlfRowForm dlfin_row_predict_class = {dlfin_predict_class, 0, 1, false, false};
const DlfRowForm dlfin_row_predict_proba = {dlfin_predict_proba, 0, 1, false, false};
const DlfRowForm dlfin_row_predict_name = {dlfin_predict, 0, 1, true, false};
const DlfRowForm dlfin_row_predict_class_name = {dlfin_predict_class, 0, 1, true, false};
const DlfRowForm dlfin_row_predict_proba_name = {dlfin_predict_proba, 0, 1, true, false};
const DlfRowForm dlfin_row_explain = {dlfin_explain, 0, 1, false, false};
const DlfRowForm dlfin_row_explain_name = {dlfin_explain, 0, 1, true, false};
const DlfRowForm dlfin_row_reasons = {dlfin_reasons, 0, 2, false, false};
const DlfRowForm dlfin_row_reasons_name = {dlfin_reasons, 0, 2, true, false};
const DlfRowForm dlfin_row_drift = {dlfin_drift_sfunc, 1, 2, false, true};
