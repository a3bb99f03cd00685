/*
 * woe.h
 *	  Weight-of-evidence encoding of features (woe.c): the bins and WoE
 *	  values a model stores for each feature trained with the "woe" option,
 *	  their construction from the training rows and their application at
 *	  scoring.
 */
#ifndef DLFIN_WOE_H
#define DLFIN_WOE_H

#include "binning.h"

/*
 * The WoE table of one feature.  The feature's network input is the WoE of
 * its value's bin (standardised like any numeric input).  Numeric: bin i
 * holds upper[i-1] < x <= upper[i] (upper[nbins-1] is +inf).  Text:
 * categories sorted by their bytes, each with its bin; a category training
 * did not see takes the bin of "other" (other_bin), or WoE 0 (neutral
 * evidence) when no training row was "other".  NULL takes the missing
 * bin, or WoE 0 when training had no NULL.
 */
typedef struct DlfWoe
{
	int32_t		nbins;
	double	   *upper;			/* numeric: [nbins]; NULL for text */
	int64_t    *n;				/* [nbins]: training rows */
	int64_t    *events;			/* [nbins]: of them events (positive class) */
	double	   *woe;			/* [nbins] */
	double	   *iv;				/* [nbins] */
	int64_t		miss_n;			/* the missing bin (NULL) */
	int64_t		miss_events;
	double		miss_woe;
	double		miss_iv;
	int32_t		ncat;			/* text: categories, ascending bytes */
	char	  **cats;
	int32_t    *cat_bin;		/* [ncat]: bin of each category */
	int32_t		other_bin;		/* text: bin of unseen categories, or -1 */
	int64_t		other_n;		/* text: training rows of "other" */
	int8_t		direction;		/* event rate with the value: +1, -1, 0 */
	uint8_t		smoothed;		/* an empty cell was smoothed by 0.5 */
	double		iv_total;
} DlfWoe;

/*
 * Bins every feature f with which[f] set on the rows of d against the
 * positive class (d->cls == 1) and encodes it: m's feature gets its table
 * (feature->woe), becomes numeric with one input (a text feature's
 * vocabulary moves into the table), and d->num[f] becomes a new column
 * (dlf_alloc'd, the caller frees it) of each row's WoE as float, d->cat[f]
 * NULL.  Binary models only.  The result depends only on the multiset of
 * rows.  DLF_ERR_INVALID when a feature cannot be binned.
 */
DlfStatus	dlf_woe_encode(DlfModel *m, DlfDataset *d, const uint8_t *which,
						   const DlfBinOptions *o, DlfError *err);

/* WoE of a numeric value (rounded to float32, as training stored it). */
double		dlf_woe_of_number(const DlfWoe *w, double v, int isnull);
/* WoE of a text value of len bytes. */
double		dlf_woe_of_text(const DlfWoe *w, const char *v, size_t len, int isnull);
/* Whether the model has a WoE-encoded feature. */
int			dlf_model_has_woe(const DlfModel *m);
/* Frees a table; NULL is fine. */
void		dlf_woe_free(DlfWoe *w);
/* Appends a table as JSON: iv, strength, bins (with the missing bin). */
void		dlf_woe_json(DlfBuf *b, const DlfWoe *w);

#endif							/* DLFIN_WOE_H */
