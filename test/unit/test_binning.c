/*
 * test_binning.c
 *	  Unit tests of the WoE binning (src/core/binning.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "binning.h"
#include "tap.h"

/* Default options. */
static DlfBinOptions
defaults(void)
{
	DlfBinOptions o = {0.05, 10, 20, DLF_MONO_AUTO};

	return o;
}

/* A risk falling with x: event when a hash of i is below 0.6 - x/2000. */
static void
test_numeric(void)
{
	int64_t		n = 1000;
	double	   *x = malloc(sizeof(double) * n);
	unsigned char *y = malloc(n);
	DlfBinOptions o = defaults();
	DlfBinning	b;
	DlfError	err = {0};
	int64_t		total = 0;
	double		iv = 0;
	int			mono = 1;

	for (int64_t i = 0; i < n; i++)
	{
		x[i] = (double) ((i * 7919) % 1000);
		y[i] = ((i * 2654435761u) % 1000) / 1000.0 < 0.6 - x[i] / 2000.0;
	}
	ok(dlf_bin_numeric(x, y, n, 50, 30, &o, &b, &err) == DLF_OK, "a numeric feature is binned");
	ok(b.nbins >= 2 && b.nbins <= 10, "into 2 to max_bins bins (%d)", b.nbins);
	ok(b.direction == -1, "the event rate falls with x");
	for (int i = 0; i < b.nbins; i++)
	{
		total += b.bins[i].n;
		iv += b.bins[i].iv;
		if (i > 0 && (double) b.bins[i].events / b.bins[i].n >= (double) b.bins[i - 1].events / b.bins[i - 1].n)
			mono = 0;
		if (b.bins[i].n < 53)
			mono = 0;			/* min_share 0.05 of 1050 rows */
	}
	ok(mono, "monotone and at least min_share per bin");
	ok(total == n && b.missing.n == 50 && b.missing.events == 30, "every row in a bin, NULLs apart");
	is_near(iv + b.missing.iv, b.iv, 1e-12, "the total IV is the sum of the bins'");
	ok(isinf(b.bins[0].lower) && isinf(b.bins[b.nbins - 1].upper), "the ends are open");
	free(x);
	free(y);
}

/* Errors: one class, a constant feature, bad options. */
static void
test_errors(void)
{
	double		x[4] = {1, 2, 3, 4};
	double		c[4] = {5, 5, 5, 5};
	unsigned char y1[4] = {1, 1, 1, 1};
	unsigned char y[4] = {0, 1, 0, 1};
	DlfBinOptions o = defaults();
	DlfBinning	b;
	DlfError	err = {0};

	ok(dlf_bin_numeric(x, y1, 4, 0, 0, &o, &b, &err) == DLF_ERR_DATA, "one class is DLF_ERR_DATA");
	ok(dlf_bin_numeric(c, y, 4, 0, 0, &o, &b, &err) == DLF_ERR_INVALID, "a constant feature is DLF_ERR_INVALID");
	o.max_bins = 1;
	ok(dlf_bin_numeric(x, y, 4, 0, 0, &o, &b, &err) == DLF_ERR_INVALID, "max_bins 1 is DLF_ERR_INVALID");
}

/* Categories are grouped by event rate; a pure category is smoothed. */
static void
test_categorical(void)
{
	int64_t		n[4] = {400, 300, 200, 100};
	int64_t		ev[4] = {40, 150, 20, 100};
	int			order[4];
	DlfBinOptions o = defaults();
	DlfBinning	b;
	DlfError	err = {0};

	ok(dlf_bin_categorical(n, ev, 4, 0, 0, &o, order, &b, &err) == DLF_OK, "categories are grouped");
	ok(order[b.bins[b.nbins - 1].first + b.bins[b.nbins - 1].ncats - 1] == 3,
	   "the riskiest category comes last");
	ok(b.smoothed, "a category without non-events is smoothed");
	ok(isfinite(b.iv) && b.iv > 0, "the IV is finite");
	ok(strcmp(dlf_iv_strength(0.01), "useless") == 0 && strcmp(dlf_iv_strength(0.6), "suspicious") == 0,
	   "IV bands");
}

int
main(void)
{
	test_numeric();
	test_errors();
	test_categorical();
	return done_testing();
}
