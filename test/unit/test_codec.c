/*
 * test_codec.c
 *	  Unit tests of the model file format: round trips, truncation,
 *	  corruption, forged fields with valid checksums, allocation bounds and
 *	  the JSON description.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlfin_core.h"
#include "tap.h"
#include "fixtures.h"

/* ---- counting allocator ---- */

#define CAP_SINGLE	((size_t) 4 * 1024 * 1024)

static size_t live_bytes;
static size_t peak_bytes;
static size_t max_single;
static size_t refused;
static long fail_after = -1;	/* >= 0: allocations left before failing */

/* Allocator that refuses anything above CAP_SINGLE and tracks usage. */
static void *
count_alloc(size_t size)
{
	size_t	   *p;

	if (size > max_single)
		max_single = size;
	if (size > CAP_SINGLE)
	{
		refused++;
		return NULL;
	}
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	p = malloc(size + 16);
	if (p == NULL)
		return NULL;
	p[0] = size;
	live_bytes += size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return (char *) p + 16;
}

/* Frees memory from count_alloc. */
static void
count_free(void *ptr)
{
	size_t	   *p = (size_t *) ((char *) ptr - 16);

	live_bytes -= p[0];
	free(p);
}

/* Resets the peak counters. */
static void
reset_counts(void)
{
	peak_bytes = live_bytes;
	max_single = 0;
	refused = 0;
}

/* ---- byte helpers ---- */

/* Reads a little-endian u32. */
static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* Writes a little-endian u32. */
static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Recomputes the header CRC after a patch. */
static void
fix_crc(uint8_t *buf, size_t len)
{
	wr32(buf + 16, dlf_crc32(buf + 20, len - 20));
}

/* Writes a u32 at off and fixes the checksum. */
static void
patch32(uint8_t *buf, size_t len, size_t off, uint32_t v)
{
	wr32(buf + off, v);
	fix_crc(buf, len);
}

/* Offset of the payload of section tag, or 0. */
static size_t
section_at(const uint8_t *buf, size_t len, int tag)
{
	size_t		pos = 20;

	while (pos + 6 <= len)
	{
		int			t = buf[pos] | (buf[pos + 1] << 8);
		uint32_t	n = rd32(buf + pos + 2);

		if (t == tag)
			return pos + 6;
		pos += 6 + n;
	}
	return 0;
}

/* Offset of the first occurrence of a byte string, or 0. */
static size_t
find_bytes(const uint8_t *buf, size_t len, const char *s)
{
	size_t		n = strlen(s);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, s, n) == 0)
			return i;
	return 0;
}

/* Decodes and expects DLF_ERR_CORRUPT; frees any accepted model. */
static int
rejected(const uint8_t *buf, size_t len, DlfError *err)
{
	DlfModel   *m = NULL;
	DlfStatus	st = dlf_model_decode(buf, len, &m, err);

	if (st == DLF_OK)
		dlf_model_free(m);
	return st == DLF_ERR_CORRUPT && m == NULL;
}

/* ---- a small strict JSON checker ---- */

typedef struct J
{
	const char *s;
	size_t		pos;
} J;

static int	j_value(J *j);

/* Skips whitespace. */
static void
j_ws(J *j)
{
	while (strchr(" \t\r\n", j->s[j->pos]) && j->s[j->pos])
		j->pos++;
}

/* Parses a string literal with strict escapes. */
static int
j_string(J *j)
{
	if (j->s[j->pos] != '"')
		return 0;
	j->pos++;
	for (;;)
	{
		unsigned char c = (unsigned char) j->s[j->pos++];

		if (c == '"')
			return 1;
		if (c < 0x20)
			return 0;
		if (c == '\\')
		{
			c = (unsigned char) j->s[j->pos++];
			if (c == 'u')
			{
				for (int k = 0; k < 4; k++)
					if (!strchr("0123456789abcdefABCDEF", j->s[j->pos++]) ||
						j->s[j->pos - 1] == 0)
						return 0;
			}
			else if (!c || !strchr("\"\\/bfnrt", c))
				return 0;
		}
	}
}

/* Parses a number. */
static int
j_number(J *j)
{
	size_t		start = j->pos;

	if (j->s[j->pos] == '-')
		j->pos++;
	if (j->s[j->pos] == '0')
		j->pos++;
	else if (j->s[j->pos] >= '1' && j->s[j->pos] <= '9')
		while (j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	else
		return 0;
	if (j->s[j->pos] == '.')
	{
		j->pos++;
		if (!(j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
			return 0;
		while (j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	}
	if (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')
	{
		j->pos++;
		if (j->s[j->pos] == '+' || j->s[j->pos] == '-')
			j->pos++;
		if (!(j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
			return 0;
		while (j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	}
	return j->pos > start;
}

/* Parses any value. */
static int
j_value(J *j)
{
	char		c;

	j_ws(j);
	c = j->s[j->pos];
	if (c == '{' || c == '[')
	{
		char		close = c == '{' ? '}' : ']';

		j->pos++;
		j_ws(j);
		if (j->s[j->pos] == close)
		{
			j->pos++;
			return 1;
		}
		for (;;)
		{
			j_ws(j);
			if (c == '{')
			{
				if (!j_string(j))
					return 0;
				j_ws(j);
				if (j->s[j->pos++] != ':')
					return 0;
			}
			if (!j_value(j))
				return 0;
			j_ws(j);
			if (j->s[j->pos] == close)
			{
				j->pos++;
				return 1;
			}
			if (j->s[j->pos++] != ',')
				return 0;
		}
	}
	if (c == '"')
		return j_string(j);
	if (strncmp(j->s + j->pos, "true", 4) == 0 ||
		strncmp(j->s + j->pos, "null", 4) == 0)
	{
		j->pos += 4;
		return 1;
	}
	if (strncmp(j->s + j->pos, "false", 5) == 0)
	{
		j->pos += 5;
		return 1;
	}
	return j_number(j);
}

/* Nonzero when s (NUL-terminated, len bytes) is one JSON value. */
static int
json_ok(const char *s, size_t len)
{
	J			j;

	if (strlen(s) != len)
		return 0;
	j.s = s;
	j.pos = 0;
	if (!j_value(&j))
		return 0;
	j_ws(&j);
	return j.pos == len;
}

/* Describes a model as JSON and checks the result is well-formed. */
static int
info_ok(const DlfModel *m, const uint8_t *bytes, size_t n, int show)
{
	DlfBuf		b;
	int			good;

	dlf_buf_init(&b);
	dlf_model_info_json(m, bytes, n, &b);
	good = !b.failed && b.data && json_ok((const char *) b.data, b.len);
	if (show || !good)
		printf("# %s\n", b.data ? (const char *) b.data : "(null)");
	dlf_buf_free(&b);
	return good;
}

/* ---- model equality ---- */

/* Bitwise double equality (so NaN equals NaN). */
static int
deq(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* String equality where NULL equals the empty string. */
static int
seq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Equality of histograms. */
static int
hist_eq(const DlfHistogram *a, const DlfHistogram *b)
{
	if (a->nbins != b->nbins)
		return 0;
	for (int32_t i = 0; i < a->nbins; i++)
		if (!deq(a->share[i], b->share[i]))
			return 0;
	for (int32_t i = 0; a->edges && i < a->nbins - 1; i++)
		if (!b->edges || !deq(a->edges[i], b->edges[i]))
			return 0;
	return 1;
}

#define CHECK(cond) do { if (!(cond)) { printf("# differs: %s\n", #cond); return 0; } } while (0)

/* Field-by-field equality of two models; prints the first difference. */
static int
model_eq(const DlfModel *a, const DlfModel *b)
{
	CHECK(a->task == b->task && a->activation == b->activation);
	CHECK(a->nfeatures == b->nfeatures);
	for (int32_t f = 0; f < a->nfeatures; f++)
	{
		const DlfFeature *x = &a->features[f];
		const DlfFeature *y = &b->features[f];

		CHECK(strcmp(x->name, y->name) == 0);
		CHECK(x->kind == y->kind && x->sqltype == y->sqltype);
		CHECK(x->monotone == y->monotone);
		CHECK(deq(x->mean, y->mean) && deq(x->scale, y->scale));
		CHECK(deq(x->missing_share, y->missing_share));
		CHECK(x->ncat == y->ncat);
		for (int32_t k = 0; k < x->ncat; k++)
			CHECK(strcmp(x->categories[k], y->categories[k]) == 0);
		CHECK((x->reason == NULL) == (y->reason == NULL));
		CHECK(seq(x->reason, y->reason));
		CHECK(deq(x->importance, y->importance));
		CHECK(hist_eq(&x->dist, &y->dist));
		CHECK(x->input_offset == y->input_offset && x->ninputs == y->ninputs);
	}
	CHECK(a->nclasses == b->nclasses);
	for (int32_t k = 0; k < a->nclasses; k++)
		CHECK(strcmp(a->classes[k], b->classes[k]) == 0);
	CHECK(deq(a->target_mean, b->target_mean) && deq(a->target_scale, b->target_scale));
	CHECK(a->nlayers == b->nlayers);
	for (int32_t l = 0; l <= a->nlayers; l++)
		CHECK(a->units[l] == b->units[l]);
	for (int32_t l = 0; l < a->nlayers; l++)
	{
		CHECK(memcmp(a->weights[l], b->weights[l],
					 sizeof(float) * a->units[l] * a->units[l + 1]) == 0);
		CHECK(memcmp(a->biases[l], b->biases[l],
					 sizeof(float) * a->units[l + 1]) == 0);
	}
	CHECK(seq(a->options_json, b->options_json));
	CHECK(a->rows_train == b->rows_train && a->rows_valid == b->rows_valid);
	CHECK(a->epochs_run == b->epochs_run && a->best_epoch == b->best_epoch);
	CHECK(deq(a->best_valid_loss, b->best_valid_loss));
	CHECK(a->nhistory == b->nhistory);
	for (int32_t i = 0; i < a->nhistory; i++)
		CHECK(deq(a->train_loss[i], b->train_loss[i]) &&
			  deq(a->valid_loss[i], b->valid_loss[i]));
	CHECK(a->nmetrics == b->nmetrics);
	for (int32_t i = 0; i < a->nmetrics; i++)
		CHECK(strcmp(a->metric_names[i], b->metric_names[i]) == 0 &&
			  deq(a->metric_values[i], b->metric_values[i]));
	CHECK(a->adverse == b->adverse && a->calibration == b->calibration);
	CHECK(deq(a->platt_a, b->platt_a) && deq(a->platt_b, b->platt_b));
	CHECK(a->niso == b->niso);
	for (int32_t i = 0; i < a->niso; i++)
		CHECK(deq(a->iso_x[i], b->iso_x[i]) && deq(a->iso_y[i], b->iso_y[i]));
	CHECK(deq(a->ece_before, b->ece_before) && deq(a->ece_after, b->ece_after));
	CHECK(hist_eq(&a->score_dist, &b->score_dist));
	return 1;
}

/* ---- tests ---- */

/* Encode, decode, compare, re-encode, describe. */
static void
test_round_trip(const char *label, DlfModel *m)
{
	uint8_t    *b1 = NULL;
	uint8_t    *b2 = NULL;
	size_t		n1 = 0;
	size_t		n2 = 0;
	DlfModel   *d = NULL;
	DlfError	err = {0};
	DlfStatus	st;

	st = dlf_model_encode(m, &b1, &n1, &err);
	ok(st == DLF_OK, "%s: encodes (%s %s)", label, err.message, err.detail);
	if (st != DLF_OK)
		return;
	st = dlf_model_decode(b1, n1, &d, &err);
	ok(st == DLF_OK, "%s: decodes %zu bytes (%s %s)", label, n1, err.message, err.detail);
	if (st != DLF_OK)
	{
		dlf_free(b1);
		return;
	}
	ok(model_eq(m, d), "%s: every field survives the round trip", label);
	ok(dlf_model_encode(d, &b2, &n2, &err) == DLF_OK && n1 == n2 &&
	   memcmp(b1, b2, n1) == 0, "%s: re-encoding is byte-identical", label);
	ok(info_ok(d, b1, n1, 0), "%s: info JSON is well-formed", label);
	dlf_free(b2);
	b2 = NULL;
	ok(dlf_model_encode(m, &b2, &n2, &err) == DLF_OK && n1 == n2 &&
	   memcmp(b1, b2, n1) == 0, "%s: encoding is deterministic", label);
	dlf_free(b1);
	dlf_free(b2);
	dlf_model_free(d);
}

/* Every prefix is rejected, with and without a patched length and CRC. */
static void
test_truncation(const uint8_t *buf, size_t len)
{
	uint8_t    *copy = malloc(len);
	DlfError	err;
	int			plain = 1;
	int			patched = 1;

	for (size_t l = 0; l < len; l++)
	{
		if (!rejected(buf, l, &err))
		{
			plain = 0;
			printf("# prefix %zu accepted\n", l);
		}
		if (l >= 20)
		{
			memcpy(copy, buf, l);
			wr32(copy + 12, (uint32_t) l);
			fix_crc(copy, l);
			if (!rejected(copy, l, &err))
			{
				patched = 0;
				printf("# patched prefix %zu accepted\n", l);
			}
		}
	}
	ok(plain, "all %zu truncations are rejected", len);
	ok(patched, "all truncations with a fixed length and checksum are rejected");
	ok(rejected(buf, 3, &err) && strstr(err.detail, "truncated") != NULL,
	   "truncation detail: %s", err.detail);
	free(copy);
}

/* Every single-byte change is rejected. */
static void
test_corruption(const uint8_t *buf, size_t len)
{
	uint8_t    *copy = malloc(len);
	DlfError	err;
	int			all = 1;
	static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x5a};

	memcpy(copy, buf, len);
	for (size_t i = 0; i < len; i++)
		for (size_t k = 0; k < sizeof(flips); k++)
		{
			copy[i] ^= flips[k];
			if (!rejected(copy, len, &err))
			{
				all = 0;
				printf("# flip %02x at %zu accepted\n", flips[k], i);
			}
			copy[i] ^= flips[k];
		}
	ok(all, "every single-byte corruption of %zu bytes is rejected", len);
	copy[len - 1] ^= 1;
	ok(rejected(copy, len, &err) && strstr(err.detail, "checksum") != NULL,
	   "corruption detail: %s", err.detail);
	ok(strcmp(err.message, "invalid dlfin model") == 0, "primary message: %s",
	   err.message);
	free(copy);
}

/* Patches a u32 at off (absolute) and expects rejection within bounds. */
static void
forged(const uint8_t *buf, size_t len, size_t off, uint32_t v,
	   const char *what)
{
	uint8_t    *copy = malloc(len);
	DlfError	err = {0};
	int			rej;

	memcpy(copy, buf, len);
	patch32(copy, len, off, v);
	reset_counts();
	rej = rejected(copy, len, &err);
	ok(rej && max_single <= 64 * len + 4096 && refused == 0 &&
	   peak_bytes - live_bytes <= 64 * len + 65536,
	   "forged %s = %u rejected; largest allocation %zu, peak %zu (%s)",
	   what, v, max_single, peak_bytes - live_bytes, err.detail);
	free(copy);
}

/* Forged lengths and counts with valid checksums. */
static void
test_forged(const uint8_t *buf, size_t len)
{
	size_t		feat = section_at(buf, len, 2);
	size_t		cls = section_at(buf, len, 3);
	size_t		net = section_at(buf, len, 5);
	size_t		trn = section_at(buf, len, 6);
	size_t		met = section_at(buf, len, 7);
	size_t		exp = section_at(buf, len, 8);
	size_t		cal = section_at(buf, len, 9);
	size_t		dis = section_at(buf, len, 10);
	size_t		region = find_bytes(buf, len, "region");
	static const uint32_t big[] = {0xffffffffu, 0x7fffffffu, 0x10000000u,
	1025, 65537};
	size_t		before = live_bytes;

	ok(feat && cls && net && trn && met && exp && cal && dis && region,
	   "all sections found");
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
	{
		forged(buf, len, feat, big[i], "feature count");
		forged(buf, len, feat + 4, big[i], "feature name length");
		forged(buf, len, region + 6 + 3 + 24, big[i], "category count");
		forged(buf, len, cls, big[i], "class count");
		forged(buf, len, net, big[i], "layer count");
		forged(buf, len, net + 8, big[i], "hidden units");
		forged(buf, len, trn, big[i], "options length");
		forged(buf, len, met, big[i], "metric count");
		forged(buf, len, exp, big[i], "explain count");
		forged(buf, len, cal + 16, big[i], "isotonic points");
		forged(buf, len, dis, big[i], "score bins");
		forged(buf, len, feat - 4, big[i], "FEATURES section length");
		forged(buf, len, net - 4, big[i], "NETWORK section length");
		forged(buf, len, 12, big[i], "total length");
	}
	forged(buf, len, net + 4, 4096, "network inputs");
	forged(buf, len, net + 8, 4096, "hidden units (in range)");
	forged(buf, len, feat, 0, "feature count zero");
	forged(buf, len, cls, 3, "binary class count 3");
	forged(buf, len, net, 0, "layer count zero");
	forged(buf, len, dis, 0, "score bins zero");
	ok(live_bytes == before, "no memory leaked by rejected decodes (%zu)",
	   live_bytes - before);
}

/* Specific semantic defects patched into valid bytes. */
static void
test_semantic(const uint8_t *buf, size_t len)
{
	uint8_t    *c = malloc(len + 16);
	DlfError	err = {0};
	size_t		net = section_at(buf, len, 5);
	size_t		age = find_bytes(buf, len, "age");
	size_t		south = find_bytes(buf, len, "south");
	size_t		income = find_bytes(buf, len, "income");
	uint32_t	nlayers = rd32(buf + net);
	size_t		w0 = net + 4 + 4 * (nlayers + 1);
	static const uint32_t nonfinite[] = {0x7fc00000u, 0x7f800000u, 0xff800000u,
	0x7f800001u};

	for (size_t i = 0; i < 4; i++)
	{
		memcpy(c, buf, len);
		patch32(c, len, w0 + 4 * i, nonfinite[i]);
		ok(rejected(c, len, &err) && strstr(err.detail, "not finite"),
		   "non-finite weight %08x rejected: %s", nonfinite[i], err.detail);
	}

	memcpy(c, buf, len);
	c[age] = 0xff;
	fix_crc(c, len);
	ok(rejected(c, len, &err) && strstr(err.detail, "UTF-8"),
	   "invalid UTF-8 name rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[age + 1] = 0;
	fix_crc(c, len);
	ok(rejected(c, len, &err), "NUL inside a name rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[age] = 0xc1;
	c[age + 1] = 0x81;
	fix_crc(c, len);
	ok(rejected(c, len, &err), "overlong UTF-8 rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[age] = 0xed;
	c[age + 1] = 0xa0;
	c[age + 2] = 0x80;
	fix_crc(c, len);
	ok(rejected(c, len, &err), "UTF-8 surrogate rejected: %s", err.detail);

	memcpy(c, buf, len);
	memcpy(c + south, "north", 5);
	fix_crc(c, len);
	ok(rejected(c, len, &err) && strstr(err.detail, "same name"),
	   "duplicate category rejected: %s", err.detail);

	memcpy(c, buf, len);
	c[age + 3 + 2] = 2;
	fix_crc(c, len);
	ok(rejected(c, len, &err), "monotone 2 rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[age + 3] = 3;
	fix_crc(c, len);
	ok(rejected(c, len, &err), "feature kind 3 rejected: %s", err.detail);
	memcpy(c, buf, len);
	memset(c + income + 6 + 3 + 8, 0, 8);
	fix_crc(c, len);
	ok(rejected(c, len, &err) && strstr(err.detail, "scale"),
	   "zero scale rejected: %s", err.detail);
	memcpy(c, buf, len);
	memset(c + section_at(buf, len, 4) + 8, 0, 8);
	fix_crc(c, len);
	ok(rejected(c, len, &err) && strstr(err.detail, "target scale"),
	   "zero target scale rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[section_at(buf, len, 1) + 4 + 5] = 9;
	fix_crc(c, len);
	ok(rejected(c, len, &err) && strstr(err.detail, "Task"),
	   "task 9 rejected: %s", err.detail);

	memcpy(c, buf, len);
	/* versions 2 and 3 are the ensembles' and the skip path's; the next is newer */
	wr32(c + 8, (DLF_FORMAT_VERSION + 1) | (0 << 16));
	c[8] = DLF_FORMAT_VERSION + 1;
	c[9] = 0;
	ok(rejected(c, len, &err) && strstr(err.detail, "newer"),
	   "newer version rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[0] = 'X';
	ok(rejected(c, len, &err), "bad magic rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[10] = 1;
	ok(rejected(c, len, &err), "flags rejected: %s", err.detail);

	memcpy(c, buf, len);
	memset(c + len, 0, 4);
	wr32(c + 12, (uint32_t) len + 4);
	fix_crc(c, len + 4);
	ok(rejected(c, len + 4, &err) && strstr(err.detail, "trailing"),
	   "trailing bytes rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[section_at(buf, len, 3) - 6] = 2;
	fix_crc(c, len);
	ok(rejected(c, len, &err), "duplicate section rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[section_at(buf, len, 3) - 6] = 99;
	fix_crc(c, len);
	ok(rejected(c, len, &err) && strstr(err.detail, "Unknown"),
	   "unknown tag rejected: %s", err.detail);
	memcpy(c, buf, len);
	c[section_at(buf, len, 3) - 6] = 4;
	fix_crc(c, len);
	ok(rejected(c, len, &err) && strstr(err.detail, "missing"),
	   "missing section rejected: %s", err.detail);
	ok(rejected(NULL, 0, &err), "NULL input rejected");
	free(c);
}

/* Models the encoder must refuse. */
static void
test_encode_invalid(void)
{
	DlfError	err = {0};
	uint8_t    *out = NULL;
	size_t		n = 0;
	DlfModel   *m;
	char	   *tmp;

#define REFUSE(stmt, label) \
	do { \
		m = fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_ISOTONIC, 3); \
		stmt; \
		ok(dlf_model_encode(m, &out, &n, &err) == DLF_ERR_INVALID && out == NULL, \
		   "encode refuses %s: %s", label, err.detail); \
		dlf_model_free(m); \
	} while (0)

	REFUSE(m->weights[0][1] = NAN, "a NaN weight");
	REFUSE(m->biases[1][0] = INFINITY, "an infinite bias");
	REFUSE((tmp = m->features[1].name, m->features[1].name = fx_str("age"), dlf_free(tmp)),
		   "duplicate feature names");
	REFUSE((dlf_free(m->classes[1]), m->classes[1] = fx_str("good")), "duplicate classes");
	REFUSE(m->features[0].scale = 0, "zero scale");
	REFUSE(m->features[0].monotone = 2, "monotone 2");
	REFUSE(m->iso_x[3] = -5, "descending isotonic x");
	REFUSE(m->score_dist.edges[4] = -100, "descending histogram edges");
	REFUSE(m->features[2].dist.nbins = 3, "categorical histogram shape");
	REFUSE(m->units[0] = 99, "inputs not matching the features");
	REFUSE(m->task = DLF_TASK_MULTICLASS, "binary classes for multiclass");
	REFUSE(m->target_scale = -1, "negative target scale");
	REFUSE(m->best_epoch = 99, "best epoch after the last epoch");
	REFUSE(m->metric_values[0] = INFINITY, "an infinite metric");
	REFUSE(m->calibration = 7, "calibration 7");
	REFUSE(m->niso = 0, "isotonic calibration without points");
	REFUSE((tmp = m->features[0].name, m->features[0].name = fx_str("\xff"), dlf_free(tmp)),
		   "an invalid UTF-8 name");
	REFUSE((dlf_free(m->options_json), m->options_json = fx_str("{\"a\": 1,}")),
		   "options that are not JSON");
	REFUSE((dlf_free(m->options_json), m->options_json = fx_str("[1]")),
		   "options that are not an object");
	REFUSE(m->features[0].kind = DLF_FEAT_CATEGORICAL, "inputs changed by a kind");
	REFUSE(m->features[1].sqltype = DLF_SQL_TEXT, "a numeric text feature");
#undef REFUSE
}

/*
 * Random multi-byte mutations with fixed checksums never crash, and every
 * accepted mutant is canonical: it re-encodes to the same bytes.  META is
 * left alone since the writer's dlfin version is not preserved.
 */
static void
test_mutations(const uint8_t *buf, size_t len)
{
	uint8_t    *c = malloc(len);
	DlfRng		rng;
	int			accepted = 0;
	int			consistent = 1;
	DlfError	err;
	size_t		start = section_at(buf, len, 2) - 6;	/* after META */

	dlf_rng_seed(&rng, 42);
	for (int iter = 0; iter < 20000; iter++)
	{
		DlfModel   *m = NULL;
		int			k = 1 + (int) dlf_rng_below(&rng, 4);

		memcpy(c, buf, len);
		for (int i = 0; i < k; i++)
		{
			size_t		at = start + dlf_rng_below(&rng, len - start);

			c[at] = (uint8_t) (dlf_rng_below(&rng, 3) == 0 ? 0xff :
							   dlf_rng_next(&rng));
		}
		fix_crc(c, len);
		if (dlf_model_decode(c, len, &m, &err) == DLF_OK)
		{
			uint8_t    *o = NULL;
			size_t		n = 0;

			accepted++;
			if (dlf_model_encode(m, &o, &n, &err) != DLF_OK || n != len ||
				memcmp(o, c, len) != 0 || !info_ok(m, c, len, 0))
			{
				if (consistent)
					for (size_t i = 0; o && i < len && i < n; i++)
						if (o[i] != c[i])
							printf("# differs at %zu: %02x vs %02x (%s)\n", i, o[i], c[i], err.detail);
				consistent = 0;
			}
			dlf_free(o);
			dlf_model_free(m);
		}
		else if (err.code != DLF_ERR_CORRUPT)
			consistent = 0;
	}
	ok(consistent, "20000 mutations: %d accepted, all re-encode to the same bytes",
	   accepted);
	free(c);
}

/* Every allocation failure during decode and encode is reported cleanly. */
static void
test_nomem(const uint8_t *buf, size_t len, const DlfModel *model)
{
	size_t		before = live_bytes;
	int			clean = 1;
	int			k;
	DlfError	err;

	for (k = 0;; k++)
	{
		DlfModel   *m = NULL;
		DlfStatus	st;

		fail_after = k;
		st = dlf_model_decode(buf, len, &m, &err);
		fail_after = -1;
		if (st == DLF_OK)
		{
			dlf_model_free(m);
			break;
		}
		if (st != DLF_ERR_NOMEM || m != NULL || live_bytes != before)
			clean = 0;
	}
	ok(clean, "decode fails cleanly at each of its %d allocations", k);
	clean = 1;
	for (k = 0;; k++)
	{
		uint8_t    *o = NULL;
		size_t		n = 0;
		DlfStatus	st;

		fail_after = k;
		st = dlf_model_encode(model, &o, &n, &err);
		fail_after = -1;
		if (st == DLF_OK)
		{
			dlf_free(o);
			break;
		}
		if (st != DLF_ERR_NOMEM || o != NULL || live_bytes != before)
			clean = 0;
	}
	ok(clean, "encode fails cleanly at each of its %d allocations", k);
}

/* Checks the JSON validator used for options. */
static void
test_options_json(void)
{
	DlfModel   *m = fx_model(DLF_TASK_REGRESSION, 1, 0, 0);
	static const char *const good[] = {"{}", " {\"a\":[1,2.5e-3,-0,true,null,{\"b\":\"\\ud83d\\ude00\"}]} ",
	"{\"a\":1e1000,\"b\":-2.5E-1000,\"c\":1e+0001000}"};
	static const char *const badj[] = {"{", "{\"a\":01}", "{\"a\":\"\\u0000\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":1}{}", "{'a':1}", "{\"a\":\"\x01\"}",
	"{\"a\":.5}", "{\"a\":1.}", "{\"a\":tru}", "{\"a\" 1}", "{\"a\":[1,]}",
	"{\"a\":1e1001}", "{\"a\":1e-999999}", "{\"a\":1e99999999999999999999}"};
	char		deep[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		uint8_t    *o = NULL;
		size_t		n;
		DlfError	err;

		dlf_free(m->options_json);
		m->options_json = fx_str(good[i]);
		ok(dlf_model_encode(m, &o, &n, &err) == DLF_OK, "options %s accepted", good[i]);
		dlf_free(o);
	}
	for (size_t i = 0; i < sizeof(badj) / sizeof(badj[0]); i++)
	{
		uint8_t    *o = NULL;
		size_t		n;
		DlfError	err;

		dlf_free(m->options_json);
		m->options_json = fx_str(badj[i]);
		ok(dlf_model_encode(m, &o, &n, &err) == DLF_ERR_INVALID,
		   "options %zu refused", i);
		dlf_free(o);
	}
	memset(deep, '[', sizeof(deep));
	deep[0] = '{';
	deep[1] = '"';
	deep[2] = '"';
	deep[3] = ':';
	deep[sizeof(deep) - 1] = 0;
	dlf_free(m->options_json);
	m->options_json = fx_str(deep);
	{
		uint8_t    *o = NULL;
		size_t		n;
		DlfError	err;

		ok(dlf_model_encode(m, &o, &n, &err) == DLF_ERR_INVALID,
		   "deeply nested options refused");
		dlf_free(o);
	}
	dlf_model_free(m);
}

/* The info JSON of the binary model contains the documented keys. */
static void
test_info_keys(void)
{
	DlfModel   *m = fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_PLATT, 4);
	uint8_t    *o = NULL;
	size_t		n;
	DlfError	err;
	DlfBuf		b;
	char		crc[16];
	static const char *const keys[] = {
		"\"format_version\":1", "\"dlfin_version\":\"" DLF_VERSION "\"",
		"\"task\":\"binary\"", "\"positive_class\":\"bad\"",
		"\"kind\":\"categorical\"", "\"type\":\"boolean\"",
		"\"imputation\":\"missing\"", "\"scaling\":{\"mean\":41.5,\"scale\":12.25}",
		"\"monotone\":-1", "\"importance\":", "\"layers\":[{\"inputs\":9,\"outputs\":4,\"activation\":\"tanh\"}",
		"\"parameters\":45", "\"options\":{\"hidden\"", "\"rows\":{\"train\":5000000000,\"validation\":1234}",
		"\"epochs_run\":5", "\"best_epoch\":4", "\"best_valid_loss\":0.3125",
		"\"validation_metrics\":{\"auc\":0.8125", "\"ks\":null",
		"\"history\":{\"train_loss\":[1,0.5", "\"method\":\"platt\"", "\"platt_a\":-1.25",
		"\"ece_after\":0.03125", "\"adverse\":\"positive\"", "\"size_bytes\":", "\"checksum\":\""
	};

	dlf_model_encode(m, &o, &n, &err);
	dlf_buf_init(&b);
	dlf_model_info_json(m, o, n, &b);
	ok(json_ok((const char *) b.data, b.len), "info JSON is valid");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ok(strstr((const char *) b.data, keys[i]) != NULL, "info has %s", keys[i]);
	snprintf(crc, sizeof(crc), "\"%08x\"", rd32(o + 16));
	ok(strstr((const char *) b.data, crc) != NULL, "info checksum is %s", crc);
	info_ok(m, o, n, 1);
	dlf_buf_free(&b);
	dlf_free(o);
	dlf_model_free(m);
}

int
main(void)
{
	DlfModel   *models[8];
	const char *labels[8] = {
		"binary full platt", "binary full isotonic", "binary minimal",
		"multiclass full", "multiclass minimal", "regression full",
		"regression minimal", "binary no calibration, no hidden layer"
	};
	uint8_t    *buf = NULL;
	size_t		len = 0;
	DlfError	err;

	dlf_set_allocator(count_alloc, count_free);
	models[0] = fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_PLATT, 4);
	models[1] = fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_ISOTONIC, 3);
	models[2] = fx_model(DLF_TASK_BINARY, 0, 0, 2);
	models[3] = fx_model(DLF_TASK_MULTICLASS, 1, 0, 5);
	models[4] = fx_model(DLF_TASK_MULTICLASS, 0, 0, 0);
	models[5] = fx_model(DLF_TASK_REGRESSION, 1, 0, 3);
	models[6] = fx_model(DLF_TASK_REGRESSION, 0, 0, 1);
	models[7] = fx_model(DLF_TASK_BINARY, 1, 0, 0);
	for (int i = 0; i < 8; i++)
		test_round_trip(labels[i], models[i]);

	ok(dlf_model_encode(models[1], &buf, &len, &err) == DLF_OK, "reference model encodes");
	test_truncation(buf, len);
	test_corruption(buf, len);
	test_forged(buf, len);
	test_semantic(buf, len);
	test_mutations(buf, len);
	test_nomem(buf, len, models[1]);
	dlf_free(buf);
	ok(dlf_model_encode(models[4], &buf, &len, &err) == DLF_OK, "minimal model encodes");
	test_truncation(buf, len);
	test_mutations(buf, len);
	dlf_free(buf);

	test_encode_invalid();
	test_options_json();
	test_info_keys();

	for (int i = 0; i < 8; i++)
		dlf_model_free(models[i]);
	ok(live_bytes == 0, "no memory left allocated (%zu bytes)", live_bytes);
	return done_testing();
}
