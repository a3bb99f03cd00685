/*
 * bench_score.c
 *	  Scoring benchmark of the core (not run by make unittest): trains a
 *	  small model on 8 numeric features, then scores rows one at a time
 *	  with dlf_scorer_run_numeric, as dlfin_predict does, and prints the
 *	  nanoseconds per row; then the one-row kernel alone, with each row
 *	  waiting for the previous one (its latency) and without (its
 *	  throughput).
 *
 *	  gcc -std=gnu11 -O3 -fno-math-errno -pthread -Isrc/core \
 *		  -o /tmp/bench_score test/unit/bench_score.c \
 *		  src/core/[a-z]*.c -lm && /tmp/bench_score [rows] [hidden] [reps]
 *
 *	  hidden is a comma-separated list (default 32,16).  The rows scored
 *	  are distinct (a table of 4096 rows cycled), and every score is
 *	  added up as sum(dlfin_predict(...)) would.
 */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NF		8
#define NTABLE	4096

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Uniform double in [0, 1) from the core's PRNG. */
static double
unif(DlfRng *r)
{
	return (dlf_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Compares doubles for qsort. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	int64_t		rows = argc > 1 ? atoll(argv[1]) : 1000000;
	const char *hidden = argc > 2 ? argv[2] : "32,16";
	int			reps = argc > 3 ? atoi(argv[3]) : 7;
	int64_t		ntrain = 20000;
	DlfDataset	d;
	DlfModel   *m = dlf_model_new();
	DlfTrainOptions o;
	DlfError	err;
	DlfScorer  *s;
	DlfRng		rng;
	double	   *table;
	double	   *times;
	double		sum = 0.0;

	dlf_train_options_default(&o);
	o.nhidden = 0;
	for (const char *p = hidden; *p;)
	{
		o.hidden[o.nhidden++] = (int32_t) strtol(p, (char **) &p, 10);
		if (*p == ',')
			p++;
	}
	o.epochs = 2;
	o.batch_size = 256;
	o.validation_fraction = 0.0;
	o.nthreads = 1;

	m->task = DLF_TASK_BINARY;
	m->nclasses = 2;
	m->classes = dlf_alloc_array(2, sizeof(char *));
	m->classes[0] = dlf_strndup("f", 1);
	m->classes[1] = dlf_strndup("t", 1);
	m->nfeatures = NF;
	m->features = dlf_alloc_array(NF, sizeof(DlfFeature));
	memset(&d, 0, sizeof(d));
	d.nrows = ntrain;
	d.nfeatures = NF;
	d.num = calloc(NF, sizeof(float *));
	d.cat = calloc(NF, sizeof(int32_t *));
	d.label = malloc(sizeof(double) * ntrain);
	for (int f = 0; f < NF; f++)
	{
		char		name[8];

		snprintf(name, sizeof(name), "x%d", f);
		m->features[f].name = dlf_strndup(name, strlen(name));
		m->features[f].kind = DLF_FEAT_NUMERIC;
		m->features[f].sqltype = DLF_SQL_NUMBER;
		d.num[f] = malloc(sizeof(float) * ntrain);
	}
	dlf_rng_seed(&rng, 7);
	for (int64_t i = 0; i < ntrain; i++)
	{
		double		t = 0.0;

		for (int f = 0; f < NF; f++)
		{
			double		x = unif(&rng) * (f + 1) * 10.0;

			d.num[f][i] = (float) x;
			t += (f % 2 ? 1.0 : -1.0) * x / ((f + 1) * 10.0);
		}
		d.label[i] = t > 0.0;
	}
	if (dlf_train(m, &d, &o, NULL, &err) != DLF_OK)
	{
		fprintf(stderr, "training failed: %s\n", err.message);
		return 1;
	}
	s = dlf_scorer_new(m, &err);
	table = malloc(sizeof(double) * NF * NTABLE);
	for (int i = 0; i < NF * NTABLE; i++)
		table[i] = unif(&rng) * ((i % NF) + 1) * 10.0;
	times = malloc(sizeof(double) * reps);
	for (int r = 0; r < reps; r++)
	{
		double		t0 = now();

		for (int64_t i = 0; i < rows; i++)
		{
			double		p;

			dlf_scorer_run_numeric(s, table + (i % NTABLE) * NF, &p);
			sum += p;
		}
		times[r] = (now() - t0) * 1e9 / rows;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	printf("hidden [%s]: %.1f ns per row (median of %d, min %.1f)  [sum %.6f]\n",
		   hidden, times[reps / 2], reps, times[0], sum);
	{
		/* the kernel alone: latency (each row waits for the previous) */
		NnNet		net;
		float	   *act[DLF_MAX_HIDDEN + 1];
		int32_t		idx[NF];
		float		val[NF];

		memset(&net, 0, sizeof(net));
		net.nlayers = m->nlayers;
		net.activation = m->activation;
		for (int l = 0; l <= m->nlayers; l++)
			net.units[l] = m->units[l];
		for (int l = 0; l < m->nlayers; l++)
		{
			net.W[l] = m->weights[l];
			net.b[l] = m->biases[l];
			act[l] = calloc(m->units[l + 1] + 16, sizeof(float));
		}
		nn_row_plan(&net);
		for (int f = 0; f < NF; f++)
		{
			idx[f] = f;
			val[f] = 0.1f * (f + 1);
		}
		for (int r = 0; r < reps; r++)
		{
			double		t0 = now();

			for (int64_t i = 0; i < rows; i++)
			{
				nn_forward_row(&net, idx, val, NF, act);
				val[0] = 0.1f + act[m->nlayers - 1][0] * 1e-30f;
			}
			times[r] = (now() - t0) * 1e9 / rows;
		}
		qsort(times, reps, sizeof(double), cmp_double);
		printf("nn_forward_row alone, dependent rows: %.1f ns per row (median of %d, min %.1f)\n",
			   times[reps / 2], reps, times[0]);
		for (int r = 0; r < reps; r++)
		{
			double		t0 = now();

			for (int64_t i = 0; i < rows; i++)
				nn_forward_row(&net, idx, val, NF, act);
			times[r] = (now() - t0) * 1e9 / rows;
		}
		qsort(times, reps, sizeof(double), cmp_double);
		printf("nn_forward_row alone, independent rows: %.1f ns per row (median of %d, min %.1f)\n",
			   times[reps / 2], reps, times[0]);
		for (int l = 0; l < m->nlayers; l++)
			free(act[l]);
	}
	dlf_scorer_free(s);
	dlf_model_free(m);
	for (int f = 0; f < NF; f++)
		free(d.num[f]);
	free(d.num);
	free(d.cat);
	free(d.label);
	free(table);
	free(times);
	return 0;
}
