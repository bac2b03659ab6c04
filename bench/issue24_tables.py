"""Issue 24's goals: a table trains as fast as the same data given as arrays, in no more memory.

Run: .venv/bin/python bench/issue24_tables.py speed [N]     (default N = 400,000)
     .venv/bin/python bench/issue24_tables.py memory [N]    (default N = 10,000,000)
(needs polars, pandas and pyarrow). The data: D = 4 float64 features, a 0/1 target, 10,000 stores
named "store-<i>" (strings); one model per store, solver "newton", l2 = 1, bias. The arrays case
gets X (N, D) float64, y (N,) and the labels as a numpy str array, as a user holding arrays would.

speed: each case's whole fp.train call, best of 3 after a warm-up that compiles the kernels; checks
that every table gives the arrays' weights bit for bit.
memory: each case in its own process, which builds only its own input and runs one small call (the
kernels loaded), then resets the kernel's peak-RSS mark (/proc/self/clear_refs) and reports the
peak resident memory the fp.train call added (VmHWM after the call minus VmRSS before it).
"""
import subprocess
import sys
import time
import warnings

import numpy as np

import fastperceptron as fp

G, D = 10_000, 4
FIT = dict(solver="newton", l2=1.0, bias=True, progress=False)
warnings.simplefilter("ignore", fp.ConvergenceWarning)  # a few stores of one class, the same in every case


def data(N):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    y = (X @ np.array([1.0, -0.5, 0.25, 0.0]) + rng.normal(size=N) > 0).astype(np.float64)
    store = np.array([f"store-{i}" for i in range(G)])[rng.integers(0, G, N)]
    return X, y, store


def table(kind, X, y, store):
    columns = {f"x{d}": X[:, d] for d in range(D)} | {"store": store, "y": y}
    if kind == "pandas":
        import pandas as pd
        return pd.DataFrame(columns)
    if kind == "pyarrow":
        import pyarrow as pa
        return pa.table(columns)
    import polars as pl
    frame = pl.DataFrame(columns)
    return frame.lazy() if kind == "polars lazy" else frame


def call(kind, inputs):
    if kind == "arrays":
        X, y, store = inputs
        return fp.train(X, y, groups=store, **FIT)
    return fp.train(inputs, target="y", groups="store", **FIT)


def speed(N):
    X, y, store = data(N)
    fp.train(X[:10_000], y[:10_000], groups=store[:10_000], **FIT)  # compile / load the kernels
    print(f"N = {N:,}, D = {D}, G = {G:,} string labels, solver newton; whole fp.train call, best of 3")
    print(f"{'input':<14} {'seconds':>8} {'vs arrays':>10}  bit-identical")
    ref = None
    for kind in ("arrays", "polars", "polars lazy", "pandas", "pyarrow"):
        inputs = (X, y, store) if kind == "arrays" else table(kind, X, y, store)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            r = call(kind, inputs)
            times.append(time.perf_counter() - t)
        ref = ref or (min(times), r)
        same = np.array_equal(r.weights, ref[1].weights) and np.array_equal(r.bias, ref[1].bias)
        print(f"{kind:<14} {min(times):>8.3f} {min(times) / ref[0]:>10.2f}  {same}")


def _status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024


def memory_one(kind, N):
    """In a process of its own: the peak memory the call adds, beside the input's size."""
    X, y, store = data(N)
    inputs = (X, y, store) if kind == "arrays" else table(kind, X, y, store)
    del X, y, store  # only the input of this case stays
    small = data(2_000)
    call(kind, small if kind == "arrays" else table(kind, *small))  # kernels loaded, the table library imported
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
    call(kind, inputs)
    peak = _status("VmHWM")
    print(f"{kind:<14} {(peak - before) / 2**30:>10.2f} GiB   (RSS before the call {before / 2**30:.2f} GiB)")


def memory(N):
    print(f"N = {N:,}, D = {D}, G = {G:,} string labels, solver newton; each case in its own process")
    print(f"{'input':<14} {'peak added by fp.train':>22}")
    for kind in ("arrays", "polars", "pandas", "pyarrow"):
        subprocess.run([sys.executable, __file__, "_memory", kind, str(N)], check=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "speed"
    if what == "_memory":
        memory_one(sys.argv[2], int(float(sys.argv[3])))
    elif what == "memory":
        memory(int(float(sys.argv[2])) if len(sys.argv) > 2 else 10_000_000)
    else:
        speed(int(float(sys.argv[2])) if len(sys.argv) > 2 else 400_000)
