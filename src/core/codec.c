/*
 * codec.c
 *	  The dlfin model file format: encoding a DlfModel into bytes and
 *	  decoding and validating bytes that may be hostile.
 *
 * The layout is documented in doc/format.md.  In short: a 20-byte header
 * (magic, format version, flags, total length, CRC-32 of the rest), then
 * ten tagged sections in a fixed order, every integer and float written
 * little-endian byte by byte.  Each section has an encoder, a decoder and a
 * checker; the checker holds the semantic rules and is run both before
 * encoding (so dlfin never writes bytes it would refuse to read) and after
 * decoding each section (so later sections may rely on earlier ones).
 *
 * The decoder checks every length against the bytes that remain before it
 * allocates, so a forged count can never cause an allocation larger than a
 * small multiple of the input size, and every count against the DLF_MAX_*
 * limits.
 */
#include "dlfin_codec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Section tags, in the order they must appear. */
enum
{
	SEC_META = 1,
	SEC_FEATURES = 2,
	SEC_CLASSES = 3,
	SEC_TARGET = 4,
	SEC_NETWORK = 5,
	SEC_TRAINING = 6,
	SEC_METRICS = 7,
	SEC_EXPLAIN = 8,
	SEC_CALIBRATION = 9,
	SEC_DISTRIBUTIONS = 10,
	SEC_COUNT = 10
};

static const char *const section_names[SEC_COUNT + 1] = {
	"?", "META", "FEATURES", "CLASSES", "TARGET", "NETWORK", "TRAINING",
	"METRICS", "EXPLAIN", "CALIBRATION", "DISTRIBUTIONS"
};

/* Where failures are reported, and with which code and primary message. */
typedef struct Ctx
{
	DlfError   *err;
	DlfStatus	code;
	const char *message;
} Ctx;

/* A bounded reader over one section's payload. */
typedef struct Rd
{
	const uint8_t *p;
	size_t		len;
	size_t		pos;
	const char *sect;
	Ctx		   *c;
} Rd;

#define TRY(expr) \
	do { \
		DlfStatus	try_st_ = (expr); \
		if (try_st_ != DLF_OK) \
			return try_st_; \
	} while (0)

static DlfStatus bad(Ctx *c, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Records a failure with the context's code and message and a detail. */
static DlfStatus
bad(Ctx *c, const char *fmt,...)
{
	va_list		ap;
	char		detail[512];

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	dlf_fail(c->err, c->code, "%s", c->message);
	dlf_detail(c->err, "%s", detail);
	return c->code;
}

/* Records an allocation failure. */
static DlfStatus
nomem(Ctx *c)
{
	dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	dlf_detail(c->err, "The allocator refused memory for the dlfin model.");
	return DLF_ERR_NOMEM;
}

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

/* Checks a model string: present, bounded, UTF-8 without NUL. */
static DlfStatus
check_text(Ctx *c, const char *s, size_t maxlen, int allow_empty,
		   const char *what)
{
	size_t		n;

	if (s == NULL)
		return bad(c, "The %s is missing.", what);
	n = strlen(s);
	if (n > maxlen)
		return bad(c, "The %s is %zu bytes long, more than the limit of %zu.",
				   what, n, maxlen);
	if (n == 0 && !allow_empty)
		return bad(c, "The %s is empty.", what);
	if (!dlf_utf8_valid(s, n))
		return bad(c, "The %s is not valid UTF-8.", what);
	return DLF_OK;
}

/* Orders string pointers for the duplicate check. */
static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Fails when two of the n strings are equal (n log n, one allocation). */
static DlfStatus
check_unique(Ctx *c, char *const *s, int32_t n, const char *what)
{
	char	  **sorted;
	DlfStatus	st = DLF_OK;

	if (n < 2)
		return DLF_OK;
	sorted = dlf_alloc_array((size_t) n, sizeof(char *));
	if (sorted == NULL)
		return nomem(c);
	memcpy(sorted, s, (size_t) n * sizeof(char *));
	qsort(sorted, (size_t) n, sizeof(char *), cmp_strp);
	for (int32_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
		{
			st = bad(c, "Two %s have the same name.", what);
			break;
		}
	dlf_free(sorted);
	return st;
}

/* Nonzero when v is finite or NaN (the "NaN when unknown" fields). */
static int
finite_or_nan(double v)
{
	return isfinite(v) || isnan(v);
}

/* ---- checkers: the semantic rules of each section ---------------------- */

/* META: enumerations. */
static DlfStatus
check_meta(Ctx *c, const DlfModel *m)
{
	if (m->task < DLF_TASK_BINARY || m->task > DLF_TASK_REGRESSION)
		return bad(c, "Task code %u is not valid.", m->task);
	if (m->activation < DLF_ACT_RELU || m->activation > DLF_ACT_LEAKY_RELU)
		return bad(c, "Activation code %u is not valid.", m->activation);
	if (m->adverse > DLF_ADVERSE_POSITIVE)
		return bad(c, "Adverse class code %u is not valid.", m->adverse);
	if (m->calibration > DLF_CALIB_ISOTONIC)
		return bad(c, "Calibration code %u is not valid.", m->calibration);
	if (m->calibration != DLF_CALIB_NONE && m->task != DLF_TASK_BINARY)
		return bad(c, "Calibration is only valid for binary classifiers.");
	return DLF_OK;
}

/* Total network inputs of the features (64-bit, no overflow). */
static int64_t
total_inputs(const DlfModel *m)
{
	int64_t		n = 0;

	for (int32_t f = 0; f < m->nfeatures; f++)
		n += m->features[f].kind == DLF_FEAT_CATEGORICAL ?
			(int64_t) m->features[f].ncat + 2 : 1;
	return n;
}

/* FEATURES: names, kinds, statistics, vocabularies. */
static DlfStatus
check_features(Ctx *c, const DlfModel *m)
{
	char	  **names;
	DlfStatus	st;
	int64_t		inputs;

	if (m->nfeatures < 1 || m->nfeatures > DLF_MAX_FEATURES)
		return bad(c, "The model has %d features; between 1 and %d are allowed.",
				   (int) m->nfeatures, DLF_MAX_FEATURES);
	if (m->features == NULL)
		return bad(c, "The feature array is missing.");
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];
		char		what[64];

		snprintf(what, sizeof(what), "name of feature %d", (int) f + 1);
		TRY(check_text(c, ft->name, DLF_MAX_NAME, 0, what));
		if (ft->kind != DLF_FEAT_NUMERIC && ft->kind != DLF_FEAT_CATEGORICAL)
			return bad(c, "Feature %d has kind code %u, which is not valid.",
					   (int) f + 1, ft->kind);
		if (ft->sqltype < DLF_SQL_NUMBER || ft->sqltype > DLF_SQL_TEXT)
			return bad(c, "Feature %d has SQL type code %u, which is not valid.",
					   (int) f + 1, ft->sqltype);
		if (ft->sqltype == DLF_SQL_TEXT && ft->kind != DLF_FEAT_CATEGORICAL)
			return bad(c, "Feature %d is text but not categorical.", (int) f + 1);
		if (ft->monotone < -1 || ft->monotone > 1)
			return bad(c, "Feature %d has monotone constraint %d; it must be -1, 0 or 1.",
					   (int) f + 1, (int) ft->monotone);
		if (!isfinite(ft->mean))
			return bad(c, "Feature %d has a mean that is not finite.", (int) f + 1);
		if (!isfinite(ft->scale) ||
			(ft->kind == DLF_FEAT_NUMERIC && !(ft->scale > 0)))
			return bad(c, "Feature %d has scale %g; it must be finite and positive.",
					   (int) f + 1, ft->scale);
		if (!(ft->missing_share >= 0 && ft->missing_share <= 1))
			return bad(c, "Feature %d has missing share %g; it must be between 0 and 1.",
					   (int) f + 1, ft->missing_share);
		if (ft->kind == DLF_FEAT_NUMERIC && ft->ncat != 0)
			return bad(c, "Numeric feature %d declares %d categories.",
					   (int) f + 1, (int) ft->ncat);
		if (ft->ncat < 0 || ft->ncat > DLF_MAX_CATEGORIES)
			return bad(c, "Feature %d has %d categories; at most %d are allowed.",
					   (int) f + 1, (int) ft->ncat, DLF_MAX_CATEGORIES);
		if (ft->ncat > 0 && ft->categories == NULL)
			return bad(c, "The categories of feature %d are missing.", (int) f + 1);
		for (int32_t k = 0; k < ft->ncat; k++)
		{
			snprintf(what, sizeof(what), "category %d of feature %d",
					 (int) k + 1, (int) f + 1);
			TRY(check_text(c, ft->categories[k], DLF_MAX_NAME, 1, what));
		}
		snprintf(what, sizeof(what), "categories of feature %d", (int) f + 1);
		TRY(check_unique(c, ft->categories, ft->ncat, what));
	}
	inputs = total_inputs(m);
	if (inputs > DLF_MAX_INPUTS)
		return bad(c, "The features need %lld network inputs, more than the limit of %d.",
				   (long long) inputs, DLF_MAX_INPUTS);
	names = dlf_alloc_array((size_t) m->nfeatures, sizeof(char *));
	if (names == NULL)
		return nomem(c);
	for (int32_t f = 0; f < m->nfeatures; f++)
		names[f] = m->features[f].name;
	st = check_unique(c, names, m->nfeatures, "features");
	dlf_free(names);
	return st;
}

/* CLASSES: count by task, names unique. */
static DlfStatus
check_classes(Ctx *c, const DlfModel *m)
{
	char		what[64];

	switch (m->task)
	{
		case DLF_TASK_BINARY:
			if (m->nclasses != 2)
				return bad(c, "A binary classifier has %d classes instead of 2.",
						   (int) m->nclasses);
			break;
		case DLF_TASK_MULTICLASS:
			if (m->nclasses < 3 || m->nclasses > DLF_MAX_CLASSES)
				return bad(c, "A multiclass classifier has %d classes; between 3 and %d are allowed.",
						   (int) m->nclasses, DLF_MAX_CLASSES);
			break;
		default:
			if (m->nclasses != 0)
				return bad(c, "A regression model has %d classes instead of 0.",
						   (int) m->nclasses);
			break;
	}
	if (m->nclasses > 0 && m->classes == NULL)
		return bad(c, "The class names are missing.");
	for (int32_t k = 0; k < m->nclasses; k++)
	{
		snprintf(what, sizeof(what), "name of class %d", (int) k + 1);
		TRY(check_text(c, m->classes[k], DLF_MAX_NAME, 1, what));
	}
	return check_unique(c, m->classes, m->nclasses, "classes");
}

/* TARGET: the regression target scaling. */
static DlfStatus
check_target(Ctx *c, const DlfModel *m)
{
	if (!isfinite(m->target_mean))
		return bad(c, "The target mean is not finite.");
	if (!isfinite(m->target_scale) || !(m->target_scale > 0))
		return bad(c, "The target scale is %g; it must be finite and positive.",
				   m->target_scale);
	return DLF_OK;
}

/* NETWORK, shape only: layer count and units against the features. */
static DlfStatus
check_units(Ctx *c, const DlfModel *m)
{
	int64_t		inputs = total_inputs(m);
	int32_t		outputs = m->task == DLF_TASK_MULTICLASS ? m->nclasses : 1;
	int64_t		params = 0;

	if (m->nlayers < 1 || m->nlayers > DLF_MAX_HIDDEN + 1)
		return bad(c, "The network has %d weight layers; between 1 and %d are allowed.",
				   (int) m->nlayers, DLF_MAX_HIDDEN + 1);
	if (m->units == NULL)
		return bad(c, "The layer sizes are missing.");
	if (m->units[0] != inputs)
		return bad(c, "The network has %d inputs but the features need %lld.",
				   (int) m->units[0], (long long) inputs);
	for (int32_t l = 1; l <= m->nlayers; l++)
		if (m->units[l] < 1 || m->units[l] > DLF_MAX_UNITS)
			return bad(c, "Layer %d has %d units; between 1 and %d are allowed.",
					   (int) l, (int) m->units[l], DLF_MAX_UNITS);
	if (m->units[m->nlayers] != outputs)
		return bad(c, "The network has %d outputs but the task needs %d.",
				   (int) m->units[m->nlayers], (int) outputs);
	for (int32_t l = 0; l < m->nlayers; l++)
		params += (int64_t) m->units[l] * m->units[l + 1] + m->units[l + 1];
	if (params > DLF_MAX_PARAMS)
		return bad(c, "The network has %lld parameters, more than the limit of %d.",
				   (long long) params, DLF_MAX_PARAMS);
	return DLF_OK;
}

/* NETWORK: shape, then every weight and bias present and finite. */
static DlfStatus
check_network(Ctx *c, const DlfModel *m)
{
	TRY(check_units(c, m));
	if (m->weights == NULL || m->biases == NULL)
		return bad(c, "The weights are missing.");
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		size_t		nw = (size_t) m->units[l] * (size_t) m->units[l + 1];
		const float *w = m->weights[l];
		const float *bias = m->biases[l];

		if (w == NULL || bias == NULL)
			return bad(c, "The weights of layer %d are missing.", (int) l + 1);
		for (size_t i = 0; i < nw; i++)
			if (!isfinite(w[i]))
				return bad(c, "Weight %zu of layer %d is not finite.",
						   i + 1, (int) l + 1);
		for (int32_t i = 0; i < m->units[l + 1]; i++)
			if (!isfinite(bias[i]))
				return bad(c, "Bias %d of layer %d is not finite.",
						   (int) i + 1, (int) l + 1);
	}
	return DLF_OK;
}

/* TRAINING: options, counts, history. */
static DlfStatus
check_training(Ctx *c, const DlfModel *m)
{
	if (m->options_json && m->options_json[0] != '\0')
	{
		size_t		n = strlen(m->options_json);

		if (n > DLF_MAX_MODEL_BYTES)
			return bad(c, "The training options are too long.");
		if (!dlf_json_object_valid(m->options_json, n))
			return bad(c, "The training options are not a valid JSON object.");
	}
	if (m->rows_train < 0 || m->rows_valid < 0)
		return bad(c, "A row count is negative.");
	if (m->epochs_run < 0 || m->epochs_run > DLF_MAX_EPOCHS)
		return bad(c, "The model ran %d epochs; between 0 and %d are allowed.",
				   (int) m->epochs_run, DLF_MAX_EPOCHS);
	if (m->best_epoch < 0 || m->best_epoch > m->epochs_run)
		return bad(c, "The best epoch %d is not between 0 and the %d epochs run.",
				   (int) m->best_epoch, (int) m->epochs_run);
	if (!finite_or_nan(m->best_valid_loss))
		return bad(c, "The best validation loss is infinite.");
	if (m->nhistory < 0 || m->nhistory > DLF_MAX_HISTORY)
		return bad(c, "The history has %d epochs; at most %d are allowed.",
				   (int) m->nhistory, DLF_MAX_HISTORY);
	if (m->nhistory > 0 && (m->train_loss == NULL || m->valid_loss == NULL))
		return bad(c, "The loss history is missing.");
	for (int32_t i = 0; i < m->nhistory; i++)
		if (!finite_or_nan(m->train_loss[i]) || !finite_or_nan(m->valid_loss[i]))
			return bad(c, "The loss of epoch %d is infinite.", (int) i + 1);
	return DLF_OK;
}

/* METRICS: names and values. */
static DlfStatus
check_metrics(Ctx *c, const DlfModel *m)
{
	char		what[64];

	if (m->nmetrics < 0 || m->nmetrics > DLF_MAX_METRICS)
		return bad(c, "The model has %d metrics; at most %d are allowed.",
				   (int) m->nmetrics, DLF_MAX_METRICS);
	if (m->nmetrics > 0 && (m->metric_names == NULL || m->metric_values == NULL))
		return bad(c, "The metrics are missing.");
	for (int32_t i = 0; i < m->nmetrics; i++)
	{
		snprintf(what, sizeof(what), "name of metric %d", (int) i + 1);
		TRY(check_text(c, m->metric_names[i], DLF_MAX_NAME, 0, what));
		if (!finite_or_nan(m->metric_values[i]))
			return bad(c, "Metric %d is infinite.", (int) i + 1);
	}
	return check_unique(c, m->metric_names, m->nmetrics, "metrics");
}

/* EXPLAIN: importances and reason texts of the features. */
static DlfStatus
check_explain(Ctx *c, const DlfModel *m)
{
	char		what[64];

	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (!finite_or_nan(ft->importance))
			return bad(c, "The importance of feature %d is infinite.", (int) f + 1);
		if (ft->reason)
		{
			snprintf(what, sizeof(what), "reason text of feature %d", (int) f + 1);
			TRY(check_text(c, ft->reason, DLF_MAX_NAME, 1, what));
		}
	}
	return DLF_OK;
}

/* CALIBRATION: Platt coefficients, isotonic points, ECE. */
static DlfStatus
check_calibration(Ctx *c, const DlfModel *m)
{
	if (!isfinite(m->platt_a) || !isfinite(m->platt_b))
		return bad(c, "A Platt coefficient is not finite.");
	if (m->niso < 0 || m->niso > DLF_MAX_ISO)
		return bad(c, "The isotonic calibration has %d points; at most %d are allowed.",
				   (int) m->niso, DLF_MAX_ISO);
	if (m->calibration == DLF_CALIB_ISOTONIC ? m->niso < 1 : m->niso != 0)
		return bad(c, "The isotonic calibration has %d points, which does not match the calibration method.",
				   (int) m->niso);
	if (m->niso > 0 && (m->iso_x == NULL || m->iso_y == NULL))
		return bad(c, "The isotonic calibration points are missing.");
	for (int32_t i = 0; i < m->niso; i++)
	{
		if (!isfinite(m->iso_x[i]) || (i > 0 && !(m->iso_x[i] >= m->iso_x[i - 1])))
			return bad(c, "Isotonic point %d is not finite or not in ascending order.",
					   (int) i + 1);
		if (!(m->iso_y[i] >= 0 && m->iso_y[i] <= 1))
			return bad(c, "Isotonic point %d has probability %g; it must be between 0 and 1.",
					   (int) i + 1, m->iso_y[i]);
	}
	if (!(isnan(m->ece_before) || (m->ece_before >= 0 && m->ece_before <= 1)) ||
		!(isnan(m->ece_after) || (m->ece_after >= 0 && m->ece_after <= 1)))
		return bad(c, "A calibration error is not between 0 and 1.");
	return DLF_OK;
}

/*
 * One histogram: catbins < 0 for a numeric one (edges ascending), else the
 * number of bins a categorical one must have.
 */
static DlfStatus
check_hist(Ctx *c, const DlfHistogram *h, int64_t catbins, const char *what)
{
	if (h->nbins == 0)
		return DLF_OK;
	if (catbins >= 0 ? h->nbins != catbins : (h->nbins < 1 || h->nbins > DLF_MAX_BINS))
		return bad(c, "The %s has %d bins, which does not fit its kind.",
				   what, (int) h->nbins);
	if (h->share == NULL || (catbins < 0 && h->nbins > 1 && h->edges == NULL))
		return bad(c, "The %s is incomplete.", what);
	for (int32_t i = 0; i < h->nbins; i++)
		if (!(h->share[i] >= 0 && h->share[i] <= 1))
			return bad(c, "The %s has a share that is not between 0 and 1.", what);
	if (catbins < 0)
		for (int32_t i = 0; i < h->nbins - 1; i++)
			if (!isfinite(h->edges[i]) || (i > 0 && !(h->edges[i] >= h->edges[i - 1])))
				return bad(c, "The %s has edges that are not finite and ascending.",
						   what);
	return DLF_OK;
}

/* DISTRIBUTIONS: score histogram and one histogram per feature. */
static DlfStatus
check_distributions(Ctx *c, const DlfModel *m)
{
	char		what[64];

	TRY(check_hist(c, &m->score_dist, -1, "score distribution"));
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		snprintf(what, sizeof(what), "distribution of feature %d", (int) f + 1);
		TRY(check_hist(c, &ft->dist,
					   ft->kind == DLF_FEAT_CATEGORICAL ? (int64_t) ft->ncat + 2 : -1,
					   what));
	}
	return DLF_OK;
}

/* ---- little-endian primitives -------------------------------------------- */

/* Reads a little-endian u16. */
static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

/* Reads a little-endian u32. */
static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* Reads a little-endian u64. */
static uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t) get_u32(p) | ((uint64_t) get_u32(p + 4) << 32);
}

/* Writes a little-endian u32. */
static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Appends a byte. */
static void
wr_u8(DlfBuf *b, uint8_t v)
{
	dlf_buf_append(b, &v, 1);
}

/* Appends a little-endian u16. */
static void
wr_u16(DlfBuf *b, uint16_t v)
{
	uint8_t		p[2];

	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	dlf_buf_append(b, p, 2);
}

/* Appends a little-endian u32. */
static void
wr_u32(DlfBuf *b, uint32_t v)
{
	uint8_t		p[4];

	put_u32(p, v);
	dlf_buf_append(b, p, 4);
}

/* Appends a little-endian u64. */
static void
wr_u64(DlfBuf *b, uint64_t v)
{
	uint8_t		p[8];

	put_u32(p, (uint32_t) v);
	put_u32(p + 4, (uint32_t) (v >> 32));
	dlf_buf_append(b, p, 8);
}

/* Appends n floats, staged through a small buffer for speed. */
static void
wr_f32_array(DlfBuf *b, const float *v, size_t n)
{
	uint8_t		tmp[4096];
	size_t		k = 0;

	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u;

		memcpy(&u, &v[i], sizeof(u));
		put_u32(tmp + k, u);
		k += 4;
		if (k == sizeof(tmp))
		{
			dlf_buf_append(b, tmp, k);
			k = 0;
		}
	}
	dlf_buf_append(b, tmp, k);
}

/* Appends a double as its IEEE-754 bits, little-endian. */
static void
wr_f64(DlfBuf *b, double v)
{
	uint64_t	u;

	memcpy(&u, &v, sizeof(u));
	wr_u64(b, u);
}

/* Appends a string as u32 length and bytes; NULL is written as empty. */
static void
wr_str(DlfBuf *b, const char *s)
{
	size_t		n = s ? strlen(s) : 0;

	wr_u32(b, (uint32_t) n);
	dlf_buf_append(b, s, n);
}

/* Fails unless n more bytes remain in the section. */
static DlfStatus
rd_need(Rd *r, size_t n)
{
	if (r->len - r->pos < n)
		return bad(r->c, "Section %s ends early: a field needs %zu bytes but %zu remain.",
				   r->sect, n, r->len - r->pos);
	return DLF_OK;
}

/* Reads a byte. */
static DlfStatus
rd_u8(Rd *r, uint8_t *v)
{
	TRY(rd_need(r, 1));
	*v = r->p[r->pos++];
	return DLF_OK;
}

/* Reads a u32. */
static DlfStatus
rd_u32(Rd *r, uint32_t *v)
{
	TRY(rd_need(r, 4));
	*v = get_u32(r->p + r->pos);
	r->pos += 4;
	return DLF_OK;
}

/* Reads a u64. */
static DlfStatus
rd_u64(Rd *r, uint64_t *v)
{
	TRY(rd_need(r, 8));
	*v = get_u64(r->p + r->pos);
	r->pos += 8;
	return DLF_OK;
}

/* Reads a non-negative int64 stored as u64. */
static DlfStatus
rd_i64(Rd *r, int64_t *v, const char *what)
{
	uint64_t	u;

	TRY(rd_u64(r, &u));
	if (u > (uint64_t) INT64_MAX)
		return bad(r->c, "Section %s has a negative %s.", r->sect, what);
	*v = (int64_t) u;
	return DLF_OK;
}

/* Reads a u32 that must not exceed limit, as int32. */
static DlfStatus
rd_int(Rd *r, int32_t *v, uint32_t limit, const char *what)
{
	uint32_t	u;

	TRY(rd_u32(r, &u));
	if (u > limit)
		return bad(r->c, "Section %s has %s %u, more than the limit of %u.",
				   r->sect, what, u, limit);
	*v = (int32_t) u;
	return DLF_OK;
}

/* Reads a float. */
static DlfStatus
rd_f32(Rd *r, float *v)
{
	uint32_t	u;

	TRY(rd_u32(r, &u));
	memcpy(v, &u, sizeof(u));
	return DLF_OK;
}

/* Reads a double. */
static DlfStatus
rd_f64(Rd *r, double *v)
{
	uint64_t	u;

	TRY(rd_u64(r, &u));
	memcpy(v, &u, sizeof(u));
	return DLF_OK;
}

/*
 * Reads a count of items of at least minsize bytes each: at most limit, and
 * the items must fit in the bytes that remain, checked before any
 * allocation.
 */
static DlfStatus
rd_count(Rd *r, int32_t *n, uint32_t limit, size_t minsize, const char *what)
{
	uint32_t	u;

	TRY(rd_u32(r, &u));
	if (u > limit)
		return bad(r->c, "Section %s declares %u %s, more than the limit of %u.",
				   r->sect, u, what, limit);
	if ((uint64_t) u * minsize > (uint64_t) (r->len - r->pos))
		return bad(r->c, "The model is truncated: section %s declares %u %s needing at least %llu bytes but %zu remain.",
				   r->sect, u, what, (unsigned long long) ((uint64_t) u * minsize),
				   r->len - r->pos);
	*n = (int32_t) u;
	return DLF_OK;
}

/* Reads a string of at most maxlen bytes: UTF-8 without NUL. */
static DlfStatus
rd_str(Rd *r, char **out, size_t maxlen, const char *what)
{
	uint32_t	n;

	TRY(rd_u32(r, &n));
	if (n > maxlen)
		return bad(r->c, "Section %s has %s of %u bytes, more than the limit of %zu.",
				   r->sect, what, n, maxlen);
	if (n > r->len - r->pos)
		return bad(r->c, "The model is truncated: section %s has %s of %u bytes but %zu remain.",
				   r->sect, what, n, r->len - r->pos);
	if (!dlf_utf8_valid((const char *) r->p + r->pos, n))
		return bad(r->c, "Section %s has %s that is not valid UTF-8 or contains a NUL byte.",
				   r->sect, what);
	*out = dlf_strndup((const char *) r->p + r->pos, n);
	if (*out == NULL)
		return nomem(r->c);
	r->pos += n;
	return DLF_OK;
}

/* Reads n doubles into a new array (count already checked; NULL if 0). */
static DlfStatus
rd_f64_array(Rd *r, double **out, int32_t n)
{
	TRY(rd_need(r, (size_t) n * 8));
	if (n == 0)
		return DLF_OK;
	*out = dlf_alloc_array((size_t) n, sizeof(double));
	if (*out == NULL)
		return nomem(r->c);
	for (int32_t i = 0; i < n; i++)
		(void) rd_f64(r, &(*out)[i]);
	return DLF_OK;
}

/* Reads n floats into a new array (count already checked; NULL if 0). */
static DlfStatus
rd_f32_array(Rd *r, float **out, size_t n)
{
	TRY(rd_need(r, n * 4));
	*out = dlf_alloc_array(n ? n : 1, sizeof(float));
	if (*out == NULL)
		return nomem(r->c);
	for (size_t i = 0; i < n; i++)
		(void) rd_f32(r, &(*out)[i]);
	return DLF_OK;
}

/* ---- sections: encoder and decoder pairs ---------------------------------- */

/* META: dlfin version, task, activation, adverse class, calibration. */
static void
enc_meta(DlfBuf *b, const DlfModel *m)
{
	wr_str(b, DLF_VERSION);
	wr_u8(b, m->task);
	wr_u8(b, m->activation);
	wr_u8(b, m->adverse);
	wr_u8(b, m->calibration);
}

/* Decodes META and checks the enumerations. */
static DlfStatus
dec_meta(Rd *r, DlfModel *m)
{
	char	   *version = NULL;
	DlfStatus	st;

	st = rd_str(r, &version, DLF_MAX_VERSION_STR, "a dlfin version");
	dlf_free(version);
	if (st != DLF_OK)
		return st;
	TRY(rd_u8(r, &m->task));
	TRY(rd_u8(r, &m->activation));
	TRY(rd_u8(r, &m->adverse));
	TRY(rd_u8(r, &m->calibration));
	return check_meta(r->c, m);
}

/* FEATURES: per feature name, kind, type, monotone, statistics, categories. */
static void
enc_features(DlfBuf *b, const DlfModel *m)
{
	wr_u32(b, (uint32_t) m->nfeatures);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		wr_str(b, ft->name);
		wr_u8(b, ft->kind);
		wr_u8(b, ft->sqltype);
		wr_u8(b, (uint8_t) ft->monotone);
		wr_f64(b, ft->mean);
		wr_f64(b, ft->scale);
		wr_f64(b, ft->missing_share);
		wr_u32(b, (uint32_t) ft->ncat);
		for (int32_t k = 0; k < ft->ncat; k++)
			wr_str(b, ft->categories[k]);
	}
}

/* Fixed part of an encoded feature plus its empty name. */
#define FEATURE_MIN_BYTES	(4 + 3 + 24 + 4)

/* Decodes FEATURES, bounding every count by the bytes that remain. */
static DlfStatus
dec_features(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(rd_count(r, &n, DLF_MAX_FEATURES, FEATURE_MIN_BYTES, "features"));
	m->features = dlf_alloc_array((size_t) (n ? n : 1), sizeof(DlfFeature));
	if (m->features == NULL)
		return nomem(r->c);
	m->nfeatures = n;
	for (int32_t f = 0; f < n; f++)
	{
		DlfFeature *ft = &m->features[f];
		uint8_t		mono;
		int32_t		ncat = 0;

		ft->importance = NAN;
		TRY(rd_str(r, &ft->name, DLF_MAX_NAME, "a feature name"));
		TRY(rd_u8(r, &ft->kind));
		TRY(rd_u8(r, &ft->sqltype));
		TRY(rd_u8(r, &mono));
		if (mono != 0 && mono != 1 && mono != 0xff)
			return bad(r->c, "Feature %d has monotone code %u; it must be -1, 0 or 1.",
					   (int) f + 1, mono);
		ft->monotone = mono == 0xff ? -1 : (int8_t) mono;
		TRY(rd_f64(r, &ft->mean));
		TRY(rd_f64(r, &ft->scale));
		TRY(rd_f64(r, &ft->missing_share));
		TRY(rd_count(r, &ncat, DLF_MAX_CATEGORIES, 4, "categories"));
		if (ncat > 0)
		{
			ft->categories = dlf_alloc_array((size_t) ncat, sizeof(char *));
			if (ft->categories == NULL)
				return nomem(r->c);
			ft->ncat = ncat;
			for (int32_t k = 0; k < ncat; k++)
				TRY(rd_str(r, &ft->categories[k], DLF_MAX_NAME, "a category name"));
		}
	}
	return check_features(r->c, m);
}

/* CLASSES: class names. */
static void
enc_classes(DlfBuf *b, const DlfModel *m)
{
	wr_u32(b, (uint32_t) m->nclasses);
	for (int32_t k = 0; k < m->nclasses; k++)
		wr_str(b, m->classes[k]);
}

/* Decodes CLASSES. */
static DlfStatus
dec_classes(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(rd_count(r, &n, DLF_MAX_CLASSES, 4, "classes"));
	if (n > 0)
	{
		m->classes = dlf_alloc_array((size_t) n, sizeof(char *));
		if (m->classes == NULL)
			return nomem(r->c);
		m->nclasses = n;
		for (int32_t k = 0; k < n; k++)
			TRY(rd_str(r, &m->classes[k], DLF_MAX_NAME, "a class name"));
	}
	return check_classes(r->c, m);
}

/* TARGET: regression target mean and scale. */
static void
enc_target(DlfBuf *b, const DlfModel *m)
{
	wr_f64(b, m->target_mean);
	wr_f64(b, m->target_scale);
}

/* Decodes TARGET. */
static DlfStatus
dec_target(Rd *r, DlfModel *m)
{
	TRY(rd_f64(r, &m->target_mean));
	TRY(rd_f64(r, &m->target_scale));
	return check_target(r->c, m);
}

/* NETWORK: layer count, units, then weights and biases layer by layer. */
static void
enc_network(DlfBuf *b, const DlfModel *m)
{
	wr_u32(b, (uint32_t) m->nlayers);
	for (int32_t l = 0; l <= m->nlayers; l++)
		wr_u32(b, (uint32_t) m->units[l]);
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		wr_f32_array(b, m->weights[l],
					 (size_t) m->units[l] * (size_t) m->units[l + 1]);
		wr_f32_array(b, m->biases[l], (size_t) m->units[l + 1]);
	}
}

/* Decodes NETWORK: shape first, then exactly the bytes it implies. */
static DlfStatus
dec_network(Rd *r, DlfModel *m)
{
	int32_t		n = 0;
	int64_t		params;

	TRY(rd_count(r, &n, DLF_MAX_HIDDEN + 1, 8, "layers"));
	if (n < 1)
		return bad(r->c, "The network has no layers.");
	m->units = dlf_alloc_array((size_t) n + 1, sizeof(int32_t));
	if (m->units == NULL)
		return nomem(r->c);
	for (int32_t l = 0; l <= n; l++)
		TRY(rd_int(r, &m->units[l], DLF_MAX_INPUTS, "a layer of size"));
	m->nlayers = n;
	TRY(check_units(r->c, m));
	params = dlf_model_nparams(m);
	if ((uint64_t) params * 4 != (uint64_t) (r->len - r->pos))
		return bad(r->c, "Section NETWORK needs %lld bytes for %lld parameters but has %zu.",
				   (long long) params * 4, (long long) params, r->len - r->pos);
	m->weights = dlf_alloc_array((size_t) n, sizeof(float *));
	m->biases = dlf_alloc_array((size_t) n, sizeof(float *));
	if (m->weights == NULL || m->biases == NULL)
		return nomem(r->c);
	for (int32_t l = 0; l < n; l++)
	{
		TRY(rd_f32_array(r, &m->weights[l],
						 (size_t) m->units[l] * (size_t) m->units[l + 1]));
		TRY(rd_f32_array(r, &m->biases[l], (size_t) m->units[l + 1]));
	}
	return check_network(r->c, m);
}

/* TRAINING: options, rows, epochs, best epoch and loss, loss history. */
static void
enc_training(DlfBuf *b, const DlfModel *m)
{
	wr_str(b, m->options_json);
	wr_u64(b, (uint64_t) m->rows_train);
	wr_u64(b, (uint64_t) m->rows_valid);
	wr_u32(b, (uint32_t) m->epochs_run);
	wr_u32(b, (uint32_t) m->best_epoch);
	wr_f64(b, m->best_valid_loss);
	wr_u32(b, (uint32_t) m->nhistory);
	wr_f32_array(b, m->train_loss, (size_t) m->nhistory);
	wr_f32_array(b, m->valid_loss, (size_t) m->nhistory);
}

/* Decodes TRAINING. */
static DlfStatus
dec_training(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(rd_str(r, &m->options_json, DLF_MAX_MODEL_BYTES, "an options text"));
	TRY(rd_i64(r, &m->rows_train, "training row count"));
	TRY(rd_i64(r, &m->rows_valid, "validation row count"));
	TRY(rd_int(r, &m->epochs_run, DLF_MAX_EPOCHS, "epoch count"));
	TRY(rd_int(r, &m->best_epoch, DLF_MAX_EPOCHS, "best epoch"));
	TRY(rd_f64(r, &m->best_valid_loss));
	TRY(rd_count(r, &n, DLF_MAX_HISTORY, 8, "history epochs"));
	if (n > 0)
	{
		TRY(rd_f32_array(r, &m->train_loss, (size_t) n));
		TRY(rd_f32_array(r, &m->valid_loss, (size_t) n));
		m->nhistory = n;
	}
	return check_training(r->c, m);
}

/* METRICS: validation metric names and values. */
static void
enc_metrics(DlfBuf *b, const DlfModel *m)
{
	wr_u32(b, (uint32_t) m->nmetrics);
	for (int32_t i = 0; i < m->nmetrics; i++)
	{
		wr_str(b, m->metric_names[i]);
		wr_f64(b, m->metric_values[i]);
	}
}

/* Decodes METRICS. */
static DlfStatus
dec_metrics(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(rd_count(r, &n, DLF_MAX_METRICS, 12, "metrics"));
	if (n > 0)
	{
		m->metric_names = dlf_alloc_array((size_t) n, sizeof(char *));
		m->metric_values = dlf_alloc_array((size_t) n, sizeof(double));
		if (m->metric_names == NULL || m->metric_values == NULL)
			return nomem(r->c);
		m->nmetrics = n;
		for (int32_t i = 0; i < n; i++)
		{
			TRY(rd_str(r, &m->metric_names[i], DLF_MAX_NAME, "a metric name"));
			TRY(rd_f64(r, &m->metric_values[i]));
		}
	}
	return check_metrics(r->c, m);
}

/* EXPLAIN: per feature importance and optional adverse-action reason. */
static void
enc_explain(DlfBuf *b, const DlfModel *m)
{
	wr_u32(b, (uint32_t) m->nfeatures);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		wr_f64(b, ft->importance);
		wr_u8(b, ft->reason ? 1 : 0);
		if (ft->reason)
			wr_str(b, ft->reason);
	}
}

/* Decodes EXPLAIN into the features decoded before. */
static DlfStatus
dec_explain(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(rd_count(r, &n, DLF_MAX_FEATURES, 9, "features"));
	if (n != m->nfeatures)
		return bad(r->c, "Section EXPLAIN describes %d features but the model has %d.",
				   (int) n, (int) m->nfeatures);
	for (int32_t f = 0; f < n; f++)
	{
		DlfFeature *ft = &m->features[f];
		uint8_t		has;

		TRY(rd_f64(r, &ft->importance));
		TRY(rd_u8(r, &has));
		if (has > 1)
			return bad(r->c, "Section EXPLAIN has reason flag %u; it must be 0 or 1.",
					   has);
		if (has)
			TRY(rd_str(r, &ft->reason, DLF_MAX_NAME, "a reason text"));
	}
	return check_explain(r->c, m);
}

/* CALIBRATION: Platt a and b, isotonic points, ECE before and after. */
static void
enc_calibration(DlfBuf *b, const DlfModel *m)
{
	wr_f64(b, m->platt_a);
	wr_f64(b, m->platt_b);
	wr_u32(b, (uint32_t) m->niso);
	for (int32_t i = 0; i < m->niso; i++)
		wr_f64(b, m->iso_x[i]);
	for (int32_t i = 0; i < m->niso; i++)
		wr_f64(b, m->iso_y[i]);
	wr_f64(b, m->ece_before);
	wr_f64(b, m->ece_after);
}

/* Decodes CALIBRATION. */
static DlfStatus
dec_calibration(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(rd_f64(r, &m->platt_a));
	TRY(rd_f64(r, &m->platt_b));
	TRY(rd_count(r, &n, DLF_MAX_ISO, 16, "isotonic points"));
	if (n > 0)
	{
		TRY(rd_f64_array(r, &m->iso_x, n));
		TRY(rd_f64_array(r, &m->iso_y, n));
		m->niso = n;
	}
	TRY(rd_f64(r, &m->ece_before));
	TRY(rd_f64(r, &m->ece_after));
	return check_calibration(r->c, m);
}

/* Writes a histogram: nbins, edges (numeric only), shares. */
static void
enc_hist(DlfBuf *b, const DlfHistogram *h, int numeric)
{
	wr_u32(b, (uint32_t) h->nbins);
	if (numeric)
		for (int32_t i = 0; i < h->nbins - 1; i++)
			wr_f64(b, h->edges[i]);
	for (int32_t i = 0; i < h->nbins; i++)
		wr_f64(b, h->share[i]);
}

/* Reads a histogram; catbins < 0 for numeric, else the required bins. */
static DlfStatus
dec_hist(Rd *r, DlfHistogram *h, int64_t catbins)
{
	int32_t		n = 0;

	TRY(rd_count(r, &n, catbins >= 0 ? DLF_MAX_CATEGORIES + 2 : DLF_MAX_BINS,
				 8, "histogram bins"));
	if (n == 0)
		return DLF_OK;
	if (catbins >= 0 && n != catbins)
		return bad(r->c, "A categorical histogram has %d bins instead of %lld.",
				   (int) n, (long long) catbins);
	if (catbins < 0)
		TRY(rd_f64_array(r, &h->edges, n - 1));
	TRY(rd_f64_array(r, &h->share, n));
	h->nbins = n;
	return DLF_OK;
}

/* DISTRIBUTIONS: score histogram, then one histogram per feature. */
static void
enc_distributions(DlfBuf *b, const DlfModel *m)
{
	enc_hist(b, &m->score_dist, 1);
	wr_u32(b, (uint32_t) m->nfeatures);
	for (int32_t f = 0; f < m->nfeatures; f++)
		enc_hist(b, &m->features[f].dist,
				 m->features[f].kind != DLF_FEAT_CATEGORICAL);
}

/* Decodes DISTRIBUTIONS, histogram shapes following the features. */
static DlfStatus
dec_distributions(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(dec_hist(r, &m->score_dist, -1));
	TRY(rd_count(r, &n, DLF_MAX_FEATURES, 4, "features"));
	if (n != m->nfeatures)
		return bad(r->c, "Section DISTRIBUTIONS describes %d features but the model has %d.",
				   (int) n, (int) m->nfeatures);
	for (int32_t f = 0; f < n; f++)
	{
		DlfFeature *ft = &m->features[f];

		TRY(dec_hist(r, &ft->dist, ft->kind == DLF_FEAT_CATEGORICAL ?
					 (int64_t) ft->ncat + 2 : -1));
	}
	return check_distributions(r->c, m);
}

/* ---- top level ---------------------------------------------------------- */

/* Runs every checker, in section order. */
static DlfStatus
check_model(Ctx *c, const DlfModel *m)
{
	TRY(check_meta(c, m));
	TRY(check_features(c, m));
	TRY(check_classes(c, m));
	TRY(check_target(c, m));
	TRY(check_network(c, m));
	TRY(check_training(c, m));
	TRY(check_metrics(c, m));
	TRY(check_explain(c, m));
	TRY(check_calibration(c, m));
	return check_distributions(c, m);
}

/* Encodes one section: tag, length placeholder, payload, patched length. */
static void
enc_section(DlfBuf *b, uint16_t tag, const DlfModel *m)
{
	size_t		at;

	wr_u16(b, tag);
	at = b->len;
	wr_u32(b, 0);
	switch (tag)
	{
		case SEC_META:
			enc_meta(b, m);
			break;
		case SEC_FEATURES:
			enc_features(b, m);
			break;
		case SEC_CLASSES:
			enc_classes(b, m);
			break;
		case SEC_TARGET:
			enc_target(b, m);
			break;
		case SEC_NETWORK:
			enc_network(b, m);
			break;
		case SEC_TRAINING:
			enc_training(b, m);
			break;
		case SEC_METRICS:
			enc_metrics(b, m);
			break;
		case SEC_EXPLAIN:
			enc_explain(b, m);
			break;
		case SEC_CALIBRATION:
			enc_calibration(b, m);
			break;
		case SEC_DISTRIBUTIONS:
			enc_distributions(b, m);
			break;
	}
	if (!b->failed && b->len - at - 4 <= UINT32_MAX)
		put_u32(b->data + at, (uint32_t) (b->len - at - 4));
}

/* Decodes one section's payload. */
static DlfStatus
dec_section(Rd *r, uint16_t tag, DlfModel *m)
{
	switch (tag)
	{
		case SEC_META:
			return dec_meta(r, m);
		case SEC_FEATURES:
			return dec_features(r, m);
		case SEC_CLASSES:
			return dec_classes(r, m);
		case SEC_TARGET:
			return dec_target(r, m);
		case SEC_NETWORK:
			return dec_network(r, m);
		case SEC_TRAINING:
			return dec_training(r, m);
		case SEC_METRICS:
			return dec_metrics(r, m);
		case SEC_EXPLAIN:
			return dec_explain(r, m);
		case SEC_CALIBRATION:
			return dec_calibration(r, m);
		case SEC_DISTRIBUTIONS:
			return dec_distributions(r, m);
	}
	return bad(r->c, "Unknown section tag %u.", tag);
}

/* Serialises a validated model; the output is a pure function of m. */
DlfStatus
dlf_model_encode(const DlfModel *m, uint8_t **out, size_t *outlen,
				 DlfError *err)
{
	Ctx			c;
	DlfBuf		b;

	c.err = err;
	c.code = DLF_ERR_INVALID;
	c.message = "cannot encode an invalid dlfin model";
	*out = NULL;
	*outlen = 0;
	if (m == NULL)
		return bad(&c, "No model was given.");
	TRY(check_model(&c, m));

	dlf_buf_init(&b);
	dlf_buf_append(&b, DLF_MODEL_MAGIC, 8);
	wr_u16(&b, DLF_FORMAT_VERSION);
	wr_u16(&b, 0);
	wr_u32(&b, 0);
	wr_u32(&b, 0);
	for (uint16_t tag = 1; tag <= SEC_COUNT; tag++)
	{
		enc_section(&b, tag, m);
		if (b.len > DLF_MAX_MODEL_BYTES)
			break;
	}
	if (b.failed)
	{
		dlf_buf_free(&b);
		return nomem(&c);
	}
	if (b.len > DLF_MAX_MODEL_BYTES)
	{
		dlf_buf_free(&b);
		dlf_fail(err, DLF_ERR_LIMIT, "dlfin model is too large");
		dlf_detail(err, "The encoded model would exceed %zu bytes.",
				   (size_t) DLF_MAX_MODEL_BYTES);
		return DLF_ERR_LIMIT;
	}
	put_u32(b.data + 12, (uint32_t) b.len);
	put_u32(b.data + 16, dlf_crc32(b.data + DLF_HEADER_SIZE,
								   b.len - DLF_HEADER_SIZE));
	*out = b.data;
	*outlen = b.len;
	return DLF_OK;
}

/* Checks the header: magic, version, flags, length and checksum. */
static DlfStatus
check_header(Ctx *c, const uint8_t *buf, size_t len)
{
	uint16_t	version;
	uint16_t	flags;
	uint32_t	total;
	uint32_t	crc;
	uint32_t	actual;

	if (len < DLF_HEADER_SIZE)
		return bad(c, "The model is truncated: the header needs %d bytes but %zu are present.",
				   DLF_HEADER_SIZE, len);
	if (memcmp(buf, DLF_MODEL_MAGIC, 8) != 0)
		return bad(c, "The value does not start with the dlfin model signature.");
	version = get_u16(buf + 8);
	if (version == 0)
		return bad(c, "Format version 0 is not valid.");
	if (version > DLF_FORMAT_VERSION)
		return bad(c, "Format version %u is newer than this dlfin supports (%d).",
				   version, DLF_FORMAT_VERSION);
	flags = get_u16(buf + 10);
	if (flags != 0)
		return bad(c, "Header flags 0x%04x are not supported.", flags);
	total = get_u32(buf + 12);
	if (total != len)
		return bad(c, "The length field says %u bytes but the value has %zu bytes.",
				   total, len);
	if (len > DLF_MAX_MODEL_BYTES)
		return bad(c, "The model has %zu bytes, more than the limit of %zu.",
				   len, (size_t) DLF_MAX_MODEL_BYTES);
	crc = get_u32(buf + 16);
	actual = dlf_crc32(buf + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	if (crc != actual)
		return bad(c, "The checksum does not match: the header says %08x but the content gives %08x.",
				   crc, actual);
	return DLF_OK;
}

/* Walks the sections in their fixed order and decodes each one. */
static DlfStatus
decode_sections(Ctx *c, const uint8_t *buf, size_t len, DlfModel *m)
{
	size_t		pos = DLF_HEADER_SIZE;

	for (uint16_t tag = 1; tag <= SEC_COUNT; tag++)
	{
		uint16_t	t;
		uint32_t	slen;
		Rd			r;

		if (len - pos < 6)
			return bad(c, "The model is truncated: section %s needs a 6-byte header but %zu bytes remain.",
					   section_names[tag], len - pos);
		t = get_u16(buf + pos);
		slen = get_u32(buf + pos + 2);
		if (t != tag)
		{
			if (t == 0 || t > SEC_COUNT)
				return bad(c, "Unknown section tag %u at offset %zu.", t, pos);
			if (t < tag)
				return bad(c, "Section %s appears twice or out of order.",
						   section_names[t]);
			return bad(c, "Required section %s is missing.", section_names[tag]);
		}
		pos += 6;
		if (slen > len - pos)
			return bad(c, "The model is truncated: section %s needs %u bytes but %zu remain.",
					   section_names[tag], slen, len - pos);
		r.p = buf + pos;
		r.len = slen;
		r.pos = 0;
		r.sect = section_names[tag];
		r.c = c;
		TRY(dec_section(&r, tag, m));
		if (r.pos != r.len)
			return bad(c, "Section %s has %zu unexpected bytes at its end.",
					   section_names[tag], r.len - r.pos);
		pos += slen;
	}
	if (pos != len)
		return bad(c, "There are %zu trailing bytes after the last section.",
				   len - pos);
	return DLF_OK;
}

/* Parses and fully validates model bytes; see dlfin_core.h. */
DlfStatus
dlf_model_decode(const uint8_t *buf, size_t len, DlfModel **out,
				 DlfError *err)
{
	Ctx			c;
	DlfModel   *m;
	DlfStatus	st;

	c.err = err;
	c.code = DLF_ERR_CORRUPT;
	c.message = "invalid dlfin model";
	*out = NULL;
	if (buf == NULL)
		len = 0;
	TRY(check_header(&c, buf, len));
	m = dlf_model_new();
	if (m == NULL)
		return nomem(&c);
	st = decode_sections(&c, buf, len, m);
	if (st != DLF_OK)
	{
		dlf_model_free(m);
		return st;
	}
	dlf_model_layout(m);
	*out = m;
	return DLF_OK;
}

/* Reads header fields and the version string of accepted model bytes. */
int
dlf_model_peek(const uint8_t *bytes, size_t nbytes, uint16_t *format_version,
			   uint32_t *crc, char *version, size_t versionsize)
{
	uint32_t	n;
	const size_t vpos = DLF_HEADER_SIZE + 6 + 4;

	if (bytes == NULL || nbytes < vpos || versionsize == 0 ||
		memcmp(bytes, DLF_MODEL_MAGIC, 8) != 0 ||
		get_u16(bytes + DLF_HEADER_SIZE) != SEC_META)
		return 0;
	*format_version = get_u16(bytes + 8);
	*crc = get_u32(bytes + 16);
	n = get_u32(bytes + DLF_HEADER_SIZE + 6);
	if (n > nbytes - vpos || n >= versionsize ||
		!dlf_utf8_valid((const char *) bytes + vpos, n))
		return 0;
	memcpy(version, bytes + vpos, n);
	version[n] = '\0';
	return 1;
}
