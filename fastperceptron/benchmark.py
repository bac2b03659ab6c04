"""Side-by-side timing of the available backends (``fastperceptron bench``).

Each point trains B models for T iterations with every backend, after a warm-up run (JIT
compilation, GPU context), and keeps the best of ``repeat`` runs. The figure reported is
model-iterations per second, B·T / seconds, where seconds is :attr:`TrainResult.seconds` (data
transfer to and from the device included).
"""

from __future__ import annotations

import platform
import sys

import numpy as np

from . import datasets
from .registry import backends as _backends
from .training import train

__all__ = ["CASES", "make_case", "run_sweep", "plot", "machine"]

# name: (default batch sizes, default iterations)
CASES = {
    "seed": ((1, 100, 10_000, 100_000), 2_000),
    "per-model": ((10, 100, 1_000), 200),
}


def make_case(case: str, n_models: int):
    """(X, y) of a benchmark case. per-model: one (200, 16) dataset per model, fixed seed."""
    if case == "seed":
        return datasets.seed()
    if case == "per-model":
        rng = np.random.default_rng(12345)
        X = rng.standard_normal((n_models, 200, 16))
        w = rng.standard_normal((n_models, 16, 1))
        y = (rng.random((n_models, 200, 1)) < 1 / (1 + np.exp(-X @ w))).astype(np.float64)
        return X, y
    raise ValueError(f"unknown benchmark case {case!r}; choose one of {sorted(CASES)}")


def machine() -> str:
    """A one-line description of the CPU this runs on."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name}, {threads} threads, Python {platform.python_version()}, numpy {np.__version__}"


def run_sweep(case="seed", models=None, iterations=None, dtype="float64", backends=None, repeat=3, out=sys.stdout,
              peers=False, threads=None):
    """Time every requested (default: every available) backend over the batch sizes; print a table.

    ``peers=True`` adds JAX and PyTorch (``fastperceptron.peers``) where they are installed.
    """
    default_models, default_iterations = CASES[case] if case in CASES else (None, None)
    if default_models is None:
        raise ValueError(f"unknown benchmark case {case!r}; choose one of {sorted(CASES)}")
    models = list(models or default_models)
    iterations = iterations or default_iterations
    if repeat < 1 or iterations < 1 or min(models) < 1:
        raise ValueError("--models, --iterations and --repeat must be positive")
    infos = _backends()
    names = list(backends) if backends else [n for n, i in infos.items() if i.available]
    for n in names:
        if not infos[n].available:
            raise ValueError(f"backend {n!r} is not available: {infos[n].reason}")
    if peers:
        from .peers import available_peers, peer_device

        missing = {p: why for p, why in available_peers().items() if why}
        for why in missing.values():
            print(f"# {why}", file=out)
        found = [p for p in available_peers() if p not in missing]
        if found:
            print("# peers run on: " + ", ".join(f"{p} {peer_device(p)}" for p in found), file=out)
        names += found
    print(f"# {case} case, T = {iterations:,}, {dtype}, best of {repeat}; {machine()}", file=out)
    print(f"{'backend':<8} {'B':>10} {'seconds':>10} {'model-it/s':>14}", file=out)
    rows = []
    for B in models:
        X, y = make_case(case, B)
        for name in names:
            if name in infos:
                kw = dict(models=B, dtype=dtype, backend=name, progress=False, threads=threads)
                train(X, y, iterations=1, **kw)  # warm-up: compilation, device context, caches
                best = min(train(X, y, iterations=iterations, **kw).seconds for _ in range(repeat))

            else:
                from .peers import run_peer

                best = min(run_peer(name, X, y, B, iterations, dtype, threads) for _ in range(repeat))
            rate = B * iterations / best
            rows.append({"case": case, "backend": name, "models": B, "iterations": iterations,
                         "dtype": dtype, "seconds": best, "rate": rate})
            print(f"{name:<8} {B:>10,} {best:>10.4f} {rate:>14.4g}", file=out, flush=True)
    return rows


def plot(rows, path) -> str:
    """Draw model-iterations/s against B, one line per backend, into ``path`` (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fastperceptron[plot]'") from None
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in dict.fromkeys(r["backend"] for r in rows):
        pts = [(r["models"], r["rate"]) for r in rows if r["backend"] == name]
        ax.loglog(*zip(*pts), marker="o", label=name)
    r0 = rows[0]
    ax.set_xlabel("models trained at once (B)")
    ax.set_ylabel("model-iterations per second")
    ax.set_title(f"fastperceptron, {r0['case']} case, T = {r0['iterations']:,}, {r0['dtype']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    from .io import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
    return str(path)
