/*
 * errors.c
 *	  Mapping of core failures and interrupts to PostgreSQL.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "dlfin_pg.h"
#include "dlfin_metrics.h"

/* Raises the core error as an ereport(ERROR) with the matching SQLSTATE. */
void
dlfin_report_core_error(const DlfError *err)
{
	int			code;

	switch (err->code)
	{
		case DLF_ERR_NOMEM:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case DLF_ERR_INTERRUPTED:
			/* the interrupt is pending: let PostgreSQL raise it */
			CHECK_FOR_INTERRUPTS();
			code = ERRCODE_QUERY_CANCELED;
			break;
		case DLF_ERR_CORRUPT:
			code = ERRCODE_INVALID_BINARY_REPRESENTATION;
			break;
		case DLF_ERR_INVALID:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case DLF_ERR_LIMIT:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case DLF_ERR_DATA:
			code = ERRCODE_DATA_EXCEPTION;
			break;
		case DLF_ERR_RANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", err->message[0] ? err->message : "dlfin core error"),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 err->hint[0] ? errhint("%s", err->hint) :
			 err->code == DLF_ERR_NOMEM ?
			 errhint("Raise dlfin.max_training_memory or work_mem, or train on fewer rows.") :
			 err->code == DLF_ERR_RANGE ?
			 errhint("Check the row's feature values against the training data (dlfin_model_info lists the features' means and scales).") : 0));
}

/* Interrupt callback for the core: true when a cancel or termination is pending. */
int
dlfin_interrupt_pending(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

/*
 * Sorts scores ascending in place, answering a cancel request while it
 * works (a million scores take about 0.1 s; the exact metrics may sort a
 * gigabyte of them).
 */
void
dlfin_sort_scores(double *v, int64 n)
{
	if (dlf_sort_doubles_until(v, n, dlfin_interrupt_pending, NULL))
	{
		CHECK_FOR_INTERRUPTS();
		/* interrupts are held off: finish */
		dlf_sort_doubles(v, n);
	}
}
