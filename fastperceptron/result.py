"""TrainResult: the trained batch as host numpy arrays, with prediction and saving."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .loop import sigmoid

__all__ = ["TrainResult"]


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
        idx = np.arange(self.n_models)[index]
        idx = np.atleast_1d(idx)
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
        )

    def group(self, labels) -> "TrainResult":
        """The models of the given group label(s) (one label, or a list), in the order asked;
        an unknown label is a ValueError naming it."""
        from .groups import lookup

        if self.groups is None:
            raise ValueError("this batch was not trained with groups=; select models by position: result[i]")
        single = np.ndim(labels) == 0
        return self[lookup(self.groups, [labels] if single else labels)]

    # --- prediction -----------------------------------------------------------------------------
    def _inputs(self, X) -> np.ndarray:
        from .checks import check_finite, real_array

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

    def predict_proba(self, X, groups=None) -> np.ndarray:
        """σ(X·W_b + c_b) for every model b: shape (B, M, K), computed in float64 on the host.

        With ``groups`` (M,) labels, for a batch trained with groups: each row by its own group's
        model, shape (M, K). A label never seen in training is a ValueError naming it.
        """
        if groups is not None:
            return self._predict_groups(X, groups)
        X = self._inputs(X)
        Z = np.matmul(X, self.weights.astype(np.float64))
        if self.bias is not None:
            Z += self.bias.astype(np.float64)[:, None, :]
        return sigmoid(Z)

    def _predict_groups(self, X, groups, rows: int = 1 << 16) -> np.ndarray:
        from .groups import lookup

        if self.groups is None:
            raise ValueError("groups= given, but this batch was not trained with groups; leave it out")
        X = self._inputs(X)
        if X.ndim != 2:
            raise ValueError(f"with groups, X must be (M, {self.n_features}); got shape {X.shape}")
        idx = lookup(self.groups, groups, "groups")
        if idx.shape[0] != X.shape[0]:
            raise ValueError(f"groups has {idx.shape[0]:,} labels but X has {X.shape[0]:,} rows; give one per row")
        W = self.weights.astype(np.float64)
        out = np.empty((X.shape[0], self.n_outputs))
        for a in range(0, X.shape[0], rows):  # in slices: W[idx] is (rows, D, K)
            i = idx[a:a + rows]
            Z = np.einsum("md,mdk->mk", X[a:a + rows], W[i])
            if self.bias is not None:
                Z += self.bias[i].astype(np.float64)
            out[a:a + rows] = sigmoid(Z)
        return out

    def predict(self, X, threshold: float = 0.5, groups=None) -> np.ndarray:
        """0/1 predictions: 1 where the probability is >= threshold. Shape (B, M, K), or (M, K)
        with ``groups``."""
        return (self.predict_proba(X, groups=groups) >= threshold).astype(np.int8)

    def ensemble_proba(self, X) -> np.ndarray:
        """The ensemble's probabilities, the mean over models: shape (M, K)."""
        return self.predict_proba(X).mean(axis=0)

    # --- pictures -------------------------------------------------------------------------------
    def plot(self, kind: str = "auto", *, ax=None, path=None):
        """A figure of what the batch learned (matplotlib, ``pip install 'fastperceptron[plot]'``).

        ``kind``: "loss" (the final loss over models), "weights" (each weight over models),
        "curves" (learning curves from ``history``: median and 5–95 % band), "sweep" (final loss
        against the learning rate or L2 that varies across models), "groups" (loss against group
        size), or "auto" (chosen from what the result holds). ``ax``: draw into an existing Axes;
        ``path``: also write a PNG/SVG/PDF there. Returns the matplotlib Figure. See
        :mod:`fastperceptron.plot`.
        """
        from .plot import plot

        return plot(self, kind, ax=ax, path=path)

    # --- files ----------------------------------------------------------------------------------
    def save(self, path) -> "os.PathLike":  # noqa: F821
        """Write the models to ``path`` (.npz, no pickle), atomically; returns the path written.

        ``.npz`` is appended when the name has no suffix, as numpy does. Read back with
        :func:`fastperceptron.load`.
        """
        from .io import save

        return save(self, path)
