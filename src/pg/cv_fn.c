/*
 * cv_fn.c
 *	  dlfin_cv: the aggregate that cross-validates a training with the
 *	  given options and returns the per-fold and mean +- sd metrics as
 *	  jsonb, without keeping a model.  It shares dlfin_train's transition,
 *	  combine, serial and deserial functions (the same row buffer); only
 *	  the final function differs.  The work is the core's dlf_cv_evaluate.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "train_state.h"

PG_FUNCTION_INFO_V1(dlfin_cv_final);

/* Final function: k-fold CV of the buffered rows, as jsonb. */
Datum
dlfin_cv_final(PG_FUNCTION_ARGS)
{
	TrainState *st;
	DlfTrainSpec spec;
	DlfModel   *m;
	DlfDataset	data;
	DlfTrainHooks hooks;
	DlfError	err;
	char	   *json = NULL;
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (TrainState *) PG_GETARG_POINTER(0);
	train_state_check_owned(st);
	if (st->nrows == 0)
		PG_RETURN_NULL();
	m = dlfin_train_prepare(st, &spec, &data, &hooks);
	hooks.epoch_done = NULL;	/* folds report no epochs */
	if (dlf_cv_evaluate(m, &data, &spec.opt, &hooks, &json, &err) != DLF_OK)
	{
		dlf_model_free(m);
		dlfin_report_core_error(&err);
	}
	dlf_model_free(m);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	dlf_free(json);
	PG_RETURN_DATUM(result);
}
