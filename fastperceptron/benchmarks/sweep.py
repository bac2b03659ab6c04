"""Side-by-side timing of the available backends (``fastperceptron bench``): the sweep over B of the
seed and per-model cases, and the grid of shapes with what ``auto`` picks.

Each point trains B models for T iterations with every backend, after a warm-up run (JIT
compilation, GPU context), and keeps the best of ``repeat`` runs. The figure reported is
model-iterations per second, B·T / seconds, where seconds is :attr:`TrainResult.seconds` (data
transfer to and from the device included).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .. import datasets
from ..errors import StabilityWarning
from ..machine import describe as machine
from ..registry import backends as _backends
from ..training import train

__all__ = ["CASES", "GPU_BACKENDS", "make_case", "run_sweep", "plot", "machine", "describe", "grid_shapes", "run_grid"]

GPU_BACKENDS = ("cuda", "cupy")


def describe(names) -> str:
    """The machine in one line (:func:`machine`), and the GPUs when ``names`` holds a GPU backend, so
    that every table of a GPU run names its GPU."""
    if not any(n in GPU_BACKENDS for n in names):
        return machine()
    from ..backend.cuda import device

    try:
        runtime = device.cupy().cuda.runtime
        gpus = [runtime.getDeviceProperties(d)["name"] for d in device.devices()]
        gpus = [g.decode() if isinstance(g, bytes) else str(g) for g in gpus]
        text = ", ".join(f"{gpus.count(g)} × {g}" if gpus.count(g) > 1 else g for g in dict.fromkeys(gpus))
    except Exception as exc:  # noqa: BLE001 - the header reports, never fails
        text = f"unknown ({type(exc).__name__}: {exc})"
    return f"{machine()}; GPU: {text}"

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


def run_sweep(case="seed", models=None, iterations=None, dtype="float64", backends=None, repeat=3, out=sys.stdout,
              peers=False, threads=None):
    """Time every requested (default: every available) backend over the batch sizes; print a table.

    ``peers=True`` (or the names, e.g. ``["jax"]``) adds JAX and PyTorch (:mod:`.peers`) where they are
    installed: on the CPU, or on the GPU when a GPU backend is timed (left out, with a line, where
    their library sees no GPU).
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
    gpu = any(n in GPU_BACKENDS for n in names)
    if peers:
        from .peers import usable_peers, wanted_peers

        names += usable_peers(wanted_peers(peers), gpu, out)
    print(f"# {case} case, T = {iterations:,}, {dtype}, best of {repeat}; {describe(names)}", file=out)
    print(f"{'backend':<8} {'B':>10} {'seconds':>10} {'model-it/s':>14}", file=out)
    rows = []
    for B in models:
        X, y = make_case(case, B)
        for name in names:
            if name in infos:
                kw = dict(models=B, dtype=dtype, backend=name, progress=False, threads=threads)
                with warnings.catch_warnings():  # a timing: the per-model case's rate 1 is over its stable step
                    warnings.simplefilter("ignore", StabilityWarning)
                    train(X, y, iterations=1, **kw)  # warm-up: compilation, device context, caches
                    best = min(train(X, y, iterations=iterations, **kw).seconds for _ in range(repeat))
            else:
                from .peers import run_peer

                best = min(run_peer(name, X, y, B, iterations, dtype, threads, gpu=gpu) for _ in range(repeat))
            rate = B * iterations / best
            rows.append({"case": case, "backend": name, "models": B, "iterations": iterations,
                         "dtype": dtype, "seconds": best, "rate": rate})
            print(f"{name:<8} {B:>10,} {best:>10.4f} {rate:>14.4g}", file=out, flush=True)
    return rows


def plot(rows, path) -> str:
    """Draw model-iterations/s against B, one line per backend, into ``path`` (PNG, SVG or PDF)."""
    from .. import plot as _plot

    fig = _plot.require_matplotlib()(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    for name in dict.fromkeys(r["backend"] for r in rows):
        pts = [(r["models"], r["rate"]) for r in rows if r["backend"] == name]
        ax.loglog(*zip(*pts), marker="o", label=name)
    r0 = rows[0]
    ax.set_xlabel("models trained at once (B)")
    ax.set_ylabel("model-iterations per second")
    ax.set_title(f"fastperceptron, {r0['case']} case, T = {r0['iterations']:,}, {r0['dtype']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _plot.save(fig, path)


# --- the shape grid (issue 10): shared and per-model data over N, D, K, B ----------------------------
#: Shapes of the grid. Shared data: N × D × K × B, without the largest corner (over 2·10⁹
#: multiply-adds per iteration). Per-model data: smaller, since every model holds its own table.
GRID = {
    "shared": dict(N=(1_000, 10_000, 100_000), D=(8, 50, 200), K=(1, 10), B=(10, 256, 4_096)),
    "per-model": dict(N=(1_000, 10_000), D=(8, 50), K=(1, 10), B=(10, 256, 4_096)),
}
_MAX_WORK = 2e9  # N·D·B·K per iteration
_MAX_PER_MODEL_VALUES = 3e7  # B·N·D of per-model data (240 MB in float64)


def grid_shapes(quick: bool = False, data_kinds=None) -> list[dict]:
    """Every shape of the grid (``quick``: a few corners, for tests and a first look; ``data_kinds``:
    "shared" and/or "per-model", default both)."""
    out = []
    for data, axes in GRID.items():
        if data_kinds and data not in data_kinds:
            continue
        for N in axes["N"]:
            for D in axes["D"]:
                for K in axes["K"]:
                    for B in axes["B"]:
                        if N * D * B * K > _MAX_WORK or (data == "per-model" and B * N * D > _MAX_PER_MODEL_VALUES):
                            continue
                        out.append(dict(data=data, N=N, D=D, K=K, B=B))
    if quick:
        out = [s for s in out if s["N"] == 1_000 and s["D"] == 8 and s["B"] in (10, 256)]
    return out


def _grid_data(shape: dict):
    """Random logistic-regression data of a grid shape (fixed seed): X standardised, y 0/1."""
    rng = np.random.default_rng(2026)
    N, D, K, B = shape["N"], shape["D"], shape["K"], shape["B"]
    X = rng.standard_normal((N, D) if shape["data"] == "shared" else (B, N, D))
    w = rng.standard_normal((D, K)) / np.sqrt(D)
    y = (rng.random(X.shape[:-1] + (K,)) < 1 / (1 + np.exp(-X @ w))).astype(np.float64)
    return X, y


def run_grid(dtypes=("float64",), peers=True, repeat=2, seconds=0.25, quick=False, out=sys.stdout, threads=None,
             data_kinds=None):
    """Time every backend layout (and JAX) over the grid; print one row per shape with what ``auto``
    picks and how its pick compares with the fastest backend. Rule logistic, no bias, η = 1/N.

    Every candidate runs the same T iterations, chosen so that the fastest estimate takes about
    ``seconds``; figures are model-iterations per second, best of ``repeat`` after a warm-up.
    """
    from ..planner import candidates, plan
    from ..problem import make_problem

    infos = _backends()
    cpu = [n for n in ("numpy", "numba") if infos[n].available]
    jax_ok = False
    if peers:
        from .peers import usable_peers, wanted_peers

        jax_ok = bool(usable_peers(wanted_peers(peers, ("jax",)), gpu=False, out=out))  # the grid times CPU layouts
    print(f"# grid: rule logistic, no bias, lr 1/N; best of {repeat}; {machine()}", file=out)
    head = ["data", "N", "D", "K", "B", "dtype", "T", "numpy", "numba:lanes", "numba:gemm", "numba:rows", "jax",
            "auto picks", "auto/best"]
    print("| " + " | ".join(head) + " |", file=out)
    print("|" + "|".join(" --- " for _ in head) + "|", file=out, flush=True)
    rows = []
    for dtype in dtypes:
        for shape in grid_shapes(quick, data_kinds):
            X, y = _grid_data(shape)
            B = shape["B"]
            kw = dict(models=B, rule="logistic", learning_rate=1.0 / shape["N"], dtype=dtype, progress=False,
                      threads=threads)
            problem = make_problem(X, y, **{k: v for k, v in kw.items() if k not in ("progress", "threads")})
            layouts = [lay for n in cpu for lay in candidates(problem, n)]
            names = [lay.qualified if lay.backend == "numba" else lay.backend for lay in layouts]
            guess = min(lay.estimate(problem, threads) for lay in layouts)
            T = int(min(2_000, max(2, seconds / guess)))
            rates = {}
            for name in names:
                train(X, y, iterations=1, backend=name, **kw)  # warm-up: compile or load the kernels
                best = min(train(X, y, iterations=T, backend=name, **kw).seconds for _ in range(repeat))
                rates[name] = B * T / best
            if jax_ok:
                from .peers import run_peer

                best = min(run_peer("jax", X, y, B, T, dtype, threads, "logistic", 1.0 / shape["N"])
                           for _ in range(repeat))
                rates["jax"] = B * T / best
            pick = plan(problem, "auto", threads)
            picked = "numpy" if pick.backend == "numpy" else pick.name
            fastest = max(v for k, v in rates.items() if k != "jax")
            row = dict(shape, dtype=dtype, T=T, rates=rates, pick=picked, ratio=rates.get(picked, float("nan")) / fastest)
            rows.append(row)
            cells = [shape["data"], f"{shape['N']:,}", str(shape["D"]), str(shape["K"]), f"{B:,}", dtype, str(T)]
            cells += [f"{rates[c]:.3g}" if c in rates else "—"
                      for c in ("numpy", "numba:lanes", "numba:gemm", "numba:rows", "jax")]
            cells += [picked, f"{row['ratio']:.2f}"]
            print("| " + " | ".join(cells) + " |", file=out, flush=True)
    worst = min(r["ratio"] for r in rows)
    print(f"# auto's pick reaches {worst:.0%} of the fastest backend's rate on its worst shape", file=out)
    return rows
