/*
 * card_page.c
 *	  The model card page, dlfin.card_html(): held-out evaluation, training,
 *	  explanation and registry record of a model as one HTML page.
 *
 * The page renderer dlfin.card_html() is a pure function of the model bytes,
 * the held-out scores and labels, and a jsonb of facts the SQL wrappers
 * gathered (registry record, deployment history); every string from the
 * model, the data or the facts is XML-escaped, and the page carries a
 * Content Security Policy that forbids scripts and every external resource.
 * The numeric checks (monotone sweeps, per-group AUC) are the core's
 * (src/core/modelcheck.c).
 */
#include "card.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "modelcheck.h"

/* ---- the page ---- */

/* Appends one key figure tile. */
static void
tile(DlfBuf *b, const char *key, double v, int digits, const char *text_value)
{
	put(b, "<div class=\"tile\"><div class=\"v\">");
	if (text_value)
		esc(b, text_value);
	else
		dlf_buf_num(b, v, digits);
	put(b, "</div><div class=\"k\">");
	esc(b, key);
	put(b, "</div></div>");
}

/* Name of a task code. */
static const char *
task_label(int task)
{
	switch (task)
	{
		case DLF_TASK_BINARY:
			return "binary classification";
		case DLF_TASK_MULTICLASS:
			return "multiclass classification";
		case DLF_TASK_REGRESSION:
			return "regression";
	}
	return "unknown";
}

/* Reads the held-out arrays, skipping rows with a NULL score or label. */
static void
heldout_read(FunctionCallInfo fcinfo, Heldout *h)
{
	Datum	   *sd,
			   *ld,
			   *gd = NULL;
	bool	   *sn,
			   *ln,
			   *gn = NULL;
	int			ns,
				nl,
				ng = 0;

	memset(h, 0, sizeof(*h));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return;
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, 8, FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &sd, &sn, &ns);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), BOOLOID, 1, true,
					  TYPALIGN_CHAR, &ld, &ln, &nl);
	if (!PG_ARGISNULL(3))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, -1, false,
						  TYPALIGN_INT, &gd, &gn, &ng);
	if (ns != nl || (gd != NULL && ng != ns))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("held-out score, label and group arrays must have the same length")));
	h->score = palloc(sizeof(double) * Max(ns, 1));
	h->label = palloc(sizeof(bool) * Max(ns, 1));
	h->pos = palloc(sizeof(double) * Max(ns, 1));
	h->neg = palloc(sizeof(double) * Max(ns, 1));
	if (gd)
		h->group = palloc(sizeof(char *) * Max(ns, 1));
	for (int i = 0; i < ns; i++)
	{
		double		s;

		if (sn[i] || ln[i])
			continue;
		s = DatumGetFloat8(sd[i]);
		if (isnan(s))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("score must not be NaN")));
		h->score[h->n] = s;
		h->label[h->n] = DatumGetBool(ld[i]);
		if (gd)
			h->group[h->n] = gn[i] ? NULL : TextDatumGetCString(gd[i]);
		if (h->label[h->n])
			h->pos[h->npos++] = s;
		else
			h->neg[h->nneg++] = s;
		h->n++;
	}
}

/* Appends the identity section from the model and the facts. */
static void
section_identity(DlfBuf *b, const DlfModel *m, JsonbContainer *facts,
				 const bytea *raw)
{
	JsonbContainer *idc = card_jcont(card_jget(facts, "identity"));
	uint16_t	fmt = 0;
	uint32_t	crc = 0;
	char		version[DLF_MAX_VERSION_STR + 1] = "";
	char		tmp[64];

	dlf_model_peek((const uint8_t *) VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw),
				   &fmt, &crc, version, sizeof(version));
	put(b, "<h2 id=\"identity\">Identity</h2><table class=\"kv\">");
	/* registry facts, in the order the wrapper gave them: [label, value, code] */
	if (idc && JsonContainerIsArray(idc))
	{
		for (uint32 i = 0; i < JsonContainerSize(idc); i++)
		{
			JsonbContainer *row = card_jcont(getIthJsonbValueFromContainer(idc, i));
			JsonbValue *k,
					   *v,
					   *code;

			if (row == NULL || !JsonContainerIsArray(row) || JsonContainerSize(row) < 2)
				continue;
			k = getIthJsonbValueFromContainer(row, 0);
			v = getIthJsonbValueFromContainer(row, 1);
			code = JsonContainerSize(row) > 2 ? getIthJsonbValueFromContainer(row, 2) : NULL;
			card_kv_row(b, card_jstr(k), v && v->type != jbvNull ? card_jstr(v) : NULL,
				   code && code->type == jbvBool && code->val.boolean);
		}
	}
	card_kv_row(b, "Task", task_label(m->task), false);
	if (m->nclasses > 0)
	{
		DlfBuf		cl;

		dlf_buf_init(&cl);
		for (int i = 0; i < m->nclasses; i++)
		{
			if (i)
				dlf_buf_append(&cl, ", ", 2);
			dlf_buf_append(&cl, m->classes[i], strlen(m->classes[i]));
		}
		if (m->task == DLF_TASK_BINARY && m->nclasses == 2)
		{
			dlf_buf_append(&cl, " (positive: ", 12);
			dlf_buf_append(&cl, m->classes[1], strlen(m->classes[1]));
			dlf_buf_append(&cl, ")", 1);
		}
		card_kv_row(b, "Classes", cl.failed ? "" : (char *) cl.data, false);
		dlf_buf_free(&cl);
	}
	card_kv_row(b, "dlfin version", version[0] ? version : NULL, false);
	snprintf(tmp, sizeof(tmp), "%u", (unsigned) fmt);
	card_kv_row(b, "Model format version", tmp, false);
	snprintf(tmp, sizeof(tmp), "%08x", (unsigned) crc);
	card_kv_row(b, "Model checksum (CRC-32)", tmp, true);
	snprintf(tmp, sizeof(tmp), "%zu bytes", (size_t) VARSIZE_ANY_EXHDR(raw));
	card_kv_row(b, "Model size", tmp, false);
	put(b, "</table>");
}

/* Appends the data section: rows, class balance and the feature table. */
static void
section_data(DlfBuf *b, const DlfModel *m, JsonbContainer *facts, const Heldout *h)
{
	JsonbContainer *rows = card_jcont(card_jget(facts, "rows"));

	put(b, "<h2 id=\"data\">Data</h2><table><tr><th>Rows</th><th>Count</th></tr>");
	put(b, "<tr><td>training (fitted)</td>");
	num_cell(b, (double) m->rows_train, 6);
	put(b, "</tr><tr><td>validation (early stopping, inside training)</td>");
	num_cell(b, (double) m->rows_valid, 6);
	put(b, "</tr>");
	if (rows)
	{
		put(b, "<tr><td>registry: training part of the query</td>");
		num_cell(b, card_jnum(card_jget(rows, "train")), 12);
		put(b, "</tr><tr><td>registry: held-out test part of the query</td>");
		num_cell(b, card_jnum(card_jget(rows, "test")), 12);
		put(b, "</tr><tr><td>registry: all rows of the query</td>");
		num_cell(b, card_jnum(card_jget(rows, "total")), 12);
		put(b, "</tr>");
	}
	put(b, "<tr><td>held-out rows evaluated on this card</td>");
	num_cell(b, (double) h->n, 12);
	put(b, "</tr></table>");
	if (m->task == DLF_TASK_BINARY && h->n > 0)
	{
		put(b, "<h3>Class balance of the held-out rows</h3><table><tr><th>Class</th><th>Rows</th><th>Share</th></tr>");
		for (int c = 1; c >= 0; c--)
		{
			int64		k = c ? h->npos : h->nneg;

			put(b, "<tr><td>");
			esc(b, m->nclasses == 2 ? m->classes[c] : (c ? "positive" : "negative"));
			put(b, c ? " (positive)" : "");
			put(b, "</td>");
			num_cell(b, (double) k, 12);
			put(b, "<td class=\"num\">");
			pct(b, (double) k / h->n);
			put(b, "</td></tr>");
		}
		put(b, "</table>");
	}

	put(b, "<h3>Features</h3><table><tr><th>#</th><th>Feature</th><th>Kind</th>"
		"<th>Missing in training</th><th>Imputation</th><th>Scaling</th><th>Categories</th></tr>");
	for (int f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		bool		cat = ft->kind == DLF_FEAT_CATEGORICAL;

		dlf_buf_printf(b, "<tr><td class=\"num\">%d</td><td>", f + 1);
		esc(b, ft->name);
		put(b, "</td><td>");
		put(b, cat ? "categorical (text)" : ft->woe ? "WoE of its bin" :
			ft->sqltype == DLF_SQL_BOOL ? "numeric (boolean)" : "numeric");
		put(b, "</td><td class=\"num\">");
		pct(b, ft->missing_share);
		put(b, "</td><td>");
		if (cat)
			put(b, "own \"missing\" category");
		else
		{
			put(b, "training mean ");
			dlf_buf_num(b, ft->mean, 4);
		}
		put(b, "</td><td>");
		if (cat)
			dlf_buf_printf(b, "one-hot, %d + other + missing", (int) ft->ncat);
		else
		{
			put(b, "(x &#8722; ");
			dlf_buf_num(b, ft->mean, 4);
			put(b, ") / ");
			dlf_buf_num(b, ft->scale, 4);
		}
		put(b, "</td><td>");
		if (cat)
		{
			for (int k = 0; k < ft->ncat && k < 8; k++)
			{
				if (k)
					put(b, ", ");
				esc(b, ft->categories[k]);
			}
			if (ft->ncat > 8)
				dlf_buf_printf(b, " &#8230; (%d in all)", (int) ft->ncat);
		}
		put(b, "</td></tr>");
	}
	put(b, "</table>");
}

/* Appends the decile table of a gains analysis. */
static void
decile_table(DlfBuf *b, const DlfDecile *d)
{
	put(b, "<table><tr><th>Decile</th><th>Rows</th><th>Positives</th><th>Score range</th>"
		"<th>Positive rate</th><th>Cumulative capture</th><th>Lift</th></tr>");
	for (int i = 0; i < 10; i++)
	{
		dlf_buf_printf(b, "<tr><td class=\"num\">%d</td>", i + 1);
		num_cell(b, (double) d[i].count, 12);
		num_cell(b, (double) d[i].positives, 12);
		put(b, "<td class=\"num\">");
		dlf_buf_num(b, d[i].min_score, 3);
		put(b, " &#8211; ");
		dlf_buf_num(b, d[i].max_score, 3);
		put(b, "</td><td class=\"num\">");
		pct(b, d[i].positive_rate);
		put(b, "</td><td class=\"num\">");
		pct(b, d[i].cumulative_capture);
		put(b, "</td>");
		num_cell(b, d[i].lift, 3);
		put(b, "</tr>");
	}
	put(b, "</table>");
}

/* Appends a metrics row. */
static void
metric_row(DlfBuf *b, const char *name, double v, const char *note)
{
	put(b, "<tr><td>");
	esc(b, name);
	put(b, "</td>");
	num_cell(b, v, 4);
	put(b, "<td>");
	esc(b, note);
	put(b, "</td></tr>");
}

/* Name of a calibration method. */
static const char *
calib_label(int method)
{
	switch (method)
	{
		case DLF_CALIB_PLATT:
			return "Platt scaling";
		case DLF_CALIB_ISOTONIC:
			return "isotonic regression";
	}
	return "none";
}

/*
 * Appends the model's calibration: the method fitted on the validation
 * split with the validation ECE before and after, and the held-out ECE.
 */
static void
calibration_note(DlfBuf *b, const DlfModel *m, double heldout_ece)
{
	put(b, "<h3>Calibration method</h3><table class=\"kv\">");
	card_kv_row(b, "Method (training option \"calibrate\")", m->calibration == DLF_CALIB_NONE ?
		   "none: the scores are the network's probabilities" : calib_label(m->calibration), false);
	if (m->calibration != DLF_CALIB_NONE)
	{
		put(b, "<tr><th>Validation ECE before calibration</th>");
		num_cell(b, m->ece_before, 4);
		put(b, "</tr><tr><th>Validation ECE after calibration</th>");
		num_cell(b, m->ece_after, 4);
		put(b, "</tr>");
	}
	else if (isfinite(m->ece_before))
	{
		put(b, "<tr><th>Validation ECE</th>");
		num_cell(b, m->ece_before, 4);
		put(b, "</tr>");
	}
	put(b, "<tr><th>Held-out ECE (this card)</th>");
	num_cell(b, heldout_ece, 4);
	put(b, "</tr></table>");
	if (m->calibration != DLF_CALIB_NONE)
		put(b, "<p class=\"sub\">The calibration was fitted on the validation split, so its &#8220;after&#8221; "
			"figure is measured on the rows it was fitted on; the held-out ECE is the one to judge.</p>");
}

/* Appends the confusion matrix of binary metrics at threshold thr. */
static void
confusion_matrix(DlfBuf *b, const DlfBinaryMetrics *bm, double thr,
				 const char *posname, const char *negname)
{
	put(b, "<h3>Confusion matrix at threshold ");
	dlf_buf_num(b, thr, 4);
	put(b, "</h3><table class=\"cm\"><tr><th>actual \\ predicted</th><th>");
	esc(b, posname);
	put(b, "</th><th>");
	esc(b, negname);
	put(b, "</th><th>total</th></tr><tr><th>");
	esc(b, posname);
	dlf_buf_printf(b, "</th><td>%lld (TP)</td><td>%lld (FN)</td><td>%lld</td></tr><tr><th>",
				   (long long) bm->tp, (long long) bm->fn, (long long) (bm->tp + bm->fn));
	esc(b, negname);
	dlf_buf_printf(b, "</th><td>%lld (FP)</td><td>%lld (TN)</td><td>%lld</td></tr>"
				   "<tr><th>total</th><td>%lld</td><td>%lld</td><td>%lld</td></tr></table>",
				   (long long) bm->fp, (long long) bm->tn, (long long) (bm->fp + bm->tn),
				   (long long) (bm->tp + bm->fp), (long long) (bm->fn + bm->tn), (long long) bm->n);
}

/* Appends the performance section for a binary model with held-out rows. */
static void
section_performance(DlfBuf *b, const DlfModel *m, JsonbContainer *facts,
					Heldout *h, double thr, DlfBinaryMetrics *out)
{
	DlfBinaryMetrics bm;
	DlfDecile	d[10];
	double		mp[CAL_BINS],
				ob[CAL_BINS];
	int64		cnt[CAL_BINS];
	const char *posname = m->nclasses == 2 ? m->classes[1] : "positive";
	const char *negname = m->nclasses == 2 ? m->classes[0] : "negative";

	put(b, "<h2 id=\"performance\">Performance on held-out rows</h2>");
	if (m->task != DLF_TASK_BINARY)
	{
		JsonbContainer *rm = card_jcont(card_jget(facts, "metrics"));

		if (rm)
		{
			put(b, "<p>Metrics recorded by the registry on the held-out test rows:</p>");
			card_jobject_table(b, rm);
		}
		not_available(b, "ROC, calibration, deciles and the confusion matrix are drawn for binary classifiers.");
		return;
	}
	if (h->n == 0)
	{
		not_available(b, "no held-out rows were given (pass a table with columns score and label, or use a registry model).");
		return;
	}
	card_binary_metrics(h->pos, h->npos, h->neg, h->nneg, thr, &bm);	/* sorts */
	*out = bm;
	put(b, "<p>");
	dlf_buf_printf(b, "%lld held-out rows, %lld of them ", (long long) bm.n, (long long) bm.positives);
	esc(b, posname);
	put(b, " (positive class). Threshold for the class decision: score &#8805; ");
	dlf_buf_num(b, thr, 4);
	put(b, ". The same computations as <code>dlfin_metrics</code>, <code>dlfin_roc</code> and <code>dlfin_deciles</code>.</p>");

	put(b, "<table><tr><th>Metric</th><th>Value</th><th>Meaning</th></tr>");
	metric_row(b, "ROC AUC", bm.auc, "probability that a random positive outranks a random negative");
	metric_row(b, "Gini", 2 * bm.auc - 1, "2 AUC - 1");
	metric_row(b, "KS", bm.ks, "largest gap between the score distributions of the classes");
	metric_row(b, "log loss", bm.logloss, "mean negative log-likelihood (lower is better)");
	metric_row(b, "Brier score", bm.brier, "mean squared error of the probability (lower is better)");
	metric_row(b, "ECE", bm.ece, "expected calibration error, 10 equal-width bins");
	metric_row(b, "accuracy", bm.accuracy, "share of correct class decisions at the threshold");
	metric_row(b, "precision", bm.precision, "share of predicted positives that are positive");
	metric_row(b, "recall (TPR)", bm.recall, "share of positives predicted positive");
	metric_row(b, "specificity (TNR)", bm.specificity, "share of negatives predicted negative");
	metric_row(b, "F1", bm.f1, "harmonic mean of precision and recall");
	put(b, "</table>");

	put(b, "<div class=\"charts\"><figure class=\"chart-roc\">");
	card_chart_roc(b, h->pos, h->npos, h->neg, h->nneg, bm.auc);
	put(b, "<figcaption>True against false positive rate over all thresholds; the dashed line is a model without skill.</figcaption></figure>");
	put(b, "<figure class=\"chart-calibration\">");
	card_chart_calibration(b, h->pos, h->npos, h->neg, h->nneg, mp, ob, cnt);
	put(b, "<figcaption>Observed positive rate per bin of predicted probability; points on the dashed line are perfectly calibrated. Bars: rows per bin.</figcaption></figure>");
	if (bm.positives > 0)
	{
		dlf_deciles(h->pos, h->npos, h->neg, h->nneg, d);
		put(b, "<figure class=\"chart-lift\">");
		card_chart_lift(b, d);
		put(b, "<figcaption>Positive rate of each score decile divided by the overall rate.</figcaption></figure>");
	}
	put(b, "</div>");

	confusion_matrix(b, &bm, thr, posname, negname);

	put(b, "<h3>Calibration bins</h3><table><tr><th>Score bin</th><th>Rows</th>"
		"<th>Mean predicted</th><th>Observed rate</th></tr>");
	for (int i = 0; i < CAL_BINS; i++)
	{
		dlf_buf_printf(b, "<tr><td class=\"num\">%.1f &#8211; %.1f</td>",
					   (double) i / CAL_BINS, (double) (i + 1) / CAL_BINS);
		num_cell(b, (double) cnt[i], 12);
		num_cell(b, mp[i], 3);
		num_cell(b, ob[i], 3);
		put(b, "</tr>");
	}
	put(b, "</table>");
	calibration_note(b, m, bm.ece);
	if (bm.positives > 0)
	{
		put(b, "<h3>Score deciles (gains table)</h3>");
		decile_table(b, d);
	}
}

/* Appends the training section: learning curve, architecture, options. */
static void
section_training(DlfBuf *b, const DlfModel *m)
{
	put(b, "<h2 id=\"training\">Training</h2><div class=\"charts\"><figure class=\"chart-learning\">");
	if (!card_chart_learning(b, m))
		not_available(b, "the model recorded no training history.");
	put(b, "<figcaption>Loss per epoch on the training rows and on the validation rows held back for early stopping");
	if (m->best_epoch > 0)
		dlf_buf_printf(b, "; the weights of epoch %d (lowest validation loss) were kept", (int) m->best_epoch);
	put(b, ".</figcaption></figure><div>");
	put(b, "<table class=\"kv\">");
	{
		char		tmp[128];

		snprintf(tmp, sizeof(tmp), "%d", (int) m->epochs_run);
		card_kv_row(b, "Epochs run", tmp, false);
		snprintf(tmp, sizeof(tmp), "%d", (int) m->best_epoch);
		card_kv_row(b, "Best epoch", m->best_epoch > 0 ? tmp : NULL, false);
		if (isfinite(m->best_valid_loss))
			snprintf(tmp, sizeof(tmp), "%.4f", m->best_valid_loss);
		card_kv_row(b, "Best validation loss", isfinite(m->best_valid_loss) ? tmp : NULL, false);
		card_kv_row(b, "Hidden activation", dlf_activation_name(m->activation), false);
		if (m->task == DLF_TASK_BINARY)
		{
			card_kv_row(b, "Calibration", calib_label(m->calibration), false);
			card_kv_row(b, "Adverse side (reason codes)", m->adverse == DLF_ADVERSE_POSITIVE ?
				   "positive class" : "negative class", false);
		}
		snprintf(tmp, sizeof(tmp), "%lld", (long long) dlf_model_nparams_total(m));
		card_kv_row(b, "Parameters", tmp, false);
	}
	put(b, "<tr><th>Layers</th><td>");
	for (int l = 0; l < m->nlayers; l++)
		dlf_buf_printf(b, "%s%d &#8594; %d%s", l ? "<br/>" : "",
					   (int) m->units[l], (int) m->units[l + 1],
					   l == m->nlayers - 1 ? " (output, linear)" : "");
	put(b, "</td></tr></table>");
	if (m->nmetrics > 0)
	{
		put(b, "<h3>Validation metrics recorded in the model</h3><table>");
		for (int i = 0; i < m->nmetrics; i++)
		{
			put(b, "<tr><th>");
			esc(b, m->metric_names[i]);
			put(b, "</th>");
			num_cell(b, m->metric_values[i], 4);
			put(b, "</tr>");
		}
		put(b, "</table>");
	}
	put(b, "</div></div><h3>Effective training options</h3>");
	if (m->options_json && dlf_json_object_valid(m->options_json, strlen(m->options_json)))
	{
		Jsonb	   *o = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														   CStringGetDatum(m->options_json)));

		card_jobject_table(b, &o->root);
	}
	else
		not_available(b, "the model carries no options.");
}

/*
 * Appends the check of the model's monotone constraints (features[].monotone):
 * each constrained feature is swept with the other features at their
 * baseline, and again in DLF_MONO_CONTEXTS random contexts (the core's
 * dlf_monotone_check).
 */
static void
monotone_check(DlfBuf *b, const DlfModel *m)
{
	DlfError	err;
	DlfScorer  *sc;
	double	   *out;
	int			nconstrained = 0;

	for (int f = 0; f < m->nfeatures; f++)
		if (m->features[f].monotone != 0)
			nconstrained++;
	put(b, "<h3>Monotone constraints</h3>");
	if (nconstrained == 0)
	{
		put(b, "<p class=\"na\">The model has no monotone constraints (training option \"monotone\").</p>");
		return;
	}
	sc = dlf_scorer_new(m, &err);
	if (sc == NULL)
		dlfin_report_core_error(&err);
	out = palloc(sizeof(double) * Max(m->nclasses, 1));
	dlf_buf_printf(b, "<p>The constraints the model was trained with (training option \"monotone\"); they hold "
				   "by construction. Check: each constrained feature is swept over %d points from its training "
				   "mean &#8722; 3 to + 3 standard deviations, once with every other feature at its training mean "
				   "or most frequent category, and in %d random contexts of the other features (numbers drawn "
				   "around their training mean, categories among the learned ones, \"other\" and NULL); the "
				   "score must never move against the constraint.</p>", DLF_MONO_STEPS, DLF_MONO_CONTEXTS);
	put(b, "<table><tr><th>Feature</th><th>Constraint</th><th>Check</th><th>Steps checked</th>"
		"<th>Score at low end</th><th>Score at high end</th></tr>");
	for (int f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		DlfMonotoneCheck mc;

		if (ft->monotone == 0)
			continue;
		put(b, "<tr><td>");
		esc(b, ft->name);
		put(b, ft->monotone > 0 ? "</td><td>increasing (+1)</td>" : "</td><td>decreasing (&#8722;1)</td>");
		if (ft->kind != DLF_FEAT_NUMERIC)
		{
			put(b, "<td class=\"na\">not checked: categorical feature</td><td></td><td></td><td></td></tr>");
			continue;
		}
		if (dlf_monotone_check(sc, m, f, out, dlfin_interrupt_pending, NULL, &mc, &err) != DLF_OK)
		{
			dlf_scorer_free(sc);
			dlfin_report_core_error(&err);
		}
		if (mc.violations > 0)
		{
			dlf_buf_printf(b, "<td class=\"bad\">violated in %lld of %d sweeps (largest step against the constraint ",
						   (long long) mc.violations, DLF_MONO_CONTEXTS + 1);
			dlf_buf_num(b, -mc.worst, 3);
			put(b, ")</td>");
		}
		else
			put(b, "<td class=\"good\">holds: no step against the constraint</td>");
		num_cell(b, (double) (DLF_MONO_CONTEXTS + 1) * (DLF_MONO_STEPS - 1), 12);
		num_cell(b, mc.first, 4);
		num_cell(b, mc.last, 4);
		put(b, "</tr>");
	}
	put(b, "</table>");
	dlf_scorer_free(sc);
}

/*
 * Appends per-group performance of the held-out rows: rate, mean score, AUC
 * (the core's dlf_group_performance groups and computes).
 */
static void
group_performance(DlfBuf *b, const Heldout *h, const char *group_name)
{
	DlfGroupPerf *g;
	int			ngroups;
	bool		more;
	DlfError	err;

	if (h->group == NULL || h->n == 0)
		return;
	g = palloc(sizeof(DlfGroupPerf) * MAX_GROUPS);
	if (dlf_group_performance(h->score, h->label, h->group, h->n, MAX_GROUPS,
							  g, &ngroups, &more, dlfin_interrupt_pending, NULL, &err) != DLF_OK)
	{
		if (err.code == DLF_ERR_INVALID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", err.message)));
		dlfin_report_core_error(&err);
	}
	put(b, "<h3>Performance by group</h3><table><tr><th>Group</th><th>Rows</th>"
		"<th>Positive rate</th><th>Mean score</th><th>AUC</th></tr>");
	for (int i = 0; i < ngroups; i++)
	{
		put(b, "<tr><td>");
		if (h->group[g[i].row] == NULL)
			put(b, "<span class=\"na\">NULL</span>");
		else
			esc(b, h->group[g[i].row]);
		put(b, "</td>");
		num_cell(b, (double) g[i].n, 12);
		put(b, "<td class=\"num\">");
		pct(b, (double) g[i].positives / g[i].n);
		put(b, "</td>");
		num_cell(b, g[i].mean_score, 3);
		num_cell(b, g[i].auc, 3);
		put(b, "</tr>");
	}
	if (more)
		dlf_buf_printf(b, "<tr><td colspan=\"5\" class=\"na\">more than %d groups: the rest are not shown</td></tr>",
					   MAX_GROUPS);
	put(b, "</table>");
}

/* Appends the explanation section: importance, monotonicity, fairness, drift. */
static void
section_explanation(DlfBuf *b, const DlfModel *m, JsonbContainer *facts,
					const Heldout *h, double thr)
{
	char	   *group_name = card_jstr(card_jget(facts, "group"));

	put(b, "<h2 id=\"explanation\">Explanation</h2><h3>Global feature importance</h3>");
	put(b, "<figure class=\"chart-importance\">");
	if (!card_chart_importance(b, m))
		not_available(b, "the model carries no permutation importance (it was trained without a validation split).");
	else
		put(b, "<figcaption>Permutation importance stored in the model at training (<code>dlfin_importance</code>): "
			"the drop of the validation metric (AUC for binary models, accuracy for multiclass, the rise of RMSE "
			"for regression) when the feature's values are shuffled among the validation rows.</figcaption>");
	put(b, "</figure>");
	monotone_check(b, m);
	if (m->task == DLF_TASK_BINARY)
	{
		card_fairness(b, m, facts, thr, group_name ? group_name : "");
		group_performance(b, h, group_name ? group_name : "");
	}
	card_drift(b, m, facts);
}

/* Appends the key figure tiles of a binary model with both classes held out. */
static void
key_figures(DlfBuf *b, const DlfModel *m, const Heldout *h, double thr)
{
	if (m->task == DLF_TASK_BINARY && h->n > 0 && h->npos > 0 && h->nneg > 0)
	{
		DlfBinaryMetrics km;

		card_binary_metrics(h->pos, h->npos, h->neg, h->nneg, thr, &km);
		put(b, "<div class=\"tiles\">");
		tile(b, "held-out ROC AUC", km.auc, 3, NULL);
		tile(b, "Gini", 2 * km.auc - 1, 3, NULL);
		tile(b, "KS", km.ks, 3, NULL);
		tile(b, "Brier score", km.brier, 3, NULL);
		tile(b, "held-out rows", (double) km.n, 12, NULL);
		{
			char		rate[32];

			snprintf(rate, sizeof(rate), "%.1f%%", 100.0 * km.positives / km.n);
			tile(b, "positive rate", 0, 0, rate);
		}
		tile(b, "best epoch", m->best_epoch, 6, m->best_epoch > 0 ? NULL : "n/a");
		put(b, "</div>");
	}
}

PG_FUNCTION_INFO_V1(dlfin_card_html);
/*
 * dlfin.card_html(model, scores, labels, groups, facts): the model card as
 * one self-contained XHTML-compatible HTML page.
 */
Datum
dlfin_card_html(PG_FUNCTION_ARGS)
{
	bytea	   *raw;
	DlfModel   *m;
	Jsonb	   *fj = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	JsonbContainer *facts = fj ? &fj->root : NULL;
	Heldout		h;
	double		thr;
	char	   *title;
	char	   *generated;
	JsonbContainer *notes;
	DlfBinaryMetrics all;
	DlfBuf		b;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be null")));
	raw = PG_GETARG_BYTEA_PP(0);
	m = dlfin_decode_model(raw);
	heldout_read(fcinfo, &h);
	thr = card_jnum(card_jget(facts, "threshold"));
	if (isnan(thr))
		thr = 0.5;
	if (!isfinite(thr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be a finite number")));
	title = card_jstr(card_jget(facts, "title"));
	generated = card_jstr(card_jget(facts, "generated_at"));
	notes = card_jcont(card_jget(facts, "notes"));
	memset(&all, 0, sizeof(all));

	dlf_buf_init(&b);
	put(&b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>"
		"<meta charset=\"utf-8\"/>"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"/>"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
		"<meta name=\"generator\" content=\"dlfin " DLF_VERSION "\"/><title>Model card: ");
	esc(&b, title ? title : "dlfin model");
	put(&b, "</title><style>");
	put(&b, dlfin_card_css);
	put(&b, "</style></head><body><main><header><h1>Model card: ");
	esc(&b, title ? title : "dlfin model");
	put(&b, "</h1><p class=\"sub\">");
	esc(&b, task_label(m->task));
	dlf_buf_printf(&b, " &#183; %d features &#183; %lld parameters", (int) m->nfeatures,
				   (long long) dlf_model_nparams_total(m));
	if (generated)
	{
		put(&b, " &#183; generated ");
		esc(&b, generated);
	}
	put(&b, "</p>");
	if (notes && JsonContainerIsArray(notes))
		for (uint32 i = 0; i < JsonContainerSize(notes); i++)
		{
			put(&b, "<p class=\"na\">");
			esc(&b, card_jstr(getIthJsonbValueFromContainer(notes, i)));
			put(&b, "</p>");
		}
	put(&b, "</header>");

	/* key figures first: what a reviewer looks for */
	key_figures(&b, m, &h, thr);
	put(&b, "<p class=\"sub\">Sections: <a href=\"#identity\">identity</a> &#183; <a href=\"#data\">data</a> &#183; "
		"<a href=\"#performance\">performance</a> &#183; <a href=\"#training\">training</a> &#183; "
		"<a href=\"#explanation\">explanation</a> &#183; <a href=\"#characteristics\">characteristics</a> &#183; "
		"<a href=\"#deployments\">deployment history</a></p>");

	section_identity(&b, m, facts, raw);
	section_data(&b, m, facts, &h);
	section_performance(&b, m, facts, &h, thr, &all);
	section_training(&b, m);
	section_explanation(&b, m, facts, &h, thr);
	card_characteristics(&b, m, facts);
	card_deployments(&b, facts);

	put(&b, "<footer>Drawn by dlfin " DLF_VERSION " from the model bytes");
	if (h.n > 0)
		put(&b, " and the held-out rows");
	if (facts && card_jget(facts, "registry"))
		put(&b, " and the registry record");
	put(&b, ". Numbers are computed by the same functions as dlfin_metrics, dlfin_roc and dlfin_deciles.</footer>"
		"</main></body></html>\n");
	PG_RETURN_TEXT_P(card_text(&b));
}
