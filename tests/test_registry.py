"""The backend switch: records, lazy imports, 'auto', the environment variable, clear refusals."""

import subprocess
import sys

import pytest

import fastperceptron as fp
from fastperceptron.registry import resolve_name


def test_every_backend_has_a_record():
    infos = fp.backends()
    assert set(infos) == {"numpy", "numba", "cupy", "cuda"}
    for name, info in infos.items():
        assert info.name == name
        assert isinstance(info.available, bool)
        assert (info.reason == "") == info.available
    assert infos["numpy"].available


def test_import_does_not_import_gpu_or_jit_libraries():
    """import fastperceptron imports neither; listing the backends never imports Numba (CuPy only
    where it is installed, to look for a device)."""
    code = ("import sys, fastperceptron as fp; print(sorted(m for m in ('numba', 'cupy') if m in sys.modules)); "
            "fp.backends(); print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "False"


def test_auto_picks_the_fastest_available():
    infos = fp.backends()
    expected = next(n for n in ("cuda", "cupy", "numba", "numpy") if infos[n].available)
    assert resolve_name("auto") == expected


def test_unavailable_backend_explains_itself(seed_data):
    X, y = seed_data
    for name, info in fp.backends().items():
        if info.available:
            continue
        with pytest.raises(fp.BackendUnavailableError, match=rf"backend '{name}' is not available: .+usable here: .*numpy"):
            fp.train(X, y, iterations=1, backend=name)


def test_environment_variable_sets_the_default(seed_data, monkeypatch):
    X, y = seed_data
    monkeypatch.setenv("FASTPERCEPTRON_BACKEND", "numpy")
    assert fp.train(X, y, iterations=1).backend == "numpy"
    monkeypatch.setenv("FASTPERCEPTRON_BACKEND", "abacus")
    with pytest.raises(ValueError, match="unknown backend 'abacus' in the environment variable FASTPERCEPTRON_BACKEND"):
        fp.train(X, y, iterations=1)
    # An explicit backend wins over the variable.
    assert fp.train(X, y, iterations=1, backend="numpy").backend == "numpy"


def test_backend_names_are_case_insensitive(seed_data):
    X, y = seed_data
    assert fp.train(X, y, iterations=1, backend="NumPy").backend == "numpy"


def test_kernels_package_is_importable():
    import fastperceptron.kernels as k

    with pytest.raises(FileNotFoundError, match="no kernel source 'missing.cu'"):
        k.source("missing.cu")
