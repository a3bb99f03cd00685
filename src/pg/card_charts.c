/*
 * card_charts.c
 *	  SVG charts of the model card and the chart aggregates and functions
 *	  (dlfin_svg_roc, _calibration, _lift, _learning_curve, _importance).
 *
 * The chart aggregates reuse the state of the binary metric aggregates
 * (metrics.c), so they run in parallel plans exactly as dlfin_roc does and
 * draw the numbers dlfin_roc, dlfin_deciles and dlfin_metrics return.
 */
#include "card.h"

#include "utils/builtins.h"

/* Turns a finished buffer into a text datum, or raises out of memory. */
text *
card_text(DlfBuf *b)
{
	text	   *t;

	if (b->failed)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while drawing a dlfin chart")));
	t = cstring_to_text_with_len(b->len ? (char *) b->data : "", (int) b->len);
	dlf_buf_free(b);
	return t;
}

/* ---- charts shared by the aggregates and the page ---- */

/* ROC curve of sorted class scores with the AUC in the legend. */
void
card_chart_roc(DlfBuf *b, const double *pos, int64 npos, const double *neg, int64 nneg,
		  double auc)
{
	double		th[ROC_POINTS],
				fpr[ROC_POINTS],
				tpr[ROC_POINTS];
	int64		k = dlf_roc_points(pos, npos, neg, nneg, ROC_POINTS, th, fpr, tpr);
	DlfSvgChart c;
	DlfSvgSeries s = {0};
	char		name[64];

	dlf_svg_chart_init(&c);
	c.title = "ROC curve";
	c.xlabel = "false positive rate";
	c.ylabel = "true positive rate";
	c.xmin = c.ymin = 0;
	c.xmax = c.ymax = 1;
	c.diagonal = 1;
	c.diagonal_label = "no skill";
	snprintf(name, sizeof(name), "model (AUC %.3f)", auc);
	s.name = name;
	s.x = fpr;
	s.y = tpr;
	s.n = k > 0 ? k : 0;
	s.color = DLF_SVG_BLUE;
	dlf_svg_line_chart(b, &c, &s, 1);
}

/* Reliability diagram of class scores in 10 equal-width bins. */
void
card_chart_calibration(DlfBuf *b, const double *pos, int64 npos, const double *neg, int64 nneg,
				  double *mp, double *ob, int64 *cnt)
{
	DlfSvgChart c;

	dlf_calibration_bins(pos, npos, neg, nneg, CAL_BINS, mp, ob, cnt);
	dlf_svg_chart_init(&c);
	c.title = "Calibration (reliability)";
	c.xlabel = "mean predicted probability";
	c.ylabel = "observed positive rate";
	dlf_svg_reliability(b, &c, mp, ob, cnt, CAL_BINS);
}

/* Lift per score decile (decile 1 = highest scores) against the baseline. */
void
card_chart_lift(DlfBuf *b, const DlfDecile *d)
{
	static const char *const labels[10] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
	double		lift[10];
	DlfSvgChart c;

	for (int i = 0; i < 10; i++)
		lift[i] = d[i].count > 0 ? d[i].lift : NAN;
	dlf_svg_chart_init(&c);
	c.title = "Lift by score decile";
	c.xlabel = "score decile (1 = highest scores)";
	c.ylabel = "lift";
	dlf_svg_bar_chart(b, &c, labels, lift, 10, DLF_SVG_BLUE, 1.0, "no model (lift 1)");
}

/* Learning curve of a model; false when it has no history. */
bool
card_chart_learning(DlfBuf *b, const DlfModel *m)
{
	double	   *x,
			   *tr,
			   *va;
	bool		has_valid = false;
	DlfSvgChart c;
	DlfSvgSeries s[2];
	char		marker[64];

	if (m->nhistory <= 0)
		return false;
	x = palloc(sizeof(double) * m->nhistory);
	tr = palloc(sizeof(double) * m->nhistory);
	va = palloc(sizeof(double) * m->nhistory);
	for (int i = 0; i < m->nhistory; i++)
	{
		x[i] = i + 1;
		tr[i] = m->train_loss[i];
		va[i] = m->valid_loss[i];
		if (isfinite(va[i]))
			has_valid = true;
	}
	dlf_svg_chart_init(&c);
	c.title = "Learning curve";
	c.xlabel = "epoch";
	c.ylabel = "loss";
	c.integer_x = 1;
	if (m->best_epoch > 0)
	{
		c.marker_x = m->best_epoch;
		snprintf(marker, sizeof(marker), "best epoch %d", (int) m->best_epoch);
		c.marker_label = marker;
	}
	memset(s, 0, sizeof(s));
	s[0].name = "training loss";
	s[0].x = x;
	s[0].y = tr;
	s[0].n = m->nhistory;
	s[0].color = DLF_SVG_BLUE;
	s[0].markers = m->nhistory <= 40;
	s[1] = s[0];
	s[1].name = "validation loss";
	s[1].y = va;
	s[1].color = DLF_SVG_ORANGE;
	s[1].dashed = 1;
	dlf_svg_line_chart(b, &c, s, has_valid ? 2 : 1);
	return true;
}

/* Orders feature indexes by importance, highest first, then by position. */
static int
importance_cmp(const void *a, const void *b, void *arg)
{
	const DlfModel *m = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;
	double		vx = m->features[x].importance;
	double		vy = m->features[y].importance;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x - y;
}

/* Importance bars of a model; false when it carries no importance. */
bool
card_chart_importance(DlfBuf *b, const DlfModel *m)
{
	int		   *order = palloc(sizeof(int) * Max(m->nfeatures, 1));
	const char **labels;
	double	   *values;
	int			n = 0;
	DlfSvgChart c;

	for (int f = 0; f < m->nfeatures; f++)
		if (isfinite(m->features[f].importance))
			order[n++] = f;
	if (n == 0)
		return false;
	qsort_arg(order, n, sizeof(int), importance_cmp, (void *) m);
	if (n > MAX_IMPORTANCE)
		n = MAX_IMPORTANCE;
	labels = palloc(sizeof(char *) * n);
	values = palloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		labels[i] = m->features[order[i]].name;
		values[i] = m->features[order[i]].importance;
	}
	dlf_svg_chart_init(&c);
	c.title = "Permutation importance";
	c.xlabel = "drop of the validation metric when the feature is shuffled";
	c.width = 620;
	dlf_svg_hbar_chart(b, &c, labels, values, n, DLF_SVG_GREEN);
	return true;
}

/* Computes binary metrics of sorted-or-not class scores, raising on error. */
void
card_binary_metrics(double *pos, int64 npos, double *neg, int64 nneg, double thr,
			   DlfBinaryMetrics *m)
{
	DlfError	err;

	/* the core would sort too, without a way to cancel */
	dlfin_sort_scores(pos, npos);
	dlfin_sort_scores(neg, nneg);
	if (dlf_binary_metrics_split(pos, npos, neg, nneg, thr, m, &err) != DLF_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err.message)));
}

/* ---- chart aggregates over (score, label) ---- */

/* Class scores of an aggregate state; NULL result when a class is missing. */
static bool
state_scores(FunctionCallInfo fcinfo, double **pos, int64 *npos,
			 double **neg, int64 *nneg)
{
	const double *p,
			   *n;

	*pos = *neg = NULL;
	*npos = *nneg = 0;
	if (PG_ARGISNULL(0))
		return false;
	dlfin_bin_state_scores(PG_GETARG_POINTER(0), &p, npos, &n, nneg);
	*pos = (double *) p;
	*neg = (double *) n;
	return *npos > 0 && *nneg > 0;
}

PG_FUNCTION_INFO_V1(dlfin_svg_roc_final);
/* Final function of dlfin_svg_roc: the ROC curve as SVG, NULL for one class. */
Datum
dlfin_svg_roc_final(PG_FUNCTION_ARGS)
{
	double	   *pos,
			   *neg;
	int64		npos,
				nneg;
	DlfBinaryMetrics m;
	DlfBuf		b;

	if (!state_scores(fcinfo, &pos, &npos, &neg, &nneg))
		PG_RETURN_NULL();
	card_binary_metrics(pos, npos, neg, nneg, 0.5, &m);
	dlf_buf_init(&b);
	card_chart_roc(&b, pos, npos, neg, nneg, m.auc);
	PG_RETURN_TEXT_P(card_text(&b));
}

PG_FUNCTION_INFO_V1(dlfin_svg_calibration_final);
/* Final function of dlfin_svg_calibration: the reliability diagram as SVG. */
Datum
dlfin_svg_calibration_final(PG_FUNCTION_ARGS)
{
	double	   *pos,
			   *neg;
	int64		npos,
				nneg;
	double		mp[CAL_BINS],
				ob[CAL_BINS];
	int64		cnt[CAL_BINS];
	DlfBuf		b;

	state_scores(fcinfo, &pos, &npos, &neg, &nneg);
	if (npos + nneg == 0)
		PG_RETURN_NULL();
	dlf_buf_init(&b);
	card_chart_calibration(&b, pos, npos, neg, nneg, mp, ob, cnt);
	PG_RETURN_TEXT_P(card_text(&b));
}

PG_FUNCTION_INFO_V1(dlfin_svg_lift_final);
/* Final function of dlfin_svg_lift: lift per score decile as SVG. */
Datum
dlfin_svg_lift_final(PG_FUNCTION_ARGS)
{
	double	   *pos,
			   *neg;
	int64		npos,
				nneg;
	DlfDecile	d[10];
	DlfBuf		b;

	state_scores(fcinfo, &pos, &npos, &neg, &nneg);
	if (npos == 0)
		PG_RETURN_NULL();		/* lift needs positives */
	dlf_deciles(pos, npos, neg, nneg, d);
	dlf_buf_init(&b);
	card_chart_lift(&b, d);
	PG_RETURN_TEXT_P(card_text(&b));
}

PG_FUNCTION_INFO_V1(dlfin_svg_learning_curve);
/* Learning curve of a model as SVG; NULL when it recorded no history. */
Datum
dlfin_svg_learning_curve(PG_FUNCTION_ARGS)
{
	DlfModel   *m = dlfin_decode_model(PG_GETARG_BYTEA_PP(0));
	DlfBuf		b;

	dlf_buf_init(&b);
	if (!card_chart_learning(&b, m))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(card_text(&b));
}

PG_FUNCTION_INFO_V1(dlfin_svg_importance);
/* Feature importance bars of a model as SVG; NULL when it has none. */
Datum
dlfin_svg_importance(PG_FUNCTION_ARGS)
{
	DlfModel   *m = dlfin_decode_model(PG_GETARG_BYTEA_PP(0));
	DlfBuf		b;

	dlf_buf_init(&b);
	if (!card_chart_importance(&b, m))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(card_text(&b));
}
