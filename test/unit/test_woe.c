/*
 * test_woe.c
 *	  The WoE encoding ("woe" option, src/core/woe.c, codec_woe.c): tables
 *	  built from the training rows, the columns they replace, the lookup at
 *	  scoring, the WOE section's round trip (format version 4), row-order
 *	  independence and what is refused.
 */
#include "tap.h"
#include "synth.h"
#include "dlfin_codec.h"
#include "woe.h"

/* Default binning options. */
static DlfBinOptions
defaults(void)
{
	DlfBinOptions o = {0.05, 10, 20, DLF_MONO_AUTO};

	return o;
}

/* A binary dataset with class indexes, columns kept for freeing. */
typedef struct Rows
{
	DlfDataset *d;
	float	  **num0;
	int32_t   **cat0;
} Rows;

/* Binary rows of schema m (n rows); reversed when flip. */
static Rows
rows_of(DlfModel *m, int64_t n, int flip)
{
	Rows		r;

	r.d = synth(m, n, 99);
	r.d->cls = calloc(n, sizeof(uint16_t));
	if (flip)
		for (int64_t i = 0; i < n / 2; i++)
		{
			int64_t		j = n - 1 - i;
			double		t = r.d->label[i];

			r.d->label[i] = r.d->label[j];
			r.d->label[j] = t;
			for (int f = 0; f < m->nfeatures; f++)
				if (r.d->num[f])
				{
					float		u = r.d->num[f][i];

					r.d->num[f][i] = r.d->num[f][j];
					r.d->num[f][j] = u;
				}
				else
				{
					int32_t		u = r.d->cat[f][i];

					r.d->cat[f][i] = r.d->cat[f][j];
					r.d->cat[f][j] = u;
				}
		}
	for (int64_t i = 0; i < n; i++)
		r.d->cls[i] = (uint16_t) r.d->label[i];
	r.num0 = calloc(m->nfeatures, sizeof(float *));
	r.cat0 = calloc(m->nfeatures, sizeof(int32_t *));
	memcpy(r.num0, r.d->num, sizeof(float *) * m->nfeatures);
	memcpy(r.cat0, r.d->cat, sizeof(int32_t *) * m->nfeatures);
	return r;
}

/* Frees rows and every column, the encoded ones too. */
static void
rows_free(Rows *r, int nf)
{
	for (int f = 0; f < nf; f++)
	{
		if (r->d->num[f] != r->num0[f])
			dlf_free(r->d->num[f]);
		free(r->num0[f]);
		free(r->cat0[f]);
		r->d->num[f] = NULL;
		r->d->cat[f] = NULL;
	}
	free(r->num0);
	free(r->cat0);
	free(r->d->cls);
	free_data(r->d);
}

/* WoE of a bin from its counts, as binning.c defines it. */
static double
woe_of(int64_t n, int64_t ev, int64_t tev, int64_t tne)
{
	double		e = (double) ev,
				ne = (double) (n - ev);

	if (e == 0 || ne == 0)
	{
		e += 0.5;
		ne += 0.5;
	}
	return log((ne / (double) tne) / (e / (double) tev));
}

/* The tables and columns of an encoding. */
static void
test_encode(void)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 4);
	Rows		r = rows_of(m, 2000, 0);
	uint8_t		which[4] = {1, 0, 0, 1};
	DlfBinOptions o = defaults();
	DlfError	err;
	const DlfWoe *w0,
			   *w3;
	int64_t		total = 0,
				tev = 0,
				bad = 0;
	double		iv = 0;

	ok(dlf_woe_encode(m, r.d, which, &o, &err) == DLF_OK, "x1 and the category are WoE-encoded");
	w0 = m->features[0].woe;
	w3 = m->features[3].woe;
	ok(w0 && w3 && !m->features[1].woe && !m->features[2].woe, "only the features asked for");
	ok(m->features[3].kind == DLF_FEAT_NUMERIC && m->features[3].ncat == 0 &&
	   m->features[3].categories == NULL && w3->ncat == 4 && w3->upper == NULL,
	   "the text feature is one numeric input; its vocabulary moved into the table");
	ok(r.d->cat[3] == NULL && r.d->num[3] != NULL && r.d->num[1] == r.num0[1],
	   "its column is replaced, the others kept");
	for (int i = 0; i < w0->nbins; i++)
	{
		total += w0->n[i];
		tev += w0->events[i];
		iv += w0->iv[i];
	}
	total += w0->miss_n;
	tev += w0->miss_events;
	iv += w0->miss_iv;
	ok(total == 2000 && w0->miss_n > 0, "every row in a bin, NULLs in the missing bin");
	is_near(iv, w0->iv_total, 1e-12, "the total IV is the bins' sum");
	for (int i = 0; i < w0->nbins; i++)
		if (fabs(w0->woe[i] - woe_of(w0->n[i], w0->events[i], tev, total - tev)) > 1e-12)
			bad++;
	ok(bad == 0, "WoE = ln(share of non-events / share of events) per bin");
	ok(w0->direction == 1, "x1 raises the event rate: auto finds ascending");
	for (int i = 1; i < w0->nbins; i++)
		if (!(w0->woe[i] < w0->woe[i - 1]))
			bad++;
	ok(bad == 0, "and the WoE falls bin by bin (monotone)");
	for (int64_t i = 0; i < 2000; i++)
	{
		float		v = r.num0[0][i];
		int32_t		c = r.cat0[3][i];
		char		s[16];
		double		wt;

		snprintf(s, sizeof(s), "c%d", c);
		wt = c < 4 ? dlf_woe_of_text(w3, s, strlen(s), 0) : dlf_woe_of_text(w3, "zz", 2, 0);
		if (memcmp(&r.d->num[0][i], &(float) {(float) dlf_woe_of_number(w0, v, isnan(v))}, 4) != 0 ||
			r.d->num[3][i] != (float) wt)
			bad++;
	}
	ok(bad == 0, "each row's column value is the lookup of its raw value");
	ok(w3->other_bin >= 0 && w3->other_n > 0, "rows outside the vocabulary form the \"other\" group");
	rows_free(&r, 4);
	dlf_model_free(m);
}

/* Lookups at bin bounds, NULL and unseen values. */
static void
test_lookup(void)
{
	DlfWoe		w = {0};
	double		upper[3] = {1.5, 4.0, INFINITY};
	double		woe[3] = {0.7, 0.1, -0.9};
	char	   *cats[3] = {"a", "ab", "b"};
	int32_t		cat_bin[3] = {2, -1, 0};

	w.nbins = 3;
	w.upper = upper;
	w.woe = woe;
	w.miss_woe = 0.25;
	w.other_bin = -1;
	ok(dlf_woe_of_number(&w, 1.5, 0) == 0.7 && dlf_woe_of_number(&w, 1.5000001, 0) == 0.1 &&
	   dlf_woe_of_number(&w, -1e30, 0) == 0.7 && dlf_woe_of_number(&w, 4.0, 0) == 0.1 &&
	   dlf_woe_of_number(&w, 1e30, 0) == -0.9,
	   "a numeric bin is (lower, upper]");
	ok(dlf_woe_of_number(&w, 0, 1) == 0.25 && dlf_woe_of_number(&w, NAN, 0) == 0.25,
	   "NULL takes the missing bin");
	w.upper = NULL;
	w.ncat = 3;
	w.cats = cats;
	w.cat_bin = cat_bin;
	ok(dlf_woe_of_text(&w, "a", 1, 0) == -0.9 && dlf_woe_of_text(&w, "b", 1, 0) == 0.7 &&
	   dlf_woe_of_text(&w, "ab", 2, 0) == 0.0 && dlf_woe_of_text(&w, "abc", 2, 0) == 0.0,
	   "categories by their bytes; one without rows is neutral");
	ok(dlf_woe_of_text(&w, "c", 1, 0) == 0.0, "an unseen category is neutral without an \"other\" bin");
	w.other_bin = 1;
	ok(dlf_woe_of_text(&w, "c", 1, 0) == 0.1 && dlf_woe_of_text(&w, "", 0, 0) == 0.1,
	   "and takes the \"other\" bin when training had one");
	ok(dlf_woe_of_text(&w, NULL, 0, 1) == 0.25, "NULL text takes the missing bin");
}

/* Trains a logistic model over WoE inputs; bytes into *out. */
static DlfModel *
train_woe(int flip, uint8_t **out, size_t *len)
{
	DlfModel   *m = schema(DLF_TASK_BINARY, 2, 3, 4);
	Rows		r = rows_of(m, 1500, flip);
	uint8_t		which[4] = {1, 1, 0, 1};
	DlfBinOptions o = defaults();
	DlfTrainOptions opt;
	DlfError	err;

	dlf_train_options_default(&opt);
	opt.nhidden = 0;
	opt.epochs = 15;
	opt.seed = 5;
	opt.nthreads = 1;
	if (dlf_woe_encode(m, r.d, which, &o, &err) != DLF_OK ||
		dlf_train_auto(m, r.d, &opt, NULL, &err) != DLF_OK ||
		dlf_model_encode(m, out, len, &err) != DLF_OK)
	{
		printf("# failed: %s (%s)\n", err.message, err.detail);
		dlf_model_free(m);
		m = NULL;
	}
	rows_free(&r, 4);
	return m;
}

/* Scores the raw row (x1, x2, x3, category) with model m. */
static double
score_raw(const DlfModel *m, double x1, double x2, double x3, const char *c)
{
	DlfError	err;
	DlfScorer  *s = dlf_scorer_new(m, &err);
	double		p = NAN;

	dlf_scorer_reset(s);
	dlf_scorer_set_numeric(s, 0, x1, isnan(x1));
	dlf_scorer_set_numeric(s, 1, x2, isnan(x2));
	dlf_scorer_set_numeric(s, 2, x3, isnan(x3));
	dlf_scorer_set_category(s, 3, c, c ? strlen(c) : 0, c == NULL);
	ok(!dlf_scorer_all_numeric(s), "a WoE model never takes the all-numeric fast path");
	dlf_scorer_run(s, &p);
	dlf_scorer_free(s);
	return p;
}

/* The WOE section: round trip, version 4, scoring from decoded bytes. */
static void
test_codec(void)
{
	uint8_t    *b1 = NULL,
			   *b2 = NULL,
			   *b3 = NULL;
	size_t		l1 = 0,
				l2 = 0,
				l3 = 0;
	DlfModel   *m = train_woe(0, &b1, &l1);
	DlfModel   *d = NULL;
	DlfModel   *f = train_woe(1, &b3, &l3);
	DlfError	err;
	double		p,
				q;
	DlfScorer  *s;
	int			same = 1;

	ok(m && b1 && l1 > 20 && b1[8] == 4 && b1[9] == 0, "a WoE model is written in format version 4");
	ok(dlf_model_decode(b1, l1, &d, &err) == DLF_OK, "and decodes");
	ok(d && dlf_model_encode(d, &b2, &l2, &err) == DLF_OK && l2 == l1 && memcmp(b1, b2, l1) == 0,
	   "decoding and encoding again gives the same bytes");
	for (int ft = 0; d && ft < 4; ft++)
	{
		const DlfWoe *a = m->features[ft].woe,
				   *c = d->features[ft].woe;

		if ((a == NULL) != (c == NULL))
			same = 0;
		else if (a && (a->nbins != c->nbins || a->ncat != c->ncat || a->miss_woe != c->miss_woe ||
					   memcmp(a->woe, c->woe, sizeof(double) * a->nbins) != 0))
			same = 0;
	}
	ok(same, "the decoded tables are the trained ones");
	ok(f && l3 == l1 && memcmp(b1, b3, l1) == 0, "rows in another order give the same bytes");
	p = score_raw(m, 12.5, 8.0, 10.0, "c1");
	q = score_raw(d, 12.5, 8.0, 10.0, "c1");
	ok(p == q && p > 0 && p < 1, "the decoded model scores raw values with the same bits");
	s = dlf_scorer_new(d, &err);
	dlf_scorer_reset(s);
	dlf_scorer_set_woe(s, 0, dlf_woe_of_number(d->features[0].woe, 12.5, 0));
	dlf_scorer_set_woe(s, 1, dlf_woe_of_number(d->features[1].woe, 8.0, 0));
	dlf_scorer_set_numeric(s, 2, 10.0, 0);
	dlf_scorer_set_woe(s, 3, dlf_woe_of_text(d->features[3].woe, "c1", 2, 0));
	dlf_scorer_run(s, &q);
	ok(p == q, "the same as setting each WoE input directly");
	dlf_scorer_set_numeric(s, 0, NAN, 1);
	ok(dlf_scorer_woe(s, 0) == (double) (float) d->features[0].woe->miss_woe &&
	   isnan(dlf_scorer_woe(s, 2)), "dlf_scorer_woe gives the WoE a NULL stands for");
	dlf_scorer_free(s);
	p = score_raw(d, NAN, NAN, NAN, NULL);
	ok(isfinite(p), "NULLs score through the missing bins");
	q = score_raw(d, NAN, NAN, NAN, "never seen");
	ok(isfinite(q), "an unseen category scores");

	/* what the encoder refuses */
	{
		DlfWoe	   *w = d->features[0].woe;
		double		t;

		if (w->nbins >= 3)
		{
			t = w->upper[0];
			w->upper[0] = w->upper[1];
			w->upper[1] = t;
			dlf_free(b2);
			b2 = NULL;
			ok(dlf_model_encode(d, &b2, &l2, &err) == DLF_ERR_INVALID, "bounds out of order are refused");
			w->upper[1] = w->upper[0];
			w->upper[0] = t;
		}
		else
			ok(1, "bounds out of order are refused (too few bins to test)");
		dlf_woe_free(d->features[3].woe);
		d->features[3].woe = NULL;
		dlf_free(b2);
		b2 = NULL;
		ok(dlf_model_encode(d, &b2, &l2, &err) == DLF_ERR_INVALID,
		   "a text feature neither categorical nor WoE-encoded is refused");
		d->features[3].woe = m->features[3].woe;
		m->features[3].woe = NULL;
	}
	/* a truncated WOE section */
	{
		DlfModel   *t = NULL;

		ok(dlf_model_decode(b1, l1 - 8, &t, &err) == DLF_ERR_CORRUPT, "truncated bytes are refused");
		dlf_model_free(t);
	}
	dlf_free(b1);
	dlf_free(b2);
	dlf_free(b3);
	dlf_model_free(m);
	dlf_model_free(d);
	dlf_model_free(f);
}

/* Errors: a non-binary task, a constant feature, a single bin. */
static void
test_errors(void)
{
	DlfModel   *m = schema(DLF_TASK_MULTICLASS, 3, 2, 0);
	Rows		r = rows_of(m, 500, 0);
	uint8_t		which[2] = {1, 0};
	DlfBinOptions o = defaults();
	DlfError	err;

	ok(dlf_woe_encode(m, r.d, which, &o, &err) == DLF_ERR_INVALID &&
	   strstr(err.message, "binary") != NULL, "a multiclass label is refused");
	rows_free(&r, 2);
	dlf_model_free(m);

	m = schema(DLF_TASK_BINARY, 2, 2, 0);
	r = rows_of(m, 500, 0);
	for (int64_t i = 0; i < 500; i++)
		r.d->num[1][i] = 3.0f;
	which[0] = 0;
	which[1] = 1;
	ok(dlf_woe_encode(m, r.d, which, &o, &err) == DLF_ERR_INVALID &&
	   strstr(err.message, "cannot bin feature \"x2\"") != NULL, "a constant feature is refused");
	rows_free(&r, 2);
	dlf_model_free(m);

	m = schema(DLF_TASK_BINARY, 2, 2, 0);
	r = rows_of(m, 500, 0);
	for (int64_t i = 0; i < 500; i++)
		if (isnan(r.d->num[0][i]))
			r.d->num[0][i] = 10.0f;
	which[0] = 1;
	which[1] = 0;
	o.monotonic = -1;			/* x1 raises the rate: one bin is left */
	ok(dlf_woe_encode(m, r.d, which, &o, &err) == DLF_ERR_INVALID &&
	   strstr(err.message, "single bin") != NULL, "a monotone direction against the data leaves one bin: refused");
	rows_free(&r, 2);
	dlf_model_free(m);
}

int
main(void)
{
	test_lookup();
	test_encode();
	test_codec();
	test_errors();
	return done_testing();
}
