/*
 * card.h
 *	  What the three files of the model card share: HTML primitives, the
 *	  held-out rows, and the charts and jsonb facts the page draws.
 *
 * card_charts.c draws the SVG charts (and runs the chart aggregates),
 * card_facts.c reads the jsonb facts the SQL wrappers gathered and draws
 * the sections made of them, card_page.c assembles the page.  Every string
 * from the model, the data or the facts goes through esc() (XML escaping).
 */
#ifndef DLFIN_CARD_H
#define DLFIN_CARD_H

#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/jsonb.h"

#include "dlfin_pg.h"
#include "dlfin_metrics.h"
#include "dlfin_codec.h"
#include "svg.h"

#define ROC_POINTS		200
#define CAL_BINS		10
#define MAX_GROUPS		100
#define MAX_IMPORTANCE	30

/* Appends a string as escaped HTML text. */
static inline void
esc(DlfBuf *b, const char *s)
{
	dlf_buf_xml(b, s ? s : "");
}

/* Appends literal markup. */
static inline void
put(DlfBuf *b, const char *s)
{
	dlf_buf_append(b, s, strlen(s));
}

/* Appends a number cell of a table row. */
static inline void
num_cell(DlfBuf *b, double v, int digits)
{
	put(b, "<td class=\"num\">");
	dlf_buf_num(b, v, digits);
	put(b, "</td>");
}

/* Appends a share as a percentage with one decimal. */
static inline void
pct(DlfBuf *b, double v)
{
	if (!isfinite(v))
		put(b, "n/a");
	else
		dlf_buf_printf(b, "%.1f%%", 100.0 * v);
}

/* Appends a "not available" paragraph with the reason. */
static inline void
not_available(DlfBuf *b, const char *why)
{
	put(b, "<p class=\"na\">Not available: ");
	esc(b, why);
	put(b, "</p>");
}

/* Appends one label/value row; code rows are set in monospace. */
static inline void
card_kv_row(DlfBuf *b, const char *key, const char *value, bool code)
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

/* card_charts.c */
extern text *card_text(DlfBuf *b);
extern void card_chart_roc(DlfBuf *b, const double *pos, int64 npos,
						   const double *neg, int64 nneg, double auc);
extern void card_chart_calibration(DlfBuf *b, const double *pos, int64 npos,
								   const double *neg, int64 nneg,
								   double *mp, double *ob, int64 *cnt);
extern void card_chart_lift(DlfBuf *b, const DlfDecile *d);
extern bool card_chart_learning(DlfBuf *b, const DlfModel *m);
extern bool card_chart_importance(DlfBuf *b, const DlfModel *m);
extern void card_binary_metrics(double *pos, int64 npos, double *neg, int64 nneg,
								double thr, DlfBinaryMetrics *m);

/* card_facts.c */
extern JsonbValue *card_jget(JsonbContainer *jc, const char *key);
extern JsonbContainer *card_jcont(JsonbValue *v);
extern char *card_jstr(JsonbValue *v);
extern double card_jnum(JsonbValue *v);
extern void card_jobject_table(DlfBuf *b, JsonbContainer *jc);
extern void card_jarray_table(DlfBuf *b, JsonbContainer *jc, const char *const *keys,
							  const char *const *heads, int ncols);
extern void card_fairness(DlfBuf *b, const DlfModel *m, JsonbContainer *facts,
						  double thr, const char *group_name);
extern void card_drift(DlfBuf *b, const DlfModel *m, JsonbContainer *facts);
extern void card_deployments(DlfBuf *b, JsonbContainer *facts);

/* The page's style sheet (card_style.c). */
extern const char *const dlfin_card_css;

/* card_chars.c */
extern void card_characteristics(DlfBuf *b, const DlfModel *m, JsonbContainer *facts);

#endif							/* DLFIN_CARD_H */
