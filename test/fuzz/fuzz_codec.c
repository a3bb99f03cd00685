/*
 * fuzz_codec.c
 *	  libFuzzer harness for the model decoder.
 *
 * Each input is decoded twice: as given (exercising the header and
 * checksum checks) and with its length field and CRC recomputed (so the
 * fuzzer reaches the section decoders).  An accepted model must re-encode,
 * to the very same bytes when its META version string is this dlfin's;
 * the re-encoded bytes must decode, re-encode byte-identically and give a
 * well-formed description, and the model must score rows without
 * touching memory it does not own.  Every allocation is capped and the live total
 * must stay within a small multiple of the input size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlfin_core.h"

#define CAP_SINGLE	((size_t) 8 * 1024 * 1024)

static size_t live_bytes;
static size_t peak_bytes;

/* Capped, counting allocator. */
static void *
fz_alloc(size_t size)
{
	size_t	   *p;

	if (size > CAP_SINGLE)
		return NULL;
	p = malloc(size + 16);
	if (p == NULL)
		return NULL;
	p[0] = size;
	live_bytes += size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return (char *) p + 16;
}

/* Frees memory of fz_alloc. */
static void
fz_free(void *ptr)
{
	size_t	   *p = (size_t *) ((char *) ptr - 16);

	live_bytes -= p[0];
	free(p);
}

/* Writes a little-endian u32. */
static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Describes a model; traps unless the text looks like one JSON object. */
static void
describe(const DlfModel *m, const uint8_t *bytes, size_t n)
{
	DlfBuf		b;

	dlf_buf_init(&b);
	dlf_model_info_json(m, bytes, n, &b);
	if (!b.failed && (b.len < 2 || b.data[0] != '{' || b.data[b.len - 1] != '}' ||
					  strlen((const char *) b.data) != b.len))
		__builtin_trap();
	dlf_buf_free(&b);
}

/*
 * Scores a few rows with an accepted model: every numeric feature at a
 * middle value, at an extreme and NULL, every categorical one at its first
 * category, at an unseen string and NULL.  Only memory safety is checked
 * here (ASan/UBSan); the output count is what the glue allocates.
 */
static void
score(const DlfModel *m)
{
	DlfError	err;
	DlfScorer  *s = dlf_scorer_new(m, &err);
	double		out[DLF_MAX_CLASSES + 1];

	if (s == NULL)
	{
		if (err.code != DLF_ERR_NOMEM)
			__builtin_trap();	/* decode accepted what scoring refuses */
		return;
	}
	if (m->units[m->nlayers] > (m->task == DLF_TASK_MULTICLASS ? m->nclasses : 1))
		__builtin_trap();		/* more outputs than the glue's buffer */
	for (int row = 0; row < 3; row++)
	{
		dlf_scorer_reset(s);
		for (int32_t f = 0; f < m->nfeatures; f++)
		{
			const DlfFeature *ft = &m->features[f];

			if (ft->sqltype == DLF_SQL_TEXT)
			{
				const char *v = row == 0 && ft->ncat > 0 ? ft->categories[0] : "\x01unseen";

				dlf_scorer_set_category(s, f, v, strlen(v), row == 2);
				(void) dlf_category_code(m, f, v, strlen(v));
			}
			else
				dlf_scorer_set_numeric(s, f, row == 0 ? 0.5 : -1e300, row == 2);
		}
		dlf_scorer_run(s, out);
	}
	dlf_scorer_free(s);
}

/* Decodes one buffer and checks the round-trip properties. */
static void
check_one(const uint8_t *data, size_t size)
{
	DlfModel   *m = NULL;
	DlfModel   *m2 = NULL;
	DlfError	err;
	uint8_t    *y = NULL;
	uint8_t    *z = NULL;
	size_t		ny = 0;
	size_t		nz = 0;
	size_t		vlen = strlen(DLF_VERSION);
	DlfStatus	st;

	peak_bytes = live_bytes;
	st = dlf_model_decode(data, size, &m, &err);
	if (peak_bytes - live_bytes > 64 * size + 65536)
		__builtin_trap();		/* allocation out of proportion */
	if (st != DLF_OK)
	{
		if (m != NULL || (st != DLF_ERR_CORRUPT && st != DLF_ERR_NOMEM) ||
			err.message[0] == '\0')
			__builtin_trap();
		return;
	}
	describe(m, data, size);
	score(m);
	st = dlf_model_encode(m, &y, &ny, &err);
	if (st == DLF_ERR_NOMEM)
		goto out;
	if (st != DLF_OK)
		__builtin_trap();		/* decode accepted what encode refuses */
	/* canonical: written by this version, the bytes come back unchanged */
	if (size >= 30 + vlen && data[26] == vlen && data[27] == 0 &&
		data[28] == 0 && data[29] == 0 &&
		memcmp(data + 30, DLF_VERSION, vlen) == 0 &&
		(ny != size || memcmp(y, data, size) != 0))
		__builtin_trap();
	st = dlf_model_decode(y, ny, &m2, &err);
	if (st == DLF_ERR_NOMEM)
		goto out;
	if (st != DLF_OK)
		__builtin_trap();
	describe(m2, y, ny);
	st = dlf_model_encode(m2, &z, &nz, &err);
	if (st == DLF_OK && (nz != ny || memcmp(y, z, ny) != 0))
		__builtin_trap();
out:
	dlf_free(y);
	dlf_free(z);
	dlf_model_free(m);
	dlf_model_free(m2);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	ready = 0;
	size_t		before;

	if (!ready)
	{
		dlf_set_allocator(fz_alloc, fz_free);
		ready = 1;
	}
	before = live_bytes;
	check_one(data, size);
	if (size >= 20 && size <= UINT32_MAX)
	{
		uint8_t    *copy = malloc(size);

		memcpy(copy, data, size);
		put32(copy + 12, (uint32_t) size);
		put32(copy + 16, dlf_crc32(copy + 20, size - 20));
		check_one(copy, size);
		free(copy);
	}
	if (live_bytes != before)
		__builtin_trap();		/* leak */
	return 0;
}
