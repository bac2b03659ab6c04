"""fastperceptron: train thousands to millions of small sigmoid perceptrons at once.

>>> import fastperceptron as fp
>>> X, y = fp.datasets.seed()
>>> r = fp.train(X, y, seeds=[1], init="legacy", backend="numpy")
>>> r.weights[0, :, 0].round(8).tolist()
[10.38040701, -0.20641179, -4.98452047]
"""

from .version import __version__  # noqa: E402,F401

from . import datasets, init, metrics, resample  # noqa: E402
from .reference import loop  # noqa: E402  (fp.loop: the reference loop and its sigmoid)
from .resample import bootstrap_weights  # noqa: E402
from .registry import BackendInfo, backends  # noqa: E402
from .errors import (  # noqa: E402
    BackendUnavailableError, ConvergenceWarning, FastPerceptronError, ModelFileError, ShrinkWarning, StabilityWarning,
    UnseenLevelWarning, UnsupportedProblemError, CovarianceWarning)
from .result import EnsembleSummary, TrainResult, load  # noqa: E402
from .training import train  # noqa: E402
from .planner import Plan, explain  # noqa: E402

__all__ = [
    "train",
    "explain",
    "Plan",
    "bootstrap_weights",
    "TrainResult",
    "EnsembleSummary",
    "load",
    "backends",
    "BackendInfo",
    "datasets",
    "metrics",
    "loop",
    "resample",
    "init",
    "FastPerceptronError",
    "ConvergenceWarning",
    "StabilityWarning",
    "ShrinkWarning",
    "UnseenLevelWarning",
    "CovarianceWarning",
    "BackendUnavailableError",
    "ModelFileError",
    "UnsupportedProblemError",
    "__version__",
]
