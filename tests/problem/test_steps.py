"""Gradient steps on real tables (issue 27): the stable step learning_rate="auto" on every layout and
backend, standardisation folded into the models (API, files, ONNX, CLI), and the warnings said before
a wasted run."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastperceptron as fp
from reference import SEED_X, SEED_Y, train_one


def _stable(X, s, bias, lam=0.0):
    """The independent bound: 1 / (Σ_n s_n·(‖x_n‖² + bias) / 4 + λ), one model's rows."""
    s = np.ones(len(X)) if s is None else s
    return 1.0 / ((s * ((X ** 2).sum(axis=1) + bias)).sum() / 4 + lam)


def _raw(rng, n):
    """Columns of scales 1 to 10⁵ (a flag, an age, an income, a balance) and 0/1 targets."""
    X = np.column_stack([(rng.random(n) < 0.3), rng.uniform(20, 80, n), rng.lognormal(np.log(5e4), 0.5, n),
                         rng.normal(2e5, 5e4, n)]).astype(float)
    Z = (X - X.mean(0)) / X.std(0)
    return X, (rng.random(n) < 1 / (1 + np.exp(-(Z @ [0.7, -0.5, 0.8, 0.5])))).astype(float)


@pytest.mark.parametrize("rule", ["seed", "logistic"])
def test_auto_step_on_every_backend_matches_the_reference_loop(backend, rule):
    """learning_rate="auto" gives each model 1/L from its own rows and weights, and every backend then
    trains what the independent loop trains with that step: shared data with bootstrap weights and l2,
    per-model data, and groups."""
    rng = np.random.default_rng(27)
    X = rng.normal(size=(40, 3)) * [1, 3, 0.5]
    y = (rng.random(40) < 0.5).astype(float)
    sw = fp.bootstrap_weights(40, np.arange(3))
    lam = np.array([0.0, 1.0, 5.0])
    Xb, yb = rng.normal(size=(2, 25, 3)), (rng.random((2, 25)) < 0.5).astype(float)
    g = rng.integers(0, 3, 40)
    W0 = rng.uniform(-1, 1, (3, 1))
    cases = [
        ((X, y), dict(sample_weight=sw, l2=lam), [(X, y, sw[b], lam[b]) for b in range(3)]),
        ((Xb, yb), dict(), [(Xb[b], yb[b], None, 0.0) for b in range(2)]),
        ((X, y), dict(groups=g), [(X[g == k], y[g == k], None, 0.0) for k in range(3)]),
    ]
    for args, kwargs, models in cases:
        r = fp.train(*args, learning_rate="auto", rule=rule, bias=True, iterations=50, initial_weights=W0,
                     backend=backend, progress=False, **kwargs)
        for b, (Xm, ym, s, l2) in enumerate(models):
            step = _stable(Xm, s, 1, l2)
            assert r.learning_rate[b] == pytest.approx(step, rel=1e-12)
            W, c, _ = train_one(Xm, ym, W0, iterations=50, lr=step, rule=rule, bias=True, s=s, l2=l2)
            np.testing.assert_allclose(r.weights[b], W, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(r.bias[b], c, rtol=1e-9, atol=1e-12)


def test_auto_step_makes_gradient_descent_converge_where_a_rate_of_1_diverges():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4))
    y = (rng.random(2000) < 1 / (1 + np.exp(-X @ [1.0, -1, 0.5, 0]))).astype(float)
    best = fp.train(X, y, solver="newton", bias=True, progress=False).loss[0]
    with pytest.warns(fp.StabilityWarning, match="is above the stable step"):
        fixed = fp.train(X, y, rule="logistic", bias=True, iterations=300, progress=False)
    auto = fp.train(X, y, rule="logistic", bias=True, iterations=300, learning_rate="auto", progress=False)
    assert auto.loss[0] <= best * 1.001 < fixed.loss[0]


def _manual(X, s=None):
    """Each column's mean and standard deviation, weighted by s (an independent computation)."""
    w = np.ones(len(X)) if s is None else s
    mean = (w[:, None] * X).sum(0) / w.sum()
    sd = np.sqrt((w[:, None] * (X - mean) ** 2).sum(0) / w.sum())
    return mean, np.where(sd > 0, sd, 1.0)


@pytest.mark.parametrize("solver", ["gd", "newton"])
def test_standardize_folds_the_transform_into_the_weights(tmp_path, solver):
    """standardize=True trains the model a user would train on (x − mean)/sd, and gives it back on the
    raw columns: predicting raw rows equals that model on standardised rows (≤ 1e-12), through
    save/load and ONNX."""
    rng = np.random.default_rng(5)
    X, y = _raw(rng, 400)
    s = rng.random(400) + 0.5
    mean, sd = _manual(X, s)
    kw = dict(rule="logistic", bias=True, seeds=[3, 4], progress=False, sample_weight=s, l2=0.5, solver=solver)
    if solver == "gd":
        kw.update(iterations=200, learning_rate="auto")
    folded = fp.train(X, y, standardize=True, **kw)
    plain = fp.train((X - mean) / sd, y, **kw)
    assert folded.params["standardize"] is True and plain.params["standardize"] is False
    new = X[:50] * 1.01
    expected = plain.predict_proba((new - mean) / sd)
    np.testing.assert_allclose(folded.predict_proba(new), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(folded.loss, plain.loss, rtol=1e-12)
    back = fp.load(folded.save(tmp_path / "m.npz"))
    np.testing.assert_allclose(back.predict_proba(new), expected, rtol=1e-12, atol=1e-15)
    ort = pytest.importorskip("onnxruntime")
    folded.to_onnx(tmp_path / "m.onnx")
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"X": new})[0]   # (M, B, K)
    np.testing.assert_allclose(got.transpose(1, 0, 2), expected, rtol=1e-12, atol=1e-15)


def test_standardize_for_groups_per_model_data_and_without_bias():
    """Groups: the statistics of all rows; one dataset per model: each model's own; without a bias the
    columns are scaled by their root mean square, not centred."""
    rng = np.random.default_rng(6)
    X, y = _raw(rng, 300)
    g = rng.integers(0, 4, 300)
    mean, sd = _manual(X)
    kw = dict(rule="logistic", bias=True, iterations=100, learning_rate="auto", progress=False)
    a = fp.train(X, y, groups=g, standardize=True, **kw)
    b = fp.train((X - mean) / sd, y, groups=g, **kw)
    np.testing.assert_allclose(a.predict_proba(X, groups=g), b.predict_proba((X - mean) / sd, groups=g), rtol=1e-12)
    Xb = np.stack([X[:100], X[100:200] * 3 + 7])
    yb = np.stack([y[:100], y[100:200]])
    a = fp.train(Xb, yb, standardize=True, **kw)
    for m in range(2):
        mu, s = _manual(Xb[m])
        one = fp.train((Xb[m] - mu) / s, yb[m], seeds=[m], **kw)
        np.testing.assert_allclose(a[m].predict_proba(Xb[m]), one.predict_proba((Xb[m] - mu) / s), rtol=1e-12)
    rms = np.sqrt((X ** 2).mean(0))
    a = fp.train(X, y, standardize=True, rule="logistic", iterations=100, learning_rate="auto", progress=False)
    b = fp.train(X / rms, y, rule="logistic", iterations=100, learning_rate="auto", progress=False)
    assert a.bias is None
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X / rms), rtol=1e-12)


def test_a_column_constant_to_rounding_is_scaled_by_one():
    """A column of 0.7s has a computed standard deviation of ~1e-17, not 0: it is constant (scaled by
    1), so its weight stays of the order of the others and the reported loss is predict_proba's."""
    rng = np.random.default_rng(7)
    n = 500
    X = np.column_stack([rng.normal(size=n), np.full(n, 0.7), rng.normal(size=n) * 3])
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    kw = dict(rule="logistic", bias=True, progress=False, standardize=True)
    for r in (fp.train(X, y, iterations=300, learning_rate="auto", seeds=[0, 1], **kw),
              fp.train(X, y, solver="newton", l2=1.0, **kw),
              fp.train(X, y, groups=rng.integers(0, 3, n), solver="newton", l2=1.0, **kw)):
        assert np.abs(r.weights).max() < 10 and np.abs(r.bias).max() < 10
        if r.groups is None:
            mse = ((r.predict_proba(X)[..., 0] - y) ** 2).mean(axis=1)
            np.testing.assert_allclose(r.loss, mse, rtol=1e-9)
    # the same models as without the constant column, which the bias absorbs (its weight is free)
    a = fp.train(X, y, solver="newton", l2=1.0, **kw)
    b = fp.train(X[:, [0, 2]], y, solver="newton", l2=1.0, **kw)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X[:, [0, 2]]), rtol=1e-9)


def test_warnings_name_the_problem_and_the_fix():
    rng = np.random.default_rng(7)
    X, y = _raw(rng, 500)
    with pytest.warns(fp.StabilityWarning) as caught:
        fp.train(X, y, iterations=1, progress=False)
    texts = [str(w.message) for w in caught]
    assert any(t.startswith("2 feature column(s) are far from the scale gradient steps assume (|x| about 1): "
                            "column 2 (root mean square ") and "column 3 (root mean square " in t and "standardize=True" in t
               for t in texts), texts
    assert any(t.startswith("learning_rate 1 is above the stable step of these data (1 of 1 models; model 0's "
                            "bound is 2/S = ") and "learning_rate='auto'" in t for t in texts), texts
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # standardised and with the stable step: nothing to say
        fp.train(X, y, iterations=1, standardize=True, learning_rate="auto", progress=False)
    with pytest.warns(fp.StabilityWarning, match=r"the 5 models are identical: solver 'newton' takes every model to "
                                                 r"the optimum of its loss, which does not depend on the seed"):
        fp.train(X, y, models=5, solver="newton", bias=True, progress=False)
    with warnings.catch_warnings():  # bootstrap weights make them differ: no warning
        warnings.simplefilter("error")
        fp.train(X, y, sample_weight=fp.bootstrap_weights(500, range(5)), solver="newton", bias=True, progress=False)


def test_the_seed_problem_warns_of_nothing_and_keeps_its_bits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = fp.train(SEED_X, SEED_Y, seeds=[1], init="legacy", backend="numpy", progress=False)
        fp.train(SEED_X, SEED_Y, models=100, rule="logistic", bias=True, iterations=100, progress=False)
    assert r.weights[0, :, 0].round(8).tolist() == [10.38040701, -0.20641179, -4.98452047]
    assert r.learning_rate.tolist() == [1.0]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "fastperceptron", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_cli_on_a_raw_table(tmp_path):
    """--data: by default one logistic model with a bias on standardised columns, l2 = 1, at its
    optimum (issue 31); gradient steps take the stable step, their scale warning (with the columns'
    names) said before training unless the columns are standardised, which is folded into the saved
    model."""
    rng = np.random.default_rng(8)
    X, y = _raw(rng, 300)
    path = tmp_path / "raw.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="flag,age,income,balance,y", comments="")
    p = _cli("train", "--data", path, "--out", tmp_path / "d.npz")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "models           1 x " in p.stdout and "note" not in p.stdout
    mean, sd = _manual(X)
    optimum = fp.train((X - mean) / sd, y, solver="newton", l2=1.0, bias=True)
    np.testing.assert_allclose(fp.load(tmp_path / "d.npz").predict_proba(X), optimum.predict_proba((X - mean) / sd),
                               rtol=1e-9)
    p = _cli("train", "--data", path, "--solver", "gd", "--rule", "seed", "--no-bias", "--no-standardize", "--l2", 0,
             "--models", 2, "--iterations", 5, "--out", tmp_path / "a.npz")
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith("fastperceptron: warning: 2 feature column(s) are far from the scale gradient steps "
                               "assume (|x| about 1): 'income' (root mean square ")
    r = fp.load(tmp_path / "a.npz")
    np.testing.assert_allclose(r.learning_rate, _stable(X, None, 0), rtol=1e-12)
    p = _cli("train", "--data", path, "--models", 2, "--iterations", 50, "--solver", "gd", "--l2", 0,
             "--out", tmp_path / "s.npz")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    plain = fp.train((X - mean) / sd, y, models=2, iterations=50, rule="logistic", bias=True, learning_rate="auto")
    np.testing.assert_allclose(fp.load(tmp_path / "s.npz").predict_proba(X), plain.predict_proba((X - mean) / sd),
                               rtol=1e-12)
