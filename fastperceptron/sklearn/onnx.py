"""skl2onnx converters for the scikit-learn estimators, so that a pipeline holding them exports
with ``skl2onnx.to_onnx`` like any scikit-learn pipeline (``pip install skl2onnx``).

``register()`` registers them; ``fastperceptron.sklearn`` calls it on import when skl2onnx is
installed. The graph is the batch's (``fastperceptron.export.onnx.ensemble_nodes``: one MatMul of
all models' stacked weights, the biases, a Sigmoid), then what ``predict_proba`` does: for binary
targets [1 − p, p] averaged over models, for multiclass each model's outputs normalised to sum to
1 then averaged, for multi-label the average; the label is the class of ``predict`` (p ≥ 0.5 for
binary and multi-label, the first largest probability for multiclass). skl2onnx then adds its
usual ZipMap (options ``zipmap``, ``nocl``) as for any classifier.
"""

from __future__ import annotations

import numpy as np

__all__ = ["register"]


class _Container:
    """The builder interface of ``export.onnx.Graph`` over skl2onnx's scope and container."""

    def __init__(self, scope, container):
        from onnx import numpy_helper

        self.scope, self.container, self.numpy_helper = scope, container, numpy_helper
        self.opset = container.target_opset

    def const(self, hint: str, array: np.ndarray) -> str:
        from onnx import TensorProto

        name = self.scope.get_unique_variable_name(hint)
        if array.dtype == object:  # strings: as values (skl2onnx copies a TensorProto's raw data only)
            self.container.add_initializer(name, TensorProto.STRING, list(array.shape), [str(v) for v in array.ravel()])
            return name
        tensor = self.numpy_helper.from_array(np.ascontiguousarray(array), name)
        self.container.add_initializer(name, tensor.data_type, list(array.shape), tensor)
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, *, out: str | None = None, domain: str = "",
           **attrs) -> str:
        out = out or self.scope.get_unique_variable_name(hint)
        self.container.add_node(op_type, inputs, [out], op_domain=domain, name=self.scope.get_unique_operator_name(
            op_type), **attrs)
        return out


def _shape_calculator(operator):
    from skl2onnx.common.data_types import Int64TensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    calculate_linear_classifier_output_shapes(operator)
    model = operator.raw_operator
    if model._kind == "multilabel":  # a 0/1 label per output, (M, K)
        operator.outputs[0].set_type(Int64TensorType([operator.inputs[0].get_first_dimension(),
                                                      len(model.classes_)]))


def _converter(scope, operator, container):
    from skl2onnx.common.data_types import DoubleTensorType

    from ..export.onnx import ensemble_nodes, reduce

    model = operator.raw_operator
    r = model.result_
    dtype = np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32
    if container.target_opset < 13:
        raise RuntimeError(f"fastperceptron's converters need ONNX opset 13 or later, got target_opset="
                           f"{container.target_opset}")
    g = _Container(scope, container)
    P = ensemble_nodes(g, operator.inputs[0].full_name, r.weights, r.bias, dtype)["probabilities"]  # (M, B, K)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    if model._kind != "multiclass":
        half = g.const("half", np.array(0.5, dtype))
    if model._kind == "binary":
        p = reduce(g, "ReduceMean", P, 1, 0)                                        # (M, 1)
        q = g.op("Sub", [g.const("one", np.array(1.0, dtype)), p], "q")
        g.op("Concat", [q, p], "proba", out=proba, axis=1)
        index = g.op("Cast", [g.op("GreaterOrEqual", [p, half], "positive")], "index", to=7)  # int64
        index = g.op("Squeeze", [index, g.const("axes", np.array([1], np.int64))], "index_rows")
    elif model._kind == "multiclass":
        K = r.weights.shape[2]
        total = reduce(g, "ReduceSum", P, 2, 1)                                      # (M, B, 1)
        share = g.op("Div", [P, total], "share")
        share = g.op("Where", [g.op("Greater", [total, g.const("zero", np.array(0.0, dtype))], "positive"), share,
                               g.const("uniform", np.array(1.0 / K, dtype))], "normalised")
        p = reduce(g, "ReduceMean", share, 1, 0, out=proba)                          # (M, K)
        index = g.op("ArgMax", [p], "index", axis=1, keepdims=0)
    else:  # multi-label
        p = reduce(g, "ReduceMean", P, 1, 0, out=proba)
        g.op("Cast", [g.op("GreaterOrEqual", [p, half], "positive")], "label", out=label, to=7)
        return
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "US":
        table = classes.astype(object)
    elif classes.dtype.kind in "iub" or (classes.dtype.kind == "f" and np.all(classes == np.round(classes))):
        table = classes.astype(np.int64)
    else:
        raise NotImplementedError(f"class labels of dtype {classes.dtype} with fractions cannot be an ONNX label")
    g.op("Gather", [g.const("classes", table), index], "label", out=label, axis=0)


def register() -> None:
    """Register the converters of PerceptronClassifier and PerceptronEnsembleClassifier with skl2onnx."""
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        raise ImportError("exporting a scikit-learn pipeline to ONNX needs skl2onnx: "
                          "pip install 'fastperceptron[onnx]' skl2onnx") from None
    from .estimators import PerceptronClassifier, PerceptronEnsembleClassifier

    for cls in (PerceptronClassifier, PerceptronEnsembleClassifier):
        update_registered_converter(cls, f"FastPerceptron{cls.__name__}", _shape_calculator, _converter,
                                    options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
                                    overwrite=True)
