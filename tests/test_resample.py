"""fp.bootstrap_weights: bootstrap resamples as integer sample weights."""

import numpy as np
import pytest

import fastperceptron as fp


def test_counts_sum_to_the_draws():
    w = fp.bootstrap_weights(50, np.arange(200))
    assert w.shape == (200, 50) and w.dtype == np.int64 and (w >= 0).all()
    assert (w.sum(axis=1) == 50).all()
    assert (fp.bootstrap_weights(50, [1, 2], max_samples=10).sum(axis=1) == 10).all()
    assert (fp.bootstrap_weights(50, [1, 2], max_samples=0.5).sum(axis=1) == 25).all()


def test_a_row_depends_only_on_its_seed():
    big = fp.bootstrap_weights(30, np.arange(1000))
    np.testing.assert_array_equal(fp.bootstrap_weights(30, [997])[0], big[997])
    assert len({tuple(r) for r in big[:100]}) == 100


def test_draws_are_uniform_over_samples():
    w = fp.bootstrap_weights(10, np.arange(20_000))
    freq = w.sum(axis=0) / w.sum()
    assert np.abs(freq - 0.1).max() < 0.003
    # Each sample is left out of about (1 - 1/N)^N of the resamples.
    assert abs((w == 0).mean() - 0.9**10) < 0.01


def test_bootstrap_ensemble_equals_models_trained_on_resampled_copies(seed_data):
    X, y = seed_data
    counts = fp.bootstrap_weights(4, [3, 4, 5])
    batch = fp.train(X, y, seeds=[3, 4, 5], sample_weight=counts, rule="logistic", bias=True, iterations=100,
                     backend="numpy")
    for b in range(3):
        rows = np.repeat(np.arange(4), counts[b])
        one = fp.train(X[rows], y[rows], seeds=[3 + b], rule="logistic", bias=True, iterations=100, backend="numpy")
        np.testing.assert_allclose(batch.weights[b], one.weights[0], rtol=1e-10)


@pytest.mark.parametrize("kw, message", [
    (dict(n_samples=0, seeds=[1]), "n_samples must be a positive integer"),
    (dict(n_samples=5, seeds=[-1]), "seeds must be non-negative"),
    (dict(n_samples=5, seeds=[1], max_samples=0), "max_samples must be >= 1"),
    (dict(n_samples=5, seeds=[1], max_samples=1.5), r"max_samples must be None, a positive int or a float in \(0, 1\]"),
])
def test_bad_arguments(kw, message):
    with pytest.raises(ValueError, match=message):
        fp.bootstrap_weights(**kw)
