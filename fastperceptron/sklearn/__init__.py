"""scikit-learn estimators (an edge: the public API plus scikit-learn's checks; nothing below imports
it): :class:`PerceptronClassifier` and :class:`PerceptronEnsembleClassifier`
(:mod:`.estimators`), and their skl2onnx converters (:mod:`.onnx`), registered on import when
skl2onnx is installed, so that pipelines holding them export with ``skl2onnx.to_onnx``.

``pip install 'fastperceptron[sklearn]'``.
"""

import warnings
from importlib.util import find_spec

from .estimators import PerceptronClassifier, PerceptronEnsembleClassifier

__all__ = ["PerceptronClassifier", "PerceptronEnsembleClassifier"]


def _register_onnx_converters() -> None:
    if find_spec("skl2onnx") is None:
        return
    try:
        from .onnx import register

        register()
    except Exception as exc:  # noqa: BLE001 - a broken skl2onnx must not break the estimators
        warnings.warn(f"fastperceptron could not register its skl2onnx converters: {exc}", RuntimeWarning,
                      stacklevel=2)


_register_onnx_converters()
