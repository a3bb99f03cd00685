/*
 * train_state.h
 *	  State of the dlfin_train aggregate: the buffered training rows.
 */
#ifndef DLFIN_TRAIN_STATE_H
#define DLFIN_TRAIN_STATE_H

#include "dict.h"
#include "dlfin_pg.h"
#include "storage/fd.h"

/* One buffered feature column. */
typedef struct TrainColumn
{
	DlfArgType	type;
	float	   *num;			/* NUMBER/BOOL: value, NaN for NULL */
	int32	   *cat;			/* TEXT: dictionary code, -1 for NULL */
	DlfDict		dict;			/* TEXT: vocabulary with counts */
} TrainColumn;

/* Most distinct text labels a state holds (codes are 2 bytes). */
#define TRAIN_MAX_LABEL_CODES	65536

/*
 * Rows are stored column-wise and compactly: a float per numeric value, an
 * int32 code per text value.  Labels take 2 bytes a row: a code into the
 * text labels' dictionary, or into the distinct numeric label values while
 * there are at most DLF_MAX_CLASSES of them (codes keep every value exact,
 * so distinct values can still be counted).  Numeric labels with more
 * distinct values than that can only be a regression target; they are then
 * kept as doubles (8 bytes a row).
 */
typedef struct TrainState
{
	int32		nfeat;
	DlfArgType	label_type;
	Jsonb	   *options;		/* as given, or NULL */
	DlfTrainSpec *spec;			/* options parsed on the first row; NULL
								 * in a state combined from workers */
	char	  **names;			/* [nfeat] feature names of the call, or
								 * NULL: f1..fn */
	bool		options_fixed;	/* its expression has one value for every
								 * row (no Var, nothing volatile) */
	char	   *options_raw;	/* copy of its bytes as passed, or NULL */
	Size		options_raw_len;
	char	   *options_text;	/* its text for json/literal options, or NULL */
	int64		nrows;
	int64		cap;
	uint16	   *label_code;		/* [cap] codes, or NULL when label_val */
	double	   *label_val;		/* [cap] numeric values, or NULL */
	DlfDict		label_dict;		/* text labels */
	double	   *vals;			/* distinct numeric labels, arrival order */
	int32		nvals;
	int16	   *vslots;			/* open addressing over vals: code + 1 */
	TrainColumn *cols;
	Size		array_bytes;	/* row arrays, for the memory limit */
	/*
	 * A deserialised partial state does not copy its rows: they stay in the
	 * serial form it was read from (the bytea the combine function receives
	 * with it), labels then each column, read once by train_state_merge.
	 */
	const char *raw_rows;		/* that serial form's row arrays, or NULL */
	bool		raw_label_values;	/* raw labels are doubles, not codes */
	bool		consumed;		/* serialised with its rows freed */
	/*
	 * A deserialised state whose rows were spilled to a file by its writer
	 * (train_state_file.c): the tablespace, the writer's PID and a counter
	 * name the file, which train_state_merge opens (spill_file; -1 while
	 * closed).
	 */
	int32		spill_writer;	/* 0: the rows are inline */
	Oid			spill_space;
	int64		spill_seq;
	File		spill_file;
} TrainState;

extern TrainState *train_state_new(int32 nfeat, const DlfArgType *label_type,
								   const DlfArgType *feat_types, Jsonb *options);
extern void train_state_set_names(TrainState *st, char **names);
extern void train_state_reserve(TrainState *st, int64 nrows);
extern void train_state_set_label(TrainState *st, int64 row, double v);
extern void train_state_set_text_label(TrainState *st, int64 row,
									   const char *s, int len);
extern void train_state_check_memory(TrainState *st);
extern Size train_state_row_bytes(const TrainState *st);
extern int32 train_state_value_code(TrainState *st, double v);
extern void train_state_merge(TrainState *dst, TrainState *src);
extern bytea *train_state_serialize(TrainState *st, bool consume, bool spill);
extern bool train_state_consumable(FunctionCallInfo fcinfo);
extern void train_state_check_owned(const TrainState *st);
extern TrainState *train_state_deserialize(bytea *b);

/* ---- rows handed to the parallel leader in a file (train_state_file.c) ---- */

extern void train_state_spill_expect(void);
extern bool train_state_spillable(FunctionCallInfo fcinfo);
extern void train_state_spill_rows(TrainState *st, StringInfo buf);
extern void train_state_spill_recv(StringInfo buf, TrainState *st);
extern void train_state_spill_open(TrainState *st, Size need);
extern void train_state_spill_read(const TrainState *st, Size off, void *to, Size len);
extern void train_state_spill_close(TrainState *st);

/* ---- the options argument (train_options.c) ---- */

/* What the transition keeps per call site (fn_extra) for the query. */
typedef struct DlfTrainCall
{
	Oid			options_type;	/* type of argument 1 */
	DlfCallNames names;			/* the features' names */
} DlfTrainCall;

/* The call site's DlfTrainCall, made on its first row. */
extern DlfTrainCall *dlfin_train_call(FunctionCallInfo fcinfo);

/* Whether argument 1 holds the options (followed by label and features). */
extern bool dlfin_train_options_form(FunctionCallInfo fcinfo);
/* The options argument as jsonb; NULL for SQL NULL. */
extern Jsonb *dlfin_train_options_jsonb(FunctionCallInfo fcinfo);
/* Remembers the first row's options argument, to compare later rows. */
extern void dlfin_train_remember_options(FunctionCallInfo fcinfo, TrainState *st);
/* Errors out (22023) unless this row's options equal the first row's. */
extern void dlfin_train_check_options(FunctionCallInfo fcinfo, TrainState *st);

/* ---- a training's inputs from the buffered rows (train_agg.c) ---- */

/* Model schema, dataset, options and hooks; dlfin_train and dlfin_cv. */
extern DlfModel *dlfin_train_prepare(TrainState *st, DlfTrainSpec *spec,
									 DlfDataset *data, DlfTrainHooks *hooks);

#endif
