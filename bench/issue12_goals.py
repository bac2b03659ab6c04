"""Issue 12's goals, side by side in one run (float64):

1. the 2,000-group case of issue 11 (D = 8, logistic + bias, C = 1): fastperceptron's Newton
   solver against a scikit-learn ``LogisticRegression(C=1)`` loop over the groups — their log-loss
   and their seconds;
2. 1,000 bootstrap models on a shared (20,000 × 50) table, C = 1: ``solver="lbfgs"`` against
   ``BaggingClassifier(LogisticRegression(), n_estimators=1000, n_jobs=-1)``, on two tables:
   ``make_classification(20000, 50, n_informative=10)`` (scikit-learn's lbfgs needs ~18
   iterations there, as on the issue's table) and independent standard-normal features (~6);
3. breast cancer (standardised): ``PerceptronClassifier(C=1.0)`` with either solver against
   ``LogisticRegression(C=1.0)`` (its default tolerance, and tightened).

    .venv/bin/python bench/issue12_goals.py [--skip-bagging] [--backend numba]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def log_loss_rows(p, y):
    p = np.clip(p, 1e-300, 1 - 1e-16)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _sklearn_group_loop(Xs, ys, bounds, **kw):
    """LogisticRegression(C=1, **kw) on each group's rows: (seconds, per-row log-loss)."""
    from sklearn.linear_model import LogisticRegression

    t = time.perf_counter()
    coefs = [LogisticRegression(C=1.0, **kw).fit(Xs[a:b], ys[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    seconds = time.perf_counter() - t
    sizes = np.diff(bounds)
    W = np.repeat(np.array([m.coef_[0] for m in coefs]), sizes, axis=0)
    c = np.repeat(np.array([m.intercept_[0] for m in coefs]), sizes)
    z = np.einsum("nd,nd->n", Xs, W) + c
    return seconds, log_loss_rows(1 / (1 + np.exp(-z)), ys)


def goal_groups(backend: str) -> None:
    import warnings

    import fastperceptron as fp
    from fastperceptron.benchmarks.groups import group_case

    X, y, g = group_case(2000)
    # scikit-learn needs both classes in a group; a group of one class has no optimum with an
    # unpenalised bias. Both sides train the same groups.
    pos = np.bincount(g, weights=y)
    n = np.bincount(g)
    keep = (pos > 0) & (pos < n)
    rows = keep[g]
    X, y, g = X[rows], y[rows], g[rows]
    labels = np.unique(g)
    order = np.argsort(g, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(g)[labels])])
    Xs, ys = X[order], y[order]
    t_sk, loss_sk = _sklearn_group_loop(Xs, ys, bounds)
    _, loss_tight = _sklearn_group_loop(Xs, ys, bounds, solver="newton-cholesky", tol=1e-12, max_iter=1000)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the compile run's tiny groups are separable
        fp.train(X[:100], y[:100], groups=g[:100], solver="newton", l2=1.0, bias=True, backend=backend)
    best, t_fp = None, np.inf
    for _ in range(3):
        t = time.perf_counter()
        r = fp.train(X, y, groups=g, solver="newton", l2=1.0, bias=True, backend=backend, progress=False)
        if time.perf_counter() - t < t_fp:
            best, t_fp = r, time.perf_counter() - t
    p = best.predict_proba(Xs, groups=g[order])[:, 0]
    loss_fp = log_loss_rows(p, ys)
    per_group = lambda v: np.add.reduceat(v, bounds[:-1]) / np.diff(bounds)  # noqa: E731
    print(f"## goal 1: {len(labels):,} groups with both classes, {len(y):,} rows, D = 8, C = 1")
    print(f"scikit-learn loop (default: lbfgs, tol 1e-4)  {t_sk:8.3f} s   mean log-loss {loss_sk.mean():.10f}")
    print(f"scikit-learn loop (newton-cholesky, tol 1e-12)             mean log-loss {loss_tight.mean():.10f}")
    print(f"fp.train(solver='newton', backend={backend!r})  {t_fp:8.3f} s   mean log-loss {loss_fp.mean():.10f}   "
          f"iterations median {np.median(best.iterations):.0f}, max {best.iterations.max()}, "
          f"converged {best.converged.sum()}/{best.n_models}")
    for name, ref in (("default", loss_sk), ("tight", loss_tight)):
        gs, gf = per_group(ref), per_group(loss_fp)
        print(f"log-loss vs scikit-learn {name}: overall relative difference "
              f"{abs(loss_fp.mean() - ref.mean()) / ref.mean():.2e}, largest per group {np.max(np.abs(gf - gs) / gs):.2e}")
    print(f"speed-up over the default loop: {t_sk / t_fp:.1f}x (wall time of the whole fp.train call)")


def _bagging_table(kind: str):
    N, D = 20_000, 50
    if kind == "make_classification":
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=N, n_features=D, n_informative=10, random_state=0)
        return X, y.astype(float)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    w = rng.normal(size=D) / np.sqrt(D) * 2
    return X, (rng.random(N) < 1 / (1 + np.exp(-(X @ w)))).astype(float)


def goal_bagging(backend: str, skip_bagging: bool, models: int = 1000) -> None:
    import fastperceptron as fp

    print(f"## goal 2: {models:,} bootstrap models, shared (20,000 x 50), C = 1")
    for kind in ("make_classification", "normal"):
        X, y = _bagging_table(kind)
        sw = fp.bootstrap_weights(len(y), np.arange(models))
        fp.train(X[:200], y[:200], solver="lbfgs", l2=[1.0, 2.0], bias=True, backend=backend)  # compile
        t = time.perf_counter()
        r = fp.train(X, y, sample_weight=sw, solver="lbfgs", l2=1.0, bias=True, backend=backend, progress=False)
        t_fp = time.perf_counter() - t
        print(f"[{kind}] fp.train(solver='lbfgs', backend={backend!r})  {t_fp:8.3f} s   iterations median "
              f"{np.median(r.iterations):.0f}, max {r.iterations.max()}, converged {r.converged.sum()}/{r.n_models}")
        if skip_bagging:
            continue
        from sklearn.ensemble import BaggingClassifier
        from sklearn.linear_model import LogisticRegression

        t = time.perf_counter()
        bag = BaggingClassifier(LogisticRegression(C=1.0), n_estimators=models, n_jobs=-1, random_state=0).fit(X, y)
        t_bag = time.perf_counter() - t
        its = np.array([e.n_iter_[0] for e in bag.estimators_])
        print(f"[{kind}] BaggingClassifier(LogisticRegression(), n_jobs=-1)  {t_bag:8.3f} s   lbfgs iterations "
              f"median {np.median(its):.0f}   speed-up {t_bag / t_fp:.1f}x")


def goal_breast_cancer() -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from fastperceptron.sklearn import PerceptronClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    print("## goal 3: breast cancer (569 x 30, standardised), C = 1: largest |Δcoef| / max|coef|")
    refs = {"LogisticRegression() default (lbfgs, tol 1e-4: stops 1% short here)": LogisticRegression(C=1.0).fit(X, y),
            "LogisticRegression(tol=1e-10, max_iter=10000) (lbfgs)":
                LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(X, y),
            "LogisticRegression(solver='newton-cholesky', tol=1e-12)":
                LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)}
    for solver in ("newton", "lbfgs"):
        m = PerceptronClassifier(C=1.0, solver=solver).fit(X, y)
        for name, ref in refs.items():
            rel = np.abs(m.coef_ - ref.coef_).max() / np.abs(ref.coef_).max()
            rel_c = abs(m.intercept_[0] - ref.intercept_[0]) / abs(ref.intercept_[0])
            print(f"PerceptronClassifier(solver={solver!r}) vs {name}: coef {rel:.2e}, intercept {rel_c:.2e}")


def main() -> None:
    from fastperceptron.machine import describe as machine

    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="numba")
    ap.add_argument("--skip-bagging", action="store_true", help="skip the minute-long BaggingClassifier run")
    args = ap.parse_args()
    print(f"# {machine()}")
    goal_groups(args.backend)
    goal_bagging(args.backend, args.skip_bagging)
    goal_breast_cancer()


if __name__ == "__main__":
    main()
