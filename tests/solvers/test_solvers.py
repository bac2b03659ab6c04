"""The second-order solvers and L2 (SPEC §7): every backend against an independent Newton written
plainly in tests/reference.py, against scikit-learn, and their errors."""


import warnings

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.backend.numba.objective import objective as numba_objective
from fastperceptron.reference.objective import DenseObjective, GroupObjective
from fastperceptron.problem import make_problem
from reference import optimum_one, optimum_raw, penalised_loss, train_one
from tolerance import FLOAT32, assert_close

SOLVERS = ("newton", "lbfgs")


def _logistic(rng, X, scale=1.5):
    w = rng.normal(size=X.shape[-1]) * scale / np.sqrt(X.shape[-1])
    return (rng.random(X.shape[:-1]) < 1 / (1 + np.exp(-(X @ w)))).astype(float)


def _cases(rng):
    """(name, train args, kwargs, [(X, y, s, l2) of each model and output]) for the three layouts."""
    N, D = 150, 4
    X = rng.normal(size=(N, D))
    Y2 = np.stack([_logistic(rng, X), _logistic(rng, X)], axis=1)
    sw = fp.bootstrap_weights(N, np.arange(3))
    l2 = np.array([0.5, 1.0, 2.0])
    shared = [(X, Y2[:, k], sw[b], l2[b]) for b in range(3) for k in range(2)]
    Xb = rng.normal(size=(3, 80, D))
    yb = _logistic(rng, Xb)
    sb = rng.random((3, 80)) + 0.5
    per_model = [(Xb[b], yb[b], sb[b], l2[b]) for b in range(3)]
    g = np.repeat(np.arange(4), [30, 45, 25, 50])
    yg = _logistic(rng, X)
    sg = rng.random(N) + 0.5
    grouped = [(X[g == k], yg[g == k], sg[g == k], 0.7) for k in range(4)]
    return [
        ("shared, bootstrap weights, K=2, l2 per model", (X, Y2), dict(sample_weight=sw, l2=l2), shared),
        ("per-model data and weights", (Xb, yb[..., None]), dict(sample_weight=sb, l2=l2), per_model),
        ("groups with weights", (X, yg), dict(groups=g, sample_weight=sg, l2=0.7), grouped),
    ]


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_backend_reaches_the_reference_optimum(backend, solver):
    results = {}
    for name, args, kwargs, models in _cases(np.random.default_rng(1)):
        r = fp.train(*args, solver=solver, bias=True, backend=backend, progress=False, **kwargs)
        assert r.converged.all(), name
        B, D, K = r.weights.shape
        for j, (X, y, s, lam) in enumerate(models):
            w, c = optimum_one(X, y, l2=lam, s=s)
            got_w, got_c = r.weights[j // K, :, j % K], r.bias[j // K, j % K]
            assert_close(np.r_[got_w, got_c], np.r_[w, c], 1e-8, what=str((name, j)))
        results[name] = r
    for name, args, kwargs, _ in _cases(np.random.default_rng(1)):  # and the numpy backend's, to 1e-8
        ref = fp.train(*args, solver=solver, bias=True, backend="numpy", progress=False, **kwargs)
        assert_close(results[name].weights, ref.weights, 1e-8, what=str(name))
        assert_close(results[name].bias, ref.bias, 1e-8, what=str(name))


def test_objectives_agree_with_the_numpy_reference(rng):
    """The Numba kernels' loss, gradient and Hessian against the numpy objective, at random θ."""
    for name, args, kwargs, _ in _cases(rng):
        p = make_problem(*args, solver="newton", bias=True, **{k: v for k, v in kwargs.items() if k != "l2"})
        ref = GroupObjective(p) if p.grouped else DenseObjective(p)
        fast = numba_objective(p, threads=2)
        B, D, K = p.W0.shape
        theta = rng.normal(size=(B * K, D + 1)) * 3
        for need in ("f", "fg", "fgh"):
            for a, b in zip(fast.evaluate(theta, need), ref.evaluate(theta, need)):
                assert_close(a, b, 1e-12, what=str((name, need)))
        some = np.array([0, 2])
        rows = (some[:, None] * K + np.arange(K)).ravel()
        for a, b in zip(fast.evaluate(theta[rows], "fg", some), ref.evaluate(theta[rows], "fg", some)):
            assert_close(a, b, 1e-12, what=str((name, "subset")))
        assert_close(fast.mse(theta), ref.mse(theta), 1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_newton_step_kernel_agrees_with_the_reference_solve(rng, dtype):
    """The Numba batched Cholesky solve against numpy's solve of (H + μI)·d = g, and against the
    reference ``cholesky_solve`` on which neurons are not positive definite."""
    from fastperceptron.backend.numba.objective import cholesky_solve as kernel_solve
    from fastperceptron.solvers import cholesky_solve

    M, P = 300, 9
    A = rng.normal(size=(M, P, P))
    H = A @ A.transpose(0, 2, 1) + P * np.eye(P)
    H[:4] = -np.eye(P)         # negative definite
    H[4:8] = np.zeros((P, P))  # singular, and μ = 0 below: not positive definite
    g = rng.normal(size=(M, P))
    mu = np.where(np.arange(M) < 8, 0.0, 1e-3)
    exact = np.linalg.solve(H[8:] + 1e-3 * np.eye(P), g[8:, :, None])[..., 0]
    d, ok = kernel_solve(H.astype(dtype), g.astype(dtype), mu.astype(dtype), threads=2)
    d_ref, ok_ref = cholesky_solve(H.astype(dtype), g.astype(dtype), mu.astype(dtype))
    assert d.dtype == np.dtype(dtype)
    assert not ok[:8].any() and ok[8:].all() and (ok == ok_ref).all()
    # A solve's rounding error is normwise: an element far below the solution's size (|d| ~ 0.1 here)
    # carries the rounding of the others, hence the floor at a tenth of that size.
    tolerance = 1e-13 if dtype == "float64" else 1e-5
    assert_close(d[8:], exact, tolerance, floor=1e-2, what="kernel")
    assert_close(d_ref[8:], exact, tolerance, floor=1e-2, what="reference")


@pytest.mark.parametrize("solver", SOLVERS)
def test_equals_scikit_learn_logistic_regression(solver):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_breast_cancer, make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from fastperceptron.sklearn import PerceptronClassifier

    assert sklearn
    rng = np.random.default_rng(7)
    X1, y1 = load_breast_cancer(return_X_y=True)
    X1 = StandardScaler().fit_transform(X1)
    X2, y2 = make_classification(n_samples=600, n_features=12, n_informative=5, random_state=3)
    cases = [(X1, y1, None, 1.0), (X2, y2, rng.random(len(y2)) * 3, 0.3), (X2[:, :5], y2, None, 10.0)]
    for X, y, s, C in cases:
        ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y, sample_weight=s)
        ours = PerceptronClassifier(C=C, solver=solver).fit(X, y, sample_weight=s)
        assert ours.converged_
        assert_close(ours.coef_, ref.coef_, 1e-6)
        assert abs(ours.intercept_[0] - ref.intercept_[0]) <= 1e-6 * max(1.0, abs(ref.intercept_[0]))
        r = fp.train(X, y.astype(float), solver=solver, l2=1.0 / C, bias=True, sample_weight=s, backend="numba")
        assert_close(r.weights[0, :, 0], ref.coef_[0], 1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_separable_data_is_marked_unconverged_not_crashed(backend, solver):
    X = np.array([[-2.0, 1.0], [-1.0, 0.5], [1.0, -0.5], [2.0, 0.3]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    with pytest.warns(fp.ConvergenceWarning, match=r"1 of 2 models did not converge \(solver '\w+'; result\.stop_reason "
                                                   r"says why for each\): 1 have separable classes and no penalty, so "
                                                   r"their weights grow without bound \(no finite optimum\): set l2 > 0"):
        r = fp.train(X, y, models=2, l2=[0.0, 1.0], solver=solver, bias=True, iterations=40, backend=backend,
                     progress=False)
    assert r.converged.tolist() == [False, True]
    assert r.stop_reason.tolist() == ["separable", "converged"]
    assert np.isfinite(r.weights).all() and np.isfinite(r.bias).all()
    assert np.abs(r.weights[0]).max() > np.abs(r.weights[1]).max()  # the unpenalised one kept growing


def test_the_warning_names_models_with_one_class_only(rng):
    """With a bias, a model whose weighted targets are all one class has no optimum even with
    l2 > 0: it is recognised before iterating, given its documented finite answer, and the warning
    counts it (groups, per-model weights, shared data)."""
    from fastperceptron.problem import make_problem
    from fastperceptron.solvers.start import one_class_neurons, target_sums

    X = rng.normal(size=(12, 2))
    y = np.array([0, 1] * 6, dtype=float)
    g = np.repeat([0, 1, 2], 4)
    y_groups = y.copy()
    y_groups[4:8] = 1.0  # group 1: one class
    with pytest.warns(fp.ConvergenceWarning, match=r"1 of 3 models did not converge .*: 1 have targets of one "
                                                   r"class only \(e\.g\. a small group\), so their unpenalised bias "
                                                   r"has no finite optimum: they were not iterated"):
        r = fp.train(X, y_groups, groups=g, solver="newton", l2=1.0, bias=True, iterations=30, backend="numpy",
                     progress=False)
    assert r.stop_reason.tolist() == ["converged", "one-class", "converged"]
    assert r.iterations[1] == 0 and (r.weights[1] == 0).all()
    assert r.bias[1, 0] == pytest.approx(np.log(4.5 / 0.5))  # log((Σy + ½) / (Σ(1 − y) + ½)), 4 rows of 1

    def one_class(p):
        return one_class_neurons(p, *target_sums(p)).any(axis=1).tolist()

    sw = np.ones((3, 12))
    sw[1, y == 1] = 0  # model 1 sees only class 0
    assert one_class(make_problem(X, y, sample_weight=sw, solver="newton", l2=1.0, bias=True)) == [False, True, False]
    p = make_problem(X, np.stack([y, np.ones(12)]), solver="newton", bias=True)  # (B, N) targets
    assert one_class(p) == [False, True]
    p = make_problem(X, y_groups, groups=g, solver="newton", bias=False)
    assert not any(one_class(p))  # without a bias the weights' penalty suffices


def test_singular_hessians_stay_finite(backend):
    rng = np.random.default_rng(3)
    X = np.hstack([rng.normal(size=(60, 2)), np.ones((60, 1))])  # a constant column beside the bias
    y = _logistic(rng, X[:, :2])
    r = fp.train(X, y, solver="newton", bias=True, backend=backend, progress=False)
    assert r.converged.all() and np.isfinite(r.weights).all()
    # Only the sum of the constant column's weight and the bias is determined: it is the optimum's bias.
    w, c = optimum_one(X[:, :2], y)
    assert_close(r.weights[0, :2, 0], w, 1e-7)
    assert abs(r.weights[0, 2, 0] + r.bias[0, 0] - c) <= 1e-7
    # A group of one row: its unpenalised bias has no finite optimum; it stays finite, unconverged.
    g = np.r_[np.zeros(59, int), [1]]
    with pytest.warns(fp.ConvergenceWarning):
        r = fp.train(X[:, :2], y, groups=g, solver="newton", l2=1.0, bias=True, iterations=30, backend=backend,
                     progress=False)
    assert r.converged.tolist() == [True, False]
    assert np.isfinite(r.weights).all() and np.isfinite(r.bias).all()


def test_gd_with_l2_on_every_backend_matches_the_reference_loop(backend, rng):
    X = rng.normal(size=(30, 3))
    y = _logistic(rng, X)
    lam = np.array([0.0, 0.5, 3.0])
    W0 = rng.uniform(-1, 1, size=(3, 3, 1))
    r = fp.train(X, y, initial_weights=W0, l2=lam, rule="logistic", bias=True, learning_rate=0.02, iterations=300,
                 backend=backend, progress=False)
    for b in range(3):
        W, c, _ = train_one(X, y, W0[b], iterations=300, lr=0.02, rule="logistic", bias=True, l2=lam[b])
        assert_close(r.weights[b], W, 1e-10)
        assert_close(r.bias[b], c, 1e-10)
    assert np.abs(r.weights[2]).max() < np.abs(r.weights[0]).max()  # the penalty shrinks


def test_defaults_choice_and_float32():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 20))
    y = _logistic(rng, X)
    assert fp.train(X[:, :15], y, solver="auto", bias=True, models=3, l2=[1, 2, 3]).params["solver"] == "newton"
    assert fp.train(X[:, :16], y, solver="auto", bias=True, models=3, l2=[1, 2, 3]).params["solver"] == "lbfgs"
    assert fp.train(X, y, solver="auto", bias=True).params["solver"] == "newton"  # alone: up to 32 parameters
    X = np.hstack([X, rng.normal(size=(200, 20))])
    y = _logistic(rng, X)
    r = fp.train(X, y, solver="auto", bias=True, l2=1.0)
    assert r.params["solver"] == "lbfgs" and r.converged.all() and r.iterations.max() <= 100
    r32 = fp.train(X, y, solver="lbfgs", bias=True, l2=1.0, dtype="float32")
    assert r32.weights.dtype == np.float32 and r32.converged.all()
    # The float32 solver stops at a gradient tolerance (1e-5 on the mean loss): that bounds the error
    # of the coefficient vector, so each coefficient is held to 1e-4 of the largest one.
    assert_close(r32.weights, r.weights, FLOAT32, floor=np.abs(r.weights).max())


def test_l2_and_converged_survive_save_and_load(tmp_path):
    X, y = fp.datasets.seed()
    r = fp.train(X, y, models=2, solver="newton", l2=[0.5, 2.0], bias=True)
    path = tmp_path / "m.npz"
    r.save(path)
    back = fp.load(path)
    np.testing.assert_array_equal(back.l2, [0.5, 2.0])
    np.testing.assert_array_equal(back.converged, r.converged)
    np.testing.assert_array_equal(back.weights, r.weights)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(solver="lbfgs", rule="seed"), r"solver='lbfgs' minimises the cross-entropy.*rule='logistic'"),
        (dict(solver="newton", learning_rate=0.1), r"learning_rate is the step of solver='gd'"),
        (dict(solver="bfgs"), r"solver must be one of \('gd', 'newton', 'lbfgs', 'auto'\), got 'bfgs'"),
        (dict(solver="lbfgs", l2=-1), r"l2 must be >= 0 .* got -1.0"),
        (dict(solver="lbfgs", l2=np.nan), r"l2 contains NaN or inf"),
        (dict(models=2, l2=[1, 2, 3]), r"models says 2, l2 \(its length\) says 3"),
        (dict(solver="newton", backend="numba:lanes"), r"the 'solver' layout is for \(and only for\) solver="),
    ],
)
def test_errors_name_the_problem_and_the_fix(kwargs, message):
    X, y = fp.datasets.seed()
    with pytest.raises(ValueError, match=message):
        fp.train(X, y, **kwargs)


def test_sklearn_parameters_are_checked():
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from fastperceptron.sklearn import PerceptronClassifier

    X, y = fp.datasets.seed()
    with pytest.raises(ValueError, match=r"C must be a positive number \(the L2 penalty is 1/C\), or None"):
        PerceptronClassifier(C=0).fit(X, y)
    with pytest.raises(ValueError, match=r"learning_rate is the step of solver='gd'"):
        PerceptronClassifier(learning_rate=0.1).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"PerceptronClassifier: 1 of 1 models did not converge .*: 1 reached the "
                                                r"iteration cap of 2: raise iterations"):
        m = PerceptronClassifier(C=None, iterations=2).fit(X, y)
    assert m.converged_ is False
    assert PerceptronClassifier(solver="gd").fit(X, y).converged_ is None


def raw_table(rng, n):
    """Columns as they come: a 0/1 flag, an age, an income, a balance, a Unix time, a byte count and a
    reading of 10⁶ ± 1 (scales 1 to 10¹⁰, offsets up to 10⁶ standard deviations), targets from a
    logistic truth on the standardised columns."""
    X = np.column_stack([
        (rng.random(n) < 0.3).astype(float),
        rng.uniform(20, 80, n),
        rng.lognormal(np.log(50_000), 0.5, n),
        rng.normal(2e5, 5e4, n),
        1.7e9 + rng.uniform(0, 3e7, n),
        rng.lognormal(np.log(1e10), 0.3, n),
        1e6 + rng.normal(0, 1, n),  # 10⁶ standard deviations from 0: the solvers centre it first
    ])
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (rng.random(n) < 1 / (1 + np.exp(-(Z @ np.array([0.7, -0.5, 0.8, 0.5, 0.3, -0.4, 0.6]))))).astype(float)
    return X, y


@pytest.mark.parametrize("solver", SOLVERS + ("auto",))
def test_raw_columns_of_any_scale_reach_the_optimum(backend, solver):
    """SPEC §7, units do not matter: on raw columns of scales 1 to 10¹⁰ with offsets, every layout
    reaches the optimum of L on the user's own columns, and says converged (ISSUE 22)."""
    rng = np.random.default_rng(22)
    X, y = raw_table(rng, 600)
    sw = fp.bootstrap_weights(600, np.arange(3))
    Xb = np.stack([raw_table(rng, 300)[0] for _ in range(2)])
    yb = np.stack([raw_table(rng, 300)[1] for _ in range(2)])
    g = rng.integers(0, 3, 600)
    cases = [
        ("shared, l2 per model", (X, y), dict(sample_weight=sw, l2=[0.0, 1.0, 100.0]),
         [(X, y, sw[b], lam) for b, lam in enumerate([0.0, 1.0, 100.0])]),
        ("per-model data", (Xb, yb), dict(l2=1.0), [(Xb[b], yb[b], None, 1.0) for b in range(2)]),
        ("groups", (X, y), dict(groups=g, l2=1.0), [(X[g == k], y[g == k], None, 1.0) for k in range(3)]),
    ]
    for name, args, kwargs, models in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no ConvergenceWarning, no numpy RuntimeWarning (overflow)
            r = fp.train(*args, solver=solver, bias=True, backend=backend, progress=False, **kwargs)
        assert r.converged.all() and (r.stop_reason == "converged").all(), name
        for b, (Xm, ym, s, lam) in enumerate(models):
            w, c = optimum_raw(Xm, ym, l2=lam, s=s)
            best = penalised_loss(Xm, ym, w, c, l2=lam, s=s)
            got = penalised_loss(Xm, ym, r.weights[b, :, 0], r.bias[b, 0], l2=lam, s=s)
            assert got <= best * (1 + 1e-10), (name, b, got, best)
            z, z_ref = Xm @ r.weights[b, :, 0] + r.bias[b, 0], Xm @ w + c
            assert np.abs(z - z_ref).max() <= 1e-6 * (1 + np.abs(z_ref).max()), (name, b)


def test_raw_columns_without_bias_and_float32():
    """Without a bias the columns are scaled but not centred; float32 reaches the float64 optimum to
    its precision."""
    rng = np.random.default_rng(5)
    X, y = raw_table(rng, 500)
    X = X[:, [0, 1, 2, 3]]
    for solver in SOLVERS:
        r = fp.train(X, y, solver=solver, l2=1.0, progress=False)
        w, _ = optimum_raw(X, y, l2=1.0, bias=False)
        assert r.converged.all() and r.bias is None
        assert penalised_loss(X, y, r.weights[0, :, 0], 0.0, l2=1.0) <= penalised_loss(X, y, w, 0.0, l2=1.0) * (1 + 1e-10)
        r32 = fp.train(X, y, solver=solver, l2=1.0, bias=True, dtype="float32", progress=False)
        w, c = optimum_raw(X, y, l2=1.0)
        assert r32.converged.all()
        z, z_ref = X @ r32.weights[0, :, 0].astype(float) + r32.bias[0, 0], X @ w + c
        assert np.abs(z - z_ref).max() <= 1e-3 * (1 + np.abs(z_ref).max())


def test_solvers_start_from_zero_not_from_the_seeds():
    """The random initial weights of SPEC §3 are for "gd": the solvers start every model at zero
    weights and the targets' log-odds, so seeds and init change nothing; explicit initial weights
    are a warm start."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    y = _logistic(rng, X)
    a = fp.train(X, y, seeds=[0], solver="newton", bias=True, progress=False)
    b = fp.train(X, y, seeds=[12345], init="legacy", solver="newton", bias=True, progress=False)
    np.testing.assert_array_equal(a.weights, b.weights)
    warm = fp.train(X, y, solver="newton", bias=True, initial_weights=a.weights[0], progress=False)
    assert warm.iterations[0] < a.iterations[0]
    assert_close(warm.weights, a.weights, 1e-8)


def test_the_unconverged_message_word_for_word():
    """Every cause with its count and fix, the line-search iterations (three, then "..."), in the
    order of STOP_REASONS; None when every model converged."""
    from fastperceptron.solvers.outcome import unconverged_message

    reasons = np.array(["converged", "iterations", "line-search", "line-search", "line-search", "line-search",
                        "one-class", "separable", "interrupted"])
    iterations = np.array([5, 100, 7, 9, 12, 40, 0, 61, 3])
    assert unconverged_message(reasons, iterations, "newton", 1_000) == (
        "8 of 9 models did not converge (solver 'newton'; result.stop_reason says why for each): "
        "1 reached the iteration cap of 1,000: raise iterations; "
        "4 stopped when no step of the line search lowered the loss further (at iteration 7, 9, 12, ...): "
        "use solver='lbfgs', or scale the features (standardize=True); "
        "1 have targets of one class only (e.g. a small group), so their unpenalised bias has no finite optimum: "
        "they were not iterated, and got weights 0 and the bias log((Σs·y + ½)/(Σs·(1 − y) + ½)); train without "
        "bias, or drop them; "
        "1 have separable classes and no penalty, so their weights grow without bound (no finite optimum): set "
        "l2 > 0 (a finite C in the scikit-learn estimators); "
        "1 were interrupted")
    three = unconverged_message(np.array(["line-search"] * 3), np.array([4, 2, 4]), "lbfgs", 10)
    assert three == ("3 of 3 models did not converge (solver 'lbfgs'; result.stop_reason says why for each): 3 stopped "
                     "when no step of the line search lowered the loss further (at iteration 2, 4): use "
                     "solver='newton', or scale the features (standardize=True)")
    assert unconverged_message(np.array(["converged"] * 2), np.array([3, 4]), "lbfgs", 10) is None


def test_many_small_raw_scaled_groups_converge_to_their_optimum():
    """Groups of 5 rows, six raw columns of scales 1 to 10⁷ with offsets, l2 = 1: five rows cannot pin
    seven parameters, and λ/σ² = 10⁻¹⁴ leaves directions of curvature ~0. On numpy and numba every
    two-class group converges, within 1e-7 (relative; 1e-12 absolute for the losses near 0 of
    well-separated groups) of the optimum an independent BFGS in standardised coordinates reaches."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    G, n = 300, 5
    scales = np.array([1, 10, 1e3, 1e5, 1e6, 1e7])
    offsets = np.array([0, 5, 1e4, -3e5, 2e7, 1e9])
    X = rng.normal(size=(G * n, 6)) * scales + offsets
    g = rng.permutation(np.repeat(np.arange(G), n))
    y = (rng.random(G * n) < 1 / (1 + np.exp(-((X - offsets) @ (rng.normal(size=6) / scales))))).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fp.ConvergenceWarning)  # the one-class groups
        fits = [fp.train(X, y, groups=g, solver="newton", l2=1.0, bias=True, backend=b) for b in ("numpy", "numba")]
    two_class = np.array([0 < y[g == label].sum() < n for label in fits[0].groups])
    for r in fits:
        assert (r.stop_reason[two_class] == "converged").all()
        assert (r.stop_reason[~two_class] == "one-class").all()
    for k in np.flatnonzero(two_class):
        rows = g == fits[0].groups[k]
        Xg, yg = X[rows], y[rows]
        mu, sd = Xg.mean(axis=0), Xg.std(axis=0)

        def objective(p, Xg=Xg, yg=yg, mu=mu, sd=sd):  # p: the model on standardised columns
            w = p[:-1] / sd
            return penalised_loss(Xg, yg, w, p[-1] - mu @ w, l2=1.0)

        w0, c0 = fits[0].weights[k, :, 0], fits[0].bias[k, 0]
        best = minimize(objective, np.r_[w0 * sd, c0 + mu @ w0], method="BFGS",
                        options=dict(gtol=1e-14, maxiter=2000)).fun
        for r in fits:
            ours = penalised_loss(Xg, yg, r.weights[k, :, 0], r.bias[k, 0], l2=1.0)
            assert ours - best <= 1e-7 * abs(best) + 1e-12, (r.backend, k, ours, best)


def test_lbfgs_defaults_reach_newtons_optimum_on_raw_real_tables():
    """L-BFGS with its default arguments on scikit-learn's breast-cancer table unscaled (nearly
    collinear columns: it needed 285-1,633 iterations and stopped 6 % off at the cap of 100), with
    bootstrap counts, and on a binomial table (successes and failures as sample weights): converged,
    within 1e-6 of Newton's optimum."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(1)
    G = 60
    dose, temp, age = rng.uniform(0, 500, G), rng.normal(300, 20, G), rng.integers(20, 80, G).astype(float)
    trials = rng.integers(20, 200, G)
    succ = rng.binomial(trials, 1 / (1 + np.exp(-(-3 + 0.01 * dose + 0.02 * (temp - 300) - 0.01 * (age - 50)))))
    binomial = (np.repeat(np.c_[dose, temp, age], 2, axis=0), np.tile([1.0, 0.0], G),
                np.c_[succ, trials - succ].ravel().astype(float))
    cases = [(X, y, None, 1.0), (X, y, None, 1e-3), (X, y, rng.integers(0, 3, len(y)).astype(float), 1.0),
             (*binomial, 0.0), (*binomial, 1.0)]
    for Xc, yc, s, l2 in cases:
        kw = dict(sample_weight=s, l2=l2, bias=True)
        newton, lbfgs = (fp.train(Xc, yc, solver=solver, **kw) for solver in ("newton", "lbfgs"))
        assert lbfgs.stop_reason.tolist() == ["converged"] == newton.stop_reason.tolist()
        np.testing.assert_allclose(lbfgs.weights, newton.weights, rtol=1e-6)
        np.testing.assert_allclose(lbfgs.bias, newton.bias, rtol=1e-6)
