"""Newton's linear algebra: the batched Cholesky solve against numpy's, and the regularisation that
grows 100-fold, for the failing neurons only, when a Hessian is singular beyond μ (at most 20 times)."""

import numpy as np
import pytest

import fastperceptron.solvers as solvers
from fastperceptron.problem import make_problem
from fastperceptron.reference.objective import DenseObjective


def test_cholesky_solve_matches_numpy_and_flags_what_is_not_positive_definite():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 5, 5))
    H = A @ A.transpose(0, 2, 1)                     # positive definite
    H[2] = np.diag([1.0, 1.0, 0.0, 1.0, 1.0])        # singular: a zero pivot
    H[3] = -H[3]                                     # negative definite
    g = rng.normal(size=(4, 5))
    mu = np.array([1e-3, 0.5, 0.0, 0.0])
    d, ok = solvers.cholesky_solve(H, g, mu)
    assert ok.tolist() == [True, True, False, False]
    for j in (0, 1):
        np.testing.assert_allclose(d[j], np.linalg.solve(H[j] + mu[j] * np.eye(5), g[j]), rtol=1e-10)
    d1, ok1 = solvers.cholesky_solve(H[:1, :1, :1], g[:1, :1], mu[:1])  # one parameter
    assert ok1.tolist() == [True] and d1[0, 0] == pytest.approx(g[0, 0] / (H[0, 0, 0] + mu[0]), rel=1e-14)


def _problem(l2=(0.5, 1.0, 2.0)):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(float)
    return make_problem(X, y, solver="newton", bias=True, l2=list(l2), iterations=50,
                        initial_weights=np.zeros((2, 1)))


def _run(solve, l2=(0.5, 1.0, 2.0)):
    p = _problem(l2)
    run = solvers.start(p, DenseObjective(p), np, solve=solve)
    run.advance(p.iterations)
    return run


@pytest.mark.parametrize("l2", [(0.5, 1.0, 2.0), (0.0, 0.0, 0.0)], ids=["penalised", "unpenalised"])
def test_newton_regularises_more_for_the_failing_neurons_only(l2):
    """μ = ε^¾·mean(diag H) for an unpenalised neuron, 0 for a penalised one (its H is positive
    definite); a factorisation that fails retries that neuron alone, from μ (or ε^¾·mean(diag H)
    when μ was 0) growing 100-fold."""
    calls = []

    def solve(H, g, mu):
        calls.append((mu.copy(), 1e-12 * np.einsum("mii->m", H) / H.shape[1]))
        d, ok = solvers.cholesky_solve(H, g, mu)
        if len(calls) <= 3 and len(mu) == 3:   # the first step's first solve: neuron 1 fails
            ok[1] = False
        elif len(calls) in (2, 3):             # its first retry fails again
            ok[:] = False
        return d, ok

    run = _run(solve, l2)
    (first, scale), (retry, _), (again, _) = calls[:3]
    assert len(first) == 3 and len(retry) == 1 and len(again) == 1
    mu0 = np.finfo(np.float64).eps ** 0.75 * scale / 1e-12  # ε^¾·mean(diag H) of each neuron
    if l2[0] > 0:
        assert (first == 0).all() and retry[0] == pytest.approx(mu0[1], rel=1e-12)
    else:
        np.testing.assert_allclose(first, mu0, rtol=1e-12)
        assert retry[0] == pytest.approx(100.0 * first[1], rel=1e-15)
    assert again[0] == pytest.approx(100.0 * retry[0], rel=1e-15)
    plain = _run(None, l2)
    assert run.converged().all()
    np.testing.assert_allclose(run.weights(), plain.weights(), rtol=1e-9)


def test_a_neuron_whose_hessian_never_factorises_gets_twenty_retries_and_no_step():
    calls = []

    def solve(H, g, mu):
        calls.append(len(mu))
        d, ok = solvers.cholesky_solve(H, g, mu)
        if len(calls) <= 21:
            ok[...] = ok & (np.arange(len(ok)) != 0) if len(mu) == 3 else False
        return d, ok

    run = _run(solve)
    assert calls[:21] == [3] + [1] * 20  # one solve, then 20 retries for neuron 0; then the next step
    assert calls[21] == 3
    assert run.converged().all()


def test_the_line_search_takes_the_first_halving_that_meets_armijo():
    """φ0 + t·d with the first t in 1, ½, ¼, … where L ≤ L0 + 8ε|L0| + ARMIJO·t·slope, computed here
    from the objective itself; a direction that only goes up stops its neuron as stalled."""
    from fastperceptron.solvers.base import ARMIJO, MAX_HALVINGS
    from fastperceptron.solvers.lbfgs import LbfgsRun

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(float)
    p = make_problem(X, y, solver="lbfgs", bias=True, l2=[0.5, 1.0, 2.0, 4.0])
    run = LbfgsRun(p, DenseObjective(p))
    nsel = np.arange(4)
    phi0, f0, g0 = run.phi.copy(), run.f.copy(), run.g.copy()
    d = -g0 * np.array([[300.0], [1e-3], [30.0], [-1.0]])  # far too long, short, long, uphill
    slope = (g0 * d).sum(axis=1)
    moved, t = run._line_search(nsel, phi0, d, f0, slope)
    eps = np.finfo(np.float64).eps
    for j in range(3):
        tried = [0.5 ** k for k in range(MAX_HALVINGS)]
        loss = [run.evaluate(phi0[j:j + 1] + s * d[j:j + 1], "f", np.array([j]))[0][0] for s in tried]
        first = next(s for s, f in zip(tried, loss) if f <= f0[j] + 8 * eps * abs(f0[j]) + ARMIJO * s * slope[j])
        assert t[j] == first, j
        np.testing.assert_allclose(run.phi[j], phi0[j] + first * d[j], rtol=1e-15)
        assert run.f[j] == pytest.approx(loss[tried.index(first)], rel=1e-15)
    assert t[0] < 1 and t[1] == 1 and t[2] < 1
    assert moved.tolist() == [True, True, True, False]
    assert run.stalled.tolist() == [False, False, False, True] and run.active.tolist() == [True, True, True, False]
    assert run.counts.tolist() == [1, 1, 1, 0]
    np.testing.assert_array_equal(run.phi[3], phi0[3])


def test_separable_data_are_never_called_converged():
    """Data found where L-BFGS met both convergence tests far out on separable data (weights ~7,000):
    the last check, L(2θ) < L(θ), names them separable (no finite optimum), as Newton's steps do."""
    import warnings
    from pathlib import Path

    import fastperceptron as fp

    with np.load(Path(__file__).resolve().parent.parent / "data" / "separable.npz") as z:
        X = z["X"]
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)
    for solver in ("newton", "lbfgs"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = fp.train(X, y, solver=solver, bias=True, models=2, backend="numpy", progress=False)
        assert r.stop_reason.tolist() == ["separable", "separable"] and not r.converged.any(), solver
        assert any("2 have separable classes and no penalty" in str(w.message) for w in caught), solver
        with_penalty = fp.train(X, y, solver=solver, bias=True, l2=1.0, backend="numpy", progress=False)
        assert with_penalty.stop_reason.tolist() == ["converged"]
