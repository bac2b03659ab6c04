"""Dask scaling on one machine (issue 6): LocalCluster of 1 and 2 worker processes against fp.train.

Run: ``.venv/bin/python bench/dask_scaling.py``. Prints a table of wall-clock seconds (best of 3,
after a warm-up run in every configuration) for a large batch (scaling) and a small one (the fixed
overhead of scattering, scheduling and gathering). Every configuration uses the numba backend.
"""

import time


import fastperceptron as fp
import fastperceptron.dask as fpd
from fastperceptron.machine import describe as machine


def best(fn, repeat=3):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    from distributed import Client, LocalCluster

    X, y = fp.datasets.seed()
    cases = {"large: B = 200,000, T = 2,000": (200_000, 2_000), "small: B = 100, T = 100": (100, 100)}
    print(f"# {machine()}")
    print(f"{'case':<32} {'configuration':<34} {'seconds':>9} {'model-it/s':>12}")
    for case, (B, T) in cases.items():
        rows = [("fp.train, 2 threads", lambda: fp.train(X, y, models=B, iterations=T, backend="numba", threads=2)),
                ("fp.train, 1 thread", lambda: fp.train(X, y, models=B, iterations=T, backend="numba", threads=1))]
        for name, fn in rows:
            s = best(fn)
            print(f"{case:<32} {name:<34} {s:>9.4f} {B * T / s:>12.4g}", flush=True)
        for workers in (1, 2):
            threads = 2 // workers
            with LocalCluster(n_workers=workers, threads_per_worker=threads, dashboard_address=":0") as cluster, \
                    Client(cluster) as client:
                s = best(lambda: fpd.train(X, y, client=client, models=B, iterations=T, backend="numba",
                                           threads=threads))
                name = f"dask, {workers} worker(s) x {threads} thread(s)"
                print(f"{case:<32} {name:<34} {s:>9.4f} {B * T / s:>12.4g}", flush=True)


if __name__ == "__main__":
    main()
