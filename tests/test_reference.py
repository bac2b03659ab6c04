"""train() against the independent per-model loop of tests/reference.py: on random problems, on
every backend, and — through the registry — on every layout of every backend."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastperceptron as fp
from reference import loss_one, optimum_one, train_one
from tolerance import assert_close


@st.composite
def problems(draw):
    B = draw(st.integers(1, 5))
    N = draw(st.integers(1, 9))
    D = draw(st.integers(1, 4))
    K = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    per_model_X = draw(st.booleans())
    per_model_y = draw(st.booleans())
    X = rng.normal(size=(B, N, D) if per_model_X else (N, D))
    y = rng.random((B, N, K) if per_model_y else (N, K))
    if draw(st.booleans()):
        y = (y > 0.5).astype(float)
    kind = draw(st.sampled_from(["none", "mask", "counts", "real"]))
    shape = (B, N) if draw(st.booleans()) else (N,)
    s = {
        "none": None,
        "mask": (rng.random(shape) < 0.7).astype(float),
        "counts": rng.integers(0, 4, size=shape).astype(float),
        "real": rng.random(shape) * 2,
    }[kind]
    if s is not None:
        s[..., 0] = np.maximum(s[..., 0], 1.0)  # every model keeps at least one sample
    # Well-conditioned problems only (SPEC §4): each model's step stays in gradient descent's stable
    # range, η ≤ 4 / λmax(Xᵀ·S·X) (σ' ≤ 1/4; bias column included). Larger steps oscillate or turn
    # chaotic, and then any two correct implementations drift apart from rounding alone.
    curvature = []
    for b in range(B):
        Xb = X[b] if X.ndim == 3 else X
        Xb = np.column_stack([Xb, np.ones(N)])
        sb = np.ones(N) if s is None else (s[b] if s.ndim == 2 else s)
        curvature.append(np.linalg.eigvalsh(Xb.T @ (Xb * sb[:, None])).max() / 4)
    stable = 1.0 / np.maximum(curvature, 1e-12)
    lr = rng.uniform(0.05, 1.0, size=B) * stable if draw(st.booleans()) else float(rng.uniform(0.05, 1.0) * stable.min())
    return dict(
        X=X, y=y, seeds=rng.integers(0, 10**6, size=B), sample_weight=s, learning_rate=lr,
        rule=draw(st.sampled_from(["seed", "logistic"])), bias=draw(st.booleans()),
        iterations=draw(st.integers(0, 40)),
        # Early stopping: a tolerance in the range of the updates of these problems, so that some models
        # stop early (and then the bias update, with K outputs, can be the one that decides).
        tol=draw(st.sampled_from([None, None, 1e-4, 1e-3, 1e-2, 5e-2])),
    )


def check_against_reference(case, backend, rtol):
    r = fp.train(backend=backend, **case)
    X, y, s, lr = case["X"], case["y"], case["sample_weight"], case["learning_rate"]
    B, D, K = r.weights.shape
    W0 = fp.init.uniform(case["seeds"], D, K)
    for b in range(B):
        Xb = X[b] if X.ndim == 3 else X
        yb = y[b] if y.ndim == 3 else y
        sb = None if s is None else (s[b] if s.ndim == 2 else s)
        lrb = lr[b] if np.ndim(lr) else lr
        W, c, its = train_one(Xb, yb, W0[b], iterations=case["iterations"], lr=lrb, rule=case["rule"],
                              bias=case["bias"], s=sb, tol=case.get("tol"))
        assert_close(r.weights[b], W, rtol, what=f"weights of model {b}")
        if case["bias"]:
            assert_close(r.bias[b], c, rtol, what=f"bias of model {b}")
        else:
            assert r.bias is None
        np.testing.assert_allclose(r.loss[b], loss_one(Xb, yb, W, c, sb), rtol=rtol, atol=1e-15)
        assert r.iterations[b] == its


GPU = ("cupy", "cuda")
CPU_AVAILABLE = [name for name, info in fp.backends().items() if info.available and name not in GPU]


def _gpu_params():
    """The GPU backends, marked ``gpu`` (so that ``pytest -m gpu`` runs them on a GPU), each skipped with
    the reason where it cannot run."""
    out = []
    for name in GPU:
        info = fp.backends()[name]
        why = [] if info.available else [pytest.mark.skip(reason=f"backend {name!r} unavailable here: {info.reason}")]
        out.append(pytest.param(name, marks=[pytest.mark.gpu, *why], id=name))
    return out


@pytest.mark.parametrize("name", CPU_AVAILABLE)
@settings(max_examples=80, deadline=None)
@given(case=problems())
def test_backend_matches_reference(name, case):
    """Random shapes, shared or per-model X/y/weights, K > 1, bias, both rules, masks, counts, rates,
    early stopping."""
    check_against_reference(case, name, rtol=1e-9)


@pytest.mark.parametrize("name", _gpu_params())
@settings(max_examples=25, deadline=None)
@given(case=problems())
def test_gpu_backend_matches_reference(name, case):
    """The same on a real GPU (fewer cases: each new shape and layout compiles a kernel variant with
    NVRTC, about a second each on a cold machine)."""
    check_against_reference(case, name, rtol=1e-9)


@pytest.mark.parametrize("name", ["cupy", "cuda"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=problems())
def test_gpu_backends_on_the_host_emulation_match_reference(name, case, host_gpu):
    """The same, for the GPU backends on the host emulation of CUDA (fewer cases: each new shape
    and layout compiles a kernel variant)."""
    check_against_reference(case, name, rtol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_every_backend_matches_reference(backend, seed):
    rng = np.random.default_rng(seed)
    case = dict(
        X=rng.normal(size=(6, 20, 5)), y=rng.random((6, 20, 2)), seeds=np.arange(6) + 100 * seed,
        sample_weight=rng.integers(0, 3, size=(6, 20)).astype(float) + (np.arange(20) == 0),
        # Small steps keep the problem well-conditioned (SPEC §4): with η = 1 on 20 samples the
        # logistic rule is chaotic, and even two correct loops drift apart from rounding alone.
        learning_rate=np.linspace(0.01, 0.1, 6), rule=["seed", "logistic", "seed"][seed], bias=seed != 1,
        iterations=300,
    )
    check_against_reference(case, backend, rtol=1e-9)


def test_early_stopping_with_a_bias_and_two_outputs_matches_reference(backend):
    """Early stopping (``tol``) with a bias and K = 2 on every backend, against the reference: the
    models stop at different iterations, and for some of them the bias update is the largest update
    of the last iterations (imbalanced labels on centred columns), so a stopping rule that leaves
    the bias out stops them at another iteration."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(5, 30, 3))
    X -= X.mean(axis=1, keepdims=True)
    y = (rng.random((5, 30, 2)) < np.array([0.9, 0.6])).astype(float)
    case = dict(X=X, y=y, seeds=np.arange(5), learning_rate=np.linspace(0.02, 0.06, 5), rule="logistic",
                bias=True, iterations=400, tol=2e-3, sample_weight=None)
    check_against_reference(case, backend, rtol=1e-9)
    r = fp.train(backend=backend, **case)
    assert len(set(r.iterations.tolist())) > 1 and r.iterations.min() < 400


def _layout_cases(rng):
    """(name, train kwargs, [(X, y, s, W0, l2) per model and output]) of every kind of problem a layout
    may fit: shared X, one X per model, groups, and the second-order solvers on each."""
    N, D = 40, 3
    X = rng.normal(size=(N, D))
    Y = (rng.random((N, 2)) < 0.5).astype(float)
    sw = rng.integers(0, 3, size=(4, N)).astype(float) + (np.arange(N) == 0)
    Xb, yb = rng.normal(size=(3, 25, D)), (rng.random((3, 25)) < 0.5).astype(float)
    g = np.repeat(np.arange(3), [10, 18, 12])
    W = rng.uniform(-1, 1, size=(4, D, 2))
    gd = dict(rule="logistic", bias=True, iterations=60, learning_rate=0.02)
    return [
        ("shared", dict(X=X, y=Y, sample_weight=sw, initial_weights=W, l2=0.3, **gd),
         [(X, Y[:, k], sw[b], W[b, :, k], 0.3) for b in range(4) for k in range(2)]),
        ("per-model", dict(X=Xb, y=yb, initial_weights=W[:3, :, :1], l2=np.array([0.2, 0.5, 1.0]), **gd),
         [(Xb[b], yb[b], None, W[b, :, 0], [0.2, 0.5, 1.0][b]) for b in range(3)]),
        ("groups", dict(X=X, y=Y[:, 0], groups=g, initial_weights=W[:3, :, :1], **gd),
         [(X[g == k], Y[g == k, 0], None, W[k, :, 0], 0.0) for k in range(3)]),
        ("solver shared", dict(X=X, y=Y, sample_weight=sw, solver="newton", l2=0.3, bias=True),
         [(X, Y[:, k], sw[b], None, 0.3) for b in range(4) for k in range(2)]),
        ("solver per-model", dict(X=Xb, y=yb, solver="lbfgs", l2=1.0, bias=True),
         [(Xb[b], yb[b], None, None, 1.0) for b in range(3)]),
        ("solver groups", dict(X=X, y=Y[:, 0], groups=g, solver="newton", l2=1.0, bias=True),
         [(X[g == k], Y[g == k, 0], None, None, 1.0) for k in range(3)]),
    ]


def test_every_registered_layout_matches_the_reference(layout):
    """Each layout of the registry on every kind of problem it fits (pinned: ``backend="name:layout"``),
    against the independent reference: gradient steps model by model (≤ 1e-9 relative), the solvers
    against a plain Newton (≤ 1e-8). A layout that fits none of them fails: it would go untested."""
    from fastperceptron.problem import make_problem
    from fastperceptron.registry import layouts

    name, lay = layout.split(":")
    chosen = next(x for x in layouts(name) if x.name == lay)
    fitted = 0
    for case, kwargs, models in _layout_cases(np.random.default_rng(4)):
        args = {k: v for k, v in kwargs.items() if k not in ("X", "y")}
        if not chosen.fits(make_problem(kwargs["X"], kwargs["y"], **args)):
            continue
        fitted += 1
        r = fp.train(kwargs["X"], kwargs["y"], backend=layout, progress=False, **args)
        assert r.params["layout"] == lay, case
        K = r.weights.shape[2]
        for j, (Xm, ym, s, W0, l2) in enumerate(models):
            got = np.r_[r.weights[j // K, :, j % K], r.bias[j // K, j % K]]
            if W0 is None:
                w, c = optimum_one(Xm, ym, l2=l2, s=s)
                tolerance = 1e-8
            else:
                W, c, _ = train_one(Xm, ym, W0[:, None], iterations=60, lr=0.02, rule="logistic", bias=True, s=s, l2=l2)
                w, c, tolerance = W[:, 0], c[0], 1e-9
            assert_close(got, np.r_[w, c], tolerance, what=f"{case}, model {j // K} output {j % K}")
    assert fitted, f"{layout} fits none of the reference's problems: add one it fits to _layout_cases"


@pytest.mark.parametrize("grouped", [False, True], ids=["loop", "groups"])
def test_an_update_equal_to_tol_does_not_stop_the_model(backend, grouped):
    """SPEC §4: a model stops once the largest |update| of an iteration is *below* tol. From zero
    weights the first update is the weights after one iteration, exactly: tol equal to it goes on,
    tol one ulp above it stops after that iteration."""
    X, y = fp.datasets.seed()
    kw = dict(initial_weights=np.zeros((3, 1)), bias=True, rule="logistic", learning_rate=0.5, backend=backend)
    if grouped:
        kw["groups"] = np.array([0, 0, 0, 0])
    one = fp.train(X, y, iterations=1, **kw)
    u = max(np.abs(one.weights).max(), np.abs(one.bias).max())
    assert fp.train(X, y, iterations=5, tol=u, **kw).iterations[0] > 1
    assert fp.train(X, y, iterations=5, tol=float(np.nextafter(u, np.inf)), **kw).iterations[0] == 1
