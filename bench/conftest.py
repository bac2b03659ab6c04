import pytest

import fastperceptron as fp


def pytest_generate_tests(metafunc):
    """Parametrize ``backend`` over every backend; those unavailable here skip with the reason."""
    if "backend" in metafunc.fixturenames:
        params = []
        for name, info in fp.backends().items():
            marks = [] if info.available else [pytest.mark.skip(reason=f"{name} unavailable: {info.reason}")]
            params.append(pytest.param(name, marks=marks, id=name))
        metafunc.parametrize("backend", params)
