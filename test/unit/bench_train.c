/*
 * bench_train.c
 *	  Training benchmark of the core (not run by make unittest):
 *	  1,000,000 rows x 8 numeric features, binary label from a nonlinear
 *	  function, hidden [32,16], batch 256, 10 epochs, no validation.
 *
 *	  gcc -std=gnu11 -O3 -fno-math-errno -pthread -Isrc/core \
 *		  -o /tmp/bench_train test/unit/bench_train.c \
 *		  src/core/[a-z]*.c -lm && /tmp/bench_train [rows] [threads] [hidden] [epochs]
 *
 *	  hidden is a comma-separated list (default 32,16).  Prints the training
 *	  throughput in GFLOP/s: per row and epoch, 2 flops per multiply-add of
 *	  the forward pass, twice that for the backward pass (weight and input
 *	  gradients), no input gradient for the first layer; then a hash of the
 *	  trained weights' bits, to check that a kernel change keeps them.
 */
#include "dlfin_core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* FNV-1a hash of the trained network's weights and biases, as bits. */
static uint64_t
weights_hash(const DlfModel *m)
{
	uint64_t	h = 1469598103934665603ULL;

	for (int32_t l = 0; l < m->nlayers; l++)
	{
		size_t		nw = (size_t) m->units[l] * m->units[l + 1];
		const unsigned char *p[2] = {(const unsigned char *) m->weights[l],
		(const unsigned char *) m->biases[l]};
		size_t		n[2] = {nw * sizeof(float), m->units[l + 1] * sizeof(float)};

		for (int i = 0; i < 2; i++)
			for (size_t k = 0; k < n[i]; k++)
				h = (h ^ p[i][k]) * 1099511628211ULL;
	}
	return h;
}

/* Prints each epoch's progress. */
static void
on_epoch(void *arg, const DlfEpochReport *r)
{
	printf("epoch %2d  loss %.5f  %.2fs\n", r->epoch, r->train_loss, r->seconds);
}

int
main(int argc, char **argv)
{
	int64_t		n = argc > 1 ? atoll(argv[1]) : 1000000;
	int			threads = argc > 2 ? atoi(argv[2]) : 1;
	const char *hidden = argc > 3 ? argv[3] : "32,16";
	int			epochs = argc > 4 ? atoi(argv[4]) : 10;
	int			nf = 8;
	double		flops = 0.0;
	double		secs;
	DlfModel   *m = dlf_model_new();
	DlfDataset	d;
	DlfTrainOptions o;
	DlfTrainHooks h = {NULL, on_epoch, NULL};
	DlfError	err;
	DlfRng		r;
	double		t0;
	DlfStatus	st;

	m->task = DLF_TASK_BINARY;
	m->nclasses = 2;
	m->classes = dlf_alloc_array(2, sizeof(char *));
	m->classes[0] = dlf_strndup("f", 1);
	m->classes[1] = dlf_strndup("t", 1);
	m->nfeatures = nf;
	m->features = dlf_alloc_array(nf, sizeof(DlfFeature));
	memset(&d, 0, sizeof(d));
	d.nrows = n;
	d.nfeatures = nf;
	d.num = calloc(nf, sizeof(float *));
	d.cat = calloc(nf, sizeof(int32_t *));
	d.label = malloc(sizeof(double) * n);
	for (int f = 0; f < nf; f++)
	{
		char		name[8];

		snprintf(name, sizeof(name), "x%d", f);
		m->features[f].name = dlf_strndup(name, strlen(name));
		m->features[f].kind = DLF_FEAT_NUMERIC;
		m->features[f].sqltype = DLF_SQL_NUMBER;
		d.num[f] = malloc(sizeof(float) * n);
	}
	dlf_rng_seed(&r, 1);
	for (int64_t i = 0; i < n; i++)
	{
		double		x[8],
					s;

		for (int f = 0; f < nf; f++)
			d.num[f][i] = (float) (x[f] = dlf_rng_normal(&r));
		s = x[0] * x[1] + sin(x[2]) - x[3] * x[3] + 0.5 * x[4] + 0.3 * dlf_rng_normal(&r) + 0.6;
		d.label[i] = s > 0;
	}
	dlf_train_options_default(&o);
	o.batch_size = 256;
	o.epochs = epochs;
	o.nhidden = 0;
	for (const char *p = hidden; *p;)
	{
		o.hidden[o.nhidden++] = atoi(p);
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	{
		int			prev = nf;

		for (int l = 0; l <= o.nhidden; l++)
		{
			int			u = l < o.nhidden ? o.hidden[l] : 1;

			flops += (l == 0 ? 4.0 : 6.0) * prev * u;
			prev = u;
		}
		flops *= (double) n * epochs;
	}
	o.validation_fraction = 0;
	o.nthreads = threads;
	t0 = now();
	st = dlf_train(m, &d, &o, &h, &err);
	secs = now() - t0;
	printf("status %d %s: %lld rows, %d threads, hidden [%s], %.3f s, %.2f GFLOP/s\n",
		   st, st ? err.message : "ok", (long long) n, threads, hidden, secs,
		   flops / secs * 1e-9);
	if (st == DLF_OK)
		printf("weights hash %016llx\n", (unsigned long long) weights_hash(m));
	dlf_model_free(m);
	for (int f = 0; f < nf; f++)
		free(d.num[f]);
	free(d.num);
	free(d.cat);
	free(d.label);
	return st != DLF_OK;
}
