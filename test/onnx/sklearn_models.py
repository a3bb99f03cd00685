#!/usr/bin/python3
"""test/onnx/sklearn_models.py: scikit-learn MLPs as skl2onnx writes them,
and their outputs on fixed rows, for test/sh/onnx.sh.

    sklearn_models.py OUTDIR

skl2onnx is not in Debian 12, so the graphs are built here with the onnx
package (python3-onnx) node for node as skl2onnx's converter for
sklearn.neural_network writes them (skl2onnx/operator_converters/
multilayer_perceptron.py, with the ZipMap its parser adds): input Cast to
float; MatMul + Add layers with the hidden activation; the output
activation (Sigmoid, Softmax, Identity); a classifier's probabilities
(binary: Concat of 1 - p and p), ArgMax, ArrayFeatureExtractor of the
classes, Reshape to the label, ZipMap of the probabilities; a regressor's
Reshape to [N, 1].  Each graph passes onnx.checker.

Writes OUTDIR/sklearn.sql: sk_models (name, onnx, options, expect),
sk_rows (id, x1..x6), sk_expected (name, id, k, value: scikit-learn's
predict_proba column k, or k -1 its predict), sk_labels (name, id, label:
its predict).  Models with expect set must be refused naming it.
"""
import base64
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.neural_network import MLPClassifier, MLPRegressor

NF = 6
NROWS = 300
ACT = {"identity": "Identity", "tanh": "Tanh", "logistic": "Sigmoid", "relu": "Relu", "softmax": "Softmax"}


def network(mlp, nodes, inits):
    """Cast of the input, the layers, the output activation: skl2onnx's _predict."""
    nodes.append(helper.make_node("Cast", ["X"], ["cast_input"], to=TensorProto.FLOAT))
    act = "cast_input"
    for i, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        inits.append(numpy_helper.from_array(w.astype(np.float32), "coefficient%d" % i))
        inits.append(numpy_helper.from_array(b.astype(np.float32).reshape(1, -1), "intercepts%d" % i))
        nodes.append(helper.make_node("MatMul", [act, "coefficient%d" % i], ["mul_result%d" % i]))
        nodes.append(helper.make_node("Add", ["mul_result%d" % i, "intercepts%d" % i], ["add_result%d" % i]))
        act = "add_result%d" % i
        if i + 1 < len(mlp.coefs_):
            nodes.append(helper.make_node(ACT[mlp.activation], [act], ["next_activations%d" % i]))
            act = "next_activations%d" % i
    nodes.append(helper.make_node(ACT[mlp.out_activation_], [act], ["out_activations_result"]))
    return "out_activations_result"


def classifier_graph(mlp, extra=None):
    """skl2onnx's MLPClassifier graph (string or int64 labels, ZipMap)."""
    nodes, inits = [], []
    y = network(mlp, nodes, inits)
    if extra:                       # a node skl2onnx does not write
        nodes.append(helper.make_node(extra, [y, y], ["odd"]))
        y = "odd"
    strings = mlp.classes_.dtype.kind in "OU"
    if len(mlp.classes_) == 2:
        inits.append(numpy_helper.from_array(np.array(1, dtype=np.float32), "unity"))
        nodes.append(helper.make_node("Sub", ["unity", y], ["negative_class_proba"]))
        nodes.append(helper.make_node("Concat", ["negative_class_proba", y], ["probabilities"], axis=1))
    else:
        nodes.append(helper.make_node("Identity", [y], ["probabilities"]))
    if strings:
        inits.append(helper.make_tensor("classes", TensorProto.STRING, [len(mlp.classes_)],
                                        [c.encode() for c in mlp.classes_]))
    else:
        inits.append(numpy_helper.from_array(mlp.classes_.astype(np.int32), "classes"))
    nodes.append(helper.make_node("ArgMax", ["probabilities"], ["argmax_output"], axis=1))
    nodes.append(helper.make_node("ArrayFeatureExtractor", ["classes", "argmax_output"],
                                  ["array_feature_extractor_result"], domain="ai.onnx.ml"))
    inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "shape_tensor"))
    if strings:
        nodes.append(helper.make_node("Reshape", ["array_feature_extractor_result", "shape_tensor"], ["output_label"]))
        nodes.append(helper.make_node("ZipMap", ["probabilities"], ["output_probability"], domain="ai.onnx.ml",
                                      classlabels_strings=list(mlp.classes_)))
        label_type = TensorProto.STRING
    else:
        nodes.append(helper.make_node("Reshape", ["array_feature_extractor_result", "shape_tensor"], ["reshaped_result"]))
        nodes.append(helper.make_node("Cast", ["reshaped_result"], ["output_label"], to=TensorProto.INT64))
        nodes.append(helper.make_node("ZipMap", ["probabilities"], ["output_probability"], domain="ai.onnx.ml",
                                      classlabels_int64s=[int(c) for c in mlp.classes_]))
        label_type = TensorProto.INT64
    # seq(map(label, float)), spelt out: onnx 1.12 has no make_map_type_proto
    maps = onnx.TypeProto()
    maps.sequence_type.elem_type.map_type.key_type = TensorProto.STRING if strings else TensorProto.INT64
    maps.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    outputs = [helper.make_tensor_value_info("output_label", label_type, [None]),
               onnx.ValueInfoProto(name="output_probability", type=maps)]
    return nodes, inits, outputs


def regressor_graph(mlp):
    """skl2onnx's MLPRegressor graph."""
    nodes, inits = [], []
    y = network(mlp, nodes, inits)
    inits.append(numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "shape_tensor"))
    nodes.append(helper.make_node("Reshape", [y, "shape_tensor"], ["variable"]))
    return nodes, inits, [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])]


def model_bytes(name, parts, nf=NF):
    nodes, inits, outputs = parts
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, nf])],
                              outputs, inits)
    model = helper.make_model(graph, producer_name="skl2onnx", opset_imports=[
        helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def main(outdir):
    rng = np.random.default_rng(19)
    x = (rng.standard_normal((NROWS, NF)) * 2.0).astype(np.float32).astype(np.float64)
    score = x[:, 0] - 0.5 * x[:, 1] + 0.25 * x[:, 2] * x[:, 3]
    bin_y = np.where(score > 0, "good", "bad")
    multi_y = np.digitize(score, [-1.0, 1.0])              # int labels 0, 1, 2
    names = ["x%d" % (j + 1) for j in range(NF)]
    fit = dict(max_iter=300, random_state=19)
    models = [
        # name, fitted model, graph, options, expected error (None: imports)
        ("sk_bin_relu", MLPClassifier((16, 8), activation="relu", **fit).fit(x, bin_y), classifier_graph,
         {"features": names}, None),
        ("sk_multi_tanh", MLPClassifier((12,), activation="tanh", **fit).fit(x, multi_y), classifier_graph,
         {"features": names}, None),
        ("sk_reg_logistic", MLPRegressor((10,), activation="logistic", **fit).fit(x, score), regressor_graph,
         {"features": names}, None),
        ("sk_bad_identity", MLPClassifier((8,), activation="identity", **fit).fit(x, bin_y), classifier_graph,
         {}, "without an activation"),
        ("sk_bad_mul", MLPClassifier((8,), activation="relu", **fit).fit(x, bin_y),
         lambda m: classifier_graph(m, extra="Mul"), {}, "\"Mul\""),
    ]
    out = [
        "CREATE TABLE sk_models (name text PRIMARY KEY, onnx bytea, options jsonb, expect text);",
        "CREATE TABLE sk_rows (id int PRIMARY KEY, %s);" % ", ".join("%s float8" % n for n in names),
        "CREATE TABLE sk_expected (name text, id int, k int, value float8);",
        "CREATE TABLE sk_labels (name text, id int, label text);",
    ]
    for i in range(NROWS):
        out.append("INSERT INTO sk_rows VALUES (%d, %s);" % (i, ", ".join(repr(float(v)) for v in x[i])))
    for name, mlp, graph, options, expect in models:
        out.append("INSERT INTO sk_models VALUES (%s, decode(%s, 'base64'), %s, %s);" % (
            sql_str(name), sql_str(base64.b64encode(model_bytes(name, graph(mlp))).decode()),
            sql_str(json.dumps(options)), "NULL" if expect is None else sql_str(expect)))
        if expect is not None:
            continue
        rows = []
        if isinstance(mlp, MLPClassifier):
            p = mlp.predict_proba(x)
            rows += ["(%s, %d, %d, %r)" % (sql_str(name), i, k, float(p[i, k]))
                     for i in range(NROWS) for k in range(p.shape[1])]
            out.append("INSERT INTO sk_labels VALUES %s;" % ", ".join(
                "(%s, %d, %s)" % (sql_str(name), i, sql_str(str(v))) for i, v in enumerate(mlp.predict(x))))
        else:
            rows += ["(%s, %d, -1, %r)" % (sql_str(name), i, float(v)) for i, v in enumerate(mlp.predict(x))]
        out.append("INSERT INTO sk_expected VALUES %s;" % ", ".join(rows))
    with open(outdir + "/sklearn.sql", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
