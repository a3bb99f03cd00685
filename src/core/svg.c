/*
 * svg.c
 *	  SVG charts of the model card: axes, ticks, legend, line and bar
 *	  charts, reliability diagram (its bins are computed in calibrate.c).
 *	  Every string goes through the XML escaping of xmltext.c.
 *
 * Coordinates are written with one decimal ("%.1f"); the C library's
 * numeric locale is "C" in the server and in the unit tests, so the output
 * is plain ASCII numbers.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FONT	"font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
#define MARGIN_LEFT		62
#define MARGIN_RIGHT	18
#define MARGIN_TOP		34
#define MARGIN_BOTTOM	48
#define MAX_LABEL_CHARS	28

/* Plot geometry of one chart. */
typedef struct Frame
{
	double		left, top, width, height;	/* plot area */
	double		xmin, xmax, ymin, ymax;
} Frame;

/* Sets a chart to defaults: automatic ranges, no marker, 480 x 360. */
void
dlf_svg_chart_init(DlfSvgChart *c)
{
	memset(c, 0, sizeof(*c));
	c->xmin = c->xmax = c->ymin = c->ymax = NAN;
	c->marker_x = NAN;
}

/* Appends a UTF-8 label cut to at most max characters, with an ellipsis. */
static void
label_text(DlfBuf *b, const char *s, int max)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	size_t		i = 0;
	int			chars = 0;

	while (p[i] && chars < max)
	{
		i++;
		while ((p[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	dlf_buf_xml_n(b, (const char *) p, i);
	if (p[i])
		dlf_buf_append(b, "\xe2\x80\xa6", 3);	/* U+2026 */
}

/* Number of UTF-8 characters of s, at most max (plus one if cut). */
static int
label_chars(const char *s, int max)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	int			chars = 0;

	for (; *p; p++)
		if ((*p & 0xc0) != 0x80)
			chars++;
	return chars > max ? max + 1 : chars;
}

/*
 * Chooses about target nice tick values covering [lo, hi]; returns their
 * number and widens the range to the outer ticks when widen is set.
 */
int
dlf_svg_ticks(double *lo, double *hi, int target, int widen, double *ticks)
{
	double		l = *lo,
				h = *hi,
				raw,
				mag,
				r,
				step,
				first,
				last;
	int			n = 0;

	if (!isfinite(l) || !isfinite(h))
	{
		l = 0;
		h = 1;
	}
	if (h < l)
	{
		double		t = l;

		l = h;
		h = t;
	}
	if (h - l < 1e-12 * fmax(1.0, fabs(l)))
	{
		double		d = l == 0 ? 1 : fabs(l) * 0.1;

		l -= d;
		h += d;
	}
	if (target < 1)
		target = 1;
	raw = (h - l) / target;
	mag = pow(10, floor(log10(raw)));
	r = raw / mag;
	step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
	if (widen)
	{
		first = floor(l / step + 1e-9) * step;
		last = ceil(h / step - 1e-9) * step;
	}
	else
	{
		first = ceil(l / step - 1e-9) * step;
		last = floor(h / step + 1e-9) * step;
	}
	for (n = 0; n < 32; n++)
	{
		double		v = first + n * step;

		if (v > last + step * 1e-6)
			break;
		if (fabs(v) < step * 1e-9)
			v = 0;
		ticks[n] = v;
	}
	if (widen)
	{
		*lo = first;
		*hi = first + (n > 0 ? n - 1 : 0) * step;
		if (*hi <= *lo)
			*hi = *lo + step;
	}
	else
	{
		*lo = l;
		*hi = h;
	}
	return n;
}

/* Decimals needed to print ticks spaced step apart. */
static int
tick_decimals(const double *ticks, int n)
{
	double		step;
	int			dec;

	if (n < 2)
		return 2;
	step = fabs(ticks[1] - ticks[0]);
	if (step <= 0 || !isfinite(step))
		return 2;
	dec = (int) ceil(-log10(step) - 1e-9);
	/* 2.5 steps need one decimal more */
	if (fabs(step / pow(10, floor(log10(step))) - 2.5) < 1e-9)
		dec++;
	if (dec < 0)
		dec = 0;
	if (dec > 8)
		dec = 8;
	return dec;
}

/* Appends a tick label with the given decimals. */
static void
tick_label(DlfBuf *b, double v, int dec)
{
	if (fabs(v) >= 1e6 || (fabs(v) > 0 && fabs(v) < 1e-6))
		dlf_buf_printf(b, "%.3g", v);
	else
		dlf_buf_printf(b, "%.*f", dec, v == 0 ? 0.0 : v);
}

/* x pixel of a data value, clamped to the plot area. */
static double
px(const Frame *f, double x)
{
	double		t = (x - f->xmin) / (f->xmax - f->xmin);

	if (t < 0)
		t = 0;
	if (t > 1)
		t = 1;
	return f->left + t * f->width;
}

/* y pixel of a data value, clamped to the plot area. */
static double
py(const Frame *f, double y)
{
	double		t = (y - f->ymin) / (f->ymax - f->ymin);

	if (t < 0)
		t = 0;
	if (t > 1)
		t = 1;
	return f->top + (1 - t) * f->height;
}

/* Opens the svg element with a white background, title and aria text. */
static void
svg_open(DlfBuf *b, const DlfSvgChart *c, int w, int h)
{
	dlf_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
				   "viewBox=\"0 0 %d %d\" role=\"img\" " FONT " font-size=\"12\">",
				   w, h, w, h);
	dlf_buf_append(b, "<title>", 7);
	dlf_buf_xml(b, c->title ? c->title : "chart");
	dlf_buf_append(b, "</title>", 8);
	dlf_buf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>", w, h);
	if (c->title)
	{
		dlf_buf_printf(b, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" "
					   "font-weight=\"bold\" fill=\"#222222\">", w / 2);
		label_text(b, c->title, 70);
		dlf_buf_append(b, "</text>", 7);
	}
}

/* Draws the vertical grid lines at the x ticks (inside the caller's group). */
static void
x_grid_lines(DlfBuf *b, const Frame *f, const double *xt, int nx)
{
	for (int i = 0; i < nx; i++)
		dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
					   px(f, xt[i]), f->top, px(f, xt[i]), f->top + f->height);
}

/* Draws the x tick labels below a frame. */
static void
x_tick_labels(DlfBuf *b, const Frame *f, const double *xt, int nx)
{
	int			dec = tick_decimals(xt, nx);

	dlf_buf_append(b, "<g fill=\"#333333\" text-anchor=\"middle\">", 39);
	for (int i = 0; i < nx; i++)
	{
		dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", px(f, xt[i]),
					   f->top + f->height + 16);
		tick_label(b, xt[i], dec);
		dlf_buf_append(b, "</text>", 7);
	}
	dlf_buf_append(b, "</g>", 4);
}

/* Draws the chart's x axis title, if it has one, below the tick labels. */
static void
x_title(DlfBuf *b, const DlfSvgChart *c, const Frame *f)
{
	if (!c->xlabel)
		return;
	dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#222222\">",
				   f->left + f->width / 2, f->top + f->height + 38);
	label_text(b, c->xlabel, 60);
	dlf_buf_append(b, "</text>", 7);
}

/* Draws the grid, axes, tick labels and axis titles of a frame. */
static void
draw_axes(DlfBuf *b, const DlfSvgChart *c, const Frame *f,
		  const double *xt, int nx, const double *yt, int ny, int draw_x)
{
	int			ydec = tick_decimals(yt, ny);

	dlf_buf_append(b, "<g stroke=\"#e3e3e3\" stroke-width=\"1\">", 37);
	for (int i = 0; i < ny; i++)
		dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
					   f->left, py(f, yt[i]), f->left + f->width, py(f, yt[i]));
	if (draw_x)
		x_grid_lines(b, f, xt, nx);
	dlf_buf_append(b, "</g>", 4);
	dlf_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
				   "stroke=\"#555555\" stroke-width=\"1\"/>",
				   f->left, f->top, f->width, f->height);
	/* y tick labels */
	dlf_buf_append(b, "<g fill=\"#333333\" text-anchor=\"end\">", 36);
	for (int i = 0; i < ny; i++)
	{
		dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", f->left - 6, py(f, yt[i]) + 4);
		tick_label(b, yt[i], ydec);
		dlf_buf_append(b, "</text>", 7);
	}
	dlf_buf_append(b, "</g>", 4);
	if (draw_x)
		x_tick_labels(b, f, xt, nx);
	x_title(b, c, f);
	if (c->ylabel)
	{
		double		x = 16,
					y = f->top + f->height / 2;

		dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#222222\" "
					   "transform=\"rotate(-90 %.1f %.1f)\">", x, y, x, y);
		label_text(b, c->ylabel, 40);
		dlf_buf_append(b, "</text>", 7);
	}
}

/* Draws a legend box in a corner: 0 top right, 1 bottom right, 2 top left. */
static void
draw_legend(DlfBuf *b, const Frame *f, const char *const *names,
			const char *const *colors, const int *dashed, const int *kind,
			int n, int corner)
{
	int			maxc = 0,
				shown = 0;
	double		w,
				h,
				x,
				y;

	for (int i = 0; i < n; i++)
		if (names[i])
		{
			int			c = label_chars(names[i], MAX_LABEL_CHARS);

			if (c > maxc)
				maxc = c;
			shown++;
		}
	if (shown == 0)
		return;
	w = 34 + maxc * 7.0;
	h = 8 + shown * 18;
	x = corner == 2 ? f->left + 8 : f->left + f->width - w - 8;
	y = corner == 1 ? f->top + f->height - h - 8 : f->top + 8;
	dlf_buf_printf(b, "<g><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				   "fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#cccccc\"/>", x, y, w, h);
	shown = 0;
	for (int i = 0; i < n; i++)
	{
		double		ly;

		if (!names[i])
			continue;
		ly = y + 13 + shown * 18;
		if (kind && kind[i] == 1)	/* filled box */
			dlf_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"9\" fill=\"%s\" "
						   "fill-opacity=\"0.5\"/>", x + 6, ly - 5, colors[i]);
		else
			dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
						   "stroke-width=\"2.5\"%s/>", x + 6, ly, x + 24, ly, colors[i],
						   dashed && dashed[i] ? " stroke-dasharray=\"5 3\"" : "");
		dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222222\">", x + 30, ly + 4);
		label_text(b, names[i], MAX_LABEL_CHARS);
		dlf_buf_append(b, "</text>", 7);
		shown++;
	}
	dlf_buf_append(b, "</g>", 4);
}

/* Draws a polyline through the finite points, breaking at NaN. */
static void
draw_series(DlfBuf *b, const Frame *f, const DlfSvgSeries *s)
{
	int			open = 0;
	const char *color = s->color ? s->color : DLF_SVG_BLUE;

	for (int64_t i = 0; i < s->n; i++)
	{
		int			good = isfinite(s->x[i]) && isfinite(s->y[i]);

		if (good && !open)
		{
			dlf_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" "
						   "stroke-linejoin=\"round\"%s points=\"", color,
						   s->dashed ? " stroke-dasharray=\"6 4\"" : "");
			open = 1;
		}
		else if (!good && open)
		{
			dlf_buf_append(b, "\"/>", 3);
			open = 0;
		}
		if (good)
			dlf_buf_printf(b, "%.1f,%.1f ", px(f, s->x[i]), py(f, s->y[i]));
	}
	if (open)
		dlf_buf_append(b, "\"/>", 3);
	if (s->markers)
	{
		dlf_buf_printf(b, "<g fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\">", color);
		for (int64_t i = 0; i < s->n; i++)
			if (isfinite(s->x[i]) && isfinite(s->y[i]))
				dlf_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>",
							   px(f, s->x[i]), py(f, s->y[i]));
		dlf_buf_append(b, "</g>", 4);
	}
}

/* Computes the plot area of a chart of size w x h. */
static void
frame_init(Frame *f, int w, int h, int left)
{
	f->left = left;
	f->top = MARGIN_TOP;
	f->width = w - left - MARGIN_RIGHT;
	f->height = h - MARGIN_TOP - MARGIN_BOTTOM;
}

/* Appends a line chart of nseries series. */
void
dlf_svg_line_chart(DlfBuf *b, const DlfSvgChart *c,
				   const DlfSvgSeries *series, int nseries)
{
	int			w = c->width > 0 ? c->width : 480;
	int			h = c->height > 0 ? c->height : 360;
	double		dxmin = INFINITY,
				dxmax = -INFINITY,
				dymin = INFINITY,
				dymax = -INFINITY;
	double		xt[32],
				yt[32];
	int			nx,
				ny;
	Frame		f;
	const char *names[8];
	const char *colors[8];
	int			dashed[8];
	int			nl = 0;

	for (int s = 0; s < nseries; s++)
		for (int64_t i = 0; i < series[s].n; i++)
			if (isfinite(series[s].x[i]) && isfinite(series[s].y[i]))
			{
				dxmin = fmin(dxmin, series[s].x[i]);
				dxmax = fmax(dxmax, series[s].x[i]);
				dymin = fmin(dymin, series[s].y[i]);
				dymax = fmax(dymax, series[s].y[i]);
			}
	f.xmin = isfinite(c->xmin) ? c->xmin : dxmin;
	f.xmax = isfinite(c->xmax) ? c->xmax : dxmax;
	f.ymin = isfinite(c->ymin) ? c->ymin : dymin;
	f.ymax = isfinite(c->ymax) ? c->ymax : dymax;
	nx = dlf_svg_ticks(&f.xmin, &f.xmax, c->integer_x ? 8 : 5,
					   !(isfinite(c->xmin) && isfinite(c->xmax)), xt);
	if (c->integer_x && nx >= 2 && xt[1] - xt[0] != floor(xt[1] - xt[0]))
	{
		/* whole-number ticks only: a whole step below the chosen one */
		double		step = fmax(1.0, floor(xt[1] - xt[0]));

		nx = 0;
		for (double v = ceil(f.xmin / step) * step; v <= f.xmax + 1e-9 && nx < 32; v += step)
			xt[nx++] = v;
	}
	ny = dlf_svg_ticks(&f.ymin, &f.ymax, 5,
					   !(isfinite(c->ymin) && isfinite(c->ymax)), yt);
	frame_init(&f, w, h, MARGIN_LEFT);

	svg_open(b, c, w, h);
	draw_axes(b, c, &f, xt, nx, yt, ny, 1);
	if (c->diagonal)
	{
		names[nl] = c->diagonal_label;
		colors[nl] = DLF_SVG_GREY;
		dashed[nl++] = 1;
		dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
					   "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>",
					   px(&f, fmax(f.xmin, f.ymin)), py(&f, fmax(f.xmin, f.ymin)),
					   px(&f, fmin(f.xmax, f.ymax)), py(&f, fmin(f.xmax, f.ymax)),
					   DLF_SVG_GREY);
	}
	if (isfinite(c->marker_x))
	{
		double		mx = px(&f, c->marker_x);

		dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
					   "stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>",
					   mx, f.top, mx, f.top + f.height, DLF_SVG_VERMILLION);
		if (c->marker_label)
		{
			int			right = mx > f.left + f.width * 0.7;

			dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"%s\">",
						   right ? mx - 4 : mx + 4, f.top + f.height - 8,
						   right ? "end" : "start", DLF_SVG_VERMILLION);
			label_text(b, c->marker_label, 40);
			dlf_buf_append(b, "</text>", 7);
		}
	}
	for (int s = 0; s < nseries; s++)
	{
		draw_series(b, &f, &series[s]);
		if (nl < 8)
		{
			names[nl] = series[s].name;
			colors[nl] = series[s].color ? series[s].color : DLF_SVG_BLUE;
			dashed[nl++] = series[s].dashed;
		}
	}
	/* diagonal charts (ROC) keep the lower right corner free */
	draw_legend(b, &f, names, colors, dashed, NULL, nl,
				c->legend_left ? 2 : c->diagonal ? 1 : 0);
	dlf_buf_append(b, "</svg>", 6);
}

/* Appends a vertical bar chart with category labels and a reference line. */
void
dlf_svg_bar_chart(DlfBuf *b, const DlfSvgChart *c,
				  const char *const *labels, const double *values,
				  int n, const char *color, double ref, const char *ref_label)
{
	int			w = c->width > 0 ? c->width : 480;
	int			h = c->height > 0 ? c->height : 360;
	double		yt[32],
				xt[1] = {0};
	int			ny;
	double		vmax = 0,
				vmin = 0,
				slot;
	Frame		f;

	for (int i = 0; i < n; i++)
		if (isfinite(values[i]))
		{
			vmax = fmax(vmax, values[i]);
			vmin = fmin(vmin, values[i]);
		}
	if (isfinite(ref))
		vmax = fmax(vmax, ref);
	f.xmin = 0;
	f.xmax = n > 0 ? n : 1;
	f.ymin = isfinite(c->ymin) ? c->ymin : vmin;
	f.ymax = isfinite(c->ymax) ? c->ymax : vmax * 1.08;
	ny = dlf_svg_ticks(&f.ymin, &f.ymax, 5, !isfinite(c->ymax), yt);
	frame_init(&f, w, h, MARGIN_LEFT);
	svg_open(b, c, w, h);
	draw_axes(b, c, &f, xt, 0, yt, ny, 0);
	slot = f.width / (n > 0 ? n : 1);
	dlf_buf_printf(b, "<g fill=\"%s\">", color ? color : DLF_SVG_BLUE);
	for (int i = 0; i < n; i++)
	{
		double		y0,
					y1;

		if (!isfinite(values[i]))
			continue;
		y0 = py(&f, fmax(f.ymin, 0));
		y1 = py(&f, values[i]);
		dlf_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
					   f.left + slot * (i + 0.15), fmin(y0, y1), slot * 0.7, fabs(y0 - y1));
	}
	dlf_buf_append(b, "</g>", 4);
	/* value above each bar, category under it */
	dlf_buf_append(b, "<g fill=\"#222222\" text-anchor=\"middle\" font-size=\"11\">", 54);
	for (int i = 0; i < n; i++)
	{
		double		cx = f.left + slot * (i + 0.5);

		if (isfinite(values[i]))
		{
			dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", cx, py(&f, values[i]) - 4);
			dlf_buf_num(b, values[i], 3);
			dlf_buf_append(b, "</text>", 7);
		}
		dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", cx, f.top + f.height + 16);
		label_text(b, labels ? labels[i] : "", 12);
		dlf_buf_append(b, "</text>", 7);
	}
	dlf_buf_append(b, "</g>", 4);
	if (isfinite(ref))
	{
		double		ry = py(&f, ref);

		dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
					   "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>",
					   f.left, ry, f.left + f.width, ry, DLF_SVG_VERMILLION);
		if (ref_label)
		{
			const char *names[1] = {ref_label};
			const char *colors[1] = {DLF_SVG_VERMILLION};
			int			dashed[1] = {1};

			draw_legend(b, &f, names, colors, dashed, NULL, 1, 0);
		}
	}
	dlf_buf_append(b, "</svg>", 6);
}

/*
 * Lays out a horizontal bar chart: the label column wide enough for the
 * longest label (up to half the width), the x range from 0 to the values'
 * extremes plus 12%, its ticks into xt (returns their count); sets *w, *h
 * and the bar row height *row.
 */
static int
hbar_layout(const DlfSvgChart *c, const char *const *labels,
			const double *values, int n, Frame *f, int *w, int *h,
			double *row, double *xt)
{
	int			maxc = 4;
	int			left;
	int			nx;
	double		vmin = 0,
				vmax = 0;

	*w = c->width > 0 ? c->width : 480;
	for (int i = 0; i < n; i++)
	{
		int			ch = label_chars(labels ? labels[i] : "", MAX_LABEL_CHARS);

		if (ch > maxc)
			maxc = ch;
		if (isfinite(values[i]))
		{
			vmin = fmin(vmin, values[i]);
			vmax = fmax(vmax, values[i]);
		}
	}
	left = 16 + (int) (maxc * 7.0);
	if (left > *w / 2)
		left = *w / 2;
	*row = 22;
	*h = c->height > 0 ? c->height : (int) (MARGIN_TOP + MARGIN_BOTTOM + *row * (n > 0 ? n : 1));
	f->xmin = vmin;
	f->xmax = vmax * 1.12;
	if (vmin < 0)
		f->xmin = vmin * 1.12;
	nx = dlf_svg_ticks(&f->xmin, &f->xmax, 5, 1, xt);
	f->ymin = 0;
	f->ymax = 1;
	frame_init(f, *w, *h, left);
	*row = f->height / (n > 0 ? n : 1);
	return nx;
}

/* Draws a horizontal bar chart's vertical grid, x tick labels and x title. */
static void
hbar_x_axis(DlfBuf *b, const DlfSvgChart *c, const Frame *f,
			const double *xt, int nx)
{
	dlf_buf_append(b, "<g stroke=\"#e3e3e3\" stroke-width=\"1\">", 37);
	x_grid_lines(b, f, xt, nx);
	dlf_buf_append(b, "</g>", 4);
	x_tick_labels(b, f, xt, nx);
	x_title(b, c, f);
}

/* Draws the bars (from 0 to each finite value) and the zero line. */
static void
hbar_bars(DlfBuf *b, const Frame *f, const double *values, int n,
		  double row, const char *color)
{
	dlf_buf_printf(b, "<g fill=\"%s\">", color ? color : DLF_SVG_BLUE);
	for (int i = 0; i < n; i++)
	{
		double		x0,
					x1;

		if (!isfinite(values[i]))
			continue;
		x0 = px(f, 0);
		x1 = px(f, values[i]);
		dlf_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
					   fmin(x0, x1), f->top + row * (i + 0.15), fabs(x1 - x0), row * 0.7);
	}
	dlf_buf_append(b, "</g>", 4);
	dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>",
				   px(f, 0), f->top, px(f, 0), f->top + f->height);
}

/* Draws each bar's label on the left and its value at the bar's end. */
static void
hbar_labels(DlfBuf *b, const Frame *f, const char *const *labels,
			const double *values, int n, double row)
{
	dlf_buf_append(b, "<g fill=\"#222222\" font-size=\"11\">", 33);
	for (int i = 0; i < n; i++)
	{
		double		cy = f->top + row * (i + 0.5) + 4;

		dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">",
					   f->left - 6, cy);
		label_text(b, labels ? labels[i] : "", MAX_LABEL_CHARS);
		dlf_buf_append(b, "</text>", 7);
		if (isfinite(values[i]))
		{
			int			neg = values[i] < 0;

			dlf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">",
						   px(f, values[i]) + (neg ? -4 : 4), cy, neg ? "end" : "start");
			dlf_buf_num(b, values[i], 3);
			dlf_buf_append(b, "</text>", 7);
		}
	}
	dlf_buf_append(b, "</g>", 4);
}

/* Appends a horizontal bar chart, one row per label in the given order. */
void
dlf_svg_hbar_chart(DlfBuf *b, const DlfSvgChart *c,
				   const char *const *labels, const double *values,
				   int n, const char *color)
{
	int			w,
				h,
				nx;
	double		xt[32];
	double		row;
	Frame		f;

	nx = hbar_layout(c, labels, values, n, &f, &w, &h, &row, xt);
	svg_open(b, c, w, h);
	hbar_x_axis(b, c, &f, xt, nx);
	hbar_bars(b, &f, values, n, row, color);
	hbar_labels(b, &f, labels, values, n, row);
	dlf_buf_append(b, "</svg>", 6);
}

/* Appends a reliability diagram with the diagonal and a count histogram. */
void
dlf_svg_reliability(DlfBuf *b, const DlfSvgChart *c,
					const double *mean_pred, const double *observed,
					const int64_t *count, int nbins)
{
	int			w = c->width > 0 ? c->width : 480;
	int			h = c->height > 0 ? c->height : 360;
	double		t[32];
	int			nt;
	int64_t		maxcount = 0;
	Frame		f;
	const char *names[3] = {"perfect calibration", "model", "rows per bin"};
	const char *colors[3] = {DLF_SVG_GREY, DLF_SVG_BLUE, DLF_SVG_ORANGE};
	int			dashed[3] = {1, 0, 0};
	int			kind[3] = {0, 0, 1};

	f.xmin = f.ymin = 0;
	f.xmax = f.ymax = 1;
	nt = dlf_svg_ticks(&f.xmin, &f.xmax, 5, 0, t);
	f.ymin = 0;
	f.ymax = 1;
	frame_init(&f, w, h, MARGIN_LEFT);
	svg_open(b, c, w, h);
	draw_axes(b, c, &f, t, nt, t, nt, 1);
	for (int i = 0; i < nbins; i++)
		if (count[i] > maxcount)
			maxcount = count[i];
	/* histogram: a quarter of the plot height for the fullest bin */
	dlf_buf_printf(b, "<g fill=\"%s\" fill-opacity=\"0.5\">", DLF_SVG_ORANGE);
	for (int i = 0; i < nbins && maxcount > 0; i++)
	{
		double		bh = f.height * 0.25 * (double) count[i] / (double) maxcount;
		double		x0 = px(&f, (double) i / nbins),
					x1 = px(&f, (double) (i + 1) / nbins);

		if (count[i] == 0)
			continue;
		dlf_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
					   x0 + 1, f.top + f.height - bh, x1 - x0 - 2, bh);
	}
	dlf_buf_append(b, "</g>", 4);
	dlf_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
				   "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>",
				   px(&f, 0), py(&f, 0), px(&f, 1), py(&f, 1), DLF_SVG_GREY);
	{
		DlfSvgSeries s = {0};
		double		xs[64],
					ys[64];
		int			k = 0;

		for (int i = 0; i < nbins && k < 64; i++)
			if (count[i] > 0)
			{
				xs[k] = mean_pred[i];
				ys[k] = observed[i];
				k++;
			}
		s.x = xs;
		s.y = ys;
		s.n = k;
		s.color = DLF_SVG_BLUE;
		s.markers = 1;
		draw_series(b, &f, &s);
	}
	draw_legend(b, &f, names, colors, dashed, kind, 3, 2);
	dlf_buf_append(b, "</svg>", 6);
}
