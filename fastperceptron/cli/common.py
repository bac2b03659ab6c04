"""What every command of the command line shares: its error type and exit codes, its defaults, and
the argument parser's one-line errors and option types."""

from __future__ import annotations

import argparse
import sys
import warnings

__all__ = ["CLIError", "Parser", "positive", "rate", "progress_flag", "EXIT_USAGE", "EXIT_INTERRUPTED",
           "DEFAULT_MODELS", "DEFAULT_TABLE_MODELS", "cli_words", "WarningsAsTheyCome"]

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


#: the library's warnings name its keywords; the command line's name its flags (cli_words)
_CLI_WORDS = [
    (r"Use learning_rate='auto' \(CLI: --lr auto; ([^)]*)\), standardize=True, or solver='newton'/'lbfgs'",
     r"Use --lr auto (\1), --standardize, or --solver newton (or lbfgs)"),
    (r"Use standardize=True \(CLI: --standardize; ([^)]*)\), or solver='newton'/'lbfgs' \(CLI: --solver\)",
     r"Use --standardize (\1), or --solver newton (or lbfgs)"),
    (r"use solver='(\w+)', or scale the features \(standardize=True\)", r"use --solver \1, or scale the features "
                                                                          r"(--standardize)"),
    (r"raise iterations", "raise --iterations"),
    (r"set l2 > 0 \(a finite C in the scikit-learn estimators\)", "set --l2 to a value > 0"),
    (r"give shrink > 0 \(each group then pulled toward its parent's model\)",
     "give --shrink a value > 0 (each group then pulled toward its parent's model)"),
    (r" \(train\(\.\.\., fallback=True\); CLI: train --fallback\) and predict with unseen='fallback' \(CLI: "
     r"predict --unseen fallback\)", " (train --fallback) and predict with --unseen fallback"),
    (r"unseen='parent' \(CLI: predict --unseen parent\)", "--unseen parent"),
    (r"train without bias, or drop them", "train with --no-bias, or drop them"),
    (r"leave out the bias \(bias=False\)", "train with --no-bias"),
    (r"^interval is the intervals' coverage", "--interval is the intervals' coverage"),
    (r"^interval= needs each model's covariance: train with cov='nonrobust' \(or 'HC0', 'HC1', 'cluster'\) and "
     r"cov_keep='full'", "--interval needs each model's covariance: train with --cov nonrobust (or HC0, HC1, cluster)"),
    (r"train it with cov='nonrobust', 'HC0', 'HC1' or 'cluster' \(a second-order solver: solver='newton', 'lbfgs' or "
     r"'auto'; CLI: train --cov HC1\)", "train it with --cov nonrobust (or HC0, HC1, cluster; a second-order "
                                         "--solver: newton, lbfgs or auto)"),
    (r"cov='(\w+)' is not available for partial pooling", r"--cov \1 is not available for partial pooling"),
    (r"Use cov='nonrobust' \(the curvature of the posterior that pooling is\), or shrink=None \(CLI: --shrink none\)",
     "Use --cov nonrobust (the curvature of the posterior that pooling is), or --shrink none"),
    (r"result(\.pooling)?\.stop_reason(\[\d+\])? says why for each",
     "fastperceptron info MODEL shows why for each"),
    (r"train one model \(models=1\), or give each model its own bootstrap weights \(fp\.bootstrap_weights\) or l2",
     "train one model (--models 1), or give each model its own --l2"),
    (r"widen shrink_grid on that side \(e\.g\. shrink_grid=np\.logspace\(-3, 6, 19\)\)",
     "widen --shrink-grid on that side (e.g. --shrink-grid 0.001 0.01 0.1 1 10 100 1e3 1e4 1e5 1e6)"),
    (r"shrink='cv'", "--shrink cv"),
    (r"^shrink has (\d+) values", r"--shrink has \1 values"),
]


def cli_words(message: str) -> str:
    """A library warning with the command line's flags for its fixes instead of Python keywords."""
    import re

    for pattern, replacement in _CLI_WORDS:
        message = re.sub(pattern, replacement, message)
    return message


class WarningsAsTheyCome:
    """Print the library's warnings on stderr as they are raised — before a long run, not after it —
    as ``fastperceptron: warning: ...``; the scale warning is printed by ``train`` itself, with the
    columns' names. Libraries' deprecation notices are not shown. ``names``: the columns of the
    arrays the command trains on, which the library calls x1 … xD (a term named in a warning)."""

    def __init__(self, names=None):
        self._names = list(names or [])

    def __enter__(self):
        from ..errors import StabilityWarning

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r".*feature column\(s\) are far from", category=StabilityWarning)
        warnings.showwarning = self._show
        return self

    def _show(self, message, category, filename, lineno, file=None, line=None):
        import re

        if "training interrupted" not in str(message):
            word = "note" if category.__name__ == "UnseenLevelWarning" else "warning"
            text = cli_words(str(message))
            if self._names:
                text = re.sub(r"\bx(\d+)\b", lambda m: (self._names[int(m[1]) - 1]
                                                      if 0 < int(m[1]) <= len(self._names) else m[0]), text)
            print(f"fastperceptron: {word}: {text}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)
