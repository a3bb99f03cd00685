/*
 * sigmoid_bits.c: how many scores a CPU without FMA computes differently.
 *
 * dlfin's probability is 1 / (1 + exp(-z)) in double precision, with the C
 * library's exp; glibc picks an FMA or a plain variant of exp when it
 * loads, by CPU.  This program scores the float logits z with
 * 2^-7 <= |z| < 8 (every 16th block of 65,536 consecutive floats, 10.5M
 * logits): "dump FILE" writes the scores, "compare FILE" scores again and
 * counts those that differ from FILE's, with the largest difference in
 * units in the last place.  test/bench/sigmoid_bits.sh runs it under both
 * of glibc's variants.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls fn on the score of every sampled logit, in a fixed order. */
static void
each_score(void (*fn) (double p, void *arg), void *arg)
{
	for (uint32_t sign = 0; sign < 2; sign++)
		for (uint32_t block = 0x3c00; block < 0x4100; block += 16)
			for (uint32_t i = 0; i < 65536; i++)
			{
				uint32_t	bits = ((block | (sign ? 0x8000 : 0)) << 16) | i;
				float		z;

				memcpy(&z, &bits, sizeof(z));
				fn(1.0 / (1.0 + exp(-(double) z)), arg);
			}
}

/* Writes one score to the dump file. */
static void
dump_one(double p, void *arg)
{
	fwrite(&p, sizeof(p), 1, (FILE *) arg);
}

typedef struct Tally
{
	FILE	   *in;
	uint64_t	n;
	uint64_t	differ;
	int64_t		max_ulp;
} Tally;

/* Compares one score with the dump's. */
static void
compare_one(double p, void *arg)
{
	Tally	   *t = arg;
	double		q;
	int64_t		a,
				b,
				d;

	if (fread(&q, sizeof(q), 1, t->in) != 1)
	{
		fprintf(stderr, "sigmoid_bits: dump too short\n");
		exit(2);
	}
	memcpy(&a, &p, sizeof(a));
	memcpy(&b, &q, sizeof(b));
	d = a > b ? a - b : b - a;	/* scores are positive: ulps apart */
	t->n++;
	if (d != 0)
		t->differ++;
	if (d > t->max_ulp)
		t->max_ulp = d;
}

int
main(int argc, char **argv)
{
	FILE	   *f;

	if (argc != 3 || (strcmp(argv[1], "dump") != 0 && strcmp(argv[1], "compare") != 0))
	{
		fprintf(stderr, "usage: sigmoid_bits dump|compare FILE\n");
		return 2;
	}
	f = fopen(argv[2], argv[1][0] == 'd' ? "wb" : "rb");
	if (f == NULL)
	{
		perror(argv[2]);
		return 2;
	}
	if (argv[1][0] == 'd')
		each_score(dump_one, f);
	else
	{
		Tally		t = {f, 0, 0, 0};

		each_score(compare_one, &t);
		printf("%llu of %llu scores differ (%.4f %%), by at most %lld ulp\n",
			   (unsigned long long) t.differ, (unsigned long long) t.n,
			   100.0 * (double) t.differ / (double) t.n, (long long) t.max_ulp);
	}
	return fclose(f) == 0 ? 0 : 1;
}
