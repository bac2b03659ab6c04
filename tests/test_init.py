"""SPEC §3: initial weights."""

import numpy as np

import fastperceptron as fp


def test_uniform_depends_only_on_seed_and_index():
    big = fp.init.uniform(np.arange(20_000), 3, 1)
    np.testing.assert_array_equal(fp.init.uniform([997], 3, 1)[0], big[997])
    np.testing.assert_array_equal(fp.init.uniform([5, 997, 5], 3, 1)[1], big[997])
    # A weight's value depends on its index d*K + k: (D, K) = (3, 2) extends (3, 1)'s stream.
    wide = fp.init.uniform([997], 3, 2)[0].reshape(-1)
    np.testing.assert_array_equal(wide[:3], big[997].reshape(-1))


def test_uniform_through_train_whatever_the_batch(seed_data):
    X, y = seed_data
    many = fp.train(X, y, models=20_000, iterations=0, backend="numpy")
    one = fp.train(X, y, seeds=[997], iterations=0, backend="numpy")
    np.testing.assert_array_equal(one.weights[0], many.weights[997])


def test_uniform_is_uniform_in_half_open_interval():
    w = fp.init.uniform(np.arange(200_000), 5, 1).ravel()
    assert w.min() >= -1 and w.max() < 1
    counts, _ = np.histogram(w, bins=10, range=(-1, 1))
    assert np.abs(counts / len(w) - 0.1).max() < 0.003  # 10 equal bins, ~1e6 draws
    assert abs(np.corrcoef(w[:-1], w[1:])[0, 1]) < 0.005
    assert len(np.unique(w)) == len(w)


def test_uniform_float32_stays_below_one():
    w = fp.init.uniform(np.arange(10**6), 3, 1, dtype=np.float32)
    assert w.dtype == np.float32 and w.max() < 1 and w.min() >= -1
    w64 = fp.init.uniform(np.arange(10**6), 3, 1)
    assert np.abs(w - w64).max() <= 2**-24


def test_different_seeds_differ():
    w = fp.init.uniform([0, 1, 2, 2**62], 3, 1)
    assert len({tuple(r.ravel()) for r in w}) == 4


def test_legacy_leaves_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    fp.init.legacy([1, 2, 3], 3, 1)
    assert np.random.random() == expected


def test_legacy_matches_np_random_seed():
    for s in (0, 1, 42, 2**32 - 1):
        np.random.seed(s)
        np.testing.assert_array_equal(fp.init.legacy([s], 4, 2)[0], 2 * np.random.random((4, 2)) - 1)


def test_uniform_values_are_pinned():
    """The default init is part of the contract: a change would alter every user's results."""
    expected = [
        [0.14897279531145524, 0.6973373736496173, -0.04629992621897916],
        [-0.7487251127334629, 0.4419834245245047, -0.8318753205761202],
        [0.3834522258685269, -0.15915079836329293, 0.7217492057106638],
    ]
    np.testing.assert_array_equal(fp.init.uniform([0, 1, 2**40], 3, 1)[:, :, 0], expected)
