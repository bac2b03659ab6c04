"""What every command of the command line shares: its error type and exit codes, its defaults, and
the argument parser's one-line errors and option types."""

from __future__ import annotations

import argparse
import sys

__all__ = ["CLIError", "Parser", "positive", "rate", "progress_flag", "EXIT_USAGE", "EXIT_INTERRUPTED",
           "DEFAULT_MODELS", "DEFAULT_TABLE_MODELS"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_MODELS = 10_000
#: models of gradient steps trained on a table of one's own (--data) when no count is given: the
#: tutorial's 10,000 seeds over 20,000 iterations would take an hour on a table of thousands of rows
DEFAULT_TABLE_MODELS = 100


class CLIError(Exception):
    """A user error found by the command line itself."""


def positive(kind):
    """An argparse type: a number of ``kind`` (int or float) above 0."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive {'integer' if kind is int else 'number'}, got {text!r}")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def rate(text: str):
    """--lr: a number, or "auto"."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'auto', got {text!r}") from None


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and a hint (``--help`` for the options), as every
    other error of the command is, instead of the whole usage text; and no abbreviated options
    (``--out`` must not be read as ``--outputs``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def progress_flag(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show a progress bar")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
