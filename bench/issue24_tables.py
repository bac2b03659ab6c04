"""Issue 24's speed goal: a table of 10⁷ rows with a string group column trains as fast as the same
data given as arrays (within 30 %), for polars, pandas and pyarrow.

Run: .venv/bin/python bench/issue24_tables.py [N]   (default N = 10,000,000; needs polars, pandas, pyarrow)
The data: D = 4 float64 features, a 0/1 target, 10,000 stores named "store-<i>" (strings); one
model per store, solver "newton", l2 = 1, bias. The arrays case gets X (N, D) float64, y (N,) and
the labels as a numpy str array, as a user holding arrays would. Each case's whole fp.train call,
best of 3, after a warm-up that compiles the kernels. Checks that every table gives the arrays'
weights bit for bit.
"""
import sys
import time
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

import fastperceptron as fp

N = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000
G, D = 10_000, 4
rng = np.random.default_rng(0)
X = rng.normal(size=(N, D))
y = (X @ np.array([1.0, -0.5, 0.25, 0.0]) + rng.normal(size=N) > 0).astype(np.float64)
names = np.array([f"store-{i}" for i in range(G)])
store = names[rng.integers(0, G, N)]
columns = {f"x{d}": X[:, d] for d in range(D)} | {"store": store, "y": y}
FIT = dict(solver="newton", l2=1.0, bias=True, progress=False)
warnings.simplefilter("ignore", fp.ConvergenceWarning)  # a few stores of one class, the same in every case


def best(call, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t)
    return min(times), out


fp.train(X[:10_000], y[:10_000], groups=store[:10_000], **FIT)  # compile / load the kernels
t_arrays, ref = best(lambda: fp.train(X, y, groups=store, **FIT))
print(f"N = {N:,}, D = {D}, G = {G:,} string labels, {ref.backend}:{ref.params['layout']}, solver newton")
print(f"{'input':<16} {'fp.train (s)':>12} {'vs arrays':>10}  identical")
print(f"{'numpy arrays':<16} {t_arrays:>12.3f} {1.0:>10.2f}")
tables = {
    "polars": pl.DataFrame(columns),
    "polars lazy": pl.DataFrame(columns).lazy(),
    "pandas": pd.DataFrame(columns),
    "pyarrow": pa.table(columns),
}
for name, table in tables.items():
    t, r = best(lambda: fp.train(table, target="y", groups="store", **FIT))
    same = np.array_equal(r.weights, ref.weights) and np.array_equal(r.bias, ref.bias)
    print(f"{name:<16} {t:>12.3f} {t / t_arrays:>10.2f}  {same}")
