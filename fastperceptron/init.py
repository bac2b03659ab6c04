"""Initial weights: the fast counter-based ``uniform`` default and the tutorial's ``legacy`` numbers.

Both are computed on the host with numpy (float64), so every backend starts from the same bits.

``uniform``: weight ``j = d*K + k`` of the model with seed ``s`` is

    key = splitmix64(s + STREAM)
    u   = top 53 bits of splitmix64(key + (j + 1) * GOLDEN) / 2**53        in [0, 1)
    w   = 2u - 1                                                          in [-1, 1)

a pure function of ``(s, j)``: a model's start depends only on its seed (and D, K), never on the
batch size, the other models or the chunking. It is vectorized over the whole batch (about 20 ns a
weight).

``legacy``: ``np.random.seed(s); 2 * np.random.random((D, K)) - 1`` exactly as in the tutorial, one
model at a time (a few microseconds each), without touching numpy's global random state.
"""

from __future__ import annotations

import numpy as np

__all__ = ["uniform", "legacy", "counter_uniform", "METHODS"]

METHODS = ("uniform", "legacy")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = np.uint64(0x6A09E667F3BCC909)  # separates the key derivation from the counters
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finalizer on a uint64 array (wraps modulo 2**64, as intended)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _as_seed_array(seeds) -> np.ndarray:
    seeds = np.asarray(seeds)
    if seeds.ndim != 1 or seeds.dtype.kind not in "iu":
        raise ValueError("seeds must be a 1-D array of non-negative integers")
    if seeds.size and seeds.dtype.kind == "i" and seeds.min() < 0:
        raise ValueError("seeds must be non-negative integers")
    return seeds.astype(np.uint64)


def counter_uniform(seeds, n: int, stream: int = 0) -> np.ndarray:
    """(B, n) floats uniform in [0, 1): value j of row b is a pure function of (seeds[b], j, stream).

    The generator behind ``uniform`` (stream 0) and ``fastperceptron.resample`` (other streams).
    """
    offset = np.uint64((stream * int(_M2)) % 2**64)  # Python ints: a numpy scalar product would warn on wrap
    keys = _splitmix64(_as_seed_array(seeds) + _STREAM + offset)
    counters = np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN
    bits = _splitmix64(keys[:, None] + counters[None, :]) >> np.uint64(11)
    return bits.astype(np.float64) * 2.0**-53  # exact: 53-bit integers times a power of two


def uniform(seeds, n_features: int, n_outputs: int = 1, dtype=np.float64) -> np.ndarray:
    """Weights uniform in [-1, 1), shape (B, n_features, n_outputs), from a counter-based generator.

    >>> uniform([997], 3)[0, :, 0].round(6).tolist() == uniform(range(1000), 3)[997, :, 0].round(6).tolist()
    True
    """
    u = counter_uniform(seeds, n_features * n_outputs)
    w = (2.0 * u - 1.0).reshape(len(u), n_features, n_outputs)
    if np.dtype(dtype) == np.float32:
        # Rounding to float32 can turn values just below 1 into 1.0: keep the interval half-open.
        w = np.minimum(w.astype(np.float32), np.nextafter(np.float32(1), np.float32(0)))
    return w


def legacy(seeds, n_features: int, n_outputs: int = 1) -> np.ndarray:
    """The tutorial's weights, ``np.random.seed(s); 2 * np.random.random((D, K)) - 1``, for each seed.

    Seeds must be below 2**32 (numpy's legacy seeding). Returns float64 of shape (B, D, K).

    >>> legacy([1], 3)[0, :, 0].round(8).tolist()
    [-0.16595599, 0.44064899, -0.99977125]
    """
    seeds = _as_seed_array(seeds)
    if seeds.size and seeds.max() >= 2**32:
        raise ValueError("init='legacy' needs seeds below 2**32 (numpy's np.random.seed); use init='uniform'")
    out = np.empty((len(seeds), n_features, n_outputs))
    for b, s in enumerate(seeds.tolist()):
        out[b] = 2 * np.random.RandomState(s).random_sample((n_features, n_outputs)) - 1
    return out
