/*
 * card.c
 *	  The model card: SVG chart aggregates and functions, and the HTML page
 *	  of a model with its held-out evaluation, training history, explanation
 *	  and registry record.
 *
 * The chart aggregates reuse the state of the binary metric aggregates
 * (metrics.c), so they run in parallel plans exactly as dlfin_roc does and
 * draw the numbers dlfin_roc, dlfin_deciles and dlfin_metrics return.  The
 * page renderer dlfin.card_html() is a pure function of the model bytes, the
 * held-out scores and labels, and a jsonb of facts the SQL wrappers gathered
 * (registry record, deployment history); every string from the model, the
 * data or the facts is XML-escaped, and the page carries a Content Security
 * Policy that forbids scripts and every external resource.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "dlfin_pg.h"
#include "dlfin_metrics.h"
#include "dlfin_codec.h"
#include "svg.h"

#define ROC_POINTS		200
#define CAL_BINS		10
#define MAX_GROUPS		100
#define MAX_IMPORTANCE	30
#define MONO_STEPS		41
#define MONO_CONTEXTS	200

/* ---- helpers ---- */

/* Turns a finished buffer into a text datum, or raises out of memory. */
static text *
buf_to_text(DlfBuf *b)
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

/* Appends a string as escaped HTML text. */
static void
esc(DlfBuf *b, const char *s)
{
	dlf_buf_xml(b, s ? s : "");
}

/* Appends literal markup. */
static void
put(DlfBuf *b, const char *s)
{
	dlf_buf_append(b, s, strlen(s));
}

/* Appends a number cell of a table row. */
static void
num_cell(DlfBuf *b, double v, int digits)
{
	put(b, "<td class=\"num\">");
	dlf_buf_num(b, v, digits);
	put(b, "</td>");
}

/* Appends a share as a percentage with one decimal. */
static void
pct(DlfBuf *b, double v)
{
	if (!isfinite(v))
		put(b, "n/a");
	else
		dlf_buf_printf(b, "%.1f%%", 100.0 * v);
}

/* Appends a "not available" paragraph with the reason. */
static void
not_available(DlfBuf *b, const char *why)
{
	put(b, "<p class=\"na\">Not available: ");
	esc(b, why);
	put(b, "</p>");
}

/* ---- charts shared by the aggregates and the page ---- */

/* ROC curve of sorted class scores with the AUC in the legend. */
static void
chart_roc(DlfBuf *b, const double *pos, int64 npos, const double *neg, int64 nneg,
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
static void
chart_calibration(DlfBuf *b, const double *pos, int64 npos, const double *neg, int64 nneg,
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
static void
chart_lift(DlfBuf *b, const DlfDecile *d)
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
static bool
chart_learning(DlfBuf *b, const DlfModel *m)
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
static bool
chart_importance(DlfBuf *b, const DlfModel *m)
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
static void
binary_metrics(double *pos, int64 npos, double *neg, int64 nneg, double thr,
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
	binary_metrics(pos, npos, neg, nneg, 0.5, &m);
	dlf_buf_init(&b);
	chart_roc(&b, pos, npos, neg, nneg, m.auc);
	PG_RETURN_TEXT_P(buf_to_text(&b));
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
	chart_calibration(&b, pos, npos, neg, nneg, mp, ob, cnt);
	PG_RETURN_TEXT_P(buf_to_text(&b));
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
	chart_lift(&b, d);
	PG_RETURN_TEXT_P(buf_to_text(&b));
}

PG_FUNCTION_INFO_V1(dlfin_svg_learning_curve);
/* Learning curve of a model as SVG; NULL when it recorded no history. */
Datum
dlfin_svg_learning_curve(PG_FUNCTION_ARGS)
{
	DlfModel   *m = dlfin_decode_model(PG_GETARG_BYTEA_PP(0));
	DlfBuf		b;

	dlf_buf_init(&b);
	if (!chart_learning(&b, m))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(buf_to_text(&b));
}

PG_FUNCTION_INFO_V1(dlfin_svg_importance);
/* Feature importance bars of a model as SVG; NULL when it has none. */
Datum
dlfin_svg_importance(PG_FUNCTION_ARGS)
{
	DlfModel   *m = dlfin_decode_model(PG_GETARG_BYTEA_PP(0));
	DlfBuf		b;

	dlf_buf_init(&b);
	if (!chart_importance(&b, m))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(buf_to_text(&b));
}

/* ---- jsonb facts of the page ---- */

/* Looks up key in a jsonb object; NULL when absent, not an object or null. */
static JsonbValue *
jget(JsonbContainer *jc, const char *key)
{
	JsonbValue *v;

	if (jc == NULL || !JsonContainerIsObject(jc))
		return NULL;
	v = getKeyJsonValueFromContainer(jc, key, strlen(key), NULL);
	if (v && v->type == jbvNull)
		return NULL;
	return v;
}

/* The container of an object or array value, or NULL. */
static JsonbContainer *
jcont(JsonbValue *v)
{
	return v && v->type == jbvBinary ? v->val.binary.data : NULL;
}

/* A string value as a new C string, or NULL. */
static char *
jstr(JsonbValue *v)
{
	if (v == NULL)
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	if (v->type == jbvBool)
		return pstrdup(v->val.boolean ? "true" : "false");
	if (v->type == jbvBinary)
	{
		StringInfoData s;

		initStringInfo(&s);
		JsonbToCString(&s, v->val.binary.data, v->val.binary.len);
		return s.data;
	}
	return NULL;
}

/* A number value as a double, or NaN. */
static double
jnum(JsonbValue *v)
{
	if (v == NULL || v->type != jbvNumeric)
		return NAN;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/* Appends a jsonb value for display: numbers rounded, nested ones as JSON. */
static void
jvalue_html(DlfBuf *b, JsonbValue *v)
{
	if (v == NULL || v->type == jbvNull)
		put(b, "<span class=\"na\">null</span>");
	else if (v->type == jbvNumeric)
	{
		char	   *t = jstr(v);
		const char *dot = strchr(t, '.');

		/* long fractions (computed metrics) are rounded, given values kept */
		if (dot && strlen(dot + 1) > 6 && strchr(t, 'e') == NULL)
			dlf_buf_num(b, jnum(v), 4);
		else
			esc(b, t);
	}
	else if (v->type == jbvBinary)
	{
		put(b, "<code>");
		esc(b, jstr(v));
		put(b, "</code>");
	}
	else
		esc(b, jstr(v));
}

/* Appends the keys and values of a jsonb object as a two-column table. */
static void
jobject_table(DlfBuf *b, JsonbContainer *jc)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (jc == NULL || !JsonContainerIsObject(jc) || JsonContainerSize(jc) == 0)
	{
		put(b, "<p class=\"na\">none</p>");
		return;
	}
	put(b, "<table class=\"kv\">");
	it = JsonbIteratorInit(jc);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			put(b, "<tr><th>");
			dlf_buf_xml_n(b, v.val.string.val, v.val.string.len);
			put(b, "</th>");
		}
		else if (tok == WJB_VALUE)
		{
			put(b, "<td>");
			jvalue_html(b, &v);
			put(b, "</td></tr>");
		}
	}
	put(b, "</table>");
}

/* Appends a jsonb array of objects as a table with the given columns. */
static void
jarray_table(DlfBuf *b, JsonbContainer *jc, const char *const *keys,
			 const char *const *heads, int ncols)
{
	uint32		n = jc && JsonContainerIsArray(jc) ? JsonContainerSize(jc) : 0;

	put(b, "<table><tr>");
	for (int c = 0; c < ncols; c++)
	{
		put(b, "<th>");
		esc(b, heads[c]);
		put(b, "</th>");
	}
	put(b, "</tr>");
	for (uint32 i = 0; i < n; i++)
	{
		JsonbValue *row = getIthJsonbValueFromContainer(jc, i);

		put(b, "<tr>");
		for (int c = 0; c < ncols; c++)
		{
			JsonbValue *v = jget(jcont(row), keys[c]);

			put(b, "<td>");
			if (v)
				jvalue_html(b, v);
			put(b, "</td>");
		}
		put(b, "</tr>");
	}
	put(b, "</table>");
}

/* ---- the page ---- */

static const char *const card_css =
"body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;color:#222;background:#eceef1;margin:0;line-height:1.4}"
"main{max-width:1040px;margin:0 auto;padding:24px 36px 40px;background:#fff}"
"header{border-bottom:4px solid #0072b2;padding-bottom:12px}"
"h1{font-size:26px;margin:0 0 4px}"
".sub{color:#555;margin:0}"
"h2{font-size:20px;border-bottom:1px solid #c9ced6;padding-bottom:4px;margin:34px 0 10px;color:#0b3d66}"
"h3{font-size:15px;margin:18px 0 6px}"
"table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}"
"th,td{border:1px solid #d6dae0;padding:4px 9px;text-align:left;vertical-align:top}"
"th{background:#eef2f6;font-weight:600}"
"tr:nth-child(even) td{background:#f8f9fb}"
"td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
"table.kv th{width:200px}"
"code{font-family:'DejaVu Sans Mono',monospace;font-size:12px;word-break:break-all;white-space:pre-wrap}"
".tiles{display:flex;flex-wrap:wrap;gap:10px;margin:18px 0 4px}"
".tile{flex:1 1 0;border:1px solid #d6dae0;border-left:4px solid #0072b2;border-radius:4px;padding:8px 12px;min-width:90px}"
".tile .v{font-size:22px;font-weight:bold}"
".tile .k{font-size:12px;color:#555}"
".charts{display:flex;flex-wrap:wrap;gap:16px;margin:8px 0 12px}"
"figure{margin:0;border:1px solid #d6dae0;border-radius:4px;padding:6px;background:#fff}"
"figcaption{font-size:12px;color:#555;max-width:480px;padding:4px 2px 0}"
".na{color:#6b6b6b;font-style:italic}"
".bad{color:#b3261e;font-weight:600}"
".warn{color:#8a5a00;font-weight:600}"
".good{color:#00734d;font-weight:600}"
".cm td{text-align:right;min-width:90px}"
"footer{margin-top:36px;border-top:1px solid #c9ced6;padding-top:8px;font-size:12px;color:#555}"
"@media print{body{background:#fff}main{padding:0;max-width:none}figure,table,.tiles{break-inside:avoid}h2{break-after:avoid}}";

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

/* Appends one label/value row; code rows are set in monospace. */
static void
kv_row(DlfBuf *b, const char *key, const char *value, bool code)
{
	put(b, "<tr><th>");
	esc(b, key);
	put(b, "</th><td>");
	if (value == NULL)
		put(b, "<span class=\"na\">not available</span>");
	else
	{
		if (code)
			put(b, "<code>");
		esc(b, value);
		if (code)
			put(b, "</code>");
	}
	put(b, "</td></tr>");
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

/* Held-out rows handed to the page. */
typedef struct Heldout
{
	int64		n;				/* rows with score and label */
	double	   *score;
	bool	   *label;
	char	  **group;			/* NULL when no group column */
	double	   *pos;			/* scores split by class */
	double	   *neg;
	int64		npos;
	int64		nneg;
} Heldout;

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
	JsonbContainer *idc = jcont(jget(facts, "identity"));
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
			JsonbContainer *row = jcont(getIthJsonbValueFromContainer(idc, i));
			JsonbValue *k,
					   *v,
					   *code;

			if (row == NULL || !JsonContainerIsArray(row) || JsonContainerSize(row) < 2)
				continue;
			k = getIthJsonbValueFromContainer(row, 0);
			v = getIthJsonbValueFromContainer(row, 1);
			code = JsonContainerSize(row) > 2 ? getIthJsonbValueFromContainer(row, 2) : NULL;
			kv_row(b, jstr(k), v && v->type != jbvNull ? jstr(v) : NULL,
				   code && code->type == jbvBool && code->val.boolean);
		}
	}
	kv_row(b, "Task", task_label(m->task), false);
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
		kv_row(b, "Classes", cl.failed ? "" : (char *) cl.data, false);
		dlf_buf_free(&cl);
	}
	kv_row(b, "dlfin version", version[0] ? version : NULL, false);
	snprintf(tmp, sizeof(tmp), "%u", (unsigned) fmt);
	kv_row(b, "Model format version", tmp, false);
	snprintf(tmp, sizeof(tmp), "%08x", (unsigned) crc);
	kv_row(b, "Model checksum (CRC-32)", tmp, true);
	snprintf(tmp, sizeof(tmp), "%zu bytes", (size_t) VARSIZE_ANY_EXHDR(raw));
	kv_row(b, "Model size", tmp, false);
	put(b, "</table>");
}

/* Appends the data section: rows, class balance and the feature table. */
static void
section_data(DlfBuf *b, const DlfModel *m, JsonbContainer *facts, const Heldout *h)
{
	JsonbContainer *rows = jcont(jget(facts, "rows"));

	put(b, "<h2 id=\"data\">Data</h2><table><tr><th>Rows</th><th>Count</th></tr>");
	put(b, "<tr><td>training (fitted)</td>");
	num_cell(b, (double) m->rows_train, 6);
	put(b, "</tr><tr><td>validation (early stopping, inside training)</td>");
	num_cell(b, (double) m->rows_valid, 6);
	put(b, "</tr>");
	if (rows)
	{
		put(b, "<tr><td>registry: training part of the query</td>");
		num_cell(b, jnum(jget(rows, "train")), 12);
		put(b, "</tr><tr><td>registry: held-out test part of the query</td>");
		num_cell(b, jnum(jget(rows, "test")), 12);
		put(b, "</tr><tr><td>registry: all rows of the query</td>");
		num_cell(b, jnum(jget(rows, "total")), 12);
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
		put(b, cat ? "categorical (text)" :
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
	kv_row(b, "Method (training option \"calibrate\")", m->calibration == DLF_CALIB_NONE ?
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
		JsonbContainer *rm = jcont(jget(facts, "metrics"));

		if (rm)
		{
			put(b, "<p>Metrics recorded by the registry on the held-out test rows:</p>");
			jobject_table(b, rm);
		}
		not_available(b, "ROC, calibration, deciles and the confusion matrix are drawn for binary classifiers.");
		return;
	}
	if (h->n == 0)
	{
		not_available(b, "no held-out rows were given (pass a table with columns score and label, or use a registry model).");
		return;
	}
	binary_metrics(h->pos, h->npos, h->neg, h->nneg, thr, &bm);	/* sorts */
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
	chart_roc(b, h->pos, h->npos, h->neg, h->nneg, bm.auc);
	put(b, "<figcaption>True against false positive rate over all thresholds; the dashed line is a model without skill.</figcaption></figure>");
	put(b, "<figure class=\"chart-calibration\">");
	chart_calibration(b, h->pos, h->npos, h->neg, h->nneg, mp, ob, cnt);
	put(b, "<figcaption>Observed positive rate per bin of predicted probability; points on the dashed line are perfectly calibrated. Bars: rows per bin.</figcaption></figure>");
	if (bm.positives > 0)
	{
		dlf_deciles(h->pos, h->npos, h->neg, h->nneg, d);
		put(b, "<figure class=\"chart-lift\">");
		chart_lift(b, d);
		put(b, "<figcaption>Positive rate of each score decile divided by the overall rate.</figcaption></figure>");
	}
	put(b, "</div>");

	put(b, "<h3>Confusion matrix at threshold ");
	dlf_buf_num(b, thr, 4);
	put(b, "</h3><table class=\"cm\"><tr><th>actual \\ predicted</th><th>");
	esc(b, posname);
	put(b, "</th><th>");
	esc(b, negname);
	put(b, "</th><th>total</th></tr><tr><th>");
	esc(b, posname);
	dlf_buf_printf(b, "</th><td>%lld (TP)</td><td>%lld (FN)</td><td>%lld</td></tr><tr><th>",
				   (long long) bm.tp, (long long) bm.fn, (long long) (bm.tp + bm.fn));
	esc(b, negname);
	dlf_buf_printf(b, "</th><td>%lld (FP)</td><td>%lld (TN)</td><td>%lld</td></tr>"
				   "<tr><th>total</th><td>%lld</td><td>%lld</td><td>%lld</td></tr></table>",
				   (long long) bm.fp, (long long) bm.tn, (long long) (bm.fp + bm.tn),
				   (long long) (bm.tp + bm.fp), (long long) (bm.fn + bm.tn), (long long) bm.n);

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
	if (!chart_learning(b, m))
		not_available(b, "the model recorded no training history.");
	put(b, "<figcaption>Loss per epoch on the training rows and on the validation rows held back for early stopping");
	if (m->best_epoch > 0)
		dlf_buf_printf(b, "; the weights of epoch %d (lowest validation loss) were kept", (int) m->best_epoch);
	put(b, ".</figcaption></figure><div>");
	put(b, "<table class=\"kv\">");
	{
		char		tmp[128];

		snprintf(tmp, sizeof(tmp), "%d", (int) m->epochs_run);
		kv_row(b, "Epochs run", tmp, false);
		snprintf(tmp, sizeof(tmp), "%d", (int) m->best_epoch);
		kv_row(b, "Best epoch", m->best_epoch > 0 ? tmp : NULL, false);
		if (isfinite(m->best_valid_loss))
			snprintf(tmp, sizeof(tmp), "%.4f", m->best_valid_loss);
		kv_row(b, "Best validation loss", isfinite(m->best_valid_loss) ? tmp : NULL, false);
		kv_row(b, "Hidden activation", dlf_activation_name(m->activation), false);
		if (m->task == DLF_TASK_BINARY)
		{
			kv_row(b, "Calibration", calib_label(m->calibration), false);
			kv_row(b, "Adverse side (reason codes)", m->adverse == DLF_ADVERSE_POSITIVE ?
				   "positive class" : "negative class", false);
		}
		snprintf(tmp, sizeof(tmp), "%lld", (long long) dlf_model_nparams(m));
		kv_row(b, "Parameters", tmp, false);
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

		jobject_table(b, &o->root);
	}
	else
		not_available(b, "the model carries no options.");
}

/* Sets every feature of the scorer to its baseline: training mean or top category. */
static void
set_baseline_row(DlfScorer *sc, const DlfModel *m)
{
	dlf_scorer_reset(sc);
	for (int j = 0; j < m->nfeatures; j++)
	{
		const DlfFeature *o = &m->features[j];

		if (o->kind == DLF_FEAT_NUMERIC)
			dlf_scorer_set_numeric(sc, j, o->mean, 0);
		else if (o->ncat > 0)
			dlf_scorer_set_category(sc, j, o->categories[0],
									strlen(o->categories[0]), 0);
		else
			dlf_scorer_set_category(sc, j, NULL, 0, 1);
	}
}

/*
 * Sets every feature of the scorer to a random value: numeric ones drawn
 * from a normal of their training mean and standard deviation, categorical
 * ones a learned category, "other" or NULL.
 */
static void
set_random_row(DlfScorer *sc, const DlfModel *m, DlfRng *rng)
{
	static const char *const unseen = "\x01 a category no model has seen";

	dlf_scorer_reset(sc);
	for (int j = 0; j < m->nfeatures; j++)
	{
		const DlfFeature *o = &m->features[j];

		if (o->kind == DLF_FEAT_NUMERIC)
			dlf_scorer_set_numeric(sc, j, o->mean + o->scale * dlf_rng_normal(rng), 0);
		else
		{
			uint64_t	k = dlf_rng_below(rng, (uint64_t) o->ncat + 2);

			if ((int64) k < o->ncat)
				dlf_scorer_set_category(sc, j, o->categories[k],
										strlen(o->categories[k]), 0);
			else if ((int64) k == o->ncat)
				dlf_scorer_set_category(sc, j, unseen, strlen(unseen), 0);
			else
				dlf_scorer_set_category(sc, j, NULL, 0, 1);
		}
	}
}

/*
 * Sweeps feature f over MONO_STEPS points of mean +- 3 sd with the other
 * inputs as set; returns the largest step against the constraint (0 when
 * none) and the scores at both ends.
 */
static double
sweep_feature(DlfScorer *sc, const DlfModel *m, int f, double *out,
			  double *first, double *last)
{
	const DlfFeature *ft = &m->features[f];
	double		prev = NAN,
				worst = 0;

	for (int k = 0; k < MONO_STEPS; k++)
	{
		double		x = ft->mean + ft->scale * (-3.0 + 6.0 * k / (MONO_STEPS - 1));

		/* a step is a forward pass: of a wide network, milliseconds */
		CHECK_FOR_INTERRUPTS();
		dlf_scorer_set_numeric(sc, f, x, 0);
		dlf_scorer_run(sc, out);
		if (k == 0)
			*first = out[0];
		else if ((out[0] - prev) * ft->monotone < worst)
			worst = (out[0] - prev) * ft->monotone;
		prev = out[0];
	}
	*last = prev;
	return worst;
}

/*
 * Checks the model's monotone constraints (features[].monotone): each
 * constrained feature is swept with the other features at their baseline,
 * and again in MONO_CONTEXTS random contexts of the other features.
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
				   "score must never move against the constraint.</p>", MONO_STEPS, MONO_CONTEXTS);
	put(b, "<table><tr><th>Feature</th><th>Constraint</th><th>Check</th><th>Steps checked</th>"
		"<th>Score at low end</th><th>Score at high end</th></tr>");
	for (int f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		double		first = NAN,
					last = NAN,
					worst,
					w,
					f2,
					l2;
		int64		violations = 0;
		DlfRng		rng;

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
		set_baseline_row(sc, m);
		worst = sweep_feature(sc, m, f, out, &first, &last);
		if (worst < 0)
			violations++;
		dlf_rng_seed(&rng, 0x6d6f6e6fULL + (uint64) f);
		for (int c = 0; c < MONO_CONTEXTS; c++)
		{
			set_random_row(sc, m, &rng);
			w = sweep_feature(sc, m, f, out, &f2, &l2);
			if (w < 0)
				violations++;
			worst = Min(worst, w);
		}
		if (violations > 0)
		{
			dlf_buf_printf(b, "<td class=\"bad\">violated in %lld of %d sweeps (largest step against the constraint ",
						   (long long) violations, MONO_CONTEXTS + 1);
			dlf_buf_num(b, -worst, 3);
			put(b, ")</td>");
		}
		else
			put(b, "<td class=\"good\">holds: no step against the constraint</td>");
		num_cell(b, (double) (MONO_CONTEXTS + 1) * (MONO_STEPS - 1), 12);
		num_cell(b, first, 4);
		num_cell(b, last, 4);
		put(b, "</tr>");
	}
	put(b, "</table>");
	dlf_scorer_free(sc);
}

/* Orders held-out row indexes by group (NULL first), for the fairness table. */
static int
group_cmp(const void *a, const void *b, void *arg)
{
	char	  **g = arg;
	const char *x = g[*(const int64 *) a];
	const char *y = g[*(const int64 *) b];

	if (x == NULL || y == NULL)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

/* Appends a number cell from a jsonb value (blank when absent or null). */
static void
jnum_cell(DlfBuf *b, JsonbValue *v, int digits)
{
	put(b, "<td class=\"num\">");
	if (v && v->type == jbvNumeric)
		dlf_buf_num(b, jnum(v), digits);
	else
		put(b, "<span class=\"na\">n/a</span>");
	put(b, "</td>");
}

/* Appends a share cell (percentage) from a jsonb value. */
static void
jpct_cell(DlfBuf *b, JsonbValue *v)
{
	put(b, "<td class=\"num\">");
	if (v && v->type == jbvNumeric)
		pct(b, jnum(v));
	else
		put(b, "<span class=\"na\">n/a</span>");
	put(b, "</td>");
}

/* Orders C strings by their bytes, as dlfin_fairness orders groups. */
static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Appends the fairness table from the facts' dlfin_fairness result: per
 * group approval rate, TPR, FPR, adverse impact ratio and the four-fifths
 * flag, then the parity and equal-opportunity differences.
 */
static void
fairness_from_facts(DlfBuf *b, const DlfModel *m, JsonbContainer *facts,
					double thr, const char *group_name)
{
	JsonbContainer *fc = jcont(jget(facts, "fairness"));
	JsonbContainer *gc = jcont(jget(fc, "groups"));
	bool		adverse_pos = m->adverse == DLF_ADVERSE_POSITIVE;
	const char *posname = m->nclasses == 2 ? m->classes[1] : "positive";
	const char *negname = m->nclasses == 2 ? m->classes[0] : "negative";
	const char *good = adverse_pos ? negname : posname;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			shown = 0;
	int			ngroups = 0;
	char	  **names;
	double		ignored;

	put(b, "<h3>Fairness by group</h3>");
	if (fc == NULL || gc == NULL || JsonContainerSize(gc) == 0)
	{
		not_available(b, "no group column was given (option \"group\"), or no held-out row has a group.");
		return;
	}
	put(b, "<p>Held-out rows grouped by <code>");
	esc(b, group_name);
	put(b, "</code>, as <code>dlfin_fairness</code> computes them. An applicant is <strong>approved</strong> when the score is ");
	put(b, adverse_pos ? "below " : "at or above ");
	dlf_buf_num(b, thr, 4);
	put(b, " (the model's adverse side is the ");
	put(b, adverse_pos ? "positive" : "negative");
	put(b, " class, &#8220;");
	esc(b, adverse_pos ? posname : negname);
	put(b, "&#8221;). TPR: approved among the rows whose outcome was &#8220;");
	esc(b, good);
	put(b, "&#8221;; FPR: approved among the others. Adverse impact ratio: the group's approval rate over that "
		"of the most-approved group; below 0.8 fails the four-fifths rule.</p>"
		"<table><tr><th>Group</th><th>Rows</th><th>Approved</th><th>Approval rate</th><th>TPR</th>"
		"<th>FPR</th><th>Adverse impact ratio</th><th>Four-fifths rule</th></tr>");
	/* jsonb orders keys by length first: list the groups in byte order */
	names = palloc(sizeof(char *) * JsonContainerSize(gc));
	it = JsonbIteratorInit(gc);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY)
			names[ngroups++] = pnstrdup(v.val.string.val, v.val.string.len);
	qsort(names, ngroups, sizeof(char *), cstring_cmp);
	for (int i = 0; i < ngroups; i++)
	{
		char	   *gname = names[i];
		JsonbContainer *g = jcont(jget(gc, gname));
		JsonbValue *flag;

		if (++shown > MAX_GROUPS)
		{
			dlf_buf_printf(b, "<tr><td colspan=\"8\" class=\"na\">more than %d groups: the rest are not shown</td></tr>",
						   MAX_GROUPS);
			break;
		}
		put(b, "<tr><td>");
		esc(b, gname);
		put(b, "</td>");
		jnum_cell(b, jget(g, "n"), 12);
		jnum_cell(b, jget(g, "approved"), 12);
		jpct_cell(b, jget(g, "approval_rate"));
		jnum_cell(b, jget(g, "tpr"), 3);
		jnum_cell(b, jget(g, "fpr"), 3);
		jnum_cell(b, jget(g, "adverse_impact_ratio"), 3);
		flag = jget(g, "four_fifths_violation");
		if (flag == NULL || flag->type != jbvBool)
			put(b, "<td class=\"na\">n/a</td>");
		else if (flag->val.boolean)
			put(b, "<td class=\"bad\">fails (ratio &lt; 0.8)</td>");
		else
			put(b, "<td class=\"good\">passes</td>");
		put(b, "</tr>");
	}
	put(b, "</table><table class=\"kv\">");
	{
		char	   *ref = jstr(jget(fc, "reference_group"));

		kv_row(b, "Reference group (most approved)", ref, false);
	}
	put(b, "<tr><th>Demographic parity difference</th>");
	jnum_cell(b, jget(fc, "demographic_parity_difference"), 3);
	put(b, "</tr><tr><th>Equal-opportunity difference</th>");
	jnum_cell(b, jget(fc, "equal_opportunity_difference"), 3);
	put(b, "</tr></table>");
	ignored = jnum(jget(fc, "ignored_rows"));
	if (ignored > 0)
		dlf_buf_printf(b, "<p class=\"na\">%.0f held-out row%s without a group %s not counted.</p>",
					   ignored, ignored == 1 ? "" : "s", ignored == 1 ? "is" : "are");
	put(b, "<p class=\"sub\">Demographic parity difference: highest minus lowest approval rate; "
		"equal-opportunity difference: highest minus lowest TPR over the groups.</p>");
}

/* Appends per-group performance of the held-out rows: rate, mean score, AUC. */
static void
group_performance(DlfBuf *b, const Heldout *h, const char *group_name)
{
	int64	   *idx;
	double	   *pos,
			   *neg;
	int			ngroups = 0;

	if (h->group == NULL || h->n == 0)
		return;
	idx = palloc(sizeof(int64) * h->n);
	pos = palloc(sizeof(double) * h->n);
	neg = palloc(sizeof(double) * h->n);
	for (int64 i = 0; i < h->n; i++)
		idx[i] = i;
	qsort_arg(idx, h->n, sizeof(int64), group_cmp, h->group);
	put(b, "<h3>Performance by group</h3><table><tr><th>Group</th><th>Rows</th>"
		"<th>Positive rate</th><th>Mean score</th><th>AUC</th></tr>");
	for (int64 s = 0; s < h->n;)
	{
		int64		e = s,
					np = 0,
					nn = 0;
		double		sum = 0;
		DlfBinaryMetrics gm;

		while (e < h->n && group_cmp(&idx[s], &idx[e], h->group) == 0)
		{
			int64		r = idx[e];

			sum += h->score[r];
			if (h->label[r])
				pos[np++] = h->score[r];
			else
				neg[nn++] = h->score[r];
			e++;
		}
		if (++ngroups > MAX_GROUPS)
		{
			dlf_buf_printf(b, "<tr><td colspan=\"5\" class=\"na\">more than %d groups: the rest are not shown</td></tr>",
						   MAX_GROUPS);
			break;
		}
		binary_metrics(pos, np, neg, nn, 0.5, &gm);
		put(b, "<tr><td>");
		if (h->group[idx[s]] == NULL)
			put(b, "<span class=\"na\">NULL</span>");
		else
			esc(b, h->group[idx[s]]);
		put(b, "</td>");
		num_cell(b, (double) gm.n, 12);
		put(b, "<td class=\"num\">");
		pct(b, (double) gm.positives / gm.n);
		put(b, "</td>");
		num_cell(b, sum / gm.n, 3);
		num_cell(b, gm.auc, 3);
		put(b, "</tr>");
		s = e;
	}
	put(b, "</table>");
}

/* CSS class of a PSI band. */
static const char *
band_class(const char *band)
{
	if (band == NULL)
		return "na";
	if (strcmp(band, "significant") == 0)
		return "bad";
	if (strcmp(band, "moderate") == 0)
		return "warn";
	return "good";
}

/* A feature's index and PSI, for ordering the drift table. */
typedef struct DriftRow
{
	int			f;
	double		psi;
} DriftRow;

/* Orders drift rows by PSI, largest first (unknown last), then position. */
static int
drift_cmp(const void *a, const void *b)
{
	const DriftRow *x = a,
			   *y = b;

	if (isnan(x->psi) != isnan(y->psi))
		return isnan(x->psi) ? 1 : -1;
	if (!isnan(x->psi) && x->psi != y->psi)
		return x->psi > y->psi ? -1 : 1;
	return x->f - y->f;
}

/* Appends one drift row: name, PSI, band. */
static void
drift_row(DlfBuf *b, const char *name, bool score, JsonbContainer *pc)
{
	char	   *band = jstr(jget(pc, "band"));

	put(b, "<tr><td>");
	if (score)
		put(b, "<strong>");
	esc(b, name);
	if (score)
		put(b, "</strong>");
	put(b, "</td>");
	jnum_cell(b, jget(pc, "psi"), 3);
	dlf_buf_printf(b, "<td class=\"%s\">", band_class(band));
	esc(b, band ? band : "n/a");
	put(b, "</td></tr>");
}

/*
 * Appends the drift section from the facts' dlfin_drift result: PSI of the
 * score and of every feature, largest first, with the 0.1 / 0.25 bands.
 */
static void
drift_section(DlfBuf *b, const DlfModel *m, JsonbContainer *facts)
{
	JsonbContainer *dc = jcont(jget(facts, "drift"));
	JsonbContainer *fc = jcont(jget(dc, "features"));
	char	   *table = jstr(jget(facts, "drift_table"));
	DriftRow   *rows;

	put(b, "<h3>Drift (population stability index)</h3>");
	if (dc == NULL || fc == NULL)
	{
		char	   *why = jstr(jget(facts, "drift_note"));

		not_available(b, why ? why : "no table to compare with the training data was given (option \"drift\").");
		return;
	}
	put(b, "<p>");
	dlf_buf_num(b, jnum(jget(dc, "rows")), 12);
	put(b, " rows of <code>");
	esc(b, table ? table : "the drift table");
	put(b, "</code> against the training distributions stored in the model, as <code>dlfin_drift</code> "
		"computes them: PSI = &#931; (a &#8722; e) ln(a / e) over the training deciles (numeric features, "
		"plus a NULL bin) or categories. Bands: below 0.1 <span class=\"good\">stable</span>, 0.1 to 0.25 "
		"<span class=\"warn\">moderate</span>, above 0.25 <span class=\"bad\">significant</span>.</p>");
	put(b, "<table><tr><th>Score or feature</th><th>PSI</th><th>Band</th></tr>");
	drift_row(b, "model score", true, jcont(jget(dc, "score")));
	rows = palloc(sizeof(DriftRow) * Max(m->nfeatures, 1));
	for (int f = 0; f < m->nfeatures; f++)
	{
		rows[f].f = f;
		rows[f].psi = jnum(jget(jcont(jget(fc, m->features[f].name)), "psi"));
	}
	qsort(rows, m->nfeatures, sizeof(DriftRow), drift_cmp);
	for (int i = 0; i < m->nfeatures; i++)
		drift_row(b, m->features[rows[i].f].name, false,
				  jcont(jget(fc, m->features[rows[i].f].name)));
	put(b, "</table>");
}

/* Appends the explanation section: importance, monotonicity, fairness, drift. */
static void
section_explanation(DlfBuf *b, const DlfModel *m, JsonbContainer *facts,
					const Heldout *h, double thr)
{
	char	   *group_name = jstr(jget(facts, "group"));

	put(b, "<h2 id=\"explanation\">Explanation</h2><h3>Global feature importance</h3>");
	put(b, "<figure class=\"chart-importance\">");
	if (!chart_importance(b, m))
		not_available(b, "the model carries no permutation importance (it was trained without a validation split).");
	else
		put(b, "<figcaption>Permutation importance stored in the model at training (<code>dlfin_importance</code>): "
			"the drop of the validation metric (AUC for binary models, accuracy for multiclass, the rise of RMSE "
			"for regression) when the feature's values are shuffled among the validation rows.</figcaption>");
	put(b, "</figure>");
	monotone_check(b, m);
	if (m->task == DLF_TASK_BINARY)
	{
		fairness_from_facts(b, m, facts, thr, group_name ? group_name : "");
		group_performance(b, h, group_name ? group_name : "");
	}
	drift_section(b, m, facts);
}

/* Appends the deployment history of the name. */
static void
section_deployments(DlfBuf *b, JsonbContainer *facts)
{
	JsonbValue *dv = jget(facts, "deployments");
	static const char *const keys[] = {"changed_at", "action", "version", "previous_version", "changed_by", "reason"};
	static const char *const heads[] = {"When", "Action", "Version", "Previous", "By", "Reason"};

	put(b, "<h2 id=\"deployments\">Deployment history</h2>");
	if (dv == NULL)
	{
		char	   *why = jstr(jget(facts, "deployments_note"));

		not_available(b, why ? why : "the model was not given by registry name.");
		return;
	}
	if (jcont(dv) == NULL || JsonContainerSize(jcont(dv)) == 0)
	{
		put(b, "<p class=\"na\">This model has never been deployed.</p>");
		return;
	}
	jarray_table(b, jcont(dv), keys, heads, 6);
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
	thr = jnum(jget(facts, "threshold"));
	if (isnan(thr))
		thr = 0.5;
	if (!isfinite(thr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be a finite number")));
	title = jstr(jget(facts, "title"));
	generated = jstr(jget(facts, "generated_at"));
	notes = jcont(jget(facts, "notes"));
	memset(&all, 0, sizeof(all));

	dlf_buf_init(&b);
	put(&b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>"
		"<meta charset=\"utf-8\"/>"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"/>"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
		"<meta name=\"generator\" content=\"dlfin " DLF_VERSION "\"/><title>Model card: ");
	esc(&b, title ? title : "dlfin model");
	put(&b, "</title><style>");
	put(&b, card_css);
	put(&b, "</style></head><body><main><header><h1>Model card: ");
	esc(&b, title ? title : "dlfin model");
	put(&b, "</h1><p class=\"sub\">");
	esc(&b, task_label(m->task));
	dlf_buf_printf(&b, " &#183; %d features &#183; %lld parameters", (int) m->nfeatures,
				   (long long) dlf_model_nparams(m));
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
			esc(&b, jstr(getIthJsonbValueFromContainer(notes, i)));
			put(&b, "</p>");
		}
	put(&b, "</header>");

	/* key figures first: what a reviewer looks for */
	if (m->task == DLF_TASK_BINARY && h.n > 0 && h.npos > 0 && h.nneg > 0)
	{
		DlfBinaryMetrics km;

		binary_metrics(h.pos, h.npos, h.neg, h.nneg, thr, &km);
		put(&b, "<div class=\"tiles\">");
		tile(&b, "held-out ROC AUC", km.auc, 3, NULL);
		tile(&b, "Gini", 2 * km.auc - 1, 3, NULL);
		tile(&b, "KS", km.ks, 3, NULL);
		tile(&b, "Brier score", km.brier, 3, NULL);
		tile(&b, "held-out rows", (double) km.n, 12, NULL);
		{
			char		rate[32];

			snprintf(rate, sizeof(rate), "%.1f%%", 100.0 * km.positives / km.n);
			tile(&b, "positive rate", 0, 0, rate);
		}
		tile(&b, "best epoch", m->best_epoch, 6, m->best_epoch > 0 ? NULL : "n/a");
		put(&b, "</div>");
	}
	put(&b, "<p class=\"sub\">Sections: <a href=\"#identity\">identity</a> &#183; <a href=\"#data\">data</a> &#183; "
		"<a href=\"#performance\">performance</a> &#183; <a href=\"#training\">training</a> &#183; "
		"<a href=\"#explanation\">explanation</a> &#183; <a href=\"#deployments\">deployment history</a></p>");

	section_identity(&b, m, facts, raw);
	section_data(&b, m, facts, &h);
	section_performance(&b, m, facts, &h, thr, &all);
	section_training(&b, m);
	section_explanation(&b, m, facts, &h, thr);
	section_deployments(&b, facts);

	put(&b, "<footer>Drawn by dlfin " DLF_VERSION " from the model bytes");
	if (h.n > 0)
		put(&b, " and the held-out rows");
	if (facts && jget(facts, "registry"))
		put(&b, " and the registry record");
	put(&b, ". Numbers are computed by the same functions as dlfin_metrics, dlfin_roc and dlfin_deciles.</footer>"
		"</main></body></html>\n");
	PG_RETURN_TEXT_P(buf_to_text(&b));
}
