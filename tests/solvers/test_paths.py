"""The solvers' paths, pinned: the iterates after 1, 2 and 4 iterations and the iterations each model
needs, on fixed problems that reach every part of the solvers (raw columns of mixed scales, the
ensemble's pooled start, per-model data, groups with a one-class group, K = 2, penalties per model,
separable data, a warm start from given weights).

The other solver tests check where the solvers arrive (the optimum, against an independent
reference); these check the way there, which the optimum cannot show: a start point, a column scale,
a curvature pair or a line-search constant gone wrong still reaches the optimum, more slowly. The
pinned figures (``paths.json``) are this library's own, measured on the numpy backend; a deliberate
change of a solver's path regenerates them with ``python tests/solvers/test_paths.py`` and says why
in its commit. Iterates are compared to 1e-7 relative (BLAS and CPUs round differently), iteration
counts and stop reasons exactly. The one exception is the last iterate of the separable problem: it
lies far out along a ray (weights ~10³ after some twenty steps, no finite optimum), where each step
multiplies the rounding of the last, so AVX2 and AVX-512 builds of the same BLAS part at ~1e-6; it is
compared to 1e-5 (measured: 6.5e-7 apart on a Zen 4 against the Zen 3 that wrote the pins).
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastperceptron as fp

HERE = Path(__file__).resolve().parent
PINS = HERE / "paths.json"
CAPS = (1, 2, 4, None)


def _problems():
    """{name: (args, kwargs)} of the pinned problems, made from fixed seeds."""
    rng = np.random.default_rng(22)
    N = 240
    raw = np.column_stack([rng.lognormal(np.log(5e4), 0.5, N), rng.uniform(20, 80, N), rng.random(N) < 0.3,
                           rng.normal(2e5, 5e4, N)]).astype(np.float64)
    z = (np.log(raw[:, 0]) - np.log(5e4)) / 0.5 - 0.03 * (raw[:, 1] - 50) + 0.7 * raw[:, 2]
    y = (rng.random(N) < 1 / (1 + np.exp(-z))).astype(np.float64)
    y2 = np.column_stack([y, (rng.random(N) < 0.4).astype(np.float64)])
    sw = rng.integers(0, 3, size=(3, N)).astype(np.float64)
    Xb = rng.normal(size=(3, 90, 3)) * [1.0, 30.0, 0.05]
    yb = (rng.random((3, 90)) < 1 / (1 + np.exp(-Xb @ [1.0, 0.02, 10.0]))).astype(np.float64)
    g = np.repeat(np.array([3, 7, 8, 11]), [70, 60, 50, 60])
    yg = y.copy()
    yg[g == 8] = 1.0  # one class: no finite optimum with an unpenalised bias
    Xs = rng.normal(size=(40, 2))
    ys = (Xs[:, 0] + 0.5 * Xs[:, 1] > 0).astype(np.float64)  # separable: without a penalty, no finite optimum
    wg = rng.integers(1, 4, N).astype(np.float64)
    yw = y.copy()
    yw[g == 7] = 0.0
    yw[np.flatnonzero(g == 7)[0]] = 1.0  # one positive row (weight 1): two classes, barely
    wg[(g == 11) & (yw == 1)] = 0.0      # group 11's positives weigh nothing: one class by weight
    wb = rng.random((3, 90)) + 0.5
    return {
        "raw columns, bootstrap weights, K=2": ((raw, y2), dict(sample_weight=sw, l2=1.0, bias=True)),
        "an ensemble on one table, l2 per model": ((raw, y), dict(l2=[0.1, 1.0, 10.0], bias=True)),
        "per-model data of mixed scales, no bias": ((Xb, yb[..., None]), dict(l2=[0.0, 0.5, 2.0])),
        "groups with a one-class group": ((raw, yg), dict(groups=g, l2=0.5, bias=True)),
        "separable, no penalty": ((Xs, ys), dict(models=2, bias=True)),
        "groups with weights, no bias": ((raw, y), dict(groups=g, sample_weight=wg, l2=1.0)),
        "groups with weights, one positive row, one class by weight": (
            (raw, yw), dict(groups=g, sample_weight=wg, l2=0.5, bias=True)),
        "per-model data with bias and weights, one target vector": (
            (Xb, yb[0]), dict(sample_weight=wb, l2=[0.1, 1.0, 3.0], bias=True)),
        "shared X, per-model targets and weights": ((raw, np.stack([y, y2[:, 1], 1 - y])), dict(
            sample_weight=sw + 1.0, l2=[0.5, 1.0, 2.0], bias=True)),
        "groups without a bias": ((raw, y), dict(groups=g, l2=2.0)),
        "a warm start from given weights, raw columns": (
            (raw, y), dict(initial_weights=np.array([[[1e-5], [0.02], [-0.5], [1e-6]], [[-2e-5], [0.0], [1.0], [0.0]]]),
                           l2=[1.0, 3.0], bias=True)),
    }


def _run(solver, args, kwargs, cap):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extra = {} if cap is None else {"iterations": cap}
        return fp.train(*args, solver=solver, backend="numpy", progress=False, **kwargs, **extra)


def _measure() -> dict:
    pins = {}
    for solver in ("newton", "lbfgs"):
        for name, (args, kwargs) in _problems().items():
            for cap in CAPS:
                r = _run(solver, args, kwargs, cap)
                pins[f"{solver} | {name} | {cap}"] = {
                    "weights": r.weights.ravel().tolist(),
                    "bias": None if r.bias is None else r.bias.ravel().tolist(),
                    "iterations": r.iterations.tolist(), "stop_reason": r.stop_reason.tolist()}
    return pins


CASES = [(s, n, c) for s in ("newton", "lbfgs") for n in _problems() for c in CAPS]


@pytest.fixture(scope="module")
def pins():
    return json.loads(PINS.read_text())


@pytest.mark.parametrize("solver, name, cap", CASES, ids=[f"{s}-{n}-{c}" for s, n, c in CASES])
def test_the_solvers_take_their_pinned_path(pins, solver, name, cap):
    args, kwargs = _problems()[name]
    r = _run(solver, args, kwargs, cap)
    pin = pins[f"{solver} | {name} | {cap}"]
    assert r.iterations.tolist() == pin["iterations"]
    assert r.stop_reason.tolist() == pin["stop_reason"]
    rtol = 1e-5 if name.startswith("separable") and cap is None else 1e-7
    np.testing.assert_allclose(r.weights.ravel(), pin["weights"], rtol=rtol, atol=1e-12)
    if pin["bias"] is None:
        assert r.bias is None
    else:
        np.testing.assert_allclose(r.bias.ravel(), pin["bias"], rtol=rtol, atol=1e-12)


if __name__ == "__main__":  # regenerate the pins after a deliberate change of a solver's path
    PINS.write_text(json.dumps(_measure(), indent=1) + "\n")
    print(f"wrote {PINS}", file=sys.stderr)
