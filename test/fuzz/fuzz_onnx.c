/*
 * fuzz_onnx.c
 *	  libFuzzer harness for ONNX import (the protobuf decoder and the graph
 *	  reader).
 *
 * Each input is imported with no options, with options naming the
 * features, and with options declaring number, text (its one-hot outside
 * the graph, "other" and "missing" naming categories) and boolean features
 * over seven network inputs.  An accepted model must encode as dlfin model bytes, score a
 * row and export back to ONNX; a refusal must be a corrupt, invalid or
 * limit error with a message.  Every allocation is capped, the live total
 * must stay within a multiple of the input size plus a fixed amount (the
 * vocabulary of a forged OneHot depth), and nothing may leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlfin_onnx.h"

#define CAP_SINGLE	((size_t) 16 * 1024 * 1024)

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
	size_t	   *p;

	if (ptr == NULL)
		return;
	p = (size_t *) ((char *) ptr - 16);
	live_bytes -= p[0];
	free(p);
}

/* Checks what an accepted model must do: encode, score, export. */
static void
use_model(DlfModel *m)
{
	uint8_t    *bytes = NULL;
	size_t		len = 0;
	DlfError	err;
	DlfStatus	st;
	DlfScorer  *s;
	double		out[DLF_MAX_CLASSES + 1];

	st = dlf_model_encode(m, &bytes, &len, &err);
	dlf_free(bytes);
	if (st != DLF_OK)
		return;					/* the glue reports it (22023) */
	s = dlf_scorer_new(m, &err);
	if (s == NULL)
	{
		if (err.code != DLF_ERR_NOMEM)
			__builtin_trap();	/* encodable but not scorable */
		return;
	}
	dlf_scorer_reset(s);
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (m->features[f].kind == DLF_FEAT_CATEGORICAL)
			dlf_scorer_set_category(s, f, "x", 1, f % 2);
		else
			dlf_scorer_set_numeric(s, f, 0.5, f % 2);
	dlf_scorer_run(s, out);
	dlf_scorer_free(s);
	bytes = NULL;
	st = dlf_onnx_export(m, NULL, &bytes, &len, &err);
	if (st != DLF_OK && st != DLF_ERR_NOMEM && st != DLF_ERR_INVALID)
		__builtin_trap();
	dlf_free(bytes);
}

/* Imports one buffer with the given options. */
static void
check_one(const uint8_t *data, size_t size, const DlfOnnxOptions *opt)
{
	DlfModel   *m = NULL;
	DlfError	err;
	DlfStatus	st;

	err.message[0] = '\0';
	peak_bytes = live_bytes;
	st = dlf_onnx_import(data, size, opt, &m, &err);
	if (peak_bytes - live_bytes > 64 * size + 4 * 1024 * 1024)
		__builtin_trap();		/* allocation out of proportion */
	if (st != DLF_OK)
	{
		if (m != NULL || err.message[0] == '\0' ||
			(st != DLF_ERR_CORRUPT && st != DLF_ERR_INVALID &&
			 st != DLF_ERR_LIMIT && st != DLF_ERR_NOMEM))
			__builtin_trap();
		return;
	}
	use_model(m);
	dlf_model_free(m);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	ready = 0;
	static char *names[] = {"a", "b", "c", "d", "e", "f"};
	static char *cats[] = {"own", "rent", "parents", "other"};
	static char **catv[] = {NULL, NULL, cats, NULL};
	static uint8_t types[] = {DLF_SQL_NUMBER, DLF_SQL_NUMBER, DLF_SQL_TEXT, DLF_SQL_BOOL};
	static int32_t ncat[] = {0, 0, 4, 0};
	static int32_t other[] = {-1, -1, 3, -1};
	static int32_t missing[] = {-1, -1, 2, -1};
	static double mean[] = {1.0, 2.0, 0.0};
	static double scale[] = {2.0, 4.0, 1.0};
	DlfOnnxOptions none;
	DlfOnnxOptions some;
	DlfOnnxOptions text;
	size_t		before;

	if (!ready)
	{
		dlf_set_allocator(fz_alloc, fz_free);
		ready = 1;
	}
	memset(&none, 0, sizeof(none));
	memset(&some, 0, sizeof(some));
	some.nfeatures = 2;
	some.names = names;
	some.task = DLF_TASK_BINARY;
	memset(&text, 0, sizeof(text));
	text.nfeatures = 4;
	text.names = names;
	text.sqltypes = types;
	text.ncat = ncat;
	text.categories = catv;
	text.other = other;
	text.missing = missing;
	text.nmean = text.nscale = 3;
	text.mean = mean;
	text.scale = scale;
	before = live_bytes;
	check_one(data, size, &none);
	check_one(data, size, &some);
	check_one(data, size, &text);
	if (live_bytes != before)
		__builtin_trap();		/* leak */
	return 0;
}
