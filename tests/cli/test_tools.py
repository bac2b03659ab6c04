"""The tools' details that a GPU session leans on (issue 36): ``info`` names CuPy by any of its
distribution names, and ``bench --plot`` carries on without matplotlib."""

import sys

import pytest

from fastperceptron.cli import main
from fastperceptron.cli.tools import installed_version


def _distribution(folder, name, version, top_level="cupy"):
    """A distribution ``name`` installed (metadata only) into ``folder``, providing import name ``top_level``."""
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{top_level}\n")


@pytest.mark.parametrize("name", ["cupy-cuda11x", "cupy-cuda12x", "cupy-cuda13x", "cupy-rocm-6-0"])
def test_cupy_is_found_by_any_distribution_name(name, tmp_path, monkeypatch):
    _distribution(tmp_path, name, "14.2.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_version("cupy") == f"14.2.0 ({name})"


def test_info_names_the_cupy_wheel_for_cuda_13(tmp_path, monkeypatch, capsys):
    _distribution(tmp_path, "cupy-cuda13x", "14.2.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["info"]) == 0
    assert "  cupy         14.2.0 (cupy-cuda13x)\n" in capsys.readouterr().out


def test_a_distribution_named_like_its_module_is_found_directly(tmp_path, monkeypatch):
    _distribution(tmp_path, "cupy", "13.6.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_version("cupy") == "13.6.0"


def test_a_module_no_distribution_provides_is_not_installed():
    assert installed_version("no_such_module_anywhere") == "not installed"


def test_bench_plot_without_matplotlib_says_so_and_carries_on(tmp_path, monkeypatch, capsys):
    for module in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, module, None)  # import matplotlib then raises ImportError
    figure = tmp_path / "b.png"
    rc = main(["bench", "--models", "2", "--iterations", "2", "--repeat", "1", "--backends", "numpy",
               "--plot", str(figure)])
    out = capsys.readouterr().out
    assert rc == 0 and "model-it/s" in out
    assert "plot             not drawn: plotting needs matplotlib: pip install 'fastperceptron[plot]'\n" in out
    assert not figure.exists()
