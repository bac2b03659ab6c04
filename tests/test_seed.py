"""SPEC §1: the tutorial's figures, exactly, through the API."""

import numpy as np
import pytest

import fastperceptron as fp
from reference import SEED_X, SEED_Y, train_one

# The reference figures of SPEC §1 (float64, numpy 2.x), copied as literals.
INITIAL = [-0.16595599, 0.44064899, -0.99977125]
FIRST_OUTPUTS = [0.2689864, 0.3262757, 0.23762817, 0.36375058]
TRAINED = [10.38040701, -0.20641179, -4.98452047]
LAST_OUTPUTS = [0.00679672, 0.99445583, 0.99548516, 0.00553614]
NEW_SITUATION = 0.99996897


def close8(actual, expected):
    """Equal to the 8 decimals the SPEC prints."""
    np.testing.assert_allclose(np.ravel(actual), expected, rtol=0, atol=5e-9)


def test_seed_data_ships_with_package():
    X, y = fp.datasets.seed()
    np.testing.assert_array_equal(X, SEED_X)
    np.testing.assert_array_equal(y, SEED_Y)


def test_legacy_init_is_the_tutorials_bits():
    np.random.seed(1)
    expected = 2 * np.random.random((3, 1)) - 1
    np.testing.assert_array_equal(fp.init.legacy([1], 3)[0], expected)
    close8(expected, INITIAL)


def test_spec_figures(seed_data, backend):
    X, y = seed_data
    start = fp.train(X, y, seeds=[1], init="legacy", iterations=0, backend=backend)
    close8(start.weights, INITIAL)
    close8(start.predict_proba(X), FIRST_OUTPUTS)
    before_last = fp.train(X, y, seeds=[1], init="legacy", iterations=19_999, backend=backend)
    close8(before_last.predict_proba(X), LAST_OUTPUTS)
    r = fp.train(X, y, seeds=[1], init="legacy", backend=backend)
    close8(r.weights, TRAINED)
    close8(r.predict_proba([1, 0, 0]), [NEW_SITUATION])
    assert r.iterations.tolist() == [20_000]
    assert r.complete and r.backend == backend


def test_seed_parity_with_reference_1e12(seed_data, backend):
    X, y = seed_data
    W_ref, _, _ = train_one(X, y, fp.init.legacy([1], 3)[0], iterations=20_000)
    r = fp.train(X, y, seeds=[1], init="legacy", backend=backend)
    np.testing.assert_allclose(r.weights[0], W_ref, rtol=1e-12)


def test_seed_inside_a_large_batch(seed_data, backend):
    """Model with seed 1 gives the tutorial's weights wherever it sits in a batch of 10,000."""
    X, y = seed_data
    seeds = np.arange(10_000)
    r = fp.train(X, y, seeds=seeds, init="legacy", iterations=20_000, backend=backend)
    alone = fp.train(X, y, seeds=[1], init="legacy", backend=backend)
    np.testing.assert_allclose(r.weights[1], alone.weights[0], rtol=1e-12)
    close8(r.weights[1], TRAINED)
    # Every model solves the problem: the ensemble answers the new situation with ~1.
    assert r.ensemble_proba([1, 0, 0])[0, 0] > 0.999


def test_float32_within_spec(seed_data, backend):
    X, y = seed_data
    r = fp.train(X, y, seeds=[1], init="legacy", dtype="float32", backend=backend)
    assert r.weights.dtype == np.float32 and r.dtype == "float32"
    np.testing.assert_allclose(r.weights[0, :, 0], TRAINED, rtol=1e-4)
    np.testing.assert_allclose(r.predict_proba([1, 0, 0])[0, 0, 0], NEW_SITUATION, atol=1e-5)


@pytest.mark.parametrize("rule", ["seed", "logistic"])
def test_trained_models_answer_the_new_situation(seed_data, rule):
    X, y = seed_data
    r = fp.train(X, y, models=50, iterations=2_000, rule=rule, backend="numpy")
    p = r.predict_proba([1, 0, 0])[:, 0, 0]
    assert (p > 0.95).all()
    assert (r.predict(X)[:, :, 0] == y.astype(int)).all()


def tutorial_script():
    """The tutorial's code, as written in the video (seed-transcript), returning its final weights."""

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def sigmoid_derivative(x):
        return x * (1 - x)

    training_inputs = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]])
    training_outputs = np.array([[0, 1, 1, 0]]).T
    state = np.random.get_state()
    np.random.seed(1)
    synaptic_weights = 2 * np.random.random((3, 1)) - 1
    np.random.set_state(state)
    for _ in range(20_000):
        outputs = sigmoid(np.dot(training_inputs, synaptic_weights))
        adjustments = (training_outputs - outputs) * sigmoid_derivative(outputs)
        synaptic_weights += np.dot(training_inputs.T, adjustments)
    return synaptic_weights, outputs


def test_numpy_backend_is_the_tutorial_bit_for_bit(seed_data):
    """Same operations in the same order: one model gives the tutorial's exact bits."""
    X, y = seed_data
    weights, _ = tutorial_script()
    r = fp.train(X, y, seeds=[1], init="legacy", backend="numpy")
    np.testing.assert_array_equal(r.weights[0], weights)
    close8(weights, TRAINED)


def test_every_backend_matches_the_tutorial_script(seed_data, backend):
    X, y = seed_data
    weights, outputs = tutorial_script()
    close8(outputs, LAST_OUTPUTS)
    r = fp.train(X, y, seeds=np.arange(100), init="legacy", backend=backend)
    np.testing.assert_allclose(r.weights[1], weights, rtol=1e-12)
