/*
 * options_internal.h
 *	  What options.c (the table of dlfin_train's options and their parsing)
 *	  and options_json.c (the options JSON stored in the model) share: the
 *	  shape of a row of the table, the table itself and the rows' writers.
 */
#ifndef DLFIN_OPTIONS_INTERNAL_H
#define DLFIN_OPTIONS_INTERNAL_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "dlfin_pg.h"

/* The shape of an option's value. */
typedef enum OptKind
{
	OPT_INT,					/* integer in [lo, hi] into an int */
	OPT_INT64,					/* integer in [lo, hi] into a uint64 */
	OPT_REAL,					/* number in [lo, hi] (lo_open: > lo) */
	OPT_CHOICE,					/* one of names: its index + base */
	OPT_BOOL,					/* true or false into a bool */
	OPT_OTHER					/* parsed by the row's parse function */
} OptKind;

/* Whether and how an option appears in the model's options JSON. */
typedef enum OptJson
{
	JSON_NO,					/* never (it does not shape the model) */
	JSON_YES,					/* always, as its value */
	JSON_NONZERO,				/* when its field is not 0 */
	JSON_WRITE					/* the row's write function decides */
} OptJson;

typedef struct OptDef OptDef;

/* Parses the value v of option d into spec (or errors). */
typedef void (*OptParse) (const OptDef *d, JsonbValue *v, DlfTrainSpec *spec);

/* Appends option d to the JSON object s, if it is to appear. */
typedef void (*OptWrite) (StringInfo s, const OptDef *d, const DlfTrainSpec *spec,
						  const DlfModel *m);

/* One option of dlfin_train. */
struct OptDef
{
	const char *key;
	OptKind		kind;
	size_t		field;			/* offsetof(DlfTrainSpec, ...) */
	double		lo;				/* OPT_INT, OPT_INT64, OPT_REAL */
	double		hi;
	bool		lo_open;		/* OPT_REAL: lo itself is not valid */
	const char *const *names;	/* OPT_CHOICE: NULL-terminated */
	int			base;			/* OPT_CHOICE: value of names[0] */
	const char *detail;			/* what is valid, if not the generated text */
	OptJson		json;
	OptParse	parse;			/* OPT_OTHER */
	OptWrite	write;			/* JSON_WRITE */
	int			given;			/* DLF_GIVEN_* flag the option sets when given */
};

/* Every option, in the order of the model's options JSON (options.c). */
extern const OptDef *const dlfin_option_table;
extern const int dlfin_noptions;

/* The write functions of the JSON_WRITE rows (options_json.c). */
extern void optjson_task(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_hidden(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_l2(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_cv_folds(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_class_weight(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_positive(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_monotone(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_points(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_init(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_ensemble(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_skip(StringInfo s, const OptDef *d,
							const DlfTrainSpec *spec, const DlfModel *m);
extern void optjson_woe(StringInfo s, const OptDef *d,
						const DlfTrainSpec *spec, const DlfModel *m);

#endif							/* DLFIN_OPTIONS_INTERNAL_H */
