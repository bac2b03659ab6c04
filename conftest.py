"""The README's examples are tests (issue 26): every Python and shell block of README.md runs, in
order, with sybil, in a folder of its own that holds the small tables the shell blocks name.

- Python blocks share one namespace, as a reader running them top to bottom would; a block of
  ``>>>`` lines is a doctest, so what it prints is checked.
- Shell blocks run line by line (a trailing backslash continues a line): ``fastperceptron ...`` in
  this process through the command's ``main`` (exit status 0 expected), ``make ...`` in a
  subprocess at the repository's top (``make test`` is this very suite: it is not run again). A
  ``$ command`` line followed by output lines is a transcript: the output must match, numbers to
  1e-6.
- ``<!-- skip: next if(not HAVE_X, reason="...") -->`` before a block skips it, with the reason,
  where an optional extra is absent.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shlex
import subprocess
import tempfile
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent

try:
    from sybil import Sybil
    from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser
except ImportError:  # the README is then not collected; tests/test_readme.py says why
    Sybil = None


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _tables(folder: Path) -> None:
    """The small tables the README's shell blocks name: a table of raw columns (raw.csv), a sales table
    with a store per row (sales.csv, sales.parquet) and new rows to predict (new.csv), a plain table
    (d.csv) and new rows of it (rows.csv). Fixed seeds: every run makes the same files."""
    rng = np.random.default_rng(26)
    n = 300
    income, age = rng.lognormal(np.log(5e4), 0.5, n), rng.uniform(20, 80, n)
    flag, balance = (rng.random(n) < 0.3).astype(int), rng.normal(2e5, 5e4, n)
    z = (np.log(income) - np.log(5e4)) / 0.5 - 0.03 * (age - 50) + 0.7 * flag
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    _csv(folder / "raw.csv", ["income", "age", "flag", "balance", "y"], [income, age, flag, balance, y])
    stores = np.array(["east", "north", "south", "west"])[rng.integers(0, 4, n)]
    price, promo = rng.uniform(1, 3, n), (rng.random(n) < 0.4).astype(int)
    sold = (rng.random(n) < 1 / (1 + np.exp(price - 2 - promo))).astype(int)
    _csv(folder / "sales.csv", ["store", "price", "promo", "sold"], [stores, price, promo, sold])
    _csv(folder / "new.csv", ["store", "price", "promo"], [stores[:5], price[:5], promo[:5]])
    if _have("pyarrow"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"store": stores, "price": price, "promo": promo, "sold": sold}),
                       folder / "sales.parquet")
        # stores under regions, for partial pooling (stores.parquet), and new rows of them (new_stores.csv)
        from fastperceptron.datasets import hierarchy

        Xh, yh, region, store, _ = hierarchy(regions=4, stores=60, seed=26)
        region = np.array(["east", "north", "south", "west"])[region]
        columns = {"region": region, "store": store, **{f"x{d + 1}": Xh[:, d] for d in range(4)}, "sold": yh}
        pq.write_table(pa.table(columns), folder / "stores.parquet")
        _csv(folder / "new_stores.csv", list(columns)[:-1], [c[:5] for c in list(columns.values())[:-1]])
    X = rng.normal(size=(n, 3))
    label = (rng.random(n) < 1 / (1 + np.exp(-X @ [1.0, -1.0, 0.5]))).astype(int)
    _csv(folder / "d.csv", ["a", "b", "c", "label"], [*X.T, label])
    _csv(folder / "rows.csv", ["a", "b", "c"], [*X[:3].T])


def _csv(path: Path, names, columns) -> None:
    rows = zip(*[[f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v) for v in c] for c in columns])
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(r) for r in rows) + "\n")


def _commands(text: str):
    """(command, expected output lines or None) of a shell block, continuation lines joined. A block
    whose first line starts with ``$ `` is a transcript: its ``$`` lines are commands, the lines
    under each their output; in any other block every line is a command (comments aside)."""
    lines = []
    for line in text.splitlines():
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + line.strip()
        elif line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    if not lines or not lines[0].startswith("$ "):
        return [(line, None) for line in lines]
    out = []
    for line in lines:
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            out[-1][1].append(line)
    return out


def _matches(got: list[str], want: list[str]) -> bool:
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        gs, ws = g.split(","), w.split(",")
        if len(gs) != len(ws):
            return False
        for a, b in zip(gs, ws):
            try:
                if abs(float(a) - float(b)) > 1e-6:
                    return False
            except ValueError:
                if a != b:
                    return False
    return True


def _run(command: str) -> str:
    """Run one README command; its standard output."""
    command = command.split(" #")[0].strip()  # a trailing comment
    words = shlex.split(command)
    if words[0] == "make":
        if words[1:] == ["test"]:
            return ""  # this very suite
        done = subprocess.run(words, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout
    if words[:3] == ["python", "-m", "fastperceptron"]:
        words = ["fastperceptron"] + words[3:]
    assert words[0] == "fastperceptron", f"the README runs only fastperceptron and make commands: {command}"
    from fastperceptron.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(words[1:])
    assert rc == 0, f"{command}: exit status {rc}\n{err.getvalue()}"
    return out.getvalue()


def _shell(example) -> None:
    for command, expected in _commands(example.parsed):
        output = _run(command)
        if expected:
            got = [line.strip() for line in output.strip().splitlines()]
            assert _matches(got, expected), f"{command} printed\n{output}\nthe README shows\n" + "\n".join(expected)


def _setup(namespace: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="readme-"))
    _tables(folder)
    namespace["_cwd"] = os.getcwd()
    os.chdir(folder)
    namespace.update(HAVE_PYARROW=_have("pyarrow"), HAVE_SKLEARN=_have("sklearn"), HAVE_DASK=_have("distributed"),
                     HAVE_ONNX=_have("onnx") and _have("onnxruntime"), HAVE_SKL2ONNX=_have("skl2onnx"),
                     HAVE_MATPLOTLIB=_have("matplotlib"), HAVE_JAX=_have("jax"),
                     HAVE_PANDAS=_have("pandas"), HAVE_POLARS=_have("polars"))


def _teardown(namespace: dict) -> None:
    os.chdir(namespace["_cwd"])


if Sybil is not None:
    pytest_collect_file = Sybil(
        parsers=[PythonCodeBlockParser(doctest_optionflags=ELLIPSIS | NORMALIZE_WHITESPACE),
                 CodeBlockParser(language="sh", evaluator=_shell), SkipParser()],
        patterns=["README.md"], setup=_setup, teardown=_teardown,
    ).pytest()
