"""Bootstrap resamples as sample weights (SPEC §2): integer counts, no data copied.

``bootstrap_weights(n_samples, seeds)`` gives one row of counts per model: how many times each
sample was drawn. Pass it as ``sample_weight`` to :func:`fastperceptron.train`, and B models train
on B bootstrap resamples of one shared dataset at once. Row b depends only on ``seeds[b]`` (a
counter-based generator, as for the initial weights, on a stream of its own): the same seed gives
the same resample whatever the batch.
"""

from __future__ import annotations

import numbers

import numpy as np

from .init import counter_uniform

__all__ = ["bootstrap_weights"]

_BOOTSTRAP_STREAM = 1


def bootstrap_weights(n_samples: int, seeds, max_samples=None) -> np.ndarray:
    """Counts of ``max_samples`` draws with replacement from ``n_samples`` samples, one row per seed.

    Parameters
    ----------
    n_samples : the dataset's N.
    seeds : B non-negative ints.
    max_samples : draws per model: None (N, the classic bootstrap), an int, or a float in (0, 1]
        (that fraction of N, at least 1).

    Returns an int64 array (B, N) whose rows sum to the number of draws.

    >>> bootstrap_weights(5, [0, 1]).sum(axis=1).tolist()
    [5, 5]
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if max_samples is None:
        draws = n_samples
    elif isinstance(max_samples, numbers.Integral) and not isinstance(max_samples, bool):
        if max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {max_samples}")
        draws = int(max_samples)
    elif isinstance(max_samples, numbers.Real) and 0 < max_samples <= 1:
        draws = max(1, round(max_samples * n_samples))
    else:
        raise ValueError(f"max_samples must be None, a positive int or a float in (0, 1], got {max_samples!r}")
    u = counter_uniform(seeds, draws, stream=_BOOTSTRAP_STREAM)  # (B, draws)
    index = np.minimum((u * n_samples).astype(np.int64), n_samples - 1)
    B = len(u)
    flat = (index + (np.arange(B, dtype=np.int64) * n_samples)[:, None]).ravel()
    return np.bincount(flat, minlength=B * n_samples).reshape(B, n_samples)
