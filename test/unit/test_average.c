/*
 * test_average.c
 *	  Model averaging (average.c) and the "encoding" training option: the
 *	  weighted mean of the networks, the refusals, the order-fixed bytes,
 *	  and training with a given scaling.
 */
#include "tap.h"
#include "synth.h"
#include "average.h"
#include "dlfin_codec.h"

/* Trains a small binary model on n synthetic rows from seed. */
static DlfModel *
train_small(int64_t n, uint64_t seed, const DlfModel *init, const DlfModel *enc)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 3);
	DlfDataset *d = synth(m, n, seed);
	DlfTrainOptions opt;

	dlf_train_options_default(&opt);
	opt.epochs = 3;
	opt.hidden[0] = 6;
	opt.nhidden = 1;
	opt.init = init;
	opt.encoding = enc;
	m = train_encoded(m, d, &opt, NULL, NULL);
	free_data(d);
	return m;
}

/* A copy of m through its bytes. */
static DlfModel *
copy_of(const DlfModel *m)
{
	uint8_t    *b;
	size_t		len;
	DlfModel   *c = NULL;
	DlfError	err;

	if (dlf_model_encode(m, &b, &len, &err) != DLF_OK ||
		dlf_model_decode(b, len, &c, &err) != DLF_OK)
		return NULL;
	dlf_free(b);
	return c;
}

/* Whether m and n encode to the same bytes. */
static int
same_bytes(const DlfModel *m, const DlfModel *n)
{
	uint8_t    *a,
			   *b;
	size_t		la,
				lb;
	DlfError	err;
	int			same;

	if (dlf_model_encode(m, &a, &la, &err) != DLF_OK ||
		dlf_model_encode(n, &b, &lb, &err) != DLF_OK)
		return 0;
	same = la == lb && memcmp(a, b, la) == 0;
	dlf_free(a);
	dlf_free(b);
	return same;
}

/* The mean of a model and a shifted copy, weighted 1:3. */
static void
test_mean(void)
{
	DlfModel   *a = train_small(800, 1, NULL, NULL);
	DlfModel   *b = copy_of(a);
	DlfModel   *c = copy_of(a);
	DlfModel   *pair[2];
	double		w[2] = {1.0, 3.0};
	DlfError	err;
	int			good = 1;

	for (int32_t l = 0; l < b->nlayers; l++)
		for (int32_t i = 0; i < b->units[l] * b->units[l + 1]; i++)
			b->weights[l][i] += 0.5f;
	for (int32_t l = 0; l < b->nlayers; l++)
		b->biases[l][0] -= 1.0f;
	pair[0] = c;
	pair[1] = b;
	ok(dlf_model_average(pair, w, 2, &err) == DLF_OK, "averages two models");
	for (int32_t l = 0; l < c->nlayers; l++)
	{
		for (int32_t i = 0; i < c->units[l] * c->units[l + 1]; i++)
			good &= fabsf(c->weights[l][i] - (a->weights[l][i] + 0.375f)) < 1e-5f;
		good &= fabsf(c->biases[l][0] - (a->biases[l][0] - 0.75f)) < 1e-5f;
	}
	ok(good, "every weight and bias is the weighted mean");
	ok(c->rows_train == 2 * a->rows_train, "rows_train is the sum");

	/* a model averaged with copies of itself is itself, bit for bit */
	dlf_model_free(b);
	b = copy_of(a);
	dlf_model_free(c);
	c = copy_of(a);
	pair[0] = b;
	pair[1] = c;
	w[0] = 2.0;
	w[1] = 2.0;
	ok(dlf_model_average(pair, w, 2, &err) == DLF_OK, "averages a model with itself");
	b->rows_train = a->rows_train;
	b->rows_valid = a->rows_valid;
	ok(same_bytes(a, b), "the mean of equal models is that model");
	dlf_model_free(a);
	dlf_model_free(b);
	dlf_model_free(c);
}

/* Models of another shape or encoding, bad weights, ensembles: refused. */
static void
test_refusals(void)
{
	DlfModel   *a = train_small(800, 1, NULL, NULL);
	DlfModel   *b = train_small(900, 2, NULL, NULL);
	DlfModel   *pair[2] = {a, b};
	double		w[2] = {1.0, 1.0};
	DlfError	err;

	ok(dlf_model_average(pair, w, 2, &err) == DLF_ERR_INVALID &&
	   strstr(err.detail, "scaled differently") != NULL,
	   "models scaled on other rows are refused (%s)", err.detail);
	dlf_model_free(b);
	b = copy_of(a);
	pair[1] = b;			/* the old b is freed */
	free(b->features[3].categories[1]);
	b->features[3].categories[1] = dlf_strndup("zz", 2);
	ok(dlf_model_average(pair, w, 2, &err) == DLF_ERR_INVALID &&
	   strstr(err.detail, "other categories") != NULL, "another vocabulary is refused");
	dlf_model_free(b);
	b = copy_of(a);
	pair[1] = b;
	b->units[1] = a->units[1] + 1;
	ok(dlf_model_average(pair, w, 2, &err) == DLF_ERR_INVALID, "another shape is refused");
	b->units[1] = a->units[1];
	b->calibration = DLF_CALIB_PLATT;
	ok(dlf_model_average(pair, w, 2, &err) == DLF_ERR_INVALID, "a calibrated model is refused");
	b->calibration = DLF_CALIB_NONE;
	w[1] = -1.0;
	ok(dlf_model_average(pair, w, 2, &err) == DLF_ERR_INVALID, "a negative weight is refused");
	w[0] = 0.0;
	w[1] = 0.0;
	ok(dlf_model_average(pair, w, 2, &err) == DLF_ERR_INVALID, "all-zero weights are refused");
	ok(dlf_model_average(pair, w, 0, &err) == DLF_ERR_INVALID, "no models is refused");
	dlf_model_free(a);
	dlf_model_free(b);
}

/* Training with a given encoding keeps it; warm starts then average. */
static void
test_encoding(void)
{
	DlfModel   *enc = train_small(500, 9, NULL, NULL);
	DlfModel   *a,
			   *b,
			   *a2,
			   *pair[2];
	double		w[2] = {700, 900};
	DlfError	err;

	enc->features[0].mean = 12.5;
	enc->features[0].scale = 2.25;
	a = train_small(700, 3, NULL, enc);
	ok(a != NULL && a->features[0].mean == 12.5 && a->features[0].scale == 2.25,
	   "training with an encoding keeps its scaling");
	b = train_small(900, 4, a, NULL);
	a2 = train_small(700, 5, a, NULL);
	pair[0] = a2;
	pair[1] = b;
	ok(b && a2 && dlf_model_average(pair, w, 2, &err) == DLF_OK,
	   "warm starts from one model are averageable");
	dlf_model_free(enc);
	dlf_model_free(a);
	dlf_model_free(b);
	dlf_model_free(a2);
}

int
main(void)
{
	test_mean();
	test_refusals();
	test_encoding();
	return done_testing();
}
