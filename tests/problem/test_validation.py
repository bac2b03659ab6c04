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


@pytest.mark.parametrize("name, value, shown", [
    ("X", "X", "X"), ("y", None, "y"), ("sample_weight", "sw", "sample_weight"), ("learning_rate", 1e39, "learning_rate"),
    ("initial_weights", "W0", "initial_weights"), ("l2", 1e39, "l2")])
def test_values_too_large_for_float32_are_named_word_for_word(name, value, shown):
    """Each argument cast to float32 is checked under its own name, without numpy's overflow warning."""
    import warnings

    from fastperceptron.problem import make_problem

    Xb, y, sw, W0 = X.copy(), Y.astype(float).copy(), np.ones(4), np.zeros((3, 1))
    kwargs = dict(dtype="float32", iterations=1)
    if name == "X":
        Xb[1, 2] = 1e39
    elif name == "y":
        pytest.skip("targets are checked to lie in [0, 1] before the cast")
    elif name == "sample_weight":
        sw[3] = 1e39
    elif name == "initial_weights":
        W0[2, 0] = -1e39
    else:
        kwargs[name] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError) as info:
            make_problem(Xb, y, sample_weight=sw, initial_weights=W0, **kwargs)
    where = {"X": "(1, 2)", "sample_weight": "(3,)", "initial_weights": "(0, 2, 0)", "learning_rate": "(0,)",
             "l2": "(0,)"}[name]
    assert str(info.value) == (f"{shown} contains NaN or inf (first at index {where}); the values are too large for "
                               "float32; use dtype='float64'")


def test_seeds_below_two_to_the_63():
    from fastperceptron.problem import make_problem

    make_problem(X, Y, seeds=np.array([2**63 - 1], dtype=np.uint64))
    with pytest.raises(ValueError) as info:
        make_problem(X, Y, seeds=np.array([2**63], dtype=np.uint64))
    assert str(info.value) == "seeds must be below 2**63"


def test_a_group_whose_weights_sum_to_zero_is_named_even_the_last():
    from fastperceptron.problem import make_problem

    g = np.array([1, 2, 2, 3])
    make_problem(X, Y, groups=g, sample_weight=np.array([0.5, 0.0, 0.25, 0.75]))  # positive sums below 1 are fine
    with pytest.raises(ValueError) as info:
        make_problem(X, Y, groups=g, sample_weight=np.array([1.0, 1.0, 1.0, 0.0]))
    assert str(info.value) == ("sample_weight of group 3 sums to 0: every group needs at least one row with positive "
                               "weight (drop the group's rows, or give them weight)")
    with pytest.raises(ValueError) as info:
        make_problem(X, Y, sample_weight=np.array([[1.0, 0, 0, 0], [0, 0, 0, 0]]))
    assert str(info.value) == "sample_weight of model 1 sums to 0: every model needs at least one sample with positive weight"


def test_auto_picks_lbfgs_for_an_ensemble_of_two_on_one_table_past_16_parameters():
    from fastperceptron.problem import make_problem

    rng = np.random.default_rng(0)
    Xw, y = rng.normal(size=(30, 20)), (rng.random(30) < 0.5).astype(float)
    assert make_problem(Xw, y, solver="auto", models=2).solver == "lbfgs"
    assert make_problem(Xw, y, solver="auto", models=1).solver == "newton"
    assert make_problem(Xw[:, :10], y, solver="auto", models=2).solver == "newton"


def test_legacy_init_with_several_outputs_is_the_tutorials_draw():
    r = fp.train(X, np.column_stack([Y, 1 - Y]), seeds=[1, 7], init="legacy", iterations=0, backend="numpy")
    for b, s in enumerate((1, 7)):
        np.random.seed(s)
        np.testing.assert_array_equal(r.weights[b], 2 * np.random.random((3, 2)) - 1)


@pytest.mark.parametrize("solver", ["gd", "newton"])
def test_initial_weights_are_on_the_users_columns_with_standardize(solver):
    """With standardize=True the given weights are the raw columns' (mapped in and folded back out):
    after no iteration they come back unchanged."""
    rng = np.random.default_rng(1)
    Xr = rng.normal(size=(40, 3)) * [1e4, 1.0, 1e-3] + [5e4, 2.0, 0.0]
    y = (rng.random(40) < 0.5).astype(float)
    W0 = np.array([[[1e-4], [0.5], [-200.0]]])
    r = fp.train(Xr, y, initial_weights=W0, standardize=True, iterations=0, solver=solver, backend="numpy")
    np.testing.assert_allclose(r.weights, W0, rtol=1e-12)


@pytest.mark.parametrize("value", [True, 0, -2, 1.5, "4"])
def test_threads_and_chunks_are_positive_integers(value):
    for name in ("threads", "chunk_iterations"):
        with pytest.raises(ValueError) as info:
            train(**{name: value})
        assert str(info.value) == f"{name} must be a positive integer or None, got {value!r}"


WORD_FOR_WORD = [
    (dict(X=np.zeros(3)), ValueError, "X must be 2-D (N, D) or 3-D (B, N, D), got a 1-D array of shape (3,); use "
     "X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"),
    (dict(X=X[:, :, None, None]), ValueError, "X must be 2-D (N, D), shared by all models, or 3-D (B, N, D), one "
     "dataset per model; got shape (4, 3, 1, 1)"),
    (dict(X=np.where(X == 1, np.nan, X)), ValueError, "X contains NaN or inf (first at index (0, 2)); remove or impute "
     "those values first"),
    (dict(X=np.array([["a"] * 3] * 4)), TypeError, "X must contain only numbers, got dtype <U1; convert it first, e.g. "
     "np.asarray(X, dtype=float)"),
    (dict(y=np.zeros((1, 1, 4, 1, 1))), ValueError, "y must be (N,), (N, K), (B, N) or (B, N, K); got shape "
     "(1, 1, 4, 1, 1)"),
    (dict(y=np.array([0, 1, np.nan, 0])), ValueError, "y contains NaN or inf (first at index (2, 0)); targets must be "
     "numbers in [0, 1]"),
    (dict(sample_weight=np.array([1, np.nan, 1, 1])), ValueError, "sample_weight contains NaN or inf (first at index "
     "(1,)); sample weights must be finite numbers >= 0"),
    (dict(sample_weight=np.ones((1, 1, 4))), ValueError, "sample_weight must be (N,) shared by all models or (B, N); "
     "got shape (1, 1, 4)"),
    (dict(sample_weight=np.ones((2, 4)), groups=[1, 1, 2, 2]), ValueError, "sample_weight must be (N,), one weight per "
     "row; got shape (2, 4)"),
    (dict(sample_weight=np.array([1, -1, 1, 1])), ValueError, "sample_weight must be >= 0 (0/1 masks, counts, or other "
     "non-negative weights)"),
    (dict(learning_rate=[]), ValueError, "learning_rate is empty; give a scalar or one value per model"),
    (dict(learning_rate=np.inf), ValueError, "learning_rate contains NaN or inf (first at index (0,)); learning rates "
     "must be finite"),
    (dict(l2=np.ones((2, 2))), ValueError, "l2 must be a scalar or 1-D (B,), one penalty per model; got shape (2, 2)"),
    (dict(l2=[]), ValueError, "l2 must be a scalar or 1-D (B,), one penalty per model; got shape (0,)"),
    (dict(l2=np.nan), ValueError, "l2 contains NaN or inf (first at index (0,)); the L2 penalty must be a finite number "
     ">= 0"),
    (dict(initial_weights=np.zeros(3)), ValueError, "initial_weights must be (D, K) for all models or (B, D, K); got "
     "shape (3,)"),
    (dict(initial_weights=np.full((3, 1), np.nan)), ValueError, "initial_weights contains NaN or inf (first at index "
     "(0, 0)); initial weights must be finite"),
    (dict(seeds=[0.5]), ValueError, "seeds must be a non-empty 1-D sequence of integers, got array([0.5])"),
    (dict(seeds=[]), ValueError, "seeds must be a non-empty 1-D sequence of integers, got array([], dtype=float64)"),
    (dict(seeds=[-1]), ValueError, "seeds must be non-negative integers, got -1"),
    (dict(learning_rate=0.5, solver="newton"), ValueError, "learning_rate is the step of solver='gd'; solver='newton' "
     "chooses its own steps by a line search: leave learning_rate out"),
    (dict(tol=True), ValueError, "tol must be a positive finite number or None, got True"),
    (dict(tol=np.nan), ValueError, "tol must be a positive finite number or None, got nan"),
    (dict(tol="1e-3"), ValueError, "tol must be a positive finite number or None, got '1e-3'"),
    (dict(models=3, seeds=[1, 2]), ValueError, "inconsistent number of models B: seeds says 2, models says 3; all of "
     "them must agree"),
]


@pytest.mark.parametrize("kw, exc, message", WORD_FOR_WORD, ids=[str(i) for i in range(len(WORD_FOR_WORD))])
def test_argument_errors_word_for_word(kw, exc, message):
    from fastperceptron.problem import make_problem

    args = dict(X=X, y=Y)
    args.update(kw)
    with pytest.raises(exc) as info:
        make_problem(args.pop("X"), args.pop("y"), **args)
    assert str(info.value) == message


def test_each_solver_gets_its_default_rule():
    from fastperceptron.problem import make_problem

    assert make_problem(X, Y).rule == "seed"
    for solver in ("newton", "lbfgs", "auto"):
        assert make_problem(X, Y, solver=solver).rule == "logistic"
