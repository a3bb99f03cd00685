/*
 * forward.c
 *	  Scoring: a per-query workspace that encodes one row at a time and runs
 *	  the one-row kernel (nn_forward_row), without allocating.  Training's
 *	  evaluation encodes rows the same way and runs the same kernel, so a
 *	  score here has the bits of the one training computed for that row.
 */
#include "nn_internal.h"
#include "ensemble.h"
#include "woe.h"

#include <string.h>

#define CAT_HASH_SEED	UINT64_C(0x64666c6e63617473)	/* "dflncats" */

/* Open-addressing table of one feature's category strings. */
typedef struct CatTable
{
	uint32_t	mask;			/* size - 1; size a power of two */
	int32_t    *slot;			/* category code + 1, 0 when empty */
	uint64_t   *hash;			/* hash of the slot's string */
	uint32_t   *len;			/* length of the slot's string */
} CatTable;

struct DlfScorer
{
	const DlfModel *m;
	NnNet		net;
	NnBatch		bt;
	NnWork		work;
	float	   *x;				/* encoded inputs, units[0] */
	int32_t    *hot;			/* categorical: input set to 1, or -1 */
	double	   *mean;			/* numeric: training mean, by feature */
	double	   *inv_scale;		/* numeric: 1 / scale */
	int32_t    *offset;			/* every feature's first input: the entries
								 * of an all-numeric row */
	const int32_t *num_idx;		/* the entries' inputs for run_encoded:
								 * offset, or NULL when feature f is input
								 * f (the usual all-numeric layout) */
	CatTable   *tables;			/* [nfeatures], empty for numeric */
	double	   *wv;				/* WoE features: the WoE set, by feature */
	int			all_numeric;	/* no categorical feature */
	DlfEnsNets *ens;			/* an ensemble's members, or NULL */
};

/*
 * Hash of a category string for the scorer's tables (in memory only, never
 * stored): the first and last 8 bytes (overlapping when shorter) and the
 * length in two multiplications, the middle of a longer string through
 * dlf_hash64.  Categories are mostly short, and a lookup runs for every
 * categorical feature of every scored row.
 */
static inline uint64_t
cat_hash(const char *v, size_t len)
{
	uint64_t	a = 0,
				b = 0,
				h;

	if (len >= 8)
	{
		memcpy(&a, v, 8);
		memcpy(&b, v + len - 8, 8);
		if (len > 16)
			a ^= dlf_hash64(v + 8, len - 16, CAT_HASH_SEED);
	}
	else if (len >= 4)
	{
		uint32_t	x,
					y;

		memcpy(&x, v, 4);
		memcpy(&y, v + len - 4, 4);
		a = x;
		b = y;
	}
	else if (len > 0)
		a = (uint64_t) (uint8_t) v[0] | (uint64_t) (uint8_t) v[len / 2] << 8 |
			(uint64_t) (uint8_t) v[len - 1] << 16;
	h = (a ^ CAT_HASH_SEED) * UINT64_C(0x9e3779b97f4a7c15);
	h ^= (b + len) * UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= h >> 31;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	return h ^ (h >> 29);
}

/* Looks a string up in a feature's table; DLF_CAT_OTHER when unknown. */
static int32_t
table_lookup(const CatTable *t, const DlfFeature *ft, const char *v,
			 size_t len)
{
	uint64_t	h = cat_hash(v, len);
	uint32_t	i = (uint32_t) h & t->mask;

	for (;;)
	{
		int32_t		s = t->slot[i];

		if (s == 0)
			return DLF_CAT_OTHER(ft);
		/* a category has no NUL inside: the length and bytes decide */
		if (t->hash[i] == h && t->len[i] == len &&
			memcmp(ft->categories[s - 1], v, len) == 0)
			return s - 1;
		i = (i + 1) & t->mask;
	}
}

/* Category code of a string by linear search (no scorer at hand). */
int32_t
dlf_category_code(const DlfModel *m, int32_t feature, const char *v,
				  size_t len)
{
	const DlfFeature *ft;

	if (feature < 0 || feature >= m->nfeatures)
		return 0;
	ft = &m->features[feature];
	for (int32_t c = 0; c < ft->ncat; c++)
	{
		const char *s = ft->categories[c];

		if (strncmp(s, v, len) == 0 && s[len] == '\0')
			return c;
	}
	return DLF_CAT_OTHER(ft);
}

/* Frees a scorer. */
void
dlf_scorer_free(DlfScorer *s)
{
	if (s == NULL)
		return;
	if (s->tables)
		for (int32_t f = 0; f < s->m->nfeatures; f++)
		{
			dlf_free(s->tables[f].slot);
			dlf_free(s->tables[f].hash);
			dlf_free(s->tables[f].len);
		}
	dlf_free(s->tables);
	dlf_free(s->x);
	dlf_free(s->hot);
	dlf_free(s->mean);
	dlf_free(s->inv_scale);
	dlf_free(s->offset);
	dlf_free(s->wv);
	nn_batch_free(&s->bt);
	nn_work_free(&s->work);
	dlf_ens_nets_free(s->ens);
	dlf_free(s->ens);
	dlf_free(s);
}

/* Builds the scoring workspace of a trained model. */
DlfScorer *
dlf_scorer_new(const DlfModel *m, DlfError *err)
{
	DlfScorer  *s;
	int32_t		ninputs;

	if (m == NULL || m->nlayers < 1 || m->nlayers > DLF_MAX_HIDDEN + 1 ||
		m->units == NULL || m->weights == NULL || m->biases == NULL ||
		m->nfeatures < 1)
	{
		dlf_fail(err, DLF_ERR_INVALID, "model has no trained network");
		return NULL;
	}
	s = dlf_alloc0(sizeof(DlfScorer));
	if (s == NULL)
	{
		dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->m = m;
	s->net.nlayers = m->nlayers;
	s->net.activation = m->activation;
	for (int32_t l = 0; l <= m->nlayers; l++)
		s->net.units[l] = m->units[l];
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		/* the forward pass only reads the parameters */
		s->net.W[l] = (float *) m->weights[l];
		s->net.b[l] = (float *) m->biases[l];
	}
	s->net.S = m->skip;
	nn_row_plan(&s->net);
	ninputs = m->units[0];
	s->all_numeric = 1;
	s->x = dlf_alloc_array(ninputs, sizeof(float));
	s->hot = dlf_alloc_array(m->nfeatures, sizeof(int32_t));
	s->mean = dlf_alloc_array(m->nfeatures, sizeof(double));
	s->inv_scale = dlf_alloc_array(m->nfeatures, sizeof(double));
	s->offset = dlf_alloc_array(m->nfeatures, sizeof(int32_t));
	s->tables = dlf_alloc_array(m->nfeatures, sizeof(CatTable));
	s->wv = dlf_alloc_array(m->nfeatures, sizeof(double));
	if (!s->x || !s->hot || !s->mean || !s->inv_scale || !s->offset ||
		!s->tables || !s->wv ||
		nn_batch_alloc(&s->bt, 1, m->nfeatures, err) != DLF_OK ||
		nn_work_alloc(&s->work, &s->net, 1, 0, err) != DLF_OK)
		goto nomem;
	if (m->nmembers > 1 &&
		(!(s->ens = dlf_alloc0(sizeof(DlfEnsNets))) ||
		 dlf_ens_nets_init(s->ens, m, 1, err) != DLF_OK))
		goto nomem;
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->input_offset < 0 || ft->input_offset + ft->ninputs > ninputs)
		{
			dlf_scorer_free(s);
			dlf_fail(err, DLF_ERR_INVALID, "model feature layout is invalid");
			return NULL;
		}
		s->hot[f] = -1;
		s->mean[f] = ft->mean;
		s->inv_scale[f] = 1.0 / ft->scale;
		s->offset[f] = ft->input_offset;
		/* a WoE feature's raw value is not its input: no numeric fast path */
		if (ft->kind != DLF_FEAT_NUMERIC || ft->woe)
			s->all_numeric = 0;
		if (ft->kind == DLF_FEAT_CATEGORICAL && ft->ncat > 0)
		{
			CatTable   *t = &s->tables[f];
			uint32_t	size = 4;

			/* load factor at most 1/2 keeps probe chains short */
			while (size < (uint32_t) ft->ncat * 2)
				size *= 2;
			t->mask = size - 1;
			t->slot = dlf_alloc_array(size, sizeof(int32_t));
			t->hash = dlf_alloc_array(size, sizeof(uint64_t));
			t->len = dlf_alloc_array(size, sizeof(uint32_t));
			if (!t->slot || !t->hash || !t->len)
				goto nomem;
			for (int32_t c = 0; c < ft->ncat; c++)
			{
				const char *str = ft->categories[c];
				size_t		slen = strlen(str);
				uint64_t	h = cat_hash(str, slen);
				uint32_t	i = (uint32_t) h & t->mask;

				while (t->slot[i] != 0)
					i = (i + 1) & t->mask;
				t->slot[i] = c + 1;
				t->hash[i] = h;
				t->len[i] = (uint32_t) slen;
			}
		}
	}
	/* entry f is input f: the kernel needs no input numbers */
	s->num_idx = NULL;
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (s->offset[f] != f || !s->all_numeric)
			s->num_idx = s->offset;
	dlf_scorer_reset(s);
	return s;

nomem:
	dlf_scorer_free(s);
	dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	return NULL;
}

/* Clears the inputs set for the previous row (O(features), not O(inputs)). */
void
dlf_scorer_reset(DlfScorer *s)
{
	const DlfModel *m = s->m;

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
			s->x[ft->input_offset] = 0.0f;
		else if (s->hot[f] >= 0)
		{
			s->x[s->hot[f]] = 0.0f;
			s->hot[f] = -1;
		}
	}
}

/* Sets a numeric input: standardised, NULL (or non-finite) -> mean. */
void
dlf_scorer_set_numeric(DlfScorer *s, int32_t feature, double v, int isnull)
{
	const DlfFeature *ft;

	if (feature < 0 || feature >= s->m->nfeatures)
		return;
	ft = &s->m->features[feature];
	if (ft->woe)
	{
		dlf_scorer_set_woe(s, feature, dlf_woe_of_number(ft->woe, v, isnull));
		return;
	}
	if (ft->kind != DLF_FEAT_NUMERIC)
		return;
	/* round to float32 first: training saw float32 columns */
	s->x[ft->input_offset] = isnull ? 0.0f :
		dlf_std_value((float) v, ft->mean, s->inv_scale[feature]);
}

/* Sets a categorical input: one-hot of its code, other or missing. */
void
dlf_scorer_set_category(DlfScorer *s, int32_t feature, const char *v,
						size_t len, int isnull)
{
	const DlfFeature *ft;
	int32_t		code;

	if (feature < 0 || feature >= s->m->nfeatures)
		return;
	ft = &s->m->features[feature];
	if (ft->woe)
	{
		dlf_scorer_set_woe(s, feature, dlf_woe_of_text(ft->woe, v, len, isnull));
		return;
	}
	if (ft->kind != DLF_FEAT_CATEGORICAL)
		return;
	if (isnull || v == NULL)
		code = DLF_CAT_MISSING(ft);
	else if (ft->ncat > 0)
		code = table_lookup(&s->tables[feature], ft, v, len);
	else
		code = DLF_CAT_OTHER(ft);
	if (s->hot[feature] >= 0)
		s->x[s->hot[feature]] = 0.0f;
	s->hot[feature] = ft->input_offset + code;
	s->x[s->hot[feature]] = 1.0f;
}

/* Sets a WoE feature's input from its WoE, standardised as training did. */
void
dlf_scorer_set_woe(DlfScorer *s, int32_t feature, double woe)
{
	const DlfFeature *ft;

	if (feature < 0 || feature >= s->m->nfeatures)
		return;
	ft = &s->m->features[feature];
	if (ft->woe == NULL)
		return;
	s->wv[feature] = woe;
	/* the training column held the WoE as float32 */
	s->x[ft->input_offset] = dlf_std_value((float) woe, ft->mean, s->inv_scale[feature]);
}

/* The WoE a WoE feature's current input stands for; NaN for others. */
double
dlf_scorer_woe(const DlfScorer *s, int32_t feature)
{
	if (feature < 0 || feature >= s->m->nfeatures || !s->m->features[feature].woe)
		return NAN;
	return (double) (float) s->wv[feature];
}

/*
 * The first-layer input a categorical feature's value sets (the input of
 * its one-hot code: category, other or missing), as
 * dlf_scorer_set_category sets it; -1 for a feature that is not
 * categorical.
 */
int32_t
dlf_scorer_category_input(const DlfScorer *s, int32_t feature,
						  const char *v, size_t len, int isnull)
{
	const DlfFeature *ft = &s->m->features[feature];

	if (ft->kind != DLF_FEAT_CATEGORICAL)
		return -1;
	if (isnull || v == NULL)
		return ft->input_offset + DLF_CAT_MISSING(ft);
	if (ft->ncat > 0)
		return ft->input_offset + table_lookup(&s->tables[feature], ft, v, len);
	return ft->input_offset + DLF_CAT_OTHER(ft);
}

/* Every feature's first input (the entry of a numeric feature). */
const int32_t *
dlf_scorer_offsets(const DlfScorer *s)
{
	return s->offset;
}

/*
 * Runs the network on the row's first-layer entries (input idx[k], value
 * val[k]; one per feature, see nn.c; idx NULL: input k) and writes the
 * outputs.  Returns nonzero when a logit is not finite: the inputs
 * overflowed the network and the outputs mean nothing (one test a row).
 */
static inline int
run_encoded(DlfScorer *s, const int32_t *idx, const float *val, double *out)
{
	const DlfModel *m = s->m;
	int32_t		nout = m->units[m->nlayers];
	float		z0 = s->ens ?
		dlf_ens_forward_row(s->ens, idx, val, m->nfeatures, s->work.act) :
		nn_forward_row(&s->net, idx, val, m->nfeatures, s->work.act);
	const float *z = s->work.act[m->nlayers - 1];

	if (m->task == DLF_TASK_MULTICLASS)
	{
		double		mx = z[0],
					sum = 0.0;

		for (int32_t j = 1; j < nout; j++)
			if (z[j] > mx)
				mx = z[j];
		for (int32_t j = 0; j < nout; j++)
		{
			out[j] = exp((double) z[j] - mx);
			sum += out[j];
		}
		for (int32_t j = 0; j < nout; j++)
			out[j] /= sum;
		/* a NaN or infinite logit makes mx or the sum non-finite */
		return !isfinite(mx) || !isfinite(sum) || !(sum >= 1.0);
	}
	if (m->task == DLF_TASK_REGRESSION)
		out[0] = (double) z0 * m->target_scale + m->target_mean;
	else if (m->calibration == DLF_CALIB_NONE)
	{
		/* dlf_calibrated's sigmoid, without the call */
		out[0] = 1.0 / (1.0 + exp(-(double) z0));
	}
	else
		out[0] = dlf_calibrated(m, (double) z0);
	return !isfinite(z0) || !isfinite(out[0]);
}

/* Scores a row given as first-layer entries, one per feature (nn.c). */
int
dlf_scorer_run_entries(DlfScorer *s, const int32_t *idx, const float *val,
					   double *out)
{
	return run_encoded(s, idx, val, out);
}

/* Runs the network on the current inputs; see dlfin_core.h for out. */
int
dlf_scorer_run(DlfScorer *s, double *out)
{
	const DlfModel *m = s->m;
	int32_t    *idx = s->bt.idx;
	float	   *val = s->bt.val;

	/* one entry per feature, as training encodes its rows */
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_NUMERIC)
		{
			idx[f] = ft->input_offset;
			val[f] = s->x[ft->input_offset];
		}
		else if (s->hot[f] >= 0)
		{
			idx[f] = s->hot[f];
			val[f] = 1.0f;
		}
		else
		{
			/* no category set since the reset: no contribution */
			idx[f] = ft->input_offset;
			val[f] = 0.0f;
		}
	}
	return run_encoded(s, idx, val, out);
}

/* Whether every feature of the scorer's model is numeric. */
int
dlf_scorer_all_numeric(const DlfScorer *s)
{
	return s->all_numeric;
}

/*
 * Scores one row of an all-numeric model from raw values (NaN for NULL):
 * the same entries as dlf_scorer_set_numeric and dlf_scorer_run, without
 * the input vector.
 */
int
dlf_scorer_run_numeric(DlfScorer *s, const double *v, double *out)
{
	float	   *val = s->bt.val;

	/* round to float32 first: training saw float32 columns */
	for (int32_t f = 0; f < s->m->nfeatures; f++)
		val[f] = dlf_std_value((float) v[f], s->mean[f], s->inv_scale[f]);
	return run_encoded(s, s->num_idx, val, out);
}

/* The standardisation of each feature of an all-numeric model. */
void
dlf_scorer_scaling(const DlfScorer *s, const double **mean,
				   const double **inv_scale)
{
	*mean = s->mean;
	*inv_scale = s->inv_scale;
}

/* Scores one row of an all-numeric model from standardised inputs x. */
int
dlf_scorer_run_std(DlfScorer *s, const float *x, double *out)
{
	return run_encoded(s, s->num_idx, x, out);
}

/* The current input of a feature: standardised value or category code. */
double
dlf_scorer_input(const DlfScorer *s, int32_t feature)
{
	const DlfFeature *ft;

	if (feature < 0 || feature >= s->m->nfeatures)
		return 0.0;
	ft = &s->m->features[feature];
	if (ft->kind == DLF_FEAT_NUMERIC)
		return s->x[ft->input_offset];
	return s->hot[feature] < 0 ? -1.0 : (double) (s->hot[feature] - ft->input_offset);
}
