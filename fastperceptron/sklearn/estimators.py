"""scikit-learn estimators: one perceptron, or a batch of them as a bagged ensemble.

``pip install 'fastperceptron[sklearn]'``. Only ``fastperceptron.sklearn`` imports scikit-learn.

- :class:`PerceptronClassifier`: one sigmoid unit per output, trained by ``fastperceptron.train``
  on any backend. Binary targets use one output; multiclass targets one output per class (one
  vs rest, probabilities normalised to sum to 1); multi-label 0/1 indicator matrices one output
  per label.
- :class:`PerceptronEnsembleClassifier`: ``n_estimators`` such models trained as one batch, each on
  its own bootstrap resample given as integer sample weights (no data copied), or with its own
  learning rate (a sweep in one fit); predictions average the models' probabilities.

Defaults differ from ``fp.train`` where scikit-learn users expect them to, so that a fit compares
with ``LogisticRegression()``'s: ``solver="auto"`` (Newton for up to 31 features, L-BFGS beyond:
each model trained to its optimum, with ``converged_`` saying so) and ``C=1.0`` (the L2 penalty
½·‖w‖²/C on the summed loss, scikit-learn's convention; the intercept is not penalised), with
``rule="logistic"`` (cross-entropy) and ``bias=True``. Equal C gives equal coefficients, to the
solvers' tolerance. ``solver="gd"`` is the tutorial's full-batch gradient descent (``iterations``
default 1,000), where ``learning_rate="auto"`` gives each model the step
1 / (Σ_n s_n (‖x_n‖² + 1) / 4 + 1/C), the inverse of a bound on the curvature of its loss, so
descent is stable on any data (the core sums gradients over samples, SPEC §2: a fixed step of 1
would diverge on large N). ``random_state=None`` means seed 0: fitting twice gives the same model.
A model that misses its optimum within ``iterations`` raises scikit-learn's ``ConvergenceWarning``.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from ..errors import ConvergenceWarning
from ..init import counter_uniform
from ..maths import sigmoid
from ..resample import bootstrap_weights
from ..solvers import warn_unconverged
from ..training import train

__all__ = ["PerceptronClassifier", "PerceptronEnsembleClassifier"]

_SUBSAMPLE_STREAM = 2


def _encode_targets(estimator, y):
    """Set ``classes_`` and the target kind; return Y (N, K) of 0/1 floats."""
    if y.ndim == 2 and y.shape[1] > 1:
        if type_of_target(y) != "multilabel-indicator":
            raise ValueError(
                f"a 2-D y must be a multi-label indicator matrix of 0/1 values, got target type {type_of_target(y)!r}"
            )
        estimator.classes_ = np.arange(y.shape[1])
        estimator._kind = "multilabel"
        return y.astype(np.float64)
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    binarizer = LabelBinarizer().fit(y)
    classes = binarizer.classes_
    if len(classes) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes, but the data contain only one "
            f"class: {classes[0]!r}"
        )
    estimator.classes_ = classes
    estimator._kind = "binary" if len(classes) == 2 else "multiclass"
    return binarizer.transform(y).astype(np.float64)  # (N, 1) for binary, one-hot (N, K) otherwise


def _probabilities(kind, P):
    """Per-output σ values -> the probabilities predict_proba reports (last axis: classes/labels)."""
    if kind == "binary":
        return np.concatenate([1.0 - P, P], axis=-1)
    if kind == "multiclass":
        total = P.sum(axis=-1, keepdims=True)
        K = P.shape[-1]
        return np.divide(P, total, out=np.full_like(P, 1.0 / K), where=total > 0)
    return P


def _seed(random_state) -> int:
    if random_state is None:
        return 0
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class _Base(ClassifierMixin, BaseEstimator):
    def __init__(self, *, solver, C, iterations, learning_rate, rule, bias, tol, backend, dtype, random_state,
                 standardize):
        self.solver = solver
        self.C = C
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.rule = rule
        self.bias = bias
        self.tol = tol
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.standardize = standardize

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _validate_fit(self, X, y, sample_weight):
        # C order: a DataFrame's columns become the same rows as an array's, so the same bits
        X, y = validate_data(self, X, y, multi_output=True, dtype=[np.float64, np.float32], order="C")
        X = np.asarray(X, dtype=np.float64)
        Y = _encode_targets(self, y)
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        return X, Y, sw

    def _l2(self) -> float:
        """1/C (0 for C=None), with a clear error for a C that is not a positive number."""
        C = self.C
        if C is None:
            return 0.0
        if isinstance(C, bool) or not isinstance(C, numbers.Real) or not (C > 0 and math.isfinite(C)):
            raise ValueError(f"C must be a positive number (the L2 penalty is 1/C), or None for none; got {C!r}")
        return 1.0 / float(C)

    def _learning_rate(self):
        """The learning rate to pass: only for solver "gd" ("auto": each model's stable step, computed
        by ``fastperceptron.train`` from the model's data; see :mod:`fastperceptron.problem.steps`)."""
        if self.solver != "gd" and isinstance(self.learning_rate, str) and self.learning_rate == "auto":
            return {}  # train explains that only "gd" takes a learning rate
        return {"learning_rate": self.learning_rate}

    def _train(self, X, Y, **kwargs):
        iterations = self.iterations
        if iterations is None and self.solver == "gd":
            iterations = 1000
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # raised below as scikit-learn's
            result = train(
                X, Y, iterations=iterations, rule=self.rule, bias=self.bias, tol=self.tol, backend=self.backend,
                dtype=self.dtype, progress=False, solver=self.solver, l2=self._l2(), standardize=self.standardize,
                **kwargs,
            )
        warn_unconverged(result, SklearnConvergenceWarning, f"{type(self).__name__}: ", stacklevel=3)
        return result

    def _decision(self, X):
        """X·W_b + c_b for every model: (B, M, K)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32], order="C")
        r = self.result_
        Z = np.matmul(np.asarray(X, dtype=np.float64), r.weights.astype(np.float64))
        if r.bias is not None:
            Z += r.bias.astype(np.float64)[:, None, :]
        return Z

    def _predict_from_proba(self, P):
        if self._kind == "multilabel":
            return (P >= 0.5).astype(np.int64)
        if self._kind == "binary":
            return self.classes_[(P[:, 1] >= 0.5).astype(np.int64)]
        return self.classes_[np.argmax(P, axis=1)]


class PerceptronClassifier(_Base):
    """One sigmoid perceptron per output, trained with fastperceptron.

    Parameters
    ----------
    solver : "auto" (default: "newton" for up to 31 features, else "lbfgs"), "newton", "lbfgs"
        (second-order, to the optimum; see ``fastperceptron.train``), or "gd" (gradient descent).
    C : inverse L2 strength, as ``LogisticRegression``'s: the penalty ½·‖w‖²/C on the summed loss
        (the intercept is not penalised); None: no penalty. Default 1.0.
    iterations : the cap on solver iterations (default 100), or the gradient steps of "gd"
        (default 1,000).
    learning_rate : "gd" only: "auto" (1 / (Σ_n s_n (‖x_n‖² + 1) / 4 + 1/C), stable on any data)
        or a positive float.
    rule : "logistic" (cross-entropy) or "seed" (the tutorial's rule, "gd" only).
    bias : learn an intercept.
    tol : the solvers' convergence tolerance (default: 1e-10 in float64), or for "gd": stop once
        the largest update of an iteration is below tol.
    backend : "auto", "numpy", "numba", "cupy" or "cuda".
    dtype : "float64" or "float32" (the training precision).
    random_state : int seed of the initial weights (None: 0).
    standardize : train on centred and scaled columns and fold the transform back into ``coef_`` and
        ``intercept_`` (``fastperceptron.train(standardize=True)``); C then penalises the weights of the
        standardised columns. The solvers need it for no column's sake (they are right on raw columns);
        it makes gradient descent ("gd") work on columns of any scale without a ``StandardScaler``.

    Attributes
    ----------
    classes_, n_features_in_, coef_ (K, D), intercept_ (K,), n_iter_, converged_ (True, False, or
    None for "gd"), result_ (the TrainResult).
    """

    def __init__(self, *, solver="auto", C=1.0, iterations=None, learning_rate="auto", rule="logistic", bias=True,
                 tol=None, backend="auto", dtype="float64", random_state=None, standardize=False):
        super().__init__(solver=solver, C=C, iterations=iterations, learning_rate=learning_rate, rule=rule,
                         bias=bias, tol=tol, backend=backend, dtype=dtype, random_state=random_state,
                         standardize=standardize)

    def fit(self, X, y, sample_weight=None):
        X, Y, sw = self._validate_fit(X, y, sample_weight)
        self.result_ = self._train(X, Y, seeds=[_seed(self.random_state)], sample_weight=sw, **self._learning_rate())
        self.coef_ = self.result_.weights[0].T.astype(np.float64)
        self.intercept_ = (np.zeros(Y.shape[1]) if self.result_.bias is None
                           else self.result_.bias[0].astype(np.float64))
        self.n_iter_ = int(self.result_.iterations[0])
        self.converged_ = None if self.result_.converged is None else bool(self.result_.converged[0])
        return self

    def decision_function(self, X):
        """X·coef_ᵀ + intercept_: (M,) for binary targets, (M, K) otherwise."""
        check_is_fitted(self)
        Z = self._decision(X)[0]
        return Z[:, 0] if self._kind == "binary" else Z

    def predict_proba(self, X):
        """(M, 2) for binary targets, (M, n_classes) normalised for multiclass, (M, n_labels) for multi-label."""
        check_is_fitted(self)
        return _probabilities(self._kind, sigmoid(self._decision(X)[0]))

    def predict(self, X):
        return self._predict_from_proba(self.predict_proba(X))


class PerceptronEnsembleClassifier(_Base):
    """``n_estimators`` perceptrons trained as one batch; predicts with the mean of their probabilities.

    Parameters
    ----------
    n_estimators : number of models B.
    bootstrap : each model trains on its own bootstrap resample (integer sample weights; no copy).
    max_samples : draws per model: None (n_samples), an int, or a fraction in (0, 1]. Without
        bootstrap, a random subset of that size, drawn without replacement, per model.
    learning_rate : "gd" only: "auto" (per model, from its own resample), a float, or a list of
        n_estimators floats (a learning-rate sweep in one fit).
    solver, C, iterations, rule, bias, tol, backend, dtype, standardize : as for
        :class:`PerceptronClassifier`.
    random_state : seed of the models' seeds (None: 0); model b gets seed ``seeds_[b]``, which fixes
        both its initial weights and its resample.

    Attributes
    ----------
    classes_, n_features_in_, seeds_ (B,), converged_ ((B,) bool, or None for "gd"), result_ (the
    TrainResult: per-model weights, losses, ...).
    """

    def __init__(self, n_estimators=100, *, bootstrap=True, max_samples=None, solver="auto", C=1.0, iterations=None,
                 learning_rate="auto", rule="logistic", bias=True, tol=None, backend="auto", dtype="float64",
                 random_state=None, standardize=False):
        super().__init__(solver=solver, C=C, iterations=iterations, learning_rate=learning_rate, rule=rule,
                         bias=bias, tol=tol, backend=backend, dtype=dtype, random_state=random_state,
                         standardize=standardize)
        self.n_estimators = n_estimators
        self.bootstrap = bootstrap
        self.max_samples = max_samples

    def _model_weights(self, n_samples, seeds, sample_weight):
        """(B, N) sample weights of the models, or None when every model sees every sample equally."""
        if self.bootstrap:
            w = bootstrap_weights(n_samples, seeds, self.max_samples).astype(np.float64)
        elif self.max_samples is not None:
            m = bootstrap_weights(n_samples, [0], self.max_samples).sum()  # the same size rule
            ranks = np.argsort(np.argsort(counter_uniform(seeds, n_samples, _SUBSAMPLE_STREAM), axis=1), axis=1)
            w = (ranks < m).astype(np.float64)
        else:
            return sample_weight
        return w if sample_weight is None else w * sample_weight

    def fit(self, X, y, sample_weight=None):
        if isinstance(self.n_estimators, bool) or not isinstance(self.n_estimators, numbers.Integral) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive integer, got {self.n_estimators!r}")
        X, Y, sw = self._validate_fit(X, y, sample_weight)
        rng = check_random_state(_seed(self.random_state))
        self.seeds_ = rng.randint(0, 2**31 - 1, size=self.n_estimators).astype(np.int64)
        weights = self._model_weights(X.shape[0], self.seeds_, sw)
        lr = self._learning_rate()
        if "learning_rate" in lr and not isinstance(lr["learning_rate"], str):
            lr["learning_rate"] = np.asarray(lr["learning_rate"], dtype=np.float64)
            if lr["learning_rate"].ndim == 1 and len(lr["learning_rate"]) not in (1, self.n_estimators):
                raise ValueError(f"learning_rate has {len(lr['learning_rate'])} values but n_estimators is "
                                 f"{self.n_estimators}")
            lr["learning_rate"] = np.broadcast_to(lr["learning_rate"], (self.n_estimators,))
        if weights is not None and weights.ndim == 2:
            empty = weights.sum(axis=1) == 0
            if empty.any():
                raise ValueError(
                    f"model {int(np.argmax(empty))}'s resample holds only samples of weight 0; "
                    "give those samples positive weight or use a larger max_samples"
                )
        self.result_ = self._train(X, Y, seeds=self.seeds_, sample_weight=weights, **lr)
        self.converged_ = self.result_.converged
        return self

    def predict_proba(self, X):
        """The mean over models of each model's probabilities (the same shapes as PerceptronClassifier)."""
        check_is_fitted(self)
        return _probabilities(self._kind, sigmoid(self._decision(X))).mean(axis=0)

    def predict(self, X):
        return self._predict_from_proba(self.predict_proba(X))
