/*
 * names.c
 *	  Feature names: settling the names a training call gives its features
 *	  (from the argument expressions, with f1..fn as the fallback), and
 *	  matching a model's features to named columns for the row form of the
 *	  scoring functions.
 *
 * Both run once per query, not per row: plain loops over at most
 * DLF_MAX_FEATURES names are fast enough and need no allocation.
 */
#include "dlfin_codec.h"

#include <stdio.h>
#include <string.h>

/* Whether s equals one of the n settled names (NULL entries skipped). */
static int
taken(char *const *out, int32_t n, const char *s)
{
	for (int32_t i = 0; i < n; i++)
		if (out[i] != NULL && strcmp(out[i], s) == 0)
			return 1;
	return 0;
}

/* Whether candidate i can stand as a name as it is. */
static int
usable(const char *s)
{
	size_t		len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	return len > 0 && len <= DLF_MAX_NAME && dlf_utf8_valid(s, len);
}

/*
 * Settles the names of n features from candidates (cand[i] may be NULL).
 * A usable candidate (non-empty, at most DLF_MAX_NAME bytes, valid UTF-8)
 * keeps its name unless an earlier feature has it; every other feature is
 * named by position, "f<i>" (1-based), or "f<i>_<k>" with the smallest k
 * >= 2 that is free.  Real names are settled first, so a fallback never
 * takes a name a later column has.  out[i] are new strings from dlf_alloc.
 */
DlfStatus
dlf_settle_feature_names(const char *const *cand, int32_t n, char **out,
						 DlfError *err)
{
	char		buf[64];

	for (int32_t i = 0; i < n; i++)
		out[i] = NULL;
	for (int32_t i = 0; i < n; i++)
	{
		if (!usable(cand[i]) || taken(out, i, cand[i]))
			continue;
		out[i] = dlf_strndup(cand[i], strlen(cand[i]));
		if (out[i] == NULL)
			goto nomem;
	}
	for (int32_t i = 0; i < n; i++)
	{
		if (out[i] != NULL)
			continue;
		snprintf(buf, sizeof(buf), "f%d", (int) i + 1);
		for (int k = 2; taken(out, n, buf); k++)
			snprintf(buf, sizeof(buf), "f%d_%d", (int) i + 1, k);
		out[i] = dlf_strndup(buf, strlen(buf));
		if (out[i] == NULL)
			goto nomem;
	}
	return DLF_OK;

nomem:
	for (int32_t i = 0; i < n; i++)
	{
		dlf_free(out[i]);
		out[i] = NULL;
	}
	return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
}

/*
 * Maps each feature of m to the column of the same name (exact, byte for
 * byte): map[f] receives its index in cols, where NULL entries (dropped
 * columns) never match.  Returns DLF_MATCH_OK, or why feature *feature
 * (the first that fails) has no single column.
 */
DlfMatch
dlf_match_features(const DlfModel *m, const char *const *cols, int32_t ncols,
				   int32_t *map, int32_t *feature)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		const char *name = m->features[f].name;

		map[f] = -1;
		for (int32_t c = 0; c < ncols; c++)
		{
			if (cols[c] == NULL || strcmp(cols[c], name) != 0)
				continue;
			if (map[f] >= 0)
			{
				*feature = f;
				return DLF_MATCH_AMBIGUOUS;
			}
			map[f] = c;
		}
		if (map[f] < 0)
		{
			*feature = f;
			return DLF_MATCH_MISSING;
		}
	}
	return DLF_MATCH_OK;
}
