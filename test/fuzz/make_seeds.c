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

/* Makes m an ensemble of k members (copies of its network, scaled). */
static DlfModel *
with_members(DlfModel *m, int32_t k)
{
	size_t		n = (size_t) (k - 1) * m->nlayers;

	m->mweights = dlf_alloc0(n * sizeof(float *));
	m->mbiases = dlf_alloc0(n * sizeof(float *));
	m->nmembers = k;
	for (int32_t e = 1; e < k; e++)
		for (int32_t l = 0; l < m->nlayers; l++)
		{
			size_t		nw = (size_t) m->units[l] * m->units[l + 1];
			size_t		i = (size_t) (e - 1) * m->nlayers + l;

			m->mweights[i] = dlf_alloc_array(nw, sizeof(float));
			m->mbiases[i] = dlf_alloc_array(m->units[l + 1], sizeof(float));
			for (size_t j = 0; j < nw; j++)
				m->mweights[i][j] = m->weights[l][j] * (1.0f + 0.1f * e);
			for (int32_t j = 0; j < m->units[l + 1]; j++)
				m->mbiases[i][j] = m->biases[l][j] - 0.05f * e;
		}
	return m;
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
	rc |= write_seed(argv[1], "binary_ensemble", with_members(fx_model(DLF_TASK_BINARY, 1, DLF_CALIB_PLATT, 4), 3));
	rc |= write_seed(argv[1], "multiclass_ensemble", with_members(fx_model(DLF_TASK_MULTICLASS, 0, 0, 0), 2));
	return rc;
}
