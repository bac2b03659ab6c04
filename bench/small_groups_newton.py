"""Newton on many small raw-scaled groups (issue 33): 600 groups of 5 rows, six raw columns of scales
1 to 10⁷ with offsets, l2 = 1 — five rows cannot pin seven parameters, and λ/σ² = 10⁻¹⁴ leaves
directions of curvature ~0. Prints, per backend, the wall time of the call (after a warm-up), the
stop reasons, and the worst objective of a two-class group above an independent BFGS (scipy, in
standardised coordinates, started from ours).

    .venv/bin/python bench/small_groups_newton.py [SEED ...]
"""

import sys
import time
import warnings

import numpy as np
from scipy.optimize import minimize

import fastperceptron as fp


def problem(seed):
    rng = np.random.default_rng(seed)
    G, n = 600, 5
    scales = np.array([1, 10, 1e3, 1e5, 1e6, 1e7])
    offsets = np.array([0, 5, 1e4, -3e5, 2e7, 1e9])
    X = rng.normal(size=(G * n, 6)) * scales + offsets
    g = np.repeat(np.arange(G), n)
    rng.shuffle(g)
    y = (rng.random(G * n) < 1 / (1 + np.exp(-((X - offsets) @ (rng.normal(size=6) / scales))))).astype(float)
    return X, y, g


def objective(X, y, w, c):
    """L(w, c) summed without cancellation (as fastperceptron.maths.cross_entropy_sigmoid): a
    well-separated group's loss of 10⁻¹¹ is resolved, not lost to the rounding of softplus(z) − z."""
    z = X @ w + c
    return float(np.sum((np.maximum(z, 0) - y * z) + np.log1p(np.exp(-np.abs(z)))) + 0.5 * w @ w)


def worst_gap(r, X, y, g):
    worst_abs = worst_rel = 0.0
    for k, label in enumerate(r.groups):
        rows = g == label
        Xg, yg = X[rows], y[rows]
        if yg.min() == yg.max():
            continue
        mu, sd = Xg.mean(0), Xg.std(0)
        ours = objective(Xg, yg, r.weights[k, :, 0], r.bias[k, 0])
        start = np.r_[r.weights[k, :, 0] * sd, r.bias[k, 0] + mu @ r.weights[k, :, 0]]
        best = min(ours, minimize(lambda p: objective(Xg, yg, p[:-1] / sd, p[-1] - mu @ (p[:-1] / sd)), start,
                                  method="BFGS", options=dict(gtol=1e-14, maxiter=2000)).fun)
        worst_abs, worst_rel = max(worst_abs, ours - best), max(worst_rel, (ours - best) / abs(best))
    return worst_abs, worst_rel


def main(seeds):
    warnings.simplefilter("ignore", fp.ConvergenceWarning)
    print("| seed | backend | time (s) | stop reasons | worst gap, absolute | relative |\n| --- | --- | ---: | --- | ---: | ---: |")
    for seed in seeds:
        X, y, g = problem(seed)
        for backend in ("numpy", "numba"):
            fp.train(X[:60], y[:60], groups=g[:60], solver="newton", l2=1.0, bias=True, backend=backend)
            best, r = 1e9, None
            for _ in range(3):
                start = time.perf_counter()
                r = fp.train(X, y, groups=g, solver="newton", l2=1.0, bias=True, backend=backend)
                best = min(best, time.perf_counter() - start)
            reasons = ", ".join(f"{k} {v}" for k, v in zip(*np.unique(r.stop_reason, return_counts=True)))
            gap_abs, gap_rel = worst_gap(r, X, y, g)
            print(f"| {seed} | {backend} | {best:.3f} | {reasons} | {gap_abs:.1e} | {gap_rel:.1e} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 1, 2])
