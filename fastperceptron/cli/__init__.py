"""The ``fastperceptron`` command (an edge: the public API, nothing below imports it): ``train`` and
``plot`` (:mod:`.train`), ``predict`` and ``export`` (:mod:`.serve`), ``demo``, ``info`` and
``bench`` (:mod:`.tools`); the parser in :mod:`.parser`.

Bad input prints one line, ``fastperceptron: error: ...``, on stderr and exits with status 2;
no traceback. Ctrl-C during ``train`` keeps the models reached so far (written with ``--out``,
marked incomplete) and exits with status 130.
"""

from __future__ import annotations

import os
import sys

from ..errors import FastPerceptronError
from .common import EXIT_INTERRUPTED, EXIT_USAGE, CLIError, cli_words
from .parser import build_parser

__all__ = ["main", "run", "build_parser"]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `fastperceptron predict ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, FastPerceptronError, ValueError, TypeError, OSError, MemoryError, EOFError, RuntimeError,
            ImportError) as exc:
        print(f"fastperceptron: error: {cli_words(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fastperceptron: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, with how to see more
        if os.environ.get("FASTPERCEPTRON_DEBUG"):
            raise
        print(f"fastperceptron: error: unexpected {type(exc).__name__}: {exc} (a bug of fastperceptron: rerun with "
              "FASTPERCEPTRON_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 1


def run() -> None:
    """Entry point of the console script."""
    sys.exit(main())
