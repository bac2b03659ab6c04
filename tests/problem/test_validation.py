"""Bad inputs get an error that names the argument, the problem and the fix."""

import numpy as np
import pytest

import fastperceptron as fp

X, Y = fp.datasets.seed()


def train(**kw):
    args = dict(X=X, y=Y, iterations=5, backend="numpy")
    args.update(kw)
    return fp.train(args.pop("X"), args.pop("y"), **args)


@pytest.mark.parametrize(
    "kw, exc, message",
    [
        (dict(X=np.where(X == 1, np.nan, X)), ValueError, r"X contains NaN or inf \(first at index \(0, 2\)\); remove or impute"),
        (dict(X=np.where(X == 1, np.inf, X)), ValueError, r"X contains NaN or inf"),
        (dict(y=np.array([0, 1, np.nan, 0])), ValueError, r"y contains NaN or inf"),
        (dict(X=X[:, :, None, None]), ValueError, r"X must be 2-D \(N, D\).*got shape \(4, 3, 1, 1\)"),
        (dict(X=np.zeros(3)), ValueError, r"X must be 2-D .* 1-D array .* X.reshape\(-1, 1\) for one feature"),
        (dict(X=np.zeros((0, 3)), y=np.zeros(0)), ValueError, r"X is empty \(shape \(0, 3\)\)"),
        (dict(X=np.zeros((4, 0))), ValueError, r"X is empty"),
        (dict(X=X.astype(complex)), TypeError, r"X is complex .* pass X.real"),
        (dict(X=np.array([["a", "b", "c"]] * 4)), TypeError, r"X must contain only numbers, got dtype <U1"),
        (dict(X=[[0, 1], [1]]), ValueError, r"X must be a rectangular array"),
        (dict(y=[0, 1, 2, 0]), ValueError, r"y must lie in \[0, 1\] .* found 2.0 at index \(2, 0\)"),
        (dict(y=[0, 1, -1, 0]), ValueError, r"y must lie in \[0, 1\]"),
        (dict(y=[0, 1, 1]), ValueError, r"y has shape \(3, 1\) but X has N = 4 samples"),
        (dict(y=np.zeros((2, 4, 1)), X=np.zeros((3, 4, 3))), ValueError,
         r"inconsistent number of models B: X \(axis 0 of a 3-D X\) says 3, y .* says 2"),
        (dict(seeds=[1, 2], models=3), ValueError, r"inconsistent number of models B: seeds says 2, models says 3"),
        (dict(learning_rate=[0.1, 0.2], models=3), ValueError, r"learning_rate \(its length\) says 2"),
        (dict(learning_rate=-1.0), ValueError, r"learning_rate must be >= 0"),
        (dict(learning_rate=np.nan), ValueError, r"learning_rate contains NaN"),
        (dict(learning_rate=np.ones((2, 2))), ValueError, r"learning_rate must be a scalar or 1-D"),
        (dict(sample_weight=[1, 1, -1, 1]), ValueError, r"sample_weight must be >= 0"),
        (dict(sample_weight=[1, 1, 1]), ValueError, r"sample_weight has shape \(3,\) but X has N = 4"),
        (dict(sample_weight=[[1, 1, 1, 1], [0, 0, 0, 0]]), ValueError, r"sample_weight of model 1 sums to 0"),
        (dict(initial_weights=np.zeros((2, 1))), ValueError, r"initial_weights has shape \(2, 1\) but the data need \(D, K\) = \(3, 1\)"),
        (dict(initial_weights=np.full((3, 1), np.inf)), ValueError, r"initial_weights contains NaN or inf"),
        (dict(seeds=[-1]), ValueError, r"seeds must be non-negative integers"),
        (dict(seeds=[0.5]), ValueError, r"seeds must be a non-empty 1-D sequence of integers"),
        (dict(seeds=[]), ValueError, r"seeds must be a non-empty"),
        (dict(seeds=[2**32], init="legacy"), ValueError, r"init='legacy' needs seeds below 2\*\*32"),
        (dict(models=0), ValueError, r"models must be >= 1, got 0"),
        (dict(models=2.5), TypeError, r"models must be an integer, got 2.5"),
        (dict(iterations=-1), ValueError, r"iterations must be >= 0, got -1"),
        (dict(iterations=2e4), TypeError, r"iterations must be an integer, got 20000.0"),
        (dict(iterations=True), TypeError, r"iterations must be an integer, got True"),
        (dict(rule="hebb"), ValueError, r"rule must be one of \('seed', 'logistic'\), got 'hebb'"),
        (dict(init="zeros"), ValueError, r"init must be one of \('uniform', 'legacy'\), got 'zeros'"),
        (dict(dtype="float16"), ValueError, r"dtype must be 'float64' or 'float32', got 'float16'"),
        (dict(dtype="banana"), ValueError, r"dtype must be 'float64' or 'float32'"),
        (dict(bias="yes"), TypeError, r"bias must be True or False"),
        (dict(tol=0), ValueError, r"tol must be a positive finite number or None, got 0"),
        (dict(record_every=0), ValueError, r"record_every must be >= 1"),
        (dict(chunk_iterations=0), ValueError, r"chunk_iterations must be a positive integer"),
        (dict(backend="tpu"), ValueError, r"unknown backend 'tpu'; choose one of 'auto', 'numpy', 'numba', 'cupy', 'cuda'"),
        (dict(X=X * 1e39, dtype="float32"), ValueError, r"X contains NaN or inf .* too large for float32; use dtype='float64'"),
    ],
)
def test_bad_input(kw, exc, message):
    with pytest.raises(exc, match=message):
        train(**kw)


def test_numeric_inputs_of_any_dtype_are_accepted():
    a = train(X=X.astype(int), y=Y.astype(bool), seeds=np.array([3], dtype=np.uint8))
    b = train(X=X.tolist(), y=Y.tolist(), seeds=[3])
    np.testing.assert_array_equal(a.weights, b.weights)


def test_b_comes_from_any_argument_that_carries_it():
    assert len(train(learning_rate=[0.1, 0.2, 0.3])) == 3
    assert len(train(sample_weight=np.ones((4, 4)))) == 4
    assert len(train(initial_weights=np.zeros((5, 3, 1)))) == 5
    assert len(train(y=np.zeros((6, 4)))) == 6  # (B, N): one target vector per model
    assert len(train(X=np.zeros((2, 4, 3)))) == 2
    r = train(models=7)
    assert r.seeds.tolist() == list(range(7))
    assert len(train()) == 1 and train().seeds.tolist() == [0]


def test_y_shapes():
    assert train(y=Y[:, None]).weights.shape == (1, 3, 1)
    assert train(y=np.stack([Y, 1 - Y], axis=1)).weights.shape == (1, 3, 2)
    assert train(y=np.zeros((3, 4, 2))).weights.shape == (3, 3, 2)


def test_predict_bad_input():
    r = train()
    with pytest.raises(ValueError, match=r"X must be \(M, 3\).*got shape \(1, 2\)"):
        r.predict_proba([1, 0])
    with pytest.raises(ValueError, match=r"X contains NaN"):
        r.predict_proba([1, np.nan, 0])
    with pytest.raises(ValueError, match=r"one input set per model: B = 1, got 2"):
        r.predict_proba(np.zeros((2, 4, 3)))


def test_predict_shapes():
    r = train(models=5)
    assert r.predict_proba(X).shape == (5, 4, 1)
    assert r.predict_proba([1, 0, 0]).shape == (5, 1, 1)
    assert r.ensemble_proba(X).shape == (4, 1)
    assert r.predict(X).dtype == np.int8
    np.testing.assert_allclose(r.ensemble_proba(X), r.predict_proba(X).mean(axis=0))
