"""Benchmarks (an edge: the public API and the planner's estimates; nothing below imports them):
``fastperceptron bench``'s sweeps and grid (:mod:`.sweep`), the groups case (:mod:`.groups`), and
the peers timed beside the backends — JAX and PyTorch, ``pip install 'fastperceptron[peers]'``
(:mod:`.peers`)."""
