"""bench/gpu_session.sh, the script of the one GPU session (issue 36), run here as on a machine without
a GPU (an nvidia-smi that lists none comes first on PATH), and its pytest plugin, bench/gpu_required.py."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import fastperceptron as fp

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_session.sh"
CPU_STAGES = ["preflight", "bench-seed", "bench-per-model", "bench-groups"]
GPU_STAGES = ["parity", "gpu-tests", "registers"]


NO_GPU = "#!/bin/sh\necho 'No devices were found'\nexit 6\n"
# nvidia-smi -L and --query-gpu=name --format=csv,noheader as on the H100 machine, a table otherwise
H100 = """#!/bin/sh
case "$*" in
  -L) echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)' ;;
  *noheader*) echo 'NVIDIA H100 80GB HBM3' ;;
  *) echo 'name, memory.total [MiB]'; echo 'NVIDIA H100 80GB HBM3, 81559 MiB' ;;
esac
"""


def session(tmp_path, python=sys.executable, nvidia_smi=NO_GPU, **env):
    """Run the script with QUICK=1 and OUT under tmp_path, ``nvidia_smi`` first on PATH; (exit status,
    summary.txt, OUT)."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "nvidia-smi").write_text(nvidia_smi)
    (fake / "nvidia-smi").chmod(0o755)
    out = tmp_path / "out"
    clean = {k: v for k, v in os.environ.items()
             if k not in ("STAGES", "BACKENDS", "TOTAL", "NO_INSTALL", "PYTHONPATH", "FASTPERCEPTRON_BACKEND")}
    run = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300,
                         env={**clean, "PATH": f"{fake}:{os.environ['PATH']}", "QUICK": "1", "OUT": str(out),
                              "PYTHON": python, **env})
    summary = (out / "summary.txt").read_text()
    shown = run.stdout.splitlines()
    assert all(line in shown for line in summary.splitlines()), "each summary line is also shown as it goes"
    return run.returncode, summary, out


@pytest.mark.slow
def test_quick_run_without_a_gpu_runs_every_stage(tmp_path):
    rc, summary, out = session(tmp_path)
    assert rc == 0, summary
    assert "== install: skipped, this checkout imports already" in summary
    assert summary.count("no GPU: nvidia-smi lists none") == 1
    for name in CPU_STAGES:
        assert f"== {name}: started " in summary and f"== {name}: ended " in summary, name
        assert [line for line in summary.splitlines() if line.startswith(f"== {name}: ended ")][0].count(", rc=0,")
    for name in GPU_STAGES:
        assert f"== {name}: skipped, no GPU" in summary
    assert summary.strip().splitlines()[-1].endswith("every stage passed")
    assert sorted(p.name for p in out.iterdir()) == [
        "bench-groups.txt", "bench-per-model.txt", "bench-seed.txt", "preflight.txt", "summary.txt"]
    seed = (out / "bench-seed.txt").read_text()
    assert "# seed case, T = 200, float64" in seed and "# seed case, T = 200, float32" in seed
    assert "# peers: not run, no GPU" in seed
    assert "# per-model case, T = 20, float32" in (out / "bench-per-model.txt").read_text()
    groups = (out / "bench-groups.txt").read_text()
    assert "# groups case: G = 200" in groups and "fastperceptron groups (" in groups
    assert "scikit-learn" not in groups
    preflight = (out / "preflight.txt").read_text()
    assert "GPU: none" in preflight and "backends:" in preflight
    assert not any("Traceback" in p.read_text() for p in out.iterdir())


def test_without_an_install_the_checkout_on_pythonpath_imports_with_its_kernels(tmp_path):
    """Where pip cannot install (setuptools too old or absent), the checkout stands in: the package from
    the checkout, fastperceptron.kernels from kernels/ (a plain PYTHONPATH would not find it)."""
    base = getattr(sys, "_base_executable", sys.executable)
    outside = subprocess.run([base, "-c", "import fastperceptron"], cwd=tmp_path, capture_output=True,
                             env={"PATH": os.environ["PATH"], "PYTHONPATH": sysconfig.get_paths()["purelib"]})
    if outside.returncode == 0:
        pytest.skip("fastperceptron is installed for the base interpreter too")
    rc, summary, out = session(tmp_path, python=base, NO_INSTALL="1", STAGES="preflight",
                               PYTHONPATH=sysconfig.get_paths()["purelib"])
    assert rc == 0, summary
    assert "install: the checkout on PYTHONPATH instead" in summary
    assert "== preflight: ended" in summary and "== bench-seed: not run (STAGES=\"preflight\")" in summary
    assert "fused, parallel, SIMD Numba CPU kernels (kernels/numba/)" in (out / "preflight.txt").read_text()


def test_with_a_gpu_listed_and_unusable_backends_the_script_stops_at_preflight_with_the_reasons(tmp_path):
    if fp.backends()["cuda"].available:
        pytest.skip("the GPU backends are usable here")
    rc, summary, out = session(tmp_path, nvidia_smi=H100)
    assert rc == 1
    assert "GPU: NVIDIA H100 80GB HBM3 (1 listed by nvidia-smi)" in summary
    assert summary.strip().splitlines()[-1] == (
        "FAILED: preflight, on a machine with a GPU: the GPU backends must be usable (preflight.txt says why)")
    assert "bench-seed" not in summary
    preflight = (out / "preflight.txt").read_text()
    assert f"cuda   NOT AVAILABLE: {fp.backends()['cuda'].reason}" in preflight
    assert "FAILED: a GPU is present but backend(s) cuda, cupy cannot use it" in preflight


def test_a_stage_without_time_left_is_not_started_and_fails_the_run(tmp_path):
    rc, summary, _ = session(tmp_path, TOTAL="5", STAGES="preflight")
    assert rc == 1
    assert "== preflight: not started, " in summary and "of the script's 5 s" in summary
    assert summary.strip().splitlines()[-1].endswith("FAILED (see above)")


def test_the_plugin_fails_a_gpu_marked_test_that_skips(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.gpu\n@pytest.mark.skip(reason='backend cuda unavailable here: no driver')\n"
        "def test_marked():\n    pass\n\n"
        "@pytest.mark.gpu\ndef test_skips_inside():\n    pytest.skip('no device')\n\n"
        "@pytest.mark.gpu\ndef test_runs():\n    pass\n\n"
        "@pytest.mark.skip(reason='not a GPU test')\ndef test_plain():\n    pass\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "gpu_required", "-p", "no:cacheprovider", "-o", "markers=gpu: x",
         "-rfEs", "-q", "test_x.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "bench")})
    assert run.returncode == 1, run.stdout
    assert "1 failed, 1 passed, 1 skipped, 1 error" in run.stdout
    assert "a gpu-marked test skipped on a machine with a GPU: backend cuda unavailable here: no driver" in run.stdout
    assert "a gpu-marked test skipped on a machine with a GPU: no device" in run.stdout
    assert "SKIPPED [1] test_x.py:16: not a GPU test" in run.stdout


@pytest.fixture
def gpu_checks(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import gpu_checks

    return gpu_checks


@pytest.mark.slow
def test_the_gpu_checks_run_on_the_host_emulation_of_cuda(gpu_checks, host_gpu, capsys):
    """preflight, parity and registers as the script runs them on a GPU, here on tests/hostcupy.py, so
    that the first GPU run does not find a mistake in the checks themselves."""
    assert gpu_checks.preflight() == 0
    assert "GPU backends: cuda and cupy available" in capsys.readouterr().out
    assert gpu_checks.parity(quick=True) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:-1]]
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
        (case, dtype, name) for case in ("seed", "per-model", "groups") for dtype in ("float64", "float32")
        for name in ("cuda", "cupy"))
    assert all(r[-1] == "yes" for r in rows)
    assert gpu_checks.registers(quick=True) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [r.split()[:2] for r in rows] == [["float64", "16"], ["float64", "64"], ["float64", "128"]]


def test_preflight_fails_with_each_reason_when_a_gpu_backend_is_unusable(gpu_checks, capsys):
    if fp.backends()["cuda"].available:
        pytest.skip("the GPU backends are usable here")
    assert gpu_checks.preflight() == 1
    out = capsys.readouterr().out
    assert "cuda   NOT AVAILABLE: " in out and "FAILED: a GPU is present but backend(s) " in out
