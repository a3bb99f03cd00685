/*
 * protobuf.h
 *	  A minimal Protocol Buffers wire-format writer and a bounded reader, as
 *	  much of the format as ONNX export and import need (no schema, no
 *	  reflection, no groups).
 *
 * The writer appends to a DlfBuf; nested messages are written in place and
 * their length prefix inserted when they end.  The reader walks one message
 * at a time and never reads outside the bytes it was given: every length is
 * checked against what is left, and malformed input ends the walk with an
 * error instead of a guess.
 */
#ifndef DLFIN_PROTOBUF_H
#define DLFIN_PROTOBUF_H

#include "dlfin_core.h"

/* Wire types. */
#define PB_VARINT	0
#define PB_FIXED64	1
#define PB_LEN		2
#define PB_FIXED32	5

/* ---- writer ---- */

void		pb_varint(DlfBuf *b, uint64_t v);
void		pb_tag(DlfBuf *b, uint32_t field, int wire);
void		pb_int(DlfBuf *b, uint32_t field, int64_t v);	/* int32/int64/enum */
void		pb_bytes(DlfBuf *b, uint32_t field, const void *data, size_t len);
void		pb_str(DlfBuf *b, uint32_t field, const char *s);
void		pb_float(DlfBuf *b, uint32_t field, float v);	/* fixed32 */
/* Packed repeated fields: one length-delimited run of values. */
void		pb_packed_floats(DlfBuf *b, uint32_t field, const float *v, size_t n);
void		pb_packed_doubles(DlfBuf *b, uint32_t field, const double *v, size_t n);
void		pb_packed_int64s(DlfBuf *b, uint32_t field, const int64_t *v, size_t n);

/* Starts a nested message; returns the mark that pb_end takes. */
size_t		pb_begin(DlfBuf *b, uint32_t field);
/* Ends the nested message begun at mark: inserts its length prefix. */
void		pb_end(DlfBuf *b, size_t mark);

/* ---- reader ---- */

typedef struct PbReader
{
	const uint8_t *p;
	const uint8_t *end;
} PbReader;

/* One field as read: v for varint/fixed, data/len for length-delimited. */
typedef struct PbField
{
	uint32_t	field;
	int			wire;
	uint64_t	v;
	const uint8_t *data;
	size_t		len;
} PbField;

static inline void
pb_reader_init(PbReader *r, const uint8_t *data, size_t len)
{
	r->p = data;
	r->end = data + len;
}

/* Reads the next field: 1 when read, 0 at the end, -1 on malformed bytes. */
int			pb_next(PbReader *r, PbField *f);

/* Reads a varint from [*p, end): 0 on success, -1 if truncated or too long. */
int			pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* The bits of a fixed32 field as a float, of a fixed64 field as a double. */
float		pb_as_float(const PbField *f);
double		pb_as_double(const PbField *f);

#endif							/* DLFIN_PROTOBUF_H */
