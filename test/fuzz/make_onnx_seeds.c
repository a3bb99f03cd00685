/*
 * make_onnx_seeds.c
 *	  Writes ONNX exports of the fixture models as the seed corpus of
 *	  fuzz_onnx (test/fuzz/corpus_onnx/ also holds small PyTorch exports).
 *
 *	  make_onnx_seeds DIR
 */
#include <stdio.h>
#include <stdlib.h>

#include "dlfin_onnx.h"
#include "fixtures.h"

/* Exports a model into DIR/NAME.onnx. */
static int
write_seed(const char *dir, const char *name, DlfModel *m)
{
	uint8_t    *buf = NULL;
	size_t		len = 0;
	DlfError	err;
	char		path[1024];
	FILE	   *f;

	if (dlf_onnx_export(m, NULL, &buf, &len, &err) != DLF_OK)
	{
		fprintf(stderr, "%s: %s: %s\n", name, err.message, err.detail);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s.onnx", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		return 1;
	}
	dlf_free(buf);
	dlf_model_free(m);
	return 0;
}

int
main(int argc, char **argv)
{
	int			rc = 0;

	if (argc != 2)
	{
		fprintf(stderr, "usage: make_onnx_seeds DIR\n");
		return 2;
	}
	rc |= write_seed(argv[1], "dlfin_binary_platt", fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_PLATT, 4));
	rc |= write_seed(argv[1], "dlfin_binary_isotonic", fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_ISOTONIC, 3));
	rc |= write_seed(argv[1], "dlfin_multiclass", fx_model(DLF_TASK_MULTICLASS, 1, 0, 5));
	rc |= write_seed(argv[1], "dlfin_regression", fx_model(DLF_TASK_REGRESSION, 0, 0, 1));
	return rc;
}
