/*
 * scoring.h
 *	  Per-query model cache shared by the scoring, explaining and
 *	  registry-by-name functions.
 */
#ifndef DLFIN_SCORING_H
#define DLFIN_SCORING_H

#include "fmgr.h"
#include "utils/memutils.h"

#include "dlfin_pg.h"

/* How the all-numeric path reads a feature argument (DlfScoreCache.conv). */
typedef enum DlfConv
{
	DLF_CONV_FLOAT8,
	DLF_CONV_INT4,
	DLF_CONV_INT8,
	DLF_CONV_INT2,
	DLF_CONV_FLOAT4,
	DLF_CONV_BOOL,
	DLF_CONV_NUMERIC,
	DLF_CONV_OTHER				/* dlfin_datum_to_double */
} DlfConv;

/* Lives in fn_extra; everything below is allocated in cxt. */
typedef struct DlfScoreCache
{
	MemoryContext cxt;			/* child of fn_mcxt, reset on model change */
	DlfModelKey key;			/* the model datum's bytes as passed (copy
								 * in cxt): the cache's identity */
	bool		trust_ptr;		/* the datum's address proves its bytes */
	DlfModel   *model;
	DlfScorer  *scorer;
	DlfArgType *types;			/* feature argument types, checked once */
	int			checked_nargs;
	double	   *out;			/* scorer output, nclasses (or 1) values */
	float	   *std;			/* all-numeric fast path: the row's
								 * standardised inputs, or NULL when it
								 * does not apply */
	const double *mean;			/* fast path: the scorer's standardisation */
	const double *inv_scale;
	bool		all_float8;		/* fast path: every feature argument is
								 * float8 */
	uint8	   *conv;			/* fast paths: each feature argument's
								 * DlfConv, decided once per model */
	int32	   *idx;			/* entries path (a model with categorical
								 * features): the row's first-layer entries,
								 * or NULL when it does not apply */
	float	   *val;
	const int32 *offsets;		/* entries path: each feature's first input */
	void	   *extra;			/* callers' per-model data: lives in cxt and
								 * is reset when the model changes */
	void	   *lookup;			/* the registry's name lookup: lives in
								 * fn_mcxt and survives model changes */
	uint64		generation;		/* changes whenever a model is decoded */
} DlfScoreCache;

/*
 * The cache when the model datum is the cached model, else NULL: its bytes
 * as passed are compared with the cached copy (see model_cache.c).
 */
static inline DlfScoreCache *
dlfin_score_cache_hit(FunctionCallInfo fcinfo, Datum model_datum)
{
	DlfScoreCache *c = (DlfScoreCache *) fcinfo->flinfo->fn_extra;
	struct varlena *raw = (struct varlena *) DatumGetPointer(model_datum);

	if (c != NULL && c->model != NULL &&
		dlf_model_key_match(&c->key, raw, VARSIZE_ANY(raw)))
		return c;
	return NULL;
}

/* Whether argument argnum of the call is a Const of the plan. */
extern bool dlfin_arg_is_const(FmgrInfo *flinfo, int argnum);
/* Raises the error of a row that overflows the cached model's network. */
extern void dlfin_report_overflow(void) pg_attribute_noreturn();
/* Returns the scorer for the model datum, decoding it only when new. */
extern DlfScoreCache *dlfin_score_cache_get(FunctionCallInfo fcinfo,
											Datum model_datum,
											int first_feature);
/* Loads the row's features into the scorer; raw gets numeric values or NaN. */
extern void dlfin_load_row(FunctionCallInfo fcinfo, DlfScoreCache *c,
						   int first_feature, double *raw);
/* Rejects the VARIADIC-array call form of a scoring function. */
extern void dlfin_reject_variadic(FunctionCallInfo fcinfo);
/* Scores the row into c->out, allocated for the cached model. */
extern void dlfin_score_row_out(FunctionCallInfo fcinfo, DlfScoreCache *c,
								int first_feature);
/* Deployed model bytes of the registry name in argument 0, cached per query. */
extern bytea *dlfin_registry_model(FunctionCallInfo fcinfo, int32 *version);
/* The same, with the lookup's count of fetches (the bytes' lifetime). */
extern bytea *dlfin_registry_model_gen(FunctionCallInfo fcinfo, uint64 *generation);
/* Tells the call site's cache that its model datum's address was freed. */
extern void dlfin_score_cache_moved(FmgrInfo *flinfo);
/* dlfin_model_info(bytea), also called by dlfin_model_info(name). */
extern Datum dlfin_model_info(PG_FUNCTION_ARGS);

#endif
