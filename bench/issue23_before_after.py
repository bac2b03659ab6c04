"""Issue 23 (the restructure) changed no behaviour; this measures that it cost no speed: issue 10's
four shapes on numpy and numba (auto's layout), and a groups call with each solver.

Run from the repository's top, on this tree and on an older one (a worktree of the commit before):
    .venv/bin/python bench/issue23_before_after.py
    PYTHONPATH=/path/to/old/worktree .venv/bin/python bench/issue23_before_after.py
A: shared X, N = 20,000, D = 50, B = 256, logistic, T = 50;  B: N = 2,000, D = 64, K = 10 (one-hot),
B = 100, T = 200;  C: the seed problem, B = 10,000, T = 2,000;  D: per-model data, B = 1,000,
N = 200, D = 16, T = 200. Model-iterations/s, best of 3 after a warm-up. Groups: 2,000 groups of
log-normal sizes (median 47 rows), D = 8, l2 = 1, bias; the whole fp.train call, best of 3.
"""
import time
import warnings

import numpy as np

import fastperceptron as fp

warnings.simplefilter("ignore")
print(f"fastperceptron from {fp.__file__}")
rng = np.random.default_rng(0)


def shapes():
    yield "A", rng.standard_normal((20000, 50)), (rng.random((20000, 1)) < 0.5).astype(float), 256, 50, "logistic", 1e-4
    yield "B", rng.standard_normal((2000, 64)), np.eye(10)[rng.integers(0, 10, 2000)], 100, 200, "logistic", 1e-3
    X, y = fp.datasets.seed()
    yield "C", X, y.reshape(-1, 1), 10000, 2000, "seed", 1.0
    X = rng.standard_normal((1000, 200, 16))
    Y = (rng.random((1000, 200, 1)) < 1 / (1 + np.exp(-X @ rng.standard_normal((1000, 16, 1))))).astype(float)
    yield "D", X, Y, 1000, 200, "seed", 1.0


for case, X, Y, B, T, rule, lr in shapes():
    row = {}
    for backend in ("numpy", "numba"):
        kw = dict(models=B, learning_rate=lr, rule=rule, backend=backend, progress=False)
        fp.train(X, Y, iterations=1, **kw)
        row[backend] = B * T / min(fp.train(X, Y, iterations=T, **kw).seconds for _ in range(3))
    print(case, "model-it/s", {k: f"{v:.3g}" for k, v in row.items()}, flush=True)

sizes = np.maximum(1, rng.lognormal(np.log(47), 1.0, 2000).astype(int))
g = np.repeat(np.arange(2000), sizes)
Xg = rng.standard_normal((g.size, 8))
yg = (rng.random(g.size) < 1 / (1 + np.exp(-Xg @ rng.standard_normal(8)))).astype(float)
for solver, extra in (("gd", dict(iterations=200, learning_rate="auto", rule="logistic")), ("newton", {}),
                      ("lbfgs", {})):
    kw = dict(groups=g, solver=solver, l2=1.0, bias=True, backend="numba", progress=False, **extra)
    try:
        fp.train(Xg, yg, **kw)
    except (TypeError, ValueError) as exc:  # an older tree without learning_rate="auto"
        print("groups", solver, "skipped:", exc)
        continue
    times = []
    for _ in range(3):
        t = time.perf_counter()
        fp.train(Xg, yg, **kw)
        times.append(time.perf_counter() - t)
    print("groups", solver, f"{min(times):.3f} s (whole call, numba)", flush=True)
