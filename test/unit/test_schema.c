/*
 * test_schema.c
 *	  Unit tests of the model schema decided from training rows
 *	  (src/core/schema.c): task, class order and positive class, vocabulary
 *	  order and "other"/NULL codes, the warm-start check, class weights by
 *	  name and the zeroing of unused one-hot inputs.
 */
#include "schema.h"
#include "fixtures.h"
#include "tap.h"

#include <math.h>
#include <string.h>

/* Text labels: sorted by bytes, codes become class indexes, positive. */
static void
test_text_labels(void)
{
	const char *const str[] = {"yes", "no"};
	const int32_t len[] = {3, 2};
	uint16_t	code[] = {0, 1, 1, 0};
	DlfLabelColumn l = {1, 0, 2, str, len, NULL, 4, code};
	DlfModel   *m = dlf_model_new();
	DlfError	err;

	ok(dlf_schema_labels(m, &l, 0, NULL, &err) == DLF_OK, "two text labels classify");
	ok(m->task == DLF_TASK_BINARY && m->nclasses == 2 &&
	   strcmp(m->classes[0], "no") == 0 && strcmp(m->classes[1], "yes") == 0,
	   "binary, classes in byte order");
	ok(code[0] == 1 && code[1] == 0 && code[2] == 0 && code[3] == 1,
	   "row codes are class indexes");
	dlf_model_free(m);

	m = dlf_model_new();
	code[0] = 0, code[1] = 1, code[2] = 1, code[3] = 0;
	ok(dlf_schema_labels(m, &l, 0, "no", &err) == DLF_OK &&
	   strcmp(m->classes[1], "no") == 0 && code[0] == 0 && code[1] == 1,
	   "the positive class becomes class 1, its rows code 1");
	dlf_model_free(m);

	m = dlf_model_new();
	ok(dlf_schema_labels(m, &l, 0, "maybe", &err) == DLF_ERR_INVALID &&
	   strstr(err.detail, "\"no\" and \"yes\"") != NULL,
	   "an unknown positive class is refused, naming the two");
	dlf_model_free(m);

	m = dlf_model_new();
	ok(dlf_schema_labels(m, &l, DLF_TASK_REGRESSION, NULL, &err) == DLF_ERR_INVALID,
	   "text labels do not regress");
	dlf_model_free(m);

	m = dlf_model_new();
	ok(dlf_schema_labels(m, &l, DLF_TASK_MULTICLASS, NULL, &err) == DLF_ERR_DATA &&
	   strstr(err.hint, "binary") != NULL, "multiclass of two classes: a hint");
	dlf_model_free(m);

	m = dlf_model_new();
	l.ndistinct = 1;
	code[0] = code[1] = code[2] = code[3] = 0;
	ok(dlf_schema_labels(m, &l, 0, NULL, &err) == DLF_ERR_DATA &&
	   strstr(err.detail, "\"yes\"") != NULL && err.hint[0] != '\0',
	   "one class is an error naming the value");
	dlf_model_free(m);
}

/* Numeric labels: task from the count of values, %.15g names, booleans. */
static void
test_numeric_labels(void)
{
	const double vals[] = {2.5, -1, 10};
	uint16_t	code[] = {0, 1, 2, 2};
	DlfLabelColumn l = {0, 0, 3, NULL, NULL, vals, 4, code};
	DlfModel   *m = dlf_model_new();
	DlfError	err;

	ok(dlf_schema_labels(m, &l, 0, NULL, &err) == DLF_OK &&
	   m->task == DLF_TASK_REGRESSION && m->nclasses == 0 && code[0] == 0,
	   "three numbers regress; codes untouched");
	dlf_model_free(m);

	m = dlf_model_new();
	ok(dlf_schema_labels(m, &l, DLF_TASK_MULTICLASS, NULL, &err) == DLF_OK &&
	   m->nclasses == 3 && strcmp(m->classes[0], "-1") == 0 &&
	   strcmp(m->classes[1], "2.5") == 0 && strcmp(m->classes[2], "10") == 0 &&
	   code[0] == 1 && code[1] == 0 && code[2] == 2,
	   "multiclass numbers sort numerically");
	dlf_model_free(m);

	m = dlf_model_new();
	l.ndistinct = DLF_MAX_CLASSES + 1;
	ok(dlf_schema_labels(m, &l, DLF_TASK_BINARY, NULL, &err) == DLF_ERR_LIMIT,
	   "too many values to classify");
	dlf_model_free(m);

	{
		const double b[] = {1, 0};
		uint16_t	bc[] = {0, 1, 0};
		DlfLabelColumn bl = {0, 1, 2, NULL, NULL, b, 3, bc};

		m = dlf_model_new();
		ok(dlf_schema_labels(m, &bl, 0, "true", &err) == DLF_OK &&
		   strcmp(m->classes[0], "false") == 0 && strcmp(m->classes[1], "true") == 0 &&
		   bc[0] == 1 && bc[1] == 0, "booleans are named false and true");
		dlf_model_free(m);
		m = dlf_model_new();
		ok(dlf_schema_labels(m, &bl, DLF_TASK_REGRESSION, NULL, &err) == DLF_ERR_INVALID,
		   "a boolean does not regress");
		dlf_model_free(m);
	}
}

/* Vocabulary by count then bytes; "other" and NULL codes; interrupts. */
static void
test_vocabulary(void)
{
	const char *const str[] = {"b", "a", "c", "d"};
	const int32_t len[] = {1, 1, 1, 1};
	const int64_t count[] = {2, 2, 5, 1};
	int32_t		code[] = {0, 1, 2, 3, -1};
	DlfTextColumn col = {4, str, len, count, code};
	DlfModel   *m = dlf_model_new();
	DlfError	err;

	m->nfeatures = 2;
	m->features = dlf_alloc_array(2, sizeof(DlfFeature));
	ok(dlf_schema_feature(m, 0, "x", DLF_SQL_NUMBER, NULL, 5, 3, NULL, NULL, NULL,
						  &err) == DLF_OK && m->features[0].kind == DLF_FEAT_NUMERIC &&
	   strcmp(m->features[0].name, "x") == 0 && isnan(m->features[0].importance),
	   "a numeric feature");
	ok(dlf_schema_feature(m, 1, "colour", DLF_SQL_TEXT, &col, 5, 3, NULL, NULL, NULL,
						  &err) == DLF_OK, "a text feature");
	ok(m->features[1].ncat == 3 && strcmp(m->features[1].categories[0], "c") == 0 &&
	   strcmp(m->features[1].categories[1], "a") == 0 &&
	   strcmp(m->features[1].categories[2], "b") == 0,
	   "most frequent first, ties by bytes, max_categories kept");
	ok(code[0] == 2 && code[1] == 1 && code[2] == 0 && code[3] == 3 && code[4] == 4,
	   "rare values code ncat (other), NULL ncat + 1");
	dlf_model_free(m);
}

/* Warm-start check and class weights by name. */
static void
test_init_and_weights(void)
{
	DlfModel   *a = fx_model(DLF_TASK_BINARY, 0, 0, 4);
	DlfModel   *b = fx_model(DLF_TASK_BINARY, 0, 0, 4);
	DlfModel   *c = fx_model(DLF_TASK_MULTICLASS, 0, 0, 4);
	char	   *names[] = {"bad"};
	double		values[] = {2.5};
	double		w[2];
	DlfError	err;

	ok(dlf_schema_check_init(a, b, &err) == DLF_OK, "the same schema passes");
	ok(dlf_schema_check_init(a, c, &err) == DLF_ERR_INVALID &&
	   strcmp(err.detail, "The task differs.") == 0, "another task is refused");
	b->features[0].sqltype = DLF_SQL_TEXT;
	ok(dlf_schema_check_init(a, b, &err) == DLF_ERR_INVALID &&
	   strstr(err.detail, "Feature 1") != NULL, "another feature type is refused");
	ok(dlf_schema_class_weights(a, names, values, 1, w, &err) == DLF_OK &&
	   w[0] == 1.0 && w[1] == 2.5, "a named class gets its weight, others 1");
	names[0] = "ugly";
	ok(dlf_schema_class_weights(a, names, values, 1, w, &err) == DLF_ERR_INVALID,
	   "an unknown class is refused");
	dlf_model_free(a);
	dlf_model_free(b);
	dlf_model_free(c);
}

/* Inputs no row used get zero first-layer weights; the others keep theirs. */
static void
test_zero_unused(void)
{
	DlfModel   *m = fx_model(DLF_TASK_REGRESSION, 0, 0, 3);
	const DlfFeature *ft = &m->features[2];	/* region: 4 categories */
	int32_t		region[] = {0, 0, 3, 5};	/* 1, 2 and "other" unused */
	int32_t    *cat[3] = {NULL, NULL, region};
	const float *w = m->weights[0];
	int32_t		h = m->units[1];
	DlfError	err;
	float		before = w[(size_t) (ft->input_offset + 0) * h];

	ok(dlf_zero_unused_inputs(m, cat, 4, &err) == DLF_OK, "zeroing runs");
	ok(w[(size_t) (ft->input_offset + 0) * h] == before && before != 0,
	   "a used category keeps its weights");
	ok(w[(size_t) (ft->input_offset + 1) * h] == 0 &&
	   w[(size_t) (ft->input_offset + 4) * h + h - 1] == 0,
	   "unused categories and the unused other bucket are zero");
	ok(w[(size_t) (ft->input_offset + 5) * h] != 0, "the used NULL bucket keeps its weights");
	dlf_model_free(m);
}

int
main(void)
{
	test_text_labels();
	test_numeric_labels();
	test_vocabulary();
	test_init_and_weights();
	test_zero_unused();
	return done_testing();
}
