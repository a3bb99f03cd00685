/*
 * svg.h
 *	  Charts of the model card as SVG text: axes with ticks and labels,
 *	  legend, line charts, bar charts and the reliability diagram.
 *
 * Pure functions from arrays to text appended to a DlfBuf; no PostgreSQL
 * headers.  Every string argument is escaped for XML, non-finite values are
 * skipped, and the output is a self-contained <svg> element (presentation
 * attributes only, no ids, no scripts, no external references), so several
 * charts can sit in one page and each one can be saved as a file.
 */
#ifndef DLFIN_SVG_H
#define DLFIN_SVG_H

#include "dlfin_core.h"

/* Colour-blind-safe palette (Okabe and Ito). */
#define DLF_SVG_BLUE		"#0072b2"
#define DLF_SVG_ORANGE		"#e69f00"
#define DLF_SVG_VERMILLION	"#d55e00"
#define DLF_SVG_GREEN		"#009e73"
#define DLF_SVG_GREY		"#888888"

/* Frame of a chart: size, titles and axis ranges. */
typedef struct DlfSvgChart
{
	const char *title;			/* drawn above the plot; NULL for none */
	const char *xlabel;			/* NULL for none */
	const char *ylabel;
	int			width;			/* pixels; 0 for 480 */
	int			height;			/* pixels; 0 for 360 */
	double		xmin, xmax;		/* NaN: from the data */
	double		ymin, ymax;		/* NaN: from the data */
	int			diagonal;		/* draw the y = x reference line */
	const char *diagonal_label;	/* its legend entry; NULL for none */
	double		marker_x;		/* NaN: none; else a vertical marker */
	const char *marker_label;	/* label of the marker */
	int			integer_x;		/* x ticks at whole numbers only */
	int			legend_left;	/* legend in the top left corner */
} DlfSvgChart;

/* Sets a chart to defaults: automatic ranges, no marker, 480 x 360. */
void		dlf_svg_chart_init(DlfSvgChart *c);

/* One line of a line chart; a NaN y breaks the line. */
typedef struct DlfSvgSeries
{
	const char *name;			/* legend entry; NULL for none */
	const double *x;
	const double *y;
	int64_t		n;
	const char *color;			/* CSS colour, one of the DLF_SVG_* */
	int			dashed;
	int			markers;		/* draw a dot at every point */
} DlfSvgSeries;

/* Appends a line chart of nseries series. */
void		dlf_svg_line_chart(DlfBuf *b, const DlfSvgChart *c,
							   const DlfSvgSeries *series, int nseries);

/*
 * Appends a vertical bar chart of n bars with category labels under them;
 * a finite ref draws a dashed horizontal reference line labelled ref_label.
 * values may be NaN (no bar).  The y range starts at 0 unless c->ymin is set.
 */
void		dlf_svg_bar_chart(DlfBuf *b, const DlfSvgChart *c,
							  const char *const *labels, const double *values,
							  int n, const char *color,
							  double ref, const char *ref_label);

/*
 * Appends a horizontal bar chart (one row per label, longest first as
 * given), for feature importance; negative values extend to the left of 0.
 */
void		dlf_svg_hbar_chart(DlfBuf *b, const DlfSvgChart *c,
							   const char *const *labels, const double *values,
							   int n, const char *color);

/*
 * Appends a reliability diagram: observed positive rate against mean
 * predicted probability per bin, the diagonal of perfect calibration and a
 * histogram of the bin counts along the bottom.  Bins with count 0 are
 * skipped.
 */
void		dlf_svg_reliability(DlfBuf *b, const DlfSvgChart *c,
								const double *mean_pred, const double *observed,
								const int64_t *count, int nbins);

/*
 * Equal-width calibration bins over [0, 1] of sorted or unsorted class
 * scores: mean score, observed positive rate and count per bin (NaN for
 * empty bins), as the ECE of dlfin_metrics uses them.  Scores outside [0, 1]
 * are clamped into the first or last bin.
 */
void		dlf_calibration_bins(const double *pos, int64_t npos,
								 const double *neg, int64_t nneg, int nbins,
								 double *mean_pred, double *observed,
								 int64_t *count);

/* Appends s with &, <, >, " and ' escaped and XML-invalid controls dropped. */
void		dlf_buf_xml(DlfBuf *b, const char *s);

/* Appends at most len bytes of s, escaped as dlf_buf_xml does. */
void		dlf_buf_xml_n(DlfBuf *b, const char *s, size_t len);

/* Appends a number for display: %.*g-like, "n/a" when not finite. */
void		dlf_buf_num(DlfBuf *b, double v, int digits);

/*
 * Chooses about target "nice" tick values (1, 2, 2.5 or 5 times a power of
 * ten) covering [lo, hi]; returns the count (at most 32) and widens *lo and
 * *hi to the outer ticks when widen is nonzero.
 */
int			dlf_svg_ticks(double *lo, double *hi, int target, int widen,
						  double *ticks);

#endif							/* DLFIN_SVG_H */
