/*
 * train_state.h
 *	  State of the dlfin_train aggregate: the buffered training rows.
 */
#ifndef DLFIN_TRAIN_STATE_H
#define DLFIN_TRAIN_STATE_H

#include "dict.h"
#include "dlfin_pg.h"

/* One buffered feature column. */
typedef struct TrainColumn
{
	DlfArgType	type;
	float	   *num;			/* NUMBER/BOOL: value, NaN for NULL */
	int32	   *cat;			/* TEXT: dictionary code, -1 for NULL */
	DlfDict		dict;			/* TEXT: vocabulary with counts */
} TrainColumn;

/*
 * Rows are stored column-wise and compactly: a float per numeric value, an
 * int32 code per text value, a double per label (labels must stay exact so
 * that distinct values can be counted).  Text labels are dictionary codes.
 */
typedef struct TrainState
{
	int32		nfeat;
	DlfArgType	label_type;
	Jsonb	   *options;		/* as given, or NULL */
	void	   *options_ptr;	/* first row's options datum (not serialised) */
	char	   *options_text;	/* its text for json/literal options, or NULL */
	int64		nrows;
	int64		cap;
	double	   *label;
	DlfDict		label_dict;		/* text labels */
	TrainColumn *cols;
	Size		array_bytes;	/* row arrays, for the memory limit */
} TrainState;

extern TrainState *train_state_new(int32 nfeat, const DlfArgType *label_type,
								   const DlfArgType *feat_types, Jsonb *options);
extern void train_state_reserve(TrainState *st, int64 nrows);
extern void train_state_check_memory(TrainState *st);
extern void train_state_merge(TrainState *dst, TrainState *src);
extern bytea *train_state_serialize(TrainState *st);
extern TrainState *train_state_deserialize(bytea *b);

#endif
