/*
 * dlfin_core.h
 *	  Public interface of the dlfin numeric core.
 *
 * The core is plain C11 with no PostgreSQL headers: tensors and kernels, the
 * multilayer perceptron, the training loop, the model codec, metrics and
 * attributions.  It allocates only through dlf_alloc() (the caller installs
 * the allocator), never calls exit() or longjmp(), and reports failures as a
 * DlfStatus plus a DlfError message, so the PostgreSQL glue can turn them
 * into ereport() calls with the right SQLSTATE.  Worker threads of the core
 * never allocate and never call back into the caller.
 */
#ifndef DLFIN_CORE_H
#define DLFIN_CORE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DLF_VERSION			"0.2.0"
#define DLF_FORMAT_VERSION	4	/* newest readable: 1 unless an ensemble (2),
								 * a skip path (3) or WoE features (4) */
#define DLF_FORMAT_VERSION_SINGLE	1	/* what a one-network model is written as */

/*
 * Hard limits.  They bound every allocation made from model bytes or options,
 * so that a forged model or a hostile option cannot make the server allocate
 * without bound.  The README documents them.
 */
#define DLF_MAX_HIDDEN		16		/* hidden layers */
#define DLF_MAX_UNITS		4096	/* units per layer */
#define DLF_MAX_INPUTS		65536	/* encoded inputs (one-hot expanded) */
#define DLF_MAX_FEATURES	1024	/* feature columns */
#define DLF_MAX_CATEGORIES	65536	/* learned categories per feature */
#define DLF_MAX_CLASSES		1024	/* classes of a classifier */
#define DLF_MAX_PARAMS		(32 * 1024 * 1024)	/* weights and biases */
#define DLF_MAX_NAME		1024	/* bytes of a feature/category/class name */
#define DLF_MAX_EPOCHS		100000
#define DLF_MAX_HISTORY		DLF_MAX_EPOCHS
#define DLF_MAX_METRICS		64
#define DLF_MAX_ENSEMBLE	64		/* networks of one model ("ensemble") */
#define DLF_MAX_MODEL_BYTES	((size_t) 512 * 1024 * 1024)

/* Result of every fallible core function. */
typedef enum DlfStatus
{
	DLF_OK = 0,
	DLF_ERR_NOMEM,				/* allocator returned NULL */
	DLF_ERR_INTERRUPTED,		/* interrupt callback asked to stop */
	DLF_ERR_CORRUPT,			/* model bytes invalid */
	DLF_ERR_INVALID,			/* invalid argument or option value */
	DLF_ERR_LIMIT,				/* a hard limit above was exceeded */
	DLF_ERR_DATA,				/* training data unusable (one class, ...) */
	DLF_ERR_RANGE				/* a value overflowed (scoring, explaining) */
} DlfStatus;

/* Interrupt callback: nonzero when the caller wants the work to stop. */
typedef int (*DlfInterruptFn) (void *arg);

/* Error report filled by a failing core function. */
typedef struct DlfError
{
	DlfStatus	code;
	/* sized so that a quoted name of DLF_MAX_NAME bytes fits */
	char		message[1400];	/* primary message, style-guide form */
	char		detail[2600];	/* full sentence, or empty */
	char		hint[256];		/* full sentence, or empty */
} DlfError;

/* Sets err and returns code; message is printf-style. */
DlfStatus	dlf_fail(DlfError *err, DlfStatus code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Sets err->hint; printf-style. */
void		dlf_hint(DlfError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Sets err->detail; printf-style. */
void		dlf_detail(DlfError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* ---- memory -------------------------------------------------------- */

typedef void *(*DlfAllocFn) (size_t size);	/* NULL on failure */
typedef void (*DlfFreeFn) (void *ptr);

/* Installs the allocator used by the whole core (default: malloc/free). */
void		dlf_set_allocator(DlfAllocFn alloc_fn, DlfFreeFn free_fn);
void	   *dlf_alloc(size_t size);
void	   *dlf_alloc0(size_t size);	/* zeroed */
void	   *dlf_alloc_array(size_t n, size_t size); /* overflow-checked */
void		dlf_free(void *ptr);	/* NULL is fine */
/* Zeroed array aligned to 64 bytes (cache line, widest vector); overflow-checked. */
void	   *dlf_alloc_array_aligned(size_t n, size_t size);
void		dlf_free_aligned(void *ptr);	/* for dlf_alloc_array_aligned; NULL ok */
char	   *dlf_strndup(const char *s, size_t len);

/* Growable byte buffer, used by the codec and JSON writers. */
typedef struct DlfBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	int			failed;			/* an allocation failed; contents invalid */
} DlfBuf;

void		dlf_buf_init(DlfBuf *b);
void		dlf_buf_free(DlfBuf *b);
void		dlf_buf_append(DlfBuf *b, const void *data, size_t len);
void		dlf_buf_printf(DlfBuf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
void		dlf_buf_json_string(DlfBuf *b, const char *s);	/* quoted, escaped */
void		dlf_buf_json_double(DlfBuf *b, double v);	/* null if not finite */

/* ---- hashing and random numbers ------------------------------------- */

/* Project's own 64-bit hash: stable across machines, versions, endianness. */
uint64_t	dlf_hash64(const void *data, size_t len, uint64_t seed);
void		dlf_sort_u64(uint64_t *a, int64_t n);	/* in place, no scratch */

/*
 * splitmix64 finaliser: a bijective 64-bit mixer.  Inline, because the
 * canonical row order calls it for every value of every row.
 */
static inline uint64_t
dlf_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}
uint32_t	dlf_crc32(const void *data, size_t len);

/* Private PRNG (xoshiro256**), never the session's random(). */
typedef struct DlfRng
{
	uint64_t	s[4];
} DlfRng;

void		dlf_rng_seed(DlfRng *rng, uint64_t seed);
uint64_t	dlf_rng_next(DlfRng *rng);
double		dlf_rng_uniform(DlfRng *rng);	/* [0, 1) */
double		dlf_rng_normal(DlfRng *rng);	/* standard normal */
uint64_t	dlf_rng_below(DlfRng *rng, uint64_t n);	/* [0, n), unbiased */

/* ---- the model -------------------------------------------------------- */

typedef enum DlfTask
{
	DLF_TASK_BINARY = 1,
	DLF_TASK_MULTICLASS = 2,
	DLF_TASK_REGRESSION = 3
} DlfTask;

/* "optimizer": "auto" picks L-BFGS up to this many rows (doc/quality.md) */
#define DLF_AUTO_LBFGS_ROWS	20000
/*
 * Without "optimizer", sets of up to this many rows train the small-data
 * recipe (L-BFGS, "l2": "auto", the "cv" ensemble): dlf_train_resolve.
 */
#define DLF_DEFAULT_CV_ROWS	5000

typedef enum DlfActivation
{
	DLF_ACT_RELU = 1,
	DLF_ACT_TANH = 2,
	DLF_ACT_SIGMOID = 3,
	DLF_ACT_LEAKY_RELU = 4		/* slope 0.01 below zero */
} DlfActivation;

typedef enum DlfOptimizer
{
	DLF_OPTIM_DEFAULT = 0,		/* not given: dlf_train_resolve decides */
	DLF_OPTIM_SGD = 1,
	DLF_OPTIM_MOMENTUM = 2,		/* heavy ball, momentum 0.9 */
	DLF_OPTIM_ADAM = 3,			/* beta1 0.9, beta2 0.999, eps 1e-8 */
	DLF_OPTIM_LBFGS = 4,		/* full batch, epochs = max iterations */
	DLF_OPTIM_AUTO = 5			/* lbfgs up to DLF_AUTO_LBFGS_ROWS, else adam */
} DlfOptimizer;

/* How a feature is encoded into network inputs. */
typedef enum DlfFeatureKind
{
	DLF_FEAT_NUMERIC = 1,		/* one input: (x - mean) / scale, NULL -> 0 */
	DLF_FEAT_CATEGORICAL = 2	/* ncat + 2 one-hot inputs: categories, other,
								 * missing */
} DlfFeatureKind;

/* Which SQL values scoring accepts for a feature (what training saw). */
typedef enum DlfSqlType
{
	DLF_SQL_NUMBER = 1,			/* int2/int4/int8/float4/float8/numeric */
	DLF_SQL_BOOL = 2,			/* boolean, encoded as numeric 0/1 */
	DLF_SQL_TEXT = 3			/* text/varchar, categorical */
} DlfSqlType;

/*
 * A training-time distribution, kept for drift checks: for numeric values
 * nbins shares between nbins-1 ascending cut points (deciles); for a
 * categorical feature one share per code (ncat + 2), edges NULL.
 */
typedef struct DlfHistogram
{
	int32_t		nbins;
	double	   *edges;			/* [nbins - 1] or NULL */
	double	   *share;			/* [nbins], sums to 1 */
} DlfHistogram;

typedef struct DlfFeature
{
	char	   *name;
	uint8_t		kind;			/* DlfFeatureKind */
	uint8_t		sqltype;		/* DlfSqlType */
	int8_t		monotone;		/* -1, 0, +1: monotone constraint */
	double		mean;			/* numeric: training mean (imputes NULL) */
	double		scale;			/* numeric: training std. dev. (1 if 0) */
	double		missing_share;	/* share of NULL values in training */
	int32_t		ncat;			/* categorical: learned categories */
	char	  **categories;		/* categorical: most frequent first */
	char	   *reason;			/* adverse-action reason text, or NULL */
	double		importance;		/* permutation importance, NaN if unknown */
	DlfHistogram dist;			/* training distribution (nbins 0 if none) */
	struct DlfWoe *woe;			/* "woe": the bins the input encodes (woe.h;
								 * kind numeric, one input), or NULL */
	/* derived on decode/creation, not stored: */
	int32_t		input_offset;	/* first network input of this feature */
	int32_t		ninputs;		/* 1, or ncat + 2 */
} DlfFeature;

/* A categorical code for "not one of the learned categories". */
#define DLF_CAT_OTHER(f)	((f)->ncat)
/* A categorical code for NULL. */
#define DLF_CAT_MISSING(f)	((f)->ncat + 1)

typedef struct DlfModel
{
	uint8_t		task;			/* DlfTask */
	uint8_t		activation;		/* DlfActivation of hidden layers */

	int32_t		nfeatures;
	DlfFeature *features;

	/* classes: binary [negative, positive]; multiclass sorted; else none */
	int32_t		nclasses;
	char	  **classes;

	/* regression: network output * target_scale + target_mean */
	double		target_mean;
	double		target_scale;

	/*
	 * Network: nlayers weight layers; units[0] is the number of encoded
	 * inputs and units[nlayers] the number of outputs (1 for binary and
	 * regression, nclasses for multiclass).  weights[l] is units[l] x
	 * units[l+1], row-major by input unit; biases[l] has units[l+1] entries.
	 * Hidden layers use `activation'; the output layer is linear (logit).
	 */
	int32_t		nlayers;
	int32_t    *units;
	float	  **weights;
	float	  **biases;

	/*
	 * Ensemble ("ensemble": k, ensemble.c): nmembers networks of the shape
	 * above, 0 or 1 meaning the one network.  Member 0 is weights/biases;
	 * member e >= 1 is mweights/mbiases[(e - 1) * nlayers + l].  The
	 * model's output is the mean probability (regression: mean output).
	 */
	int32_t		nmembers;
	float	  **mweights;
	float	  **mbiases;

	/*
	 * Linear skip path ("skip": true, nn_skip.c), or NULL: per member a
	 * units[0] x units[nlayers] matrix (row-major by input) whose product
	 * with the inputs is added to the logits; member e's at e * that size.
	 */
	float	   *skip;

	/* training metadata */
	char	   *options_json;	/* effective options, JSON text */
	int64_t		rows_train;
	int64_t		rows_valid;
	int32_t		epochs_run;
	int32_t		best_epoch;		/* 1-based; 0 when no validation */
	double		best_valid_loss;	/* NaN when no validation */
	int32_t		nhistory;		/* epochs recorded */
	float	   *train_loss;		/* [nhistory] */
	float	   *valid_loss;		/* [nhistory], NaN without validation */
	int32_t		nmetrics;		/* validation metrics, name -> value */
	char	  **metric_names;
	double	   *metric_values;

	/* explanation and governance */
	uint8_t		adverse;		/* DlfAdverse: which class is adverse */
	uint8_t		calibration;	/* DlfCalibration applied to binary scores */
	double		platt_a;		/* p = 1 / (1 + exp(a * logit + b)) */
	double		platt_b;
	int32_t		niso;			/* isotonic: points, x ascending */
	double	   *iso_x;
	double	   *iso_y;
	double		ece_before;		/* validation ECE before calibration */
	double		ece_after;		/* ... and after; NaN when unknown */
	DlfHistogram score_dist;	/* training score distribution */
	char	   *cv_json;		/* "l2": "auto": the CV results as JSON, or
								 * NULL (not stored; the glue adds it to
								 * the options) */
} DlfModel;

typedef enum DlfAdverse
{
	DLF_ADVERSE_NEGATIVE = 0,	/* positive class is the good outcome */
	DLF_ADVERSE_POSITIVE = 1	/* positive class is the bad outcome */
} DlfAdverse;

typedef enum DlfCalibration
{
	DLF_CALIB_NONE = 0,
	DLF_CALIB_PLATT = 1,
	DLF_CALIB_ISOTONIC = 2
} DlfCalibration;

/* Allocates an empty model (all zero, NaN losses). */
DlfModel   *dlf_model_new(void);
/* Frees a model and everything it owns; NULL is fine. */
void		dlf_model_free(DlfModel *m);
/* Fills input_offset/ninputs of every feature; returns total inputs. */
int32_t		dlf_model_layout(DlfModel *m);
/* Number of weights and biases of one network's layers. */
int64_t		dlf_model_nparams(const DlfModel *m);
/* Number of skip-path weights of one network (0 without a skip path). */
int64_t		dlf_model_nskip(const DlfModel *m);
/* Number of parameters of the whole model: every member, skip paths included. */
int64_t		dlf_model_nparams_total(const DlfModel *m);
/* Adds or replaces a metric. */
DlfStatus	dlf_model_set_metric(DlfModel *m, const char *name, double value,
								 DlfError *err);

/* ---- feature names (names.c) ------------------------------------------ */

/*
 * Settles n feature names from candidates (NULL allowed): unusable or
 * repeated ones become f<i> (f<i>_<k> when taken).  out[i] are new strings.
 */
DlfStatus	dlf_settle_feature_names(const char *const *cand, int32_t n,
									 char **out, DlfError *err);

/* Outcome of matching a model's features to named columns. */
typedef enum DlfMatch
{
	DLF_MATCH_OK = 0,
	DLF_MATCH_MISSING,			/* no column has the feature's name */
	DLF_MATCH_AMBIGUOUS			/* two columns have it */
} DlfMatch;

/* Maps feature f to the index map[f] of the column named like it. */
DlfMatch	dlf_match_features(const DlfModel *m, const char *const *cols,
							   int32_t ncols, int32_t *map, int32_t *feature);

/* ---- the codec (codec.c) --------------------------------------------- */

/* Serialises a model into bytes allocated with dlf_alloc. */
DlfStatus	dlf_model_encode(const DlfModel *m, uint8_t **out, size_t *outlen,
							 DlfError *err);

/*
 * Parses and fully validates model bytes.  Never reads outside [buf, buf+len),
 * never allocates more than the limits allow; DLF_ERR_CORRUPT on any defect.
 */
DlfStatus	dlf_model_decode(const uint8_t *buf, size_t len, DlfModel **out,
							 DlfError *err);

/* Names of codes, as options, messages and model_info spell them. */
const char *dlf_task_name(int task);
const char *dlf_activation_name(int act);
const char *dlf_optimizer_name(int opt);
/* The names by code - 1, NULL-terminated: the options parse by them. */
extern const char *const dlf_activation_names[];
extern const char *const dlf_optimizer_names[];
const char *dlf_sqltype_name(int sqltype);	/* DlfSqlType: number, boolean, text */

/* Writes the model description of dlfin_model_info() as JSON text. */
void		dlf_model_info_json(const DlfModel *m, const uint8_t *bytes,
								size_t nbytes, DlfBuf *out);

/* ---- training data and options (train.c) ------------------------------ */

/*
 * Column-wise training data.  Numeric columns are float32 with NaN for NULL;
 * categorical columns hold codes 0..ncat-1 for learned categories,
 * DLF_CAT_OTHER for rare ones and DLF_CAT_MISSING for NULL (see the feature
 * in the model).  Labels are class indexes (into model->classes) for
 * classification and raw values for regression.  A classifier's labels may
 * instead be given compactly as cls (2 bytes a row); then label is unused.
 */
typedef struct DlfDataset
{
	int64_t		nrows;
	int32_t		nfeatures;
	float	  **num;			/* [nfeatures]: column or NULL */
	int32_t   **cat;			/* [nfeatures]: column or NULL */
	double	   *label;			/* [nrows], unless cls is set */
	uint16_t   *cls;			/* [nrows] class indexes, or NULL */
} DlfDataset;

/* Label of row i: its class index or its value. */
static inline double
dlf_label(const DlfDataset *d, int64_t i)
{
	return d->cls ? (double) d->cls[i] : d->label[i];
}

typedef struct DlfTrainOptions
{
	int32_t		nhidden;
	int32_t		hidden[DLF_MAX_HIDDEN];
	int			activation;		/* DlfActivation */
	int			optimizer;		/* DlfOptimizer */
	double		learning_rate;
	int32_t		batch_size;
	int32_t		epochs;
	double		l2;
	int			l2_auto;		/* "l2": "auto": choose l2 by CV (cv.c) */
	int32_t		cv_folds;		/* folds of that CV, 2..64 */
	double		dropout;		/* on hidden layers, [0, 1) */
	double		validation_fraction;	/* [0, 0.9]; 0 disables */
	int32_t		patience;		/* epochs without improvement */
	double	   *class_weights;	/* [nclasses] or NULL for 1.0 each */
	int			balanced;		/* class_weight "balanced" */
	uint64_t	seed;
	int			nthreads;		/* 0: the caller's default */
	const DlfModel *init;		/* warm start, schema already checked */
	/* without init: scaling and target scaling to use (data-parallel) */
	const DlfModel *encoding;
	int32_t		ensemble;		/* networks to train, 1..DLF_MAX_ENSEMBLE */
	int			ens_sample;		/* DlfEnsSample: rows each member sees */
	_Bool		skip;			/* a linear skip path, inputs to outputs */
	int			given;			/* DLF_GIVEN_* of the options the caller set */
	int64_t		tile_min_rows;	/* tests: tile the features from this many
								 * rows (train_tile.c; 0: the default) */
	int64_t		permute_min_rows;	/* tests: rearrange the rows from this
									 * many (train_layout.c; 0: the default) */
	int			consume;		/* the caller reads the rows no more: they
								 * may be left in another order (one
								 * network only; see train_layout.c) */
	/* set by ensemble.c and cv.c only: */
	int			bare;			/* the network only: no metrics, importance,
								 * calibration or distributions */
	int32_t		member;			/* 1..ensemble while training a member */
	int			stats_only;		/* store the feature statistics, no network */
	int32_t		nextra;			/* member 1: the other members, trained */
	const DlfModel *const *extra;
} DlfTrainOptions;

/* Which training rows each member of an ensemble sees. */
typedef enum DlfEnsSample
{
	DLF_ENS_SEEDS = 0,			/* all of them; only the seed differs */
	DLF_ENS_BOOTSTRAP = 1,		/* a Poisson(1) bootstrap of them */
	DLF_ENS_FOLDS = 2,			/* all but a 1/k fold of them */
	DLF_ENS_CV = 3				/* "l2": "auto"'s fits: the refit and the
								 * chosen penalty's cv_folds fold fits */
} DlfEnsSample;

/* Which options the caller set (DlfTrainOptions.given), for the rule. */
#define DLF_GIVEN_L2		0x1	/* "l2" */
#define DLF_GIVEN_ENSEMBLE	0x2	/* "ensemble" or "ensemble_sample" */
#define DLF_GIVEN_ADAM		0x4	/* an option only Adam's recipe reads:
								 * learning_rate, batch_size, patience,
								 * validation_fraction */

/* Fills opt with the defaults documented in the README. */
void		dlf_train_options_default(DlfTrainOptions *opt);

/*
 * Resolves optimizer DLF_OPTIM_DEFAULT (cv.c, doc/quality.md "The
 * defaults"): sets of at most DLF_DEFAULT_CV_ROWS rows whose every class
 * has cv_folds rows, without dropout, init, encoding or an Adam-only
 * option, take L-BFGS, "l2": "auto" unless "l2" is given, and the "cv"
 * ensemble unless "ensemble" or a calibration is given; the others one
 * Adam network.  Other optimizers are left alone.  Idempotent.
 */
void		dlf_train_resolve(DlfTrainOptions *opt, const DlfModel *m,
							  const DlfDataset *data);

/* Per-epoch progress, passed to the epoch callback. */
typedef struct DlfEpochReport
{
	int32_t		epoch;			/* 1-based */
	double		train_loss;
	double		valid_loss;		/* NaN without validation */
	double		valid_metric;	/* task's main metric, NaN without */
	const char *metric_name;
	double		seconds;		/* since training started */
} DlfEpochReport;

typedef struct DlfTrainHooks
{
	/* returns nonzero to stop; called often from the calling thread only */
	int			(*interrupted) (void *arg);
	/* called after each epoch from the calling thread; may be NULL */
	void		(*epoch_done) (void *arg, const DlfEpochReport *r);
	void	   *arg;
} DlfTrainHooks;

/*
 * Trains the network of `m'.  On entry m holds the task, classes and the
 * feature schema (names, kinds, sqltypes, categories, monotone
 * constraints, reason texts), the adverse side and the calibration to fit
 * (m->calibration); dlf_train computes
 * the feature statistics, target scaling, architecture, weights, history,
 * validation metrics, importances, calibration and training distributions
 * (see govern.c).  Monotone constraints hold by construction.  The result depends only on the multiset of rows
 * and the options, not on row order: rows are put in a canonical order
 * before the seeded shuffle.  The dataset may be modified (reordered).
 */
DlfStatus	dlf_train(DlfModel *m, DlfDataset *data, const DlfTrainOptions *opt,
					  const DlfTrainHooks *hooks, DlfError *err);

/*
 * dlf_train with the defaults' rule (dlf_train_resolve) and the auto
 * choices of opt resolved (cv.c): optimizer
 * DLF_OPTIM_AUTO by the row count, l2_auto by stratified k-fold CV over a
 * grid of l2 = alpha / rows, alpha in {3, 10, 17, 30} ({1, 3, 10, 17, 30} for the
 * "cv" ensemble), then a refit on all
 * rows (no validation split unless a calibration is fitted); the CV
 * results go to m->cv_json and the metrics cv_<metric> and cv_<metric>_sd.
 */
DlfStatus	dlf_train_auto(DlfModel *m, DlfDataset *data,
						   const DlfTrainOptions *opt,
						   const DlfTrainHooks *hooks, DlfError *err);
/*
 * Cross-validation for users (dlfin_cv; cv_eval.c): opt->cv_folds
 * stratified folds by content (cv.c's), each fold's complement trained
 * with dlf_train_auto on a copy of m's schema and the fold scored; *out
 * receives JSON (dlf_alloc'd): task, folds, rows, the main metric's name,
 * per_fold (train_rows, test_rows, the task's metrics) and their mean and
 * sd.  m and data are not changed; no model is kept.  DLF_ERR_INVALID
 * when a class has fewer rows than folds.
 */
DlfStatus	dlf_cv_evaluate(const DlfModel *m, const DlfDataset *data,
							const DlfTrainOptions *opt,
							const DlfTrainHooks *hooks, char **out,
							DlfError *err);
/*
 * Trains opt->ensemble networks into m (ensemble.c): dlf_train when it is
 * 1; otherwise members 2..k on schema copies, then member 1 into m, whose
 * metrics and governance are the ensemble's.  Called by dlf_train_auto.
 */
DlfStatus	dlf_train_ensemble(DlfModel *m, DlfDataset *data,
							   const DlfTrainOptions *opt,
							   const DlfTrainHooks *hooks, DlfError *err);
/* Weights of layer l of member e (0 = m->weights). */
static inline float *
dlf_member_weights(const DlfModel *m, int32_t e, int32_t l)
{
	return e == 0 ? m->weights[l] : m->mweights[(size_t) (e - 1) * m->nlayers + l];
}
static inline float *
dlf_member_biases(const DlfModel *m, int32_t e, int32_t l)
{
	return e == 0 ? m->biases[l] : m->mbiases[(size_t) (e - 1) * m->nlayers + l];
}
/* Skip-path weights of member e, or NULL without a skip path. */
static inline float *
dlf_member_skip(const DlfModel *m, int32_t e)
{
	return m->skip ? m->skip + (size_t) e * m->units[0] * m->units[m->nlayers] : NULL;
}
/* Networks in m: 1 unless an ensemble. */
static inline int32_t
dlf_model_members(const DlfModel *m)
{
	return m->nmembers > 1 ? m->nmembers : 1;
}
/* Zeroes first-layer input `input' in every member (unused one-hot inputs). */
void		dlf_model_zero_input(DlfModel *m, int32_t input);

/* The optimiser opt's "auto" stands for on n rows (others unchanged). */
int			dlf_auto_optimizer(const DlfTrainOptions *opt, int64_t n);

/* ---- metrics (metrics.c) --------------------------------------------- */

/* Binary classification metrics of scores against 0/1 labels. */
typedef struct DlfBinaryMetrics
{
	int64_t		n;
	int64_t		positives;
	int64_t		tp, fp, tn, fn;	/* at the threshold: score >= threshold */
	double		accuracy, precision, recall, specificity, f1;
	double		auc;			/* exact, ties averaged; NaN if one class */
	double		ks;				/* NaN if one class */
	double		logloss;		/* scores clipped to [1e-15, 1 - 1e-15] */
	double		brier;
	double		ece;			/* 10 equal-width bins */
} DlfBinaryMetrics;

/*
 * Computes binary metrics; score and label are not modified.  Needs
 * O(n) scratch memory (DLF_ERR_NOMEM when the allocator refuses).
 */
DlfStatus	dlf_binary_metrics(const double *score, const uint8_t *label,
							   int64_t n, double threshold,
							   DlfBinaryMetrics *out, DlfError *err);

typedef struct DlfRegressionMetrics
{
	int64_t		n;
	double		mse, rmse, mae, r2;	/* r2 NaN when actuals are constant */
} DlfRegressionMetrics;

void		dlf_regression_metrics(const double *pred, const double *actual,
								   int64_t n, DlfRegressionMetrics *out);

/* Multiclass accuracy and macro F1 of class indexes in [0, nclasses). */
DlfStatus	dlf_multiclass_summary(const int32_t *pred, const int32_t *actual,
								   int64_t n, int32_t nclasses,
								   double *accuracy, double *macro_f1,
								   DlfError *err);

/*
 * The main metric of a task on n rows, its name into *name: binary, AUC of
 * score against bin; multiclass, accuracy of pred against act; regression,
 * RMSE of score against label.  Arrays a task does not use may be NULL.
 */
DlfStatus	dlf_main_metric(int task, int32_t nclasses, const double *score,
							const uint8_t *bin, const double *label,
							const int32_t *pred, const int32_t *act, int64_t n,
							double *value, const char **name, DlfError *err);

/* scoring, cached-model identity, explanation, governance */
#include "dlfin_score.h"

#endif							/* DLFIN_CORE_H */
