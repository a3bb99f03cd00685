/*
 * pool.h
 *	  A small fixed-size thread pool for the training loop (internal).
 *
 * The pool lives for one dlf_train() call: dlf_pool_start() creates
 * nthreads - 1 worker threads, dlf_pool_run() runs one job on every thread
 * (the caller is thread 0) and returns when all have finished, and
 * dlf_pool_stop() joins the workers.  Between jobs the workers wait on a
 * barrier that spins briefly and then sleeps on a futex, so a dispatch costs
 * well under a microsecond when jobs follow each other closely.  Workers
 * block every signal: signal handlers of the host (PostgreSQL) only ever
 * run on the calling thread.  Workers never allocate and never call back
 * into the caller.
 */
#ifndef DLFIN_POOL_H
#define DLFIN_POOL_H

#include "dlfin_core.h"

/* A job: runs once on each thread, `self' in [0, nthreads). */
typedef void (*DlfPoolJob) (void *arg, int self, int nthreads);

typedef struct DlfPool DlfPool;

/* Number of online CPUs, at least 1. */
int			dlf_online_cpus(void);

/*
 * Creates a pool of nthreads (the caller included).  Fails with
 * DLF_ERR_NOMEM when a thread cannot be created; nthreads 1 creates none.
 */
DlfStatus	dlf_pool_start(DlfPool **pool, int nthreads, DlfError *err);

/* Runs job(arg, self, n) on every thread and waits for all of them. */
void		dlf_pool_run(DlfPool *pool, DlfPoolJob job, void *arg);

/*
 * Inside a job: waits until every thread of the pool has called it (the
 * same number of times).  No-op for a pool of one thread or NULL.
 */
void		dlf_pool_barrier(DlfPool *pool);

/* Number of threads of the pool (1 for NULL). */
int			dlf_pool_size(const DlfPool *pool);

/* Stops and joins the workers and frees the pool; NULL is fine. */
void		dlf_pool_stop(DlfPool *pool);

#endif							/* DLFIN_POOL_H */
