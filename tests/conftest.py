import numpy as np
import pytest

import fastperceptron as fp


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
    return out


@pytest.fixture(params=_backend_params())
def backend(request):
    """Every backend; those that cannot run here are skipped with the reason."""
    return request.param


@pytest.fixture
def seed_data():
    return fp.datasets.seed()


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)
