/*
 * xmltext.c
 *	  Text for the model card's HTML and SVG: XML escaping that keeps only
 *	  characters XML allows, and numbers formatted for display.
 *
 * Card text comes from the data (categories, group values, feature names),
 * so anything a user stored must come out as well-formed XML: malformed
 * UTF-8, surrogates and U+FFFE/U+FFFF become U+FFFD, controls are dropped.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Length of the UTF-8 sequence at p (n bytes available, p[0] >= 0x80)
 * when it encodes a character XML allows; minus its length when it is
 * well formed but not allowed (a surrogate, U+FFFE, U+FFFF); 0 when the
 * bytes are malformed or overlong.
 */
static int
xml_char_len(const unsigned char *p, size_t n)
{
	uint32_t	cp;
	int			k;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
	{
		k = 2;
		cp = p[0] & 0x1F;
	}
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
	{
		k = 3;
		cp = p[0] & 0x0F;
	}
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
	{
		k = 4;
		cp = p[0] & 0x07;
	}
	else
		return 0;
	if (n < (size_t) k)
		return 0;
	for (int j = 1; j < k; j++)
	{
		if ((p[j] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[j] & 0x3F);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
		return -k;
	return k;
}

/*
 * Appends s with XML special characters escaped, at most len bytes.
 * Characters XML does not allow are not copied: controls other than tab
 * and newline are dropped, and malformed UTF-8, surrogates, U+FFFE and
 * U+FFFF become U+FFFD, so any text from the data gives well-formed XML.
 */
void
dlf_buf_xml_n(DlfBuf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		start = 0;
	size_t		i = 0;

	if (s == NULL)
		return;
	while (i < len && p[i])
	{
		const char *rep = NULL;
		size_t		skip = 1;

		switch (p[i])
		{
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '"':
				rep = "&quot;";
				break;
			case '\'':
				rep = "&#39;";
				break;
			case '\r':
				rep = "\n";
				break;
			default:
				/* controls other than tab and newline are not XML text */
				if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n')
					rep = "";
				else if (p[i] >= 0x80)
				{
					int			k = xml_char_len(p + i, len - i);

					/* a disallowed character or a malformed byte */
					if (k <= 0)
						rep = "\xEF\xBF\xBD";	/* U+FFFD */
					skip = k < 0 ? (size_t) -k : k > 0 ? (size_t) k : 1;
				}
				break;
		}
		if (rep)
		{
			dlf_buf_append(b, s + start, i - start);
			dlf_buf_append(b, rep, strlen(rep));
			start = i + skip;
		}
		i += skip;
	}
	dlf_buf_append(b, s + start, i - start);
}

/* Appends s with &, <, >, " and ' escaped and XML-invalid controls dropped. */
void
dlf_buf_xml(DlfBuf *b, const char *s)
{
	if (s)
		dlf_buf_xml_n(b, s, strlen(s));
}

/* Appends a number for display with digits significant digits, or n/a. */
void
dlf_buf_num(DlfBuf *b, double v, int digits)
{
	char		tmp[64];

	if (!isfinite(v))
	{
		dlf_buf_append(b, "n/a", 3);
		return;
	}
	if (v == 0)
		v = 0;					/* no "-0" */
	if (v == floor(v) && fabs(v) < 1e12)
		snprintf(tmp, sizeof(tmp), "%.0f", v);
	else if (fabs(v) >= 1e-3 && fabs(v) < 1e12)
	{
		/* fixed notation with digits significant digits */
		int			mag = (int) floor(log10(fabs(v)));
		int			dec = digits - 1 - mag;

		if (dec < 0)
			dec = 0;
		if (dec > 12)
			dec = 12;
		snprintf(tmp, sizeof(tmp), "%.*f", dec, v);
	}
	else
		snprintf(tmp, sizeof(tmp), "%.*g", digits, v);
	dlf_buf_append(b, tmp, strlen(tmp));
}
