/*
 * test_std_row.c
 *	  Unit tests of dlf_std_row (src/core/std_row.h), the standardisation of
 *	  an all-numeric row that dlfin_predict reads in place: the bits of
 *	  dlf_std_finite in both lanes and the tail, NULLs, and the first bad
 *	  value's index.
 */
#include "std_row.h"
#include "tap.h"

#include <stdbool.h>
#include <string.h>

/* A value and its NULL flag, laid out as PostgreSQL's NullableDatum. */
typedef struct
{
	double		value;
	bool		isnull;
} Arg;

#define NMAX 9

static double mean[NMAX] = {0.5, -3.0, 1e6, 0.0, 7.25, -0.125, 42.0, 1e-3, 3.0};
static double inv_scale[NMAX] = {2.0, 0.1, 1e-6, 1.0, 0.37, 8.0, 1.0 / 3.0, 1e3, 0.9};

/* Runs dlf_std_row over args[0..n) into out (filled with a marker first). */
static int32_t
run(const Arg *args, int32_t n, float *out)
{
	for (int i = 0; i < NMAX; i++)
		out[i] = -99.0f;
	return dlf_std_row(&args[0].value, &args[0].isnull, sizeof(Arg),
					   mean, inv_scale, out, n);
}

/* True when out[0..n) has the bits of dlf_std_finite (0 for a NULL). */
static bool
same_bits(const Arg *args, int32_t n, const float *out)
{
	for (int32_t f = 0; f < n; f++)
	{
		float		want = args[f].isnull ? 0.0f :
			dlf_std_finite((float) args[f].value, mean[f], inv_scale[f]);

		if (memcmp(&want, &out[f], sizeof(float)) != 0)
			return false;
	}
	return true;
}

/* Every length, lanes and tail: the scalar function's bits. */
static void
test_bits(void)
{
	Arg			args[NMAX];
	float		out[NMAX];

	for (int i = 0; i < NMAX; i++)
		args[i] = (Arg) {0.1 * (i + 1) * (i % 2 ? -1 : 1) + 1e-9 * i, false};
	args[2].value = 123456789.123456789;	/* rounds to float32 first */
	args[5].value = -2.9e38;
	for (int32_t n = 1; n <= NMAX; n++)
	{
		int32_t		r = run(args, n, out);

		ok(r == n && same_bits(args, n, out),
		   "%d values: all accepted, dlf_std_finite's bits", n);
	}
}

/* NULLs anywhere are the mean (0) and do not stop the row. */
static void
test_nulls(void)
{
	Arg			args[NMAX];
	float		out[NMAX];

	for (int null = 0; null < NMAX; null++)
	{
		for (int i = 0; i < NMAX; i++)
			args[i] = (Arg) {1.5 * i - 2.0, i == null || i == (null + 3) % NMAX};
		args[null].value = NAN;	/* a NULL's value is never read as one */
		ok(run(args, NMAX, out) == NMAX && same_bits(args, NMAX, out),
		   "NULLs at %d and %d give 0, the rest their bits", null, (null + 3) % NMAX);
	}
}

/* The first NaN, infinity or value beyond the limit is reported by index. */
static void
test_bad(void)
{
	Arg			args[NMAX];
	float		out[NMAX];
	double		bad[] = {NAN, INFINITY, -INFINITY, 3.1e38, -3.0000001e38};

	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++)
		for (int at = 0; at < NMAX; at++)
		{
			int32_t		r;

			for (int i = 0; i < NMAX; i++)
				args[i] = (Arg) {0.25 * i, false};
			args[at].value = bad[b];
			/* a later bad value is not the one reported */
			if (at + 2 < NMAX)
				args[at + 2].value = NAN;
			r = run(args, NMAX, out);
			ok(r == at && same_bits(args, at, out),
			   "bad value %g at %d: reported there, the values before it standardised",
			   bad[b], at);
		}
	for (int i = 0; i < NMAX; i++)
		args[i] = (Arg) {i % 2 ? DLF_FLOAT4_LIMIT : -DLF_FLOAT4_LIMIT, false};
	ok(run(args, NMAX, out) == NMAX && same_bits(args, NMAX, out),
	   "values of exactly the limit are accepted");
}

int
main(void)
{
	test_bits();
	test_nulls();
	test_bad();
	return done_testing();
}
