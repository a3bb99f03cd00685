#!/usr/bin/python3
"""test/onnx/torch_models.py: PyTorch MLPs exported with torch.onnx.export,
and their outputs on fixed rows, for test/sh/onnx.sh.

    torch_models.py OUTDIR

Writes OUTDIR/torch.sql: the tables torch_models (name, onnx, options, ok),
torch_rows (id, x1..x6) and torch_expected (name, id, k, value), where value
is PyTorch's float32 output k for the row (k 0 for one output).  Models with
ok = false are graphs dlfin must refuse; their "expect" column holds the
operator the error must name.
"""
import base64
import io
import json
import sys

import torch

torch.manual_seed(19)
NF = 6
NROWS = 300


class MatMulMLP(torch.nn.Module):
    """x @ W + b layers: torch exports them as MatMul + Add, as skl2onnx does."""

    def __init__(self, sizes, act):
        super().__init__()
        self.w = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(a, b) / a ** 0.5) for a, b in zip(sizes, sizes[1:])])
        self.b = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(b) * 0.1) for b in sizes[1:]])
        self.act = act

    def forward(self, x):
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            x = x @ w + b
            x = self.act(x) if i + 1 < len(self.w) else torch.sigmoid(x)
        return x


def seq(*layers):
    return torch.nn.Sequential(*layers)


L = torch.nn.Linear
MODELS = [
    # name, module, options, expected error operator (None: must import)
    ("bin_relu_64_32", seq(L(NF, 64), torch.nn.ReLU(), L(64, 32), torch.nn.ReLU(), L(32, 1), torch.nn.Sigmoid()),
     {"features": ["x1", "x2", "x3", "x4", "x5", "x6"], "classes": ["good", "bad"]}, None),
    ("multi_tanh", seq(L(NF, 16), torch.nn.Tanh(), L(16, 4), torch.nn.Softmax(dim=1)),
     {"features": ["x1", "x2", "x3", "x4", "x5", "x6"]}, None),
    ("reg_leaky", seq(L(NF, 16), torch.nn.LeakyReLU(0.01), L(16, 8), torch.nn.LeakyReLU(0.01), L(8, 1)),
     {"features": ["x1", "x2", "x3", "x4", "x5", "x6"]}, None),
    ("bin_matmul_sigmoid", MatMulMLP([NF, 12, 6, 1], torch.sigmoid),
     {"features": ["x1", "x2", "x3", "x4", "x5", "x6"]}, None),
    ("bin_softmax2", seq(L(NF, 8), torch.nn.ReLU(), L(8, 2), torch.nn.Softmax(dim=1)),
     {"features": ["x1", "x2", "x3", "x4", "x5", "x6"], "classes": ["no", "yes"]}, None),
    ("logistic", seq(L(NF, 1), torch.nn.Sigmoid()),
     {"features": ["x1", "x2", "x3", "x4", "x5", "x6"]}, None),
    ("bad_elu", seq(L(NF, 8), torch.nn.ELU(), L(8, 1), torch.nn.Sigmoid()), {}, "Elu"),
    ("bad_leaky", seq(L(NF, 8), torch.nn.LeakyReLU(0.2), L(8, 1)), {}, "LeakyRelu"),
    ("bad_mixed", seq(L(NF, 8), torch.nn.ReLU(), L(8, 8), torch.nn.Tanh(), L(8, 1)), {}, "Tanh"),
    ("bad_logsoftmax", seq(L(NF, 8), torch.nn.ReLU(), L(8, 3), torch.nn.LogSoftmax(dim=1)), {}, "LogSoftmax"),
]


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def main(outdir):
    x = torch.randn(NROWS, NF) * 2.0
    out = [
        "CREATE TABLE torch_models (name text PRIMARY KEY, onnx bytea, options jsonb, expect text);",
        "CREATE TABLE torch_rows (id int PRIMARY KEY, %s);" % ", ".join("x%d float8" % (j + 1) for j in range(NF)),
        "CREATE TABLE torch_expected (name text, id int, k int, value float8);",
    ]
    for i in range(NROWS):
        # repr of the float32 value as a double reads back to the same float32
        out.append("INSERT INTO torch_rows VALUES (%d, %s);" % (i, ", ".join(repr(float(v)) for v in x[i])))
    for name, module, options, expect in MODELS:
        module.eval()
        buf = io.BytesIO()
        torch.onnx.export(module, x[:2], buf, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=13)
        out.append("INSERT INTO torch_models VALUES (%s, decode(%s, 'base64'), %s, %s);" % (
            sql_str(name), sql_str(base64.b64encode(buf.getvalue()).decode()),
            sql_str(json.dumps(options)), "NULL" if expect is None else sql_str(expect)))
        if expect is not None:
            continue
        with torch.no_grad():
            y = module(x)
        rows = []
        for i in range(NROWS):
            for k in range(y.shape[1]):
                rows.append("(%s, %d, %d, %s)" % (sql_str(name), i, k, repr(float(y[i, k]))))
        out.append("INSERT INTO torch_expected VALUES %s;" % ", ".join(rows))
    with open(outdir + "/torch.sql", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
