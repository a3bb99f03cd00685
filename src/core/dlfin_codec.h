/*
 * dlfin_codec.h
 *	  Internal helpers shared by the model codec (codec.c) and the model
 *	  description (info.c).  Not part of the core's public interface.
 */
#ifndef DLFIN_CODEC_H
#define DLFIN_CODEC_H

#include "dlfin_core.h"

#define DLF_MODEL_MAGIC		"DLFINMDL"
#define DLF_HEADER_SIZE		20	/* magic 8, version 2, flags 2, length 4,
								 * crc 4 */
#define DLF_MAX_ISO			(1024 * 1024)	/* isotonic calibration points */
#define DLF_MAX_BINS		4096	/* bins of a numeric histogram */
#define DLF_MAX_VERSION_STR	64	/* bytes of the dlfin version string */
#define DLF_MAX_JSON_DEPTH	64	/* nesting of options_json */

/* Nonzero when s[0..len) is well-formed UTF-8 without NUL bytes. */
int			dlf_utf8_valid(const char *s, size_t len);

/* Nonzero when s[0..len) is exactly one strict RFC 8259 JSON object. */
int			dlf_json_object_valid(const char *s, size_t len);

/*
 * Reads the header fields and the dlfin version string of model bytes that
 * dlf_model_decode accepted.  Returns nonzero on success; the version is
 * copied NUL-terminated into version (at least DLF_MAX_VERSION_STR + 1).
 */
int			dlf_model_peek(const uint8_t *bytes, size_t nbytes,
						   uint16_t *format_version, uint32_t *crc,
						   char *version, size_t versionsize);

#endif							/* DLFIN_CODEC_H */
