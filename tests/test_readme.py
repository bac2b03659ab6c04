"""The README's examples run as tests (the root conftest.py collects README.md with sybil): here, that
every fenced block of the README is one the suite runs — Python or shell — or the folder map."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_sybil_runs_the_readme():
    pytest.importorskip("sybil", reason="the README's blocks run through sybil: pip install sybil (the test extra)")


def test_every_block_of_the_readme_is_run():
    fences = re.findall(r"^```(\w*)$\n(.*?)^```$", README.read_text(encoding="utf-8"), flags=re.S | re.M)
    languages = [lang for lang, _ in fences]
    assert set(languages) <= {"python", "sh", ""}, set(languages)
    untagged = [body for lang, body in fences if not lang]
    assert len(untagged) == 1 and untagged[0].startswith("fastperceptron/"), "one untagged block: the folder map"
    assert languages.count("python") >= 10 and languages.count("sh") >= 10
