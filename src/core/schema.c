/*
 * schema.c
 *	  The schema of a model to train: task and class order from the labels,
 *	  feature vocabularies, the warm-start check, class weights by name, and
 *	  the post-training zeroing of unused one-hot inputs.
 */
#include "schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Comparator of two indexes with a context. */
typedef int (*IndexCmp) (int32_t a, int32_t b, const void *arg);

/*
 * Sorts idx[0..n) by cmp (a merge sort, so the order is the same on every
 * platform; cmp is a total order here, so any sort would agree).  Asks intr
 * every 64k comparisons: a million distinct values take a second.
 */
static DlfStatus
sort_index(int32_t *idx, int32_t n, IndexCmp cmp, const void *arg,
		   DlfInterruptFn intr, void *iarg, DlfError *err)
{
	int32_t    *tmp;
	int64_t		ncmp = 0;

	if (n < 2)
		return DLF_OK;
	tmp = dlf_alloc_array((size_t) n, sizeof(int32_t));
	if (tmp == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int64_t w = 1; w < n; w *= 2)
	{
		for (int64_t lo = 0; lo < n; lo += 2 * w)
		{
			int64_t		mid = lo + w < n ? lo + w : n;
			int64_t		hi = lo + 2 * w < n ? lo + 2 * w : n;
			int64_t		i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
			{
				if ((++ncmp & 65535) == 0 && intr && intr(iarg))
				{
					dlf_free(tmp);
					return dlf_fail(err, DLF_ERR_INTERRUPTED, "canceled");
				}
				tmp[k++] = cmp(idx[j], idx[i], arg) < 0 ? idx[j++] : idx[i++];
			}
			while (i < mid)
				tmp[k++] = idx[i++];
			while (j < hi)
				tmp[k++] = idx[j++];
		}
		memcpy(idx, tmp, sizeof(int32_t) * (size_t) n);
	}
	dlf_free(tmp);
	return DLF_OK;
}

/* Byte-wise order of two strings (a shorter prefix first). */
static int
cmp_bytes(const char *a, int32_t la, const char *b, int32_t lb)
{
	int			r = memcmp(a, b, (size_t) (la < lb ? la : lb));

	if (r != 0)
		return r;
	return (la > lb) - (la < lb);
}

/* Index comparator: text labels by bytes. */
static int
cmp_label_text(int32_t a, int32_t b, const void *arg)
{
	const DlfLabelColumn *l = arg;

	return cmp_bytes(l->str[a], l->len[a], l->str[b], l->len[b]);
}

/* Index comparator: vocabulary, most frequent first, then by bytes. */
static int
cmp_vocab(int32_t a, int32_t b, const void *arg)
{
	const DlfTextColumn *c = arg;

	if (c->count[a] != c->count[b])
		return c->count[a] > c->count[b] ? -1 : 1;
	return cmp_bytes(c->str[a], c->len[a], c->str[b], c->len[b]);
}

/* qsort comparator for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Copies s into m->classes[i]; false when out of memory. */
static int
set_class(DlfModel *m, int32_t i, const char *s)
{
	m->classes[i] = dlf_strndup(s, strlen(s));
	return m->classes[i] != NULL;
}

/*
 * Sorted class names of numeric labels into m->classes and the rank of
 * each distinct value (its class index) into rank.
 */
static DlfStatus
numeric_classes(DlfModel *m, const DlfLabelColumn *l, uint16_t *rank,
				DlfError *err)
{
	int32_t		k = l->ndistinct;
	double	   *vals = dlf_alloc_array((size_t) k, sizeof(double));

	if (vals == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	memcpy(vals, l->vals, sizeof(double) * (size_t) k);
	qsort(vals, (size_t) k, sizeof(double), cmp_double);
	for (int32_t i = 0; i < k; i++)
	{
		char		buf[64];

		if (l->is_bool)
			snprintf(buf, sizeof(buf), "%s", vals[i] != 0 ? "true" : "false");
		else
			snprintf(buf, sizeof(buf), "%.15g", vals[i]);
		if (!set_class(m, i, buf))
		{
			dlf_free(vals);
			return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		}
	}
	for (int32_t c = 0; c < k; c++)
	{
		double	   *hit = bsearch(&l->vals[c], vals, (size_t) k, sizeof(double),
								  cmp_double);

		rank[c] = (uint16_t) (hit - vals);
	}
	dlf_free(vals);
	return DLF_OK;
}

/* Sorted class names of text labels into m->classes, ranks into rank. */
static DlfStatus
text_classes(DlfModel *m, DlfLabelColumn *l, uint16_t *rank, DlfError *err)
{
	int32_t		k = l->ndistinct;
	int32_t    *order = dlf_alloc_array((size_t) (k > 0 ? k : 1), sizeof(int32_t));
	DlfStatus	rc;

	if (order == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int32_t i = 0; i < k; i++)
		order[i] = i;
	rc = sort_index(order, k, cmp_label_text, l, NULL, NULL, err);
	for (int32_t i = 0; i < k && rc == DLF_OK; i++)
	{
		rank[order[i]] = (uint16_t) i;
		if (!set_class(m, i, l->str[order[i]]))
			rc = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	dlf_free(order);
	return rc;
}

/* The task of numeric labels: regression checks, or 0 to classify. */
static DlfStatus
numeric_task(const DlfLabelColumn *l, int *task, DlfError *err)
{
	/* two values (or a boolean) classify; one value is an error below */
	if (*task == 0 && l->ndistinct > 2 && !l->is_bool)
		*task = DLF_TASK_REGRESSION;
	if (*task != DLF_TASK_REGRESSION)
	{
		if (l->ndistinct > DLF_MAX_CLASSES)
			return dlf_fail(err, DLF_ERR_LIMIT,
							"dlfin_train label has more than %d distinct values",
							DLF_MAX_CLASSES);
		return DLF_OK;
	}
	if (l->is_bool)
		return dlf_fail(err, DLF_ERR_INVALID,
						"dlfin_train task \"regression\" needs a numeric label");
	if (l->ndistinct < 2)
	{
		dlf_fail(err, DLF_ERR_DATA, "dlfin_train label has only one distinct value");
		dlf_detail(err, "A model needs a label that varies.");
		return DLF_ERR_DATA;
	}
	return DLF_OK;
}

/* Checks the class count against the task; decides it when 0. */
static DlfStatus
classify_task(const DlfModel *m, int *task, DlfError *err)
{
	int32_t		k = m->nclasses;

	if (k < 2)
	{
		dlf_fail(err, DLF_ERR_DATA, "dlfin_train label has only one class");
		dlf_detail(err, "Every row with a label has the value \"%s\".", m->classes[0]);
		dlf_hint(err, "A classifier needs at least two classes.");
		return DLF_ERR_DATA;
	}
	if (*task == 0)
		*task = k == 2 ? DLF_TASK_BINARY : DLF_TASK_MULTICLASS;
	if (*task == DLF_TASK_BINARY && k != 2)
		return dlf_fail(err, DLF_ERR_DATA,
						"dlfin_train task \"binary\" needs exactly two label values, found %d", k);
	if (*task == DLF_TASK_MULTICLASS && k < 3)
	{
		dlf_fail(err, DLF_ERR_DATA,
				 "dlfin_train task \"multiclass\" needs at least three label values, found %d", k);
		dlf_hint(err, "Use task \"binary\" for two classes.");
		return DLF_ERR_DATA;
	}
	return DLF_OK;
}

/* Makes the class named positive class 1 (swapping the row codes). */
static DlfStatus
apply_positive(DlfModel *m, DlfLabelColumn *l, int task, const char *positive,
			   DlfError *err)
{
	if (task != DLF_TASK_BINARY)
		return dlf_fail(err, DLF_ERR_INVALID,
						"dlfin_train option \"positive\" applies only to binary classification");
	if (strcmp(positive, m->classes[0]) == 0)
	{
		char	   *t = m->classes[0];

		m->classes[0] = m->classes[1];
		m->classes[1] = t;
		for (int64_t r = 0; r < l->nrows; r++)
			l->code[r] = (uint16_t) (1 - l->code[r]);
	}
	else if (strcmp(positive, m->classes[1]) != 0)
	{
		dlf_fail(err, DLF_ERR_INVALID,
				 "dlfin_train option \"positive\" value \"%s\" is not a label value",
				 positive);
		dlf_detail(err, "The label values are \"%s\" and \"%s\".",
				   m->classes[0], m->classes[1]);
		return DLF_ERR_INVALID;
	}
	return DLF_OK;
}

/* Decides task and classes from the labels (see schema.h). */
DlfStatus
dlf_schema_labels(DlfModel *m, DlfLabelColumn *l, int task,
				  const char *positive, DlfError *err)
{
	uint16_t   *rank;
	int32_t		k = l->ndistinct;
	DlfStatus	rc;

	if (l->is_text && task == DLF_TASK_REGRESSION)
		return dlf_fail(err, DLF_ERR_INVALID,
						"dlfin_train task \"regression\" needs a numeric label");
	if (!l->is_text)
	{
		if ((rc = numeric_task(l, &task, err)) != DLF_OK)
			return rc;
		if (task == DLF_TASK_REGRESSION)
		{
			m->task = DLF_TASK_REGRESSION;
			m->nclasses = 0;
			return DLF_OK;
		}
	}
	rank = dlf_alloc_array((size_t) (k > 0 ? k : 1), sizeof(uint16_t));
	m->classes = dlf_alloc_array((size_t) (k > 0 ? k : 1), sizeof(char *));
	if (rank == NULL || m->classes == NULL)
	{
		dlf_free(rank);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	m->nclasses = k;
	rc = l->is_text ? text_classes(m, l, rank, err) : numeric_classes(m, l, rank, err);
	/* k <= the state's code limit, so ranks fit the codes */
	for (int64_t r = 0; r < l->nrows && rc == DLF_OK; r++)
		l->code[r] = rank[l->code[r]];
	dlf_free(rank);
	if (rc == DLF_OK)
		rc = classify_task(m, &task, err);
	if (rc == DLF_OK && positive)
		rc = apply_positive(m, l, task, positive, err);
	m->task = task;
	return rc;
}

/* The init model's vocabulary for feature f; codes of col mapped into map. */
static DlfStatus
init_vocabulary(DlfFeature *ft, const DlfModel *init, int32_t f,
				const DlfTextColumn *col, int32_t *map, DlfInterruptFn intr,
				void *arg, DlfError *err)
{
	const DlfFeature *it = &init->features[f];

	ft->ncat = it->ncat;
	ft->categories = dlf_alloc_array((size_t) (it->ncat > 0 ? it->ncat : 1),
									 sizeof(char *));
	if (ft->categories == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	for (int32_t i = 0; i < it->ncat; i++)
	{
		if ((i & 4095) == 0 && intr && intr(arg))
			return dlf_fail(err, DLF_ERR_INTERRUPTED, "canceled");
		ft->categories[i] = dlf_strndup(it->categories[i], strlen(it->categories[i]));
		if (ft->categories[i] == NULL)
			return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	/* a hash of the init model's categories, not a search each */
	return dlf_category_codes(init, f, col->str, col->len, col->n, map,
							  intr, arg, err);
}

/* The max_categories most frequent values of col; others map to "other". */
static DlfStatus
learn_vocabulary(DlfFeature *ft, const DlfTextColumn *col, int32_t max_categories,
				 int32_t *map, DlfInterruptFn intr, void *arg, DlfError *err)
{
	int32_t		keep = col->n < max_categories ? col->n : max_categories;
	int32_t    *order = dlf_alloc_array((size_t) (col->n > 0 ? col->n : 1),
										sizeof(int32_t));
	DlfStatus	rc;

	ft->categories = dlf_alloc_array((size_t) (keep > 0 ? keep : 1), sizeof(char *));
	if (order == NULL || ft->categories == NULL)
	{
		dlf_free(order);
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	}
	ft->ncat = keep;
	for (int32_t i = 0; i < col->n; i++)
		order[i] = i;
	rc = sort_index(order, col->n, cmp_vocab, col, intr, arg, err);
	for (int32_t i = 0; i < col->n && rc == DLF_OK; i++)
	{
		if (i < keep &&
			(ft->categories[i] = dlf_strndup(col->str[order[i]],
											 strlen(col->str[order[i]]))) == NULL)
			rc = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		map[order[i]] = i < keep ? i : keep;	/* rare: "other" */
	}
	dlf_free(order);
	return rc;
}

/* Sets up feature f of m from its column (see schema.h). */
DlfStatus
dlf_schema_feature(DlfModel *m, int32_t f, const char *name, int sqltype,
				   DlfTextColumn *col, int64_t nrows, int32_t max_categories,
				   const DlfModel *init, DlfInterruptFn intr, void *arg,
				   DlfError *err)
{
	DlfFeature *ft = &m->features[f];
	int32_t    *map;
	DlfStatus	rc;

	ft->name = dlf_strndup(name, strlen(name));
	if (ft->name == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	ft->sqltype = sqltype;
	ft->importance = NAN;
	if (col == NULL)
	{
		ft->kind = DLF_FEAT_NUMERIC;
		return DLF_OK;
	}
	ft->kind = DLF_FEAT_CATEGORICAL;
	map = dlf_alloc_array((size_t) (col->n > 0 ? col->n : 1), sizeof(int32_t));
	if (map == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	rc = init ? init_vocabulary(ft, init, f, col, map, intr, arg, err) :
		learn_vocabulary(ft, col, max_categories, map, intr, arg, err);
	for (int64_t r = 0; r < nrows && rc == DLF_OK; r++)
	{
		if ((r & ((1 << 20) - 1)) == 0 && intr && intr(arg))
			rc = dlf_fail(err, DLF_ERR_INTERRUPTED, "canceled");
		col->code[r] = col->code[r] < 0 ? ft->ncat + 1 : map[col->code[r]];
	}
	dlf_free(map);
	return rc;
}

/* Checks a warm-start model against m (see schema.h). */
DlfStatus
dlf_schema_check_init(const DlfModel *init, const DlfModel *m, DlfError *err)
{
	char		why[256] = "";

	if (init->task != m->task)
		snprintf(why, sizeof(why), "The task differs.");
	else if (init->nclasses != m->nclasses)
		snprintf(why, sizeof(why), "The classes differ.");
	else if (init->nfeatures != m->nfeatures)
		snprintf(why, sizeof(why), "The init model has %d features, this call %d.",
				 init->nfeatures, m->nfeatures);
	else
	{
		for (int32_t c = 0; c < m->nclasses && !why[0]; c++)
			if (strcmp(init->classes[c], m->classes[c]) != 0)
				snprintf(why, sizeof(why), "The classes differ.");
		for (int32_t f = 0; f < m->nfeatures && !why[0]; f++)
			if (init->features[f].sqltype != m->features[f].sqltype)
				snprintf(why, sizeof(why), "Feature %d is %s in the init model and %s here.",
						 f + 1, dlf_sqltype_name(init->features[f].sqltype),
						 dlf_sqltype_name(m->features[f].sqltype));
	}
	if (!why[0])
		return DLF_OK;
	dlf_fail(err, DLF_ERR_INVALID,
			 "dlfin_train option \"init\" model does not match the training data");
	dlf_detail(err, "%s", why);
	return DLF_ERR_INVALID;
}

/* Class weights by class name (see schema.h). */
DlfStatus
dlf_schema_class_weights(const DlfModel *m, char *const *names,
						 const double *values, int n, double *out,
						 DlfError *err)
{
	for (int32_t c = 0; c < m->nclasses; c++)
		out[c] = 1.0;
	for (int i = 0; i < n; i++)
	{
		int32_t		c;

		for (c = 0; c < m->nclasses; c++)
			if (strcmp(names[i], m->classes[c]) == 0)
				break;
		if (c == m->nclasses)
			return dlf_fail(err, DLF_ERR_INVALID,
							"dlfin_train option \"class_weight\" names unknown class \"%s\"",
							names[i]);
		out[c] = values[i];
	}
	return DLF_OK;
}

/* Zeroes the weights of one-hot inputs no row used (see schema.h). */
DlfStatus
dlf_zero_unused_inputs(DlfModel *m, int32_t *const *cat, int64_t nrows,
					   DlfError *err)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
	{
		DlfFeature *ft = &m->features[f];
		int64_t    *used;

		if (ft->kind != DLF_FEAT_CATEGORICAL)
			continue;
		used = dlf_alloc_array((size_t) ft->ncat + 2, sizeof(int64_t));
		if (used == NULL)
			return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		memset(used, 0, sizeof(int64_t) * ((size_t) ft->ncat + 2));
		for (int64_t r = 0; r < nrows; r++)
			used[cat[f][r]]++;
		for (int32_t c = 0; c < ft->ncat + 2; c++)
			if (used[c] == 0)
				dlf_model_zero_input(m, ft->input_offset + c);
		dlf_free(used);
	}
	return DLF_OK;
}
