/*
 * card_facts.c
 *	  The model card's jsonb facts: accessors, jsonb tables, and the
 *	  sections drawn from facts (fairness, drift, deployment history).
 *
 * The facts are a jsonb the SQL wrappers gathered (registry record,
 * dlfin_fairness and dlfin_drift results, deployment history); nothing here
 * computes, it only lays out what the facts say.
 */
#include "card.h"

#include "utils/builtins.h"
#include "utils/numeric.h"

/* ---- jsonb facts of the page ---- */

/* Looks up key in a jsonb object; NULL when absent, not an object or null. */
JsonbValue *
card_jget(JsonbContainer *jc, const char *key)
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
JsonbContainer *
card_jcont(JsonbValue *v)
{
	return v && v->type == jbvBinary ? v->val.binary.data : NULL;
}

/* A string value as a new C string, or NULL. */
char *
card_jstr(JsonbValue *v)
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
double
card_jnum(JsonbValue *v)
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
		char	   *t = card_jstr(v);
		const char *dot = strchr(t, '.');

		/* long fractions (computed metrics) are rounded, given values kept */
		if (dot && strlen(dot + 1) > 6 && strchr(t, 'e') == NULL)
			dlf_buf_num(b, card_jnum(v), 4);
		else
			esc(b, t);
	}
	else if (v->type == jbvBinary)
	{
		put(b, "<code>");
		esc(b, card_jstr(v));
		put(b, "</code>");
	}
	else
		esc(b, card_jstr(v));
}

/* Appends the keys and values of a jsonb object as a two-column table. */
void
card_jobject_table(DlfBuf *b, JsonbContainer *jc)
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
void
card_jarray_table(DlfBuf *b, JsonbContainer *jc, const char *const *keys,
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
			JsonbValue *v = card_jget(card_jcont(row), keys[c]);

			put(b, "<td>");
			if (v)
				jvalue_html(b, v);
			put(b, "</td>");
		}
		put(b, "</tr>");
	}
	put(b, "</table>");
}

/* Appends a number cell from a jsonb value (blank when absent or null). */
static void
jnum_cell(DlfBuf *b, JsonbValue *v, int digits)
{
	put(b, "<td class=\"num\">");
	if (v && v->type == jbvNumeric)
		dlf_buf_num(b, card_jnum(v), digits);
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
		pct(b, card_jnum(v));
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

/* Appends the fairness table's row of group gname (its jsonb object g). */
static void
fairness_row(DlfBuf *b, const char *gname, JsonbContainer *g)
{
	JsonbValue *flag;

	put(b, "<tr><td>");
	esc(b, gname);
	put(b, "</td>");
	jnum_cell(b, card_jget(g, "n"), 12);
	jnum_cell(b, card_jget(g, "approved"), 12);
	jpct_cell(b, card_jget(g, "approval_rate"));
	jnum_cell(b, card_jget(g, "tpr"), 3);
	jnum_cell(b, card_jget(g, "fpr"), 3);
	jnum_cell(b, card_jget(g, "adverse_impact_ratio"), 3);
	flag = card_jget(g, "four_fifths_violation");
	if (flag == NULL || flag->type != jbvBool)
		put(b, "<td class=\"na\">n/a</td>");
	else if (flag->val.boolean)
		put(b, "<td class=\"bad\">fails (ratio &lt; 0.8)</td>");
	else
		put(b, "<td class=\"good\">passes</td>");
	jnum_cell(b, card_jget(g, "p_value"), 3);
	put(b, "<td>");
	esc(b, card_jstr(card_jget(g, "test")));
	put(b, "</td>");
	flag = card_jget(g, "practically_significant");
	if (flag && flag->type == jbvBool && flag->val.boolean)
		put(b, "<td class=\"bad\">yes (ratio &lt; 0.8, p &lt; 0.05)</td>");
	else
		put(b, "<td>no</td>");
	put(b, "</tr>");
}

/*
 * Appends the fairness table from the facts' dlfin_fairness result: per
 * group approval rate, TPR, FPR, adverse impact ratio and the four-fifths
 * flag, then the parity and equal-opportunity differences.
 */
void
card_fairness(DlfBuf *b, const DlfModel *m, JsonbContainer *facts,
					double thr, const char *group_name)
{
	JsonbContainer *fc = card_jcont(card_jget(facts, "fairness"));
	JsonbContainer *gc = card_jcont(card_jget(fc, "groups"));
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
		"<th>FPR</th><th>Adverse impact ratio</th><th>Four-fifths rule</th><th>p-value</th><th>Test</th>"
		"<th>Practically significant</th></tr>");
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
		JsonbContainer *g = card_jcont(card_jget(gc, gname));

		if (++shown > MAX_GROUPS)
		{
			dlf_buf_printf(b, "<tr><td colspan=\"11\" class=\"na\">more than %d groups: the rest are not shown</td></tr>",
						   MAX_GROUPS);
			break;
		}
		fairness_row(b, gname, g);
	}
	put(b, "</table><table class=\"kv\">");
	{
		char	   *ref = card_jstr(card_jget(fc, "reference_group"));

		card_kv_row(b, "Reference group (most approved)", ref, false);
	}
	put(b, "<tr><th>Demographic parity difference</th>");
	jnum_cell(b, card_jget(fc, "demographic_parity_difference"), 3);
	put(b, "</tr><tr><th>Equal-opportunity difference</th>");
	jnum_cell(b, card_jget(fc, "equal_opportunity_difference"), 3);
	put(b, "</tr></table>");
	ignored = card_jnum(card_jget(fc, "ignored_rows"));
	if (ignored > 0)
		dlf_buf_printf(b, "<p class=\"na\">%.0f held-out row%s without a group %s not counted.</p>",
					   ignored, ignored == 1 ? "" : "s", ignored == 1 ? "is" : "are");
	put(b, "<p class=\"sub\">Demographic parity difference: highest minus lowest approval rate; "
		"equal-opportunity difference: highest minus lowest TPR over the groups. p-value: two-sided, of the "
		"group's approval rate against the reference group's (Fisher's exact test when an expected count of "
		"the approvals table is below 5, else the two-proportion z-test).</p>");
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
	char	   *band = card_jstr(card_jget(pc, "band"));

	put(b, "<tr><td>");
	if (score)
		put(b, "<strong>");
	esc(b, name);
	if (score)
		put(b, "</strong>");
	put(b, "</td>");
	jnum_cell(b, card_jget(pc, "psi"), 3);
	dlf_buf_printf(b, "<td class=\"%s\">", band_class(band));
	esc(b, band ? band : "n/a");
	put(b, "</td></tr>");
}

/*
 * Appends the drift section from the facts' dlfin_drift result: PSI of the
 * score and of every feature, largest first, with the 0.1 / 0.25 bands.
 */
void
card_drift(DlfBuf *b, const DlfModel *m, JsonbContainer *facts)
{
	JsonbContainer *dc = card_jcont(card_jget(facts, "drift"));
	JsonbContainer *fc = card_jcont(card_jget(dc, "features"));
	char	   *table = card_jstr(card_jget(facts, "drift_table"));
	DriftRow   *rows;

	put(b, "<h3>Drift (population stability index)</h3>");
	if (dc == NULL || fc == NULL)
	{
		char	   *why = card_jstr(card_jget(facts, "drift_note"));

		not_available(b, why ? why : "no table to compare with the training data was given (option \"drift\").");
		return;
	}
	put(b, "<p>");
	dlf_buf_num(b, card_jnum(card_jget(dc, "rows")), 12);
	put(b, " rows of <code>");
	esc(b, table ? table : "the drift table");
	put(b, "</code> against the training distributions stored in the model, as <code>dlfin_drift</code> "
		"computes them: PSI = &#931; (a &#8722; e) ln(a / e) over the training deciles (numeric features, "
		"plus a NULL bin) or categories. Bands: below 0.1 <span class=\"good\">stable</span>, 0.1 to 0.25 "
		"<span class=\"warn\">moderate</span>, above 0.25 <span class=\"bad\">significant</span>.</p>");
	put(b, "<table><tr><th>Score or feature</th><th>PSI</th><th>Band</th></tr>");
	drift_row(b, "model score", true, card_jcont(card_jget(dc, "score")));
	rows = palloc(sizeof(DriftRow) * Max(m->nfeatures, 1));
	for (int f = 0; f < m->nfeatures; f++)
	{
		rows[f].f = f;
		rows[f].psi = card_jnum(card_jget(card_jcont(card_jget(fc, m->features[f].name)), "psi"));
	}
	qsort(rows, m->nfeatures, sizeof(DriftRow), drift_cmp);
	for (int i = 0; i < m->nfeatures; i++)
		drift_row(b, m->features[rows[i].f].name, false,
				  card_jcont(card_jget(fc, m->features[rows[i].f].name)));
	put(b, "</table>");
}

/* Appends the deployment history of the name. */
void
card_deployments(DlfBuf *b, JsonbContainer *facts)
{
	JsonbValue *dv = card_jget(facts, "deployments");
	static const char *const keys[] = {"changed_at", "action", "version", "previous_version", "changed_by", "reason"};
	static const char *const heads[] = {"When", "Action", "Version", "Previous", "By", "Reason"};

	put(b, "<h2 id=\"deployments\">Deployment history</h2>");
	if (dv == NULL)
	{
		char	   *why = card_jstr(card_jget(facts, "deployments_note"));

		not_available(b, why ? why : "the model was not given by registry name.");
		return;
	}
	if (card_jcont(dv) == NULL || JsonContainerSize(card_jcont(dv)) == 0)
	{
		put(b, "<p class=\"na\">This model has never been deployed.</p>");
		return;
	}
	card_jarray_table(b, card_jcont(dv), keys, heads, 6);
}
