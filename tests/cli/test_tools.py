"""The tools' details that a GPU session leans on (issue 36): ``info`` names CuPy by any of its
distribution names, ``bench --plot`` carries on without matplotlib, and the peers run where the
benchmark asks or say in one line why not."""

import io
import os
import sys

import pytest

from fastperceptron.benchmarks import peers
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


def test_peers_asked_by_name():
    assert peers.wanted_peers(True) == ["jax", "torch"]
    assert peers.wanted_peers(["torch"]) == ["torch"]
    assert peers.wanted_peers(None) == [] and peers.wanted_peers(["sklearn"]) == []
    assert peers.wanted_peers(["jax", "sklearn"], ("jax", "sklearn")) == ["jax", "sklearn"]


def test_a_gpu_benchmark_runs_each_peer_on_the_gpu_or_says_in_one_line_why_not(monkeypatch):
    monkeypatch.setattr(peers, "available_peers", lambda: {"jax": "", "torch": ""})
    monkeypatch.setattr(peers, "gpu_missing", lambda name: "" if name == "torch" else "jax sees no GPU (cpu only)")
    out = io.StringIO()
    assert peers.usable_peers(["jax", "torch"], gpu=True, out=out) == ["torch"]
    assert out.getvalue() == "# jax sees no GPU (cpu only): skipped\n# peers run on: torch cuda\n"
    out = io.StringIO()
    assert peers.usable_peers(["jax", "torch"], gpu=False, out=out) == ["jax", "torch"]
    assert out.getvalue() == "# peers run on: jax cpu, torch cpu\n"


def test_a_peer_not_installed_is_named_with_the_install_line(monkeypatch):
    why = "jax is not installed: pip install 'fastperceptron[peers]'"
    monkeypatch.setattr(peers, "available_peers", lambda: {"jax": why, "torch": ""})
    monkeypatch.setattr(peers, "gpu_missing", lambda name: "")
    out = io.StringIO()
    assert peers.usable_peers(["jax", "torch"], gpu=True, out=out) == ["torch"]
    assert out.getvalue() == f"# {why}\n# peers run on: torch cuda\n"


def test_jax_is_imported_without_preallocating_the_gpu(monkeypatch):
    pytest.importorskip("jax", reason="the peers need JAX: pip install 'fastperceptron[peers]'")
    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE", raising=False)
    peers.import_jax()
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"


@pytest.mark.parametrize("count, named", [(1, "GPU: NVIDIA H100 80GB HBM3"), (2, "GPU: 2 × NVIDIA H100 80GB HBM3")])
def test_a_table_of_a_gpu_backend_names_the_gpu(count, named, monkeypatch):
    import types

    from fastperceptron.benchmarks.sweep import describe, machine

    runtime = types.SimpleNamespace(getDeviceCount=lambda: count,
                                    getDeviceProperties=lambda d: {"name": b"NVIDIA H100 80GB HBM3"})
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime)))
    monkeypatch.delenv("FASTPERCEPTRON_DEVICES", raising=False)
    assert describe(["cuda", "numba", "jax"]) == f"{machine()}; {named}"
    assert describe(["numba", "jax"]) == machine()
