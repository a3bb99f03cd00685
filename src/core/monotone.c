/*
 * monotone.c
 *	  Monotone constraints: the checks and the projection of the
 *	  parameters onto the set of monotone networks.
 *
 * Monotone constraints hold by construction.  Every hidden activation
 * dlfin offers is non-decreasing, so if the first-layer weights leaving an
 * input with constraint s all have sign s and every deeper weight
 * (including the output layer's) is non-negative, each unit is a
 * non-decreasing function of s * input, and so is the output logit.  The
 * probability (sigmoid, Platt with a <= 0, isotonic) and the regression
 * output (target_scale > 0) are non-decreasing in the logit.  The trainer
 * projects the parameters onto that set after initialisation and after
 * every optimiser step (projected gradient descent).
 */
#include "govern_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- monotone constraints -------------------------------------------------- */

/* Checks the governance requests before training. */
DlfStatus
dlf_govern_check(const DlfModel *m, const DlfTrainOptions *opt, DlfError *err)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->monotone == 0)
			continue;
		if (ft->monotone < -1 || ft->monotone > 1)
			return dlf_fail(err, DLF_ERR_INVALID,
							"monotone constraint of feature \"%s\" must be -1, 0 or 1",
							ft->name);
		if (ft->kind != DLF_FEAT_NUMERIC)
			return dlf_fail(err, DLF_ERR_INVALID,
							"categorical feature \"%s\" cannot have a monotone constraint",
							ft->name);
		if (m->task == DLF_TASK_MULTICLASS)
			return dlf_fail(err, DLF_ERR_INVALID,
							"monotone constraints need a binary or regression model");
	}
	if (m->calibration != DLF_CALIB_NONE)
	{
		if (m->calibration > DLF_CALIB_ISOTONIC)
			return dlf_fail(err, DLF_ERR_INVALID, "invalid calibration method");
		if (m->task != DLF_TASK_BINARY)
			return dlf_fail(err, DLF_ERR_INVALID,
							"calibration needs a binary classifier");
		if (!(opt->validation_fraction > 0.0))
		{
			dlf_fail(err, DLF_ERR_INVALID, "calibration needs a validation split");
			dlf_detail(err, "The calibration is fitted on the validation rows; validation_fraction is 0.");
			return DLF_ERR_INVALID;
		}
	}
	if (m->adverse > DLF_ADVERSE_POSITIVE)
		return dlf_fail(err, DLF_ERR_INVALID, "invalid adverse side");
	return DLF_OK;
}

/* Clamps w[i] for i in [lo, hi) to sign (or reflects it at init). */
static void
project_span(float *w, int64_t lo, int64_t hi, int sign, int init)
{
	for (int64_t i = lo; i < hi; i++)
	{
		float		v = sign > 0 ? w[i] : -w[i];

		if (v < 0.0f)
			v = init ? -v : 0.0f;
		w[i] = sign > 0 ? v : -v;
	}
}

/* Whether any feature carries a monotone constraint. */
static int
has_monotone(const DlfModel *m)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (m->features[f].monotone != 0)
			return 1;
	return 0;
}

/*
 * Projects the weights of layer l with index in [lo, hi) onto the monotone
 * set: first-layer weights of a constrained input take its sign, every
 * deeper weight is non-negative.
 */
static void
project_layer(const DlfModel *m, NnNet *net, int32_t l, int64_t lo,
			  int64_t hi, int init)
{
	if (l > 0)
	{
		project_span(net->W[l], lo, hi, 1, init);
		return;
	}
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		int64_t		u1 = net->units[1];
		int64_t		off = (int64_t) ft->input_offset * u1;

		if (ft->monotone == 0 || ft->kind != DLF_FEAT_NUMERIC)
			continue;
		project_span(net->W[0], lo > off ? lo : off,
					 hi < off + u1 ? hi : off + u1, ft->monotone, init);
	}
}

/*
 * Projects the skip path's weights with index in [lo, hi) of S: those of a
 * constrained input take its sign, as its first-layer weights do (the
 * path reaches the output without an activation).
 */
static void
project_skip(const DlfModel *m, NnNet *net, int64_t lo, int64_t hi, int init)
{
	int64_t		nout = net->units[net->nlayers];

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		int64_t		off = (int64_t) ft->input_offset * nout;

		if (ft->monotone == 0 || ft->kind != DLF_FEAT_NUMERIC)
			continue;
		project_span(net->S, lo > off ? lo : off,
					 hi < off + nout ? hi : off + nout, ft->monotone, init);
	}
}

/*
 * Projects the weights lying in [lo, hi) of the flat parameter array
 * `base' that holds every layer's weights; a training thread projects the
 * slice of the parameters it has just updated.
 */
void
dlf_monotone_project_range(const DlfModel *m, NnNet *net, const float *base,
						   int64_t lo, int64_t hi)
{
	if (!has_monotone(m))
		return;
	for (int32_t l = 0; l < net->nlayers; l++)
	{
		int64_t		off = net->W[l] - base;
		int64_t		nw = (int64_t) net->units[l] * net->units[l + 1];
		int64_t		a = lo > off ? lo - off : 0;
		int64_t		b = hi < off + nw ? hi - off : nw;

		if (a < b)
			project_layer(m, net, l, a, b, 0);
	}
	if (net->S)
	{
		int64_t		off = net->S - base;
		int64_t		nw = (int64_t) net->units[0] * net->units[net->nlayers];
		int64_t		a = lo > off ? lo - off : 0;
		int64_t		b = hi < off + nw ? hi - off : nw;

		if (a < b)
			project_skip(m, net, a, b, 0);
	}
}

/* Projects all weights onto the monotone-constrained set. */
void
dlf_monotone_project(const DlfModel *m, NnNet *net, int init)
{
	if (!has_monotone(m))
		return;
	for (int32_t l = 0; l < net->nlayers; l++)
		project_layer(m, net, l, 0,
					  (int64_t) net->units[l] * net->units[l + 1], init);
	if (net->S)
		project_skip(m, net, 0,
					 (int64_t) net->units[0] * net->units[net->nlayers], init);
}
