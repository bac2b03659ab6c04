"""train() against the independent per-model loop of tests/reference.py, on random problems."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastperceptron as fp
from reference import loss_one, train_one


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
                              bias=case["bias"], s=sb)
        np.testing.assert_allclose(r.weights[b], W, rtol=rtol, atol=rtol * 1e-3)
        if case["bias"]:
            np.testing.assert_allclose(r.bias[b], c, rtol=rtol, atol=rtol * 1e-3)
        else:
            assert r.bias is None
        np.testing.assert_allclose(r.loss[b], loss_one(Xb, yb, W, c, sb), rtol=rtol, atol=1e-15)
        assert r.iterations[b] == its


AVAILABLE = [name for name, info in fp.backends().items() if info.available]


@pytest.mark.parametrize("name", AVAILABLE)
@settings(max_examples=80, deadline=None)
@given(case=problems())
def test_backend_matches_reference(name, case):
    """Random shapes, shared or per-model X/y/weights, K > 1, bias, both rules, masks, counts, rates."""
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
