"""pytest plugin of the GPU session (``bench/gpu_session.sh``): on a machine with a GPU, a test marked
``gpu`` that skips has not run where it had to, so it fails instead, with its skip reason.

Use: ``PYTHONPATH=bench python -m pytest -p gpu_required -m gpu tests``. Tests without the mark, and
modules skipped whole at collection (an optional library absent), keep their skips.
"""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("gpu") is not None and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"a gpu-marked test skipped on a machine with a GPU: {reason}"
