"""What ``train`` prints of a trained batch: the run, the loss it minimised by its name, the groups or
levels, and with ``--validate`` the held-out rows' log-loss, accuracy and AUC (overall, and per group
their median and worst)."""

from __future__ import annotations

import numpy as np

from .. import metrics
from ..problem.groups import Factorized

__all__ = ["report", "probabilities", "innermost"]


def innermost(groups, n: int) -> np.ndarray:
    """Each row's innermost group (a code), or 0 for every row without groups."""
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    levels = groups if isinstance(groups, list) else [groups]
    key = np.zeros(n, dtype=np.int64)
    for g in levels:
        codes = g.codes if isinstance(g, Factorized) else np.unique(np.asarray(g), return_inverse=True)[1].reshape(-1)
        key = np.unique(key * (int(codes.max()) + 1) + codes, return_inverse=True)[1].reshape(-1)
    return key


def probabilities(r, X, groups) -> np.ndarray:
    """(B, M, K) probabilities of rows X: every model of a batch, or each row's own group's model (B = 1)."""
    if groups is None:
        return r.predict_proba(X)
    return r.predict_proba(X, groups=groups)[None]


def report(r, args, meta, X, y, groups, held=None) -> None:
    """The summary of a trained batch; ``held`` (X, y, groups) the rows held out by --validate."""
    import fastperceptron as fp

    for name, (zero, one) in (meta.get("target_labels") or {}).items():
        print(f"target           {name!r}: {one!r} is 1, {zero!r} is 0 (--positive chooses the 1)")
    print(f"backend          {r.backend} ({r.dtype})")
    print(f"models           {r.n_models:,} x {int(r.iterations.max()):,} iterations"
          + ("" if r.complete else "  (INTERRUPTED: incomplete)"))
    training = max(r.seconds - r.setup_seconds, 1e-12)
    setup = (f"  ({r.setup_seconds:.2f} s of it preparing the backend: data layout, kernel compile or load)"
             if r.setup_seconds >= 0.1 else "")
    print(f"time             {r.seconds:.3f} s{setup}")
    if r.converged is None:  # gradient steps: how fast they went
        print(f"throughput       {int(r.iterations.sum()) / training / 1e6:,.2f} million model-iterations/s")
    _loss(r, X, y, groups)
    if r.pooling is not None:
        _levels(r)
    elif r.groups is not None:
        sizes = np.quantile(r.group_sizes, [0, 0.5, 1])
        print(f"groups           {r.n_models:,} by {meta['group_by']!r} ({int(r.group_sizes.sum()):,} rows; "
              f"rows per group min {sizes[0]:,.0f}, median {sizes[1]:,.0f}, max {sizes[2]:,.0f})")
        if r.converged is None:
            row_its = float((r.iterations * r.group_sizes).sum())
            print(f"                 {row_its / training / 1e6:,.2f} million row-iterations/s")
        if r.fallback_weights is not None:
            small = int((r.group_sizes < r.min_rows).sum())
            print(f"fallback         one model on all {int(r.group_sizes.sum()):,} rows; it serves the {small:,} groups "
                  f"under {r.min_rows:,} rows (and unseen labels with predict --unseen fallback)")
    if r.converged is not None:
        print(f"converged        {int(r.converged.sum()):,} of {r.n_models:,} models (solver {r.params['solver']!r}; "
              f"iterations median {int(np.median(r.iterations)):,}, max {int(r.iterations.max()):,})")
    elif args.tol is not None:
        cap = int(r.params["iterations"])
        print(f"stopped early    {int((r.iterations < cap).sum()):,} of {r.n_models:,} models")
    if held is not None:
        _held_out(r, *held, meta)
    if r.n_features == 3 and not args.data:
        p = r.ensemble_proba(fp.datasets.NEW_SITUATION)[0]
        print(f"new situation    [1, 0, 0] -> {' '.join(f'{v:.8f}' for v in p)} (ensemble mean)")


def _loss(r, X, y, groups) -> None:
    """The loss by its name: the mean cross-entropy (log-loss) of the training rows for logistic
    models, else SPEC §5's mean squared error; per model (min, median, max) for a batch of several."""
    if r.params.get("rule") != "logistic" or y is None:
        q = np.quantile(r.loss.astype(np.float64), [0, 0.5, 1])
        print(f"loss             min {q[0]:.4g}   median {q[1]:.4g}   max {q[2]:.4g}  (mean squared error)")
        return
    P = probabilities(r, X, groups)
    Y = np.asarray(y, dtype=np.float64).reshape(X.shape[0], -1)
    per = np.array([metrics.log_loss(Y.ravel(), P[b].ravel()) for b in range(P.shape[0])])
    if per.size == 1:
        print(f"log-loss         {per[0]:.4f}  (the training rows' mean cross-entropy)")
    else:
        q = np.quantile(per, [0, 0.5, 1])
        print(f"log-loss         min {q[0]:.4f}   median {q[1]:.4f}   max {q[2]:.4f}  (the training rows' mean "
              "cross-entropy, per model)")


def _levels(r) -> None:
    """The levels of a pooled batch, the shrinkage of each and, when chosen by CV, its held-out loss."""
    h, p = r.pooling.hierarchy, r.pooling
    for j, name in enumerate(h.names):
        sizes = np.quantile(h.sizes[j], [0, 0.5, 1])
        chosen = f"shrink {p.shrink[j]:.4g}"
        if p.cv_loss is not None:
            chosen += (f" (cv: held-out log-loss {p.cv_loss[j].min():.4f}; {p.cv_loss[j].max():.4f} at the worst of "
                       f"{p.grid.size} values, {p.grid[0]:.3g} to {p.grid[-1]:.3g})")
        print(f"level {j + 1}          {h.paths[j].size:,} {name!r} groups, rows min {sizes[0]:,.0f} median "
              f"{sizes[1]:,.0f} max {sizes[2]:,.0f}; {chosen}")


def _held_out(r, X, y, groups, meta) -> None:
    """--validate: the held-out rows' log-loss, accuracy and AUC (the ensemble's mean for a batch of
    several models), and per group their median and worst."""
    P = probabilities(r, X, groups).mean(axis=0)
    Y = np.asarray(y, dtype=np.float64).reshape(X.shape[0], -1)
    for k in range(Y.shape[1]):
        s = metrics.scores(Y[:, k], P[:, k], None if groups is None else innermost(groups, X.shape[0]))
        name = (meta.get("target_names") or [f"y{k}"])[k] if Y.shape[1] > 1 else ""
        print(f"held-out{(' ' + name) if name else '':<9}{s['rows']:,} rows: log-loss {s['log_loss']:.4f}, accuracy "
              f"{s['accuracy']:.4f}, AUC {s['auc']:.4f}")
        if "groups" in s:
            g = s["groups"]
            print(f"  per group      {g['count']:,} groups: log-loss median {g['log_loss'][0]:.4f}, worst "
                  f"{g['log_loss'][1]:.4f}; accuracy median {g['accuracy'][0]:.4f}, worst {g['accuracy'][1]:.4f}; "
                  f"AUC median {g['auc'][0]:.4f}, worst {g['auc'][1]:.4f} ({g['with_auc']:,} with both classes)")
