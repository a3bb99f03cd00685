/*
 * codec_woe.c
 *	  Section WOE (13, format version 4): the weight-of-evidence tables of
 *	  the features trained with the "woe" option (woe.h).
 *
 * Payload: u32 count of WoE features (1..DLF_MAX_FEATURES), then per
 * feature, in ascending feature order: u32 feature index, i8 direction,
 * u8 smoothed, f64 total IV, u32 bins (1..DLF_MAX_WOE_BINS); a numeric
 * feature then has bins - 1 f64 cut points (strictly ascending, finite:
 * bin i is (cut[i-1], cut[i]]); every bin i64 rows, i64 events, f64 WoE,
 * f64 IV; the missing bin the same four; a text feature (SQL type text)
 * then u32 categories, each a string and a u32 bin (0xffffffff: no bin,
 * WoE 0), strictly ascending by bytes, then u32 "other" bin (0xffffffff:
 * WoE 0) and i64 "other" rows.  A feature with a table is numeric (one
 * input); a text feature without a table is categorical.
 */
#include "codec_internal.h"
#include "woe.h"

#include <math.h>
#include <string.h>

#define NO_BIN	UINT32_C(0xffffffff)

/* Checks one table's numbers. */
static DlfStatus
check_table(Ctx *c, const DlfFeature *ft, int32_t f)
{
	const DlfWoe *w = ft->woe;
	int			text = ft->sqltype == DLF_SQL_TEXT;

	if (ft->kind != DLF_FEAT_NUMERIC)
		return codec_bad(c, "Feature %d has a WoE table but is not numeric.", (int) f + 1);
	if (w->nbins < 1 || w->nbins > DLF_MAX_WOE_BINS)
		return codec_bad(c, "The WoE table of feature %d has %d bins.", (int) f + 1, (int) w->nbins);
	if (!w->n || !w->events || !w->woe || !w->iv || (!text && !w->upper))
		return codec_bad(c, "The WoE table of feature %d is incomplete.", (int) f + 1);
	if (!isfinite(w->iv_total) || !isfinite(w->miss_woe) || !isfinite(w->miss_iv) ||
		w->direction < -1 || w->direction > 1 || w->smoothed > 1 ||
		w->miss_n < 0 || w->miss_events < 0 || w->miss_events > w->miss_n)
		return codec_bad(c, "The WoE table of feature %d has an invalid summary.", (int) f + 1);
	for (int32_t i = 0; i < w->nbins; i++)
	{
		if (!isfinite(w->woe[i]) || !isfinite(w->iv[i]) || w->n[i] < 0 ||
			w->events[i] < 0 || w->events[i] > w->n[i])
			return codec_bad(c, "Bin %d of the WoE table of feature %d is invalid.",
							 (int) i + 1, (int) f + 1);
		if (!text && (i < w->nbins - 1 ? !isfinite(w->upper[i]) ||
					  (i > 0 && !(w->upper[i] > w->upper[i - 1])) :
					  !(isinf(w->upper[i]) && w->upper[i] > 0)))
			return codec_bad(c, "The bin bounds of the WoE table of feature %d are not ascending.",
							 (int) f + 1);
	}
	if (!text)
		return w->ncat == 0 ? DLF_OK :
			codec_bad(c, "Numeric feature %d has WoE categories.", (int) f + 1);
	if (w->ncat < 0 || w->ncat > DLF_MAX_CATEGORIES || (w->ncat > 0 && (!w->cats || !w->cat_bin)) ||
		w->other_bin < -1 || w->other_bin >= w->nbins || w->other_n < 0)
		return codec_bad(c, "The WoE categories of feature %d are invalid.", (int) f + 1);
	for (int32_t k = 0; k < w->ncat; k++)
		if (w->cats[k] == NULL || strlen(w->cats[k]) > DLF_MAX_NAME ||
			!dlf_utf8_valid(w->cats[k], strlen(w->cats[k])) ||
			w->cat_bin[k] < -1 || w->cat_bin[k] >= w->nbins ||
			(k > 0 && strcmp(w->cats[k - 1], w->cats[k]) >= 0))
			return codec_bad(c, "WoE category %d of feature %d is invalid or out of order.",
							 (int) k + 1, (int) f + 1);
	return DLF_OK;
}

/* The rules of the WoE tables (before encoding, after decoding). */
DlfStatus
codec_check_woe(Ctx *c, const DlfModel *m)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->woe)
			TRY(check_table(c, ft, f));
		else if (ft->sqltype == DLF_SQL_TEXT && ft->kind != DLF_FEAT_CATEGORICAL)
			return codec_bad(c, "Feature %d is text but neither categorical nor WoE-encoded.",
							 (int) f + 1);
	}
	return DLF_OK;
}

/* Writes a bin's rows, events, WoE and IV. */
static void
enc_bin(DlfBuf *b, int64_t n, int64_t events, double woe, double iv)
{
	codec_wr_u64(b, (uint64_t) n);
	codec_wr_u64(b, (uint64_t) events);
	codec_wr_f64(b, woe);
	codec_wr_f64(b, iv);
}

/* WOE: the tables, by ascending feature. */
void
codec_enc_woe(DlfBuf *b, const DlfModel *m)
{
	uint32_t	k = 0;

	for (int32_t f = 0; f < m->nfeatures; f++)
		k += m->features[f].woe != NULL;
	codec_wr_u32(b, k);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfWoe *w = m->features[f].woe;

		if (w == NULL)
			continue;
		codec_wr_u32(b, (uint32_t) f);
		codec_wr_u8(b, (uint8_t) w->direction);
		codec_wr_u8(b, w->smoothed);
		codec_wr_f64(b, w->iv_total);
		codec_wr_u32(b, (uint32_t) w->nbins);
		if (m->features[f].sqltype != DLF_SQL_TEXT)
			for (int32_t i = 0; i < w->nbins - 1; i++)
				codec_wr_f64(b, w->upper[i]);
		for (int32_t i = 0; i < w->nbins; i++)
			enc_bin(b, w->n[i], w->events[i], w->woe[i], w->iv[i]);
		enc_bin(b, w->miss_n, w->miss_events, w->miss_woe, w->miss_iv);
		if (m->features[f].sqltype != DLF_SQL_TEXT)
			continue;
		codec_wr_u32(b, (uint32_t) w->ncat);
		for (int32_t c = 0; c < w->ncat; c++)
		{
			codec_wr_str(b, w->cats[c]);
			codec_wr_u32(b, w->cat_bin[c] < 0 ? NO_BIN : (uint32_t) w->cat_bin[c]);
		}
		codec_wr_u32(b, w->other_bin < 0 ? NO_BIN : (uint32_t) w->other_bin);
		codec_wr_u64(b, (uint64_t) w->other_n);
	}
}

/* Reads a bin index, NO_BIN as -1. */
static DlfStatus
rd_bin(Rd *r, int32_t *bin, int32_t nbins)
{
	uint32_t	u = 0;
	int32_t		v = 0;

	TRY(codec_rd_int(r, &v, UINT32_MAX, "a bin"));
	u = (uint32_t) v;
	*bin = u == NO_BIN ? -1 : (int32_t) u;
	if (u != NO_BIN && u >= (uint32_t) nbins)
		return codec_bad(r->c, "Section WOE names bin %u of %d.", u + 1, (int) nbins);
	return DLF_OK;
}

/* Reads a bin's rows, events, WoE and IV. */
static DlfStatus
rd_bin_counts(Rd *r, int64_t *n, int64_t *events, double *woe, double *iv)
{
	TRY(codec_rd_i64(r, n, "bin count"));
	TRY(codec_rd_i64(r, events, "bin event count"));
	TRY(codec_rd_f64(r, woe));
	return codec_rd_f64(r, iv);
}

/* Reads the text part of a table. */
static DlfStatus
dec_text(Rd *r, DlfWoe *w)
{
	TRY(codec_rd_count(r, &w->ncat, DLF_MAX_CATEGORIES, 8, "WoE categories"));
	w->cats = dlf_alloc_array((size_t) (w->ncat ? w->ncat : 1), sizeof(char *));
	w->cat_bin = dlf_alloc_array((size_t) (w->ncat ? w->ncat : 1), sizeof(int32_t));
	if (!w->cats || !w->cat_bin)
		return codec_nomem(r->c);
	for (int32_t c = 0; c < w->ncat; c++)
	{
		TRY(codec_rd_str(r, &w->cats[c], DLF_MAX_NAME, "a WoE category"));
		TRY(rd_bin(r, &w->cat_bin[c], w->nbins));
	}
	TRY(rd_bin(r, &w->other_bin, w->nbins));
	return codec_rd_i64(r, &w->other_n, "other count");
}

/* Reads one table into feature f (already attached, so freed with m). */
static DlfStatus
dec_table(Rd *r, DlfModel *m, int32_t f)
{
	DlfFeature *ft = &m->features[f];
	DlfWoe	   *w = dlf_alloc0(sizeof(DlfWoe));
	uint8_t		u8;
	int			text = ft->sqltype == DLF_SQL_TEXT;

	if (w == NULL)
		return codec_nomem(r->c);
	ft->woe = w;
	w->other_bin = -1;
	TRY(codec_rd_u8(r, &u8));
	w->direction = (int8_t) u8;
	TRY(codec_rd_u8(r, &w->smoothed));
	TRY(codec_rd_f64(r, &w->iv_total));
	TRY(codec_rd_count(r, &w->nbins, DLF_MAX_WOE_BINS, 32, "WoE bins"));
	if (w->nbins < 1)
		return codec_bad(r->c, "Section WOE has a table without bins.");
	w->n = dlf_alloc_array((size_t) w->nbins, sizeof(int64_t));
	w->events = dlf_alloc_array((size_t) w->nbins, sizeof(int64_t));
	w->woe = dlf_alloc_array((size_t) w->nbins, sizeof(double));
	w->iv = dlf_alloc_array((size_t) w->nbins, sizeof(double));
	if (!text)
		w->upper = dlf_alloc_array((size_t) w->nbins, sizeof(double));
	if (!w->n || !w->events || !w->woe || !w->iv || (!text && !w->upper))
		return codec_nomem(r->c);
	for (int32_t i = 0; !text && i < w->nbins - 1; i++)
		TRY(codec_rd_f64(r, &w->upper[i]));
	if (!text)
		w->upper[w->nbins - 1] = INFINITY;
	for (int32_t i = 0; i < w->nbins; i++)
		TRY(rd_bin_counts(r, &w->n[i], &w->events[i], &w->woe[i], &w->iv[i]));
	TRY(rd_bin_counts(r, &w->miss_n, &w->miss_events, &w->miss_woe, &w->miss_iv));
	return text ? dec_text(r, w) : DLF_OK;
}

/* Decodes WOE after the other sections: tables by ascending feature. */
DlfStatus
codec_dec_woe(Rd *r, DlfModel *m)
{
	int32_t		n = 0,
				prev = -1;

	TRY(codec_rd_count(r, &n, DLF_MAX_FEATURES, 8, "WoE features"));
	for (int32_t k = 0; k < n; k++)
	{
		int32_t		f = 0;

		TRY(codec_rd_int(r, &f, DLF_MAX_FEATURES, "a feature index"));
		if (f <= prev || f >= m->nfeatures)
			return codec_bad(r->c, "Section WOE names feature %d out of order or range.",
							 (int) f + 1);
		prev = f;
		TRY(dec_table(r, m, f));
	}
	return codec_check_woe(r->c, m);
}
