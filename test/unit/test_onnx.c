/*
 * test_onnx.c
 *	  Unit tests of the protobuf layer and of ONNX export and import: wire
 *	  primitives, malformed bytes, export -> import of every fixture model
 *	  to the very same scores, and every truncation and byte flip of an
 *	  export refused or read (to the same scores, for a truncation)
 *	  without touching memory it does not own
 *	  (run under ASan by make unittest-sanitize).
 */
#include <string.h>

#include "dlfin_onnx.h"
#include "protobuf.h"
#include "tap.h"
#include "fixtures.h"

/* Writes and reads back varints at the edges of their lengths. */
static void
test_varints(void)
{
	static const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384,
	UINT64_C(1) << 35, UINT64_MAX};
	DlfBuf		b;
	const uint8_t *p;
	int			good = 1;

	dlf_buf_init(&b);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		pb_varint(&b, vals[i]);
	p = b.data;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
	{
		uint64_t	v;

		good &= pb_read_varint(&p, b.data + b.len, &v) == 0 && v == vals[i];
	}
	ok(good && p == b.data + b.len, "varints round-trip");
	dlf_buf_free(&b);
}

/* Nested messages get their length prefix; malformed bytes are refused. */
static void
test_messages(void)
{
	DlfBuf		b;
	PbReader	r,
				in;
	PbField		f;
	size_t		mark;
	static const uint8_t trunc_varint[] = {0x08, 0x80};
	static const uint8_t long_len[] = {0x0a, 0x05, 'a'};
	static const uint8_t group[] = {0x0b};
	static const uint8_t field0[] = {0x00, 0x01};
	static const uint8_t eleven[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0x01};

	dlf_buf_init(&b);
	mark = pb_begin(&b, 7);
	for (int i = 0; i < 100; i++)
		pb_str(&b, 1, "name");	/* 600 bytes: a two-byte length */
	pb_end(&b, mark);
	pb_float(&b, 2, 1.5f);
	pb_reader_init(&r, b.data, b.len);
	ok(pb_next(&r, &f) == 1 && f.field == 7 && f.wire == PB_LEN && f.len == 600,
	   "nested message with a two-byte length");
	pb_reader_init(&in, f.data, f.len);
	ok(pb_next(&in, &f) == 1 && f.len == 4 && memcmp(f.data, "name", 4) == 0,
	   "its first field");
	ok(pb_next(&r, &f) == 1 && f.wire == PB_FIXED32 && pb_as_float(&f) == 1.5f,
	   "a float after it");
	ok(pb_next(&r, &f) == 0, "end of message");
	dlf_buf_free(&b);

	pb_reader_init(&r, trunc_varint, sizeof(trunc_varint));
	ok(pb_next(&r, &f) == -1, "truncated varint refused");
	pb_reader_init(&r, long_len, sizeof(long_len));
	ok(pb_next(&r, &f) == -1, "length beyond the end refused");
	pb_reader_init(&r, group, sizeof(group));
	ok(pb_next(&r, &f) == -1, "group wire type refused");
	pb_reader_init(&r, field0, sizeof(field0));
	ok(pb_next(&r, &f) == -1, "field number 0 refused");
	pb_reader_init(&r, eleven, sizeof(eleven));
	ok(pb_next(&r, &f) == -1, "eleven-byte varint refused");
}

/* Loads one row into a scorer: variant 0 values, 1 NULLs, 2 unseen. */
static void
load_row(const DlfModel *m, DlfScorer *s, int variant)
{
	dlf_scorer_reset(s);
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const DlfFeature *ft = &m->features[f];

		if (ft->kind == DLF_FEAT_CATEGORICAL)
		{
			const char *v = variant == 2 || ft->ncat == 0 ? "unseen" :
				ft->categories[f % ft->ncat];

			dlf_scorer_set_category(s, f, v, strlen(v), variant == 1);
		}
		else
			dlf_scorer_set_numeric(s, f, ft->mean + (f + 1) * ft->scale * 0.7,
								   variant == 1);
	}
}

/* Whether two models give the same outputs, bit for bit, on three rows. */
static int
same_scores(const DlfModel *a, const DlfModel *b)
{
	DlfError	err;
	DlfScorer  *sa = dlf_scorer_new(a, &err);
	DlfScorer  *sb = dlf_scorer_new(b, &err);
	double		oa[8],
				ob[8];
	int			same = sa && sb && a->units[a->nlayers] == b->units[b->nlayers];

	for (int v = 0; v < 3 && same; v++)
	{
		load_row(a, sa, v);
		load_row(b, sb, v);
		dlf_scorer_run(sa, oa);
		dlf_scorer_run(sb, ob);
		for (int32_t k = 0; k < a->units[a->nlayers]; k++)
			same &= oa[k] == ob[k];
	}
	dlf_scorer_free(sa);
	dlf_scorer_free(sb);
	return same;
}

/* Export -> import of a fixture gives the same scores; then hostile bytes. */
static void
test_round_trip(const char *name, DlfModel *m, int hostile)
{
	uint8_t    *bytes = NULL;
	size_t		len = 0;
	DlfModel   *back = NULL;
	DlfError	err;
	DlfOnnxOptions opt;
	int			refused = 1,
				flips = 1;

	memset(&opt, 0, sizeof(opt));
	ok(dlf_onnx_export(m, "00ff", &bytes, &len, &err) == DLF_OK, "%s: exports", name);
	ok(dlf_onnx_import(bytes, len, &opt, &back, &err) == DLF_OK, "%s: imports (%s %s)",
	   name, back ? "" : err.message, back ? "" : err.detail);
	ok(back && same_scores(m, back), "%s: the same scores", name);
	ok(back && back->calibration == m->calibration && back->niso == m->niso &&
	   back->nclasses == m->nclasses && back->task == m->task,
	   "%s: the same task, classes and calibration", name);
	dlf_model_free(back);
	if (hostile)
	{
		/*
		 * Protobuf has no end marker: a prefix that ends between two of the
		 * last metadata entries is a valid model.  Every other prefix must
		 * be refused, and a valid one must score as the whole.
		 */
		for (size_t n = 0; n < len; n++)
		{
			back = NULL;
			if (dlf_onnx_import(bytes, n, &opt, &back, &err) == DLF_OK &&
				!same_scores(m, back))
				refused = 0;
			dlf_model_free(back);
		}
		ok(refused, "%s: every truncation is refused or scores the same", name);
		/* a flipped byte gives an error or a valid model */
		for (size_t i = 0; i < len; i++)
		{
			DlfStatus	st;

			bytes[i] ^= 0x5a;
			back = NULL;
			st = dlf_onnx_import(bytes, len, &opt, &back, &err);
			if (st != DLF_OK && st != DLF_ERR_CORRUPT && st != DLF_ERR_INVALID &&
				st != DLF_ERR_LIMIT)
				flips = 0;
			if ((st == DLF_OK) != (back != NULL))
				flips = 0;
			dlf_model_free(back);
			bytes[i] ^= 0x5a;
		}
		ok(flips, "%s: every byte flip gives an error or a model", name);
	}
	dlf_free(bytes);
	dlf_model_free(m);
}

int
main(void)
{
	test_varints();
	test_messages();
	test_round_trip("binary platt", fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_PLATT, 4), 1);
	test_round_trip("binary isotonic", fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_ISOTONIC, 3), 0);
	test_round_trip("binary minimal", fx_model(DLF_TASK_BINARY, 0, 0, 2), 0);
	test_round_trip("multiclass full", fx_model(DLF_TASK_MULTICLASS, 1, 0, 5), 1);
	test_round_trip("multiclass linear", fx_model(DLF_TASK_MULTICLASS, 0, 0, 0), 0);
	test_round_trip("regression full", fx_model(DLF_TASK_REGRESSION, 1, 0, 3), 0);
	test_round_trip("regression minimal", fx_model(DLF_TASK_REGRESSION, 0, 0, 1), 0);
	return done_testing();
}
