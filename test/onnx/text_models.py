#!/usr/bin/python3
"""test/onnx/text_models.py: networks over number, text and boolean columns
trained elsewhere, with their preprocessing outside the graph, and what
their source scores on fixed rows, for test/sh/onnx.sh.

    text_models.py OUTDIR

The rows are income, age (numbers), home (text) and guarantor (boolean);
the test rows have NULLs in every column and an unseen home ('castle').

- torch_onehot: a PyTorch MLP (binary) over standardised income and age
  (NULL -> the mean, i.e. 0), the one-hot of home over four categories
  (unseen and NULL: all zero, scikit-learn's handle_unknown='ignore') and
  guarantor as 0/1 (NULL -> 0);
- torch_buckets: a PyTorch multiclass MLP whose one-hot has an "other"
  column for unseen values and an "unknown" one for NULL;
- sk_pipeline: a scikit-learn Pipeline (ColumnTransformer of
  SimpleImputer + StandardScaler, SimpleImputer('missing') + OneHotEncoder
  (handle_unknown='ignore'), SimpleImputer(0) on the boolean) and an
  MLPClassifier, converted as skl2onnx converts the MLP alone
  (sklearn_models.py);
- sk_graph_onehot: the same network behind skl2onnx's in-graph
  preprocessing (Scaler, OneHotEncoder, Concat): dlfin must refuse it
  naming OneHotEncoder.

Writes OUTDIR/text.sql: text_models (name, onnx, options, expect),
text_rows (id, income, age, home, guarantor), text_expected (name, id, k,
value: the source's probability of class k, or k -1 its score) and
text_labels (name, id, label).
"""
import base64
import io
import json
import os
import sys

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_models import classifier_graph, model_bytes, network, sql_str  # noqa: E402

NTRAIN = 800
NTEST = 300
HOMES = ["own", "rent", "parents", "other"]


def rows(rng, n, test):
    """income, age, home, guarantor (None is NULL), and a binary target."""
    income = rng.integers(12000, 150000, n).astype(float)
    age = rng.integers(18, 80, n).astype(float)
    home = rng.choice(HOMES, n, p=[0.4, 0.35, 0.15, 0.1])
    guar = rng.random(n) < 0.3
    logit = (income - 60000) / 30000 - (age - 45) / 20 + np.where(home == "rent", -0.8, 0.4) + guar * 0.7
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    out = []
    for i in range(n):
        r = [float(income[i]), float(age[i]), str(home[i]), bool(guar[i])]
        if test:
            if i % 7 == 0:
                r[2] = "castle"         # never seen
            if i % 11 == 0:
                r[0] = None
            if i % 19 == 0:
                r[2] = None
            if i % 17 == 0:
                r[3] = None
            if i % 23 == 0:
                r[1] = None
        elif i % 29 == 0:
            r[2] = None                 # scikit-learn's imputer makes it "missing"
        out.append(r)
    return out, y


def torch_inputs(data, mean, scale, cats, other=None, missing=None):
    """The source's preprocessing: standardise (NULL -> 0), one-hot, 0/1."""
    x = np.zeros((len(data), 2 + len(cats) + 1), dtype=np.float32)
    for i, (inc, age, home, guar) in enumerate(data):
        for j, v in enumerate((inc, age)):
            x[i, j] = 0.0 if v is None else np.float32((float(np.float32(v)) - mean[j]) / scale[j])
        h = missing if home is None else home if home in cats else other
        if h is not None:
            x[i, 2 + cats.index(h)] = 1.0
        x[i, -1] = 1.0 if guar else 0.0
    return torch.tensor(x)


def fit_torch(module, x, target, multiclass):
    """A few hundred Adam steps: the weights mean something."""
    opt = torch.optim.Adam(module.parameters(), lr=0.01)
    for _ in range(300):
        opt.zero_grad()
        out = module(x)
        if multiclass:
            loss = torch.nn.functional.nll_loss(torch.log(out + 1e-9), target)
        else:
            loss = torch.nn.functional.binary_cross_entropy(out[:, 0], target.float())
        loss.backward()
        opt.step()
    module.eval()
    return module


def torch_onnx(module, nin):
    buf = io.BytesIO()
    torch.onnx.export(module, torch.zeros(2, nin), buf, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=13)
    return buf.getvalue()


def sk_object_array(data):
    """Rows as ColumnTransformer takes them without pandas: NaN is NULL."""
    return np.array([[np.nan if v is None else (float(v) if j == 3 else v) for j, v in enumerate(r)]
                     for r in data], dtype=object)


def in_graph_onehot(mlp, scaler, cats):
    """skl2onnx's shape for the whole pipeline: Scaler, OneHotEncoder, Concat."""
    nodes, inits = [], []
    nodes.append(helper.make_node("Scaler", ["num"], ["scaled"], domain="ai.onnx.ml",
                                  offset=[float(v) for v in scaler.mean_],
                                  scale=[float(1 / v) for v in scaler.scale_]))
    nodes.append(helper.make_node("OneHotEncoder", ["home"], ["ohe"], domain="ai.onnx.ml",
                                  cats_strings=list(cats), zeros=1))
    inits.append(numpy_helper.from_array(np.array([-1, len(cats)], dtype=np.int64), "ohe_shape"))
    nodes.append(helper.make_node("Reshape", ["ohe", "ohe_shape"], ["ohe2"]))
    nodes.append(helper.make_node("Concat", ["scaled", "ohe2", "guarantor"], ["X"], axis=1))
    y = network(mlp, nodes, inits)
    nodes.append(helper.make_node("Identity", [y], ["probabilities"]))
    graph = helper.make_graph(nodes, "pipeline", [
        helper.make_tensor_value_info("num", TensorProto.FLOAT, [None, 2]),
        helper.make_tensor_value_info("home", TensorProto.STRING, [None, 1]),
        helper.make_tensor_value_info("guarantor", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 1])], inits)
    model = helper.make_model(graph, producer_name="skl2onnx", opset_imports=[
        helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 8
    return model.SerializeToString()


def main(outdir):
    rng = np.random.default_rng(19)
    torch.manual_seed(19)
    train, y = rows(rng, NTRAIN, False)
    test, _ = rows(rng, NTEST, True)
    inc = np.array([r[0] for r in train])
    age = np.array([r[1] for r in train])
    mean = [float(inc.mean()), float(age.mean())]
    scale = [float(inc.std()), float(age.std())]
    models, expected, labels = [], [], []

    # PyTorch, binary, one-hot with handle_unknown='ignore'
    L = torch.nn.Linear
    nin = 2 + len(HOMES) + 1
    m1 = fit_torch(torch.nn.Sequential(L(nin, 16), torch.nn.ReLU(), L(16, 8), torch.nn.ReLU(), L(8, 1),
                                       torch.nn.Sigmoid()),
                   torch_inputs(train, mean, scale, HOMES), torch.tensor(y), False)
    feats = ["income", "age", {"name": "home", "type": "text", "categories": HOMES},
             {"name": "guarantor", "type": "boolean"}]
    models.append(("torch_onehot", torch_onnx(m1, nin),
                   {"features": feats, "classes": ["good", "bad"], "mean": mean + [0], "scale": scale + [1]}, None))
    with torch.no_grad():
        p = m1(torch_inputs(test, mean, scale, HOMES))
    expected += [("torch_onehot", i, -1, float(p[i, 0])) for i in range(NTEST)]

    # PyTorch, multiclass, "other" and "unknown" columns
    cats = HOMES[:3] + ["other", "unknown"]
    nin = 2 + len(cats) + 1
    klass = torch.tensor([0 if r[0] < 50000 else 1 if r[0] < 100000 else 2 for r in train])
    m2 = fit_torch(torch.nn.Sequential(L(nin, 12), torch.nn.Tanh(), L(12, 3), torch.nn.Softmax(dim=1)),
                   torch_inputs(train, mean, scale, cats, "other", "unknown"), klass, True)
    feats = ["income", "age", {"name": "home", "type": "text", "categories": cats,
                               "other": "other", "missing": "unknown"},
             {"name": "guarantor", "type": "boolean"}]
    models.append(("torch_buckets", torch_onnx(m2, nin),
                   {"features": feats, "classes": ["low", "mid", "high"], "mean": mean + [0],
                    "scale": scale + [1]}, None))
    with torch.no_grad():
        p = m2(torch_inputs(test, mean, scale, cats, "other", "unknown"))
    expected += [("torch_buckets", i, k, float(p[i, k])) for i in range(NTEST) for k in range(3)]

    # scikit-learn pipeline; the MLP converted alone, the rest as options
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), [0, 1]),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), [2]),
        ("bool", SimpleImputer(strategy="constant", fill_value=0.0), [3])], sparse_threshold=0)
    xtr = pre.fit_transform(sk_object_array(train)).astype(np.float64)
    ylab = np.where(y, "bad", "good")
    mlp = MLPClassifier((12,), activation="relu", max_iter=400, random_state=19).fit(xtr, ylab)
    scaler = pre.named_transformers_["num"][-1]
    ohe = pre.named_transformers_["cat"][-1]
    skcats = [str(c) for c in ohe.categories_[0]]
    feats = ["income", "age", {"name": "home", "type": "text", "categories": skcats, "missing": "missing"},
             {"name": "guarantor", "type": "boolean"}]
    models.append(("sk_pipeline", model_bytes("sk_pipeline", classifier_graph(mlp), nf=xtr.shape[1]),
                   {"features": feats, "mean": [float(v) for v in scaler.mean_] + [0],
                    "scale": [float(v) for v in scaler.scale_] + [1]}, None))
    xte = pre.transform(sk_object_array(test)).astype(np.float64)
    p = mlp.predict_proba(xte)
    expected += [("sk_pipeline", i, k, float(p[i, k])) for i in range(NTEST) for k in range(2)]
    labels += [("sk_pipeline", i, str(v)) for i, v in enumerate(mlp.predict(xte))]

    # the whole pipeline in the graph: refused, naming the one-hot encoder
    models.append(("sk_graph_onehot", in_graph_onehot(mlp, scaler, skcats), {}, "OneHotEncoder"))

    out = [
        "CREATE TABLE text_models (name text PRIMARY KEY, onnx bytea, options jsonb, expect text);",
        "CREATE TABLE text_rows (id int PRIMARY KEY, income float8, age float8, home text, guarantor boolean);",
        "CREATE TABLE text_expected (name text, id int, k int, value float8);",
        "CREATE TABLE text_labels (name text, id int, label text);",
    ]
    lit = lambda v: "NULL" if v is None else sql_str(v) if isinstance(v, str) else str(v).lower() \
        if isinstance(v, bool) else repr(v)
    for i, r in enumerate(test):
        out.append("INSERT INTO text_rows VALUES (%d, %s);" % (i, ", ".join(lit(v) for v in r)))
    for name, onnx_bytes, options, expect in models:
        out.append("INSERT INTO text_models VALUES (%s, decode(%s, 'base64'), %s, %s);" % (
            sql_str(name), sql_str(base64.b64encode(onnx_bytes).decode()), sql_str(json.dumps(options)),
            "NULL" if expect is None else sql_str(expect)))
    out.append("INSERT INTO text_expected VALUES %s;" % ", ".join(
        "(%s, %d, %d, %r)" % (sql_str(n), i, k, v) for n, i, k, v in expected))
    out.append("INSERT INTO text_labels VALUES %s;" % ", ".join(
        "(%s, %d, %s)" % (sql_str(n), i, sql_str(v)) for n, i, v in labels))
    with open(outdir + "/text.sql", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
