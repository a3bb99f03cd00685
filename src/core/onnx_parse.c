/*
 * onnx_parse.c
 *	  The ONNX decoder: ModelProto bytes into the small graph view of
 *	  onnx_graph.h, for onnx_read.c.
 *
 * Hostile-input code.  The protobuf reader never reads outside the buffer;
 * every repeated field is counted before it is allocated, so allocations
 * are bounded by the input's size (and by the limits of dlfin_onnx.h); a
 * string with a NUL byte, a wire type a field cannot have, or a tensor
 * whose data does not match its shape is malformed (DLF_ERR_CORRUPT).
 * Everything is allocated from one arena that og_free releases.
 */
#include "onnx_graph.h"

#include <string.h>

/* One block of the arena. */
typedef struct ArenaBlock
{
	struct ArenaBlock *next;
	max_align_t data[];
} ArenaBlock;

/* Allocates zeroed memory from the graph's arena. */
static void *
og_alloc(OGraph *g, size_t n, size_t size)
{
	ArenaBlock *b;

	if (size != 0 && n > (SIZE_MAX - sizeof(ArenaBlock)) / size)
		return NULL;
	b = dlf_alloc0(sizeof(ArenaBlock) + n * size);
	if (b == NULL)
		return NULL;
	b->next = g->arena;
	g->arena = b;
	return b->data;
}

/* Frees a graph view and everything it owns; NULL is fine. */
void
og_free(OGraph *g)
{
	ArenaBlock *b;

	if (g == NULL)
		return;
	b = g->arena;
	while (b)
	{
		ArenaBlock *next = b->next;

		dlf_free(b);
		b = next;
	}
	dlf_free(g);
}

/* Parse context: the graph, the error and the status of the first failure. */
typedef struct Ps
{
	OGraph	   *g;
	DlfError   *err;
	DlfStatus	st;
} Ps;

/* Records a malformed-bytes failure (the first one wins). */
static int
malformed(Ps *ps, const char *what)
{
	if (ps->st == DLF_OK)
	{
		ps->st = dlf_fail(ps->err, DLF_ERR_CORRUPT, "invalid ONNX model bytes");
		dlf_detail(ps->err, "The %s is malformed.", what);
	}
	return -1;
}

/* Records an allocation failure. */
static int
oom(Ps *ps)
{
	if (ps->st == DLF_OK)
		ps->st = dlf_fail(ps->err, DLF_ERR_NOMEM, "out of memory");
	return -1;
}

/* Records a limit failure. */
static int
limit(Ps *ps, const char *what, long long n, long long max)
{
	if (ps->st == DLF_OK)
	{
		ps->st = dlf_fail(ps->err, DLF_ERR_LIMIT, "ONNX model has too many %s", what);
		dlf_detail(ps->err, "It has %lld; at most %lld are allowed.", n, max);
	}
	return -1;
}

/* A NUL-terminated copy of a string field; NULL (and failure) on a NUL byte. */
static char *
str_copy(Ps *ps, const PbField *f, const char *what)
{
	char	   *s;

	if (f->wire != PB_LEN)
		return malformed(ps, what), NULL;
	if (memchr(f->data, 0, f->len) != NULL)
		return malformed(ps, what), NULL;
	s = og_alloc(ps->g, f->len + 1, 1);
	if (s == NULL)
		return oom(ps), NULL;
	memcpy(s, f->data, f->len);
	return s;
}

/*
 * Counts the values of a repeated field in a message: elem_size -1 counts
 * occurrences (strings, messages); for scalars a packed run counts its
 * elements (of elem_size bytes, or varints when elem_size is 0); -1 on
 * malformed bytes.
 */
static int64_t
count_field(const uint8_t *data, size_t len, uint32_t field, int elem_size)
{
	PbReader	r;
	PbField		f;
	int64_t		n = 0;
	int			rc;

	pb_reader_init(&r, data, len);
	while ((rc = pb_next(&r, &f)) == 1)
	{
		if (f.field != field)
			continue;
		if (elem_size < 0)
			n++;
		else if (f.wire == PB_LEN && elem_size > 0)
			n += f.len / elem_size;
		else if (f.wire == PB_LEN && elem_size == 0)
		{
			/* packed varints: one per byte without the continuation bit */
			for (size_t i = 0; i < f.len; i++)
				n += !(f.data[i] & 0x80);
		}
		else
			n++;
	}
	return rc < 0 ? -1 : n;
}

/*
 * Appends the values of a repeated scalar field f (packed or not) to out
 * (room for cap values, *n so far).  kind: 'f' float, 'd' double, 'i' int64.
 */
static int
scalars(Ps *ps, const PbField *f, int kind, void *out, int64_t cap,
		int64_t *n, const char *what)
{
	int			esize = kind == 'f' ? 4 : kind == 'd' ? 8 : 0;
	int			ewire = kind == 'f' ? PB_FIXED32 : kind == 'd' ? PB_FIXED64 : PB_VARINT;

	if (f->wire == ewire)
	{
		if (*n >= cap)
			return malformed(ps, what);
		if (kind == 'f')
			((float *) out)[(*n)++] = pb_as_float(f);
		else if (kind == 'd')
			((double *) out)[(*n)++] = pb_as_double(f);
		else
			((int64_t *) out)[(*n)++] = (int64_t) f->v;
		return 0;
	}
	if (f->wire != PB_LEN || (esize > 0 && f->len % esize != 0))
		return malformed(ps, what);
	if (esize > 0)
	{
		PbField		e = {0};

		for (size_t off = 0; off < f->len; off += esize)
		{
			e.wire = ewire;
			e.v = 0;
			for (int b = 0; b < esize; b++)
				e.v |= (uint64_t) f->data[off + b] << (8 * b);
			if (scalars(ps, &e, kind, out, cap, n, what) < 0)
				return -1;
		}
		return 0;
	}
	{
		const uint8_t *p = f->data;
		const uint8_t *end = f->data + f->len;

		while (p < end)
		{
			uint64_t	v;

			if (pb_read_varint(&p, end, &v) != 0 || *n >= cap)
				return malformed(ps, what);
			((int64_t *) out)[(*n)++] = (int64_t) v;
		}
	}
	return 0;
}

/* Little-endian raw_data into the tensor's values. */
static int
raw_values(Ps *ps, OTensor *t, const uint8_t *raw, size_t len)
{
	size_t		esize = t->type == ONNX_DOUBLE || t->type == ONNX_INT64 ? 8 : 4;

	if (len != (size_t) t->n * esize)
		return malformed(ps, "tensor raw data");
	for (int64_t i = 0; i < t->n; i++)
	{
		uint64_t	v = 0;

		for (size_t b = 0; b < esize; b++)
			v |= (uint64_t) raw[i * esize + b] << (8 * b);
		if (t->type == ONNX_FLOAT)
		{
			uint32_t	u = (uint32_t) v;

			memcpy(&t->f[i], &u, 4);
		}
		else if (t->type == ONNX_DOUBLE)
			memcpy(&t->d[i], &v, 8);
		else
			t->i[i] = (int64_t) v;
	}
	return 0;
}

/*
 * A TensorProto.  Only float, double and int64 tensors keep their values
 * (the types an MLP and dlfin's graphs use); others keep type and shape.
 */
static int
parse_tensor(Ps *ps, const uint8_t *data, size_t len, OTensor *t)
{
	PbReader	r;
	PbField		f;
	int			rc;
	int64_t		nd = 0,
				nv = 0;
	const uint8_t *raw = NULL;
	size_t		rawlen = 0;
	int			has_raw = 0;

	memset(t, 0, sizeof(*t));
	pb_reader_init(&r, data, len);
	/* first pass: shape, type, name, raw data */
	while ((rc = pb_next(&r, &f)) == 1)
	{
		if (f.field == 1)
		{
			if (scalars(ps, &f, 'i', t->dims, DLF_ONNX_MAX_DIMS, &nd, "tensor shape") < 0)
				return -1;
		}
		else if (f.field == 2 && f.wire == PB_VARINT)
			t->type = (int) f.v;
		else if (f.field == 8)
		{
			if ((t->name = str_copy(ps, &f, "tensor name")) == NULL)
				return -1;
		}
		else if (f.field == 9 && f.wire == PB_LEN)
		{
			raw = f.data;
			rawlen = f.len;
			has_raw = 1;
		}
		else if (f.field == 14 && f.wire == PB_VARINT && f.v != 0)
			t->external = 1;
		else if (f.field == 2 || f.field == 9)
			return malformed(ps, "tensor");
	}
	if (rc < 0)
		return malformed(ps, "tensor");
	t->ndims = (int) nd;
	t->n = 1;
	for (int k = 0; k < t->ndims; k++)
	{
		if (t->dims[k] < 0 || t->dims[k] > DLF_MAX_PARAMS)
			return malformed(ps, "tensor shape");
		t->n *= t->dims[k];
		if (t->n > DLF_MAX_PARAMS)
			return limit(ps, "tensor elements", (long long) t->n, DLF_MAX_PARAMS);
	}
	if (t->external || (t->type != ONNX_FLOAT && t->type != ONNX_DOUBLE &&
						t->type != ONNX_INT64))
		return 0;
	/* the values must be as many as the shape says: bounded by the input */
	{
		uint32_t	field = t->type == ONNX_FLOAT ? 4 : t->type == ONNX_DOUBLE ? 10 : 7;
		int			esize = t->type == ONNX_FLOAT ? 4 : t->type == ONNX_DOUBLE ? 8 : 0;
		int64_t		have = has_raw ? (int64_t) (rawlen / (t->type == ONNX_FLOAT ? 4 : 8)) :
		count_field(data, len, field, esize);

		if (have != t->n)
			return malformed(ps, "tensor data");
		if (t->type == ONNX_FLOAT)
			t->f = og_alloc(ps->g, t->n, sizeof(float));
		else if (t->type == ONNX_DOUBLE)
			t->d = og_alloc(ps->g, t->n, sizeof(double));
		else
			t->i = og_alloc(ps->g, t->n, sizeof(int64_t));
		if (!t->f && !t->d && !t->i)
			return oom(ps);
		if (has_raw)
			return raw_values(ps, t, raw, rawlen);
		pb_reader_init(&r, data, len);
		while (pb_next(&r, &f) == 1)
			if (f.field == field &&
				scalars(ps, &f, t->type == ONNX_FLOAT ? 'f' : t->type == ONNX_DOUBLE ? 'd' : 'i',
						t->f ? (void *) t->f : t->d ? (void *) t->d : (void *) t->i,
						t->n, &nv, "tensor data") < 0)
				return -1;
	}
	return 0;
}

/* An AttributeProto (subgraphs are noted, not parsed). */
static int
parse_attr(Ps *ps, const uint8_t *data, size_t len, OAttr *a)
{
	PbReader	r;
	PbField		f;
	int			rc;
	int64_t		nf = count_field(data, len, 7, 4),
				ni = count_field(data, len, 8, 0),
				ns = count_field(data, len, 9, -1);

	memset(a, 0, sizeof(*a));
	if (nf < 0 || ni < 0 || ns < 0)
		return malformed(ps, "attribute");
	if (nf > DLF_MAX_INPUTS * 2 || ni > DLF_MAX_INPUTS * 2 || ns > DLF_MAX_INPUTS * 2)
		return limit(ps, "attribute values", (long long) (nf + ni + ns), DLF_MAX_INPUTS * 2);
	a->floats = og_alloc(ps->g, nf, sizeof(float));
	a->ints = og_alloc(ps->g, ni, sizeof(int64_t));
	a->strings = og_alloc(ps->g, ns, sizeof(char *));
	if (!a->floats || !a->ints || !a->strings)
		return oom(ps);
	pb_reader_init(&r, data, len);
	while ((rc = pb_next(&r, &f)) == 1)
	{
		switch (f.field)
		{
			case 1:
				if ((a->name = str_copy(ps, &f, "attribute name")) == NULL)
					return -1;
				break;
			case 20:
				if (f.wire != PB_VARINT)
					return malformed(ps, "attribute");
				a->type = (int) f.v;
				break;
			case 2:
				if (f.wire != PB_FIXED32)
					return malformed(ps, "attribute");
				a->f = pb_as_float(&f);
				break;
			case 3:
				if (f.wire != PB_VARINT)
					return malformed(ps, "attribute");
				a->i = (int64_t) f.v;
				break;
			case 4:
				if ((a->s = str_copy(ps, &f, "attribute string")) == NULL)
					return -1;
				break;
			case 5:
				if (f.wire != PB_LEN)
					return malformed(ps, "attribute");
				a->t = og_alloc(ps->g, 1, sizeof(OTensor));
				if (a->t == NULL)
					return oom(ps);
				if (parse_tensor(ps, f.data, f.len, a->t) < 0)
					return -1;
				break;
			case 6:
			case 11:
				a->has_graph = 1;
				break;
			case 7:
				if (scalars(ps, &f, 'f', a->floats, nf, &a->nfloats, "attribute") < 0)
					return -1;
				break;
			case 8:
				if (scalars(ps, &f, 'i', a->ints, ni, &a->nints, "attribute") < 0)
					return -1;
				break;
			case 9:
				if ((a->strings[a->nstrings++] = str_copy(ps, &f, "attribute string")) == NULL)
					return -1;
				break;
			default:
				break;
		}
	}
	if (rc < 0 || a->name == NULL)
		return malformed(ps, "attribute");
	return 0;
}

/* A NodeProto. */
static int
parse_node(Ps *ps, const uint8_t *data, size_t len, ONode *n)
{
	PbReader	r;
	PbField		f;
	int			rc;
	int64_t		nin = count_field(data, len, 1, -1),
				nout = count_field(data, len, 2, -1),
				nattr = count_field(data, len, 5, -1);

	memset(n, 0, sizeof(*n));
	if (nin < 0 || nout < 0 || nattr < 0)
		return malformed(ps, "node");
	if (nin > DLF_ONNX_MAX_NAMES || nout > DLF_ONNX_MAX_NAMES)
		return limit(ps, "node inputs or outputs", (long long) Max64(nin, nout), DLF_ONNX_MAX_NAMES);
	if (nattr > DLF_ONNX_MAX_ATTRS)
		return limit(ps, "node attributes", (long long) nattr, DLF_ONNX_MAX_ATTRS);
	n->in = og_alloc(ps->g, nin, sizeof(char *));
	n->out = og_alloc(ps->g, nout, sizeof(char *));
	n->attrs = og_alloc(ps->g, nattr, sizeof(OAttr));
	if (!n->in || !n->out || !n->attrs)
		return oom(ps);
	n->domain = "";
	pb_reader_init(&r, data, len);
	while ((rc = pb_next(&r, &f)) == 1)
	{
		char	  **slot = NULL;

		if (f.field == 1)
			slot = &n->in[n->nin++];
		else if (f.field == 2)
			slot = &n->out[n->nout++];
		else if (f.field == 3)
			slot = &n->name;
		else if (f.field == 4)
			slot = &n->op;
		else if (f.field == 7)
			slot = &n->domain;
		else if (f.field == 5)
		{
			if (f.wire != PB_LEN ||
				parse_attr(ps, f.data, f.len, &n->attrs[n->nattrs++]) < 0)
				return ps->st != DLF_OK ? -1 : malformed(ps, "node");
			continue;
		}
		if (slot && (*slot = str_copy(ps, &f, "node")) == NULL)
			return -1;
	}
	if (rc < 0 || n->op == NULL)
		return malformed(ps, "node");
	return 0;
}

/* A ValueInfoProto: name, element type, shape (-1 for a symbolic dim). */
static int
parse_value_info(Ps *ps, const uint8_t *data, size_t len, OValue *v)
{
	PbReader	r,
				rt,
				rs,
				rd;
	PbField		f,
				ft,
				fs,
				fd;

	memset(v, 0, sizeof(*v));
	pb_reader_init(&r, data, len);
	while (pb_next(&r, &f) == 1)
	{
		if (f.field == 1 && (v->name = str_copy(ps, &f, "value name")) == NULL)
			return -1;
		if (f.field == 3 && (v->doc = str_copy(ps, &f, "value doc string")) == NULL)
			return -1;
		if (f.field != 2 || f.wire != PB_LEN)
			continue;
		/* TypeProto.tensor_type (1): elem_type (1), shape (2) */
		pb_reader_init(&rt, f.data, f.len);
		while (pb_next(&rt, &ft) == 1)
		{
			if (ft.field != 1 || ft.wire != PB_LEN)
				continue;
			pb_reader_init(&rs, ft.data, ft.len);
			while (pb_next(&rs, &fs) == 1)
			{
				if (fs.field == 1 && fs.wire == PB_VARINT)
					v->type = (int) fs.v;
				if (fs.field != 2 || fs.wire != PB_LEN)
					continue;
				pb_reader_init(&rd, fs.data, fs.len);
				while (pb_next(&rd, &fd) == 1)
				{
					PbReader	rv;
					PbField		fv;

					if (fd.field != 1 || fd.wire != PB_LEN)
						continue;
					if (v->ndims == DLF_ONNX_MAX_DIMS)
						return malformed(ps, "value shape");
					v->dims[v->ndims] = -1;
					pb_reader_init(&rv, fd.data, fd.len);
					while (pb_next(&rv, &fv) == 1)
						if (fv.field == 1 && fv.wire == PB_VARINT)
							v->dims[v->ndims] = (int64_t) fv.v;
					v->ndims++;
				}
			}
		}
	}
	if (r.p != r.end || v->name == NULL)
		return malformed(ps, "graph input or output");
	return 0;
}

/* A GraphProto: nodes, initializers, inputs, outputs. */
static int
parse_graph(Ps *ps, const uint8_t *data, size_t len)
{
	OGraph	   *g = ps->g;
	PbReader	r;
	PbField		f;
	int			rc;
	int64_t		nn = count_field(data, len, 1, -1),
				ni = count_field(data, len, 5, -1),
				nin = count_field(data, len, 11, -1),
				nout = count_field(data, len, 12, -1);

	if (nn < 0 || ni < 0 || nin < 0 || nout < 0)
		return malformed(ps, "graph");
	if (nn > DLF_ONNX_MAX_NODES)
		return limit(ps, "nodes", (long long) nn, DLF_ONNX_MAX_NODES);
	if (ni > DLF_ONNX_MAX_NODES || nin > DLF_ONNX_MAX_NAMES || nout > DLF_ONNX_MAX_NAMES)
		return limit(ps, "initializers, inputs or outputs",
					 (long long) Max64(ni, Max64(nin, nout)), DLF_ONNX_MAX_NAMES);
	g->nodes = og_alloc(g, nn, sizeof(ONode));
	g->inits = og_alloc(g, ni, sizeof(OTensor));
	g->inputs = og_alloc(g, nin, sizeof(OValue));
	g->outputs = og_alloc(g, nout, sizeof(OValue));
	if (!g->nodes || !g->inits || !g->inputs || !g->outputs)
		return oom(ps);
	pb_reader_init(&r, data, len);
	while ((rc = pb_next(&r, &f)) == 1)
	{
		if (f.field != 1 && f.field != 5 && f.field != 11 && f.field != 12)
			continue;
		if (f.wire != PB_LEN)
			return malformed(ps, "graph");
		if ((f.field == 1 && parse_node(ps, f.data, f.len, &g->nodes[g->nnodes++]) < 0) ||
			(f.field == 5 && parse_tensor(ps, f.data, f.len, &g->inits[g->ninits++]) < 0) ||
			(f.field == 11 && parse_value_info(ps, f.data, f.len, &g->inputs[g->ninputs++]) < 0) ||
			(f.field == 12 && parse_value_info(ps, f.data, f.len, &g->outputs[g->noutputs++]) < 0))
			return -1;
	}
	return rc < 0 ? malformed(ps, "graph") : 0;
}

/* A metadata_props entry or an opset_import: two fields of a small message. */
static int
parse_pair(Ps *ps, const PbField *outer, char **key, char **value,
		   int64_t *version)
{
	PbReader	r;
	PbField		f;
	int			rc;

	if (outer->wire != PB_LEN)
		return malformed(ps, "model");
	pb_reader_init(&r, outer->data, outer->len);
	while ((rc = pb_next(&r, &f)) == 1)
	{
		if (f.field == 1 && (*key = str_copy(ps, &f, "model entry")) == NULL)
			return -1;
		if (f.field == 2 && version && f.wire == PB_VARINT)
			*version = (int64_t) f.v;
		else if (f.field == 2 && value && (*value = str_copy(ps, &f, "model entry")) == NULL)
			return -1;
	}
	return rc < 0 ? malformed(ps, "model") : 0;
}

/* Decodes ModelProto bytes into a new graph view. */
DlfStatus
og_parse(const uint8_t *buf, size_t len, OGraph **out, DlfError *err)
{
	Ps			ps = {0};
	PbReader	r;
	PbField		f;
	int			rc = 0;
	int			graphs = 0;
	int64_t		nmeta = count_field(buf, len, 14, -1);

	*out = NULL;
	if (len > DLF_ONNX_MAX_BYTES)
		return dlf_fail(err, DLF_ERR_LIMIT, "ONNX model of %zu bytes is too large", len);
	ps.err = err;
	ps.g = dlf_alloc0(sizeof(OGraph));
	if (ps.g == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	if (nmeta < 0 || len == 0)
		malformed(&ps, "model");
	else if (nmeta > DLF_ONNX_MAX_NAMES)
		limit(&ps, "metadata entries", (long long) nmeta, DLF_ONNX_MAX_NAMES);
	else if ((ps.g->meta_key = og_alloc(ps.g, nmeta, sizeof(char *))) == NULL ||
			 (ps.g->meta_value = og_alloc(ps.g, nmeta, sizeof(char *))) == NULL)
		oom(&ps);
	pb_reader_init(&r, buf, len);
	while (ps.st == DLF_OK && (rc = pb_next(&r, &f)) == 1)
	{
		char	   *domain = NULL;
		int64_t		version = 0;

		if (f.field == 1 && f.wire == PB_VARINT)
			ps.g->ir_version = (int64_t) f.v;
		else if (f.field == 7 && f.wire == PB_LEN && graphs++ == 0)
			parse_graph(&ps, f.data, f.len);
		else if (f.field == 8 && parse_pair(&ps, &f, &domain, NULL, &version) == 0)
		{
			if (domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0)
				ps.g->opset = version;
		}
		else if (f.field == 14 && ps.st == DLF_OK)
		{
			int32_t		k = ps.g->nmeta;

			ps.g->meta_key[k] = ps.g->meta_value[k] = NULL;
			if (parse_pair(&ps, &f, &ps.g->meta_key[k], &ps.g->meta_value[k], NULL) == 0 &&
				ps.g->meta_key[k] && ps.g->meta_value[k])
				ps.g->nmeta++;
		}
		else if ((f.field == 1 || f.field == 7) && ps.st == DLF_OK)
			malformed(&ps, "model");
	}
	if (ps.st == DLF_OK && rc < 0)
		malformed(&ps, "model");
	if (ps.st == DLF_OK && graphs == 0)
		malformed(&ps, "model (it has no graph)");
	if (ps.st != DLF_OK)
	{
		og_free(ps.g);
		return ps.st;
	}
	*out = ps.g;
	return DLF_OK;
}
