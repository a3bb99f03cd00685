/*
 * metrics_stub.c
 *	  TEMPORARY stand-in for metrics.c so the trainer links and can be
 *	  tested; delete this file when the real metrics.c is merged.
 */
#include "dlfin_core.h"

#include <math.h>
#include <string.h>

/* Sorts indexes by score ascending (merge sort, stable). */
static void
sort_by_score(int64_t *a, int64_t *tmp, int64_t n, const double *score)
{
	for (int64_t w = 1; w < n; w *= 2)
	{
		for (int64_t lo = 0; lo < n; lo += 2 * w)
		{
			int64_t		mid = lo + w < n ? lo + w : n;
			int64_t		hi = lo + 2 * w < n ? lo + 2 * w : n;
			int64_t		i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
				tmp[k++] = score[a[j]] < score[a[i]] ? a[j++] : a[i++];
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
		}
		memcpy(a, tmp, sizeof(int64_t) * n);
	}
}

/* Binary metrics: exact AUC with averaged ranks, KS, logloss, accuracy. */
DlfStatus
dlf_binary_metrics(const double *score, const uint8_t *label, int64_t n,
				   double threshold, DlfBinaryMetrics *out, DlfError *err)
{
	int64_t    *ix;
	int64_t    *tmp;
	double		ranksum = 0.0;
	int64_t		npos = 0;
	double		ll = 0.0,
				brier = 0.0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	ix = dlf_alloc_array(n, sizeof(int64_t));
	tmp = dlf_alloc_array(n, sizeof(int64_t));
	if (!ix || !tmp)
	{
		dlf_free(ix);
		dlf_free(tmp);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int64_t i = 0; i < n; i++)
	{
		double		p = score[i] < 1e-15 ? 1e-15 : (score[i] > 1 - 1e-15 ? 1 - 1e-15 : score[i]);
		int			pred = score[i] >= threshold;

		ix[i] = i;
		npos += label[i] != 0;
		ll -= label[i] ? log(p) : log(1 - p);
		brier += (score[i] - label[i]) * (score[i] - label[i]);
		if (pred && label[i])
			out->tp++;
		else if (pred)
			out->fp++;
		else if (label[i])
			out->fn++;
		else
			out->tn++;
	}
	out->positives = npos;
	out->accuracy = n ? (double) (out->tp + out->tn) / n : NAN;
	out->logloss = n ? ll / n : NAN;
	out->brier = n ? brier / n : NAN;
	out->precision = out->tp + out->fp ? (double) out->tp / (out->tp + out->fp) : NAN;
	out->recall = npos ? (double) out->tp / npos : NAN;
	out->specificity = n - npos ? (double) out->tn / (n - npos) : NAN;
	out->f1 = 2.0 * out->tp + out->fp + out->fn > 0 ?
		2.0 * out->tp / (2.0 * out->tp + out->fp + out->fn) : NAN;
	out->ece = NAN;
	sort_by_score(ix, tmp, n, score);
	{
		int64_t		i = 0,
					cp = 0,
					cn = 0;
		double		ks = 0.0;

		while (i < n)
		{
			int64_t		j = i;
			double		avg;

			while (j < n && score[ix[j]] == score[ix[i]])
				j++;
			avg = (i + 1 + j) / 2.0;
			for (int64_t k = i; k < j; k++)
				if (label[ix[k]])
				{
					ranksum += avg;
					cp++;
				}
				else
					cn++;
			if (npos && n - npos)
			{
				double		d = fabs((double) cp / npos - (double) cn / (n - npos));

				if (d > ks)
					ks = d;
			}
			i = j;
		}
		if (npos == 0 || npos == n)
		{
			out->auc = NAN;
			out->ks = NAN;
		}
		else
		{
			out->auc = (ranksum - (double) npos * (npos + 1) / 2.0) /
				((double) npos * (n - npos));
			out->ks = ks;
		}
	}
	dlf_free(ix);
	dlf_free(tmp);
	return DLF_OK;
}

/* Regression metrics. */
void
dlf_regression_metrics(const double *pred, const double *actual, int64_t n,
					   DlfRegressionMetrics *out)
{
	double		se = 0.0,
				ae = 0.0,
				mu = 0.0,
				ss = 0.0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	for (int64_t i = 0; i < n; i++)
		mu += actual[i];
	mu = n ? mu / n : 0.0;
	for (int64_t i = 0; i < n; i++)
	{
		double		d = pred[i] - actual[i];

		se += d * d;
		ae += fabs(d);
		ss += (actual[i] - mu) * (actual[i] - mu);
	}
	out->mse = n ? se / n : NAN;
	out->rmse = sqrt(out->mse);
	out->mae = n ? ae / n : NAN;
	out->r2 = ss > 0 ? 1.0 - se / ss : NAN;
}

/* Multiclass accuracy and macro F1. */
DlfStatus
dlf_multiclass_summary(const int32_t *pred, const int32_t *actual, int64_t n,
					   int32_t nclasses, double *accuracy, double *macro_f1,
					   DlfError *err)
{
	int64_t    *tp = dlf_alloc_array(nclasses, sizeof(int64_t));
	int64_t    *np = dlf_alloc_array(nclasses, sizeof(int64_t));
	int64_t    *na = dlf_alloc_array(nclasses, sizeof(int64_t));
	int64_t		correct = 0;
	double		f1sum = 0.0;
	int32_t		k = 0;

	if (!tp || !np || !na)
	{
		dlf_free(tp);
		dlf_free(np);
		dlf_free(na);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	for (int64_t i = 0; i < n; i++)
	{
		np[pred[i]]++;
		na[actual[i]]++;
		if (pred[i] == actual[i])
		{
			tp[pred[i]]++;
			correct++;
		}
	}
	for (int32_t c = 0; c < nclasses; c++)
	{
		if (np[c] + na[c] == 0)
			continue;
		f1sum += 2.0 * tp[c] / (double) (np[c] + na[c]);
		k++;
	}
	*accuracy = n ? (double) correct / n : NAN;
	*macro_f1 = k ? f1sum / k : NAN;
	dlf_free(tp);
	dlf_free(np);
	dlf_free(na);
	return DLF_OK;
}
