"""L-BFGS with its default arguments on raw real tables (issue 33) against Newton's optimum:
scikit-learn's breast-cancer table unscaled (l2 1 and 1e-3, and with bootstrap counts), its wine
table, and a binomial dose-response table (successes and failures as sample weights).

    .venv/bin/python bench/lbfgs_real_tables.py
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine

import fastperceptron as fp


def tables():
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(1)
    yield "breast cancer, l2 = 1", X, y, None, 1.0
    yield "breast cancer, l2 = 1e-3", X, y, None, 1e-3
    yield "breast cancer, bootstrap counts, l2 = 1", X, y, rng.integers(0, 3, len(y)).astype(float), 1.0
    Xw, yw = load_wine(return_X_y=True)
    yield "wine (class 0), l2 = 1", Xw, (yw == 0).astype(float), None, 1.0
    G = 60
    dose, temp, age = rng.uniform(0, 500, G), rng.normal(300, 20, G), rng.integers(20, 80, G).astype(float)
    trials = rng.integers(20, 200, G)
    succ = rng.binomial(trials, 1 / (1 + np.exp(-(-3 + 0.01 * dose + 0.02 * (temp - 300) - 0.01 * (age - 50)))))
    Xb, yb = np.repeat(np.c_[dose, temp, age], 2, axis=0), np.tile([1.0, 0.0], G)
    sb = np.c_[succ, trials - succ].ravel().astype(float)
    yield "binomial dose-response, l2 = 0", Xb, yb, sb, 0.0


def main():
    warnings.simplefilter("ignore")
    print("| table | Newton | L-BFGS | L-BFGS time (s) | max relative difference |\n| --- | --- | --- | ---: | ---: |")
    for name, X, y, s, l2 in tables():
        kw = dict(sample_weight=s, l2=l2, bias=True)
        n = fp.train(X, y, solver="newton", **kw)
        start = time.perf_counter()
        lb = fp.train(X, y, solver="lbfgs", **kw)
        seconds = time.perf_counter() - start
        a, b = np.r_[lb.weights.ravel(), lb.bias.ravel()], np.r_[n.weights.ravel(), n.bias.ravel()]
        print(f"| {name} | {n.iterations[0]} it, {n.stop_reason[0]} | {lb.iterations[0]} it, {lb.stop_reason[0]} | "
              f"{seconds:.3f} | {np.max(np.abs(a - b) / np.abs(b)):.1e} |")


if __name__ == "__main__":
    main()
