/*
 * errors.c
 *	  Mapping of core failures to PostgreSQL errors.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "dlfin_pg.h"

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
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", err->message[0] ? err->message : "dlfin core error"),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 err->code == DLF_ERR_NOMEM ?
			 errhint("Raise dlfin.max_training_memory or work_mem, or train on fewer rows.") : 0));
}

/* Interrupt callback for the core: true when a cancel or termination is pending. */
int
dlfin_interrupt_pending(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}
