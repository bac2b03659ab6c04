"""The checks of the GPU session (``bench/gpu_session.sh``, issue 36), each a few seconds on a GPU.

- ``preflight``: are the GPU backends usable? One line per backend, with the reason when it is not;
  exit status 1 when "cuda" or "cupy" is unavailable (the session script then stops: a GPU is there
  and the backends cannot use it, so nothing after would measure anything).
- ``parity``: "cuda" and "cupy" against "numpy" on the seed, per-model and groups cases, float64 and
  float32: the largest relative error of the trained weights, element by element (values under 1e-3
  held to an absolute 1e-3·rtol, as in tests/tolerance.py), against SPEC §4's tolerance (float64 1e-9,
  the seed problem 1e-12; float32 1e-4). Exit status 1 when one is over.
- ``registers``: what the "cuda" kernel's variants cost by model size D·K (shared data, K = 1): the
  first run's extra seconds (NVRTC compiling the variant), the registers per thread and the local
  memory (spills, arrays) of the compiled function, and the model-iterations per second of "cuda"
  and "cupy" — what ``MAX_DK`` (fastperceptron/backend/cuda/device.py) is to be chosen from.

Run: python bench/gpu_checks.py preflight|parity|registers [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fastperceptron as fp
from fastperceptron.benchmarks.sweep import describe

GPU = ("cuda", "cupy")


def preflight() -> int:
    infos = fp.backends()
    for name, info in infos.items():
        print(f"{name:<6} {'available' if info.available else 'NOT AVAILABLE: ' + info.reason}")
    broken = [n for n in GPU if not infos[n].available]
    if broken:
        print(f"FAILED: a GPU is present but backend(s) {', '.join(broken)} cannot use it (reasons above)")
        return 1
    print("GPU backends: cuda and cupy available")
    return 0


def _error(actual, desired) -> float:
    """The largest |actual − desired| / max(|desired|, 1e-3), NaN counted as infinite."""
    a, d = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    e = np.abs(a - d) / np.maximum(np.abs(d), 1e-3)
    return float(np.where(np.isnan(e), np.inf, e).max())


def _cases(quick: bool):
    """(name, X, y, keyword arguments of fp.train, float64 tolerance) of the parity cases."""
    B, T = (100, 200) if quick else (10_000, 2_000)
    X, y = fp.datasets.seed()
    yield "seed", X, y, dict(models=B, iterations=T), 1e-12
    rng = np.random.default_rng(36)
    B = 20 if quick else 1_000
    Xp = rng.standard_normal((B, 200, 16))
    yp = (rng.random((B, 200, 1)) < 1 / (1 + np.exp(-Xp @ rng.standard_normal((B, 16, 1))))).astype(float)
    yield "per-model", Xp, yp, dict(iterations=20 if quick else 200, learning_rate="auto", rule="logistic"), 1e-9
    Xg, yg, g = fp.datasets.groups(50 if quick else 2_000)
    yield "groups", Xg, yg, dict(groups=g, iterations=200, learning_rate=0.01, rule="logistic", bias=True), 1e-9


def parity(quick: bool = False, backends=GPU) -> int:
    print(f"# parity with numpy{' (quick sizes)' if quick else ''}; {describe(backends)}")
    print(f"{'case':<10} {'dtype':<8} {'backend':<8} {'max rel err':>12} {'tolerance':>10}  ok", flush=True)
    over = 0
    for dtype in ("float64", "float32"):
        for case, X, y, kw, tol64 in _cases(quick):
            tol = tol64 if dtype == "float64" else 1e-4
            ref = fp.train(X, y, backend="numpy", dtype=dtype, progress=False, **kw)
            for name in backends:
                r = fp.train(X, y, backend=name, dtype=dtype, progress=False, **kw)
                err = max(_error(r.weights, ref.weights), _error(r.bias, ref.bias) if ref.bias is not None else 0.0)
                over += err > tol
                print(f"{case:<10} {dtype:<8} {name:<8} {err:>12.3g} {tol:>10.0e}  {'yes' if err <= tol else 'NO'}",
                      flush=True)
    print(f"parity: {'every backend within SPEC §4' if not over else f'{over} result(s) over their tolerance'}")
    return int(over > 0)


def _attributes(dtype: str, D: int) -> str:
    """Registers per thread and local memory of the train kernel of the variant (shared X and y, no
    sample weights, D features, K = 1, the seed rule), as CuPy reads them from the driver."""
    from fastperceptron.backend.cuda.kernel import _model_kernels  # the variant's compiled functions

    try:
        fn = _model_kernels(dtype, True, True, 0, D, 1, True)[0]
        return f"{fn.num_regs:>5} {fn.local_size_bytes:>9}"
    except Exception as exc:  # noqa: BLE001 - a report line, never a failure
        return f"n/a ({type(exc).__name__})"


def registers(quick: bool = False) -> int:
    B, T, N = (50, 5, 16) if quick else (20_000, 50, 64)
    variants = [("float64", d) for d in (16, 64, 128, 256)] + [("float32", d) for d in (64, 256)]  # cheap first
    fp.backends()  # the GPU probe (CuPy's import, the context, its own kernels): not a variant's compile time
    print(f"# cuda kernel by model size: shared X ({N} rows), K = 1, B = {B:,}, T = {T}; compile = first run "
          f"minus second; {describe(GPU)}")
    print(f"{'dtype':<8} {'D*K':>4} {'compile s':>9} {'regs':>5} {'local B':>9} {'cuda it/s':>10} {'cupy it/s':>10}",
          flush=True)
    rng = np.random.default_rng(256)
    for dtype, D in variants[:3] if quick else variants:
        X = rng.standard_normal((N, D)) / np.sqrt(D)
        y = (rng.random((N, 1)) < 0.5).astype(float)
        kw = dict(models=B, iterations=T, dtype=dtype, progress=False)
        first = time.perf_counter()
        fp.train(X, y, backend="cuda", **kw)
        first = time.perf_counter() - first
        again = time.perf_counter()
        cuda = fp.train(X, y, backend="cuda", **kw).seconds
        again = time.perf_counter() - again
        fp.train(X, y, backend="cupy", **kw)
        cupy = fp.train(X, y, backend="cupy", **kw).seconds
        print(f"{dtype:<8} {D:>4} {first - again:>9.2f} {_attributes(dtype, D)} {B * T / cuda:>10.3g} "
              f"{B * T / cupy:>10.3g}", flush=True)
    return 0


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    quick = "--quick" in sys.argv[2:]
    if what not in ("preflight", "parity", "registers"):
        sys.exit(__doc__)
    sys.exit({"preflight": preflight, "parity": lambda: parity(quick), "registers": lambda: registers(quick)}[what]())
