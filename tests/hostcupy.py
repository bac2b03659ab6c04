"""A stand-in for CuPy that runs on the host, so the GPU backends' code runs in CI without a GPU.

Arrays are numpy arrays (with CuPy's ``.get()``); ``RawModule`` compiles ``kernels/perceptron.cu``
with g++ and ``tests/cuda_host/shim.h``, which runs each CUDA thread of a block as a fiber with
real block barriers. So the "cuda" backend's kernel, its launch arguments, the staging of shared
data through shared memory, the host code of ``fastperceptron/gpu.py`` (parts, restore, OOM split)
and the "cupy" backend's loop all run here, against the numpy reference. What this cannot show:
the GPU's own arithmetic (FMA contraction, its exp), its memory model and its speed.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.machinery
import os
import shutil
import subprocess
import tempfile
import types
from pathlib import Path

import numpy as np

SHIM = Path(__file__).parent / "cuda_host" / "shim.h"
CXX = shutil.which(os.environ.get("CXX", "g++"))


def unavailable() -> str:
    """Why the emulation cannot run here ("" when it can)."""
    return "" if CXX else "no C++ compiler (g++) to build the host emulation of the CUDA kernels"


class HostArray(np.ndarray):
    """A numpy array that answers CuPy's ``.get()``."""

    def get(self):
        return np.array(self)


def _host(a):
    return a.view(HostArray)


class OutOfMemoryError(MemoryError):
    def __init__(self, size=0, total=0):
        super().__init__(f"out of memory allocating {size} bytes (total {total} bytes)")


class Device:
    def __init__(self, index=0):
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass


_BUILD = Path(tempfile.gettempdir()) / f"fastperceptron-hostcuda-{os.getuid()}"
_libraries: dict[str, ctypes.CDLL] = {}
_CTYPES = {np.dtype(t): c for t, c in [
    (np.int8, ctypes.c_int8), (np.uint8, ctypes.c_uint8), (np.int32, ctypes.c_int32),
    (np.int64, ctypes.c_int64), (np.float32, ctypes.c_float), (np.float64, ctypes.c_double)]}


class RawKernel:
    def __init__(self, entry):
        self.entry = entry

    def __call__(self, grid, block, args, *, shared_mem=0):
        grid, block = tuple(grid), tuple(block)
        if grid[1:] not in ((), (1,), (1, 1)) or block[1:] not in ((), (1,), (1, 1)):
            raise ValueError("host emulation: 1-D grids and blocks only")
        keep, pointers = [], (ctypes.c_void_p * len(args))()
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray):
                if not a.flags.c_contiguous:
                    raise ValueError(f"kernel argument {i} is not C-contiguous")
                value = ctypes.c_void_p(a.ctypes.data)
            elif isinstance(a, np.generic):
                value = _CTYPES[a.dtype](a.item())
            else:
                raise TypeError(f"kernel argument {i}: pass numpy scalars, as CuPy needs for exact C types")
            keep.append(value)
            pointers[i] = ctypes.cast(ctypes.pointer(value), ctypes.c_void_p)
        self.entry(ctypes.c_uint(grid[0]), ctypes.c_uint(block[0]), ctypes.c_size_t(shared_mem), pointers)


class RawModule:
    """Compiles ``code`` for the host; ``get_function`` takes one of the ``name_expressions``."""

    def __init__(self, code, options=(), name_expressions=()):
        self.names = list(name_expressions)
        entries = "\n".join(
            f'extern "C" void fp_entry_{i}(unsigned g, unsigned t, std::size_t s, void** a) '
            f"{{ fp_host::launch(&{name}, g, t, s, a); }}" for i, name in enumerate(self.names))
        text = f'#include "{SHIM}"\n{code}\n{entries}\n'
        key = hashlib.sha256((SHIM.read_text() + text).encode()).hexdigest()[:20]  # rebuilt when either changes
        if key not in _libraries:
            _BUILD.mkdir(exist_ok=True)
            lib = _BUILD / f"{key}.so"
            if not lib.exists():
                src = _BUILD / f"{key}.{os.getpid()}.cpp"  # per process: test runs may overlap
                src.write_text(text)
                tmp = _BUILD / f"{key}.{os.getpid()}.so"
                done = subprocess.run([CXX, "-std=c++17", "-O2", "-fPIC", "-shared", "-x", "c++",
                                       str(src), "-o", str(tmp)], capture_output=True, text=True)
                if done.returncode:
                    raise RuntimeError(f"host compile of the kernel failed:\n{done.stderr[-4000:]}")
                os.replace(tmp, lib)
                src.unlink()
            _libraries[key] = ctypes.CDLL(str(lib))
        self.library = _libraries[key]

    def get_function(self, name):
        entry = getattr(self.library, f"fp_entry_{self.names.index(name)}")
        entry.restype = None
        return RawKernel(entry)


def _wrap(f):
    return lambda *args, **kwargs: _host(np.asarray(f(*args, **kwargs)))


def module(free_bytes: int = 1 << 34, devices: int = 1) -> types.ModuleType:
    """A fresh stand-in ``cupy`` module (install it in ``sys.modules['cupy']``)."""
    cupy = types.ModuleType("cupy")
    cupy.__spec__ = importlib.machinery.ModuleSpec("cupy", None)
    cupy.__version__ = "host-emulation"
    cupy.asarray = lambda a, dtype=None: _host(np.array(a, dtype=dtype, order="C"))
    for name in ("zeros", "ones", "empty", "empty_like", "zeros_like", "ones_like", "arange", "full"):
        setattr(cupy, name, _wrap(getattr(np, name)))
    cupy.RawModule = RawModule
    pool = types.SimpleNamespace(free_all_blocks=lambda: None)
    cupy.get_default_memory_pool = lambda: pool
    cupy.cuda = types.SimpleNamespace(
        Device=Device,
        runtime=types.SimpleNamespace(getDeviceCount=lambda: devices, memGetInfo=lambda: (free_bytes, free_bytes * 2)),
        memory=types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError),
    )
    cupy.__getattr__ = lambda name: getattr(np, name)  # everything else: numpy's (PEP 562)
    return cupy

