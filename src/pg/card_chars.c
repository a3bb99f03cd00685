/*
 * card_chars.c
 *	  The model card's characteristics section: the points scale of a
 *	  scorecard model, and the WoE bins and IV of every feature over the
 *	  training rows (the facts' "characteristics", gathered by
 *	  dlfin.model_card with dlfin_binning; model bytes alone have none).
 */
#include "card.h"

#include "points.h"
#include "utils/builtins.h"
#include "woe.h"

/* A feature's binning with its IV, for ordering. */
typedef struct CharRow
{
	const char *name;
	JsonbContainer *binning;
	double		iv;
} CharRow;

/* Orders by IV, highest first, then by feature position. */
static int
cmp_iv(const void *a, const void *b)
{
	const CharRow *x = a,
			   *y = b;

	if (x->iv != y->iv)
		return x->iv > y->iv ? -1 : 1;
	return 0;
}

/* Appends the scale of a model trained with the "points" option. */
static void
points_scale(DlfBuf *b, const DlfModel *m)
{
	DlfPointsScale *s = dlfin_model_points(m);

	put(b, "<h3>Points scale</h3>");
	if (s == NULL)
	{
		not_available(b, "the model was trained without the \"points\" option.");
		return;
	}
	put(b, "<table class=\"kv\"><tr><th>Base score</th><td>");
	dlf_buf_num(b, s->base_score, 6);
	put(b, " points at odds of good ");
	dlf_buf_num(b, s->base_odds, 6);
	put(b, ":1</td></tr><tr><th>Points to double the odds</th><td>");
	dlf_buf_num(b, s->pdo, 6);
	put(b, "</td></tr><tr><th>Score</th><td>");
	dlf_buf_num(b, dlf_points_offset(s), 6);
	put(b, " + ");
	dlf_buf_num(b, dlf_points_factor(s), 6);
	put(b, " &#215; ln(odds of good), good = ");
	esc(b, m->nclasses == 2 ? m->classes[m->adverse == DLF_ADVERSE_POSITIVE ? 0 : 1] : "");
	put(b, "</td></tr><tr><th>Reasons ranked by</th><td>");
	put(b, s->rank_reasons ? "points lost" : "probability contributions");
	put(b, "</td></tr></table>");
}

/* Appends the bins of one feature. */
static void
bin_table(DlfBuf *b, const CharRow *r)
{
	JsonbContainer *bins = card_jcont(card_jget(r->binning, "bins"));

	put(b, "<h4>");
	esc(b, r->name);
	put(b, "</h4><table><tr><th>Bin</th><th>Values</th><th>Rows</th><th>Event rate</th>"
		"<th>WoE</th><th>IV</th></tr>");
	for (uint32 i = 0; bins && i < JsonContainerSize(bins); i++)
	{
		JsonbContainer *bin = card_jcont(getIthJsonbValueFromContainer(bins, i));
		JsonbValue *cats = card_jget(bin, "categories");
		char	   *lo = card_jstr(card_jget(bin, "lower")),
				   *hi = card_jstr(card_jget(bin, "upper"));

		put(b, "<tr><td>");
		esc(b, card_jstr(card_jget(bin, "bin")));
		put(b, "</td><td>");
		if (cats)
			esc(b, card_jstr(cats));
		else if (strcmp(card_jstr(card_jget(bin, "bin")), "missing") == 0)
			put(b, "NULL");
		else
		{
			if (lo)
				esc(b, lo);
			else
				put(b, "&#8722;&#8734;");
			put(b, " &lt; x &#8804; ");
			if (hi)
				esc(b, hi);
			else
				put(b, "&#8734;");
		}
		put(b, "</td>");
		num_cell(b, card_jnum(card_jget(bin, "count")), 12);
		put(b, "<td class=\"num\">");
		pct(b, card_jnum(card_jget(bin, "event_rate")));
		put(b, "</td>");
		num_cell(b, card_jnum(card_jget(bin, "woe")), 4);
		num_cell(b, card_jnum(card_jget(bin, "iv")), 4);
		put(b, "</tr>");
	}
	put(b, "</table>");
}

/*
 * Appends the WoE tables the model stores (features trained with the
 * "woe" option): the encoding itself, so bytes cards have it too.
 */
static void
model_woe(DlfBuf *b, const DlfModel *m)
{
	if (!dlf_model_has_woe(m))
		return;
	put(b, "<h3>WoE encoding (stored in the model)</h3>"
		"<p>These features enter the network as the WoE of their value's bin, binned on the "
		"training rows when the model was trained (option \"woe\"); a category training did "
		"not see takes the bin of the rare (\"other\") ones, or WoE 0.</p>");
	for (int f = 0; f < m->nfeatures; f++)
	{
		DlfBuf		j;
		Jsonb	   *jb;
		CharRow		r;

		if (m->features[f].woe == NULL)
			continue;
		dlf_buf_init(&j);
		dlf_woe_json(&j, m->features[f].woe);
		dlf_buf_append(&j, "", 1);
		if (j.failed)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum((char *) j.data)));
		dlf_buf_free(&j);
		r.name = m->features[f].name;
		r.binning = &jb->root;
		r.iv = m->features[f].woe->iv_total;
		bin_table(b, &r);
	}
}

/* Appends the characteristics section. */
void
card_characteristics(DlfBuf *b, const DlfModel *m, JsonbContainer *facts)
{
	JsonbContainer *ch = card_jcont(card_jget(facts, "characteristics"));
	CharRow    *rows;
	int			n = 0;

	put(b, "<h2 id=\"characteristics\">Characteristics</h2>");
	if (m->task == DLF_TASK_BINARY)
		points_scale(b, m);
	model_woe(b, m);
	put(b, "<h3>Weight of evidence and information value (training rows)</h3>");
	if (ch == NULL || card_jget(ch, "note"))
	{
		not_available(b, ch ? card_jstr(card_jget(ch, "note")) :
					  "they are binned from the training rows of a registry model of a binary task: dlfin.model_card(name).");
		return;
	}
	rows = palloc0(sizeof(CharRow) * Max(m->nfeatures, 1));
	for (int f = 0; f < m->nfeatures; f++)
	{
		JsonbContainer *bj = card_jcont(card_jget(ch, m->features[f].name));

		if (bj == NULL)
			continue;
		rows[n].name = m->features[f].name;
		rows[n].binning = bj;
		rows[n].iv = card_jnum(card_jget(bj, "iv"));
		n++;
	}
	qsort(rows, n, sizeof(CharRow), cmp_iv);
	put(b, "<p>Event: the positive class. WoE = ln(share of non-events / share of events); "
		"IV = &#931; (share of non-events &#8722; share of events) &#215; WoE (dlfin_binning, default options).</p>"
		"<table><tr><th>Feature</th><th>IV</th><th>Strength</th><th>Bins</th></tr>");
	for (int i = 0; i < n; i++)
	{
		JsonbContainer *bins = card_jcont(card_jget(rows[i].binning, "bins"));

		put(b, "<tr><td>");
		esc(b, rows[i].name);
		put(b, "</td>");
		num_cell(b, rows[i].iv, 4);
		put(b, "<td>");
		esc(b, card_jstr(card_jget(rows[i].binning, "strength")));
		put(b, "</td>");
		num_cell(b, bins ? (double) JsonContainerSize(bins) : NAN, 6);
		put(b, "</tr>");
	}
	put(b, "</table>");
	for (int i = 0; i < n; i++)
		bin_table(b, &rows[i]);
}
