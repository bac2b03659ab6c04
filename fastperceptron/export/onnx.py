"""A trained batch as one ONNX graph (``pip install 'fastperceptron[onnx]'``).

``to_onnx(result, path)`` writes every model of a batch into one graph that ONNX Runtime (or any
ONNX runtime: C++, C#, Java, JavaScript, a phone) evaluates without Python:

* a batch on shared inputs: input ``X`` (M, D); the B models' weights stacked as one (D, B·K)
  initializer, one MatMul, the biases added, one Sigmoid. Outputs, by choice: ``probabilities``
  (M, B, K), and/or the ensemble's ``mean`` (M, K) and ``std`` (M, K) over the models (ddof=0,
  as :meth:`TrainResult.ensemble_summary`).
* a groups batch: inputs ``X`` (M, D) and ``group`` (M,), the rows' labels (int64 or string, as
  trained). A LabelEncoder maps labels to models, a Gather takes each row's weights, a batched
  MatMul forms the row-wise product, then the bias and a Sigmoid: output ``probabilities`` (M, K).
  A batch with a fallback model routes the groups trained on fewer than ``min_rows`` rows to it,
  and outputs ``fallback`` (M,) bool, True for the rows it served; labels never seen in training
  go to the fallback model with ``unseen="fallback"``, else they give NaN probabilities.
* a pooled batch (``groups=[outer, …, inner]``, SPEC §8): inputs ``X`` and one label tensor per
  level (named after the levels, else ``level1``, …): int64 for a level of integer labels (as a
  groups graph takes them), else text. The routing to parents
  is in the graph: a path never seen is served by its deepest seen ancestor (``unseen="parent"``,
  the default) or gives NaN (``"nan"``); output ``probabilities`` (M, K) and ``level`` (M,), the
  level that served each row (0: the global model; −1 for a row that got NaN), as :meth:`TrainResult.served_by`.

float32 and float64 graphs (``dtype``; default the batch's). The graph uses ONNX opset 18 (and
ai.onnx.ml 2 for groups), IR version 8, readable by ONNX Runtime 1.14 and later. The same node
builders serve the scikit-learn converters of ``fastperceptron.sklearn.onnx``.
"""

from __future__ import annotations

import json

from pathlib import Path

import numpy as np

from ..serving import level_starts

__all__ = ["to_onnx", "OPSET", "OUTPUTS"]

OPSET = 18
ML_OPSET = 2
IR_VERSION = 8
OUTPUTS = ("probabilities", "mean", "std")
_PROTOBUF_LIMIT = 2**31 - 2**26  # a graph's protobuf must stay under 2 GiB, with room for the rest


def require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("exporting to ONNX needs the onnx package: pip install 'fastperceptron[onnx]'") from None
    return onnx


class Graph:
    """Nodes and initializers of a standalone graph being built. The scikit-learn converters use
    an adapter with the same three methods over skl2onnx's container."""

    def __init__(self, opset: int = OPSET):
        self.onnx = require_onnx()
        self.opset = opset
        self.nodes, self.initializers = [], []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, array: np.ndarray) -> str:
        name = self._name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, *, out: str | None = None, domain: str = "",
           **attrs) -> str:
        out = out or self._name(hint)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], domain=domain, **attrs))
        return out


def reduce(g, op_type: str, x: str, axis: int, keepdims: int, out=None) -> str:
    """ReduceMean/ReduceSum over one axis: axes as an input from opset 18 (ReduceSum: 13)."""
    since = 18 if op_type == "ReduceMean" else 13
    if g.opset >= since:
        return g.op(op_type, [x, g.const("axes", np.array([axis], np.int64))], op_type, out=out, keepdims=keepdims)
    return g.op(op_type, [x], op_type, out=out, axes=[axis], keepdims=keepdims)


def ensemble_nodes(g, x: str, weights: np.ndarray, bias, dtype, outputs=("probabilities",), names=None) -> dict:
    """The shared-inputs graph's nodes from input ``x`` (M, D): {output name: tensor name}.

    weights (B, D, K), bias (B, K) or None; ``outputs`` among :data:`OUTPUTS`; ``names`` maps an
    output to the tensor name it must have (the graph's outputs)."""
    names = names or {}
    B, D, K = weights.shape
    W = np.asarray(weights, dtype=dtype).transpose(1, 0, 2).reshape(D, B * K)
    z = g.op("MatMul", [x, g.const("weights", W)], "z")
    if bias is not None:
        z = g.op("Add", [z, g.const("bias", np.asarray(bias, dtype=dtype).reshape(B * K))], "z_bias")
    p = g.op("Sigmoid", [z], "sigmoid")
    shape = g.const("shape", np.array([0, B, K], np.int64))  # 0: keep M
    out = {}
    probabilities = g.op("Reshape", [p, shape], "probabilities", out=names.get("probabilities"))
    if "probabilities" in outputs:
        out["probabilities"] = probabilities
    if "mean" in outputs or "std" in outputs:
        mean = reduce(g, "ReduceMean", probabilities, 1, 0, out=names.get("mean"))
        if "mean" in outputs:
            out["mean"] = mean
        if "std" in outputs:
            centre = reduce(g, "ReduceMean", probabilities, 1, 1)
            deviation = g.op("Sub", [probabilities, centre], "deviation")
            square = g.op("Mul", [deviation, deviation], "square")
            variance = reduce(g, "ReduceMean", square, 1, 0)
            out["std"] = g.op("Sqrt", [variance], "std", out=names.get("std"))
    return out


def _group_nodes(g, x: str, group: str, result, dtype, unseen: str) -> dict:
    """The groups graph's nodes: each row by its group's model (or the fallback); see the module."""
    G, D, K = result.weights.shape
    W, c = result._table()  # (G + 1, D, K): the groups' models, then the fallback
    fallback = result.fallback_weights is not None
    nan = G + 1  # a model of NaN weights: what a label never seen in training gets without a fallback
    W = np.concatenate([W, np.full((1, D, K), np.nan)]).astype(dtype)
    values = np.arange(G, dtype=np.int64)
    if fallback and result.min_rows > 0:
        values = np.where(result.group_sizes < result.min_rows, G, values)
    labels = result.groups
    keys = ({"keys_strings": [str(v) for v in labels]} if labels.dtype.kind == "U"
            else {"keys_int64s": [int(v) for v in labels]})
    default = G if unseen == "fallback" else nan
    index = g.op("LabelEncoder", [group], "model", domain="ai.onnx.ml", values_int64s=values.tolist(),
                 default_int64=int(default), **keys)
    rows_w = g.op("Gather", [g.const("weights", W), index], "row_weights", axis=0)  # (M, D, K)
    x3 = g.op("Unsqueeze", [x, g.const("axes", np.array([1], np.int64))], "x_row")  # (M, 1, D)
    z = g.op("MatMul", [x3, rows_w], "z")                                            # (M, 1, K)
    z = g.op("Squeeze", [z, g.const("axes", np.array([1], np.int64))], "z_rows")    # (M, K)
    if c is not None:
        c = np.concatenate([c, np.zeros((1, K))]).astype(dtype)
        z = g.op("Add", [z, g.op("Gather", [g.const("bias", c), index], "row_bias", axis=0)], "z_bias")
    out = {"probabilities": g.op("Sigmoid", [z], "p", out="probabilities")}
    if fallback:
        out["fallback"] = g.op("Equal", [index, g.const("fallback_model", np.array(G, np.int64))], "served",
                               out="fallback")
    return out


def _pooled_nodes(g, x: str, levels: list, result, dtype, unseen: str) -> dict:
    """A pooled batch's nodes: each row by its path's model, else its deepest seen ancestor's
    (``unseen="parent"``) or NaN (``"nan"``). Level l's label (text) is coded in that level's own
    labels, the code combined with the parent path's index (index·V + code) and looked up among
    level l's paths; the deepest level found serves the row."""
    h = result.pooling.hierarchy
    W, c = result._table()  # the innermost paths, then levels 0 .. L − 1
    D, K = W.shape[1:]
    nan = W.shape[0]
    W = np.concatenate([W, np.full((1, D, K), np.nan)]).astype(dtype)
    start = level_starts(result)  # first row of level l = 0 .. L
    minus = g.const("minus_one", np.array(-1, np.int64)) if unseen != "parent" or h.n_levels > 1 else None
    zero = g.const("zero", np.array(0, np.int64))
    chosen = g.op("Expand", [g.const("global", np.array(start[0] if unseen == "parent" else nan, np.int64)),
                             g.op("Shape", [levels[0]], "rows")], "chosen")
    served = g.op("Expand", [zero if unseen == "parent" else minus, g.op("Shape", [levels[0]], "rows")], "served")
    parent = None
    for j in range(h.n_levels):
        paths = h.paths[j]
        vocab, code_of = np.unique(h.own_labels(j), return_inverse=True)
        keys = ({"keys_int64s": [int(v) for v in vocab]} if _kind(h, j) == "int" else {"keys_strings": vocab.tolist()})
        code = g.op("LabelEncoder", [levels[j]], f"code{j + 1}", domain="ai.onnx.ml",
                    values_int64s=list(range(vocab.size)), default_int64=-1, **keys)
        keys = code_of.astype(np.int64) if j == 0 else h.parent[j] * vocab.size + code_of
        key = code if parent is None else g.op(
            "Where", [g.op("Less", [code, zero], "unknown"), minus,
                      g.op("Add", [g.op("Mul", [parent, g.const("width", np.array(vocab.size, np.int64))], "scaled"),
                                   code], "key")], "key_known")
        index = g.op("LabelEncoder", [key], f"path{j + 1}", domain="ai.onnx.ml", keys_int64s=keys.tolist(),
                     values_int64s=list(range(paths.size)), default_int64=-1)
        found = g.op("GreaterOrEqual", [index, zero], f"found{j + 1}")
        inner = j + 1 == h.n_levels
        if unseen == "parent" or inner:  # ("nan": only the row's own path serves it; level −1 for the others)
            level_start = g.const(f"start{j + 1}", np.array(start[j + 1], np.int64))
            chosen = g.op("Where", [found, g.op("Add", [index, level_start], "row"), chosen], "chosen")
            served = g.op("Where", [found, g.const(f"level{j + 1}", np.array(j + 1, np.int64)), served], "served")
        parent = index
    rows_w = g.op("Gather", [g.const("weights", W), chosen], "row_weights", axis=0)     # (M, D, K)
    x3 = g.op("Unsqueeze", [x, g.const("axes", np.array([1], np.int64))], "x_row")    # (M, 1, D)
    z = g.op("Squeeze", [g.op("MatMul", [x3, rows_w], "z"), g.const("axes", np.array([1], np.int64))], "z_rows")
    if c is not None:
        c = np.concatenate([c, np.zeros((1, K))]).astype(dtype)
        z = g.op("Add", [z, g.op("Gather", [g.const("bias", c), chosen], "row_bias", axis=0)], "z_bias")
    return {"probabilities": g.op("Sigmoid", [z], "p", out="probabilities"),
            "level": g.op("Identity", [served], "level", out="level")}


def _kind(hierarchy, level: int) -> str:
    """A level's labels as given, "int" or "str" (text for a file written before kinds were kept)."""
    return "str" if hierarchy.kinds is None else hierarchy.kinds[level]


def _input_names(names) -> list[str]:
    """The level inputs' names: the levels' own when they are distinct identifiers (not X)."""
    clean = [str(n) for n in names]
    if all(n.isidentifier() for n in clean) and len(set(clean)) == len(clean) and "X" not in clean:
        return clean
    return [f"level{j + 1}" for j in range(len(clean))]


def build(result, outputs=("probabilities",), dtype=None, unseen: str | None = None):
    """The ``onnx.ModelProto`` of ``result`` (see the module docstring)."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    dtype = np.dtype(dtype or result.dtype)
    if dtype.name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype.name!r}")
    outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    bad = [o for o in outputs if o not in OUTPUTS]
    if bad or not outputs:
        raise ValueError(f"outputs must be one or more of {OUTPUTS}, got {outputs!r}")
    pooled = result.pooling is not None
    unseen = ("parent" if pooled else "nan") if unseen is None else unseen
    allowed = ("parent", "nan") if pooled else ("nan", "fallback")
    if unseen not in allowed:
        raise ValueError(f"unseen must be {allowed[0]!r} or {allowed[1]!r}" + (" for a pooled batch" if pooled else "")
                         + f", got {unseen!r}")
    B, D, K = result.weights.shape
    size = (B + 2) * (D + 1) * K * dtype.itemsize
    if size > _PROTOBUF_LIMIT:
        raise ValueError(f"the graph would hold {size / 2**30:.1f} GiB of weights, over ONNX's 2 GiB protobuf limit: "
                         "export fewer models at a time (result[a:b]) or use dtype='float32'")
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    g = Graph()
    names = result.metadata.get("feature_names")
    order = f"the columns {', '.join(names)}, in this order" if names else f"{D} feature columns, in training order"
    inputs = [helper.make_tensor_value_info("X", elem, ["M", D], doc_string=f"M rows of {order}")]
    if pooled:
        if outputs != ("probabilities",):
            raise ValueError("a pooled batch serves each row by one model: its graph outputs 'probabilities' "
                             "(and 'level'), not an ensemble's mean or std")
        level_names = _input_names(result.pooling.hierarchy.names)
        h = result.pooling.hierarchy
        inputs += [helper.make_tensor_value_info(n, TensorProto.INT64 if _kind(h, j) == "int" else TensorProto.STRING,
                                                 ["M"], doc_string=f"level {j + 1}'s labels ({h.names[j]})")
                   for j, n in enumerate(level_names)]
        _pooled_nodes(g, "X", level_names, result, dtype, unseen)
        outs = [helper.make_tensor_value_info("probabilities", elem, ["M", K]),
                helper.make_tensor_value_info("level", TensorProto.INT64, ["M"])]
        opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)]
    elif result.groups is not None:
        if outputs != ("probabilities",):
            raise ValueError("a groups batch serves each row by one model: its graph outputs 'probabilities' "
                             "(and 'fallback'), not an ensemble's mean or std")
        if unseen == "fallback" and result.fallback_weights is None:
            raise ValueError("unseen='fallback' needs a fallback model: train with fallback=True, or attach one "
                             "with result.with_fallback(model)")
        label = TensorProto.STRING if result.groups.dtype.kind == "U" else TensorProto.INT64
        inputs.append(helper.make_tensor_value_info("group", label, ["M"]))
        made = _group_nodes(g, "X", "group", result, dtype, unseen)
        outs = [helper.make_tensor_value_info("probabilities", elem, ["M", K])]
        if "fallback" in made:
            outs.append(helper.make_tensor_value_info("fallback", TensorProto.BOOL, ["M"]))
        opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)]
    else:
        if unseen != "nan":
            raise ValueError("unseen= applies to a groups batch")
        ensemble_nodes(g, "X", result.weights, result.bias, dtype, outputs, names={o: o for o in outputs})
        shapes = {"probabilities": ["M", B, K], "mean": ["M", K], "std": ["M", K]}
        outs = [helper.make_tensor_value_info(o, elem, shapes[o]) for o in outputs]
        opsets = [helper.make_opsetid("", OPSET)]
    graph = helper.make_graph(g.nodes, "fastperceptron", inputs, outs, initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=opsets, producer_name="fastperceptron",
                              doc_string=f"{B:,} sigmoid perceptrons trained with fastperceptron ({result.backend})")
    model.ir_version = IR_VERSION
    names = {key: json.dumps(result.metadata[key]) for key in ("feature_names", "target_names", "group_by")
             if result.metadata.get(key) is not None}
    if names:  # the columns of X and the outputs, in order (JSON), for whoever serves the graph
        helper.set_model_props(model, names)
    onnx.checker.check_model(model)
    return model


def to_onnx(result, path=None, *, outputs=("probabilities",), dtype=None, unseen: str | None = None):
    """Build the graph of ``result`` and, with ``path``, write it there atomically; returns the
    ``onnx.ModelProto``."""
    model = build(result, outputs=outputs, dtype=dtype, unseen=unseen)
    if path is not None:
        from ..io.files import atomic_write, check_target

        target = check_target(Path(path), ".onnx")
        atomic_write(target, lambda f: f.write(model.SerializeToString()))
    return model
