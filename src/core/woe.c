/*
 * woe.c
 *	  Weight-of-evidence encoding ("woe" training option): each chosen
 *	  feature is binned on the training rows by binning.c and replaced, as
 *	  a network input, by the WoE of its value's bin.  A logistic network
 *	  over such inputs is a classic scorecard (log-odds linear in WoE).
 *
 * The table lives in the model (codec section WOE, codec_woe.c); scoring
 * maps a raw value to its WoE here and then standardises it like any
 * numeric input, so training and scoring see the same float32 bits.
 */
#include "woe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frees a table; NULL is fine. */
void
dlf_woe_free(DlfWoe *w)
{
	if (w == NULL)
		return;
	dlf_free(w->upper);
	dlf_free(w->n);
	dlf_free(w->events);
	dlf_free(w->woe);
	dlf_free(w->iv);
	if (w->cats)
		for (int32_t c = 0; c < w->ncat; c++)
			dlf_free(w->cats[c]);
	dlf_free(w->cats);
	dlf_free(w->cat_bin);
	dlf_free(w);
}

/* Whether the model has a WoE-encoded feature. */
int
dlf_model_has_woe(const DlfModel *m)
{
	for (int32_t f = 0; m->features && f < m->nfeatures; f++)
		if (m->features[f].woe)
			return 1;
	return 0;
}

/* A table of nbins bins with the binning's counts, WoE and IV. */
static DlfWoe *
woe_from_binning(const DlfBinning *bn, int numeric)
{
	DlfWoe	   *w = dlf_alloc0(sizeof(DlfWoe));
	int32_t		nb = bn->nbins;

	if (w == NULL)
		return NULL;
	w->nbins = nb;
	w->other_bin = -1;
	w->n = dlf_alloc_array(nb, sizeof(int64_t));
	w->events = dlf_alloc_array(nb, sizeof(int64_t));
	w->woe = dlf_alloc_array(nb, sizeof(double));
	w->iv = dlf_alloc_array(nb, sizeof(double));
	if (numeric)
		w->upper = dlf_alloc_array(nb, sizeof(double));
	if (!w->n || !w->events || !w->woe || !w->iv || (numeric && !w->upper))
	{
		dlf_woe_free(w);
		return NULL;
	}
	for (int32_t i = 0; i < nb; i++)
	{
		w->n[i] = bn->bins[i].n;
		w->events[i] = bn->bins[i].events;
		w->woe[i] = bn->bins[i].woe;
		w->iv[i] = bn->bins[i].iv;
		if (numeric)
			w->upper[i] = i == nb - 1 ? INFINITY : bn->bins[i].upper;
	}
	w->miss_n = bn->missing.n;
	w->miss_events = bn->missing.events;
	w->miss_woe = bn->missing.n > 0 ? bn->missing.woe : 0.0;
	w->miss_iv = bn->missing.n > 0 ? bn->missing.iv : 0.0;
	w->direction = (int8_t) bn->direction;
	w->smoothed = (uint8_t) bn->smoothed;
	w->iv_total = bn->iv;
	return w;
}

/* Bins a numeric column (NaN is NULL) against the labels. */
static DlfStatus
bin_numeric_column(const float *col, const uint16_t *cls, int64_t nrows,
				   const DlfBinOptions *o, DlfWoe **out, DlfError *err)
{
	double	   *x = dlf_alloc_array((size_t) nrows, sizeof(double));
	uint8_t    *y = dlf_alloc_array((size_t) nrows, 1);
	DlfBinning *bn = dlf_alloc0(sizeof(DlfBinning));
	int64_t		n = 0,
				miss_n = 0,
				miss_ev = 0;
	DlfStatus	st;

	if (!x || !y || !bn)
	{
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int64_t r = 0; r < nrows; r++)
	{
		if (isnan(col[r]))
		{
			miss_n++;
			miss_ev += cls[r] == 1;
			continue;
		}
		x[n] = (double) col[r];
		y[n++] = cls[r] == 1;
	}
	st = dlf_bin_numeric(x, y, n, miss_n, miss_ev, o, bn, err);
	if (st == DLF_OK && !(*out = woe_from_binning(bn, 1)))
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
done:
	dlf_free(x);
	dlf_free(y);
	dlf_free(bn);
	return st;
}

/* Orders category indexes by their strings (bytes). */
static char *const *sort_cats;

static int
cmp_cat_index(const void *a, const void *b)
{
	return strcmp(sort_cats[*(const int32_t *) a], sort_cats[*(const int32_t *) b]);
}

/*
 * Moves a categorical feature's vocabulary into w, sorted by bytes, with
 * each category's bin (bin_of[code], -1 when it had no row).
 */
static DlfStatus
move_vocabulary(DlfFeature *ft, DlfWoe *w, const int32_t *bin_of, DlfError *err)
{
	int32_t    *idx = dlf_alloc_array((size_t) (ft->ncat ? ft->ncat : 1), sizeof(int32_t));

	w->cats = dlf_alloc_array((size_t) (ft->ncat ? ft->ncat : 1), sizeof(char *));
	w->cat_bin = dlf_alloc_array((size_t) (ft->ncat ? ft->ncat : 1), sizeof(int32_t));
	if (!idx || !w->cats || !w->cat_bin)
	{
		dlf_free(idx);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int32_t c = 0; c < ft->ncat; c++)
		idx[c] = c;
	sort_cats = ft->categories;
	qsort(idx, (size_t) ft->ncat, sizeof(int32_t), cmp_cat_index);
	for (int32_t k = 0; k < ft->ncat; k++)
	{
		w->cats[k] = ft->categories[idx[k]];
		w->cat_bin[k] = bin_of[idx[k]];
	}
	w->ncat = ft->ncat;
	dlf_free(ft->categories);
	ft->categories = NULL;
	ft->ncat = 0;
	dlf_free(idx);
	return DLF_OK;
}

/*
 * Bins a categorical column (codes 0..ncat-1, "other", missing) against
 * the labels; categories (and "other") without rows are left out.
 */
static DlfStatus
bin_text_column(DlfFeature *ft, const int32_t *col, const uint16_t *cls,
				int64_t nrows, const DlfBinOptions *o, DlfWoe **out,
				float *woe_col, DlfError *err)
{
	int32_t		ncode = ft->ncat + 1;	/* the categories and "other" */
	int64_t    *cn = dlf_alloc_array((size_t) ncode, sizeof(int64_t));
	int64_t    *ce = dlf_alloc_array((size_t) ncode, sizeof(int64_t));
	int64_t    *pn = dlf_alloc_array((size_t) ncode, sizeof(int64_t));
	int64_t    *pe = dlf_alloc_array((size_t) ncode, sizeof(int64_t));
	int32_t    *code = dlf_alloc_array((size_t) ncode, sizeof(int32_t));
	int32_t    *bin_of = dlf_alloc_array((size_t) ncode, sizeof(int32_t));
	int		   *order = dlf_alloc_array((size_t) ncode, sizeof(int));
	DlfBinning *bn = dlf_alloc0(sizeof(DlfBinning));
	int64_t		miss_n = 0,
				miss_ev = 0;
	int32_t		k = 0;
	DlfStatus	st = DLF_OK;

	if (!cn || !ce || !pn || !pe || !code || !bin_of || !order || !bn)
	{
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int64_t r = 0; r < nrows; r++)
	{
		int32_t		c = col[r];

		if (c < 0 || c > ncode)
			continue;
		if (c == ncode)
		{
			miss_n++;
			miss_ev += cls[r] == 1;
			continue;
		}
		cn[c]++;
		ce[c] += cls[r] == 1;
	}
	/* present codes in code order: most frequent category first, "other" last */
	for (int32_t c = 0; c < ncode; c++)
	{
		bin_of[c] = -1;
		if (cn[c] > 0)
		{
			code[k] = c;
			pn[k] = cn[c];
			pe[k++] = ce[c];
		}
	}
	st = dlf_bin_categorical(pn, pe, k, miss_n, miss_ev, o, order, bn, err);
	if (st != DLF_OK)
		goto done;
	for (int32_t b = 0; b < bn->nbins; b++)
		for (int32_t j = 0; j < bn->bins[b].ncats; j++)
			bin_of[code[order[bn->bins[b].first + j]]] = b;
	if (!(*out = woe_from_binning(bn, 0)))
	{
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	(*out)->other_bin = bin_of[ft->ncat];
	(*out)->other_n = cn[ft->ncat];
	for (int64_t r = 0; r < nrows; r++)
	{
		int32_t		c = col[r];

		woe_col[r] = (float) (c >= 0 && c < ncode && bin_of[c] >= 0 ?
							  (*out)->woe[bin_of[c]] :
							  c == ncode ? (*out)->miss_woe : 0.0);
	}
	st = move_vocabulary(ft, *out, bin_of, err);
done:
	dlf_free(cn);
	dlf_free(ce);
	dlf_free(pn);
	dlf_free(pe);
	dlf_free(code);
	dlf_free(bin_of);
	dlf_free(order);
	dlf_free(bn);
	return st;
}

/* Fails for feature ft with the binning's reason as detail. */
static DlfStatus
cannot_bin(const DlfFeature *ft, DlfError *err)
{
	char		why[sizeof(err->message)];

	if (err->code == DLF_ERR_NOMEM)
		return err->code;
	snprintf(why, sizeof(why), "%s", err->message);
	dlf_fail(err, DLF_ERR_INVALID, "dlfin_train option \"woe\" cannot bin feature \"%s\"",
			 ft->name);
	dlf_detail(err, "The binning failed: %s.", why);
	dlf_hint(err, "Leave the feature out of \"woe\", or relax \"woe_binning\" (a smaller \"min_share\", \"monotonic\": \"none\").");
	return DLF_ERR_INVALID;
}

/* Encodes one feature: its table, its new column. */
static DlfStatus
encode_feature(DlfModel *m, DlfDataset *d, int32_t f, const DlfBinOptions *o,
			   DlfError *err)
{
	DlfFeature *ft = &m->features[f];
	DlfWoe	   *w = NULL;
	float	   *col = dlf_alloc_array((size_t) (d->nrows ? d->nrows : 1), sizeof(float));
	DlfStatus	st;

	if (col == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	if (ft->kind == DLF_FEAT_CATEGORICAL)
		st = bin_text_column(ft, d->cat[f], d->cls, d->nrows, o, &w, col, err);
	else
	{
		st = bin_numeric_column(d->num[f], d->cls, d->nrows, o, &w, err);
		for (int64_t r = 0; st == DLF_OK && r < d->nrows; r++)
			col[r] = (float) dlf_woe_of_number(w, d->num[f][r], isnan(d->num[f][r]));
	}
	if (st != DLF_OK)
	{
		dlf_woe_free(w);
		dlf_free(col);
		return cannot_bin(ft, err);
	}
	ft->woe = w;
	ft->kind = DLF_FEAT_NUMERIC;
	d->num[f] = col;
	d->cat[f] = NULL;
	if (w->nbins + (w->miss_n > 0) < 2)
	{
		dlf_fail(err, DLF_ERR_INVALID,
				 "dlfin_train option \"woe\" leaves feature \"%s\" a single bin", ft->name);
		dlf_detail(err, "Every training row has the same WoE, so the feature would carry no information.");
		dlf_hint(err, "Relax \"woe_binning\": a smaller \"min_share\", \"monotonic\": \"none\", or more \"max_bins\".");
		return DLF_ERR_INVALID;
	}
	return DLF_OK;
}

/* Bins and encodes the features with which[f] set (see woe.h). */
DlfStatus
dlf_woe_encode(DlfModel *m, DlfDataset *d, const uint8_t *which,
			   const DlfBinOptions *o, DlfError *err)
{
	if (m->task != DLF_TASK_BINARY || d->cls == NULL)
	{
		dlf_fail(err, DLF_ERR_INVALID, "dlfin_train option \"woe\" needs a binary label");
		dlf_hint(err, "WoE compares events with non-events: train on a boolean or two-valued label, or drop \"woe\".");
		return DLF_ERR_INVALID;
	}
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (which[f] && m->features[f].woe == NULL)
			{
			DlfStatus	st = encode_feature(m, d, f, o, err);

			if (st != DLF_OK)
				return st;
		}
	return DLF_OK;
}

/* Bin of x among upper bounds (the first with x <= upper[i]). */
static int32_t
numeric_bin(const DlfWoe *w, double x)
{
	int32_t		lo = 0,
				hi = w->nbins - 1;

	while (lo < hi)
	{
		int32_t		mid = (lo + hi) / 2;

		if (x <= w->upper[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* WoE of a numeric value (rounded to float32, as training stored it). */
double
dlf_woe_of_number(const DlfWoe *w, double v, int isnull)
{
	double		x = (double) (float) v;

	if (isnull || isnan(x))
		return w->miss_woe;
	return w->woe[numeric_bin(w, x)];
}

/* strcmp order of the len bytes at v against the string s. */
static int
cmp_bytes(const char *v, size_t len, const char *s)
{
	size_t		sl = strlen(s);
	int			c = memcmp(v, s, len < sl ? len : sl);

	if (c != 0)
		return c;
	return len < sl ? -1 : len > sl ? 1 : 0;
}

/* WoE of a text value: its category's bin, "other"'s, or 0. */
double
dlf_woe_of_text(const DlfWoe *w, const char *v, size_t len, int isnull)
{
	int32_t		lo = 0,
				hi = w->ncat - 1;

	if (isnull || v == NULL)
		return w->miss_woe;
	while (lo <= hi)
	{
		int32_t		mid = (lo + hi) / 2;
		int			c = cmp_bytes(v, len, w->cats[mid]);

		if (c == 0)
			return w->cat_bin[mid] >= 0 ? w->woe[w->cat_bin[mid]] : 0.0;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return w->other_bin >= 0 ? w->woe[w->other_bin] : 0.0;
}

/* Appends one bin's counts, event rate, WoE and IV. */
static void
bin_counts_json(DlfBuf *b, int64_t n, int64_t events, double woe, double iv)
{
	dlf_buf_printf(b, ", \"count\": %lld, \"events\": %lld, \"non_events\": %lld, \"event_rate\": ",
				   (long long) n, (long long) events, (long long) (n - events));
	dlf_buf_json_double(b, n > 0 ? (double) events / (double) n : 0.0);
	dlf_buf_append(b, ", \"woe\": ", 9);
	dlf_buf_json_double(b, woe);
	dlf_buf_append(b, ", \"iv\": ", 8);
	dlf_buf_json_double(b, iv);
	dlf_buf_append(b, "}", 1);
}

/* Appends the categories of bin k (and "other" when it is there). */
static void
bin_categories_json(DlfBuf *b, const DlfWoe *w, int32_t k)
{
	int			first = 1;

	dlf_buf_append(b, ", \"categories\": [", 17);
	for (int32_t c = 0; c < w->ncat; c++)
		if (w->cat_bin[c] == k)
		{
			if (!first)
				dlf_buf_append(b, ", ", 2);
			dlf_buf_json_string(b, w->cats[c]);
			first = 0;
		}
	dlf_buf_append(b, "]", 1);
	if (w->other_bin == k)
		dlf_buf_append(b, ", \"other\": true", 15);
}

/* Appends a table as JSON: iv, strength, bins (with the missing bin). */
void
dlf_woe_json(DlfBuf *b, const DlfWoe *w)
{
	dlf_buf_append(b, "{\"iv\": ", 7);
	dlf_buf_json_double(b, w->iv_total);
	dlf_buf_printf(b, ", \"strength\": \"%s\", \"direction\": %d, \"smoothed\": %s, \"bins\": [",
				   dlf_iv_strength(w->iv_total), (int) w->direction,
				   w->smoothed ? "true" : "false");
	for (int32_t k = 0; k < w->nbins; k++)
	{
		dlf_buf_printf(b, "%s{\"bin\": %d", k ? ", " : "", (int) k + 1);
		if (w->upper)
		{
			dlf_buf_append(b, ", \"lower\": ", 11);
			dlf_buf_json_double(b, k > 0 ? w->upper[k - 1] : -INFINITY);
			dlf_buf_append(b, ", \"upper\": ", 11);
			dlf_buf_json_double(b, w->upper[k]);
		}
		else
			bin_categories_json(b, w, k);
		bin_counts_json(b, w->n[k], w->events[k], w->woe[k], w->iv[k]);
	}
	if (w->miss_n > 0)
	{
		dlf_buf_append(b, ", {\"bin\": \"missing\"", 19);
		bin_counts_json(b, w->miss_n, w->miss_events, w->miss_woe, w->miss_iv);
	}
	dlf_buf_append(b, "]}", 2);
}
