"""The cost of statistics (issue 34's goal): for 10⁵ groups of 10⁶ rows in all (D = 4, raw-scaled
columns), the extra wall time of ``cov="nonrobust"`` (and HC1, cluster) over the same fit without,
best of ``REPEATS`` after a warm-up, on the backend ``auto`` picks. The goal: extra ≤ 0.5 × fit.

    .venv/bin/python bench/inference_cost.py [GROUPS] [ROWS]
"""

import sys
import time
import warnings

import numpy as np

import fastperceptron as fp
from fastperceptron.machine import vector_isa

REPEATS = 3


def problem(G: int, N: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, G, N)
    X = rng.normal(size=(N, 4)) * [1.0, 10.0, 1e3, 0.5] + [0.0, 50.0, 5e4, 0.0]
    theta = rng.normal(size=(G, 4)) * 0.3 / [1.0, 10.0, 1e3, 0.5]
    z = np.einsum("nd,nd->n", X - [0.0, 50.0, 5e4, 0.0], theta[g]) + rng.normal(size=G)[g] * 0.3
    y = (rng.random(N) < 1 / (1 + np.exp(-z))).astype(float)
    return X, y, g


def best(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    G = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    N = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    X, y, g = problem(G, N)
    clusters = np.random.default_rng(1).integers(0, 20, N)
    common = dict(groups=g, solver="newton", l2=1.0, bias=True, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fp.train(X, y, cov="nonrobust", **common)  # warm-up: the kernels compiled
        print(f"{G:,} groups, {N:,} rows, D = 4; backend {r.backend}; CPU ISA {vector_isa()}; "
              f"converged {int(r.converged.sum()):,} of {r.n_models:,}")
        fit = best(lambda: fp.train(X, y, **common))
        print(f"| cov | fit + statistics | extra | extra / fit |\n| --- | ---: | ---: | ---: |\n"
              f"| None (the fit alone) | {fit:.3f} s | | |")
        for cov, extra in (("nonrobust", {}), ("HC1", {}), ("cluster", {"clusters": clusters})):
            t = best(lambda: fp.train(X, y, cov=cov, **extra, **common))
            print(f"| {cov} | {t:.3f} s | {t - fit:.3f} s | {(t - fit) / fit:.2f} |")


if __name__ == "__main__":
    main()
