"""The wheel: it builds, ships the kernels package and the seed data, and works once installed."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools (the 'test' extra)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    # Build from a copy so that build/ and *.egg-info never land in the working tree.
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                              "__pycache__", ".pytest_cache", ".benchmarks"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                            str(tmp / "dist"), str(src)], check=True, capture_output=True, text=True, timeout=300)
    (whl,) = (tmp / "dist").glob("fastperceptron-*.whl")
    (tmp / "build.log").write_text(built.stdout + built.stderr)
    return whl


def test_build_has_no_package_configuration_warning(wheel):
    """setuptools' multi-screen "Package 'fastperceptron.data' is absent from the `packages`
    configuration" warning, once printed on every install, is gone."""
    log = (wheel.parent.parent / "build.log").read_text()
    assert "absent from the `packages` configuration" not in log
    assert "Package would be ignored" not in log


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("fastperceptron/__init__.py", "fastperceptron/cli/__init__.py", "fastperceptron/data/seed.csv",
                     "fastperceptron/kernels/__init__.py", "fastperceptron/kernels/README.md",
                     "fastperceptron/kernels/numba/lanes.py", "fastperceptron/backend/numba/lanes.py",
                     "fastperceptron/kernels/numba/groups.py", "fastperceptron/kernels/cuda/groups.cu",
                     "fastperceptron/kernels/cuda/perceptron.cu", "fastperceptron/kernels/cuda/common.cuh"):
        assert expected in names, expected
    assert not any(n.startswith(("tests/", "bench/", "kernels/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "fastperceptron = fastperceptron.cli:run" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_imports_kernels_and_data(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = (
        "import fastperceptron as fp, fastperceptron.kernels as k; "
        "X, y = fp.datasets.seed(); r = fp.train(X, y, seeds=[1], init='legacy', backend='numpy'); "
        "print(k.__file__); print(fp.__file__); print(round(float(r.predict_proba([1, 0, 0])[0, 0, 0]), 8))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].startswith(str(target)) and out[1].startswith(str(target))
    assert out[2] == "0.99996897"
