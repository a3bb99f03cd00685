/*
 * onnx_write_ens.c
 *	  ONNX export of an ensemble ("ensemble": k): the k members' networks
 *	  (onnx_write_net.c) on the one shared feature encoding, and their
 *	  combination into the logits that the outputs read, as ensemble.c
 *	  scores them.
 *
 * ensemble.c hands the mean of the members' probabilities on as logits,
 * rounded to float32 like one network's: binary, log(mean p) - log(mean
 * (1 - p)), each log p = -softplus(-z) of a member's logit z; multiclass,
 * log(mean softmax) per class; regression, the mean output.  The graph
 * computes the same in double (log-sum-exp over the members, log1p(x) as
 * log(1 + x), which differs by under 1e-16) and rounds to float32, so the
 * logits are dlfin's but when the double result lies within about 1e-16 of
 * a float32 rounding boundary.  The regression mean is summed in member
 * order, as ensemble.c does: the same bits.  The calibration and output
 * nodes (onnx_write.c) then read "dlfin_logits" as for one network.
 */
#include "onnx_write.h"

#include <math.h>
#include <stdio.h>

/* A node with one int attribute. */
static void
node_int(Gb *g, const char *op, const char *const *in, const char *out,
		 const char *attr, int64_t v)
{
	size_t		mark = ow_node_begin(g, op, "", in, (const char *[]) {out, NULL});

	ow_attr_int(g, attr, v);
	ow_node_end(g, mark);
}

/* A double scalar initializer of shape [1]. */
static void
init_double(Gb *g, const char *name, double v)
{
	ow_init_doubles(g, name, (const int64_t[]) {1}, 1, &v, 1);
}

/* ReduceMax over axis 1, kept (opset 13: axes is an attribute). */
static void
reduce_max1(Gb *g, const char *in, const char *out)
{
	size_t		mark = ow_node_begin(g, "ReduceMax", "", IN(in), IN(out));
	size_t		a = pb_begin(&g->nodes, 5);

	/* AttributeProto "axes" = [1] (type INTS) */
	pb_str(&g->nodes, 1, "axes");
	pb_int(&g->nodes, 20, ONNX_ATTR_INTS);
	pb_int(&g->nodes, 8, 1);
	pb_end(&g->nodes, a);
	ow_attr_int(g, "keepdims", 1);
	ow_node_end(g, mark);
}

/* log(sum over axis 1 of exp(x)) = max + log(sum exp(x - max)), kept. */
static void
log_sum_exp1(Gb *g, const char *x, const char *pfx, const char *out)
{
	char		t[5][48];

	for (int i = 0; i < 5; i++)
		snprintf(t[i], sizeof(t[i]), "%slse%d", pfx, i);
	reduce_max1(g, x, t[0]);
	ow_node(g, "Sub", IN(x, t[0]), t[1]);
	ow_node(g, "Exp", IN(t[1]), t[2]);
	node_int(g, "ReduceSum", IN(t[2], "dlfin_ens_axis1"), t[3], "keepdims", 1);
	ow_node(g, "Log", IN(t[3]), t[4]);
	ow_node(g, "Add", IN(t[0], t[4]), out);
}

/*
 * Binary member: its logit z (double [N, 1]) -> [N, 1, 2] of
 * (log p, log(1 - p)) = (-softplus(-z), -softplus(z)), softplus(x) =
 * max(x, 0) + log(1 + exp(-|x|)).
 */
static void
binary_logs(Gb *g, const char *pfx, const char *z, const char *out)
{
	char		t[12][48];
	size_t		mark;

	for (int i = 0; i < 12; i++)
		snprintf(t[i], sizeof(t[i]), "%slog%d", pfx, i);
	ow_node(g, "Abs", IN(z), t[0]);
	ow_node(g, "Neg", IN(t[0]), t[1]);
	ow_node(g, "Exp", IN(t[1]), t[2]);
	ow_node(g, "Add", IN("dlfin_ens_one", t[2]), t[3]);
	ow_node(g, "Log", IN(t[3]), t[4]);
	ow_node(g, "Neg", IN(z), t[5]);
	ow_node(g, "Max", IN(t[5], "dlfin_ens_zero"), t[6]);
	ow_node(g, "Add", IN(t[6], t[4]), t[7]);	/* softplus(-z) */
	ow_node(g, "Neg", IN(t[7]), t[8]);	/* log p */
	ow_node(g, "Max", IN(z, "dlfin_ens_zero"), t[9]);
	ow_node(g, "Add", IN(t[9], t[4]), t[10]);	/* softplus(z) */
	ow_node(g, "Neg", IN(t[10]), t[11]);	/* log(1 - p) */
	snprintf(t[0], sizeof(t[0]), "%slogpq", pfx);	/* |z| is used up */
	mark = ow_node_begin(g, "Concat", "", IN(t[8], t[11]), IN(t[0]));
	ow_attr_int(g, "axis", 1);
	ow_node_end(g, mark);
	ow_node(g, "Unsqueeze", IN(t[0], "dlfin_ens_axis1"), out);
}

/* Multiclass member: logits z (double [N, C]) -> [N, 1, C] of log softmax. */
static void
class_logs(Gb *g, const char *pfx, const char *z, const char *out)
{
	char		lse[48],
				ls[48];

	snprintf(lse, sizeof(lse), "%slogZ", pfx);
	snprintf(ls, sizeof(ls), "%slogp", pfx);
	log_sum_exp1(g, z, pfx, lse);
	ow_node(g, "Sub", IN(z, lse), ls);
	ow_node(g, "Unsqueeze", IN(ls, "dlfin_ens_axis1"), out);
}

/* Writes the members, each's logits in double as <pfx>z. */
static DlfStatus
write_members(Gb *g, const DlfModel *m, int32_t k, DlfError *err)
{
	for (int32_t e = 0; e < k; e++)
	{
		char		pfx[32],
					lg[48],
					z[48];

		snprintf(pfx, sizeof(pfx), "dlfin_m%d_", (int) e);
		snprintf(lg, sizeof(lg), "%slogits", pfx);
		snprintf(z, sizeof(z), "%sz", pfx);
		if (ow_write_member(g, m, e, pfx, lg, err) != DLF_OK)
			return err->code;
		node_int(g, "Cast", IN(lg), z, "to", ONNX_DOUBLE);
	}
	return DLF_OK;
}

/* Regression: the members' outputs summed in member order, / k. */
static void
write_mean(Gb *g, int32_t k)
{
	char		prev[48] = "dlfin_m0_z";

	for (int32_t e = 1; e < k; e++)
	{
		char		z[48],
					cur[48];

		snprintf(z, sizeof(z), "dlfin_m%d_z", (int) e);
		snprintf(cur, sizeof(cur), "dlfin_ens_sum%d", (int) e);
		ow_node(g, "Add", IN(prev, z), cur);
		snprintf(prev, sizeof(prev), "%s", cur);
	}
	init_double(g, "dlfin_ens_k", (double) k);
	ow_node(g, "Div", IN(prev, "dlfin_ens_k"), "dlfin_ens_logits");
}

/*
 * Binary and multiclass: each member's log probabilities stacked on axis
 * 1 ([N, k, C]), their log-sum-exp over the members, and the logits.
 */
static void
write_log_mean(Gb *g, const DlfModel *m, int32_t k, int32_t nout)
{
	size_t		mark = ow_node_begin(g, "Concat", "", IN(NULL), IN("dlfin_ens_stack"));
	int			binary = m->task == DLF_TASK_BINARY;

	for (int32_t e = 0; e < k; e++)
	{
		char		name[48];

		snprintf(name, sizeof(name), "dlfin_m%d_logs", (int) e);
		pb_str(&g->nodes, 1, name);
	}
	ow_attr_int(g, "axis", 1);
	ow_node_end(g, mark);
	log_sum_exp1(g, "dlfin_ens_stack", "dlfin_ens_", "dlfin_ens_lsek");
	ow_init_int64s(g, "dlfin_ens_shape", (const int64_t[]) {2}, 1,
				   (const int64_t[]) {0, binary ? 2 : nout}, 2);
	ow_node(g, "Reshape", IN("dlfin_ens_lsek", "dlfin_ens_shape"), "dlfin_ens_lse");
	if (binary)
	{
		/* log(k mean p) - log(k mean (1 - p)) */
		mark = ow_node_begin(g, "Split", "", IN("dlfin_ens_lse"),
							 IN("dlfin_ens_lse_p", "dlfin_ens_lse_q"));
		ow_attr_int(g, "axis", 1);
		ow_node_end(g, mark);
		ow_node(g, "Sub", IN("dlfin_ens_lse_p", "dlfin_ens_lse_q"), "dlfin_ens_logits");
	}
	else
	{
		init_double(g, "dlfin_ens_logk", log((double) k));
		ow_node(g, "Sub", IN("dlfin_ens_lse", "dlfin_ens_logk"), "dlfin_ens_logits");
	}
}

/* An ensemble's members and the logits of their mean -> "dlfin_logits". */
DlfStatus
ow_write_ensemble(Gb *g, const DlfModel *m, DlfError *err)
{
	int32_t		k = dlf_model_members(m);
	int32_t		nout = m->units[m->nlayers];

	ow_init_int64s(g, "dlfin_ens_axis1", (const int64_t[]) {1}, 1, (const int64_t[]) {1}, 1);
	init_double(g, "dlfin_ens_one", 1.0);
	init_double(g, "dlfin_ens_zero", 0.0);
	if (write_members(g, m, k, err) != DLF_OK)
		return err->code;
	if (m->task == DLF_TASK_REGRESSION)
		write_mean(g, k);
	else
	{
		for (int32_t e = 0; e < k; e++)
		{
			char		pfx[32],
						z[48],
						logs[48];

			snprintf(pfx, sizeof(pfx), "dlfin_m%d_", (int) e);
			snprintf(z, sizeof(z), "%sz", pfx);
			snprintf(logs, sizeof(logs), "%slogs", pfx);
			if (m->task == DLF_TASK_BINARY)
				binary_logs(g, pfx, z, logs);
			else
				class_logs(g, pfx, z, logs);
		}
		write_log_mean(g, m, k, nout);
	}
	node_int(g, "Cast", IN("dlfin_ens_logits"), "dlfin_logits", "to", ONNX_FLOAT);
	return g->nodes.failed || g->inits.failed ? dlf_fail(err, DLF_ERR_NOMEM, "out of memory")
		: DLF_OK;
}
