/*
 * test_svg.c
 *	  Unit tests of the SVG charts: escaping, ticks, every chart kind with
 *	  hostile labels, NaN values and degenerate ranges.
 */
#include "svg.h"
#include "tap.h"

#include <math.h>
#include <string.h>

#define HOSTILE "<script>alert('x')</script> & \"q\"\x01"

/* Nonzero when the text has no raw '<' except at tag starts and balanced tags. */
static int
well_formed_ish(const char *s)
{
	int			depth = 0;

	for (const char *p = s; *p; p++)
	{
		if (*p == '<')
		{
			if (p[1] == '/')
				depth--;
			else
			{
				const char *e = strchr(p, '>');

				if (e == NULL)
					return 0;
				if (e[-1] != '/')
					depth++;
			}
			if (depth < 0)
				return 0;
		}
		if ((unsigned char) *p < 0x20 && *p != '\n' && *p != '\t')
			return 0;
	}
	return depth == 0;
}

/* Counts occurrences of needle in s. */
static int
count(const char *s, const char *needle)
{
	int			n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

int
main(void)
{
	DlfBuf		b;
	DlfSvgChart c;
	double		ticks[32];
	double		lo,
				hi;
	int			n;

	/* escaping */
	dlf_buf_init(&b);
	dlf_buf_xml(&b, HOSTILE);
	ok(strcmp((char *) b.data,
			  "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;") == 0,
	   "dlf_buf_xml escapes markup and quotes and drops controls: %s", b.data);
	dlf_buf_free(&b);
	dlf_buf_init(&b);
	dlf_buf_xml_n(&b, "a<b", 2);
	ok(strcmp((char *) b.data, "a&lt;") == 0, "dlf_buf_xml_n stops at len");
	dlf_buf_free(&b);
	dlf_buf_init(&b);
	dlf_buf_xml(&b, "caf\xc3\xa9\r\n");
	ok(strcmp((char *) b.data, "caf\xc3\xa9\n\n") == 0, "UTF-8 kept, carriage return normalised");
	dlf_buf_free(&b);

	/* numbers */
	dlf_buf_init(&b);
	dlf_buf_num(&b, 0.123456, 3);
	dlf_buf_append(&b, " ", 1);
	dlf_buf_num(&b, NAN, 3);
	dlf_buf_append(&b, " ", 1);
	dlf_buf_num(&b, 42, 3);
	dlf_buf_append(&b, " ", 1);
	dlf_buf_num(&b, -0.0, 3);
	ok(strcmp((char *) b.data, "0.123 n/a 42 0") == 0, "dlf_buf_num: %s", b.data);
	dlf_buf_free(&b);

	/* ticks */
	lo = 0;
	hi = 1;
	n = dlf_svg_ticks(&lo, &hi, 5, 0, ticks);
	ok(n == 6 && ticks[0] == 0 && fabs(ticks[5] - 1) < 1e-12, "ticks of [0, 1]: %d", n);
	lo = 0.137;
	hi = 0.581;
	n = dlf_svg_ticks(&lo, &hi, 5, 1, ticks);
	ok(n >= 3 && n <= 8 && lo <= 0.137 && hi >= 0.581 && ticks[0] == lo,
	   "widened ticks cover the data: %d ticks from %g to %g", n, lo, hi);
	lo = 3;
	hi = 3;
	n = dlf_svg_ticks(&lo, &hi, 5, 1, ticks);
	ok(n >= 2 && lo < 3 && hi > 3, "a constant range is widened");
	lo = NAN;
	hi = NAN;
	n = dlf_svg_ticks(&lo, &hi, 5, 1, ticks);
	ok(n >= 2 && lo == 0 && hi == 1, "NaN range falls back to [0, 1]");
	lo = 1;
	hi = 1e9;
	n = dlf_svg_ticks(&lo, &hi, 5, 1, ticks);
	ok(n >= 2 && n <= 32, "large range has a bounded tick count");

	/* line chart with hostile names, NaN breaks, marker and diagonal */
	{
		double		x[5] = {0, 0.25, 0.5, 0.75, 1};
		double		y1[5] = {0, 0.6, NAN, 0.9, 1};
		double		y2[5] = {0.1, 0.2, 0.3, 0.4, 0.5};
		DlfSvgSeries s[2] = {
			{HOSTILE, x, y1, 5, DLF_SVG_BLUE, 0, 0},
			{"second", x, y2, 5, DLF_SVG_ORANGE, 1, 1}
		};

		dlf_svg_chart_init(&c);
		c.title = HOSTILE;
		c.xlabel = "false positive rate";
		c.ylabel = HOSTILE;
		c.xmin = c.ymin = 0;
		c.xmax = c.ymax = 1;
		c.diagonal = 1;
		c.marker_x = 0.5;
		c.marker_label = HOSTILE;
		dlf_buf_init(&b);
		dlf_svg_line_chart(&b, &c, s, 2);
		ok(!b.failed && strncmp((char *) b.data, "<svg ", 5) == 0 &&
		   strcmp((char *) b.data + b.len - 6, "</svg>") == 0, "line chart is one svg element");
		ok(strstr((char *) b.data, "<script") == NULL, "no raw script tag in the line chart");
		ok(well_formed_ish((char *) b.data), "line chart tags are balanced");
		ok(count((char *) b.data, "<polyline") == 3, "NaN breaks the first line in two (3 polylines)");
		ok(count((char *) b.data, "<circle") == 5, "markers on the second series");
		ok(strstr((char *) b.data, "nan") == NULL && strstr((char *) b.data, "inf") == NULL,
		   "no NaN or infinity written");
		dlf_buf_free(&b);
	}

	/* line chart without data */
	{
		DlfSvgSeries s = {"empty", NULL, NULL, 0, NULL, 0, 0};

		dlf_svg_chart_init(&c);
		dlf_buf_init(&b);
		dlf_svg_line_chart(&b, &c, &s, 1);
		ok(!b.failed && well_formed_ish((char *) b.data) &&
		   strstr((char *) b.data, "nan") == NULL, "empty line chart is still well formed");
		dlf_buf_free(&b);
	}

	/* integer x ticks for epochs */
	{
		double		x[3] = {1, 2, 3},
					y[3] = {0.7, 0.5, 0.45};
		DlfSvgSeries s = {"training loss", x, y, 3, NULL, 0, 1};

		dlf_svg_chart_init(&c);
		c.integer_x = 1;
		dlf_buf_init(&b);
		dlf_svg_line_chart(&b, &c, &s, 1);
		ok(strstr((char *) b.data, ">1.5<") == NULL, "integer x axis has no half ticks");
		dlf_buf_free(&b);
		{
			double		x20[20],
						y20[20];
			DlfSvgSeries s20 = {"loss", x20, y20, 20, NULL, 0, 0};

			for (int i = 0; i < 20; i++)
			{
				x20[i] = i + 1;
				y20[i] = 1.0 / (i + 1);
			}
			dlf_buf_init(&b);
			dlf_svg_line_chart(&b, &c, &s20, 1);
			ok(strstr((char *) b.data, ".5<") == NULL, "20 epochs: no 2.5-spaced ticks");
		}
		dlf_buf_free(&b);
	}

	/* bar chart */
	{
		const char *labels[3] = {"1", HOSTILE, "3"};
		double		v[3] = {2.5, NAN, 0.4};

		dlf_svg_chart_init(&c);
		c.title = "lift";
		dlf_buf_init(&b);
		dlf_svg_bar_chart(&b, &c, labels, v, 3, DLF_SVG_BLUE, 1.0, "baseline");
		ok(well_formed_ish((char *) b.data) && strstr((char *) b.data, "<script") == NULL,
		   "bar chart is well formed and escaped");
		ok(count((char *) b.data, "<rect") == 2 + 2 + 1, "one bar per finite value (plus frame, background, legend)");
		ok(strstr((char *) b.data, ">2.50<") != NULL, "bar value printed");
		dlf_buf_free(&b);
	}

	/* horizontal bars with a negative value */
	{
		const char *labels[3] = {"income", "a very long feature name that will be cut short", HOSTILE};
		double		v[3] = {0.12, -0.01, 0.05};

		dlf_svg_chart_init(&c);
		c.title = "importance";
		dlf_buf_init(&b);
		dlf_svg_hbar_chart(&b, &c, labels, v, 3, DLF_SVG_GREEN);
		ok(well_formed_ish((char *) b.data) && strstr((char *) b.data, "<script") == NULL,
		   "horizontal bar chart is well formed and escaped");
		ok(strstr((char *) b.data, "\xe2\x80\xa6") != NULL, "long label cut with an ellipsis");
		ok(count((char *) b.data, "<rect") == 1 + 3, "three bars and the background");
		dlf_buf_free(&b);
	}

	/* calibration bins and reliability diagram */
	{
		double		pos[4] = {0.95, 0.85, 0.55, 1.2};
		double		neg[4] = {0.05, 0.15, 0.45, -0.1};
		double		mp[10],
					ob[10];
		int64_t		cnt[10];
		int64_t		total = 0;

		dlf_calibration_bins(pos, 4, neg, 4, 10, mp, ob, cnt);
		for (int i = 0; i < 10; i++)
			total += cnt[i];
		ok(total == 8, "every score lands in a bin (out-of-range ones clamped)");
		ok(cnt[0] == 2 && ob[0] == 0 && cnt[9] == 2 && ob[9] == 1, "edge bins hold the clamped scores");
		ok(isnan(mp[2]) && cnt[2] == 0, "empty bins are NaN");
		is_near(mp[8], 0.85, 1e-12, "mean score of a bin");
		dlf_svg_chart_init(&c);
		c.title = "calibration";
		dlf_buf_init(&b);
		dlf_svg_reliability(&b, &c, mp, ob, cnt, 10);
		ok(well_formed_ish((char *) b.data) && strstr((char *) b.data, "nan") == NULL,
		   "reliability diagram is well formed without NaN");
		ok(count((char *) b.data, "<circle") == 6, "one marker per non-empty bin");
		dlf_buf_free(&b);
	}

	return done_testing();
}
