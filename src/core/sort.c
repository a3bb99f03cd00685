/*
 * sort.c
 *	  In-place introsort of doubles with no allocation, optionally
 *	  stoppable: the canonical order of scores every metric starts from.
 */
#include "dlfin_core.h"
#include "dlfin_metrics.h"

#include <math.h>
#include <string.h>

/* ---- sorting: in-place introsort, no allocation ---- */

/* Restores the max-heap property below node i of v[0..n). */
static void
sift_down(double *v, int64_t i, int64_t n)
{
	for (;;)
	{
		int64_t		c = 2 * i + 1;
		double		t;

		if (c >= n)
			return;
		if (c + 1 < n && v[c + 1] > v[c])
			c++;
		if (!(v[c] > v[i]))
			return;
		t = v[c];
		v[c] = v[i];
		v[i] = t;
		i = c;
	}
}

/* Heap sort, the fallback when quicksort recurses too deep. */
static void
heap_sort(double *v, int64_t n)
{
	for (int64_t i = n / 2 - 1; i >= 0; i--)
		sift_down(v, i, n);
	for (int64_t e = n - 1; e > 0; e--)
	{
		double		t = v[0];

		v[0] = v[e];
		v[e] = t;
		sift_down(v, 0, e);
	}
}

/* Insertion sort for short ranges. */
static void
insertion_sort(double *v, int64_t n)
{
	for (int64_t i = 1; i < n; i++)
	{
		double		x = v[i];
		int64_t		j = i - 1;

		while (j >= 0 && v[j] > x)
		{
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
}

/*
 * Who asks a long sort to stop: stop(arg) is called after about every
 * SORT_CHECK_EVERY elements partitioned; once it returns nonzero the sort
 * gives up, leaving a permutation of the input.
 */
typedef struct SortStop
{
	int			(*stop) (void *arg);
	void	   *arg;
	int64_t		work;			/* elements partitioned since the last call */
	int			stopped;
} SortStop;

#define SORT_CHECK_EVERY	(1 << 20)

/* Counts partitioning work; true when the sort must stop. */
static int
sort_should_stop(SortStop *ss, int64_t n)
{
	if (ss->stopped)
		return 1;
	if (ss->stop == NULL)
		return 0;
	ss->work += n;
	if (ss->work >= SORT_CHECK_EVERY)
	{
		ss->work = 0;
		ss->stopped = ss->stop(ss->arg) != 0;
	}
	return ss->stopped;
}

/* Quicksort with median-of-three pivots and a depth limit. */
static void
intro_sort(double *v, int64_t n, int depth, SortStop *ss)
{
	while (n > 24)
	{
		double		a,
					b,
					c,
					pivot;
		int64_t		i,
					j;

		if (sort_should_stop(ss, n))
			return;
		if (depth-- == 0)
		{
			heap_sort(v, n);
			return;
		}
		a = v[0];
		b = v[n / 2];
		c = v[n - 1];
		pivot = (a < b) ? ((b < c) ? b : (a < c ? c : a))
			: ((a < c) ? a : (b < c ? c : b));
		/* Hoare partition: equal keys split evenly, so ties cost nothing */
		i = -1;
		j = n;
		for (;;)
		{
			double		t;

			do
				i++;
			while (v[i] < pivot);
			do
				j--;
			while (v[j] > pivot);
			if (i >= j)
				break;
			t = v[i];
			v[i] = v[j];
			v[j] = t;
		}
		/* recurse into the smaller part, loop on the larger */
		if (j + 1 < n - (j + 1))
		{
			intro_sort(v, j + 1, depth, ss);
			v += j + 1;
			n -= j + 1;
		}
		else
		{
			intro_sort(v + j + 1, n - (j + 1), depth, ss);
			n = j + 1;
		}
	}
	insertion_sort(v, n);
}

/*
 * Sorts doubles ascending in place (the input must not contain NaN), unless
 * stop (may be NULL) asks to stop first: then returns nonzero, leaving a
 * permutation of the input, which a later call sorts.  Sorted input costs
 * one pass.
 */
int
dlf_sort_doubles_until(double *v, int64_t n, int (*stop) (void *arg),
					   void *arg)
{
	int			depth = 0;
	SortStop	ss = {stop, arg, 0, 0};
	int64_t		i = 1;

	while (i < n && !(v[i] < v[i - 1]))
		i++;
	if (i >= n)
		return 0;
	for (int64_t m = n; m > 1; m >>= 1)
		depth += 2;
	intro_sort(v, n, depth, &ss);
	return ss.stopped;
}

/* Sorts doubles ascending in place; the input must not contain NaN. */
void
dlf_sort_doubles(double *v, int64_t n)
{
	dlf_sort_doubles_until(v, n, NULL, NULL);
}
