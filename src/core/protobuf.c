/*
 * protobuf.c
 *	  Protocol Buffers wire format: the writer used by ONNX export and the
 *	  bounded reader used by ONNX import (see protobuf.h).
 *
 * Written here rather than taken from libprotobuf-c (Debian has it) because
 * ONNX needs only five wire primitives, the reader must be hostile-input
 * code that allocates nothing, and the core takes no runtime dependency.
 */
#include "protobuf.h"

#include <string.h>

/* Appends a base-128 varint. */
void
pb_varint(DlfBuf *b, uint64_t v)
{
	uint8_t		tmp[10];
	size_t		n = 0;

	do
	{
		uint8_t		c = v & 0x7f;

		v >>= 7;
		tmp[n++] = v ? (c | 0x80) : c;
	} while (v);
	dlf_buf_append(b, tmp, n);
}

/* Appends a field key. */
void
pb_tag(DlfBuf *b, uint32_t field, int wire)
{
	pb_varint(b, ((uint64_t) field << 3) | (uint64_t) wire);
}

/* Appends an int32/int64/enum field (negative values take ten bytes). */
void
pb_int(DlfBuf *b, uint32_t field, int64_t v)
{
	pb_tag(b, field, PB_VARINT);
	pb_varint(b, (uint64_t) v);
}

/* Appends a bytes field. */
void
pb_bytes(DlfBuf *b, uint32_t field, const void *data, size_t len)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, len);
	dlf_buf_append(b, data, len);
}

/* Appends a string field. */
void
pb_str(DlfBuf *b, uint32_t field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

/* Appends v little-endian in n bytes. */
static void
put_le(DlfBuf *b, uint64_t v, int n)
{
	uint8_t		tmp[8];

	for (int i = 0; i < n; i++)
		tmp[i] = (uint8_t) (v >> (8 * i));
	dlf_buf_append(b, tmp, n);
}

/* Appends a float field (fixed32). */
void
pb_float(DlfBuf *b, uint32_t field, float v)
{
	uint32_t	u;

	memcpy(&u, &v, 4);
	pb_tag(b, field, PB_FIXED32);
	put_le(b, u, 4);
}

/* Appends a packed repeated float field. */
void
pb_packed_floats(DlfBuf *b, uint32_t field, const float *v, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n * 4);
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u;

		memcpy(&u, &v[i], 4);
		put_le(b, u, 4);
	}
}

/* Appends a packed repeated double field. */
void
pb_packed_doubles(DlfBuf *b, uint32_t field, const double *v, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n * 8);
	for (size_t i = 0; i < n; i++)
	{
		uint64_t	u;

		memcpy(&u, &v[i], 8);
		put_le(b, u, 8);
	}
}

/* Appends a packed repeated int64 field. */
void
pb_packed_int64s(DlfBuf *b, uint32_t field, const int64_t *v, size_t n)
{
	size_t		mark = pb_begin(b, field);

	for (size_t i = 0; i < n; i++)
		pb_varint(b, (uint64_t) v[i]);
	pb_end(b, mark);
}

/* Starts a nested message: writes its key; the length comes at pb_end. */
size_t
pb_begin(DlfBuf *b, uint32_t field)
{
	pb_tag(b, field, PB_LEN);
	return b->len;
}

/* Ends a nested message: moves its bytes up to make room for the length. */
void
pb_end(DlfBuf *b, size_t mark)
{
	size_t		len;
	uint8_t		tmp[10];
	size_t		n = 0;
	uint64_t	v;

	if (b->failed || mark > b->len)
		return;
	len = b->len - mark;
	v = len;
	do
	{
		uint8_t		c = v & 0x7f;

		v >>= 7;
		tmp[n++] = v ? (c | 0x80) : c;
	} while (v);
	dlf_buf_append(b, tmp, n);	/* grows the buffer by n */
	if (b->failed)
		return;
	memmove(b->data + mark + n, b->data + mark, len);
	memcpy(b->data + mark, tmp, n);
}

/* Reads a varint of at most ten bytes. */
int
pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t	r = 0;
	const uint8_t *q = *p;

	for (int shift = 0; shift < 70; shift += 7)
	{
		uint8_t		c;

		if (q >= end)
			return -1;
		c = *q++;
		/* the tenth byte may carry only the top bit */
		if (shift == 63 && c > 1)
			return -1;
		r |= (uint64_t) (c & 0x7f) << shift;
		if (!(c & 0x80))
		{
			*p = q;
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Reads the next field of a message. */
int
pb_next(PbReader *r, PbField *f)
{
	uint64_t	key;
	uint64_t	v;

	if (r->p >= r->end)
		return 0;
	if (pb_read_varint(&r->p, r->end, &key) != 0)
		return -1;
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	f->field = (uint32_t) (key >> 3);
	f->wire = (int) (key & 7);
	f->data = NULL;
	f->len = 0;
	f->v = 0;
	switch (f->wire)
	{
		case PB_VARINT:
			return pb_read_varint(&r->p, r->end, &f->v) == 0 ? 1 : -1;
		case PB_FIXED64:
		case PB_FIXED32:
			{
				size_t		n = f->wire == PB_FIXED64 ? 8 : 4;

				if ((size_t) (r->end - r->p) < n)
					return -1;
				for (size_t i = 0; i < n; i++)
					f->v |= (uint64_t) r->p[i] << (8 * i);
				r->p += n;
				return 1;
			}
		case PB_LEN:
			if (pb_read_varint(&r->p, r->end, &v) != 0 ||
				v > (uint64_t) (r->end - r->p))
				return -1;
			f->data = r->p;
			f->len = (size_t) v;
			r->p += v;
			return 1;
		default:
			/* groups (3, 4) are deprecated and unused by ONNX */
			return -1;
	}
}

/* The float whose bits a fixed32 field holds. */
float
pb_as_float(const PbField *f)
{
	uint32_t	u = (uint32_t) f->v;
	float		x;

	memcpy(&x, &u, 4);
	return x;
}

/* The double whose bits a fixed64 field holds. */
double
pb_as_double(const PbField *f)
{
	double		x;

	memcpy(&x, &f->v, 8);
	return x;
}
