/*
 * test_train_lanes.c
 *	  The training kernels at every vector width, bit for bit.
 *
 *	  nn.c runs its batch kernels' full tiles at 16 floats on AVX-512 CPUs
 *	  and at 8 and 4 floats (nn_train_lanes.h) on the others; a kernel
 *	  variant picks the width from the CPU, so on the CPU that runs this test
 *	  only one width would ever execute.  NnWork.lanes forces each width in
 *	  turn: the forward pass, the loss gradient and the backward pass of the
 *	  same batch must leave the same bits in every layer output, input
 *	  gradient and weight gradient, so a model trained on an AVX2 CPU is the
 *	  model trained here.  Shapes cover full and partial tiles, partial row
 *	  blocks, the wide [256, 256] path, no hidden layer and multiclass.
 */
#include "dlfin_core.h"
#include "nn_internal.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define MAXL	4

/* One case: layer sizes (units[0] inputs), activation, task, rows. */
typedef struct Case
{
	int			nlayers;
	int32_t		units[MAXL + 1];
	int			act;
	int			task;
	int32_t		rows;
} Case;

/* What one width computed: logits, first-layer input gradients, gradients. */
typedef struct Result
{
	float	   *act[MAXL];
	float	   *delta;
	float	   *gW[MAXL];
	float	   *gb[MAXL];
} Result;

/* A uniform float in [a, b). */
static float
unif(DlfRng *r, double a, double b)
{
	return (float) (a + (b - a) * dlf_rng_uniform(r));
}

/* Allocates the net's (or its gradient's) weights; random unless grad. */
static void
make_layers(NnNet *net, const Case *k, DlfRng *rng, int random)
{
	memset(net, 0, sizeof(*net));
	net->nlayers = k->nlayers;
	net->activation = k->act;
	memcpy(net->units, k->units, sizeof(int32_t) * (k->nlayers + 1));
	for (int l = 0; l < k->nlayers; l++)
	{
		size_t		nw = (size_t) k->units[l] * k->units[l + 1];

		net->W[l] = calloc(nw, sizeof(float));
		net->b[l] = calloc(k->units[l + 1], sizeof(float));
		for (size_t i = 0; random && i < nw; i++)
			net->W[l][i] = unif(rng, -0.6, 0.6);
		for (int32_t j = 0; random && j < k->units[l + 1]; j++)
			net->b[l][j] = unif(rng, -0.3, 0.3);
	}
}

/* Frees make_layers' buffers. */
static void
free_layers(NnNet *net)
{
	for (int l = 0; l < net->nlayers; l++)
	{
		free(net->W[l]);
		free(net->b[l]);
	}
}

/*
 * Fills the batch: per row a few ascending inputs (values with zeros,
 * negatives and one-hot 1.0s, as numeric and categorical features give),
 * a target and a weight.
 */
static void
fill_batch(NnBatch *bt, const Case *k, DlfRng *rng)
{
	int32_t		nin = k->units[0];
	int32_t		nout = k->units[k->nlayers];

	bt->rows = k->rows;
	for (int32_t r = 0; r < k->rows; r++)
	{
		int32_t    *ix = bt->idx + (size_t) r * bt->maxent;
		float	   *vx = bt->val + (size_t) r * bt->maxent;
		int32_t		nnz = 0;

		for (int32_t i = 0; i < nin && nnz < bt->maxent; i++)
		{
			if (dlf_rng_below(rng, 3) == 0)
				continue;
			ix[nnz] = i;
			switch (dlf_rng_below(rng, 4))
			{
				case 0:
					vx[nnz] = 0.0f;
					break;
				case 1:
					vx[nnz] = 1.0f;
					break;
				default:
					vx[nnz] = unif(rng, -2.5, 2.5);
			}
			nnz++;
		}
		bt->nnz[r] = nnz;
		bt->target[r] = k->task == DLF_TASK_MULTICLASS ?
			(float) dlf_rng_below(rng, nout) :
			k->task == DLF_TASK_BINARY ? (float) dlf_rng_below(rng, 2) :
			unif(rng, -1, 1);
		bt->weight[r] = unif(rng, 0.5, 2);
	}
}

/* Inverted-dropout masks (p = 0.25) for the hidden layers. */
static void
fill_masks(NnWork *w, const Case *k, DlfRng *rng)
{
	for (int l = 0; l + 1 < k->nlayers; l++)
		for (size_t i = 0; i < (size_t) k->rows * k->units[l + 1]; i++)
			w->mask[l][i] = dlf_rng_below(rng, 4) == 0 ? 0.0f : 1.0f / 0.75f;
}

/* Copies n floats into a new buffer. */
static float *
dup(const float *p, size_t n)
{
	float	   *q = malloc(n * sizeof(float));

	memcpy(q, p, n * sizeof(float));
	return q;
}

/* Runs one training step's kernels at the given width; keeps the results. */
static void
run_width(const NnNet *net, NnNet *grad, const NnBatch *bt, NnWork *w,
		  const Case *k, int lanes, int use_mask, Result *res)
{
	int32_t		L = k->nlayers;

	w->lanes = lanes;
	nn_forward(net, bt, w, use_mask);
	(void) nn_loss(k->task, net, bt, w, 1, (float) k->rows);
	nn_backward_wt(net, bt, w, use_mask, 0.01f, grad, NULL);
	for (int l = 0; l < L; l++)
	{
		res->act[l] = dup(w->act[l], (size_t) k->rows * k->units[l + 1]);
		res->gW[l] = dup(grad->W[l], (size_t) k->units[l] * k->units[l + 1]);
		res->gb[l] = dup(grad->b[l], k->units[l + 1]);
	}
	/* the last input gradient the backward pass computed (layer 1's) */
	res->delta = L > 1 ?
		dup(L % 2 ? w->delta : w->delta2, (size_t) k->rows * k->units[1]) :
		NULL;
}

/* Whether two widths' results have the same bits; names the first mismatch. */
static int
same_result(const Result *a, const Result *b, const Case *k, const char **what)
{
	for (int l = 0; l < k->nlayers; l++)
	{
		size_t		na = (size_t) k->rows * k->units[l + 1];
		size_t		nw = (size_t) k->units[l] * k->units[l + 1];

		*what = "layer output";
		if (memcmp(a->act[l], b->act[l], na * sizeof(float)) != 0)
			return 0;
		*what = "weight gradient";
		if (memcmp(a->gW[l], b->gW[l], nw * sizeof(float)) != 0)
			return 0;
		*what = "bias gradient";
		if (memcmp(a->gb[l], b->gb[l], k->units[l + 1] * sizeof(float)) != 0)
			return 0;
	}
	*what = "input gradient";
	return !a->delta ||
		memcmp(a->delta, b->delta,
			   (size_t) k->rows * k->units[1] * sizeof(float)) == 0;
}

/* Frees run_width's copies. */
static void
free_result(Result *res, const Case *k)
{
	for (int l = 0; l < k->nlayers; l++)
	{
		free(res->act[l]);
		free(res->gW[l]);
		free(res->gb[l]);
	}
	free(res->delta);
}

/* One case at widths 16, 8 and 4, with and without dropout masks. */
static void
check_case(const Case *k, uint64_t seed)
{
	static const int widths[] = {16, 8, 4};
	NnNet		net,
				grad;
	NnBatch		bt;
	NnWork		w;
	DlfRng		rng;
	DlfError	err;

	dlf_rng_seed(&rng, seed);
	make_layers(&net, k, &rng, 1);
	make_layers(&grad, k, &rng, 0);
	if (nn_batch_alloc(&bt, k->rows, k->units[0], &err) != DLF_OK ||
		nn_work_alloc(&w, &net, k->rows, 1, &err) != DLF_OK)
	{
		ok(0, "allocations: %s", err.message);
		return;
	}
	fill_batch(&bt, k, &rng);
	fill_masks(&w, k, &rng);
	for (int use_mask = 0; use_mask <= 1; use_mask++)
	{
		Result		res[3];

		for (int i = 0; i < 3; i++)
			run_width(&net, &grad, &bt, &w, k, widths[i], use_mask, &res[i]);
		for (int i = 1; i < 3; i++)
		{
			const char *what = "";
			int			same = same_result(&res[0], &res[i], k, &what);

			ok(same, "units %d-%d-...-%d (%d layers), act %d, task %d, "
			   "%d rows%s: %d floats as 16%s%s",
			   k->units[0], k->units[1], k->units[k->nlayers], k->nlayers,
			   k->act, k->task, k->rows, use_mask ? ", dropout" : "",
			   widths[i], same ? "" : ", differs in the ", same ? "" : what);
		}
		for (int i = 0; i < 3; i++)
			free_result(&res[i], k);
	}
	nn_work_free(&w);
	nn_batch_free(&bt);
	free_layers(&net);
	free_layers(&grad);
}

int
main(void)
{
	static const Case cases[] = {
		/* the default network: full tiles, one output */
		{3, {8, 32, 16, 1}, DLF_ACT_RELU, DLF_TASK_BINARY, 256},
		/* partial tiles and partial 6- and 4-row blocks */
		{3, {12, 17, 5, 1}, DLF_ACT_TANH, DLF_TASK_BINARY, 13},
		{3, {20, 40, 24, 3}, DLF_ACT_LEAKY_RELU, DLF_TASK_MULTICLASS, 7},
		{2, {9, 48, 1}, DLF_ACT_SIGMOID, DLF_TASK_REGRESSION, 1},
		{4, {30, 16, 33, 8, 2}, DLF_ACT_RELU, DLF_TASK_MULTICLASS, 37},
		/* the wide tiles of [256, 256] */
		{3, {10, 256, 256, 1}, DLF_ACT_RELU, DLF_TASK_BINARY, 19},
		/* no hidden layer */
		{1, {6, 1}, 0, DLF_TASK_BINARY, 11},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], 1000 + i);
	return done_testing();
}
