"""The numba backend: its kernel, threads, block layout, compile cache and fallbacks."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron import registry as backends_module
from fastperceptron.errors import KernelCompileError
from tolerance import FLOAT32, FLOAT64, assert_close

numba = pytest.importorskip("numba", reason="the numba backend needs Numba: pip install numba")


@pytest.mark.parametrize("case", ["shared", "per-model"])
def test_same_bits_whatever_the_thread_count(rng, case):
    if case == "shared":
        X, y = rng.normal(size=(12, 4)), rng.random((12, 2))
    else:
        X, y = rng.normal(size=(300, 12, 4)), rng.random((300, 12, 2))
    runs = [fp.train(X, y, models=300, iterations=200, learning_rate=0.1, bias=True, tol=1e-5, backend="numba",
                     threads=t) for t in (1, numba.config.NUMBA_NUM_THREADS)]
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)
    np.testing.assert_array_equal(runs[0].bias, runs[1].bias)
    np.testing.assert_array_equal(runs[0].iterations, runs[1].iterations)


def test_block_width_does_not_matter(rng, monkeypatch):
    """Every lane computes the same operations: the bits do not depend on how models are blocked."""
    from fastperceptron.backend.numba import lanes as numba_lanes

    X, y = rng.normal(size=(10, 3)), rng.random(10)
    results = []
    for lanes in (8, 32, 128):
        monkeypatch.setattr(numba_lanes, "choose_lanes", lambda *a, lanes=lanes: lanes)
        results.append(fp.train(X, y, models=200, iterations=100, learning_rate=0.2, backend="numba").weights)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_choose_lanes():
    from fastperceptron.backend.numba.lanes import choose_lanes

    assert choose_lanes(10_000, 2) == 128
    assert choose_lanes(100, 2) == 32  # 4 blocks: two per thread
    assert choose_lanes(1, 2) == 8
    assert choose_lanes(10_000, 2, per_model_bytes=200 * 16 * 8) == 64  # one block's data within 2 MiB


def test_threads_is_checked(seed_data):
    X, y = seed_data
    with pytest.raises(ValueError, match=r"threads must be between 1 and \d+ \(NUMBA_NUM_THREADS\), got 999"):
        fp.train(X, y, iterations=1, backend="numba", threads=999)
    with pytest.raises(ValueError, match=r"threads must be a positive integer or None, got 0"):
        fp.train(X, y, iterations=1, backend="numba", threads=0)


def test_threads_setting_is_restored(seed_data):
    X, y = seed_data
    before = numba.get_num_threads()
    fp.train(X, y, models=64, iterations=10, backend="numba", threads=1)
    assert numba.get_num_threads() == before


def test_saturated_sigmoid_in_float32_and_float64():
    X = np.array([[200.0], [-200.0], [1e4], [-1e4]])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    for dtype in ("float64", "float32"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow warning from numpy
            warnings.simplefilter("ignore", fp.StabilityWarning)  # |x| of 10³: said, and meant here
            a = fp.train(X, y, initial_weights=[[0.5]], iterations=5, dtype=dtype, backend="numba")
            b = fp.train(X, y, initial_weights=[[0.5]], iterations=5, dtype=dtype, backend="numpy")
        assert np.isfinite(a.weights).all() and np.isfinite(a.loss).all()
        assert_close(a.weights, b.weights, FLOAT64 if dtype == "float64" else FLOAT32, what=dtype)
        assert_close(a.loss, b.loss, FLOAT64 if dtype == "float64" else FLOAT32, what=dtype)


def test_exp_is_accurate():
    """The kernel's own exp, through σ, is within a few ulp of libm's over the whole range.

    With y = 0 and one sample per model (identity sample weights), model m's loss is σ(z_m)².
    """
    z = np.concatenate([np.linspace(-745, 745, 4_001), np.linspace(-5, 5, 2_001)])
    loss = fp.train(z[:, None], np.zeros(len(z)), sample_weight=np.eye(len(z)), initial_weights=[[1.0]],
                    iterations=0, backend="numba").loss
    with np.errstate(over="ignore"):
        expected = 1.0 / (1.0 + np.exp(-z))
    ok = expected > 1e-150  # σ² of smaller values underflows
    np.testing.assert_allclose(np.sqrt(loss[ok]), expected[ok], rtol=1e-14)
    assert (loss[~ok] < 1e-290).all()


def test_float32_exp_is_accurate():
    """The float32 exp (degree 7, float32 exponent bits): σ within 3e-7 (2.5 float32 ulp) of the
    float64 value over float32's range; numpy's float32 loop is within 1.8e-7 on the same points."""
    z = np.concatenate([np.linspace(-87, 87, 4_001), np.linspace(-5, 5, 2_001)]).astype(np.float32).astype(float)
    loss = fp.train(z[:, None], np.zeros(len(z)), sample_weight=np.eye(len(z)), initial_weights=[[1.0]],
                    iterations=0, backend="numba", dtype="float32").loss
    with np.errstate(over="ignore"):
        expected = 1.0 / (1.0 + np.exp(-z))
    ok = expected > 1e-18  # σ² of smaller values underflows in float32
    np.testing.assert_allclose(np.sqrt(loss[ok]), expected[ok], rtol=3e-7)
    assert (loss[~ok] < 1e-36).all()


def test_auto_falls_back_to_numpy_when_the_kernel_cannot_compile(seed_data, monkeypatch):
    from fastperceptron.backend.numba.lanes import Lanes

    def broken(self, problem, threads=None):
        raise KernelCompileError("the Numba kernel failed to compile: simulated")

    monkeypatch.setattr(Lanes, "start", broken)
    monkeypatch.setattr(backends_module, "AUTO_ORDER", ("numba", "numpy"))
    X, y = seed_data
    with pytest.warns(RuntimeWarning, match=r"backend 'numba' cannot run here \(.*simulated\); falling back to numpy"):
        r = fp.train(X, y, seeds=[1], init="legacy", iterations=100)
    assert r.backend == "numpy"
    with pytest.raises(fp.BackendUnavailableError, match="backend 'numba' cannot run here: .*simulated"):
        fp.train(X, y, iterations=1, backend="numba")


def test_missing_numba_is_reported(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a))
    backends_module._probe.cache_clear()
    monkeypatch.setattr(backends_module, "_warned", [])
    monkeypatch.setattr(backends_module, "AUTO_ORDER", ("numba", "numpy"))
    try:
        info = fp.backends()["numba"]
        assert not info.available and info.reason == "Numba is not installed: pip install numba"
        with pytest.warns(RuntimeWarning, match="^Numba is not installed: pip install numba; training with the slower numpy"):
            assert backends_module.resolve_name("auto") == "numpy"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per process, not at every call
            assert backends_module.resolve_name("auto") == "numpy"
    finally:
        monkeypatch.undo()
        backends_module._probe.cache_clear()


def test_compiled_kernels_are_cached_on_disk(tmp_path):
    """A second process loads the compiled kernel from the cache instead of compiling it again."""
    code = (
        "import fastperceptron as fp; X, y = fp.datasets.seed(); fp.train(X, y, iterations=1, backend='numba');"
        "from fastperceptron.kernels.numba import lanes as k; s = k.train_blocks.stats;"
        "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))"
    )
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = lambda: subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,  # noqa: E731
                                 check=True).stdout.split()
    assert run() == ["0", "1"]  # compiled, and written to the cache
    assert run() == ["1", "0"]  # loaded from the cache
    assert any(tmp_path.rglob("*.nbi"))


@pytest.mark.skipif(__import__("platform").machine() not in ("x86_64", "AMD64"), reason="checks x86 vector instructions")
def test_hot_loop_is_vectorized(tmp_path):
    """The kernel's lane loops compile to packed (SIMD) instructions, the sigmoid's division included."""
    code = (
        "import re, fastperceptron as fp; X, y = fp.datasets.seed(); fp.train(X, y, models=64, iterations=1, "
        "backend='numba'); from fastperceptron.kernels.numba import lanes as k; "
        "asm = k.train_blocks.inspect_asm(k.train_blocks.signatures[0]); "
        "print(len(re.findall(r'vdivpd', asm)), len(re.findall(r'vfmadd\\w*pd|vmulpd', asm)), "
        "len(re.findall(r'[yz]mm', asm)))"
    )
    out = subprocess.run([sys.executable, "-c", code], env={"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True).stdout.split()
    packed_div, packed_fma, wide_registers = map(int, out)
    assert packed_div >= 1 and packed_fma >= 4 and wide_registers >= 50, out
