"""GPU backends: detection and fallback everywhere; the kernel, splitting and out-of-memory retries on a
usable GPU and on the host emulation of CUDA (tests/hostcupy.py)."""

import importlib.machinery
import sys
import types

import numpy as np
import pytest

import fastperceptron as fp
import hostcupy
from fastperceptron import registry
from fastperceptron.backend.cuda import kernel, loop, parts

GPU = fp.backends()["cuda"].available
needs_gpu = pytest.mark.skipif(not GPU, reason=f"no usable GPU here: {fp.backends()['cuda'].reason}")


def fake_cupy(monkeypatch, device_count):
    """Install a stand-in 'cupy' whose device query returns device_count or raises it."""
    module = types.ModuleType("cupy")
    module.__spec__ = importlib.machinery.ModuleSpec("cupy", None)

    def get_device_count():
        if isinstance(device_count, Exception):
            raise device_count
        return device_count

    module.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    monkeypatch.setitem(sys.modules, "cupy", module)


def test_without_cupy_gpu_backends_say_how_to_install(monkeypatch, fresh_probes):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cupy" else real(name, *a))
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    for name in ("cupy", "cuda"):
        info = fp.backends()[name]
        assert not info.available
        assert info.reason.startswith("CuPy is not installed: pip install 'fastperceptron[gpu]'")
    assert registry.resolve_name("auto") in ("numba", "numpy")


@pytest.mark.parametrize("count, reason", [
    (RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected"), "no usable CUDA device (cudaErrorNoDevice"),
    (0, "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)"),
])
def test_cupy_without_a_device_falls_back_to_the_cpu(monkeypatch, fresh_probes, count, reason, seed_data):
    fake_cupy(monkeypatch, count)
    for name in ("cupy", "cuda"):
        info = fp.backends()[name]
        assert not info.available and info.reason.startswith(reason)
    assert registry.resolve_name("auto") in ("numba", "numpy")
    X, y = seed_data
    assert fp.train(X, y, iterations=1).backend in ("numba", "numpy")  # auto trains on the CPU
    with pytest.raises(fp.BackendUnavailableError, match=r"backend 'cuda' is not available: no "):
        fp.train(X, y, iterations=1, backend="cuda")


def test_tf32_is_refused(monkeypatch, fresh_probes):
    fake_cupy(monkeypatch, 1)
    monkeypatch.setenv("CUPY_TF32", "1")
    assert fp.backends()["cupy"].reason == "CUPY_TF32 is set: float32 products would lose precision; unset it"


def test_kernel_source_ships_with_the_package():
    import fastperceptron.kernels as k

    text = k.source("cuda/perceptron.cu")
    assert "train_models" in text and "loss_models" in text


# --- on a GPU when one is usable, and on the host emulation of CUDA (tests/hostcupy.py) everywhere ---
@pytest.fixture(params=[
    pytest.param("real", marks=[pytest.mark.gpu, needs_gpu]),
    pytest.param("host", marks=pytest.mark.skipif(bool(hostcupy.unavailable()), reason=hostcupy.unavailable() or "-")),
])
def where(request):
    """Where the GPU backends run: "real" (a usable GPU) or "host" (the emulation)."""
    if request.param == "host":
        request.getfixturevalue("host_gpu")
    return request.param


def same(name, actual, expected):
    """The kernel computes each model alone: identical bits however the batch is split. The cupy
    loop, like numpy's, multiplies all models in one GEMM, whose BLAS may round a column in the last
    place differently with the matrix's width."""
    if name == "cuda":
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("name", ["cupy", "cuda"])
def test_split_into_many_parts_gives_the_same_bits(name, where, monkeypatch, rng):
    X, y = rng.normal(size=(30, 5)), rng.random((30, 2))
    whole = fp.train(X, y, models=1000, iterations=200, learning_rate=0.05, bias=True, backend=name)
    import cupy

    monkeypatch.setattr(cupy.cuda.runtime, "memGetInfo", lambda: (200_000, 10**10))  # "little free memory"
    calls = []
    real_init = parts.PartedRun.__init__
    monkeypatch.setattr(parts.PartedRun, "__init__", lambda self, *a: (real_init(self, *a), calls.append(self.parts))[0])
    parted = fp.train(X, y, models=1000, iterations=200, learning_rate=0.05, bias=True, backend=name)
    assert len(calls[0]) > 1  # it was split
    same(name, parted.weights, whole.weights)
    same(name, parted.bias, whole.bias)


@pytest.mark.parametrize("name", ["cupy", "cuda"])
def test_out_of_memory_splits_the_part_and_retries(name, where, monkeypatch, rng):
    import cupy

    X, y = rng.normal(size=(30, 5)), rng.random(30)
    expected = fp.train(X, y, models=500, iterations=100, learning_rate=0.05, tol=1e-4, backend=name,
                        chunk_iterations=10)
    calls = []
    make = kernel.CudaRun if name == "cuda" else loop.CupyLoopRun
    real_advance = make.advance

    def flaky(self, n):
        calls.append(self.shape[0])
        if len(calls) == 2:
            raise cupy.cuda.memory.OutOfMemoryError(1 << 40, 0)
        return real_advance(self, n)

    monkeypatch.setattr(make, "advance", flaky)
    r = fp.train(X, y, models=500, iterations=100, learning_rate=0.05, tol=1e-4, backend=name, chunk_iterations=10)
    same(name, r.weights, expected.weights)
    np.testing.assert_array_equal(r.iterations, expected.iterations)
    assert min(calls) < 500  # the part was split


def kernel_case(rng, shared_x, shared_y, weights, B=300, N=11, D=3, K=2):
    """Data of every layout the kernel takes: X/Y shared or per model, no/shared/per-model weights."""
    X = rng.normal(size=(N, D) if shared_x else (B, N, D))
    y = rng.random((N, K) if shared_y else (B, N, K))
    s = {0: None, 1: rng.integers(0, 3, N).astype(float), 2: rng.integers(0, 3, (B, N)).astype(float)}[weights]
    if s is not None:
        s[..., 0] = 1.0
    # Rates from 1e-5 to 0.1: the smallest steps fall below tol at once, the largest never do.
    return dict(X=X, y=y, sample_weight=s, models=B, learning_rate=np.geomspace(1e-5, 0.1, B), bias=True)


@pytest.mark.parametrize("budget", [16 * 1024, 40], ids=["staged-once", "tiled"])
@pytest.mark.parametrize("weights", [0, 1, 2], ids=["unweighted", "shared-weights", "per-model-weights"])
@pytest.mark.parametrize("shared_x, shared_y", [(True, True), (True, False), (False, True), (False, False)],
                         ids=["XY-shared", "X-shared", "Y-shared", "none-shared"])
def test_cuda_kernel_layouts_match_numpy(where, monkeypatch, rng, shared_x, shared_y, weights, budget):
    """Every data layout of the kernel, with the shared data staged at once or in tiles of 1-2
    samples (a 40-byte budget), 300 models over two blocks, and early stopping (a stopped thread
    keeps helping to stage tiles)."""
    monkeypatch.setattr(kernel, "SHARED_MEMORY_BUDGET", budget)
    case = kernel_case(rng, shared_x, shared_y, weights)
    for rule in ("seed", "logistic"):
        args = dict(case, rule=rule, iterations=150, tol=2e-4, record_every=50)
        r = fp.train(backend="cuda", **args)
        ref = fp.train(backend="numpy", **args)
        assert 0 < (r.iterations < 150).sum() < 300  # some models stopped early, others did not
        np.testing.assert_array_equal(r.iterations, ref.iterations)
        np.testing.assert_allclose(r.weights, ref.weights, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(r.bias, ref.bias, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(r.loss, ref.loss, rtol=1e-12)
        np.testing.assert_allclose(r.history, ref.history, rtol=1e-12)


def test_cuda_refuses_models_too_large_for_its_registers_and_auto_uses_cupy(where, rng):
    X, y = rng.normal(size=(5, 65)), rng.random((5, 4))  # D*K = 260 > 256
    with pytest.raises(fp.UnsupportedProblemError, match=r"D\*K = 65\*4 weights .* D\*K <= 256; use backend='cupy'"):
        fp.train(X, y, iterations=2, backend="cuda")
    r = fp.train(X, y, iterations=2, learning_rate=0.01)
    assert r.backend == "cupy"
    np.testing.assert_allclose(r.weights, fp.train(X, y, iterations=2, learning_rate=0.01, backend="numpy").weights,
                               rtol=1e-12)


def test_a_kernel_that_gets_the_numbers_wrong_is_refused(host_gpu, monkeypatch):
    """The probe's self-check: a kernel that runs but computes something else is not used."""
    import fastperceptron.kernels as k

    real = k.source
    monkeypatch.setattr(k, "source", lambda name: real(name).replace("return z + c[k];", "return z - c[k];"))
    info = fp.backends()["cuda"]
    assert not info.available
    assert info.reason.startswith("the cuda backend disagrees with numpy on a small problem (relative error")
    assert fp.backends()["cupy"].available
    assert registry.resolve_name("auto") == "cupy"


def test_a_variant_that_does_not_compile_falls_back_to_cupy_under_auto(host_gpu, monkeypatch, rng):
    """The probe compiled one variant; another that fails (here: a broken source) is an error that
    names the .cu file for backend="cuda", and a warning and the cupy loop for "auto"."""
    import fastperceptron.kernels as k

    assert fp.backends()["cuda"].available  # probed (and its variant compiled) with the real source
    monkeypatch.setattr(k, "source", lambda name: "this is not CUDA;")
    X, y = rng.normal(size=(8, 2)), rng.random(8)
    with pytest.raises(fp.BackendUnavailableError,
                       match=r"backend 'cuda' cannot run here: kernels/cuda/perceptron.cu does not compile as train_models<"):
        fp.train(X, y, iterations=3, backend="cuda")
    with pytest.warns(RuntimeWarning, match=r"(?s)backend 'cuda' cannot run here \(kernels/cuda/perceptron.cu does not "
                                            r"compile .*\); falling back to cupy"):
        r = fp.train(X, y, iterations=3)
    assert r.backend == "cupy"


@pytest.mark.parametrize("name", ["cupy", "cuda"])
def test_parts_spread_over_the_devices_named_in_the_environment(name, host_gpu, monkeypatch, rng):
    """FASTPERCEPTRON_DEVICES=0,1 on a (host-emulated) machine with two GPUs: one part per device,
    the models in order, and the same numbers as numpy."""
    monkeypatch.setitem(sys.modules, "cupy", hostcupy.module(devices=2))  # nothing probed yet
    monkeypatch.setenv("FASTPERCEPTRON_DEVICES", "0,1")
    seen = []
    real_make = parts.PartedRun._make
    monkeypatch.setattr(parts.PartedRun, "_make",
                        lambda self, dev, a, b, *rest: (seen.append((dev, a, b)), real_make(self, dev, a, b, *rest))[1])
    X, y = rng.normal(size=(12, 3)), rng.random(12)
    r = fp.train(X, y, models=501, iterations=50, learning_rate=0.1, backend=name)
    assert seen[-2:] == [(0, 0, 250), (1, 250, 501)]  # (before them: the probe's self-check, split too)
    ref = fp.train(X, y, models=501, iterations=50, learning_rate=0.1, backend="numpy")
    np.testing.assert_allclose(r.weights, ref.weights, rtol=1e-12)
