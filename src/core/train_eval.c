/*
 * train_eval.c
 *	  Training: evaluation on the validation rows and the validation
 *	  metrics stored in the model.
 */
#include "train_internal.h"
#include "ensemble.h"

#include <math.h>
#include <string.h>

/*
 * Runs the network over the validation rows: returns the unweighted mean
 * loss; when want_out, stores scores (binary: probability; regression:
 * label units; multiclass: argmax) for the metrics.  The rows are scored
 * with the one-row kernel, so the stored validation metrics are those of
 * dlfin_predict on the same rows.
 */
DlfStatus
train_evaluate(TrainCtx *c, double *loss, int want_out)
{
	int32_t		nout = c->nout;
	double		sum = 0.0;

	for (int64_t s = 0; s < c->nvalid; s += c->cap)
	{
		int32_t		rows = (int32_t) (c->nvalid - s < c->cap ? c->nvalid - s : c->cap);
		const float *z;

		if (train_interrupted(c))
			return train_fail_interrupted(c);
		train_gather(c, &c->bt, c->valid_idx + s, rows, c->nvalid - s);
		/* the scorer's kernel: dlfin_predict gives these rows these bits */
		if (c->ens)
			dlf_ens_forward_rows(c->ens, &c->bt, &c->work);
		else
			nn_forward_rows(&c->net, &c->bt, &c->work);
		z = c->work.act[c->net.nlayers - 1];
		for (int32_t r = 0; r < rows; r++)
		{
			const float *zr = z + (size_t) r * nout;
			int64_t		i = s + r;

			sum += nn_row_loss(c->task, zr, nout, c->bt.target[r]);
			if (!want_out)
				continue;
			if (c->task == DLF_TASK_BINARY)
			{
				c->vscore[i] = 1.0 / (1.0 + exp(-(double) zr[0]));
				c->vbin[i] = c->bt.target[r] > 0.5f;
			}
			else if (c->task == DLF_TASK_REGRESSION)
			{
				c->vscore[i] = (double) zr[0] * c->tscale + c->tmean;
				c->vlabel[i] = dlf_label(c->data, c->valid_idx[i]);
			}
			else
			{
				int32_t		am = 0;

				for (int32_t j = 1; j < nout; j++)
					if (zr[j] > zr[am])
						am = j;
				c->vpred[i] = am;
				c->vact[i] = (int32_t) c->bt.target[r];
			}
		}
	}
	*loss = sum / (double) c->nvalid;
	return DLF_OK;
}

/* Main validation metric (auc, rmse or accuracy) after train_evaluate(). */
DlfStatus
train_main_metric(TrainCtx *c, double *value, const char **name)
{
	return dlf_main_metric(c->task, c->m->nclasses, c->vscore, c->vbin,
						   c->vlabel, c->vpred, c->vact, c->nvalid, value,
						   name, c->err);
}

/* Stores the validation metrics of the (restored) model. */
DlfStatus
train_store_metrics(TrainCtx *c)
{
	DlfStatus	st;
	double		loss;

	st = train_evaluate(c, &loss, 1);
	if (st != DLF_OK)
		return st;
	if (c->task == DLF_TASK_BINARY)
	{
		DlfBinaryMetrics bm;

		st = dlf_binary_metrics(c->vscore, c->vbin, c->nvalid, 0.5, &bm,
								c->err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(c->m, "auc", bm.auc, c->err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(c->m, "ks", bm.ks, c->err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(c->m, "logloss", bm.logloss, c->err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(c->m, "accuracy", bm.accuracy, c->err);
	}
	else if (c->task == DLF_TASK_REGRESSION)
	{
		DlfRegressionMetrics rm;

		dlf_regression_metrics(c->vscore, c->vlabel, c->nvalid, &rm);
		st = dlf_model_set_metric(c->m, "rmse", rm.rmse, c->err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(c->m, "r2", rm.r2, c->err);
	}
	else
	{
		double		acc,
					f1;

		st = dlf_multiclass_summary(c->vpred, c->vact, c->nvalid,
									c->m->nclasses, &acc, &f1, c->err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(c->m, "accuracy", acc, c->err);
		if (st == DLF_OK)
			st = dlf_model_set_metric(c->m, "macro_f1", f1, c->err);
	}
	return st;
}
