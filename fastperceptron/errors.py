"""The exceptions fastperceptron raises beyond the usual ValueError and TypeError."""


class FastPerceptronError(Exception):
    """Base class of fastperceptron's own errors."""


class BackendUnavailableError(FastPerceptronError, RuntimeError):
    """A backend was asked for that cannot run here; the message says why and how to fix it."""


class ModelFileError(FastPerceptronError, ValueError):
    """A model file is truncated, corrupt, foreign or from a newer fastperceptron."""


class KernelCompileError(FastPerceptronError, RuntimeError):
    """A compiled backend could not import or compile its kernel; with backend="auto" the run
    falls back to the next usable backend (numba to numpy, cuda to cupy) with a warning."""


class UnsupportedProblemError(FastPerceptronError, ValueError):
    """A backend cannot train a problem of this shape (the cuda kernel's limit on D*K); with
    backend="auto" the run moves on to the next backend."""


class ConvergenceWarning(UserWarning):
    """Some models of a second-order solver (solver="newton" or "lbfgs") stopped before converging;
    ``result.converged`` says which."""


class StabilityWarning(UserWarning):
    """Said before training when the run would waste its time: gradient steps above the data's stable
    bound or on columns far from unit scale, or a batch of identical second-order fits. The message
    names the problem and the fix."""


class ShrinkWarning(UserWarning):
    """Partial pooling's cross-validation chose a value at an end of ``shrink_grid``: the best
    shrink may lie beyond the values tried; the message names the level and the fix."""


class CovarianceWarning(UserWarning):
    """Some models' covariance (``train(..., cov=...)``) is undefined, so NaN: a singular Hessian at
    the optimum (collinear columns among a model's rows, unpenalised; the message names the terms
    that move together), HC1 with no more rows than parameters, or "cluster" with one cluster."""


class UnseenLevelWarning(UserWarning):
    """Rows to predict hold a level of a categorical column never seen in training: 0 in all of that
    column's inputs (the model answers from the others)."""



def caller_level() -> int:
    """The ``stacklevel`` of ``warnings.warn`` (called by this function's caller) that names the first
    frame outside fastperceptron: the user's line, however deep the warning is raised."""
    import sys
    from pathlib import Path

    package = str(Path(__file__).parent)
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
