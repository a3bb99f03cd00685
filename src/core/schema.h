/*
 * schema.h
 *	  The schema of a model to train, decided from its buffered rows: task,
 *	  class order, feature vocabularies, the warm-start check, class weights
 *	  by name, and the post-training zeroing of inputs no row used.
 *
 * Pure C; the training aggregate (src/pg/train_agg.c) buffers the rows and
 * hands them over in these shapes.  Every decision is canonical (sorted
 * classes, vocabularies by count then bytes), so none depends on row order.
 */
#ifndef DLFIN_SCHEMA_H
#define DLFIN_SCHEMA_H

#include "dlfin_core.h"

/* The label column: its distinct values in code order and a code per row. */
typedef struct DlfLabelColumn
{
	int			is_text;		/* text values (else numbers) */
	int			is_bool;		/* boolean values 0 and 1 */
	/* distinct values; numeric: > DLF_MAX_CLASSES when there are more */
	int32_t		ndistinct;
	const char *const *str;		/* text: [ndistinct] NUL-terminated */
	const int32_t *len;			/* text: their byte lengths */
	const double *vals;			/* numeric: [ndistinct] */
	int64_t		nrows;
	uint16_t   *code;			/* [nrows]; classification: rewritten to
								 * class indexes */
} DlfLabelColumn;

/*
 * Decides the task (the requested DlfTask, 0 = from the labels: two
 * values or a boolean classify, more numbers regress) and, for
 * classification, the classes: sorted (bytes, or numbers written %.15g),
 * the named positive class (may be NULL) moved to index 1; the row codes
 * become class indexes.  Sets m->task, m->nclasses and m->classes.  For
 * regression only m->task is set: the caller turns codes into values.
 */
DlfStatus	dlf_schema_labels(DlfModel *m, DlfLabelColumn *l, int task,
							  const char *positive, DlfError *err);

/* A text feature column: distinct values with counts, a code per row. */
typedef struct DlfTextColumn
{
	int32_t		n;				/* distinct values */
	const char *const *str;		/* [n] NUL-terminated */
	const int32_t *len;			/* [n] byte lengths */
	const int64_t *count;		/* [n] occurrences */
	int32_t    *code;			/* [nrows] index into str, -1 for NULL;
								 * rewritten to model codes */
} DlfTextColumn;

/*
 * Sets up feature f of m (m->features allocated): name, SQL type, kind and,
 * for a text column (col not NULL), the vocabulary: the init model's, else
 * the max_categories most frequent values (ties by bytes).  Row codes
 * become model codes: a category, ncat for "other", ncat + 1 for NULL.
 * intr (may be NULL) is asked now and then.
 */
DlfStatus	dlf_schema_feature(DlfModel *m, int32_t f, const char *name,
							   int sqltype, DlfTextColumn *col, int64_t nrows,
							   int32_t max_categories, const DlfModel *init,
							   DlfInterruptFn intr, void *arg, DlfError *err);

/* Checks that a warm-start model has m's task, classes and feature types. */
DlfStatus	dlf_schema_check_init(const DlfModel *init, const DlfModel *m,
								  DlfError *err);

/*
 * Class weights from n (class name, weight) pairs: out[nclasses] is 1.0
 * for every class not named; naming an unknown class is an error.
 */
DlfStatus	dlf_schema_class_weights(const DlfModel *m, char *const *names,
									 const double *values, int n,
									 double *out, DlfError *err);

/*
 * Zeroes the first-layer weights of one-hot inputs no training row used
 * (an "other" or "missing" bucket).  They never influenced training, so no
 * training result changes, but an unseen category then scores like the
 * baseline instead of through random initial weights.  cat[f] are the
 * model codes of categorical feature f (NULL for numeric ones).
 */
DlfStatus	dlf_zero_unused_inputs(DlfModel *m, int32_t *const *cat,
								   int64_t nrows, DlfError *err);

#endif							/* DLFIN_SCHEMA_H */
