/*
 * codec_internal.h
 *	  What the codec files share (private to them): sections, readers, failures.
 */
#ifndef DLFIN_CODEC_INTERNAL_H
#define DLFIN_CODEC_INTERNAL_H

#include "dlfin_codec.h"

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
	SEC_COUNT = 10,				/* sections of format version 1 */
	SEC_ENSEMBLE = 11,			/* format version 2: only ensembles */
	SEC_COUNT_V2 = 11,
	SEC_SKIP = 12,				/* format version 3: a skip path */
	SEC_COUNT_V3 = 12,
	SEC_WOE = 13,				/* format version 4: WoE-encoded features */
	SEC_COUNT_V4 = 13
};

/* Where failures are reported, and with which code and primary message. */
typedef struct Ctx
{
	DlfError   *err;
	DlfStatus	code;
	const char *message;
	uint16_t	version;		/* decoding: the value's format version */
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


/* codec.c */
DlfStatus	codec_bad(Ctx *c, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
DlfStatus	codec_nomem(Ctx *c);

/* codec_ensemble.c */
DlfStatus	codec_check_ensemble(Ctx *c, const DlfModel *m);
void		codec_enc_ensemble(DlfBuf *b, const DlfModel *m);
DlfStatus	codec_dec_ensemble(Rd *r, DlfModel *m);
uint16_t	codec_format_version(const DlfModel *m);
DlfStatus	codec_check_skip(Ctx *c, const DlfModel *m);
void		codec_enc_skip(DlfBuf *b, const DlfModel *m);
DlfStatus	codec_dec_skip(Rd *r, DlfModel *m);

/* codec_woe.c */
DlfStatus	codec_check_woe(Ctx *c, const DlfModel *m);
void		codec_enc_woe(DlfBuf *b, const DlfModel *m);
DlfStatus	codec_dec_woe(Rd *r, DlfModel *m);

/* codec_io.c */
uint16_t	codec_get_u16(const uint8_t *p);
uint32_t	codec_get_u32(const uint8_t *p);
void		codec_put_u32(uint8_t *p, uint32_t v);
void		codec_wr_u8(DlfBuf *b, uint8_t v);
void		codec_wr_u16(DlfBuf *b, uint16_t v);
void		codec_wr_u32(DlfBuf *b, uint32_t v);
void		codec_wr_u64(DlfBuf *b, uint64_t v);
void		codec_wr_f32_array(DlfBuf *b, const float *v, size_t n);
void		codec_wr_f64(DlfBuf *b, double v);
void		codec_wr_str(DlfBuf *b, const char *s);
DlfStatus	codec_rd_u8(Rd *r, uint8_t *v);
DlfStatus	codec_rd_i64(Rd *r, int64_t *v, const char *what);
DlfStatus	codec_rd_int(Rd *r, int32_t *v, uint32_t limit, const char *what);
DlfStatus	codec_rd_f64(Rd *r, double *v);
DlfStatus	codec_rd_count(Rd *r, int32_t *n, uint32_t limit, size_t minsize,
						   const char *what);
DlfStatus	codec_rd_str(Rd *r, char **out, size_t maxlen, const char *what);
DlfStatus	codec_rd_f64_array(Rd *r, double **out, int32_t n);
DlfStatus	codec_rd_f32_array(Rd *r, float **out, size_t n);

/* codec_check.c */
DlfStatus	codec_check_meta(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_features(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_classes(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_target(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_units(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_network(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_training(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_metrics(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_explain(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_calibration(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_distributions(Ctx *c, const DlfModel *m);
DlfStatus	codec_check_model(Ctx *c, const DlfModel *m);

#endif							/* DLFIN_CODEC_INTERNAL_H */
