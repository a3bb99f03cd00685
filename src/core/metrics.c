/*
 * metrics.c
 *	  Classification and regression metrics of the dlfin core.
 *
 * Everything is computed after putting the inputs in a canonical order
 * (sorted scores per class), and sums of bounded terms are exact, so a
 * metric depends only on the multiset of (score, label) pairs: the SQL
 * aggregates give identical results whatever the scan or merge order.
 */
#include "dlfin_core.h"
#include "dlfin_metrics.h"

#include <math.h>
#include <string.h>

#define TWO64		18446744073709551616.0	/* 2^64 */

/* ---- exact sums ---- */

/* Adds a term in [0, DLF_EXACT_MAX_TERM) rounded down to 2^-64 units. */
int
dlf_exact_add(DlfExactSum *s, double term)
{
	if (!(term >= 0.0 && term < DLF_EXACT_MAX_TERM))
		return 0;
	s->acc += (unsigned __int128) (term * TWO64);
	return 1;
}

/* Adds the sum b to a. */
void
dlf_exact_merge(DlfExactSum *a, const DlfExactSum *b)
{
	a->acc += b->acc;
}

/* Returns the sum as the nearest double. */
double
dlf_exact_value(const DlfExactSum *s)
{
	return (double) s->acc / TWO64;
}

/* Neumaier compensated summation, for sums of unbounded terms. */
typedef struct KahanSum
{
	double		sum;
	double		c;
} KahanSum;

/* Adds x to a compensated sum. */
static inline void
kahan_add(KahanSum *k, double x)
{
	double		t = k->sum + x;

	if (fabs(k->sum) >= fabs(x))
		k->c += (k->sum - t) + x;
	else
		k->c += (x - t) + k->sum;
	k->sum = t;
}

/* Value of a compensated sum. */
static inline double
kahan_value(const KahanSum *k)
{
	return k->sum + k->c;
}

/*
 * Returns a log loss term as scikit-learn computes it: the score is clipped
 * to [eps, 1 - eps] first, then -log(p) for label 1 and -log(1 - p) for 0.
 */
double
dlf_logloss_term(double score, int label)
{
	double		p = score;

	if (!(p >= DLF_LOGLOSS_EPS))	/* also catches NaN */
		p = DLF_LOGLOSS_EPS;
	if (p > 1.0 - DLF_LOGLOSS_EPS)
		p = 1.0 - DLF_LOGLOSS_EPS;
	return label ? -log(p) : -log(1.0 - p);
}

/* ---- binary classification ---- */

/* Number of values of sorted v[0..n) that are >= x. */
static int64_t
count_at_least(const double *v, int64_t n, double x)
{
	int64_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n - lo;
}

/* Returns num / den, or 0 when den is 0 (scikit-learn's zero_division). */
static double
ratio0(int64_t num, int64_t den)
{
	return den > 0 ? (double) num / (double) den : 0.0;
}

/*
 * AUC (Mann-Whitney, ties count one half) and KS of sorted class scores in
 * one merge walk, into out; NaN without both classes.
 */
static void
auc_ks(const double *pos, int64_t npos, const double *neg, int64_t nneg,
	   DlfBinaryMetrics *out)
{
	if (npos > 0 && nneg > 0)
	{
		unsigned __int128 u2 = 0;	/* twice the Mann-Whitney U */
		__int128	best = 0;	/* max |P(x) nneg - N(x) npos| */
		int64_t		i = 0,
					j = 0;

		while (i < npos || j < nneg)
		{
			double		v;
			int64_t		cp = 0,
						cn = 0;
			__int128	d;

			if (j >= nneg || (i < npos && pos[i] < neg[j]))
				v = pos[i];
			else
				v = neg[j];
			while (i < npos && pos[i] == v)
			{
				i++;
				cp++;
			}
			/* negatives strictly below v are j */
			u2 += (unsigned __int128) cp * (unsigned __int128) (2 * j);
			while (j < nneg && neg[j] == v)
			{
				j++;
				cn++;
			}
			u2 += (unsigned __int128) cp * (unsigned __int128) cn;
			d = (__int128) i * nneg - (__int128) j * npos;
			if (d < 0)
				d = -d;
			if (d > best)
				best = d;
		}
		out->auc = ((double) u2 / 2.0) / ((double) npos * (double) nneg);
		out->ks = (double) best / ((double) npos * (double) nneg);
	}
	else
	{
		out->auc = NAN;
		out->ks = NAN;
	}
}

/*
 * Log loss, Brier score and expected calibration error (10 bins) of sorted
 * class scores with exact sums, into out; Brier and ECE are NaN unless
 * every score is in [0, 1].
 */
static void
loss_and_calibration(const double *pos, int64_t npos, const double *neg,
					 int64_t nneg, DlfBinaryMetrics *out)
{
	int64_t		n = npos + nneg;
	DlfExactSum ll = {0};
	DlfExactSum br = {0};
	DlfExactSum bin_score[10];
	int64_t		bin_n[10] = {0};
	int64_t		bin_pos[10] = {0};
	int			in_unit = 1;

	memset(bin_score, 0, sizeof(bin_score));
	if (n > 0)
	{
		double		lo = INFINITY,
					hi = -INFINITY;

		if (npos > 0)
		{
			lo = pos[0];
			hi = pos[npos - 1];
		}
		if (nneg > 0)
		{
			lo = fmin(lo, neg[0]);
			hi = fmax(hi, neg[nneg - 1]);
		}
		in_unit = (lo >= 0.0 && hi <= 1.0);
	}
	for (int c = 0; c < 2; c++)
	{
		const double *v = c ? pos : neg;
		int64_t		m = c ? npos : nneg;

		for (int64_t i = 0; i < m; i++)
		{
			double		s = v[i];

			dlf_exact_add(&ll, dlf_logloss_term(s, c));
			if (in_unit)
			{
				int			b = (int) (s * 10.0);

				if (b > 9)
					b = 9;
				dlf_exact_add(&br, (s - c) * (s - c));
				dlf_exact_add(&bin_score[b], s);
				bin_n[b]++;
				bin_pos[b] += c;
			}
		}
	}
	out->logloss = dlf_exact_value(&ll) / (double) n;
	if (in_unit)
	{
		DlfExactSum ece = {0};

		out->brier = dlf_exact_value(&br) / (double) n;
		for (int b = 0; b < 10; b++)
		{
			/* |sum of scores - positives| in 2^-64 units, exact */
			unsigned __int128 p = (unsigned __int128) bin_pos[b] << 64;
			unsigned __int128 s = bin_score[b].acc;

			ece.acc += (s > p) ? s - p : p - s;
		}
		out->ece = dlf_exact_value(&ece) / (double) n;
	}
	else
	{
		out->brier = NAN;
		out->ece = NAN;
	}
}

/* Binary metrics of per-class scores; sorts both arrays in place. */
DlfStatus
dlf_binary_metrics_split(double *pos, int64_t npos, double *neg, int64_t nneg,
						 double threshold, DlfBinaryMetrics *out,
						 DlfError *err)
{
	int64_t		n = npos + nneg;

	memset(out, 0, sizeof(*out));
	if (npos < 0 || nneg < 0)
		return dlf_fail(err, DLF_ERR_INVALID, "negative row count");
	for (int64_t i = 0; i < npos; i++)
		if (isnan(pos[i]))
			return dlf_fail(err, DLF_ERR_INVALID, "score is NaN");
	for (int64_t i = 0; i < nneg; i++)
		if (isnan(neg[i]))
			return dlf_fail(err, DLF_ERR_INVALID, "score is NaN");
	if (isnan(threshold))
		return dlf_fail(err, DLF_ERR_INVALID, "threshold is NaN");

	dlf_sort_doubles(pos, npos);
	dlf_sort_doubles(neg, nneg);

	out->n = n;
	out->positives = npos;
	out->tp = count_at_least(pos, npos, threshold);
	out->fn = npos - out->tp;
	out->fp = count_at_least(neg, nneg, threshold);
	out->tn = nneg - out->fp;

	if (n == 0)
	{
		out->accuracy = out->precision = out->recall = NAN;
		out->specificity = out->f1 = NAN;
		out->auc = out->ks = out->logloss = out->brier = out->ece = NAN;
		return DLF_OK;
	}

	out->accuracy = (double) (out->tp + out->tn) / (double) n;
	out->precision = ratio0(out->tp, out->tp + out->fp);
	out->recall = ratio0(out->tp, npos);
	out->specificity = ratio0(out->tn, nneg);
	out->f1 = ratio0(2 * out->tp, 2 * out->tp + out->fp + out->fn);

	auc_ks(pos, npos, neg, nneg, out);
	loss_and_calibration(pos, npos, neg, nneg, out);
	return DLF_OK;
}

/* Binary metrics of scores against 0/1 labels (inputs not modified). */
DlfStatus
dlf_binary_metrics(const double *score, const uint8_t *label, int64_t n,
				   double threshold, DlfBinaryMetrics *out, DlfError *err)
{
	double	   *buf;
	int64_t		npos = 0,
				k = 0;
	DlfStatus	st;

	if (n < 0)
		return dlf_fail(err, DLF_ERR_INVALID, "negative row count");
	buf = dlf_alloc_array(n > 0 ? (size_t) n : 1, sizeof(double));
	if (buf == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM,
						"out of memory for metrics of %lld rows", (long long) n);
	for (int64_t i = 0; i < n; i++)
		if (label[i])
			buf[npos++] = score[i];
	k = npos;
	for (int64_t i = 0; i < n; i++)
		if (!label[i])
			buf[k++] = score[i];
	st = dlf_binary_metrics_split(buf, npos, buf + npos, n - npos, threshold,
								  out, err);
	dlf_free(buf);
	return st;
}

/* ROC points of sorted class scores, subsampled to at most max_points. */
int64_t
dlf_roc_points(const double *pos, int64_t npos, const double *neg,
			   int64_t nneg, int64_t max_points,
			   double *thresholds, double *fpr, double *tpr)
{
	int64_t		total = 1;
	int64_t		i,
				j,
				k,
				w;
	double		top,
				cur;

	if (npos <= 0 || nneg <= 0 || max_points < 2)
		return -1;
	/* count distinct scores */
	i = npos - 1;
	j = nneg - 1;
	while (i >= 0 || j >= 0)
	{
		double		v = (j < 0 || (i >= 0 && pos[i] > neg[j])) ? pos[i] : neg[j];

		while (i >= 0 && pos[i] == v)
			i--;
		while (j >= 0 && neg[j] == v)
			j--;
		total++;
	}
	top = fmax(pos[npos - 1], neg[nneg - 1]);

	/* walk from the highest score down, emitting the picked points */
	i = npos - 1;
	j = nneg - 1;
	k = 0;						/* index of the current point */
	w = 0;						/* points written */
	cur = top + 1.0;
	for (;;)
	{
		double		v;
		int64_t		want;

		/* index of the next point to write */
		if (total <= max_points)
			want = w;
		else
			want = (int64_t) (((__int128) w * (total - 1) + (max_points - 1) / 2)
							  / (max_points - 1));
		if (k == want)
		{
			thresholds[w] = cur;
			fpr[w] = (double) (nneg - 1 - j) / (double) nneg;
			tpr[w] = (double) (npos - 1 - i) / (double) npos;
			w++;
			if (w == max_points || w == total)
				break;
		}
		if (i < 0 && j < 0)
			break;
		v = (j < 0 || (i >= 0 && pos[i] > neg[j])) ? pos[i] : neg[j];
		while (i >= 0 && pos[i] == v)
			i--;
		while (j >= 0 && neg[j] == v)
			j--;
		cur = v;
		k++;
	}
	return w;
}

/* Gains table by score decile, ties kept together. */
void
dlf_deciles(const double *pos, int64_t npos, const double *neg, int64_t nneg,
			DlfDecile out[10])
{
	int64_t		n = npos + nneg;
	int64_t		i = npos - 1,
				j = nneg - 1;
	int64_t		above = 0;
	int64_t		cum_pos = 0;
	double		rate = n > 0 ? (double) npos / (double) n : NAN;

	for (int d = 0; d < 10; d++)
	{
		out[d].count = 0;
		out[d].positives = 0;
		out[d].min_score = NAN;
		out[d].max_score = NAN;
	}
	while (i >= 0 || j >= 0)
	{
		double		v = (j < 0 || (i >= 0 && pos[i] > neg[j])) ? pos[i] : neg[j];
		int64_t		cp = 0,
					cn = 0;
		int			d;

		while (i >= 0 && pos[i] == v)
		{
			i--;
			cp++;
		}
		while (j >= 0 && neg[j] == v)
		{
			j--;
			cn++;
		}
		/* decile of the middle rank of the tie group */
		d = (int) (((__int128) (2 * above + cp + cn) * 10) / ((__int128) 2 * n));
		if (d > 9)
			d = 9;
		out[d].count += cp + cn;
		out[d].positives += cp;
		if (isnan(out[d].max_score))
			out[d].max_score = v;
		out[d].min_score = v;
		above += cp + cn;
	}
	for (int d = 0; d < 10; d++)
	{
		cum_pos += out[d].positives;
		out[d].positive_rate = out[d].count > 0
			? (double) out[d].positives / (double) out[d].count : NAN;
		out[d].cumulative_capture = npos > 0
			? (double) cum_pos / (double) npos : NAN;
		out[d].lift = (out[d].count > 0 && npos > 0)
			? out[d].positive_rate / rate : NAN;
	}
}

/* ---- regression ---- */

/* Regression metrics in array order, two passes for a stable r2. */
void
dlf_regression_metrics(const double *pred, const double *actual, int64_t n,
					   DlfRegressionMetrics *out)
{
	KahanSum	sy = {0},
				se = {0},
				sa = {0},
				st = {0};
	double		mean;

	out->n = n;
	if (n <= 0)
	{
		out->n = n < 0 ? 0 : n;
		out->mse = out->rmse = out->mae = out->r2 = NAN;
		return;
	}
	for (int64_t i = 0; i < n; i++)
		kahan_add(&sy, actual[i]);
	mean = kahan_value(&sy) / (double) n;
	for (int64_t i = 0; i < n; i++)
	{
		double		e = actual[i] - pred[i];
		double		d = actual[i] - mean;

		kahan_add(&se, e * e);
		kahan_add(&sa, fabs(e));
		kahan_add(&st, d * d);
	}
	out->mse = kahan_value(&se) / (double) n;
	out->rmse = sqrt(out->mse);
	out->mae = kahan_value(&sa) / (double) n;
	out->r2 = kahan_value(&st) > 0.0
		? 1.0 - kahan_value(&se) / kahan_value(&st) : NAN;
}

/* ---- multiclass ---- */

/* Report of a confusion matrix cm[actual * k + predicted]. */
void
dlf_multiclass_report(const int64_t *cm, int32_t k, DlfMulticlassReport *rep,
					  double *precision, double *recall, double *f1,
					  int64_t *support)
{
	int64_t		n = 0,
				correct = 0;
	double		mp = 0,
				mr = 0,
				mf = 0,
				wp = 0,
				wr = 0,
				wf = 0;

	memset(rep, 0, sizeof(*rep));
	for (int32_t c = 0; c < k; c++)
	{
		int64_t		tp = cm[(size_t) c * k + c];
		int64_t		act = 0,
					prd = 0;
		double		p,
					r,
					f;

		for (int32_t o = 0; o < k; o++)
		{
			act += cm[(size_t) c * k + o];
			prd += cm[(size_t) o * k + c];
		}
		n += act;
		correct += tp;
		p = ratio0(tp, prd);
		r = ratio0(tp, act);
		f = (p + r) > 0 ? 2.0 * p * r / (p + r) : 0.0;
		if (precision)
			precision[c] = p;
		if (recall)
			recall[c] = r;
		if (f1)
			f1[c] = f;
		if (support)
			support[c] = act;
		if (act > 0 || prd > 0)
		{
			rep->nlabels++;
			mp += p;
			mr += r;
			mf += f;
			wp += p * (double) act;
			wr += r * (double) act;
			wf += f * (double) act;
		}
	}
	rep->n = n;
	if (n == 0)
	{
		rep->accuracy = NAN;
		rep->macro_precision = rep->macro_recall = rep->macro_f1 = NAN;
		rep->weighted_precision = rep->weighted_recall = rep->weighted_f1 = NAN;
		return;
	}
	rep->accuracy = (double) correct / (double) n;
	rep->macro_precision = mp / rep->nlabels;
	rep->macro_recall = mr / rep->nlabels;
	rep->macro_f1 = mf / rep->nlabels;
	rep->weighted_precision = wp / (double) n;
	rep->weighted_recall = wr / (double) n;
	rep->weighted_f1 = wf / (double) n;
}

/* Accuracy and macro F1 of class indexes in [0, nclasses). */
DlfStatus
dlf_multiclass_summary(const int32_t *pred, const int32_t *actual, int64_t n,
					   int32_t nclasses, double *accuracy, double *macro_f1,
					   DlfError *err)
{
	int64_t    *cm;
	DlfMulticlassReport rep;

	if (nclasses < 1 || nclasses > DLF_MAX_CLASSES)
		return dlf_fail(err, DLF_ERR_INVALID,
						"number of classes %d is out of range", (int) nclasses);
	if (n < 0)
		return dlf_fail(err, DLF_ERR_INVALID, "negative row count");
	for (int64_t i = 0; i < n; i++)
		if (pred[i] < 0 || pred[i] >= nclasses ||
			actual[i] < 0 || actual[i] >= nclasses)
			return dlf_fail(err, DLF_ERR_INVALID,
							"class index out of range at row %lld",
							(long long) i);
	cm = dlf_alloc_array((size_t) nclasses * nclasses, sizeof(int64_t));
	if (cm == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM,
						"out of memory for a confusion matrix of %d classes",
						(int) nclasses);
	for (int64_t i = 0; i < n; i++)
		cm[(size_t) actual[i] * nclasses + pred[i]]++;
	dlf_multiclass_report(cm, nclasses, &rep, NULL, NULL, NULL, NULL);
	dlf_free(cm);
	*accuracy = rep.accuracy;
	*macro_f1 = rep.macro_f1;
	return DLF_OK;
}

/* The main metric of a task (see dlfin_core.h). */
DlfStatus
dlf_main_metric(int task, int32_t nclasses, const double *score,
				const uint8_t *bin, const double *label, const int32_t *pred,
				const int32_t *act, int64_t n, double *value, const char **name,
				DlfError *err)
{
	if (task == DLF_TASK_BINARY)
	{
		DlfBinaryMetrics bm;
		DlfStatus	st;

		*name = "auc";
		st = dlf_binary_metrics(score, bin, n, 0.5, &bm, err);
		*value = bm.auc;
		return st;
	}
	if (task == DLF_TASK_REGRESSION)
	{
		DlfRegressionMetrics rm;

		*name = "rmse";
		dlf_regression_metrics(score, label, n, &rm);
		*value = rm.rmse;
		return DLF_OK;
	}
	{
		double		f1;

		*name = "accuracy";
		return dlf_multiclass_summary(pred, act, n, nclasses, value, &f1, err);
	}
}
