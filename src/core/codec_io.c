/*
 * codec_io.c
 *	  Model codec: little-endian primitives and the bounded reader that
 *	  checks every length against the bytes that remain.
 */
#include "codec_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- little-endian primitives -------------------------------------------- */

/* Reads a little-endian u16. */
uint16_t
codec_get_u16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

/* Reads a little-endian u32. */
uint32_t
codec_get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* Reads a little-endian u64. */
static uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t) codec_get_u32(p) | ((uint64_t) codec_get_u32(p + 4) << 32);
}

/* Writes a little-endian u32. */
void
codec_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Appends a byte. */
void
codec_wr_u8(DlfBuf *b, uint8_t v)
{
	dlf_buf_append(b, &v, 1);
}

/* Appends a little-endian u16. */
void
codec_wr_u16(DlfBuf *b, uint16_t v)
{
	uint8_t		p[2];

	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	dlf_buf_append(b, p, 2);
}

/* Appends a little-endian u32. */
void
codec_wr_u32(DlfBuf *b, uint32_t v)
{
	uint8_t		p[4];

	codec_put_u32(p, v);
	dlf_buf_append(b, p, 4);
}

/* Appends a little-endian u64. */
void
codec_wr_u64(DlfBuf *b, uint64_t v)
{
	uint8_t		p[8];

	codec_put_u32(p, (uint32_t) v);
	codec_put_u32(p + 4, (uint32_t) (v >> 32));
	dlf_buf_append(b, p, 8);
}

/* Appends n floats, staged through a small buffer for speed. */
void
codec_wr_f32_array(DlfBuf *b, const float *v, size_t n)
{
	uint8_t		tmp[4096];
	size_t		k = 0;

	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u;

		memcpy(&u, &v[i], sizeof(u));
		codec_put_u32(tmp + k, u);
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
void
codec_wr_f64(DlfBuf *b, double v)
{
	uint64_t	u;

	memcpy(&u, &v, sizeof(u));
	codec_wr_u64(b, u);
}

/* Appends a string as u32 length and bytes; NULL is written as empty. */
void
codec_wr_str(DlfBuf *b, const char *s)
{
	size_t		n = s ? strlen(s) : 0;

	codec_wr_u32(b, (uint32_t) n);
	dlf_buf_append(b, s, n);
}

/* Fails unless n more bytes remain in the section. */
static DlfStatus
rd_need(Rd *r, size_t n)
{
	if (r->len - r->pos < n)
		return codec_bad(r->c, "Section %s ends early: a field needs %zu bytes but %zu remain.",
						 r->sect, n, r->len - r->pos);
	return DLF_OK;
}

/* Reads a byte. */
DlfStatus
codec_rd_u8(Rd *r, uint8_t *v)
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
	*v = codec_get_u32(r->p + r->pos);
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
DlfStatus
codec_rd_i64(Rd *r, int64_t *v, const char *what)
{
	uint64_t	u;

	TRY(rd_u64(r, &u));
	if (u > (uint64_t) INT64_MAX)
		return codec_bad(r->c, "Section %s has a negative %s.", r->sect, what);
	*v = (int64_t) u;
	return DLF_OK;
}

/* Reads a u32 that must not exceed limit, as int32. */
DlfStatus
codec_rd_int(Rd *r, int32_t *v, uint32_t limit, const char *what)
{
	uint32_t	u;

	TRY(rd_u32(r, &u));
	if (u > limit)
		return codec_bad(r->c, "Section %s has %s %u, more than the limit of %u.",
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
DlfStatus
codec_rd_f64(Rd *r, double *v)
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
DlfStatus
codec_rd_count(Rd *r, int32_t *n, uint32_t limit, size_t minsize, const char *what)
{
	uint32_t	u;

	TRY(rd_u32(r, &u));
	if (u > limit)
		return codec_bad(r->c, "Section %s declares %u %s, more than the limit of %u.",
						 r->sect, u, what, limit);
	if ((uint64_t) u * minsize > (uint64_t) (r->len - r->pos))
		return codec_bad(r->c, "The model is truncated: section %s declares %u %s needing at least %llu bytes but %zu remain.",
						 r->sect, u, what, (unsigned long long) ((uint64_t) u * minsize),
						 r->len - r->pos);
	*n = (int32_t) u;
	return DLF_OK;
}

/* Reads a string of at most maxlen bytes: UTF-8 without NUL. */
DlfStatus
codec_rd_str(Rd *r, char **out, size_t maxlen, const char *what)
{
	uint32_t	n;

	TRY(rd_u32(r, &n));
	if (n > maxlen)
		return codec_bad(r->c, "Section %s has %s of %u bytes, more than the limit of %zu.",
						 r->sect, what, n, maxlen);
	if (n > r->len - r->pos)
		return codec_bad(r->c, "The model is truncated: section %s has %s of %u bytes but %zu remain.",
						 r->sect, what, n, r->len - r->pos);
	if (!dlf_utf8_valid((const char *) r->p + r->pos, n))
		return codec_bad(r->c, "Section %s has %s that is not valid UTF-8 or contains a NUL byte.",
						 r->sect, what);
	*out = dlf_strndup((const char *) r->p + r->pos, n);
	if (*out == NULL)
		return codec_nomem(r->c);
	r->pos += n;
	return DLF_OK;
}

/* Reads n doubles into a new array (count already checked; NULL if 0). */
DlfStatus
codec_rd_f64_array(Rd *r, double **out, int32_t n)
{
	TRY(rd_need(r, (size_t) n * 8));
	if (n == 0)
		return DLF_OK;
	*out = dlf_alloc_array((size_t) n, sizeof(double));
	if (*out == NULL)
		return codec_nomem(r->c);
	for (int32_t i = 0; i < n; i++)
		(void) codec_rd_f64(r, &(*out)[i]);
	return DLF_OK;
}

/* Reads n floats into a new array (count already checked; NULL if 0). */
DlfStatus
codec_rd_f32_array(Rd *r, float **out, size_t n)
{
	TRY(rd_need(r, n * 4));
	*out = dlf_alloc_array(n ? n : 1, sizeof(float));
	if (*out == NULL)
		return codec_nomem(r->c);
	for (size_t i = 0; i < n; i++)
		(void) rd_f32(r, &(*out)[i]);
	return DLF_OK;
}
