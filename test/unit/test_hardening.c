/*
 * test_hardening.c
 *	  Unit tests of issue 13's core pieces: the model key of the scoring
 *	  cache (near-collisions, reused addresses), the hashed category
 *	  mapping of a warm start, rows that overflow the network (scorer and
 *	  explainer), the explainer's interrupt callback, and XML escaping of
 *	  characters XML does not allow.
 */
#include "dlfin_core.h"
#include "svg.h"
#include "tap.h"
#include "fixtures.h"

#include <string.h>

/* Interrupt callback that asks to stop after *arg calls. */
static int
stop_after(void *arg)
{
	int		   *left = arg;

	return (*left)-- <= 0;
}

/* dlf_same_bytes against memcmp for every length and differing position. */
static void
test_same_bytes(void)
{
	uint8_t		a[80],
				b[80];
	int			wrong = 0;

	for (int i = 0; i < 80; i++)
		a[i] = b[i] = (uint8_t) (i * 37 + 11);
	for (size_t len = 0; len <= 72; len++)
	{
		if (!dlf_same_bytes(a, b, len))
			wrong++;
		for (size_t p = 0; p < len; p++)
		{
			b[p] ^= 0x40;
			if (dlf_same_bytes(a, b, len))
				wrong++;
			b[p] ^= 0x40;
		}
	}
	ok(wrong == 0, "dlf_same_bytes finds every one-byte difference, lengths 0 to 72");
}

/* The key: bytes decide, the address only when trusted. */
static void
test_model_key(void)
{
	DlfModel   *m = fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_PLATT, 3);
	uint8_t    *bytes;
	uint8_t    *slot;
	size_t		n;
	DlfError	err;
	DlfModelKey k;
	uint8_t		toast[18];

	memset(&k, 0, sizeof(k));
	ok(dlf_model_encode(m, &bytes, &n, &err) == DLF_OK && n > 64, "a model to key");
	ok(!dlf_model_key_match(&k, bytes, n), "an empty key matches nothing");
	slot = dlf_alloc(n);
	memcpy(slot, bytes, n);
	ok(dlf_model_key_set(&k, slot, n, 0, &err) == DLF_OK, "key set");
	ok(dlf_model_key_match(&k, slot, n), "the same datum matches");
	ok(dlf_model_key_match(&k, bytes, n), "a copy elsewhere matches");
	ok(!dlf_model_key_match(&k, bytes, n - 1), "a shorter datum does not match");

	/*
	 * Issue 13's forgery: same length, same headers (stored CRC included),
	 * another body, at the cached datum's address.
	 */
	slot[n - 5] ^= 1;
	ok(!dlf_model_key_match(&k, slot, n), "same address, same length and headers, last bytes changed: no match");
	slot[n - 5] ^= 1;
	slot[64] ^= 0x80;
	ok(!dlf_model_key_match(&k, slot, n), "same address, byte 64 changed: no match");
	slot[64] ^= 0x80;
	ok(dlf_model_key_match(&k, slot, n), "restored: match");

	/* trusted address: a Const of the plan */
	ok(dlf_model_key_set(&k, slot, n, 1, &err) == DLF_OK, "key set, address trusted");
	ok(dlf_model_key_match(&k, slot, n), "trusted address matches");
	ok(dlf_model_key_match(&k, bytes, n), "trusted: a copy elsewhere still matches by bytes");
	ok(!dlf_model_key_match(&k, slot + 0, n - 8), "trusted: another length does not match");

	/* a TOAST pointer's 18 bytes: every byte counts */
	for (int i = 0; i < 18; i++)
		toast[i] = (uint8_t) (0xa0 + i);
	ok(dlf_model_key_set(&k, toast, 18, 0, &err) == DLF_OK, "key of an 18-byte datum");
	{
		int			wrong = 0;

		for (int i = 0; i < 18; i++)
		{
			toast[i] ^= 4;
			wrong += dlf_model_key_match(&k, toast, 18);
			toast[i] ^= 4;
		}
		ok(wrong == 0 && dlf_model_key_match(&k, toast, 18),
		   "18-byte datum: each changed byte is seen");
	}
	dlf_model_key_clear(&k);
	ok(k.bytes == NULL && !dlf_model_key_match(&k, toast, 18), "a cleared key matches nothing");
	dlf_free(slot);
	dlf_free(bytes);
	dlf_model_free(m);
}

/* Hashed category codes agree with the one-at-a-time lookup. */
static void
test_category_codes(void)
{
	DlfModel   *m = fx_model(DLF_TASK_BINARY, 0, 0, 3);
	const char *v[] = {"north", "nope", "", "\xc3\xa9st", "south", "sout", "southh", "NORTH"};
	int32_t		len[8];
	int32_t		codes[8];
	int			agree = 1;
	DlfError	err;
	int			left;

	for (int i = 0; i < 8; i++)
		len[i] = (int32_t) strlen(v[i]);
	ok(dlf_category_codes(m, 2, v, len, 8, codes, NULL, NULL, &err) == DLF_OK, "codes of 8 strings");
	for (int i = 0; i < 8; i++)
		agree &= codes[i] == dlf_category_code(m, 2, v[i], (size_t) len[i]);
	ok(agree, "hashed codes equal dlf_category_code's");
	ok(codes[0] == 0 && codes[1] == DLF_CAT_OTHER(&m->features[2]) && codes[2] == 3,
	   "known, unknown and empty strings");
	ok(dlf_category_codes(m, 0, v, len, 8, codes, NULL, NULL, &err) == DLF_OK &&
	   codes[0] == DLF_CAT_OTHER(&m->features[0]), "a numeric feature has no categories");
	ok(dlf_category_codes(m, 99, v, len, 8, codes, NULL, NULL, &err) == DLF_ERR_INVALID,
	   "a feature that does not exist is refused");
	dlf_model_free(m);

	/* 65,533 categories and 100,000 strings: linear in both */
	{
		DlfModel   *w = fx_model(DLF_TASK_BINARY, 0, 0, 3);
		DlfFeature *ft = &w->features[2];
		int32_t		nc = 65533,
					nv = 100000;
		char	  **strs = dlf_alloc_array(nv, sizeof(char *));
		int32_t    *lens = dlf_alloc_array(nv, sizeof(int32_t));
		int32_t    *out = dlf_alloc_array(nv, sizeof(int32_t));
		char	  **old = ft->categories;
		int32_t		oldn = ft->ncat;
		int			right = 1;
		char		buf[32];

		ft->categories = dlf_alloc_array(nc, sizeof(char *));
		ft->ncat = nc;
		for (int32_t c = 0; c < nc; c++)
		{
			snprintf(buf, sizeof(buf), "k%d", c);
			ft->categories[c] = fx_str(buf);
		}
		for (int32_t i = 0; i < nv; i++)
		{
			snprintf(buf, sizeof(buf), "k%d", i * 7);
			strs[i] = fx_str(buf);
			lens[i] = (int32_t) strlen(buf);
		}
		ok(dlf_category_codes(w, 2, (const char *const *) strs, lens, nv, out, NULL, NULL, &err) == DLF_OK,
		   "65,533 categories, 100,000 strings");
		for (int32_t i = 0; i < nv; i++)
			right &= out[i] == (i * 7 < nc ? i * 7 : DLF_CAT_OTHER(ft));
		ok(right, "every code right");
		left = 3;
		ok(dlf_category_codes(w, 2, (const char *const *) strs, lens, nv, out, stop_after, &left, &err) == DLF_ERR_INTERRUPTED,
		   "the interrupt callback stops it");
		for (int32_t c = 0; c < nc; c++)
			dlf_free(ft->categories[c]);
		dlf_free(ft->categories);
		ft->categories = old;
		ft->ncat = oldn;
		for (int32_t i = 0; i < nv; i++)
			dlf_free(strs[i]);
		dlf_free(strs);
		dlf_free(lens);
		dlf_free(out);
		dlf_model_free(w);
	}
}

/* Rows that overflow the network: the scorer says so, explain stops. */
static void
test_overflow(void)
{
	static const int tasks[] = {DLF_TASK_BINARY, DLF_TASK_MULTICLASS, DLF_TASK_REGRESSION};

	for (int t = 0; t < 3; t++)
	{
		DlfModel   *m = fx_model(tasks[t], 0, 0, 3);
		DlfError	err;
		DlfScorer  *s = dlf_scorer_new(m, &err);
		DlfExplainer *e = dlf_explainer_new(m, &err);
		double		out[8],
					contrib[8];
		DlfExplanation ex;
		int			left;

		ex.contrib = contrib;
		/* a feature trained with almost no spread, as in issue 13 */
		m->features[1].scale = 1e-30;
		dlf_scorer_free(s);
		s = dlf_scorer_new(m, &err);
		dlf_scorer_reset(s);
		dlf_scorer_set_numeric(s, 0, 40.0, 0);
		dlf_scorer_set_numeric(s, 1, 52000.75, 0);
		ok(dlf_scorer_run(s, out) == 0, "task %d: an ordinary row does not overflow", tasks[t]);
		ok(dlf_explain(e, s, &ex, &err) == DLF_OK, "task %d: and explains", tasks[t]);
		left = 5;
		dlf_explainer_set_interrupt(e, stop_after, &left);
		ok(dlf_explain(e, s, &ex, &err) == DLF_ERR_INTERRUPTED, "task %d: the interrupt callback stops an explanation",
		   tasks[t]);
		dlf_explainer_set_interrupt(e, NULL, NULL);

		/*
		 * Beyond float range once standardised, the input is infinite; a
		 * ReLU may zero it (a finite, saturated score), the other sign
		 * makes a logit non-finite.
		 */
		dlf_scorer_set_numeric(s, 1, 1e10, 0);
		if (dlf_scorer_run(s, out) == 0)
			dlf_scorer_set_numeric(s, 1, -1e10, 0);
		ok(dlf_scorer_run(s, out) != 0, "task %d: an input beyond float range overflows", tasks[t]);
		ok(dlf_explain(e, s, &ex, &err) == DLF_ERR_RANGE && err.code == DLF_ERR_RANGE,
		   "task %d: its explanation stops with DLF_ERR_RANGE", tasks[t]);
		dlf_explainer_free(e);
		dlf_scorer_free(s);
		dlf_model_free(m);
	}
}

/* Appends s escaped; returns the NUL-terminated result (static buffer). */
static const char *
escaped(const char *s, size_t len)
{
	static char res[256];
	DlfBuf		b;

	dlf_buf_init(&b);
	dlf_buf_xml_n(&b, s, len);
	memcpy(res, b.data ? (char *) b.data : "", b.len);
	res[b.len] = '\0';
	dlf_buf_free(&b);
	return res;
}

/* Characters XML does not allow never reach the output. */
static void
test_xml(void)
{
	ok(strcmp(escaped("a\xef\xbf\xbe" "b", 5), "a\xef\xbf\xbd" "b") == 0, "U+FFFE becomes U+FFFD");
	ok(strcmp(escaped("\xef\xbf\xbf", 3), "\xef\xbf\xbd") == 0, "U+FFFF becomes U+FFFD");
	ok(strcmp(escaped("x\xed\xa0\x80y", 5), "x\xef\xbf\xbdy") == 0, "a surrogate becomes U+FFFD");
	ok(strcmp(escaped("\x80z", 2), "\xef\xbf\xbdz") == 0, "a lone continuation byte becomes U+FFFD");
	ok(strcmp(escaped("\xe2\x82", 2), "\xef\xbf\xbd\xef\xbf\xbd") == 0, "a truncated sequence becomes U+FFFD");
	ok(strcmp(escaped("\xc0\xaf", 2), "\xef\xbf\xbd\xef\xbf\xbd") == 0, "an overlong sequence becomes U+FFFD");
	ok(strcmp(escaped("\xf4\x90\x80\x80", 4), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") == 0,
	   "a code point beyond U+10FFFF becomes U+FFFD");
	ok(strcmp(escaped("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd", 12),
			  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd") == 0, "valid characters are kept");
	ok(strcmp(escaped("<&\x01\t>", 5), "&lt;&amp;\t&gt;") == 0, "markup escaped, controls dropped");
	ok(strcmp(escaped("ab\xef\xbf\xbe", 4), "ab\xef\xbf\xbd\xef\xbf\xbd") == 0,
	   "a character cut by the length: each byte becomes U+FFFD");
}

int
main(void)
{
	test_same_bytes();
	test_model_key();
	test_category_codes();
	test_overflow();
	test_xml();
	return done_testing();
}
