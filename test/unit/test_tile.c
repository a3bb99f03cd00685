/*
 * test_tile.c
 *	  Unit tests of the tiled rows of the epochs (train_tile.c): a training
 *	  that tiles every dataset (tile_min_rows 1) gives the same model bytes
 *	  as one that reads the columns, for every task, optimiser and thread
 *	  mode, row counts that leave rows outside the tiles, and categorical
 *	  features; and the caller's columns are back, bit for bit, after a
 *	  training that succeeded, failed or was interrupted.  With the rows
 *	  rearranged as well (train_layout.c), the same bytes again, and a
 *	  caller that consumes the rows gets them back in another order.
 */
#include "dlfin_core.h"
#include "synth.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* One training configuration. */
typedef struct Case
{
	const char *name;
	int			task;
	int			nclasses;
	int			nnum;
	int			ncat;
	int64_t		n;
	int			optimizer;
	int			threads;
	double		dropout;
	int32_t		ensemble;
	int			permute;		/* rearrange the rows too */
	int			consume;		/* option consume */
} Case;

/* A copy of every column and label of d, to compare with afterwards. */
static DlfDataset *
copy_data(const DlfModel *m, const DlfDataset *d)
{
	DlfDataset *c = synth(m, d->nrows, 1);

	for (int f = 0; f < d->nfeatures; f++)
	{
		if (d->num[f])
			memcpy(c->num[f], d->num[f], sizeof(float) * d->nrows);
		else
			memcpy(c->cat[f], d->cat[f], sizeof(int32_t) * d->nrows);
	}
	memcpy(c->label, d->label, sizeof(double) * d->nrows);
	return c;
}

/* Whether two datasets hold the same bits in every column and label. */
static int
same_data(const DlfDataset *a, const DlfDataset *b)
{
	for (int f = 0; f < a->nfeatures; f++)
		if (a->num[f] ? memcmp(a->num[f], b->num[f], sizeof(float) * a->nrows) :
			memcmp(a->cat[f], b->cat[f], sizeof(int32_t) * a->nrows))
			return 0;
	return memcmp(a->label, b->label, sizeof(double) * a->nrows) == 0;
}

/* A checksum of the rows that does not depend on their order. */
static uint64_t
rows_sum(const DlfDataset *d)
{
	uint64_t	s = 0;

	for (int64_t i = 0; i < d->nrows; i++)
	{
		uint64_t	h;

		memcpy(&h, &d->label[i], sizeof(h));
		for (int f = 0; f < d->nfeatures; f++)
		{
			uint32_t	v;

			memcpy(&v, d->num[f] ? (const void *) &d->num[f][i] :
				   (const void *) &d->cat[f][i], sizeof(v));
			h = (h ^ v) * 1099511628211ULL;
		}
		s += h;
	}
	return s;
}

/* Interrupts a training at the k-th poll (arg: the countdown). */
static int
stop_after(void *arg)
{
	int		   *k = arg;

	return --*k <= 0;
}

/*
 * Trains case c on its synthetic rows, tiled from tile_min_rows rows (0:
 * the default, which these row counts stay below) with hooks h (NULL:
 * none); returns the model's bytes (NULL when the training failed, *st
 * says how) and checks the dataset is unchanged.
 */
static uint8_t *
train_case(const Case *c, int64_t tile_min_rows, const DlfTrainHooks *h,
		   size_t *len, DlfStatus *st, int *restored, int *same_rows)
{
	DlfModel   *m = schema(c->task, c->nclasses, c->nnum, c->ncat);
	DlfDataset *d = synth(m, c->n, 11);
	DlfDataset *before = copy_data(m, d);
	DlfTrainOptions opt;
	DlfError	err;
	uint8_t    *out = NULL;
	dlf_train_options_default(&opt);
	opt.optimizer = c->optimizer;
	opt.epochs = c->optimizer == DLF_OPTIM_LBFGS ? 30 : 3;
	opt.batch_size = 64;
	opt.validation_fraction = 0.2;
	opt.patience = 1000;
	opt.nthreads = c->threads;
	opt.dropout = c->dropout;
	opt.ensemble = c->ensemble;
	opt.hidden[0] = 16;
	opt.hidden[1] = 8;
	opt.nhidden = 2;
	opt.tile_min_rows = tile_min_rows;
	opt.permute_min_rows = c->permute ? 1 : 0;
	if (c->optimizer == DLF_OPTIM_AUTO)
	{
		opt.l2_auto = 1;
		opt.cv_folds = 3;
		opt.epochs = 30;
	}
	opt.consume = c->consume;
	*st = dlf_train_auto(m, d, &opt, h, &err);
	if (*st == DLF_OK && dlf_model_encode(m, &out, len, &err) != DLF_OK)
		out = NULL;
	*restored = same_data(d, before);
	*same_rows = rows_sum(d) == rows_sum(before);
	free_data(before);
	free_data(d);
	dlf_model_free(m);
	return out;
}

/* Tiled and untiled trainings of case c give the same bytes. */
static void
test_case(const Case *c)
{
	size_t		l1 = 0,
				l2 = 0;
	DlfStatus	s1,
				s2;
	int			r1,
				r2,
				q1,
				q2;
	Case		plain = *c;
	uint8_t    *b1,
			   *b2;

	plain.permute = 0;
	plain.consume = 0;
	b1 = train_case(&plain, 0, NULL, &l1, &s1, &r1, &q1);
	b2 = train_case(c, 1, NULL, &l2, &s2, &r2, &q2);
	ok(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0,
	   "%s: the same model bytes tiled and from the columns", c->name);
	if (c->consume && c->optimizer != DLF_OPTIM_AUTO)
		ok(r1 && !r2 && q2, "%s: the consumed rows are the same, in another order",
		   c->name);
	else
		ok(r1 && r2, "%s: the columns are unchanged afterwards", c->name);
	free(b1);
	free(b2);
}

/*
 * Trains case c tiled and interrupted at the k-th poll; returns the status
 * and sets *restored to whether the columns are as they were.
 */
static DlfStatus
train_interrupted_at(const Case *c, int k, int *restored)
{
	DlfTrainHooks h;
	size_t		len;
	DlfStatus	st;
	int			same_rows;

	memset(&h, 0, sizeof(h));
	h.interrupted = stop_after;
	h.arg = &k;
	free(train_case(c, 1, &h, &len, &st, restored, &same_rows));
	return st;
}

/* An interrupted tiled training leaves the columns as they were. */
static void
test_interrupted(void)
{
	Case		c = {"interrupted", DLF_TASK_BINARY, 2, 7, 4, 20003,
	DLF_OPTIM_ADAM, 2, 0.0, 1, 0, 0};
	int			restored;
	DlfStatus	st = train_interrupted_at(&c, 40, &restored);

	ok(st == DLF_ERR_INTERRUPTED, "an interrupt stops the tiled training (status %d)", st);
	ok(restored, "the interrupted training put the columns back");
}

/*
 * Interrupts at every poll from the first to the 50th, on rows that take
 * several tiling steps (nf = 2: 65,536 rows a step): each training stops
 * and leaves the columns as they were, wherever it stopped (ordering,
 * statistics, tiling (polls 7 to 10 today), the epochs).
 */
static void
test_interrupt_sweep(void)
{
	Case		c = {"sweep", DLF_TASK_BINARY, 2, 2, 0, 200003,
	DLF_OPTIM_ADAM, 2, 0.0, 1, 0, 0};
	int			stopped = 0,
				restored_all = 1;

	for (int k = 1; k <= 50; k++)
	{
		int			restored;

		stopped += train_interrupted_at(&c, k, &restored) == DLF_ERR_INTERRUPTED;
		restored_all &= restored;
	}
	ok(stopped == 50, "interrupts at polls 1 to 50 all stop the training (%d)", stopped);
	ok(restored_all, "and every one leaves the columns as they were");
}

int
main(void)
{
	/* n leaves rows outside the tiles (n mod nf != 0) in most cases */
	static const Case cases[] = {
		{"binary, 2 numbers", DLF_TASK_BINARY, 2, 2, 0, 5001, DLF_OPTIM_ADAM, 1, 0.0, 1, 0, 0},
		{"binary, 7 numbers + a category, 2 threads", DLF_TASK_BINARY, 2, 7, 5, 9005,
		DLF_OPTIM_ADAM, 2, 0.0, 1, 0, 0},
		{"binary, 3 numbers + a category, dropout", DLF_TASK_BINARY, 2, 3, 3, 4003,
		DLF_OPTIM_ADAM, 2, 0.2, 1, 0, 0},
		{"multiclass, 12 numbers + a category", DLF_TASK_MULTICLASS, 3, 12, 6, 6007,
		DLF_OPTIM_ADAM, 2, 0.0, 1, 0, 0},
		{"regression, 3 numbers + a category", DLF_TASK_REGRESSION, 0, 3, 4, 3000,
		DLF_OPTIM_ADAM, 1, 0.0, 1, 0, 0},
		{"binary, L-BFGS", DLF_TASK_BINARY, 2, 5, 3, 2501, DLF_OPTIM_LBFGS, 2, 0.0, 1, 0, 0},
		{"binary, 3-member ensemble", DLF_TASK_BINARY, 2, 4, 3, 3001,
		DLF_OPTIM_ADAM, 2, 0.0, 3, 0, 0},
		{"binary, 70 numbers (not tiled)", DLF_TASK_BINARY, 2, 70, 0, 1500,
		DLF_OPTIM_ADAM, 1, 0.0, 1, 0, 0},
		{"binary, rows rearranged too", DLF_TASK_BINARY, 2, 7, 5, 9005,
		DLF_OPTIM_ADAM, 2, 0.0, 1, 1, 0},
		{"binary, rows rearranged, consumed", DLF_TASK_BINARY, 2, 7, 5, 9005,
		DLF_OPTIM_ADAM, 2, 0.0, 1, 1, 1},
		{"multiclass, rows rearranged, consumed", DLF_TASK_MULTICLASS, 3, 5, 4, 7003,
		DLF_OPTIM_ADAM, 2, 0.0, 1, 1, 1},
		{"regression, rows rearranged, consumed", DLF_TASK_REGRESSION, 0, 3, 4, 5001,
		DLF_OPTIM_ADAM, 1, 0.0, 1, 1, 1},
		{"binary, \"l2\": \"auto\", consume (a CV keeps the order)", DLF_TASK_BINARY,
		2, 3, 3, 1201, DLF_OPTIM_AUTO, 2, 0.0, 1, 1, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_case(&cases[i]);
	test_interrupted();
	test_interrupt_sweep();
	return done_testing();
}
