/*
 * dlfin_score.h
 *	  The core's interface for using a trained model: scoring (forward.c),
 *	  the identity of a cached model (mcache.c), explanation (explain.c) and
 *	  governance (govern.c).  Included by dlfin_core.h, whose types it uses;
 *	  split from it so that neither header passes ~800 lines.
 */
#ifndef DLFIN_SCORE_H
#define DLFIN_SCORE_H

#ifndef DLFIN_CORE_H
#error "include dlfin_core.h, not dlfin_score.h"
#endif

/* ---- scoring (forward.c) --------------------------------------------- */

/*
 * Largest magnitude a numeric feature may have: features are stored as
 * float4 (FLT_MAX is about 3.4e38), and a value beyond this one would
 * silently become infinite.
 */
#define DLF_FLOAT4_LIMIT	3.0e38

/*
 * Standardised network input of a raw numeric value.  Training and scoring
 * both go through here (with the value first rounded to float32, as the
 * training columns store it) so that identical inputs give identical bits.
 * Non-finite values (NULL is NaN) are imputed with the mean, i.e. 0, by
 * dlf_std_value; dlf_std_finite is for a value known to be finite.
 */
static inline float
dlf_std_finite(float x, double mean, double inv_scale)
{
	return (float) (((double) x - mean) * inv_scale);
}

/* dlf_std_finite of any value: non-finite ones (NULL is NaN) give 0. */
static inline float
dlf_std_value(float x, double mean, double inv_scale)
{
	if (!isfinite(x))
		return 0.0f;
	return dlf_std_finite(x, mean, inv_scale);
}


/* Per-query scoring workspace: no allocation per row. */
typedef struct DlfScorer DlfScorer;

DlfScorer  *dlf_scorer_new(const DlfModel *m, DlfError *err);
void		dlf_scorer_free(DlfScorer *s);
/* Input vector to fill for the next row (model inputs, zeroed by reset). */
void		dlf_scorer_reset(DlfScorer *s);
void		dlf_scorer_set_numeric(DlfScorer *s, int32_t feature, double v,
								   int isnull);
void		dlf_scorer_set_category(DlfScorer *s, int32_t feature,
									const char *v, size_t len, int isnull);
/*
 * A WoE-encoded feature (feature->woe) takes either setter: the value maps
 * to its bin's WoE, which is then standardised.  dlf_scorer_set_woe sets
 * such a feature from a WoE value directly; dlf_scorer_woe gives the WoE
 * the current input stands for (NaN for other features).
 */
void		dlf_scorer_set_woe(DlfScorer *s, int32_t feature, double woe);
double		dlf_scorer_woe(const DlfScorer *s, int32_t feature);
/*
 * Runs the network on the current inputs.  out receives: binary, the
 * positive-class probability (1 value); multiclass, class probabilities
 * (nclasses values); regression, the prediction in label units (1 value).
 * Returns nonzero when the row overflowed the network (a logit is NaN or
 * infinite): the outputs are then meaningless and the caller reports it.
 * So do the other run functions below.
 */
int			dlf_scorer_run(DlfScorer *s, double *out);
/* Whether every feature is numeric (dlf_scorer_run_numeric applies). */
int			dlf_scorer_all_numeric(const DlfScorer *s);
/*
 * Scores a row of an all-numeric model from its raw values, v[nfeatures]
 * (NaN for NULL); same out and same bits as set_numeric + run.  Leaves the
 * inputs of dlf_scorer_set_* untouched.
 */
int			dlf_scorer_run_numeric(DlfScorer *s, const double *v, double *out);
/*
 * The same in two halves, for a caller that reads each raw value itself:
 * feature f's standardised input is dlf_std_value((float) v, mean[f],
 * inv_scale[f]) (arrays owned by the scorer), and dlf_scorer_run_std scores
 * the row from the nfeatures standardised inputs x.  Same bits again.
 */
void		dlf_scorer_scaling(const DlfScorer *s, const double **mean,
							   const double **inv_scale);
int			dlf_scorer_run_std(DlfScorer *s, const float *x, double *out);

/*
 * A row as one first-layer entry per feature, for a caller that reads each
 * value itself: feature f's entry is input idx[f] with value val[f]; for a
 * numeric feature dlf_scorer_offsets(s)[f] and its standardised value (as
 * above), for a categorical one dlf_scorer_category_input() and 1.
 * dlf_scorer_run_entries scores it: same bits as set_* + run.
 */
int32_t		dlf_scorer_category_input(const DlfScorer *s, int32_t feature,
									  const char *v, size_t len, int isnull);
const int32_t *dlf_scorer_offsets(const DlfScorer *s);
int			dlf_scorer_run_entries(DlfScorer *s, const int32_t *idx,
								   const float *val, double *out);

/* Category code of a string for a feature (DLF_CAT_OTHER if unseen). */
int32_t		dlf_category_code(const DlfModel *m, int32_t feature,
							  const char *v, size_t len);
/*
 * Category codes of n strings v[i] (len[i] bytes) for feature f, through a
 * hash table of its categories (catmap.c); intr is asked every few
 * thousand strings and stops it with DLF_ERR_INTERRUPTED.
 */
DlfStatus	dlf_category_codes(const DlfModel *m, int32_t f,
							   const char *const *v, const int32_t *len,
							   int64_t n, int32_t *codes, DlfInterruptFn intr,
							   void *arg, DlfError *err);
/*
 * The current input of a feature as set on the scorer: numeric, the
 * standardised network input (0 for NULL); categorical, the category code
 * (or -1 when none was set since the last reset).
 */
double		dlf_scorer_input(const DlfScorer *s, int32_t feature);

/* ---- identity of a cached model (mcache.c) ------------------------------ */

/*
 * The bytes a scoring cache decoded its model from.  A datum matches when
 * its bytes are these bytes; the address of the last match alone decides
 * only when trust_ptr is set.  A caller may set it only when every datum
 * it passes keeps its bytes while it stays at its address, and it sets
 * last_ptr to NULL whenever it frees one (the registry's lookup); or when
 * it only ever passes one address that holds the same bytes for the life
 * of the cache (a Const of the plan).  Never for memory that may be freed
 * and reused behind its back (a variable, a parameter, a subquery's
 * result, a row).
 */
typedef struct DlfModelKey
{
	uint8_t    *bytes;			/* private copy, or NULL when empty */
	size_t		len;
	const void *last_ptr;		/* address of the last matching datum */
	int			trust_ptr;
} DlfModelKey;

/* Remembers len bytes at p (copied); see DlfModelKey for trust_ptr. */
DlfStatus	dlf_model_key_set(DlfModelKey *k, const void *p, size_t len,
							  int trust_ptr, DlfError *err);
/* Forgets the bytes. */
void		dlf_model_key_clear(DlfModelKey *k);

/*
 * Whether len bytes at a and b are equal.  From 8 to 32 bytes (a TOAST
 * pointer is 18) four overlapping word loads without a call, as it runs
 * once a row; otherwise memcmp.
 */
static inline int
dlf_same_bytes(const void *a, const void *b, size_t len)
{
	const char *pa = (const char *) a;
	const char *pb = (const char *) b;
	uint64_t	x0, x1, x2, x3, y0, y1, y2, y3;
	size_t		mid, mid2;

	if (len < 8 || len > 32)
		return memcmp(a, b, len) == 0;
	mid = len <= 16 ? 0 : 8;
	mid2 = len <= 16 ? len - 8 : len - 16;
	memcpy(&x0, pa, 8);
	memcpy(&y0, pb, 8);
	memcpy(&x1, pa + mid, 8);
	memcpy(&y1, pb + mid, 8);
	memcpy(&x2, pa + mid2, 8);
	memcpy(&y2, pb + mid2, 8);
	memcpy(&x3, pa + len - 8, 8);
	memcpy(&y3, pb + len - 8, 8);
	return ((x0 ^ y0) | (x1 ^ y1) | (x2 ^ y2) | (x3 ^ y3)) == 0;
}

/* Whether the len bytes at p are the key's bytes (inline: once a row). */
static inline int
dlf_model_key_match(DlfModelKey *k, const void *p, size_t len)
{
	if (k->bytes == NULL || len != k->len)
		return 0;
	if (p == k->last_ptr && k->trust_ptr)
		return 1;
	if (!dlf_same_bytes(p, k->bytes, len))
		return 0;
	k->last_ptr = p;
	return 1;
}

/* ---- explanation (explain.c) ------------------------------------------- */

/*
 * Integrated-gradients attribution of one row.  The explained output is
 * what dlfin_predict returns: binary, the (calibrated) positive-class
 * probability; regression, the prediction in label units; multiclass, the
 * probability of the class predicted for the row.  The baseline row has
 * every numeric input at its training mean (encoded 0) and every
 * categorical feature at its most frequent category (categories[0]; the
 * "other" code when the feature learned none).  score and baseline are
 * the scorer's (the one-row kernel's bits, as dlfin_predict gives them);
 * the path integral runs through the same network in double precision.
 */
typedef struct DlfExplanation
{
	double		score;			/* output for the row */
	double		baseline;		/* output for the baseline row */
	double	   *contrib;		/* [nfeatures], caller's buffer */
	int32_t		klass;			/* multiclass: explained class, else -1 */
	int32_t		steps;			/* trapezoid intervals used */
	double		gap;			/* sum(contrib) - (F(row) - F(baseline)),
								 * F the network in double precision */
} DlfExplanation;

/* Completeness every explanation meets: |gap| <= this (x target_scale). */
#define DLF_EXPLAIN_TOLERANCE	1e-4

typedef struct DlfExplainer DlfExplainer;

/* Per-query workspace of the explainer (no allocation per row). */
DlfExplainer *dlf_explainer_new(const DlfModel *m, DlfError *err);
void		dlf_explainer_free(DlfExplainer *e);
/*
 * Installs an interrupt callback, called between network evaluations of
 * the path integral (each is one forward and backward pass); when it
 * returns nonzero dlf_explain stops with DLF_ERR_INTERRUPTED.
 */
void		dlf_explainer_set_interrupt(DlfExplainer *e, DlfInterruptFn fn,
										void *arg);

/*
 * Explains the row currently loaded into the scorer (dlf_scorer_set_*; no
 * need to run it; the scorer runs it and the baseline row, which leaves
 * its loaded inputs as they are).  out->contrib must have room for
 * nfeatures values.
 * DLF_ERR_RANGE when the row overflows the network (a non-finite logit,
 * output or gradient anywhere on the path); DLF_ERR_INTERRUPTED when the
 * callback asked to stop; DLF_ERR_DATA if completeness could not be
 * reached (never observed).
 */
DlfStatus	dlf_explain(DlfExplainer *e, DlfScorer *s,
						DlfExplanation *out, DlfError *err);

/*
 * Reason codes: indexes of up to k features whose contribution pushed the
 * output toward the adverse side (negative contributions when adverse is
 * DLF_ADVERSE_NEGATIVE, positive otherwise), by decreasing magnitude, ties
 * by feature position.  Features with no adverse push are never listed.
 * Returns the number written to idx (room for k entries).
 */
int32_t		dlf_reason_features(const DlfModel *m, const double *contrib,
								int32_t k, int32_t *idx);

/* ---- governance (govern.c) --------------------------------------------- */

/* The calibrated positive-class probability of a binary model's logit. */
double		dlf_calibrated(const DlfModel *m, double logit);

/*
 * Training-time checks of the governance requests in the schema:
 * monotone constraints (numeric features of binary or regression models
 * only) and the calibration to fit (binary only, needs validation rows).
 */
DlfStatus	dlf_govern_check(const DlfModel *m, const DlfTrainOptions *opt,
							 DlfError *err);

/* Bin of a value in a numeric histogram: edges are inclusive upper bounds. */
int32_t		dlf_hist_bin(const DlfHistogram *h, double v);

/*
 * Population stability index of actual against expected shares (n bins):
 * sum (a - e) * ln(a / e), each share floored at DLF_PSI_FLOOR.
 */
#define DLF_PSI_FLOOR	1e-4
double		dlf_psi(const double *expected, const double *actual, int32_t n);
/*
 * Replaces the drift reference of a model (the NULL shares, the feature and
 * score distributions) with those of the rows of data (num: NaN for NULL;
 * cat: the category codes), computed as training computes its own.
 */
DlfStatus	dlf_govern_reference(DlfModel *m, const DlfDataset *data, DlfError *err);

/* PSI band: "stable" below 0.1, "moderate" up to 0.25, else "significant". */
const char *dlf_psi_band(double psi);

#endif							/* DLFIN_SCORE_H */
