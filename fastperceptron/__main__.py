"""``python -m fastperceptron``: the same as the ``fastperceptron`` command."""

from .cli import run

run()
