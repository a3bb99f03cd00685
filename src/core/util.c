/*
 * util.c
 *	  Errors, allocation, byte buffers, hashing and the private PRNG of the
 *	  dlfin core.
 */
#include "dlfin_core.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static DlfAllocFn alloc_hook = malloc;
static DlfFreeFn free_hook = free;

/* Records a failure in err and returns its code. */
DlfStatus
dlf_fail(DlfError *err, DlfStatus code, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	return code;
}

/* Adds a hint sentence to an already recorded failure. */
void
dlf_hint(DlfError *err, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

/* Adds a detail sentence to an already recorded failure. */
void
dlf_detail(DlfError *err, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

/* Installs the allocator for the whole core. */
void
dlf_set_allocator(DlfAllocFn alloc_fn, DlfFreeFn free_fn)
{
	alloc_hook = alloc_fn ? alloc_fn : malloc;
	free_hook = free_fn ? free_fn : free;
}

/* Allocates size bytes (at least one), NULL on failure. */
void *
dlf_alloc(size_t size)
{
	return alloc_hook(size ? size : 1);
}

/* Allocates size zeroed bytes. */
void *
dlf_alloc0(size_t size)
{
	void	   *p = dlf_alloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

/* Allocates a zeroed array of n elements, NULL on overflow or failure. */
void *
dlf_alloc_array(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return dlf_alloc0(n * size);
}

/* Frees memory from dlf_alloc; NULL is ignored. */
void
dlf_free(void *ptr)
{
	if (ptr)
		free_hook(ptr);
}

/*
 * Allocates a zeroed array whose start is aligned to 64 bytes: vector loads
 * of the training kernels then never straddle a cache line (palloc and
 * malloc align large blocks to 8 or 16 bytes only, which costs about 15 %
 * of the dense kernels' speed).  The original pointer is kept just before
 * the aligned one.
 */
void *
dlf_alloc_array_aligned(size_t n, size_t size)
{
	char	   *raw;
	uintptr_t	p;

	if (size != 0 && n > (SIZE_MAX - 128) / size)
		return NULL;
	raw = dlf_alloc(n * size + 64 + sizeof(void *));
	if (raw == NULL)
		return NULL;
	p = ((uintptr_t) raw + sizeof(void *) + 63) & ~(uintptr_t) 63;
	((void **) p)[-1] = raw;
	memset((void *) p, 0, n * size);
	return (void *) p;
}

/* Frees an array from dlf_alloc_array_aligned; NULL is ignored. */
void
dlf_free_aligned(void *ptr)
{
	if (ptr)
		dlf_free(((void **) ptr)[-1]);
}

/* Copies len bytes of s into a new NUL-terminated string. */
char *
dlf_strndup(const char *s, size_t len)
{
	char	   *p = dlf_alloc(len + 1);

	if (p)
	{
		if (len)
			memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* ---- byte buffer ---- */

/* Initialises an empty buffer. */
void
dlf_buf_init(DlfBuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = 0;
}

/* Releases the buffer's memory. */
void
dlf_buf_free(DlfBuf *b)
{
	dlf_free(b->data);
	dlf_buf_init(b);
}

/* Makes room for extra more bytes plus a NUL; sets failed on error. */
static int
buf_reserve(DlfBuf *b, size_t extra)
{
	size_t		need;
	size_t		ncap;
	uint8_t    *nd;

	if (b->failed)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
	{
		b->failed = 1;
		return 0;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 1;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	nd = dlf_alloc(ncap);
	if (nd == NULL)
	{
		b->failed = 1;
		return 0;
	}
	if (b->len)
		memcpy(nd, b->data, b->len);
	dlf_free(b->data);
	b->data = nd;
	b->cap = ncap;
	return 1;
}

/* Appends len bytes. */
void
dlf_buf_append(DlfBuf *b, const void *data, size_t len)
{
	if (!buf_reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* Appends formatted text. */
void
dlf_buf_printf(DlfBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char		small[256];

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		b->failed = 1;
		return;
	}
	if ((size_t) n < sizeof(small))
	{
		dlf_buf_append(b, small, (size_t) n);
		return;
	}
	if (!buf_reserve(b, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf((char *) b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

/* Appends s as a JSON string literal. */
void
dlf_buf_json_string(DlfBuf *b, const char *s)
{
	const unsigned char *p;

	dlf_buf_append(b, "\"", 1);
	for (p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				dlf_buf_append(b, "\\\"", 2);
				break;
			case '\\':
				dlf_buf_append(b, "\\\\", 2);
				break;
			case '\n':
				dlf_buf_append(b, "\\n", 2);
				break;
			case '\r':
				dlf_buf_append(b, "\\r", 2);
				break;
			case '\t':
				dlf_buf_append(b, "\\t", 2);
				break;
			default:
				if (*p < 0x20)
					dlf_buf_printf(b, "\\u%04x", *p);
				else
					dlf_buf_append(b, p, 1);
		}
	}
	dlf_buf_append(b, "\"", 1);
}

/* Appends a number with round-trip precision, or null if not finite. */
void
dlf_buf_json_double(DlfBuf *b, double v)
{
	if (!isfinite(v))
		dlf_buf_append(b, "null", 4);
	else if (v == floor(v) && fabs(v) < 1e15)
		dlf_buf_printf(b, "%.0f", v);
	else
	{
		char		s[40];

		/* the shortest of %.15g..%.17g that reads back as the same double */
		for (int digits = 15; digits <= 17; digits++)
		{
			snprintf(s, sizeof(s), "%.*g", digits, v);
			if (strtod(s, NULL) == v)
				break;
		}
		dlf_buf_append(b, s, strlen(s));
	}
}

/* ---- hashing ---- */

/*
 * Hashes bytes 8 at a time, read little-endian whatever the host order, so
 * the value is the same on every machine.
 */
uint64_t
dlf_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t	h = dlf_mix64(seed ^ UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t) len);

	while (len >= 8)
	{
		uint64_t	w = 0;

		for (int i = 7; i >= 0; i--)
			w = (w << 8) | p[i];
		h = dlf_mix64(h ^ w) + UINT64_C(0x9e3779b97f4a7c15);
		p += 8;
		len -= 8;
	}
	if (len > 0)
	{
		uint64_t	w = 0;

		for (int i = (int) len - 1; i >= 0; i--)
			w = (w << 8) | p[i];
		h = dlf_mix64(h ^ w ^ ((uint64_t) len << 56));
	}
	return dlf_mix64(h);
}

/* CRC-32 (IEEE 802.3, reflected), bitwise table built on first use. */
uint32_t
dlf_crc32(const void *data, size_t len)
{
	static uint32_t table[256];
	static volatile int ready = 0;
	const uint8_t *p = data;
	uint32_t	c = 0xffffffffu;

	if (!ready)
	{
		for (uint32_t i = 0; i < 256; i++)
		{
			uint32_t	v = i;

			for (int k = 0; k < 8; k++)
				v = (v & 1) ? (0xedb88320u ^ (v >> 1)) : (v >> 1);
			table[i] = v;
		}
		ready = 1;
	}
	while (len--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */

/* Seeds the generator; every seed gives a valid non-zero state. */
void
dlf_rng_seed(DlfRng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
	{
		x += UINT64_C(0x9e3779b97f4a7c15);
		rng->s[i] = dlf_mix64(x);
	}
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits. */
uint64_t
dlf_rng_next(DlfRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
double
dlf_rng_uniform(DlfRng *rng)
{
	return (double) (dlf_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller (one value per call, deterministic). */
double
dlf_rng_normal(DlfRng *rng)
{
	double		u1 = dlf_rng_uniform(rng);
	double		u2 = dlf_rng_uniform(rng);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Uniform integer in [0, n) without modulo bias (Lemire's method). */
uint64_t
dlf_rng_below(DlfRng *rng, uint64_t n)
{
	uint64_t	threshold;
	uint64_t	r;

	if (n <= 1)
		return 0;
	threshold = (0 - n) % n;
	for (;;)
	{
		r = dlf_rng_next(rng);
		if (r >= threshold)
			return r % n;
	}
}

/*
 * In-place MSD radix sort (American flag sort) of unsigned keys by the byte
 * at `shift' and below; small ranges by insertion.  No scratch memory.
 */
static void
flag_sort64(uint64_t *a, int64_t n, int shift)
{
	int64_t		cnt[256];
	int64_t		next[256];
	int64_t		end[256];
	int64_t		pos = 0;

	if (n < 48)
	{
		for (int64_t i = 1; i < n; i++)
		{
			uint64_t	v = a[i];
			int64_t		j = i;

			while (j > 0 && a[j - 1] > v)
			{
				a[j] = a[j - 1];
				j--;
			}
			a[j] = v;
		}
		return;
	}
	memset(cnt, 0, sizeof(cnt));
	for (int64_t i = 0; i < n; i++)
		cnt[(a[i] >> shift) & 0xff]++;
	for (int b = 0; b < 256; b++)
	{
		next[b] = pos;
		pos += cnt[b];
		end[b] = pos;
	}
	/* cycle each misplaced key to its bucket's next free slot */
	for (int b = 0; b < 256; b++)
		while (next[b] < end[b])
		{
			uint64_t	v = a[next[b]];
			int			d = (int) ((v >> shift) & 0xff);

			while (d != b)
			{
				uint64_t	t = a[next[d]];

				a[next[d]++] = v;
				v = t;
				d = (int) ((v >> shift) & 0xff);
			}
			a[next[b]++] = v;
		}
	if (shift == 0)
		return;
	for (int b = 0; b < 256; b++)
		if (cnt[b] > 1)
			flag_sort64(a + end[b] - cnt[b], cnt[b], shift - 8);
}

/* Sorts n 64-bit keys ascending in place, with no scratch memory. */
void
dlf_sort_u64(uint64_t *a, int64_t n)
{
	flag_sort64(a, n, 56);
}
