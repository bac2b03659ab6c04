"""What a covariance says about each coefficient (SPEC §9): standard errors, z, two-sided normal
p-values, Wald intervals and Benjamini–Hochberg q-values across the models of a batch, as arrays of
shape (B, K, P) and as one long table (:class:`CoefTable`, ``result.coef_table()``).

P is D, plus 1 with a bias: the weights in column order, then the bias. The normal distribution's
tail and quantile come from the standard library (``math.erfc``, ``statistics.NormalDist``): exact
to double precision, no scipy needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["CoefTable", "coef_table", "two_sided_p", "benjamini_hochberg", "COV_TYPES"]

#: the covariances ``train(..., cov=)`` computes (SPEC §9)
COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")

_ERFC = np.frompyfunc(math.erfc, 1, 1)


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """2·(1 − Φ(|z|)) = erfc(|z|/√2), elementwise (NaN stays NaN)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.full(z.shape, np.nan)
    ok = np.isfinite(z)
    out[ok] = _ERFC(np.abs(z[ok]) / math.sqrt(2.0)).astype(np.float64)
    out[np.isinf(z)] = 0.0
    return out


def benjamini_hochberg(p: np.ndarray, axis: int = 0) -> np.ndarray:
    """Benjamini–Hochberg q-values of ``p`` along ``axis`` (the models), separately for every other
    index: q_(i) = min over j ≥ i of m·p_(j)/j, at most 1, m the number of p-values that are not NaN
    (a NaN stays NaN)."""
    p = np.moveaxis(np.asarray(p, dtype=np.float64), axis, 0)
    flat = p.reshape(p.shape[0], -1)
    q = np.full(flat.shape, np.nan)
    for col in range(flat.shape[1]):
        values = flat[:, col]
        ok = np.flatnonzero(np.isfinite(values))
        if ok.size == 0:
            continue
        order = ok[np.argsort(values[ok], kind="stable")]
        m = ok.size
        scaled = values[order] * m / np.arange(1, m + 1)
        q[order, col] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return np.moveaxis(q.reshape(p.shape), 0, axis)


@dataclass(frozen=True)
class CoefTable:
    """The statistics of every model's coefficients: ``estimate``, ``std_error``, ``z``, ``p_value``,
    ``ci_low``, ``ci_high``, ``q_value`` (B, K, P); ``covariance`` (B, K, P, P), or None when only
    the standard errors were kept; ``terms`` (P,) the feature names then "bias"; ``targets`` (K,);
    ``alpha`` (the intervals are 1 − alpha); ``cov_type``; ``labels`` {column: (B,) labels} naming
    each model (its group, one column per level of a hierarchy; empty for an ensemble)."""

    estimate: np.ndarray
    std_error: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    q_value: np.ndarray
    covariance: np.ndarray | None
    terms: list
    targets: list
    alpha: float
    cov_type: str
    labels: dict

    COLUMNS = ("estimate", "std_error", "z", "p_value", "ci_low", "ci_high", "q_value")

    def columns(self) -> dict:
        """The long table as {column: (B·K·P,) values}: the model's label column(s) (or ``model``),
        ``output`` when K > 1, ``term``, then :attr:`COLUMNS`."""
        B, K, P = self.estimate.shape
        out = {name: np.repeat(np.asarray(values), K * P) for name, values in self.labels.items()}
        if not out:
            out["model"] = np.repeat(np.arange(B), K * P)
        if K > 1:
            out["output"] = np.tile(np.repeat(np.asarray(self.targets, dtype=object).astype(str), P), B)
        out["term"] = np.tile(np.asarray(self.terms, dtype=str), B * K)
        for name in self.COLUMNS:
            out[name] = getattr(self, name).reshape(-1)
        return out

    def to_frame(self, library: str = "pandas"):
        """The long table (one row per model × output × term) as a DataFrame of ``library``:
        "pandas", "polars" or "pyarrow"."""
        import narwhals as nw

        if library not in ("pandas", "polars", "pyarrow"):
            raise ValueError(f"library must be 'pandas', 'polars' or 'pyarrow', got {library!r}")
        try:
            module = __import__(library)
        except ImportError:
            raise ImportError(f"to_frame(library={library!r}) needs {library}: pip install {library}") from None
        return nw.from_dict(self.columns(), backend=module).to_native()


def coef_table(theta: np.ndarray, covariance: np.ndarray, alpha: float, **names) -> CoefTable:
    """A :class:`CoefTable` of models θ (B, K, P) with covariances (B, K, P, P), or their diagonals
    (B, K, P) when only the standard errors were kept."""
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1) (0.05 gives 95 % intervals), got {alpha!r}")
    theta = np.asarray(theta, dtype=np.float64)
    full = covariance.ndim == theta.ndim + 1
    variance = np.einsum("...ii->...i", covariance) if full else covariance
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.where(variance >= 0, variance, np.nan))
        z = theta / se
    q = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    p = two_sided_p(z)
    return CoefTable(estimate=theta, std_error=se, z=z, p_value=p, ci_low=theta - q * se, ci_high=theta + q * se,
                     q_value=benjamini_hochberg(p, axis=0), covariance=covariance if full else None, alpha=float(alpha),
                     **names)
