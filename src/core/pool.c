/*
 * pool.c
 *	  Thread pool with a spin-then-futex barrier; see pool.h.
 */
#include "pool.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#else
#include <sched.h>
#endif

#define POOL_MAX_THREADS	1024
/* pause iterations before a waiter sleeps (tens of microseconds) */
#define SPIN_LIMIT			2000

/*
 * Reusable barrier.  A thread reads the generation before it arrives; the
 * last of n arrivals resets the count and bumps the generation, which
 * releases the others.  Everything is sequentially consistent, so a waiter
 * that registers as a sleeper either sees the new generation or is seen by
 * the releaser (which then wakes it).
 */
typedef struct Barrier
{
	atomic_uint count;
	atomic_uint gen;
	atomic_uint sleepers;
	unsigned	n;
} Barrier;

struct DlfPool
{
	int			nthreads;
	int			started;		/* worker threads created */
	Barrier		go;				/* a job (or stop) is ready */
	Barrier		done;			/* every thread finished the job */
	Barrier		sync;			/* dlf_pool_barrier() inside a job */
	DlfPoolJob	job;			/* NULL: stop */
	void	   *arg;
	pthread_t	tid[POOL_MAX_THREADS];
	int			self[POOL_MAX_THREADS];
	DlfPool    *me[POOL_MAX_THREADS];
};

/* CPU hint inside spin loops. */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Sleeps while *addr == val (spurious wake-ups are fine). */
static void
futex_wait(atomic_uint *addr, unsigned val)
{
#ifdef __linux__
	syscall(SYS_futex, (unsigned *) addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
	(void) addr;
	(void) val;
	sched_yield();
#endif
}

/* Wakes every thread sleeping on addr. */
static void
futex_wake_all(atomic_uint *addr)
{
#ifdef __linux__
	syscall(SYS_futex, (unsigned *) addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
	(void) addr;
#endif
}

/* Waits until all n threads have arrived. */
static void
barrier_wait(Barrier *b)
{
	unsigned	g = atomic_load(&b->gen);

	if (atomic_fetch_add(&b->count, 1) + 1 == b->n)
	{
		atomic_store(&b->count, 0);
		atomic_store(&b->gen, g + 1);
		if (atomic_load(&b->sleepers) > 0)
			futex_wake_all(&b->gen);
		return;
	}
	for (int i = 0; i < SPIN_LIMIT; i++)
	{
		if (atomic_load_explicit(&b->gen, memory_order_acquire) != g)
			return;
		cpu_relax();
	}
	atomic_fetch_add(&b->sleepers, 1);
	while (atomic_load(&b->gen) == g)
		futex_wait(&b->gen, g);
	atomic_fetch_sub(&b->sleepers, 1);
}

/* Initialises a barrier for n threads. */
static void
barrier_init(Barrier *b, unsigned n)
{
	atomic_init(&b->count, 0);
	atomic_init(&b->gen, 0);
	atomic_init(&b->sleepers, 0);
	b->n = n;
}

/* Worker thread: waits for jobs until the job is NULL. */
static void *
worker_main(void *p)
{
	DlfPool    *pool = *(DlfPool **) p;
	/* p points into pool->me[]; its index is the thread number */
	int			self = pool->self[(DlfPool **) p - pool->me];

	for (;;)
	{
		barrier_wait(&pool->go);
		if (pool->job == NULL)
			break;
		pool->job(pool->arg, self, pool->nthreads);
		barrier_wait(&pool->done);
	}
	return NULL;
}

/* Number of online CPUs, at least 1. */
int
dlf_online_cpus(void)
{
	long		n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int) n);
}

/* Creates the pool; see pool.h. */
DlfStatus
dlf_pool_start(DlfPool **pool, int nthreads, DlfError *err)
{
	DlfPool    *p;
	sigset_t	all,
				old;
	int			rc = 0;

	*pool = NULL;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > POOL_MAX_THREADS)
		nthreads = POOL_MAX_THREADS;
	p = dlf_alloc0(sizeof(DlfPool));
	if (p == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	p->nthreads = nthreads;
	barrier_init(&p->go, nthreads);
	barrier_init(&p->done, nthreads);
	barrier_init(&p->sync, nthreads);

	/* workers inherit the signal mask: block everything while creating */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int t = 1; t < nthreads; t++)
	{
		p->self[t] = t;
		p->me[t] = p;
		rc = pthread_create(&p->tid[t], NULL, worker_main, &p->me[t]);
		if (rc != 0)
			break;
		p->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
	{
		int			have = p->started + 1;

		/*
		 * Stop the workers we have: they wait on a barrier of nthreads, so
		 * arrive once for each thread that was never created.
		 */
		p->job = NULL;
		for (int t = have; t < nthreads; t++)
			atomic_fetch_add(&p->go.count, 1);
		barrier_wait(&p->go);
		for (int t = 1; t < have; t++)
			pthread_join(p->tid[t], NULL);
		dlf_free(p);
		return dlf_fail(err, DLF_ERR_NOMEM,
						"could not create training thread %d of %d",
						have, nthreads);
	}
	*pool = p;
	return DLF_OK;
}

/* Runs job on every thread, the caller as thread 0; see pool.h. */
void
dlf_pool_run(DlfPool *pool, DlfPoolJob job, void *arg)
{
	if (pool == NULL || pool->nthreads == 1)
	{
		job(arg, 0, 1);
		return;
	}
	pool->job = job;
	pool->arg = arg;
	barrier_wait(&pool->go);
	job(arg, 0, pool->nthreads);
	barrier_wait(&pool->done);
}

/* Barrier among the threads of a running job. */
void
dlf_pool_barrier(DlfPool *pool)
{
	if (pool != NULL && pool->nthreads > 1)
		barrier_wait(&pool->sync);
}

/* Number of threads. */
int
dlf_pool_size(const DlfPool *pool)
{
	return pool ? pool->nthreads : 1;
}

/* Joins the workers and frees the pool. */
void
dlf_pool_stop(DlfPool *pool)
{
	if (pool == NULL)
		return;
	if (pool->nthreads > 1)
	{
		pool->job = NULL;
		barrier_wait(&pool->go);
		for (int t = 1; t < pool->nthreads; t++)
			pthread_join(pool->tid[t], NULL);
	}
	dlf_free(pool);
}
