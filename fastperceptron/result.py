"""TrainResult: the trained batch as host numpy arrays, with prediction and saving."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from . import serving
from .ensemble import EnsembleSummary, summarize
from .io import model as model_file
from .io.frames import is_table, prediction_frame
from .io.model import STOP_REASONS
from .maths import sigmoid_inplace
from .problem.hierarchy import Pooling, is_levels
from .problem.groups import Factorized
from .problem.model import default_names

__all__ = ["TrainResult", "EnsembleSummary", "STOP_REASONS", "load"]


@dataclass(frozen=True, repr=False, eq=False)
class TrainResult:
    """B trained models.

    Attributes
    ----------
    weights : (B, D, K) array
    bias : (B, K) array, or None when trained without a bias
    seeds : (B,) int64 array, the seed of each model
    loss : (B,) array, each model's weighted mean squared error with its final weights
    iterations : (B,) int64 array, iterations actually run (fewer than asked with ``tol``, or when
        interrupted)
    history : (B, H) array of losses every ``params["record_every"]`` iterations, or None
    learning_rate : (B,) array, each model's learning rate
    backend, dtype : the backend that ran and the floating-point type ("float64" or "float32")
    seconds : wall-clock time of the whole call, data transfers included
    setup_seconds : of which preparing the backend: data layout, and for compiled backends the
        kernel's compilation (first use) or its load from the on-disk cache
    complete : False when training was interrupted (Ctrl-C): the weights are the last consistent
        state reached, at ``iterations``
    params : the other hyperparameters (rule, init, iterations asked, tol, record_every, bias)
    metadata : free-form JSON-serialisable information saved with the model (e.g. feature names)
    groups : (B,) labels of a batch trained with ``groups=`` (model b is group ``groups[b]``;
        int64 or str), or None
    group_sizes : (B,) int64, the number of rows each group was trained on, or None
    l2 : (B,) the L2 penalty of each model, or None when there was none
    converged : (B,) bool for solver "newton" or "lbfgs": True where the model met the solver's
        convergence criterion (``fastperceptron.solvers``), False where it stopped at
        ``iterations`` or where its line search could make no progress; None for solver "gd"
    stop_reason : (B,) str for solver "newton" or "lbfgs": why each model stopped, one of
        "converged", "iterations" (the cap), "line-search" (no step lowered the loss), "one-class"
        (targets of one class with an unpenalised bias: no finite optimum, not iterated),
        "separable" (no penalty, weights growing without bound) or "interrupted"; None for "gd"
    fallback_weights : (D, K), fallback_bias : (K,) or None: a groups batch's fallback model, one
        model trained on all rows (``train(..., fallback=True)`` or :meth:`with_fallback`), or None
    min_rows : groups with fewer training rows than this are served by the fallback model
    covariance : (B, K, P, P) each model's covariance of (weights, bias) at its optimum (SPEC §9;
        ``train(..., cov=...)``; ``params["cov"]`` its kind), or (B, K, P) its diagonal with
        ``cov_keep="diag"``, or None; P = D, plus 1 with a bias (the bias last). See :meth:`coef_table`.
    pooling : a pooled batch's hierarchy and the models of the levels above its groups
        (:class:`fastperceptron.pooling.hierarchy.Pooling`: ``train(..., groups=[outer, inner],
        shrink=...)``, SPEC §8), or None; ``groups`` then holds the innermost paths ("outer/inner")
    """

    weights: np.ndarray
    bias: np.ndarray | None
    seeds: np.ndarray
    loss: np.ndarray
    iterations: np.ndarray
    history: np.ndarray | None
    learning_rate: np.ndarray
    backend: str
    dtype: str
    seconds: float
    setup_seconds: float = 0.0
    complete: bool = True
    params: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    groups: np.ndarray | None = None
    group_sizes: np.ndarray | None = None
    l2: np.ndarray | None = None
    converged: np.ndarray | None = None
    stop_reason: np.ndarray | None = None
    fallback_weights: np.ndarray | None = None
    fallback_bias: np.ndarray | None = None
    min_rows: int = 0
    pooling: Pooling | None = None
    covariance: np.ndarray | None = None

    # --- sizes ----------------------------------------------------------------------------------
    @property
    def n_models(self) -> int:
        return self.weights.shape[0]

    @property
    def n_features(self) -> int:
        return self.weights.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.weights.shape[2]

    def __len__(self) -> int:
        return self.n_models

    def __repr__(self) -> str:
        B, D, K = self.weights.shape
        state = "" if self.complete else ", INCOMPLETE (interrupted)"
        return (
            f"TrainResult({B:,} models, D={D}, K={K}, rule={self.params.get('rule')!r}, "
            f"bias={self.bias is not None}, backend={self.backend!r}, dtype={self.dtype!r}, "
            f"loss median={np.median(self.loss):.4g}, {self.seconds:.3g} s{state})"
        )

    def __getitem__(self, index) -> "TrainResult":
        """A subset of the models: an int, a slice, an index array or a boolean mask over B; for a
        batch trained on string group labels, also a label or a list of labels (``r["store-17"]``).
        Integers are always positions: select integer labels with :meth:`group`."""
        if self.groups is not None and self.groups.dtype.kind == "U" and (
                isinstance(index, str) or (isinstance(index, (list, tuple)) and index and isinstance(index[0], str))):
            return self.group(index)
        if isinstance(index, str) or (isinstance(index, (list, tuple)) and index and isinstance(index[0], str)):
            raise TypeError(f"result[{index!r}]: select models by position (an int, a slice, an index array or a "
                            "boolean mask); labels select models of a batch trained on string group labels")
        try:
            idx = np.atleast_1d(np.arange(self.n_models)[index])
        except IndexError as exc:
            raise IndexError(f"result[{index!r}]: {exc} (this batch has {self.n_models:,} models)") from None
        take = lambda a: None if a is None else a[idx]  # noqa: E731
        return replace(
            self,
            weights=self.weights[idx],
            bias=take(self.bias),
            seeds=self.seeds[idx],
            loss=self.loss[idx],
            iterations=self.iterations[idx],
            history=take(self.history),
            learning_rate=self.learning_rate[idx],
            groups=take(self.groups),
            group_sizes=take(self.group_sizes),
            l2=take(self.l2),
            converged=take(self.converged),
            stop_reason=take(self.stop_reason),
            covariance=take(self.covariance),
            pooling=None,  # a subset of the paths is no longer the hierarchy's innermost level
        )

    def group(self, labels) -> "TrainResult":
        """The models of the given group label(s) (one label, or a list), in the order asked;
        an unknown label is a ValueError naming it."""
        from .problem.groups import lookup

        if self.groups is None:
            raise ValueError("this batch was not trained with groups=; select models by position: result[i]")
        single = np.ndim(labels) == 0
        return self[lookup(self.groups, [labels] if single else labels)]

    # --- inference ------------------------------------------------------------------------------
    def coef_table(self, alpha: float = 0.05):
        """Each model's coefficients with their standard errors, z, two-sided p-values, 1 − alpha Wald
        intervals and Benjamini–Hochberg q-values over the batch (per output and term), from the
        covariance ``train(..., cov=...)`` computed (SPEC §9): a :class:`fastperceptron.stats.CoefTable`
        of (B, K, P) arrays, P = D (then the bias); ``.to_frame()`` is the long table."""
        return serving.coef_table(self, alpha)

    # --- prediction -----------------------------------------------------------------------------
    def _inputs(self, X) -> np.ndarray:
        from .problem.checks import check_finite, real_array

        X = real_array("X", X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim not in (2, 3) or X.shape[-1] != self.n_features or X.shape[-2] == 0:
            raise ValueError(
                f"X must be (M, {self.n_features}), ({self.n_features},) for one sample, or "
                f"(B, M, {self.n_features}) for one input set per model; got shape {X.shape}"
            )
        if X.ndim == 3 and X.shape[0] != self.n_models:
            raise ValueError(f"a 3-D X must have one input set per model: B = {self.n_models}, got {X.shape[0]}")
        check_finite("X", X, "remove or impute those values first")
        return X

    def predict_proba(self, X, groups=None, unseen: str | None = None, *, as_frame: bool = False, interval=None):
        """σ(X·W_b + c_b) for every model b: shape (B, M, K), computed in float64 on the host.

        With ``groups`` (M,) labels, for a batch trained with groups: each row by its own group's
        model, shape (M, K) — or by the fallback model, when the batch has one, for groups trained
        on fewer than ``min_rows`` rows and, with unseen="fallback", for labels never seen in
        training (unseen="error", the default: such a label is a ValueError naming it). :meth:`route`
        says which rows the fallback served.

        A pooled batch (:attr:`pooling`) takes ``groups`` as one label array per level, outermost
        first (``groups=[region, store]``); a path never seen in training is served by its deepest
        seen ancestor (unseen="parent", the default, SPEC §8) or refused (unseen="error");
        :meth:`served_by` says which level answered each row.

        ``X`` may be a table (pandas, polars, pyarrow) when the models were trained on one: the
        feature columns are read by name (:attr:`feature_names`, in any order; other columns are
        ignored), and a groups batch reads each row's label from the column it was trained with
        when the table has it (or from the column ``groups`` names). ``as_frame=True`` returns a
        table of X's library: the group column (for a groups batch), then one column of
        probabilities per output, named after the targets; it needs one model per row (a groups
        batch, or one model: ``result[m]``).

        ``interval=0.95`` (a batch trained with ``cov=``): also each probability's delta-method
        interval, on the logit scale mapped back (:func:`fastperceptron.serving.interval`): returns
        (P, low, high), or a frame with ``<target>_low`` and ``<target>_high`` beside each column.
        """
        like = X if is_table(X) else None
        column = self.metadata.get("group_by") or "group"
        if like is not None:
            X, groups, column = serving.table_inputs(self, like, groups, column)
        elif as_frame:
            raise TypeError("as_frame=True returns a table of X's library: give X as a table (pandas, polars or "
                            "pyarrow)")
        if groups is not None:
            P = self._predict_groups(X, groups, unseen)
        else:
            self._refuse_groups("predict_proba(X)")
            if unseen is not None:
                raise ValueError("unseen= applies to predictions with groups=")
            X = self._inputs(X)
            Z = np.matmul(X, self.weights.astype(np.float64, copy=False))
            if self.bias is not None:
                Z += self.bias.astype(np.float64, copy=False)[:, None, :]
            P = sigmoid_inplace(Z)
        if interval is not None:
            low, high = serving.interval(self, X, groups, unseen, interval)
            if as_frame:
                return self._as_frame(like, P, groups, column, low, high)
            return P, low, high
        return self._as_frame(like, P, groups, column) if as_frame else P

    @property
    def feature_names(self) -> list | None:
        """The feature columns the models read, in order, when trained on a table (else None)."""
        return self.metadata.get("feature_names")

    @property
    def feature_labels(self) -> list[str]:
        """:attr:`feature_names`, or x1 … xD for a batch trained on arrays."""
        return self.feature_names or default_names("x", self.n_features)

    @property
    def target_names(self) -> list | None:
        """The target columns (one per output), when trained on a table (else None)."""
        return self.metadata.get("target_names")

    def _as_frame(self, like, P, groups, column: str, low=None, high=None):
        if P.ndim == 3:
            if P.shape[0] != 1:
                raise ValueError(f"as_frame=True gives one probability per row and output, but this batch has "
                                 f"{self.n_models:,} models: select one (result[m]) or average them "
                                 "(ensemble_proba)")
            P, low, high = P[0], None if low is None else low[0], None if high is None else high[0]
        names = self.target_names or [f"p{k}" for k in range(self.n_outputs)]
        if low is not None:  # each probability, then its interval
            P = np.stack([P, low, high], axis=2).reshape(P.shape[0], -1)
            names = [f"{n}{part}" for n in names for part in ("", "_low", "_high")]
        if groups is None:
            return prediction_frame(like, P, names)
        if is_levels(groups):
            labels = [g.labels[g.codes] if isinstance(g, Factorized) else np.asarray(g) for g in groups]
            return prediction_frame(like, P, names, list(column), labels)
        values = groups.labels[groups.codes] if isinstance(groups, Factorized) else np.asarray(groups)
        return prediction_frame(like, P, names, column, values)

    # --- groups and their fallback model -------------------------------------------------------
    def route(self, groups, unseen: str | None = None):
        """Which model serves each row of a groups batch: (idx (M,), by_fallback (M,) bool).

        idx[m] is the group model of row m, or ``n_models`` (the fallback model) where
        by_fallback[m]: the row's group was trained on fewer than ``min_rows`` rows, or, with
        unseen="fallback", its label was never seen in training (unseen="error": a ValueError
        naming the label). A pooled batch: idx indexes its innermost paths, then levels 0 .. L − 1,
        and the mask marks the rows served by an ancestor (see :meth:`served_by`)."""
        return serving.route(self, groups, unseen)

    def served_by(self, groups, unseen: str = "parent") -> np.ndarray:
        """For a pooled batch: the level whose model serves each row of ``groups`` (one label array
        per level, outermost first), (M,) int64 — L for the row's own path, l < L for its deepest
        seen ancestor (0: the global model); the levels' names are ``pooling.hierarchy.names``."""
        if self.pooling is None:
            raise ValueError("served_by says which level of a pooled batch serves a row: this batch was not trained "
                             "with shrink= or groups=[...]; see route() for a fallback model")
        return self.pooling.hierarchy.route(groups, unseen)[0]

    def served_by_fallback(self, groups, unseen: str = "error") -> np.ndarray:
        """(M,) True for the rows the fallback model serves (see :meth:`route`)."""
        return self.route(groups, unseen)[1]

    def with_fallback(self, model: "TrainResult", min_rows: int = 0) -> "TrainResult":
        """This groups batch with ``model`` (one model, trained on all rows, without groups) as its
        fallback: it serves the groups trained on fewer than ``min_rows`` rows and, when asked
        (``unseen="fallback"``), labels never seen in training."""
        from .problem.checks import nonneg_int

        if self.groups is None:
            raise ValueError("a fallback model serves groups: this batch was not trained with groups=")
        if not isinstance(model, TrainResult) or model.n_models != 1 or model.groups is not None:
            raise ValueError("the fallback must be one model trained without groups (a TrainResult with n_models 1)")
        if model.weights.shape[1:] != self.weights.shape[1:]:
            raise ValueError(f"the fallback has (D, K) = {model.weights.shape[1:]}, the groups' models "
                             f"{self.weights.shape[1:]}: train it on the same features and targets")
        min_rows = nonneg_int("min_rows", min_rows)
        return replace(self, fallback_weights=model.weights[0].copy(),
                       fallback_bias=None if model.bias is None else model.bias[0].copy(), min_rows=min_rows)

    def _table(self):
        """Weights (·, D, K) and biases (·, K) or None of every model :meth:`route` may pick."""
        return serving.model_table(self)

    def _predict_groups(self, X, groups, unseen: str | None = None) -> np.ndarray:
        return serving.predict_groups(self, self._inputs(X), groups, unseen)

    def predict(self, X, threshold: float = 0.5, groups=None, unseen: str | None = None) -> np.ndarray:
        """0/1 predictions: 1 where the probability is >= threshold. Shape (B, M, K), or (M, K)
        with ``groups``."""
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) or not (
                0 <= threshold <= 1):
            raise ValueError(f"threshold must be a probability in [0, 1], got {threshold!r}")
        return (self.predict_proba(X, groups=groups, unseen=unseen) >= threshold).astype(np.int8)

    def _refuse_groups(self, call: str) -> None:
        """A groups batch has one model per group, not B models of the same rows: every row must go
        to its own group's model, so a call that applies all models to every row means nothing."""
        if self.groups is not None:
            raise ValueError(
                f"{call}: this batch has one model per group ({self.n_models:,} groups), not an ensemble over the "
                "same rows: give each row's group, predict_proba(X, groups=g); every model's weights are in "
                "result.weights")

    def ensemble_proba(self, X) -> np.ndarray:
        """The ensemble's probabilities, the mean over models: shape (M, K)."""
        self._refuse_groups("ensemble_proba")
        return self.predict_proba(X).mean(axis=0)

    def ensemble_summary(self, X, quantiles=(0.05, 0.95), *, rows: int | None = None) -> "EnsembleSummary":
        """How much the models agree on new inputs: the mean, standard deviation and ``quantiles``
        of the B models' probabilities for each row of X (M, D) and output.

        ``std`` is over the models (ddof=0, numpy's default); quantiles use numpy's default
        (linear) interpolation. Vectorized over models and rows, in slices of ``rows`` rows (default:
        about 16 million probabilities at a time), so memory stays bounded for large B·M.
        """
        self._refuse_groups("ensemble_summary")
        return summarize(self.predict_proba, self._inputs(X), self.n_models, self.n_outputs, quantiles, rows)

    # --- pictures -------------------------------------------------------------------------------
    def plot(self, kind: str = "auto", *, ax=None, path=None, **options):
        """A figure of what the batch learned (matplotlib, ``pip install 'fastperceptron[plot]'``).

        ``kind``: "loss" (the final loss over models), "weights" (each weight over models),
        "curves" (learning curves from ``history``: median and 5–95 % band), "sweep" (final loss
        against the learning rate or L2 that varies across models), "groups" (loss against group
        size), "coef" (a forest plot of one term across models; ``term=``, ``q=``), or "auto"
        (chosen from what the result holds). ``ax``: draw into an existing Axes;
        ``path``: also write a PNG/SVG/PDF there. Returns the matplotlib Figure. See
        :mod:`fastperceptron.plot`.
        """
        from .plot import plot

        return plot(self, kind, ax=ax, path=path, **options)

    def to_onnx(self, path=None, *, outputs=("probabilities",), dtype=None, unseen: str | None = None):
        """Every model in one ONNX graph (``pip install 'fastperceptron[onnx]'``); written to
        ``path`` when given; returns the ``onnx.ModelProto``. ``outputs``: "probabilities" (M, B, K),
        "mean", "std" (M, K); a groups batch takes X and the rows' labels and gives (M, K) (and,
        with a fallback, which rows it served; ``unseen`` "fallback" or "nan" for labels never seen);
        a pooled batch takes X and one label column per level and routes unseen paths to their
        ancestors in the graph (``unseen="parent"``, or "nan").
        ``dtype``: "float32" or "float64" (default: the batch's). See
        :mod:`fastperceptron.export.onnx`."""
        from .export.onnx import to_onnx

        return to_onnx(self, path, outputs=outputs, dtype=dtype, unseen=unseen)

    # --- files ----------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the models to ``path`` (.npz, no pickle), atomically; returns the path written.

        ``.npz`` is appended when the name has no suffix, as numpy does. Read back with
        :func:`fastperceptron.load`. The file's layout: :mod:`fastperceptron.io.model`.
        """
        return model_file.write({f.name: getattr(self, f.name) for f in fields(self)}, path)


def load(path) -> TrainResult:
    """Read a model written by :meth:`TrainResult.save`. Never unpickles anything.

    Raises FileNotFoundError when there is no such file and :class:`fastperceptron.ModelFileError`
    when the file is truncated or corrupt, was not written by fastperceptron, comes from a newer
    version, or holds arrays or metadata that do not make a batch of models."""
    return TrainResult(**model_file.read(path))
