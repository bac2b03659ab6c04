"""GPU backends: detection and fallback everywhere; splitting and parity only where a GPU is usable."""

import importlib.machinery
import sys
import types

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron import gpu
from fastperceptron import registry

GPU = fp.backends()["cuda"].available
needs_gpu = pytest.mark.skipif(not GPU, reason=f"no usable GPU here: {fp.backends()['cuda'].reason}")


@pytest.fixture
def fresh_probes():
    registry._probe.cache_clear()
    gpu.probe.cache_clear()
    yield
    registry._probe.cache_clear()
    gpu.probe.cache_clear()


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

    text = k.source("perceptron.cu")
    assert "train_models" in text and "loss_models" in text


# --- only on a usable GPU ----------------------------------------------------------------------------
@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("name", ["cupy", "cuda"])
def test_split_into_many_parts_gives_the_same_bits(name, monkeypatch, rng):
    X, y = rng.normal(size=(30, 5)), rng.random((30, 2))
    whole = fp.train(X, y, models=1000, iterations=200, learning_rate=0.05, bias=True, backend=name)
    import cupy

    monkeypatch.setattr(cupy.cuda.runtime, "memGetInfo", lambda: (200_000, 10**10))  # "little free memory"
    parted = fp.train(X, y, models=1000, iterations=200, learning_rate=0.05, bias=True, backend=name)
    np.testing.assert_array_equal(parted.weights, whole.weights)


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("name", ["cupy", "cuda"])
def test_out_of_memory_splits_the_part_and_retries(name, monkeypatch, rng):
    import cupy

    X, y = rng.normal(size=(30, 5)), rng.random(30)
    expected = fp.train(X, y, models=500, iterations=100, learning_rate=0.05, tol=1e-4, backend=name)
    calls = []
    make = gpu.CudaRun if name == "cuda" else gpu._CupyLoopRun
    real_advance = make.advance

    def flaky(self, n):
        calls.append(self.shape[0])
        if len(calls) == 2:
            raise cupy.cuda.memory.OutOfMemoryError(1 << 40, 0)
        return real_advance(self, n)

    monkeypatch.setattr(make, "advance", flaky)
    r = fp.train(X, y, models=500, iterations=100, learning_rate=0.05, tol=1e-4, backend=name, chunk_iterations=10)
    np.testing.assert_array_equal(r.weights, expected.weights)
    np.testing.assert_array_equal(r.iterations, expected.iterations)
    assert min(calls) < 500  # the part was split
