/*
 * dlfin_pg.h
 *	  Declarations shared by the PostgreSQL glue files.
 */
#ifndef DLFIN_PG_H
#define DLFIN_PG_H

#include "dlfin_core.h"

extern int	dlfin_max_training_memory;	/* kB */
extern int	dlfin_threads;

/* Raises the core error as an ereport(ERROR) with the matching SQLSTATE. */
extern void dlfin_report_core_error(const DlfError *err) pg_attribute_noreturn();

#endif
