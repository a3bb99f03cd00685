/*
 * fuzz_cache.c
 *	  libFuzzer harness for the identity of the scoring cache (DlfModelKey,
 *	  src/core/mcache.c), the way src/pg/model_cache.c uses it.
 *
 * The input is a program: a sequence of steps, each taking a model (one of
 * a few encoded fixtures), maybe changing it into a near-collision (one
 * byte flipped after the headers, with or without the CRC recomputed so
 * that it decodes; the length and the first 60 bytes kept), and placing it
 * either in a buffer that is reused at the same address (as per-tuple
 * memory and a plpgsql variable are) or in a constant buffer whose address
 * the cache may trust (as a Const's).  A small cache does what the glue
 * does: on a key match it serves its scorer, otherwise it decodes.  The
 * harness traps when the cache serves a model whose bytes are not the
 * datum's, or a score that differs from a fresh decode of the datum; ASan
 * and UBSan watch the memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlfin_core.h"
#include "dlfin_codec.h"
#include "../unit/fixtures.h"

#define NBASE		4
#define MAX_STEPS	64

static uint8_t *base[NBASE];	/* encoded fixtures: the constants */
static size_t base_len[NBASE];
static size_t max_len;

/* The glue's cache, reduced to what identity needs. */
typedef struct Cache
{
	DlfModelKey key;
	DlfModel   *model;
	DlfScorer  *scorer;
	uint8_t    *truth;			/* bytes the model was decoded from */
	size_t		truth_len;
} Cache;

/* Writes a little-endian u32. */
static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Encodes the fixtures once. */
static void
init_bases(void)
{
	static const int tasks[NBASE] = {DLF_TASK_BINARY, DLF_TASK_BINARY,
	DLF_TASK_MULTICLASS, DLF_TASK_REGRESSION};
	DlfError	err;

	if (base[0] != NULL)
		return;
	for (int i = 0; i < NBASE; i++)
	{
		DlfModel   *m = fx_model(tasks[i], i != 1, DLF_CALIB_PLATT, 3);

		if (dlf_model_encode(m, &base[i], &base_len[i], &err) != DLF_OK)
			__builtin_trap();
		if (base_len[i] > max_len)
			max_len = base_len[i];
		dlf_model_free(m);
	}
}

/* Empties the cache. */
static void
cache_reset(Cache *c)
{
	dlf_scorer_free(c->scorer);
	dlf_model_free(c->model);
	dlf_free(c->truth);
	dlf_model_key_clear(&c->key);
	memset(c, 0, sizeof(*c));
}

/* Scores a fixed row; returns the first output (NaN stands for overflow). */
static double
score_row(DlfScorer *s, const DlfModel *m)
{
	double		out[DLF_MAX_CLASSES + 1];

	dlf_scorer_reset(s);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->sqltype == DLF_SQL_TEXT)
			dlf_scorer_set_category(s, f, ft->ncat > 0 ? ft->categories[0] : "x",
									ft->ncat > 0 ? strlen(ft->categories[0]) : 1, 0);
		else
			dlf_scorer_set_numeric(s, f, 1.25 * (f + 1), 0);
	}
	if (dlf_scorer_run(s, out))
		return NAN;
	return out[0];
}

/* The glue's dlfin_score_cache_get: serves or decodes the datum. */
static void
cache_get(Cache *c, const uint8_t *datum, size_t len, int trust)
{
	DlfError	err;
	DlfModel   *m = NULL;

	if (c->model != NULL && dlf_model_key_match(&c->key, datum, len))
	{
		/* a hit must be the very bytes the model came from */
		if (len != c->truth_len || memcmp(datum, c->truth, len) != 0)
			__builtin_trap();
		/* and score as a fresh decode of the datum */
		if (dlf_model_decode(datum, len, &m, &err) == DLF_OK)
		{
			DlfScorer  *s = dlf_scorer_new(m, &err);
			double		a,
						b;

			if (s == NULL)
				__builtin_trap();
			a = score_row(c->scorer, c->model);
			b = score_row(s, m);
			if (memcmp(&a, &b, sizeof(a)) != 0)
				__builtin_trap();
			dlf_scorer_free(s);
			dlf_model_free(m);
		}
		else
			__builtin_trap();	/* the cached bytes decoded once */
		return;
	}
	cache_reset(c);
	if (dlf_model_decode(datum, len, &m, &err) != DLF_OK)
		return;					/* an error: the cache stays empty */
	c->scorer = dlf_scorer_new(m, &err);
	if (c->scorer == NULL)
	{
		dlf_model_free(m);
		return;
	}
	if (dlf_model_key_set(&c->key, datum, len, trust, &err) != DLF_OK)
		__builtin_trap();
	c->model = m;
	c->truth = dlf_alloc(len);
	memcpy(c->truth, datum, len);
	c->truth_len = len;
}

/* Copies fixture `which' into buf, changed as mode (see below) says. */
static void
make_datum(uint8_t *buf, int which, int mode, const uint8_t *op)
{
	size_t		len = base_len[which];
	size_t		at = DLF_HEADER_SIZE + 40 +
		((size_t) op[2] << 8 | op[3]) % (len - DLF_HEADER_SIZE - 40);

	memcpy(buf, base[which], len);
	if (mode >= 2)
	{
		/* a near-collision: same length and first 60 bytes */
		buf[at] ^= (uint8_t) (1u << (op[3] % 8));
		if (mode == 3)
			put32(buf + 16, dlf_crc32(buf + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE));
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Runs one program of 4-byte steps: model, mode (0 unchanged, 1 copied,
 * 2 a byte flipped, 3 flipped with the CRC recomputed), and where to flip.
 * The first byte picks the caller: odd, an untrusted one (a variable, a
 * parameter, a row: datums reuse one address); even, a trusted one in the
 * registry's way (each new datum gets a new buffer, which may land where
 * the last one was freed, and the key forgets the old address then).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Cache		c;
	uint8_t    *slot = NULL;
	size_t		slot_len = 0;
	int			trusted;
	size_t		pos = 1;

	if (size < 1)
		return 0;
	init_bases();
	memset(&c, 0, sizeof(c));
	trusted = (data[0] & 1) == 0;
	if (!trusted)
		slot = malloc(max_len);
	for (int step = 0; step < MAX_STEPS && pos + 4 <= size; step++, pos += 4)
	{
		int			which = data[pos] % NBASE;
		int			mode = data[pos + 1] % 4;
		size_t		len = base_len[which];

		if (trusted)
		{
			if (mode == 0 && slot != NULL)
			{
				/* the same lookup again: same address, same bytes */
				cache_get(&c, slot, slot_len, 1);
				continue;
			}
			free(slot);
			slot = malloc(len);
			slot_len = len;
			make_datum(slot, which, mode, data + pos);
			c.key.last_ptr = NULL;	/* as registry.c does */
			cache_get(&c, slot, len, 1);
			continue;
		}
		make_datum(slot, which, mode, data + pos);
		cache_get(&c, slot, len, 0);
	}
	cache_reset(&c);
	free(slot);
	return 0;
}
