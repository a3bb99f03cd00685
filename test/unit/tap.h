/*
 * tap.h
 *	  A minimal TAP producer for the core's C unit tests (run by prove).
 */
#ifndef DLFIN_TAP_H
#define DLFIN_TAP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int	tap_n = 0;
static int	tap_failed = 0;

/* Records one test result with a description. */
#define ok(cond, ...) \
	do { \
		int tap_c_ = (cond) ? 1 : 0; \
		tap_n++; \
		if (!tap_c_) tap_failed++; \
		printf("%s %d - ", tap_c_ ? "ok" : "not ok", tap_n); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!tap_c_) printf("#   failed at %s:%d\n", __FILE__, __LINE__); \
	} while (0)

/* Passes when |a - b| <= tol (and neither is NaN). */
#define is_near(a, b, tol, ...) \
	do { \
		double tap_a_ = (a), tap_b_ = (b); \
		ok(fabs(tap_a_ - tap_b_) <= (tol), __VA_ARGS__); \
		if (!(fabs(tap_a_ - tap_b_) <= (tol))) \
			printf("#   got %.17g, expected %.17g\n", tap_a_, tap_b_); \
	} while (0)

/* Prints the plan and returns the exit status. */
static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
