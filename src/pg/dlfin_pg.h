/*
 * dlfin_pg.h
 *	  Declarations shared by the PostgreSQL glue files.
 */
#ifndef DLFIN_PG_H
#define DLFIN_PG_H

#include "dlfin_core.h"
#include "fmgr.h"
#include "pg_compat.h"
#include "utils/jsonb.h"

extern int	dlfin_max_training_memory;	/* kB */
extern int	dlfin_threads;
extern bool dlfin_drop_registry;	/* DROP EXTENSION may drop models */

/* ---- Citus (citus.c) ---- */

/* Installs the planner hook that resolves by-name scoring on the coordinator. */
extern void dlfin_citus_init(void);
/* True when this backend runs a task of a Citus coordinator. */
extern bool dlfin_on_citus_worker(void);

/* Raises the core error as an ereport(ERROR) with the matching SQLSTATE. */
extern void dlfin_report_core_error(const DlfError *err) pg_attribute_noreturn();

/* Largest magnitude of a numeric feature (the core's, dlfin_core.h). */
#define DLFIN_FLOAT4_LIMIT	DLF_FLOAT4_LIMIT

/* Core interrupt callback: nonzero when a cancel or termination is pending. */
extern int	dlfin_interrupt_pending(void *arg);
/* Sorts scores in place, cancellable. */
extern void dlfin_sort_scores(double *v, int64 n);

/* ---- argument decoding (args.c) ---- */

/* What kind of SQL value an argument position carries. */
typedef enum DlfArgKind
{
	DLF_ARG_NUMBER = DLF_SQL_NUMBER,
	DLF_ARG_BOOL = DLF_SQL_BOOL,
	DLF_ARG_TEXT = DLF_SQL_TEXT,
	DLF_ARG_UNKNOWN_LITERAL = 4 /* untyped literal: a cstring, text */
} DlfArgKind;

typedef struct DlfArgType
{
	Oid			type;			/* as called */
	Oid			base;			/* domain base type */
	uint8		kind;			/* DlfArgKind */
	uint8		sqltype;		/* DlfSqlType it maps to */
} DlfArgType;

/* Classifies a feature/label argument type; false if unsupported. */
extern bool dlfin_classify_type(Oid type, DlfArgType *out);
/* Converts a NUMBER/BOOL datum to double (no NaN check). */
extern double dlfin_datum_to_double(Datum d, const DlfArgType *t, bool *is_nan);
/* Text bytes of a TEXT/UNKNOWN datum. */
extern void dlfin_datum_text(Datum d, const DlfArgType *t, const char **s, int *len);

/* ---- feature names of a training call (featnames.c) ---- */

/* A call site's feature names, looked up once (zeroed before the first). */
typedef struct DlfCallNames
{
	bool		done;			/* looked up */
	char	  **names;			/* in fn_mcxt; NULL when unreachable */
} DlfCallNames;

/* Names of a dlfin_train call's features from its expressions, or NULL. */
extern char **dlfin_call_feature_names(FunctionCallInfo fcinfo,
									   DlfCallNames *cache, int first_input,
									   int n);

/* ---- model bytes (modelio.c) ---- */

/* Decodes model bytes into a DlfModel in the current memory context. */
extern DlfModel *dlfin_decode_model(bytea *b);
/* Encodes a model into a new bytea. */
extern bytea *dlfin_encode_model(const DlfModel *m);

/* ---- data-parallel training (average_fn.c) ---- */

/* A skeleton model (features, target scaling) from the "encoding" option. */
extern DlfModel *dlfin_encoding_model(Jsonb *enc, int32 nfeat);
/* Errors out unless the encoding's feature kinds are those of m. */
extern void dlfin_check_encoding(const DlfModel *enc, const DlfModel *m);
/* Encodes a model just trained; an invalid one is "training diverged". */
extern bytea *dlfin_encode_trained_model(const DlfModel *m);

/* ---- training options (options.c) ---- */

/* Options of dlfin_train after validation. */
typedef struct DlfTrainSpec
{
	DlfTrainOptions opt;
	int			task;			/* DlfTask, 0 = from the label */
	char	   *positive;		/* positive class as text, or NULL */
	int			nnames;			/* feature names given, 0 = f1..fn */
	char	  **names;
	int			max_categories;
	bytea	   *init;			/* warm-start model, or NULL */
	Jsonb	   *encoding;		/* "encoding" (average_fn.c), or NULL */
	bool		verbose;
	int			nweights;		/* class_weight map entries */
	char	  **weight_class;
	double	   *weight_value;
	int			threads;		/* 0 = dlfin.threads */
	int			adverse;		/* DlfAdverse */
	int			calibrate;		/* DlfCalibration to fit */
	int			nmono;			/* "monotone" entries */
	char	  **mono_name;
	int		   *mono_sign;
	int			nreasons;		/* "reasons" entries */
	char	  **reason_name;
	char	  **reason_text;
	struct DlfPointsScale *points;	/* "points" scale, or NULL */
	struct DlfWoeSpec *woe;		/* "woe" and "woe_binning", or NULL */
} DlfTrainSpec;

/* Validates the options jsonb (NULL for defaults) into spec. */
extern void dlfin_parse_options(Jsonb *options, DlfTrainSpec *spec);
/* Copies adverse side, calibration, monotone and reasons into the schema. */
extern void dlfin_apply_governance(const DlfTrainSpec *spec, DlfModel *m);
/* Writes the effective options as a JSON object (m: schema set). */
extern char *dlfin_options_json(const DlfTrainSpec *spec, const DlfModel *m);
/* That JSON with the choices training made for "auto" options added. */
extern char *dlfin_options_json_trained(const char *json, const DlfTrainSpec *spec,
										const DlfModel *m);

/* ---- explanations (explain_fn.c) ---- */

/* The jsonb {"score", "baseline", "scale", ["class",] "contributions"} of ex. */
extern Datum dlfin_explanation_jsonb(const DlfModel *m, const DlfExplanation *ex,
									 const char *scale, bool with_class);

/* ---- score points (points_fn.c) ---- */

/* Parses the "points" training option. */
extern struct DlfPointsScale *dlfin_parse_points(JsonbValue *v);
/* Refuses a points scale the model's task or calibration cannot carry. */
extern void dlfin_check_points(const struct DlfPointsScale *s, const DlfModel *m);
/* Appends the value of the "points" option to the options JSON being written. */
extern void dlfin_points_json(StringInfo s, const struct DlfPointsScale *p);
/* The points scale stored in a model's options, or NULL. */
extern struct DlfPointsScale *dlfin_model_points(const DlfModel *m);

/* ---- WoE encoding (woe_fn.c) ---- */

/* Parses the "woe" training option (true, false or feature names). */
extern void dlfin_parse_woe(JsonbValue *v, DlfTrainSpec *spec);
/* Parses the "woe_binning" training option (dlfin_binning's options). */
extern void dlfin_parse_woe_binning(JsonbValue *v, DlfTrainSpec *spec);
/* Appends "woe" (is_binning false) or "woe_binning" to the options JSON, if set. */
extern void dlfin_woe_json(StringInfo s, const DlfTrainSpec *spec, bool is_binning);
/* Bins and encodes the "woe" features of the schema m on the rows of data. */
extern void dlfin_apply_woe(const DlfTrainSpec *spec, DlfModel *m, DlfDataset *data);
/* Refuses (22023) the ONNX export of a model with WoE features. */
extern void dlfin_refuse_woe_export(const DlfModel *m);
/* Index of the feature an option names (22023 when none). */
extern int32 dlfin_option_feature(const DlfModel *m, const DlfTrainSpec *spec,
								  const char *option, const char *name);
/* dlfin_binning's options from a jsonb (NULL: defaults); binning_fn.c. */
struct DlfBinOptions;
extern void dlfin_binning_options(Jsonb *j, struct DlfBinOptions *o, const char *who);

/* ---- evaluation states (metrics.c) ---- */

/* Sorts a binary metrics aggregate state and returns its class scores. */
extern void dlfin_bin_state_scores(void *state, const double **pos, int64 *npos,
								   const double **neg, int64 *nneg);

/* ---- running stored code as its owner (security.c) ---- */

/* What dlfin_as_role_enter saved, for dlfin_as_role_leave. */
typedef struct DlfAsRole
{
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
} DlfAsRole;

/* Runs as role (restricted, with search_path) until dlfin_as_role_leave. */
extern void dlfin_as_role_enter(Oid role, const char *search_path, DlfAsRole *g);
/* Returns to the user and settings saved by dlfin_as_role_enter. */
extern void dlfin_as_role_leave(DlfAsRole *g);

#endif
