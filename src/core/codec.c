/*
 * codec.c
 *	  The dlfin model file format: encoding a DlfModel into bytes and
 *	  decoding and validating bytes that may be hostile.
 *
 * The layout is documented in doc/format.md.  In short: a 20-byte header
 * (magic, format version, flags, total length, CRC-32 of the rest), then
 * ten tagged sections in a fixed order (eleven in format version 2, which
 * only ensembles are written in: see codec_ensemble.c), every integer and float written
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
#include "codec_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const section_names[SEC_COUNT_V4 + 1] = {
	"?", "META", "FEATURES", "CLASSES", "TARGET", "NETWORK", "TRAINING",
	"METRICS", "EXPLAIN", "CALIBRATION", "DISTRIBUTIONS", "ENSEMBLE", "SKIP",
	"WOE"
};

/*
 * Sections of a format version: 10, 11 (ensembles), 12 (skip path) or 13
 * (WoE features).
 */
static uint16_t
version_sections(uint16_t version)
{
	return version >= 4 ? SEC_COUNT_V4 : version == 3 ? SEC_COUNT_V3 :
		version == 2 ? SEC_COUNT_V2 : SEC_COUNT;
}

/* Records a failure with the context's code and message and a detail. */
DlfStatus
codec_bad(Ctx *c, const char *fmt,...)
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
DlfStatus
codec_nomem(Ctx *c)
{
	dlf_fail(c->err, DLF_ERR_NOMEM, "out of memory");
	dlf_detail(c->err, "The allocator refused memory for the dlfin model.");
	return DLF_ERR_NOMEM;
}

/* ---- sections: encoder and decoder pairs ---------------------------------- */

/* META: dlfin version, task, activation, adverse class, calibration. */
static void
enc_meta(DlfBuf *b, const DlfModel *m)
{
	codec_wr_str(b, DLF_VERSION);
	codec_wr_u8(b, m->task);
	codec_wr_u8(b, m->activation);
	codec_wr_u8(b, m->adverse);
	codec_wr_u8(b, m->calibration);
}

/* Decodes META and checks the enumerations. */
static DlfStatus
dec_meta(Rd *r, DlfModel *m)
{
	char	   *version = NULL;
	DlfStatus	st;

	st = codec_rd_str(r, &version, DLF_MAX_VERSION_STR, "a dlfin version");
	dlf_free(version);
	if (st != DLF_OK)
		return st;
	TRY(codec_rd_u8(r, &m->task));
	TRY(codec_rd_u8(r, &m->activation));
	TRY(codec_rd_u8(r, &m->adverse));
	TRY(codec_rd_u8(r, &m->calibration));
	return codec_check_meta(r->c, m);
}

/* FEATURES: per feature name, kind, type, monotone, statistics, categories. */
static void
enc_features(DlfBuf *b, const DlfModel *m)
{
	codec_wr_u32(b, (uint32_t) m->nfeatures);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		codec_wr_str(b, ft->name);
		codec_wr_u8(b, ft->kind);
		codec_wr_u8(b, ft->sqltype);
		codec_wr_u8(b, (uint8_t) ft->monotone);
		codec_wr_f64(b, ft->mean);
		codec_wr_f64(b, ft->scale);
		codec_wr_f64(b, ft->missing_share);
		codec_wr_u32(b, (uint32_t) ft->ncat);
		for (int32_t k = 0; k < ft->ncat; k++)
			codec_wr_str(b, ft->categories[k]);
	}
}

/* Fixed part of an encoded feature plus its empty name. */
#define FEATURE_MIN_BYTES	(4 + 3 + 24 + 4)

/* Decodes FEATURES, bounding every count by the bytes that remain. */
static DlfStatus
dec_features(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(codec_rd_count(r, &n, DLF_MAX_FEATURES, FEATURE_MIN_BYTES, "features"));
	m->features = dlf_alloc_array((size_t) (n ? n : 1), sizeof(DlfFeature));
	if (m->features == NULL)
		return codec_nomem(r->c);
	m->nfeatures = n;
	for (int32_t f = 0; f < n; f++)
	{
		DlfFeature *ft = &m->features[f];
		uint8_t		mono;
		int32_t		ncat = 0;

		ft->importance = NAN;
		TRY(codec_rd_str(r, &ft->name, DLF_MAX_NAME, "a feature name"));
		TRY(codec_rd_u8(r, &ft->kind));
		TRY(codec_rd_u8(r, &ft->sqltype));
		TRY(codec_rd_u8(r, &mono));
		if (mono != 0 && mono != 1 && mono != 0xff)
			return codec_bad(r->c, "Feature %d has monotone code %u; it must be -1, 0 or 1.",
							 (int) f + 1, mono);
		ft->monotone = mono == 0xff ? -1 : (int8_t) mono;
		TRY(codec_rd_f64(r, &ft->mean));
		TRY(codec_rd_f64(r, &ft->scale));
		TRY(codec_rd_f64(r, &ft->missing_share));
		TRY(codec_rd_count(r, &ncat, DLF_MAX_CATEGORIES, 4, "categories"));
		if (ncat > 0)
		{
			ft->categories = dlf_alloc_array((size_t) ncat, sizeof(char *));
			if (ft->categories == NULL)
				return codec_nomem(r->c);
			ft->ncat = ncat;
			for (int32_t k = 0; k < ncat; k++)
				TRY(codec_rd_str(r, &ft->categories[k], DLF_MAX_NAME, "a category name"));
		}
	}
	return codec_check_features(r->c, m);
}

/* CLASSES: class names. */
static void
enc_classes(DlfBuf *b, const DlfModel *m)
{
	codec_wr_u32(b, (uint32_t) m->nclasses);
	for (int32_t k = 0; k < m->nclasses; k++)
		codec_wr_str(b, m->classes[k]);
}

/* Decodes CLASSES. */
static DlfStatus
dec_classes(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(codec_rd_count(r, &n, DLF_MAX_CLASSES, 4, "classes"));
	if (n > 0)
	{
		m->classes = dlf_alloc_array((size_t) n, sizeof(char *));
		if (m->classes == NULL)
			return codec_nomem(r->c);
		m->nclasses = n;
		for (int32_t k = 0; k < n; k++)
			TRY(codec_rd_str(r, &m->classes[k], DLF_MAX_NAME, "a class name"));
	}
	return codec_check_classes(r->c, m);
}

/* TARGET: regression target mean and scale. */
static void
enc_target(DlfBuf *b, const DlfModel *m)
{
	codec_wr_f64(b, m->target_mean);
	codec_wr_f64(b, m->target_scale);
}

/* Decodes TARGET. */
static DlfStatus
dec_target(Rd *r, DlfModel *m)
{
	TRY(codec_rd_f64(r, &m->target_mean));
	TRY(codec_rd_f64(r, &m->target_scale));
	return codec_check_target(r->c, m);
}

/* NETWORK: layer count, units, then weights and biases layer by layer. */
static void
enc_network(DlfBuf *b, const DlfModel *m)
{
	codec_wr_u32(b, (uint32_t) m->nlayers);
	for (int32_t l = 0; l <= m->nlayers; l++)
		codec_wr_u32(b, (uint32_t) m->units[l]);
	for (int32_t l = 0; l < m->nlayers; l++)
	{
		codec_wr_f32_array(b, m->weights[l],
						   (size_t) m->units[l] * (size_t) m->units[l + 1]);
		codec_wr_f32_array(b, m->biases[l], (size_t) m->units[l + 1]);
	}
}

/* Decodes NETWORK: shape first, then exactly the bytes it implies. */
static DlfStatus
dec_network(Rd *r, DlfModel *m)
{
	int32_t		n = 0;
	int64_t		params;

	TRY(codec_rd_count(r, &n, DLF_MAX_HIDDEN + 1, 8, "layers"));
	if (n < 1)
		return codec_bad(r->c, "The network has no layers.");
	m->units = dlf_alloc_array((size_t) n + 1, sizeof(int32_t));
	if (m->units == NULL)
		return codec_nomem(r->c);
	for (int32_t l = 0; l <= n; l++)
		TRY(codec_rd_int(r, &m->units[l], DLF_MAX_INPUTS, "a layer of size"));
	m->nlayers = n;
	TRY(codec_check_units(r->c, m));
	params = dlf_model_nparams(m);
	if ((uint64_t) params * 4 != (uint64_t) (r->len - r->pos))
		return codec_bad(r->c, "Section NETWORK needs %lld bytes for %lld parameters but has %zu.",
						 (long long) params * 4, (long long) params, r->len - r->pos);
	m->weights = dlf_alloc_array((size_t) n, sizeof(float *));
	m->biases = dlf_alloc_array((size_t) n, sizeof(float *));
	if (m->weights == NULL || m->biases == NULL)
		return codec_nomem(r->c);
	for (int32_t l = 0; l < n; l++)
	{
		TRY(codec_rd_f32_array(r, &m->weights[l],
							   (size_t) m->units[l] * (size_t) m->units[l + 1]));
		TRY(codec_rd_f32_array(r, &m->biases[l], (size_t) m->units[l + 1]));
	}
	return codec_check_network(r->c, m);
}

/* TRAINING: options, rows, epochs, best epoch and loss, loss history. */
static void
enc_training(DlfBuf *b, const DlfModel *m)
{
	codec_wr_str(b, m->options_json);
	codec_wr_u64(b, (uint64_t) m->rows_train);
	codec_wr_u64(b, (uint64_t) m->rows_valid);
	codec_wr_u32(b, (uint32_t) m->epochs_run);
	codec_wr_u32(b, (uint32_t) m->best_epoch);
	codec_wr_f64(b, m->best_valid_loss);
	codec_wr_u32(b, (uint32_t) m->nhistory);
	codec_wr_f32_array(b, m->train_loss, (size_t) m->nhistory);
	codec_wr_f32_array(b, m->valid_loss, (size_t) m->nhistory);
}

/* Decodes TRAINING. */
static DlfStatus
dec_training(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(codec_rd_str(r, &m->options_json, DLF_MAX_MODEL_BYTES, "an options text"));
	TRY(codec_rd_i64(r, &m->rows_train, "training row count"));
	TRY(codec_rd_i64(r, &m->rows_valid, "validation row count"));
	TRY(codec_rd_int(r, &m->epochs_run, DLF_MAX_EPOCHS, "epoch count"));
	TRY(codec_rd_int(r, &m->best_epoch, DLF_MAX_EPOCHS, "best epoch"));
	TRY(codec_rd_f64(r, &m->best_valid_loss));
	TRY(codec_rd_count(r, &n, DLF_MAX_HISTORY, 8, "history epochs"));
	if (n > 0)
	{
		TRY(codec_rd_f32_array(r, &m->train_loss, (size_t) n));
		TRY(codec_rd_f32_array(r, &m->valid_loss, (size_t) n));
		m->nhistory = n;
	}
	return codec_check_training(r->c, m);
}

/* METRICS: validation metric names and values. */
static void
enc_metrics(DlfBuf *b, const DlfModel *m)
{
	codec_wr_u32(b, (uint32_t) m->nmetrics);
	for (int32_t i = 0; i < m->nmetrics; i++)
	{
		codec_wr_str(b, m->metric_names[i]);
		codec_wr_f64(b, m->metric_values[i]);
	}
}

/* Decodes METRICS. */
static DlfStatus
dec_metrics(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(codec_rd_count(r, &n, DLF_MAX_METRICS, 12, "metrics"));
	if (n > 0)
	{
		m->metric_names = dlf_alloc_array((size_t) n, sizeof(char *));
		m->metric_values = dlf_alloc_array((size_t) n, sizeof(double));
		if (m->metric_names == NULL || m->metric_values == NULL)
			return codec_nomem(r->c);
		m->nmetrics = n;
		for (int32_t i = 0; i < n; i++)
		{
			TRY(codec_rd_str(r, &m->metric_names[i], DLF_MAX_NAME, "a metric name"));
			TRY(codec_rd_f64(r, &m->metric_values[i]));
		}
	}
	return codec_check_metrics(r->c, m);
}

/* EXPLAIN: per feature importance and optional adverse-action reason. */
static void
enc_explain(DlfBuf *b, const DlfModel *m)
{
	codec_wr_u32(b, (uint32_t) m->nfeatures);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		codec_wr_f64(b, ft->importance);
		codec_wr_u8(b, ft->reason ? 1 : 0);
		if (ft->reason)
			codec_wr_str(b, ft->reason);
	}
}

/* Decodes EXPLAIN into the features decoded before. */
static DlfStatus
dec_explain(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(codec_rd_count(r, &n, DLF_MAX_FEATURES, 9, "features"));
	if (n != m->nfeatures)
		return codec_bad(r->c, "Section EXPLAIN describes %d features but the model has %d.",
						 (int) n, (int) m->nfeatures);
	for (int32_t f = 0; f < n; f++)
	{
		DlfFeature *ft = &m->features[f];
		uint8_t		has;

		TRY(codec_rd_f64(r, &ft->importance));
		TRY(codec_rd_u8(r, &has));
		if (has > 1)
			return codec_bad(r->c, "Section EXPLAIN has reason flag %u; it must be 0 or 1.",
							 has);
		if (has)
			TRY(codec_rd_str(r, &ft->reason, DLF_MAX_NAME, "a reason text"));
	}
	return codec_check_explain(r->c, m);
}

/* CALIBRATION: Platt a and b, isotonic points, ECE before and after. */
static void
enc_calibration(DlfBuf *b, const DlfModel *m)
{
	codec_wr_f64(b, m->platt_a);
	codec_wr_f64(b, m->platt_b);
	codec_wr_u32(b, (uint32_t) m->niso);
	for (int32_t i = 0; i < m->niso; i++)
		codec_wr_f64(b, m->iso_x[i]);
	for (int32_t i = 0; i < m->niso; i++)
		codec_wr_f64(b, m->iso_y[i]);
	codec_wr_f64(b, m->ece_before);
	codec_wr_f64(b, m->ece_after);
}

/* Decodes CALIBRATION. */
static DlfStatus
dec_calibration(Rd *r, DlfModel *m)
{
	int32_t		n = 0;

	TRY(codec_rd_f64(r, &m->platt_a));
	TRY(codec_rd_f64(r, &m->platt_b));
	TRY(codec_rd_count(r, &n, DLF_MAX_ISO, 16, "isotonic points"));
	if (n > 0)
	{
		TRY(codec_rd_f64_array(r, &m->iso_x, n));
		TRY(codec_rd_f64_array(r, &m->iso_y, n));
		m->niso = n;
	}
	TRY(codec_rd_f64(r, &m->ece_before));
	TRY(codec_rd_f64(r, &m->ece_after));
	return codec_check_calibration(r->c, m);
}

/* Writes a histogram: nbins, edges (numeric only), shares. */
static void
enc_hist(DlfBuf *b, const DlfHistogram *h, int numeric)
{
	codec_wr_u32(b, (uint32_t) h->nbins);
	if (numeric)
		for (int32_t i = 0; i < h->nbins - 1; i++)
			codec_wr_f64(b, h->edges[i]);
	for (int32_t i = 0; i < h->nbins; i++)
		codec_wr_f64(b, h->share[i]);
}

/* Reads a histogram; catbins < 0 for numeric, else the required bins. */
static DlfStatus
dec_hist(Rd *r, DlfHistogram *h, int64_t catbins)
{
	int32_t		n = 0;

	TRY(codec_rd_count(r, &n, catbins >= 0 ? DLF_MAX_CATEGORIES + 2 : DLF_MAX_BINS,
					   8, "histogram bins"));
	if (n == 0)
		return DLF_OK;
	if (catbins >= 0 && n != catbins)
		return codec_bad(r->c, "A categorical histogram has %d bins instead of %lld.",
						 (int) n, (long long) catbins);
	if (catbins < 0)
		TRY(codec_rd_f64_array(r, &h->edges, n - 1));
	TRY(codec_rd_f64_array(r, &h->share, n));
	h->nbins = n;
	return DLF_OK;
}

/* DISTRIBUTIONS: score histogram, then one histogram per feature. */
static void
enc_distributions(DlfBuf *b, const DlfModel *m)
{
	enc_hist(b, &m->score_dist, 1);
	codec_wr_u32(b, (uint32_t) m->nfeatures);
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
	TRY(codec_rd_count(r, &n, DLF_MAX_FEATURES, 4, "features"));
	if (n != m->nfeatures)
		return codec_bad(r->c, "Section DISTRIBUTIONS describes %d features but the model has %d.",
						 (int) n, (int) m->nfeatures);
	for (int32_t f = 0; f < n; f++)
	{
		DlfFeature *ft = &m->features[f];

		TRY(dec_hist(r, &ft->dist, ft->kind == DLF_FEAT_CATEGORICAL ?
					 (int64_t) ft->ncat + 2 : -1));
	}
	return codec_check_distributions(r->c, m);
}
/* ---- top level ---------------------------------------------------------- */
/* Encodes one section: tag, length placeholder, payload, patched length. */
static void
enc_section(DlfBuf *b, uint16_t tag, const DlfModel *m)
{
	size_t		at;

	codec_wr_u16(b, tag);
	at = b->len;
	codec_wr_u32(b, 0);
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
		case SEC_SKIP:
			codec_enc_skip(b, m);
			break;
		case SEC_ENSEMBLE:
			codec_enc_ensemble(b, m);
			break;
		case SEC_WOE:
			codec_enc_woe(b, m);
			break;
	}
	if (!b->failed && b->len - at - 4 <= UINT32_MAX)
		codec_put_u32(b->data + at, (uint32_t) (b->len - at - 4));
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
		case SEC_SKIP:
			return codec_dec_skip(r, m);
		case SEC_ENSEMBLE:
			return codec_dec_ensemble(r, m);
		case SEC_WOE:
			return codec_dec_woe(r, m);
	}
	return codec_bad(r->c, "Unknown section tag %u.", tag);
}

/* Serialises a validated model; the output is a pure function of m. */
DlfStatus
dlf_model_encode(const DlfModel *m, uint8_t **out, size_t *outlen,
				 DlfError *err)
{
	Ctx			c;
	DlfBuf		b;
	uint16_t	nsec;

	c.err = err;
	c.code = DLF_ERR_INVALID;
	c.message = "cannot encode an invalid dlfin model";
	c.version = 0;
	*out = NULL;
	*outlen = 0;
	if (m == NULL)
		return codec_bad(&c, "No model was given.");
	TRY(codec_check_model(&c, m));
	TRY(codec_check_ensemble(&c, m));
	TRY(codec_check_skip(&c, m));
	TRY(codec_check_woe(&c, m));

	/* one network: version 1, the bytes every dlfin reads */
	nsec = version_sections(codec_format_version(m));
	dlf_buf_init(&b);
	dlf_buf_append(&b, DLF_MODEL_MAGIC, 8);
	codec_wr_u16(&b, codec_format_version(m));
	codec_wr_u16(&b, 0);
	codec_wr_u32(&b, 0);
	codec_wr_u32(&b, 0);
	for (uint16_t tag = 1; tag <= nsec; tag++)
	{
		enc_section(&b, tag, m);
		if (b.len > DLF_MAX_MODEL_BYTES)
			break;
	}
	if (b.failed)
	{
		dlf_buf_free(&b);
		return codec_nomem(&c);
	}
	if (b.len > DLF_MAX_MODEL_BYTES)
	{
		dlf_buf_free(&b);
		dlf_fail(err, DLF_ERR_LIMIT, "dlfin model is too large");
		dlf_detail(err, "The encoded model would exceed %zu bytes.",
				   (size_t) DLF_MAX_MODEL_BYTES);
		return DLF_ERR_LIMIT;
	}
	codec_put_u32(b.data + 12, (uint32_t) b.len);
	codec_put_u32(b.data + 16, dlf_crc32(b.data + DLF_HEADER_SIZE,
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
		return codec_bad(c, "The model is truncated: the header needs %d bytes but %zu are present.",
						 DLF_HEADER_SIZE, len);
	if (memcmp(buf, DLF_MODEL_MAGIC, 8) != 0)
		return codec_bad(c, "The value does not start with the dlfin model signature.");
	version = codec_get_u16(buf + 8);
	if (version == 0)
		return codec_bad(c, "Format version 0 is not valid.");
	if (version > DLF_FORMAT_VERSION)
		return codec_bad(c, "Format version %u is newer than this dlfin supports (%d).",
						 version, DLF_FORMAT_VERSION);
	flags = codec_get_u16(buf + 10);
	if (flags != 0)
		return codec_bad(c, "Header flags 0x%04x are not supported.", flags);
	total = codec_get_u32(buf + 12);
	if (total != len)
		return codec_bad(c, "The length field says %u bytes but the value has %zu bytes.",
						 total, len);
	if (len > DLF_MAX_MODEL_BYTES)
		return codec_bad(c, "The model has %zu bytes, more than the limit of %zu.",
						 len, (size_t) DLF_MAX_MODEL_BYTES);
	crc = codec_get_u32(buf + 16);
	actual = dlf_crc32(buf + DLF_HEADER_SIZE, len - DLF_HEADER_SIZE);
	if (crc != actual)
		return codec_bad(c, "The checksum does not match: the header says %08x but the content gives %08x.",
						 crc, actual);
	return DLF_OK;
}

/* Walks the sections in their fixed order and decodes each one. */
static DlfStatus
decode_sections(Ctx *c, const uint8_t *buf, size_t len, DlfModel *m)
{
	size_t		pos = DLF_HEADER_SIZE;
	uint16_t	nsec = version_sections(codec_get_u16(buf + 8));

	for (uint16_t tag = 1; tag <= nsec; tag++)
	{
		uint16_t	t;
		uint32_t	slen;
		Rd			r;

		if (len - pos < 6)
			return codec_bad(c, "The model is truncated: section %s needs a 6-byte header but %zu bytes remain.",
							 section_names[tag], len - pos);
		t = codec_get_u16(buf + pos);
		slen = codec_get_u32(buf + pos + 2);
		if (t != tag)
		{
			if (t == 0 || t > nsec)
				return codec_bad(c, "Unknown section tag %u at offset %zu.", t, pos);
			if (t < tag)
				return codec_bad(c, "Section %s appears twice or out of order.",
								 section_names[t]);
			return codec_bad(c, "Required section %s is missing.", section_names[tag]);
		}
		pos += 6;
		if (slen > len - pos)
			return codec_bad(c, "The model is truncated: section %s needs %u bytes but %zu remain.",
							 section_names[tag], slen, len - pos);
		r.p = buf + pos;
		r.len = slen;
		r.pos = 0;
		r.sect = section_names[tag];
		r.c = c;
		TRY(dec_section(&r, tag, m));
		if (r.pos != r.len)
			return codec_bad(c, "Section %s has %zu unexpected bytes at its end.",
							 section_names[tag], r.len - r.pos);
		pos += slen;
	}
	if (pos != len)
		return codec_bad(c, "There are %zu trailing bytes after the last section.",
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
	c.version = codec_get_u16(buf + 8);
	m = dlf_model_new();
	if (m == NULL)
		return codec_nomem(&c);
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
		codec_get_u16(bytes + DLF_HEADER_SIZE) != SEC_META)
		return 0;
	*format_version = codec_get_u16(bytes + 8);
	*crc = codec_get_u32(bytes + 16);
	n = codec_get_u32(bytes + DLF_HEADER_SIZE + 6);
	if (n > nbytes - vpos || n >= versionsize ||
		!dlf_utf8_valid((const char *) bytes + vpos, n))
		return 0;
	memcpy(version, bytes + vpos, n);
	version[n] = '\0';
	return 1;
}
