"""The reference objective's promises beyond its values (which tests/solvers/test_solvers.py checks
against an independent Newton): float32 problems are computed in float32, shared X summed in row
chunks gives the unchunked sums, the solvers keep numpy's overflow warnings to themselves, and an
L-BFGS direction that goes uphill restarts from steepest descent."""

import warnings

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.problem import make_problem
from fastperceptron.reference.objective import DenseObjective, GroupObjective
from fastperceptron.solvers.lbfgs import LbfgsRun


def _problems(dtype):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 3))
    y = (rng.random(50) < 0.5).astype(float)
    y2 = np.column_stack([y, 1 - y])
    Xb = rng.normal(size=(2, 30, 3))
    yb = (rng.random((2, 30)) < 0.5).astype(float)
    g = np.repeat([0, 1, 2], [10, 15, 25])
    kw = dict(solver="newton", bias=True, dtype=dtype, l2=0.5)
    return {
        "shared, K=2, weights": (DenseObjective, make_problem(X, y2, sample_weight=rng.random((2, 50)), **kw)),
        "shared, one weight vector": (DenseObjective, make_problem(X, y, sample_weight=rng.random(50), models=2, **kw)),
        "per-model data": (DenseObjective, make_problem(Xb, yb, sample_weight=rng.random((2, 30)), **kw)),
        "groups": (GroupObjective, make_problem(X, y, groups=g, sample_weight=rng.random(50), **kw)),
    }


def _theta(objective, problem):
    B, D, K = problem.W0.shape
    return np.random.default_rng(1).normal(size=(B * K, objective.P)).astype(problem.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_objective_computes_in_the_problems_dtype(dtype):
    for name, (kind, problem) in _problems(dtype).items():
        objective = kind(problem)
        theta = _theta(objective, problem)
        for need in ("f", "fg", "fgh", "gh"):
            for part in objective.evaluate(theta, need):
                assert part.dtype == np.dtype(dtype), (name, need)
        assert objective.mse(theta).dtype == np.dtype(dtype), name


def test_shared_data_in_row_chunks_sums_like_one_chunk(monkeypatch):
    """Shared X is summed ``rows`` rows at a time, the chunks added in order: small chunks (one
    partial at the end) give the whole sums."""
    for name, (kind, problem) in _problems("float64").items():
        if kind is not DenseObjective:
            continue
        whole = DenseObjective(problem)
        theta = _theta(whole, problem)
        expected = whole.evaluate(theta, "fgh") + (whole.mse(theta),)
        monkeypatch.setattr(DenseObjective, "rows", 7)  # 50 rows: 7 chunks of 7 and one of 1
        chunked = DenseObjective(problem)
        got = chunked.evaluate(theta, "fgh") + (chunked.mse(theta),)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
        for need in ("f", "fg", "gh"):
            for a, b in zip(chunked.evaluate(theta, need), whole.evaluate(theta, need)):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
        monkeypatch.undo()


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_no_overflow_warning_reaches_the_user_from_raw_columns(solver):
    """Columns of 10⁹ put the sigmoid far into its tails at the start and in the line search: the
    solvers handle it without numpy's RuntimeWarning."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(1.7e9, 3e7, 300), rng.normal(size=300) * 1e5])
    y = (rng.random(300) < 1 / (1 + np.exp(-(X[:, 0] - 1.7e9) / 3e7))).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fp.ConvergenceWarning)  # the capped runs
        warnings.simplefilter("error", RuntimeWarning)
        for kwargs in (dict(bias=True), dict(bias=False), dict(bias=True, groups=np.arange(300) % 3)):
            fp.train(X, y, solver=solver, l2=0.0, backend="numpy", progress=False, **kwargs)
            fp.train(X, y, solver=solver, l2=1.0, backend="numpy", progress=False, iterations=3, **kwargs)


def test_lbfgs_restarts_from_steepest_descent_when_its_direction_goes_uphill():
    """A curvature memory that points uphill (here: planted with the wrong sign) is dropped, and the
    step follows −∇L/‖∇L‖ (the first step's length), as on the first iteration."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(float)
    problem = make_problem(X, y, solver="lbfgs", bias=True, l2=1.0, models=2)
    fresh = LbfgsRun(problem, DenseObjective(problem))
    run = LbfgsRun(problem, DenseObjective(problem))
    g = run.g.copy()
    run.S[0], run.Yc[0], run.rho[0] = g, g, -1.0 / (g * g).sum(axis=1)  # H·g ∝ −g: the direction +g, uphill
    run.slot = 1
    assert ((g * -run._two_loop(g)).sum(axis=1) > 0).all()
    phi = run.phi.copy()
    run.step()
    fresh.step()
    np.testing.assert_allclose(run.phi, fresh.phi, rtol=1e-12)  # the same step as a fresh start's
    assert not np.allclose(run.phi, phi)
    assert (run.rho[0] == 0).all()  # the planted pair is dropped (ρ = 0: it no longer counts)
    np.testing.assert_allclose(run.rho[1], fresh.rho[0], rtol=1e-12)  # the new pair, as a fresh start's


@pytest.mark.parametrize("solver", ["gd", "newton", "lbfgs"])
def test_float32_runs_stay_float32_on_every_layout_of_numpy(solver):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(40, 3)), (rng.random(40) < 0.5).astype(float)
    for kwargs in (dict(models=2), dict(groups=np.arange(40) % 4), dict(sample_weight=rng.random((2, 40)))):
        r = fp.train(X, y, solver=solver, dtype="float32", bias=True, l2=0.1, iterations=20, backend="numpy",
                     progress=False, record_every=5 if solver == "gd" else None, **kwargs)
        for name in ("weights", "bias", "loss", "learning_rate") + (("history",) if solver == "gd" else ()):
            assert getattr(r, name).dtype == np.float32, (kwargs, name)
