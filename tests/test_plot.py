"""result.plot and `fastperceptron plot`: the figures' content (axes, labels, the data drawn), not pixels."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import fastperceptron as fp

pytest.importorskip("matplotlib", reason="plots need matplotlib (the 'plot' extra)")

from fastperceptron import plot as fplot  # noqa: E402


@pytest.fixture(scope="module")
def batch():
    X, y = fp.datasets.seed()
    return fp.train(X, y, models=40, iterations=300, record_every=20, bias=True, backend="numpy", progress=False)


def _bar_heights(ax):
    return np.array([p.get_height() for p in ax.patches])


def test_loss_histogram_holds_every_model(batch):
    fig = batch.plot("loss")
    (ax,) = fig.axes
    assert _bar_heights(ax).sum() == batch.n_models
    assert ax.get_xlabel().startswith("final loss (weighted mean squared error)")
    assert ax.get_ylabel() == "models"
    assert ax.get_title() == "final loss: 40 models on numpy (float64)"
    (median,) = [line for line in ax.lines if line.get_label().startswith("median")]
    assert median.get_xdata()[0] == pytest.approx(np.median(batch.loss))


def test_loss_axis_is_logarithmic_when_losses_span_decades(batch):
    spread = dataclasses.replace(batch, loss=np.geomspace(1e-8, 1e-1, 40))
    ax = spread.plot("loss").axes[0]
    assert ax.get_xscale() == "log" and "log scale" in ax.get_xlabel()
    assert _bar_heights(ax).sum() == 40
    assert batch.plot("loss").axes[0].get_xscale() == "linear"


def test_weights_one_panel_per_weight_and_bias(batch):
    fig = batch.plot("weights")
    assert [ax.get_title() for ax in fig.axes] == ["w[x1]", "w[x2]", "w[x3]", "bias"]
    for ax, values in zip(fig.axes, [*batch.weights[:, :, 0].T, batch.bias[:, 0]]):
        heights = _bar_heights(ax)
        assert heights.sum() == batch.n_models
        edges = [p.get_x() for p in ax.patches]
        assert min(edges) == pytest.approx(values.min())
    assert fig._suptitle.get_text() == "weights: 40 models on numpy (float64)"


def test_weights_beyond_sixteen_are_named_not_drawn(rng):
    X = rng.normal(size=(50, 20))
    y = (X[:, 0] > 0).astype(float)
    r = fp.train(X, y, models=3, iterations=5, backend="numpy", progress=False)
    fig = r.plot("weights")
    assert len(fig.axes) == fplot.MAX_PANELS
    assert "… and 5 more" in fig.axes[-1].texts[0].get_text()
    assert fig.axes[0].get_title() == "w[x1]"


def test_learning_curves_median_and_band(batch):
    ax = batch.plot("curves").axes[0]
    (median,) = [line for line in ax.lines if line.get_label() == "median over models"]
    its = 20 * np.arange(1, batch.history.shape[1] + 1)
    np.testing.assert_array_equal(median.get_xdata(), its)
    np.testing.assert_allclose(median.get_ydata(), np.median(batch.history, axis=0))
    band = ax.collections[0]
    assert band.get_label() == "5–95 % of models"
    ys = band.get_paths()[0].vertices[:, 1]
    lo, hi = np.quantile(batch.history, [0.05, 0.95], axis=0)
    assert ys.min() == pytest.approx(lo.min()) and ys.max() == pytest.approx(hi.max())
    assert ax.get_xlabel() == "iterations" and ax.get_ylabel() == "loss (weighted mean squared error)"


def test_curves_need_a_history():
    X, y = fp.datasets.seed()
    r = fp.train(X, y, models=2, iterations=5, backend="numpy", progress=False)
    with pytest.raises(ValueError, match=r"no loss history: train with record_every=k \(CLI: --record-every K\)"):
        r.plot("curves")


def test_sweep_every_model_a_point_and_iterations_on_a_second_axis():
    X, y = fp.datasets.seed()
    rates = np.tile(np.geomspace(0.05, 20, 8), 3)
    r = fp.train(X, y, seeds=np.repeat([0, 1, 2], 8), learning_rate=rates, iterations=3000, tol=1e-3,
                 backend="numpy", progress=False)
    assert len(np.unique(r.iterations)) > 1
    fig = r.plot()  # auto: the learning rate varies
    ax, twin = fig.axes
    assert ax.get_title() == "learning-rate sweep: 24 models on numpy (float64)"
    points = ax.collections[0].get_offsets()
    assert len(points) == 24
    np.testing.assert_allclose(np.asarray(points)[:, 0], rates)
    (median,) = [line for line in ax.lines if line.get_label() == "median"]
    assert len(median.get_xdata()) == 8
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate η"
    assert twin.get_ylabel() == "iterations used"
    np.testing.assert_array_equal(twin.lines[0].get_ydata(), [np.median(r.iterations[rates == v]) for v in np.unique(rates)])


def test_sweep_needs_a_varying_hyperparameter(batch):
    with pytest.raises(ValueError, match="no hyperparameter varies across these models"):
        batch.plot("sweep")


def test_groups_loss_against_size(rng):
    g = np.repeat(np.arange(30), rng.integers(3, 60, size=30))
    X = rng.normal(size=(g.size, 2))
    y = (rng.random(g.size) < 0.5).astype(float)
    r = fp.train(X, y, groups=g, iterations=50, rule="logistic", backend="numpy", progress=False)
    ax = r.plot().axes[0]
    assert ax.get_title() == "loss by group size: 30 models on numpy (float64)"
    points = np.asarray(ax.collections[0].get_offsets())
    np.testing.assert_array_equal(points[:, 0], r.group_sizes)
    np.testing.assert_allclose(points[:, 1], r.loss)
    assert ax.get_xlabel() == "rows in the group"
    with pytest.raises(ValueError, match="not trained with groups="):
        dataclasses.replace(r, groups=None, group_sizes=None).plot("groups")


def test_auto_chooses_from_what_the_result_holds(batch):
    X, y = fp.datasets.seed()
    plain = fp.train(X, y, models=3, iterations=5, backend="numpy", progress=False)
    assert fplot.choose(plain) == "loss" and fplot.choose(batch) == "curves"
    swept = fp.train(X, y, learning_rate=[0.1, 1.0], iterations=5, backend="numpy", progress=False)
    assert fplot.choose(swept) == "sweep"
    groups = fp.train(X, y, groups=[0, 0, 1, 1], iterations=5, backend="numpy", progress=False)
    assert fplot.choose(groups) == "groups"


def test_into_an_existing_axes_and_to_a_file(batch, tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert batch.plot("loss", ax=right) is fig and right.get_title().startswith("final loss")
    with pytest.raises(ValueError, match="one panel per weight in a figure of its own"):
        batch.plot("weights", ax=left)
    batch.plot("curves", path=tmp_path / "c")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    batch.plot("loss", path=tmp_path / "l.svg")
    assert b"<svg" in (tmp_path / "l.svg").read_bytes()[:500]
    with pytest.raises(ValueError, match=r"cannot write a figure as '\.jpg': use a \.png, \.svg or \.pdf"):
        batch.plot("loss", path=tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="kind must be one of"):
        batch.plot("histogram")


def test_a_missing_matplotlib_is_named_with_the_fix(batch, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"plotting needs matplotlib: pip install 'fastperceptron\[plot\]'"):
        batch.plot()


def _cli(*args, check_rc=0):
    p = subprocess.run([sys.executable, "-m", "fastperceptron", *map(str, args)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == check_rc, p.stderr
    return p


def test_cli_writes_the_png(tmp_path):
    model, curves, weights = tmp_path / "m.npz", tmp_path / "curves.png", tmp_path / "w.png"
    out = _cli("train", "--models", 20, "--iterations", 200, "--record-every", 10, "--backend", "numpy",
               "--out", model, "--plot", curves).stdout
    assert f"plot             {curves} (curves)" in out
    assert curves.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = _cli("plot", model, "--out", weights, "--kind", "weights").stdout
    assert f"{weights} (weights)" in out and weights.stat().st_size > 1000


def test_cli_plot_errors_come_before_training(tmp_path):
    p = _cli("train", "--models", 2, "--iterations", 5, "--plot", tmp_path / "x.png", "--plot-kind", "curves",
             check_rc=2)
    assert "--plot-kind curves needs --record-every K" in p.stderr and "models" not in p.stdout
    p = _cli("train", "--models", 2, "--iterations", 5, "--plot", tmp_path / "x.gif", check_rc=2)
    assert "cannot write a figure as '.gif'" in p.stderr and "Traceback" not in p.stderr
    p = _cli("plot", tmp_path / "none.npz", "--out", tmp_path / "x.png", check_rc=2)
    assert "no model file at" in p.stderr


def test_the_readme_shows_every_kind_beside_the_script_that_makes_it():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    script = (root / "docs" / "make_images.py").read_text(encoding="utf-8")
    for kind in fplot.KINDS[1:]:
        image = f"docs/images/{kind}.png"
        assert f"]({image})" in readme, kind
        assert (root / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", kind
        assert image in script, kind


def test_coef_forest_one_interval_per_model_sorted_and_the_discoveries_coloured(rng):
    X, y, g = fp.datasets.groups(60, median_rows=80, features=3)
    r = fp.train(X, y, groups=g, solver="newton", l2=1.0, bias=True, cov="nonrobust", progress=False)
    t = r.coef_table()
    ax = r.plot("coef", term="x2", q=0.1).axes[0]
    drawn = [line for line in ax.lines if line.get_linestyle() == "None"]
    xs = np.concatenate([line.get_xdata() for line in drawn])
    ys = np.concatenate([line.get_ydata() for line in drawn])
    est = t.estimate[:, 0, 1]
    finite = np.isfinite(t.ci_low[:, 0, 1])
    assert xs.size == finite.sum() and sorted(ys) == list(range(xs.size))
    np.testing.assert_allclose(xs[np.argsort(ys)], np.sort(est[finite]))  # sorted by the estimate
    found = int((t.q_value[:, 0, 1][finite] < 0.1).sum())
    assert [line.get_label() for line in drawn] == [f"q ≥ 0.1 ({finite.sum() - found:,})", f"q < 0.1 ({found:,})"]
    assert ax.get_xlabel() == "x2: estimate and 95 % interval (nonrobust)"
    assert r.plot("coef").axes[0].get_xlabel().startswith("x1:")
    assert r.plot("coef", term="bias").axes[0].get_xlabel().startswith("bias:")


def test_coef_needs_a_covariance_and_a_known_term(batch):
    with pytest.raises(ValueError, match="this batch has no covariance: train it with cov="):
        batch.plot("coef")
    X, y = fp.datasets.seed()
    r = fp.train(X, y, models=3, solver="newton", l2=1.0, bias=True, cov="nonrobust", progress=False)
    with pytest.raises(ValueError, match=r"term='x9' is not one of this batch's terms \['x1', 'x2', 'x3', 'bias'\]"):
        r.plot("coef", term="x9")
    with pytest.raises(TypeError, match="term= apply to kind='coef'"):
        r.plot("loss", term="x1")


def test_cli_coef_plot_and_its_errors(tmp_path):
    model, png = tmp_path / "m.npz", tmp_path / "coef.png"
    p = _cli("train", "--models", 2, "--iterations", 5, "--plot", png, "--plot-kind", "coef", check_rc=2)
    assert "--plot-kind coef needs --cov nonrobust" in p.stderr
    _cli("train", "--models", 5, "--solver", "newton", "--l2", 1, "--bias", "--cov", "HC0", "--out", model)
    assert f"{png} (coef)" in _cli("plot", model, "--kind", "coef", "--term", "x3", "--out", png).stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = _cli("plot", model, "--kind", "loss", "--term", "x3", "--out", png, check_rc=2)
    assert "--term applies to --kind coef" in p.stderr
    p = _cli("plot", model, "--kind", "coef", "--term", "age", "--out", png, check_rc=2)
    assert "term='age' is not one of" in p.stderr and "Traceback" not in p.stderr
