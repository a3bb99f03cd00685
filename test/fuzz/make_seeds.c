/*
 * make_seeds.c
 *	  Writes valid models of different shapes as the fuzz seed corpus.
 *
 *	  make_seeds DIR
 */
#include <stdio.h>
#include <stdlib.h>

#include "dlfin_core.h"
#include "fixtures.h"

/* Encodes a model into DIR/NAME.model. */
static int
write_seed(const char *dir, const char *name, DlfModel *m)
{
	uint8_t    *buf = NULL;
	size_t		len = 0;
	DlfError	err;
	char		path[1024];
	FILE	   *f;

	if (dlf_model_encode(m, &buf, &len, &err) != DLF_OK)
	{
		fprintf(stderr, "%s: %s: %s\n", name, err.message, err.detail);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s.model", dir, name);
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
		fprintf(stderr, "usage: make_seeds DIR\n");
		return 2;
	}
	rc |= write_seed(argv[1], "binary_platt", fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_PLATT, 4));
	rc |= write_seed(argv[1], "binary_isotonic", fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_ISOTONIC, 3));
	rc |= write_seed(argv[1], "binary_minimal", fx_model(DLF_TASK_BINARY, 0, 0, 2));
	rc |= write_seed(argv[1], "multiclass_full", fx_model(DLF_TASK_MULTICLASS, 1, 0, 5));
	rc |= write_seed(argv[1], "multiclass_linear", fx_model(DLF_TASK_MULTICLASS, 0, 0, 0));
	rc |= write_seed(argv[1], "regression_full", fx_model(DLF_TASK_REGRESSION, 1, 0, 3));
	rc |= write_seed(argv[1], "regression_minimal", fx_model(DLF_TASK_REGRESSION, 0, 0, 1));
	return rc;
}
