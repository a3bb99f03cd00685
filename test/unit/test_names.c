/*
 * test_names.c
 *	  Unit tests of feature names: settling the names of a training call
 *	  (fallbacks, duplicates, limits, invalid UTF-8, allocation failure) and
 *	  matching a model's features to named columns.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlfin_core.h"
#include "tap.h"

static long fail_after = -1;	/* >= 0: allocations left before failing */

/* malloc that can be told to fail. */
static void *
test_alloc(size_t size)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return malloc(size);
}

/* Settles n candidates and returns whether out matches want (n strings). */
static int
settles_to(const char *const *cand, int32_t n, const char *const *want)
{
	char	   *out[16];
	DlfError	err;
	int			same = 1;

	if (dlf_settle_feature_names(cand, n, out, &err) != DLF_OK)
		return 0;
	for (int32_t i = 0; i < n; i++)
	{
		if (strcmp(out[i], want[i]) != 0)
		{
			printf("#   name %d: got \"%s\", expected \"%s\"\n", (int) i + 1,
				   out[i], want[i]);
			same = 0;
		}
		dlf_free(out[i]);
	}
	return same;
}

/* Tests of dlf_settle_feature_names. */
static void
test_settle(void)
{
	char		longname[DLF_MAX_NAME + 2];
	char		maxname[DLF_MAX_NAME + 1];
	char	   *out[3];
	DlfError	err;

	{
		const char *cand[] = {"income", "age", "region"};

		ok(settles_to(cand, 3, cand), "column names are kept");
	}
	{
		const char *cand[] = {NULL, NULL, NULL};
		const char *want[] = {"f1", "f2", "f3"};

		ok(settles_to(cand, 3, want), "no candidates: f1..fn");
	}
	{
		const char *cand[] = {"income", NULL, "", "age"};
		const char *want[] = {"income", "f2", "f3", "age"};

		ok(settles_to(cand, 4, want), "missing and empty candidates fall back by position");
	}
	{
		const char *cand[] = {"income", "income", "age", "income"};
		const char *want[] = {"income", "f2", "age", "f4"};

		ok(settles_to(cand, 4, want), "a repeated name falls back; the first keeps it");
	}
	{
		/* feature 1 would be "f1", but a later column has that name */
		const char *cand[] = {NULL, "f1", "f2"};
		const char *want[] = {"f1_2", "f1", "f2"};

		ok(settles_to(cand, 3, want), "a fallback never takes a later column's name");
	}
	{
		const char *cand[] = {NULL, "f1", "f1_2"};
		const char *want[] = {"f1_3", "f1", "f1_2"};

		ok(settles_to(cand, 3, want), "the suffix counts up until the name is free");
	}
	{
		const char *cand[] = {"caf\xc3\xa9", "bad\xff", "(income / 1000)"};
		const char *want[] = {"caf\xc3\xa9", "f2", "(income / 1000)"};

		ok(settles_to(cand, 3, want), "invalid UTF-8 falls back, valid UTF-8 and expressions stay");
	}
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(maxname, 'y', sizeof(maxname) - 1);
	maxname[sizeof(maxname) - 1] = '\0';
	{
		const char *cand[] = {longname, maxname};
		const char *want[] = {"f1", maxname};

		ok(settles_to(cand, 2, want), "a name over DLF_MAX_NAME bytes falls back, one at the limit stays");
	}
	ok(settles_to(NULL, 0, NULL), "zero features");

	{
		const char *cand[] = {"a", NULL, "c"};
		DlfStatus	st;

		for (long k = 0; k < 3; k++)
		{
			fail_after = k;
			st = dlf_settle_feature_names(cand, 3, out, &err);
			fail_after = -1;
			ok(st == DLF_ERR_NOMEM && out[0] == NULL && out[1] == NULL && out[2] == NULL,
			   "allocation %ld failing: out of memory, nothing left allocated", k + 1);
		}
	}
}

/* A model with the given feature names (only names are set). */
static DlfModel *
named_model(const char *const *names, int32_t n)
{
	DlfModel   *m = dlf_model_new();

	m->nfeatures = n;
	m->features = dlf_alloc0(sizeof(DlfFeature) * (size_t) n);
	for (int32_t f = 0; f < n; f++)
		m->features[f].name = dlf_strndup(names[f], strlen(names[f]));
	return m;
}

/* Tests of dlf_match_features. */
static void
test_match(void)
{
	const char *feats[] = {"income", "age", "region"};
	DlfModel   *m = named_model(feats, 3);
	int32_t		map[3];
	int32_t		f = -1;

	{
		const char *cols[] = {"id", "region", "age", "income", "extra"};

		ok(dlf_match_features(m, cols, 5, map, &f) == DLF_MATCH_OK &&
		   map[0] == 3 && map[1] == 2 && map[2] == 1,
		   "features found by name in any order, extra columns ignored");
	}
	{
		const char *cols[] = {"income", NULL, "age", "region"};

		ok(dlf_match_features(m, cols, 4, map, &f) == DLF_MATCH_OK &&
		   map[0] == 0 && map[1] == 2 && map[2] == 3,
		   "dropped columns are skipped");
	}
	{
		const char *cols[] = {"income", "region"};

		ok(dlf_match_features(m, cols, 2, map, &f) == DLF_MATCH_MISSING && f == 1,
		   "a missing column names its feature");
	}
	{
		const char *cols[] = {"Income", "age", "region"};

		ok(dlf_match_features(m, cols, 3, map, &f) == DLF_MATCH_MISSING && f == 0,
		   "names match exactly, case included");
	}
	{
		const char *cols[] = {"income", "age", "age", "region"};

		ok(dlf_match_features(m, cols, 4, map, &f) == DLF_MATCH_AMBIGUOUS && f == 1,
		   "two columns of a feature's name are ambiguous");
	}
	ok(dlf_match_features(m, NULL, 0, map, &f) == DLF_MATCH_MISSING && f == 0,
	   "no columns at all");
	dlf_model_free(m);
}

int
main(void)
{
	dlf_set_allocator(test_alloc, free);
	test_settle();
	test_match();
	return done_testing();
}
