import sys

import numpy as np
import pytest

import fastperceptron as fp
import hostcupy
from fastperceptron import registry
from fastperceptron.backend.cuda import device


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch):
    """Tests choose their backend explicitly; a FASTPERCEPTRON_BACKEND in the shell must not leak in."""
    monkeypatch.delenv("FASTPERCEPTRON_BACKEND", raising=False)


def _backend_params():
    out = []
    for name, info in fp.backends().items():
        marks = [pytest.mark.gpu] if name in ("cupy", "cuda") else []
        if not info.available:
            marks.append(pytest.mark.skip(reason=f"backend {name!r} unavailable here: {info.reason}"))
        out.append(pytest.param(name, marks=marks, id=name))
    # The GPU backends once more, on the host emulation of CUDA (tests/hostcupy.py), so that their
    # code (the CUDA kernel included) is tested against the reference in CI, where no GPU is.
    why = hostcupy.unavailable()
    for name in ("cupy", "cuda"):
        marks = [pytest.mark.skip(reason=why)] if why else []
        out.append(pytest.param(f"{name}@host", marks=marks, id=f"{name}-host"))
    return out


def _clear_gpu_caches():
    registry.clear_probes()
    device.compile_kernels.cache_clear()


@pytest.fixture
def fresh_probes():
    """Backends probed afresh in this test (and again after it)."""
    _clear_gpu_caches()
    yield
    _clear_gpu_caches()


@pytest.fixture
def host_gpu(monkeypatch, fresh_probes):
    """Install the host stand-in for CuPy (tests/hostcupy.py) as ``cupy`` for one test."""
    if hostcupy.unavailable():
        pytest.skip(hostcupy.unavailable())
    module = hostcupy.module()
    monkeypatch.setitem(sys.modules, "cupy", module)
    return module


def _layout_params():
    """Every layout of every backend, from the registry (a newly registered layout is tested by being
    registered); the GPU backends' layouts once more on the host emulation of CUDA."""
    out = []
    for name in registry.NAMES:
        info = fp.backends()[name]
        for lay in registry.layouts(name):
            marks = [pytest.mark.gpu] if name in ("cupy", "cuda") else []
            if not info.available:
                marks.append(pytest.mark.skip(reason=f"backend {name!r} unavailable here: {info.reason}"))
            out.append(pytest.param(f"{name}:{lay.name}", marks=marks, id=f"{name}:{lay.name}"))
    why = hostcupy.unavailable()
    for name in ("cupy", "cuda"):
        for lay in registry.layouts(name):
            marks = [pytest.mark.skip(reason=why)] if why else []
            out.append(pytest.param(f"{name}@host:{lay.name}", marks=marks, id=f"{name}-host:{lay.name}"))
    return out


@pytest.fixture(params=_layout_params())
def layout(request):
    """Every layout of every backend, as ``backend="name:layout"`` (see :func:`_layout_params`)."""
    name, _, lay = request.param.partition(":")
    if name.endswith("@host"):
        request.getfixturevalue("host_gpu")
        name = name.removesuffix("@host")
    return f"{name}:{lay}"


@pytest.fixture(params=_backend_params())
def backend(request):
    """Every backend; those that cannot run here are skipped with the reason. "cupy-host" and
    "cuda-host" are the GPU backends on the host emulation of CUDA."""
    name = request.param
    if name.endswith("@host"):
        request.getfixturevalue("host_gpu")
        name = name.removesuffix("@host")
    return name


@pytest.fixture
def seed_data():
    return fp.datasets.seed()


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)
