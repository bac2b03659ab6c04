"""Pictures of a trained batch: what it learned, at a glance (matplotlib, the ``[plot]`` extra).

``plot(result, kind)`` draws one figure and returns it (a ``matplotlib.figure.Figure``, made
without pyplot: no global state, no window, displayed by Jupyter like any figure). The kinds:

* ``"loss"``: the distribution of the final loss over models (a histogram; the loss axis is
  logarithmic when the losses span more than two decades);
* ``"weights"``: the distribution of each weight (and bias) over models, one panel each;
* ``"curves"``: learning curves from ``history``: the median loss over models and the band of
  5–95 % of them, against iterations;
* ``"sweep"``: the final loss against the hyperparameter that varies across models (the
  learning rate, else L2), every model a point and the median a line; with the iterations each
  used on a second axis when they differ (``tol``, the solvers);
* ``"groups"``: a batch trained with ``groups=``: each group's loss against its number of rows;
* ``"shrink"``: a pooled batch whose shrinkage was chosen by cross-validation (``shrink="cv"``):
  each level's held-out log-loss against ρ, the chosen ρ marked;
* ``"coef"``: a batch trained with ``cov=``: a forest plot of one term's estimate and interval in
  every model, sorted, those with a q-value below ``q`` marked (``term=``, ``q=``, ``alpha=``);
* ``"auto"``: chosen from what the result holds, in this order: the CV curves of a pooled batch,
  groups, a sweep, learning curves, the loss distribution (:func:`choose`).

Every figure's title says how many models on which backend; axes carry their quantity and unit.
"""

from __future__ import annotations

import numpy as np

from .problem.model import default_names

__all__ = ["plot", "choose", "save", "target", "KINDS"]

KINDS = ("auto", "loss", "weights", "curves", "sweep", "groups", "shrink", "coef")
LOSS_LABEL = "final loss (weighted mean squared error)"
MAX_PANELS = 16  # "weights": panels drawn; the rest are named in the last panel


def require_matplotlib():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fastperceptron[plot]'") from None
    return Figure


def choose(result) -> str:
    """The kind ``"auto"`` draws for ``result`` (see the module docstring)."""
    if result.pooling is not None and result.pooling.cv_loss is not None:
        return "shrink"
    if result.groups is not None:
        return "groups"
    if _swept(result) is not None:
        return "sweep"
    if result.history is not None and result.history.shape[1] > 0:
        return "curves"
    return "loss"


def plot(result, kind: str = "auto", *, ax=None, path=None, **options):
    """Draw ``kind`` (one of :data:`KINDS`) for ``result``; returns the figure.

    ``ax``: draw into this matplotlib Axes instead of a new figure (not for "weights", which
    needs a panel per weight). ``path``: also write the figure there (PNG, SVG or PDF by the
    suffix, PNG when there is none), atomically. ``options``: those of kind "coef" (``term``, the
    feature name or "bias", default the first; ``output``; ``q`` (0.05); ``alpha`` (0.05)).
    """
    if options and kind != "coef":
        raise TypeError(f"{', '.join(options)}= apply to kind='coef'")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if result.n_models == 0:
        raise ValueError("this result holds no models: nothing to plot")
    Figure = require_matplotlib()
    if kind == "auto":
        kind = choose(result)
    if kind == "weights":
        if ax is not None:
            raise ValueError("kind='weights' draws one panel per weight in a figure of its own; leave ax out")
        panels = min(_n_weights(result), MAX_PANELS)
        fig = Figure(figsize=(9, 1.2 + 2.6 * -(-panels // 4)), layout="constrained")
        _weights(fig, result)
    else:
        if ax is None:
            fig = Figure(figsize=(7, 4.5), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        if kind == "coef":
            _coef(ax, result, **options)
        else:
            {"loss": _loss, "curves": _curves, "sweep": _sweep, "groups": _groups, "shrink": _shrink}[kind](ax, result)
    if path is not None:
        save(fig, path)
    return fig


def target(path):
    """``path`` as the Path a figure is written to (.png appended when it has no suffix), or a
    clear error: a directory, a missing folder, a format other than PNG, SVG or PDF."""
    from .io.files import check_target

    path = check_target(path, ".png")
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"cannot write a figure as {path.suffix!r}: use a .png, .svg or .pdf file name")
    return path


def save(fig, path) -> str:
    """Write ``fig`` to ``path`` atomically, in the format its suffix names (.png when none)."""
    from .io.files import atomic_write

    path = target(path)
    atomic_write(path, lambda f: fig.savefig(f, format=path.suffix[1:].lower(), dpi=110))
    return str(path)


# --- the kinds -----------------------------------------------------------------------------------
def _title(result, what: str) -> str:
    models = "1 model" if result.n_models == 1 else f"{result.n_models:,} models"
    return f"{what}: {models} on {result.backend} ({result.dtype})"


def _spans_decades(values: np.ndarray, decades: float = 2.0) -> bool:
    """True when the middle 90 % of the positive values spans more than ``decades``: a log axis
    then shows them better (a few outliers, e.g. one-row groups fitted exactly, do not decide)."""
    v = values[np.isfinite(values) & (values > 0)]
    if v.size < 2:
        return False
    lo, hi = np.quantile(v, [0.05, 0.95])
    return lo > 0 and np.log10(hi / lo) > decades


def _plain_numbers(ax, axis: str = "x") -> None:
    """Ticks as 3.36e-4 with a shared offset, not 0.0003355 crowding the axis."""
    ax.ticklabel_format(axis=axis, style="sci", scilimits=(-3, 4), useOffset=True)


def _loss(ax, result) -> None:
    loss = np.asarray(result.loss, dtype=np.float64)
    finite = loss[np.isfinite(loss)]
    log = _spans_decades(finite)
    shown = finite[finite > 0] if log else finite
    if log:
        bins = np.geomspace(shown.min(), shown.max(), 51)
        ax.set_xscale("log")
    else:
        bins = 50 if np.ptp(shown) > 0 else 1
        _plain_numbers(ax)
    ax.hist(shown, bins=bins, color="C0", alpha=0.85)
    median = float(np.median(finite))
    ax.axvline(median, color="C3", linestyle="--", label=f"median {median:.4g}")
    left_out = loss.size - shown.size
    if left_out:
        ax.plot([], [], " ", label=f"{left_out:,} models with loss 0 or not finite not shown")
    ax.set_xlabel(LOSS_LABEL + (" — log scale" if log else ""))
    ax.set_ylabel("models")
    ax.legend(loc="best", frameon=False)
    ax.set_title(_title(result, "final loss"))


def _weight_names(result) -> list[str]:
    B, D, K = result.weights.shape
    features = result.feature_labels
    targets = result.target_names or default_names("y", K)
    if len(features) != D or len(targets) != K:
        features, targets = default_names("x", D), default_names("y", K)
    names = [f"w[{f}]" if K == 1 else f"w[{f} → {t}]" for t in targets for f in features]
    if result.bias is not None:
        names += ["bias" if K == 1 else f"bias[{t}]" for t in targets]
    return names


def _n_weights(result) -> int:
    B, D, K = result.weights.shape
    return D * K + (K if result.bias is not None else 0)


def _weights(fig, result) -> None:
    B, D, K = result.weights.shape
    columns = [result.weights[:, d, k] for k in range(K) for d in range(D)]
    if result.bias is not None:
        columns += [result.bias[:, k] for k in range(K)]
    names = _weight_names(result)
    total = len(columns)
    shown = total if total <= MAX_PANELS else MAX_PANELS - 1
    panels = shown + (total > shown)
    ncols = min(4, panels)
    nrows = -(-panels // ncols)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, values, name in zip(axes, columns[:shown], names[:shown]):
        values = np.asarray(values, dtype=np.float64)
        ax.hist(values, bins=40 if np.ptp(values) > 0 else 1, color="C0", alpha=0.85)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("value", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[::ncols]:
        ax.set_ylabel("models", fontsize=9)
    if total > shown:
        ax = axes[shown]
        ax.axis("off")
        ax.text(0.5, 0.5, f"… and {total - shown:,} more\n({', '.join(names[shown:shown + 3])}, …)",
                ha="center", va="center", transform=ax.transAxes, fontsize=9)
    for ax in axes[panels:]:
        ax.remove()
    fig.suptitle(_title(result, "weights"))


def _curves(ax, result) -> None:
    if result.history is None or result.history.shape[1] == 0:
        raise ValueError("this result has no loss history: train with record_every=k (CLI: --record-every K) "
                         "to plot learning curves")
    H = np.asarray(result.history, dtype=np.float64)
    every = int(result.params.get("record_every") or 1)
    its = every * np.arange(1, H.shape[1] + 1)
    lo, median, hi = np.nanquantile(H, [0.05, 0.5, 0.95], axis=0)
    ax.fill_between(its, lo, hi, color="C0", alpha=0.25, linewidth=0, label="5–95 % of models")
    ax.plot(its, median, color="C0", label="median over models")
    if _spans_decades(H.ravel()):
        ax.set_yscale("log")
    ax.set_xlabel("iterations")
    ax.set_ylabel("loss (weighted mean squared error)")
    ax.legend(loc="best", frameon=False)
    ax.set_title(_title(result, "learning curves"))


def _swept(result):
    """(name, label, values (B,)) of the hyperparameter that varies across models, or None."""
    lr = np.asarray(result.learning_rate, dtype=np.float64)
    if np.unique(lr).size > 1:
        return "learning_rate", "learning rate η", lr
    if result.l2 is not None and np.unique(result.l2).size > 1:
        return "l2", "L2 penalty λ", np.asarray(result.l2, dtype=np.float64)
    return None


def _sweep(ax, result) -> None:
    swept = _swept(result)
    if swept is None:
        raise ValueError("no hyperparameter varies across these models: a sweep needs one learning_rate (or l2) "
                         "per model, e.g. learning_rate=np.geomspace(0.01, 10, 30)")
    name, label, x = swept
    loss = np.asarray(result.loss, dtype=np.float64)
    ax.scatter(x, loss, s=12, color="C0", alpha=0.5, label="each model")
    values = np.unique(x)
    ax.plot(values, [np.median(loss[x == v]) for v in values], color="C0", label="median")
    if (x > 0).all() and x.max() > 10 * x.min():
        ax.set_xscale("log")
    if _spans_decades(loss):
        ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel(LOSS_LABEL)
    its = np.asarray(result.iterations)
    handles, labels = ax.get_legend_handles_labels()
    if np.unique(its).size > 1:
        twin = ax.twinx()
        line, = twin.plot(values, [np.median(its[x == v]) for v in values], color="C1", linestyle="--",
                          marker=".", label="iterations used (median)")
        twin.set_ylabel("iterations used")
        handles, labels = handles + [line], labels + [line.get_label()]
    ax.legend(handles, labels, loc="best", frameon=False)
    ax.set_title(_title(result, "learning-rate sweep" if name == "learning_rate" else "L2 sweep"))


def _groups(ax, result) -> None:
    if result.groups is None or result.group_sizes is None:
        raise ValueError("this result was not trained with groups=: there is no group size to plot against")
    sizes = np.asarray(result.group_sizes, dtype=np.float64)
    loss = np.asarray(result.loss, dtype=np.float64)
    ax.scatter(sizes, loss, s=8, color="C0", alpha=0.4, label="each group")
    if sizes.max() > 10 * sizes.min():
        ax.set_xscale("log")
        edges = np.geomspace(sizes.min(), sizes.max() * (1 + 1e-9), 16)
    else:
        edges = np.linspace(sizes.min(), sizes.max() * (1 + 1e-9) + 1e-9, 16)
    which = np.digitize(sizes, edges)
    centres, medians = [], []
    for i in np.unique(which):
        inside = which == i
        centres.append(np.median(sizes[inside]))
        medians.append(np.median(loss[inside]))
    ax.plot(centres, medians, color="C3", marker="o", markersize=3, label="median by size")
    if _spans_decades(loss):
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("rows in the group")
    ax.set_ylabel(LOSS_LABEL)
    ax.legend(loc="best", frameon=False)
    ax.set_title(_title(result, "loss by group size"))


def _shrink(ax, result) -> None:
    """Each level's cross-validated held-out log-loss against ρ; the chosen ρ marked."""
    p = result.pooling
    if p is None or p.cv_loss is None:
        raise ValueError("kind='shrink' draws the cross-validation of a pooled batch: train with groups= and "
                         "shrink='cv'")
    grid = np.where(p.grid > 0, p.grid, np.nan)
    for j, name in enumerate(p.hierarchy.names):
        label = f"level {j + 1}" + ("" if name == f"level{j + 1}" else f": {name}")
        line, = ax.plot(grid, p.cv_loss[j], marker="o", markersize=3, label=label)
        best = int(np.argmin(p.cv_loss[j]))
        ax.plot([p.grid[best]], [p.cv_loss[j, best]], marker="*", markersize=12, color=line.get_color())
    ax.set_xscale("log")
    ax.set_xlabel("shrinkage ρ toward the parent's model")
    ax.set_ylabel("held-out log-loss per row (cross-validated)")
    ax.legend(title="★ chosen")
    ax.set_title(_title(result, "partial pooling"))


def _coef(ax, result, term=None, output: int = 0, q: float = 0.05, alpha: float = 0.05) -> None:
    """One term's estimate and 1 − alpha interval in every model, sorted by the estimate; the models
    whose q-value is below ``q`` in colour (the picture of 10⁴ stores' price effects)."""
    t = result.coef_table(alpha=alpha)
    if result.n_models == 1 and term is None:
        return _coef_terms(ax, result, t, output, alpha)
    j = 0 if term is None else (t.terms.index(term) if term in t.terms else None)
    if j is None:
        raise ValueError(f"term={term!r} is not one of this batch's terms {t.terms}")
    est, low, high, qv = (getattr(t, n)[:, output, j] for n in ("estimate", "ci_low", "ci_high", "q_value"))
    keep = np.flatnonzero(np.isfinite(low))
    order = keep[np.argsort(est[keep], kind="stable")]
    y = np.arange(order.size)
    found = qv[order] < q
    for mask, colour, label in ((~found, "0.6", f"q ≥ {q:g}"), (found, "C3", f"q < {q:g}")):
        ax.hlines(y[mask], low[order][mask], high[order][mask], color=colour, linewidth=0.8 if order.size < 200 else 0.3)
        ax.plot(est[order][mask], y[mask], "o", color=colour, markersize=3 if order.size < 200 else 1,
                label=f"{label} ({int(mask.sum()):,})")
    ax.axvline(0.0, color="k", linewidth=0.8)
    ax.set_xlabel(f"{t.terms[j]}: estimate and {100 * (1 - alpha):g} % interval ({t.cov_type})")
    shown = f"{order.size:,}" if order.size == est.size else f"{order.size:,} of {est.size:,}"
    ax.set_ylabel(f"{shown} models, by the estimate")
    ax.set_yticks([])
    ax.legend(loc="lower right")
    ax.set_title(_title(result, f"{t.terms[j]} across models"))


def _coef_terms(ax, result, t, output: int, alpha: float) -> None:
    """One model: every term's estimate and interval, in the model's order (the terms on raw columns
    have their own units: each row is read on its own)."""
    est, low, high, pv = (getattr(t, n)[0, output] for n in ("estimate", "ci_low", "ci_high", "p_value"))
    y = np.arange(len(t.terms))[::-1]
    ax.hlines(y, low, high, color="C0", linewidth=1.5)
    ax.plot(est, y, "o", color="C0")
    ax.axvline(0.0, color="k", linewidth=0.8)
    ax.set_yticks(y, [f"{name}  (p = {p:.2g})" for name, p in zip(t.terms, pv)])
    ax.set_xlabel(f"estimate and {100 * (1 - alpha):g} % interval ({t.cov_type}; each term in its column's units)")
    ax.set_title(_title(result, "coefficients"))
