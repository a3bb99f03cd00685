/*
 * pg_compat.h
 *	  What differs between the PostgreSQL major versions dlfin supports.
 *
 * dlfin builds from the same source against PostgreSQL 15 and 17, and
 * scripts/test runs the whole suite on both.  Every PG_VERSION_NUM test of
 * the glue belongs here, as a macro or inline function named after the
 * newer API, so that the rest of the glue is written once.  Today there is
 * none to make: nothing the glue uses changed between 15 and 17 (both build
 * without a warning).
 */
#ifndef DLFIN_PG_COMPAT_H
#define DLFIN_PG_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "dlfin needs PostgreSQL 15 or later"
#endif

#endif							/* DLFIN_PG_COMPAT_H */
