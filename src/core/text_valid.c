/*
 * text_valid.c
 *	  Text validators for model strings: UTF-8 and a strict JSON object.
 */
#include "dlfin_codec.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- text checks ------------------------------------------------------ */

/* Nonzero when s[0..len) is well-formed UTF-8 without NUL bytes. */
int
dlf_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = p[i];
		uint32_t	cp;
		int			n;

		if (c == 0)
			return 0;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
		{
			n = 1;
			cp = c & 0x1f;
		}
		else if (c >= 0xe0 && c <= 0xef)
		{
			n = 2;
			cp = c & 0x0f;
		}
		else if (c >= 0xf0 && c <= 0xf4)
		{
			n = 3;
			cp = c & 0x07;
		}
		else
			return 0;
		if (len - i <= (size_t) n)
			return 0;
		for (int k = 1; k <= n; k++)
		{
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* A strict JSON syntax checker over a byte range. */
typedef struct Js
{
	const char *s;
	size_t		len;
	size_t		pos;
} Js;

static int	js_value(Js *j, int depth);

/* Skips JSON whitespace. */
static void
js_ws(Js *j)
{
	while (j->pos < j->len &&
		   (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
			j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

/* Reads four hex digits of a \u escape; -1 if malformed. */
static long
js_hex4(Js *j)
{
	long		v = 0;

	if (j->len - j->pos < 4)
		return -1;
	for (int k = 0; k < 4; k++)
	{
		char		ch = j->s[j->pos++];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v |= ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v |= ch - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Checks a string literal; rejects \u0000 and unpaired surrogates. */
static int
js_string(Js *j)
{
	if (j->pos >= j->len || j->s[j->pos] != '"')
		return 0;
	j->pos++;
	while (j->pos < j->len)
	{
		unsigned char ch = (unsigned char) j->s[j->pos++];

		if (ch == '"')
			return 1;
		if (ch < 0x20)
			return 0;
		if (ch != '\\')
			continue;
		if (j->pos >= j->len)
			return 0;
		ch = (unsigned char) j->s[j->pos++];
		if (ch == 'u')
		{
			long		cp = js_hex4(j);

			if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				return 0;
			if (cp >= 0xd800 && cp <= 0xdbff)
			{
				long		lo;

				if (j->len - j->pos < 2 || j->s[j->pos] != '\\' ||
					j->s[j->pos + 1] != 'u')
					return 0;
				j->pos += 2;
				lo = js_hex4(j);
				if (lo < 0xdc00 || lo > 0xdfff)
					return 0;
			}
		}
		else if (strchr("\"\\/bfnrt", ch) == NULL || ch == '\0')
			return 0;
	}
	return 0;
}

/* Consumes one or more digits; 0 if there is none. */
static int
js_digits(Js *j)
{
	size_t		start = j->pos;

	while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
		j->pos++;
	return j->pos > start;
}

/*
 * Most digits before or after the point, and largest exponent magnitude, of
 * a number in the options: PostgreSQL's numeric (hence jsonb) refuses
 * exponents beyond 1000, and dlfin never writes numbers anywhere near
 * these, so a model that has one is forged and refused as corrupt rather
 * than failing later in dlfin_model_info.
 */
#define JS_MAX_DIGITS	1000

/* Checks a number literal (RFC 8259, within JS_MAX_DIGITS). */
static int
js_number(Js *j)
{
	size_t		start;

	if (j->pos < j->len && j->s[j->pos] == '-')
		j->pos++;
	start = j->pos;
	if (j->pos < j->len && j->s[j->pos] == '0')
		j->pos++;
	else if (!js_digits(j))
		return 0;
	if (j->pos - start > JS_MAX_DIGITS)
		return 0;
	if (j->pos < j->len && j->s[j->pos] == '.')
	{
		j->pos++;
		start = j->pos;
		if (!js_digits(j) || j->pos - start > JS_MAX_DIGITS)
			return 0;
	}
	if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E'))
	{
		long		e = 0;

		j->pos++;
		if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		start = j->pos;
		if (!js_digits(j))
			return 0;
		for (size_t i = start; i < j->pos && e <= JS_MAX_DIGITS; i++)
			e = e * 10 + (j->s[i] - '0');
		if (e > JS_MAX_DIGITS)
			return 0;
	}
	return 1;
}

/* Checks a literal word such as true. */
static int
js_word(Js *j, const char *w)
{
	size_t		n = strlen(w);

	if (j->len - j->pos < n || memcmp(j->s + j->pos, w, n) != 0)
		return 0;
	j->pos += n;
	return 1;
}

/* Checks an object or array whose opening bracket is at pos. */
static int
js_container(Js *j, int depth)
{
	char		close = j->s[j->pos] == '{' ? '}' : ']';
	int			isobj = close == '}';

	j->pos++;
	js_ws(j);
	if (j->pos < j->len && j->s[j->pos] == close)
	{
		j->pos++;
		return 1;
	}
	for (;;)
	{
		if (isobj)
		{
			if (!js_string(j))
				return 0;
			js_ws(j);
			if (j->pos >= j->len || j->s[j->pos] != ':')
				return 0;
			j->pos++;
		}
		if (!js_value(j, depth + 1))
			return 0;
		js_ws(j);
		if (j->pos >= j->len)
			return 0;
		if (j->s[j->pos] == close)
		{
			j->pos++;
			return 1;
		}
		if (j->s[j->pos] != ',')
			return 0;
		j->pos++;
		js_ws(j);
	}
}

/* Checks one JSON value, with bounded nesting. */
static int
js_value(Js *j, int depth)
{
	char		ch;

	if (depth > DLF_MAX_JSON_DEPTH)
		return 0;
	js_ws(j);
	if (j->pos >= j->len)
		return 0;
	ch = j->s[j->pos];
	if (ch == '{' || ch == '[')
		return js_container(j, depth);
	if (ch == '"')
		return js_string(j);
	if (ch == 't')
		return js_word(j, "true");
	if (ch == 'f')
		return js_word(j, "false");
	if (ch == 'n')
		return js_word(j, "null");
	return js_number(j);
}

/* Nonzero when s[0..len) is exactly one JSON object (whitespace around). */
int
dlf_json_object_valid(const char *s, size_t len)
{
	Js			j;

	if (!dlf_utf8_valid(s, len))
		return 0;
	j.s = s;
	j.len = len;
	j.pos = 0;
	js_ws(&j);
	if (j.pos >= j.len || s[j.pos] != '{')
		return 0;
	if (!js_value(&j, 0))
		return 0;
	js_ws(&j);
	return j.pos == j.len;
}
