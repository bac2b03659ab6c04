"""fastperceptron.metrics against scikit-learn's (an independent implementation), with weights, ties
and groups; and train --validate, which prints them for held-out rows."""

import contextlib
import io
import shlex

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron import cli

sk = pytest.importorskip("sklearn.metrics")


def test_the_metrics_equal_scikit_learns():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.4).astype(float)
    p = np.round(rng.random(400), 2)  # many ties
    p[:3] = [0.0, 1.0, 1.0]           # clipped by the log-loss
    w = rng.random(400) + 0.1
    for weight in (None, w):
        assert fp.metrics.roc_auc(y, p, weight) == pytest.approx(sk.roc_auc_score(y, p, sample_weight=weight), rel=1e-12)
        assert fp.metrics.log_loss(y, p, weight) == pytest.approx(sk.log_loss(y, p, sample_weight=weight), rel=1e-12)
        assert fp.metrics.accuracy(y, p, weight=weight) == pytest.approx(
            sk.accuracy_score(y, p >= 0.5, sample_weight=weight), rel=1e-12)
    assert np.isnan(fp.metrics.roc_auc(np.ones(3), p[:3]))
    groups = rng.integers(0, 5, 400)
    s = fp.metrics.scores(y, p, groups)
    per = [sk.log_loss(y[groups == g], p[groups == g], labels=[0, 1]) for g in range(5)]
    assert s["groups"]["log_loss"] == pytest.approx((np.median(per), max(per)), rel=1e-12)
    assert s["groups"]["count"] == 5 and s["rows"] == 400


def _cli(line):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(shlex.split(line))
    return rc, out.getvalue(), err.getvalue()


def test_validate_holds_out_a_share_of_each_group_and_scores_it(tmp_path):
    from fastperceptron.cli.train import _hold_out

    rng = np.random.default_rng(3)
    n = 600
    store = rng.integers(0, 12, n)
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    path = tmp_path / "t.csv"
    path.write_text("store,a,b,y\n" + "".join(f"{s},{float(a)!r},{float(b)!r},{t}\n" for s, (a, b), t in zip(store, X, y)))
    rc, out, err = _cli(f"train --data {path} --target y --group-by store --validate 0.25 --out {tmp_path / 'm.npz'}")
    assert rc == 0, err
    Xt, yt, gt, (Xh, yh, gh), _ = _hold_out(0.25, X, y.astype(float)[:, None], store)
    for s in range(12):  # a quarter of each group's rows, rounded
        assert (gh == s).sum() == np.floor(0.25 * (store == s).sum() + 0.5)
    r = fp.load(tmp_path / "m.npz")
    assert int(r.group_sizes.sum()) == len(yt)  # trained (and saved) without the held-out rows
    p = r.predict_proba(Xh, groups=gh)[:, 0]
    expect = (f"held-out         {len(yh):,} rows: log-loss {fp.metrics.log_loss(yh, p):.4f}, accuracy "
              f"{fp.metrics.accuracy(yh, p):.4f}, AUC {fp.metrics.roc_auc(yh, p):.4f}")
    assert expect in out and "  per group      12 groups: log-loss median " in out
    for bad in ("0", "1.5"):
        rc, _, err = _cli(f"train --data {path} --target y --validate {bad}")
        assert rc == 2 and "--validate takes the share of rows to hold out, between 0 and 1" in err
