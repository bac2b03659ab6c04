"""The command line, through subprocess, as a user runs it."""

import importlib.util
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.registry import resolve_name

ENV = {**os.environ, "PYTHONWARNINGS": "default"}
ENV.pop("FASTPERCEPTRON_BACKEND", None)


def cli(*args, input=None, check_rc=0):
    p = subprocess.run([sys.executable, "-m", "fastperceptron", *map(str, args)], capture_output=True, text=True,
                       input=input, env=ENV, timeout=300)
    if check_rc is not None:
        assert p.returncode == check_rc, f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


# A backend that cannot run here (e.g. "cuda" on a machine without a GPU), for the error tests.
UNAVAILABLE = next((n for n, i in fp.backends().items() if not i.available), None)


HAVE_PYARROW = importlib.util.find_spec("pyarrow") is not None


def assert_clean_error(p, message):
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastperceptron: error: "), p.stderr
    assert message in lines[0], lines[0]


def test_demo_shows_the_spec_figures():
    out = cli("demo", input="").stdout  # stdin not a tty: non-interactive, asks nothing
    for figure in ("-0.16595599", "0.44064899", "-0.99977125",  # starting weights
                   "0.26898640", "0.32627570", "0.23762817", "0.36375058",  # first outputs
                   "10.38040701", "-0.20641179", "-4.98452047",  # trained weights
                   "0.00679672", "0.99445583", "0.99548516", "0.00553614",  # last outputs
                   "New situation: input data = 1 0 0", "Output data: 0.99996897"):
        assert figure in out, figure


def test_demo_takes_an_input():
    out = cli("demo", "--input", 0, 1, 1, "--iterations", 2000).stdout
    assert "New situation: input data = 0 1 1" in out
    p = float(out.strip().splitlines()[-1].split()[-1])
    assert p < 0.1


def test_train_default_is_10000_models_on_seed_data(tmp_path):
    out = cli("train", "--iterations", 200, "--out", tmp_path / "m.npz").stdout
    assert "models           10,000 x 200 iterations" in out
    assert f"backend          {resolve_name('auto')} (float64)" in out
    assert "million model-iterations/s" in out and "loss             min" in out
    assert "new situation    [1, 0, 0] ->" in out
    r = fp.load(tmp_path / "m.npz")
    assert r.n_models == 10_000 and r.seeds.tolist() == list(range(10_000))


def test_train_options(tmp_path):
    out = cli("train", "--seeds", 1, 5, "10:12", "--iterations", 300, "--lr", 0.5, "--rule", "logistic", "--bias",
              "--dtype", "float32", "--backend", "numpy", "--tol", 1e-9, "--record-every", 100,
              "--out", tmp_path / "m").stdout
    assert "saved" in out and str(tmp_path / "m.npz") in out
    r = fp.load(tmp_path / "m.npz")
    assert r.seeds.tolist() == [1, 5, 10, 11] and r.dtype == "float32" and r.bias is not None
    assert r.params["rule"] == "logistic" and r.history.shape == (4, 3)
    X, y = fp.datasets.seed()
    again = fp.train(X, y, seeds=[1, 5, 10, 11], iterations=300, learning_rate=0.5, rule="logistic", bias=True,
                     dtype="float32", tol=1e-9, backend="numpy")
    np.testing.assert_array_equal(r.weights, again.weights)


def test_train_learning_rate_sweep(tmp_path):
    cli("train", "--lr", 0.1, 0.2, 0.4, "--iterations", 50, "--out", tmp_path / "m.npz")
    r = fp.load(tmp_path / "m.npz")
    assert r.learning_rate.tolist() == [0.1, 0.2, 0.4]


def test_train_and_predict_from_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    csv = tmp_path / "d.csv"
    csv.write_text("a,label,b\n" + "".join(f"{a},{t},{b}\n" for (a, b), t in zip(X, y)))
    cli("train", "--data", csv, "--target", "label", "--models", 20, "--iterations", 500, "--rule", "logistic",
        "--bias", "--out", tmp_path / "m.npz")
    r = fp.load(tmp_path / "m.npz")
    assert r.metadata["feature_names"] == ["a", "b"] and r.metadata["target_names"] == ["label"]
    out = cli("predict", tmp_path / "m.npz", "--data", csv).stdout.splitlines()
    assert out[0] == "label_proba" and len(out) == 41
    p = np.array([float(v) for v in out[1:]])
    assert ((p > 0.5) == y).mean() > 0.9
    per = cli("predict", tmp_path / "m.npz", "--input", 1, 0, "--per-model").stdout.splitlines()
    assert per[0] == "model,seed,row,p0" and len(per) == 21


def test_train_from_npy_and_npz(tmp_path):
    X, y = fp.datasets.seed()
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    out = cli("train", "--data", tmp_path / "d.npy", "--models", 3, "--iterations", 10, "--solver", "gd").stdout
    assert "models           3 x 10 iterations" in out
    np.savez(tmp_path / "d.npz", X=np.stack([X] * 4), y=np.stack([y] * 4))
    out = cli("train", "--data", tmp_path / "d.npz", "--iterations", 10, "--solver", "gd").stdout
    assert "models           4 x 10 iterations" in out  # B from the per-model data


def test_predict_ensemble_for_input(tmp_path):
    cli("train", "--seeds", 1, "--init", "legacy", "--out", tmp_path / "m.npz")
    out = cli("predict", tmp_path / "m.npz", "--input", 1, 0, 0).stdout.split()
    assert out == ["y_proba", "0.99996897"]


def test_threads_and_peers_options(tmp_path):
    out = cli("train", "--models", 40, "--iterations", 30, "--threads", 1, "--backend", "numba", "--out", tmp_path / "a.npz")
    assert "numba" in out.stdout
    cli("train", "--models", 40, "--iterations", 30, "--backend", "numba", "--out", tmp_path / "b.npz")
    np.testing.assert_array_equal(fp.load(tmp_path / "a.npz").weights, fp.load(tmp_path / "b.npz").weights)
    out = cli("bench", "--models", 10, "--iterations", 5, "--repeat", 1, "--peers", "--backends", "numpy").stdout
    for peer in ("jax", "torch"):
        assert f"\n{peer} " in out or f"# {peer} is not installed: pip install 'fastperceptron[peers]'" in out


def test_info():
    out = cli("info").stdout
    assert f"fastperceptron {fp.__version__}" in out
    for name in ("numpy", "numba", "cupy", "cuda"):
        assert f"  {name} " in out
    assert "CPU threads" in out and "GPUs" in out and "backend 'auto'" in out
    assert "BLAS (numpy)     " in out


@pytest.mark.parametrize("isa, arch, hinted", [("AVX-512", "Haswell", True), ("AVX-512", "SkylakeX", False),
                                               ("AVX2", "Haswell", False)])
def test_blas_hint_when_openblas_leaves_avx512_unused(monkeypatch, isa, arch, hinted):
    """OpenBLAS's Haswell kernels on an AVX-512 CPU (its choice on AMD Zen 5) get the fix named."""
    import threadpoolctl

    from fastperceptron import machine

    info = [{"user_api": "blas", "internal_api": "openblas", "version": "0.3.31", "architecture": arch}]
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: info)
    monkeypatch.setattr(machine, "cpu_isa", lambda: isa)
    text, hint = machine.blas()
    assert text == f"OpenBLAS 0.3.31, {arch} kernels"
    assert (hint is not None) == hinted
    if hinted:
        assert "export OPENBLAS_CORETYPE=SkylakeX" in hint


def test_bench_prints_table_and_plots(tmp_path):
    out = cli("bench", "--models", 1, 10, "--iterations", 20, "--repeat", 1, "--plot", tmp_path / "b.png").stdout
    assert "model-it/s" in out and "numpy" in out
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = cli("bench", "--case", "per-model", "--models", 2, "--iterations", 5, "--repeat", 1).stdout
    assert "per-model case" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("train", "--data", "missing.csv"), "no data file at 'missing.csv'"),
        (("train", "--iterations", -5), "iterations must be >= 0, got -5"),
        pytest.param(("train", "--backend", UNAVAILABLE, "--iterations", 1), f"backend '{UNAVAILABLE}' is not available",
                     marks=pytest.mark.skipif(UNAVAILABLE is None, reason="every backend is available here")),
        (("train", "--seeds", "x"), "--seeds 'x' is not a non-negative integer"),
        (("train", "--lr", 1, 2, "--models", 3), "inconsistent number of models B"),
        (("predict", "missing.npz", "--input", 1, 0, 0), "no model file at 'missing.npz'"),
        (("demo", "--input", 1, 0), "--input needs 3 numbers, got 2"),
        pytest.param(("bench", "--backends", UNAVAILABLE), f"backend '{UNAVAILABLE}' is not available",
                     marks=pytest.mark.skipif(UNAVAILABLE is None, reason="every backend is available here")),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    assert_clean_error(cli(*args, check_rc=None), message)


def test_bad_csv(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n1,oops,1\n")
    assert_clean_error(cli("train", "--data", bad, check_rc=None), "line 3, column 'b': 'oops' is not a number")
    bad.write_text("a,b,y\n1,2,0\n1,2\n")
    short_row = "Expected 3 columns, got 2" if HAVE_PYARROW else "line 3: 2 fields, but the header has 3"
    assert_clean_error(cli("train", "--data", bad, check_rc=None), short_row)
    bad.write_text("a,b,y\n1,2,0\n1,2,7\n")
    assert_clean_error(cli("train", "--data", bad, check_rc=None), "bad.csv, line 3, column 'y': 7.0 is not in [0, 1]")
    assert_clean_error(cli("train", "--data", bad, "--target", "zz", check_rc=None), "--target 'zz' is neither")


def test_corrupt_model_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    assert_clean_error(cli("predict", path, "--input", 1, 0, 0, check_rc=None), "is not a fastperceptron model file")


def test_usage_errors_exit_2():
    p = cli("train", "--rule", "nope", check_rc=None)
    assert p.returncode == 2 and "invalid choice" in p.stderr and "Traceback" not in p.stderr
    assert cli(check_rc=None).returncode == 2



def test_a_bad_out_path_fails_before_training(tmp_path):
    """--out a directory, or into a missing folder: one line naming the user's path, before any
    training (no 'models' line on stdout)."""
    p = cli("train", "--iterations", 10, "--out", tmp_path, check_rc=2)
    assert "it is a directory; give a file name" in p.stderr and "Traceback" not in p.stderr
    assert "models" not in p.stdout and not (tmp_path.parent / f"{tmp_path.name}.npz").exists()
    p = cli("train", "--iterations", 10, "--out", tmp_path / "nope" / "m.npz", check_rc=2)
    assert f"the folder {str(tmp_path / 'nope')!r} does not exist" in p.stderr and ".tmp" not in p.stderr
    assert "models" not in p.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to a child is POSIX-only")
def test_ctrl_c_keeps_a_consistent_incomplete_result(tmp_path):
    """Ctrl-C stops at a chunk boundary: the saved weights equal a run of exactly that many iterations."""
    import threading

    out = tmp_path / "m.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastperceptron", "train", "--models", "50", "--iterations", str(10**9), "--bias",
         "--progress", "--out", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )
    err = bytearray()
    started = threading.Event()

    def read_stderr():  # the progress bar appears once training runs (after any compile): then signal
        while chunk := proc.stderr.read1(4096):
            err.extend(chunk)
            if b"models [" in err:
                started.set()
        started.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    assert started.wait(timeout=240), "training never started"
    time.sleep(0.5)  # a chunk or two (~0.25 s each) into the run
    proc.send_signal(signal.SIGINT)
    stdout = proc.stdout.read().decode()  # (stderr is the reader's)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    stderr = err.decode(errors="replace")
    assert proc.returncode == 130, stderr
    assert "INTERRUPTED" in stdout and "Traceback" not in stderr
    r = fp.load(out)
    assert not r.complete
    done = int(r.iterations[0])
    assert 0 < done < 10**9 and (r.iterations == done).all()
    X, y = fp.datasets.seed()
    again = fp.train(X, y, models=50, iterations=done, bias=True, backend=r.backend)
    np.testing.assert_array_equal(r.weights, again.weights)
    np.testing.assert_array_equal(r.bias, again.bias)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_demo_asks_for_a_new_situation_on_a_terminal():
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "fastperceptron", "demo", "--iterations", "2000"], stdin=slave,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    os.close(slave)
    os.write(master, b"0\n1\n1\n")
    stdout, stderr = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0, stderr
    assert "Input 1: Input 2: Input 3: New situation: input data = 0 1 1" in stdout


# --- tables and groups --------------------------------------------------------------------------------
def _sales(tmp_path, rng, n=600):
    stores = rng.choice(["north", "south", "east-1", "west"], size=n)
    X = rng.normal(size=(n, 2)).round(4)
    sold = (rng.random(n) < 0.5).astype(int)
    path = tmp_path / "sales.csv"
    lines = ["store,price,promo,sold"] + [f"{s},{a},{b},{t}" for s, (a, b), t in zip(stores, X, sold)]
    path.write_text("\n".join(lines) + "\n")
    return path, stores, X, sold


def test_train_and_predict_by_group_from_a_csv(tmp_path, rng):
    path, stores, X, sold = _sales(tmp_path, rng)
    model = tmp_path / "m.npz"
    out = cli("train", "--data", path, "--group-by", "store", "--target", "sold", "--iterations", 40,
              "--rule", "logistic", "--bias", "--lr", 0.01, "--backend", "numpy", "--out", model, "--shrink", "none",
              "--no-standardize", "--l2", 0).stdout
    assert "groups           4 by 'store' (600 rows;" in out
    r = fp.load(model)
    assert r.groups.tolist() == ["east-1", "north", "south", "west"]
    assert r.metadata["group_by"] == "store" and r.metadata["feature_names"] == ["price", "promo"]
    expected = fp.train(X, sold, groups=stores, iterations=40, rule="logistic", bias=True, learning_rate=0.01,
                        backend="numpy")
    np.testing.assert_allclose(r.weights, expected.weights, rtol=1e-12)
    lines = cli("predict", model, "--data", path).stdout.strip().splitlines()  # the group column from the model
    assert lines[0] == "store,sold_proba" and len(lines) == 601
    label, p = lines[1].split(",")
    assert label == stores[0]
    assert float(p) == pytest.approx(expected.predict_proba(X[:1], groups=stores[:1])[0, 0], abs=1e-8)


def test_parquet_tables(tmp_path, rng):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path, stores, X, sold = _sales(tmp_path, rng)
    pq.write_table(pa.table({"store": stores, "price": X[:, 0], "promo": X[:, 1], "sold": sold}), tmp_path / "s.parquet")
    model = tmp_path / "m.npz"
    cli("train", "--data", tmp_path / "s.parquet", "--group-by", "store", "--iterations", 5, "--backend", "numpy",
        "--out", model)
    assert fp.load(model).group_sizes.sum() == 600
    lines = cli("predict", model, "--data", tmp_path / "s.parquet", "--group-by", "store").stdout.splitlines()
    assert len(lines) == 601


def test_table_errors_name_the_column(tmp_path, rng):
    path, *_ = _sales(tmp_path, rng)
    assert_clean_error(cli("train", "--data", path, "--iterations", 1, check_rc=None),
                       "sales.csv: 1 feature column(s) hold no numbers: 'store' (text); leave them out with --drop store, "
                       "one-hot encode the text one(s) with --categorical store, or name a label column with --group-by")
    assert_clean_error(cli("train", "--data", path, "--group-by", "shop", check_rc=None), "--group-by 'shop' is neither")
    model = tmp_path / "m.npz"
    cli("train", "--data", path, "--group-by", "store", "--shrink", "none", "--iterations", 1, "--backend", "numpy",
        "--out", model)
    assert_clean_error(cli("predict", model, "--input", 1, 2, check_rc=None), "a model trained with groups")
    new = tmp_path / "new.csv"
    new.write_text("store,price,promo\nnowhere,1,2\n")
    assert_clean_error(cli("predict", model, "--data", new, check_rc=None), "never seen in training ('nowhere')")
    if HAVE_PYARROW:
        assert_clean_error(cli("train", "--data", tmp_path / "x.parquet", check_rc=None), "no data file")
        (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
        assert_clean_error(cli("train", "--data", tmp_path / "bad.parquet", check_rc=None), "not a readable Parquet file")


# --- issue 22: a hostile user's files and arguments ------------------------------------------------
@pytest.mark.parametrize("reader", ["pyarrow", "stdlib"])
def test_bad_cells_name_the_file_the_line_and_the_column(tmp_path, monkeypatch, reader):
    from fastperceptron.io import tables

    if reader == "pyarrow" and not HAVE_PYARROW:
        pytest.skip("pyarrow is not installed")
    if reader == "stdlib":
        monkeypatch.setattr(tables, "_pyarrow", lambda: None)
    path = tmp_path / "t.csv"
    cases = [
        ("a,b,y\n1,2,0\n,3,1\n", {}, "t.csv, line 3, column 'a': an empty cell (or NaN); feature columns need a "
                                     "finite number in every row (1 row(s) lack one)"),
        ("a,b,y\n1,inf,0\n3,3,1\n", {}, "t.csv, line 2, column 'b': inf; feature columns need a finite number"),
        ("a,b,y\n1,2,0\n3,3,\n", {}, "t.csv, line 3, column 'y': an empty cell (or NaN); target columns"),
        ("a,g,y\n1,x,0\n3,,1\n", {"group_by": "g"}, "t.csv, line 3, column 'g': an empty label (1 row(s) have none); "
                                                   "every row needs a label"),
        ("a,g,y\n1,4,0\n3,,1\n", {"group_by": "g"}, "t.csv, line 3, column 'g': an empty label"),
        ("a,a,y\n1,2,0\n", {}, "t.csv: the column name(s) ['a'] appear more than once; give every column its own name"),
    ]
    for text, kw, message in cases:
        path.write_text(text)
        with pytest.raises(tables.TableError) as info:
            tables.load_data(path, None, kw.get("group_by"))
        assert message in str(info.value), (text, str(info.value))
    path.write_text("a,a,y\n1,2,0\n")
    assert_clean_error(cli("train", "--data", path, check_rc=None), "appear more than once; give every column its own name")


def test_a_parquet_null_names_the_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1.0, None, 3.0], "y": [0.0, 1.0, 1.0]}), tmp_path / "t.parquet")
    assert_clean_error(cli("train", "--data", tmp_path / "t.parquet", check_rc=None),
                       "t.parquet, row 1, column 'a': an empty cell (or NaN)")


def test_usage_errors_are_one_line_with_a_hint():
    for args, message in [(("train", "--models", "x"), "argument --models: invalid int value: 'x'"),
                          (("trian",), "invalid choice: 'trian'"), ((), "the following arguments are required"),
                          (("predict",), "the following arguments are required: MODEL")]:
        p = cli(*args, check_rc=None)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert message in p.stderr and "(see 'fastperceptron" in p.stderr and "--help')" in p.stderr


def test_predict_refuses_ensemble_views_of_a_groups_model(tmp_path, rng):
    path, *_ = _sales(tmp_path, rng)
    model = tmp_path / "m.npz"
    cli("train", "--data", path, "--group-by", "store", "--iterations", 1, "--backend", "numpy", "--out", model)
    for flag in ("--summary", "--per-model"):
        assert_clean_error(cli("predict", model, "--data", path, flag, check_rc=None),
                           f"{flag} describes an ensemble of models over the same rows, but {model} has one model "
                           f"per group")


def test_an_unexpected_error_is_still_one_line(monkeypatch, capsys):
    from fastperceptron import cli as cli_module
    from fastperceptron.cli import train as train_command

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(train_command, "cmd_train", broken)
    monkeypatch.delenv("FASTPERCEPTRON_DEBUG", raising=False)
    assert cli_module.main(["train"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["fastperceptron: error: unexpected KeyError: 'boom' (a bug of fastperceptron: rerun with "
                   "FASTPERCEPTRON_DEBUG=1 for the traceback, and please report it)"]
    monkeypatch.setenv("FASTPERCEPTRON_DEBUG", "1")
    with pytest.raises(KeyError):
        cli_module.main(["train"])


# --- issue 25: partial pooling ---------------------------------------------------------------------
@pytest.mark.skipif(not HAVE_PYARROW, reason="pyarrow is not installed")
def test_a_hierarchy_from_parquet_trains_pools_and_predicts(tmp_path, rng):
    pd = pytest.importorskip("pandas")
    n = 1200
    region, store = rng.integers(0, 3, n), rng.integers(0, 30, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x + rng.normal(size=3)[region])))).astype(int)
    pd.DataFrame({"region": [f"r{v}" for v in region], "store": store, "x": x, "sold": y}).to_parquet(
        tmp_path / "t.parquet")
    model = tmp_path / "m.npz"
    out = cli("train", "--data", tmp_path / "t.parquet", "--group-by", "region,store", "--target", "sold", "--bias",
              "--shrink", "cv", "--shrink-grid", 0.1, 1, 10, "--cv", 3, "--backend", "numpy", "--out", model).stdout
    assert "level 1          3 'region' groups" in out and "level 2" in out and "'store' groups" in out
    assert "(cv: held-out log-loss" in out
    r = fp.load(model)
    assert r.pooling.hierarchy.names == ("region", "store") and r.params["cv"] == 3
    info = cli("info", model).stdout
    assert "pooled           shrink per level, chosen by 3-fold CV over 3 values: region (3) " in info
    new = tmp_path / "new.csv"
    new.write_text("x,region,store\n0.5,r1,3\n0.5,r9,3\n")
    lines = cli("predict", model, "--data", new).stdout.splitlines()
    assert lines[0] == "region,store,sold_proba,level"
    assert lines[1].startswith("r1,3,") and lines[1].endswith(",2") and lines[2].endswith(",0")
    expect = r.predict_proba(np.array([[0.5], [0.5]]), groups=[np.array(["r1", "r9"]), np.array([3, 3])])[:, 0]
    np.testing.assert_allclose([float(line.split(",")[2]) for line in lines[1:]], expect, atol=1e-8)
    assert_clean_error(cli("predict", model, "--data", new, "--unseen", "error", check_rc=None),
                       "1 path(s) in groups were never seen in training ('r9/3')")
    assert_clean_error(cli("train", "--data", tmp_path / "t.parquet", "--group-by", "region,store", "--shrink", "x",
                           check_rc=None), "--shrink takes numbers >= 0 (one, or one per level), cv or none, got x")
    assert_clean_error(cli("train", "--data", tmp_path / "t.parquet", "--group-by", "region", "--shrink", "none",
                           "--cv", 3, check_rc=None), "--shrink-grid, --cv and --cv-seed choose --shrink cv")


# --- one answer whatever the door (issue 33) ---------------------------------------------------------
def test_predict_reads_columns_by_name_and_refuses_a_missing_one(tmp_path, rng):
    """The model knows its columns' names: new rows are read by name in any order; a misspelled header
    is an error naming the missing column, never a read by position."""
    n = 60
    a, b, flag = rng.normal(size=n), 3 * rng.normal(size=n), (rng.random(n) < 0.4).astype(int)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a - b / 3 + flag)))).astype(int)
    rows = lambda names, cols: "\n".join([",".join(names)] + [",".join(map(str, r)) for r in zip(*cols)]) + "\n"  # noqa: E731
    (tmp_path / "t.csv").write_text(rows(["a", "b", "flag", "y"], [a, b, flag, y]))
    (tmp_path / "shuffled.csv").write_text(rows(["flag", "b", "a"], [flag, b, a]))
    (tmp_path / "typo.csv").write_text(rows(["b", "a", "flg"], [b, a, flag]))
    model = tmp_path / "m.npz"
    cli("train", "--data", tmp_path / "t.csv", "--target", "y", "--solver", "newton", "--bias", "--out", model)
    expect = fp.load(model).predict_proba(np.column_stack([a, b, flag]))[0, :, 0]
    got = [float(v) for v in cli("predict", model, "--data", tmp_path / "shuffled.csv").stdout.split()[1:]]
    np.testing.assert_allclose(got, expect, atol=1e-8)
    assert_clean_error(cli("predict", model, "--data", tmp_path / "typo.csv", check_rc=None),
                       "typo.csv: no column 'flag', which the model reads (it was trained on ['a', 'b', 'flag']); "
                       "the table's columns are ['b', 'a', 'flg']")


def test_predict_a_hierarchy_matches_its_levels_by_name(tmp_path, rng):
    """--group-by store,region for a model of region,store: the levels are put in the model's order;
    a level name at the wrong depth beside another name is refused."""
    n = 400
    region, store = rng.choice(["n", "s"], n), rng.integers(0, 6, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    (tmp_path / "h.csv").write_text("region,store,x,y\n" + "".join(
        f"{r},{s},{v},{t}\n" for r, s, v, t in zip(region, store, x, y)))
    model = tmp_path / "m.npz"
    cli("train", "--data", tmp_path / "h.csv", "--target", "y", "--group-by", "region,store", "--shrink", 1,
        "--bias", "--backend", "numpy", "--out", model)
    ordered = cli("predict", model, "--data", tmp_path / "h.csv", "--group-by", "region,store").stdout
    assert cli("predict", model, "--data", tmp_path / "h.csv", "--group-by", "store,region").stdout == ordered
    assert ordered.splitlines()[0] == "region,store,y_proba,level" and ",2\n" in ordered and ",0\n" not in ordered
    assert_clean_error(cli("predict", model, "--data", tmp_path / "h.csv", "--group-by", "store,x", check_rc=None),
                       "--group-by store,x: the model's levels are region,store (outermost first), and 'store' is "
                       "one of them")


def test_predictions_to_a_file_keep_their_rows_and_columns(tmp_path, rng):
    """predict --out (CSV or Parquet by the suffix) --keep id --threshold: the input's rows in their
    order, the kept columns first, <target>_proba equal to predict_proba to every digit, <target>_pred
    its 0/1 at the threshold; the group columns keep their data names."""
    pd = pytest.importorskip("pandas")
    n = 200
    df = pd.DataFrame({"id": rng.permutation(n) + 1000, "store": rng.choice(["a", "b", "c"], n),
                       "x": rng.normal(size=n), "churn": rng.choice(["no", "yes"], n)})
    df.to_csv(tmp_path / "t.csv", index=False, float_format="%.17g")
    model = tmp_path / "m.npz"
    cli("train", "--data", tmp_path / "t.csv", "--target", "churn", "--drop", "id", "--group-by", "store", "--out", model)
    r = fp.load(model)
    expect = r.predict_proba(df[["x"]].to_numpy(), groups=[df["store"].to_numpy()])[:, 0]
    for suffix in (".csv", ".parquet"):
        if suffix == ".parquet":
            pytest.importorskip("pyarrow")
        out = tmp_path / f"p{suffix}"
        p = cli("predict", model, "--data", tmp_path / "t.csv", "--keep", "id", "--threshold", 0.4, "--out", out)
        assert f"wrote            {out} (200 rows, columns id, store, churn_proba, churn_pred, level)" in p.stdout
        got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        assert got["id"].tolist() == df["id"].tolist()
        np.testing.assert_array_equal(got["churn_proba"].to_numpy(), expect)
        np.testing.assert_array_equal(got["churn_pred"].to_numpy(), (expect >= 0.4).astype(int))
        assert got["store"].tolist() == df["store"].tolist() and set(got["level"]) == {1}
