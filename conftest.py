"""The README's examples are tests (issue 26): every Python and shell block of README.md runs, in
order, with sybil, in a folder of its own, empty at first: the README's first shell block writes
the example tables the others name (``fastperceptron example-data``), as a reader's would.

- Python blocks share one namespace, as a reader running them top to bottom would; a block of
  ``>>>`` lines is a doctest, so what it prints is checked.
- Shell blocks run line by line (a trailing backslash continues a line): ``fastperceptron ...`` in
  this process through the command's ``main`` (exit status 0 expected), ``make ...`` in a
  subprocess at the repository's top (``make test`` is this very suite: it is not run again). A
  ``$ command`` line followed by output lines is a transcript: the output must match, numbers to
  1e-6. A command may print no warning: the README would not show it.
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


ROOT = Path(__file__).resolve().parent

try:
    from sybil import Sybil
    from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser
except ImportError:  # the README is then not collected; tests/test_readme.py says why
    Sybil = None


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


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
    assert "warning" not in err.getvalue(), f"{command} warns, which the README does not show:\n{err.getvalue()}"
    return out.getvalue()


def _shell(example) -> None:
    for command, expected in _commands(example.parsed):
        output = _run(command)
        if expected:
            got = [line.strip() for line in output.strip().splitlines()]
            assert _matches(got, expected), f"{command} printed\n{output}\nthe README shows\n" + "\n".join(expected)


def _setup(namespace: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="readme-"))  # the README's first shell block writes its tables here
    namespace["_cwd"] = os.getcwd()
    os.chdir(folder)
    namespace.update(HAVE_PYARROW=_have("pyarrow"), HAVE_SKLEARN=_have("sklearn"), HAVE_DASK=_have("distributed"),
                     HAVE_ONNX=_have("onnx") and _have("onnxruntime"), HAVE_SKL2ONNX=_have("skl2onnx"),
                     HAVE_MATPLOTLIB=_have("matplotlib"), HAVE_JAX=_have("jax"),
                     HAVE_PANDAS=_have("pandas"), HAVE_POLARS=_have("polars"), HAVE_STATSMODELS=_have("statsmodels"))


def _teardown(namespace: dict) -> None:
    os.chdir(namespace["_cwd"])


if Sybil is not None:
    pytest_collect_file = Sybil(
        parsers=[PythonCodeBlockParser(doctest_optionflags=ELLIPSIS | NORMALIZE_WHITESPACE),
                 CodeBlockParser(language="sh", evaluator=_shell), SkipParser()],
        patterns=["README.md"], setup=_setup, teardown=_teardown,
    ).pytest()
