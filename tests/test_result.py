"""Putting a batch to work: the ensemble's uncertainty and group fallbacks (issue 14)."""

import re
import subprocess
import sys

import numpy as np
import pytest

import fastperceptron as fp


@pytest.fixture(scope="module")
def ensemble():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4))
    Y = (rng.random((300, 2)) < 1 / (1 + np.exp(-X[:, :2]))).astype(float)
    weights = fp.bootstrap_weights(300, np.arange(64))
    return fp.train(X, Y, sample_weight=weights, solver="newton", l2=1.0, bias=True, backend="numpy",
                    progress=False), rng.normal(size=(37, 4))


def test_summary_matches_numpys_own_statistics_over_models(ensemble):
    r, X = ensemble
    P = r.predict_proba(X)  # (B, M, K), independently computed
    s = r.ensemble_summary(X, quantiles=(0.05, 0.5, 0.95), rows=10)  # in slices of 10 rows
    np.testing.assert_allclose(s.mean, P.mean(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(s.std, P.std(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(s.quantiles, np.quantile(P, [0.05, 0.5, 0.95], axis=0), rtol=0, atol=1e-15)
    assert s.mean.shape == (37, 2) and s.quantiles.shape == (3, 37, 2)
    np.testing.assert_array_equal(s.quantile(0.5), s.quantiles[1])
    assert (s.quantile(0.05) <= s.quantile(0.95)).all() and (s.std > 0).all()


def test_summary_errors(ensemble):
    r, X = ensemble
    with pytest.raises(ValueError, match=r"quantiles must be levels in \[0, 1\]"):
        r.ensemble_summary(X, quantiles=(0.5, 1.5))
    with pytest.raises(ValueError, match=r"level 0\.25 was not computed; this summary has levels \[0\.05, 0\.95\]"):
        r.ensemble_summary(X).quantile(0.25)
    Xg, yg = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    g = fp.train(Xg, yg.astype(float), groups=np.arange(20) % 3, iterations=5, backend="numpy", progress=False)
    for call in (g.ensemble_summary, g.ensemble_proba, g.predict_proba, g.predict):
        with pytest.raises(ValueError, match=r"this batch has one model per group \(3 groups\), not an ensemble over "
                                             r"the same rows: give each row's group, predict_proba\(X, groups=g\)"):
            call(Xg)
    assert g.predict_proba(Xg, groups=np.arange(20) % 3).shape == (20, 1)


def test_cli_predict_summary(ensemble, tmp_path):
    r, X = ensemble
    model = r.save(tmp_path / "m.npz")
    out = subprocess.run([sys.executable, "-m", "fastperceptron", "predict", str(model), "--input", *map(str, X[0]),
                          "--summary"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "p0_mean,p0_std,p0_q5,p0_q95,p1_mean,p1_std,p1_q5,p1_q95"
    got = np.array(out[1].split(","), dtype=float)
    P = r.predict_proba(X[:1])[:, 0]  # (B, K)
    want = [P[:, 0].mean(), P[:, 0].std(), *np.quantile(P[:, 0], [0.05, 0.95]),
            P[:, 1].mean(), P[:, 1].std(), *np.quantile(P[:, 1], [0.05, 0.95])]
    np.testing.assert_allclose(got, want, atol=1e-8)


# --- group fallbacks ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grouped():
    X, y, g = fp.datasets.groups(60, median_rows=25, seed=7)
    with pytest.warns(fp.ConvergenceWarning):  # a few tiny groups hold one class
        r = fp.train(X, y, groups=g, solver="newton", l2=1.0, bias=True, fallback=True, min_rows=15,
                     backend="numpy", progress=False)
    return r, X, y, g


def test_fallback_is_the_model_trained_on_all_rows(grouped):
    r, X, y, g = grouped
    alone = fp.train(X, y, seeds=[0], solver="newton", l2=1.0, bias=True, backend="numpy", progress=False)
    np.testing.assert_array_equal(r.fallback_weights, alone.weights[0])
    np.testing.assert_array_equal(r.fallback_bias, alone.bias[0])
    assert r.min_rows == 15 and r.n_models == 60


def test_fallback_routing_row_by_row(grouped):
    r, X, y, g = grouped
    labels = g.copy()
    labels[:7] = 1000 + np.arange(7)  # never seen
    served = r.served_by_fallback(labels, unseen="fallback")
    P = r.predict_proba(X, groups=labels, unseen="fallback")
    sizes = dict(zip(r.groups.tolist(), r.group_sizes.tolist()))
    for m in range(len(labels)):  # one row at a time, against the rule written out
        label = int(labels[m])
        expect_fallback = label not in sizes or sizes[label] < 15
        assert served[m] == expect_fallback, m
        if expect_fallback:
            z = X[m] @ r.fallback_weights + r.fallback_bias
        else:
            b = int(np.flatnonzero(r.groups == label)[0])
            z = X[m] @ r.weights[b] + r.bias[b]
        np.testing.assert_allclose(P[m], 1 / (1 + np.exp(-z)), rtol=1e-14)
    assert served[:7].all() and 0 < served[7:].sum() < len(labels) - 7
    with pytest.raises(ValueError, match=r"7 label\(s\) in groups were never seen in training .*unseen='fallback'"):
        r.predict_proba(X, groups=labels)
    np.testing.assert_array_equal(r.served_by_fallback(g), r.group_sizes[np.searchsorted(r.groups, g)] < 15)


def test_fallback_survives_save_load_and_subsets(grouped, tmp_path):
    r, X, y, g = grouped
    back = fp.load(r.save(tmp_path / "g.npz"))
    np.testing.assert_array_equal(back.fallback_weights, r.fallback_weights)
    assert back.min_rows == 15
    np.testing.assert_array_equal(back.predict_proba(X, groups=g), r.predict_proba(X, groups=g))
    import json
    with np.load(tmp_path / "g.npz") as z:
        assert json.loads(z["metadata"].tobytes())["format_version"] == 2
    part = r[:10]
    assert part.fallback_weights is r.fallback_weights and part.min_rows == 15


def test_fallback_errors(grouped):
    r, X, y, g = grouped
    with pytest.raises(ValueError, match="fallback=True trains a model for the groups that lack one: it needs groups="):
        fp.train(X, y, fallback=True)
    with pytest.raises(ValueError, match="min_rows=5 sends small groups to the fallback model: set fallback=True"):
        fp.train(X, y, groups=g, min_rows=5)
    with pytest.raises(ValueError, match="learning_rate is given per group: train the fallback model yourself"):
        fp.train(X, y, groups=g, fallback=True, learning_rate=np.full(60, 0.1))
    plain = fp.train(X, y, groups=g, iterations=3, backend="numpy", progress=False)
    with pytest.raises(ValueError, match="unseen='fallback' needs a fallback model"):
        plain.predict_proba(X, groups=g, unseen="fallback")
    with pytest.raises(ValueError, match="the fallback must be one model trained without groups"):
        plain.with_fallback(plain)
    attached = plain.with_fallback(fp.train(X, y, iterations=3, backend="numpy", progress=False), min_rows=10)
    assert attached.served_by_fallback(g).sum() == (plain.group_sizes[np.searchsorted(plain.groups, g)] < 10).sum()


def test_cli_fallback(tmp_path):
    X, y, g = fp.datasets.groups(20, median_rows=20, seed=1)
    table = tmp_path / "t.csv"
    header = ",".join(f"x{i}" for i in range(8)) + ",store,y"
    rows = [",".join(f"{v:.6f}" for v in x) + f",s{label},{t:g}" for x, label, t in zip(X, g, y)]
    table.write_text("\n".join([header, *rows]) + "\n")
    new = tmp_path / "new.csv"
    new.write_text("\n".join([header.rsplit(",", 1)[0], *[r.rsplit(",", 1)[0] for r in rows[:3]],
                              ",".join(["0.1"] * 8) + ",nowhere"]) + "\n")
    run = lambda *a: subprocess.run([sys.executable, "-m", "fastperceptron", *map(str, a)], capture_output=True,  # noqa: E731
                                    text=True)
    p = run("train", "--data", table, "--group-by", "store", "--target", "y", "--solver", "newton", "--l2", 1,
            "--bias", "--fallback", "--min-rows", 15, "--out", tmp_path / "g.npz")
    assert p.returncode == 0, p.stderr
    assert "fallback         one model on all" in p.stdout
    out = run("predict", tmp_path / "g.npz", "--data", new, "--unseen", "fallback").stdout.splitlines()
    assert out[0] == "store,y_proba,fallback" and out[-1].startswith("nowhere,") and out[-1].endswith(",1")
    r = fp.load(tmp_path / "g.npz")
    labels = [line.split(",")[0] for line in out[1:]]
    np.testing.assert_array_equal([int(line.rsplit(",", 1)[1]) for line in out[1:]],
                                  r.served_by_fallback(labels, unseen="fallback"))
    p = run("predict", tmp_path / "g.npz", "--data", new)
    assert p.returncode == 2 and "never seen in training ('nowhere')" in p.stderr and "--unseen fallback" in p.stderr


def test_a_subset_keeps_every_per_model_field_in_its_order(rng):
    """result[idx] takes row idx of every per-model array (weights … covariance) and nothing else;
    the pooling, whose paths a subset no longer spans, is dropped."""
    import dataclasses

    X = rng.normal(size=(200, 3))
    y = (rng.random(200) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    g = rng.choice(["a", "b", "c", "d"], size=200)
    r = fp.train(X, y, groups=g, solver="newton", l2=np.array([0.5, 1.0, 2.0, 3.0]), bias=True, cov="nonrobust",
                 backend="numpy", progress=False)
    gd = fp.train(X, y, models=4, iterations=30, record_every=10, learning_rate=np.array([0.1, 0.2, 0.3, 0.4]),
                  backend="numpy", progress=False)
    per_model = [f.name for f in dataclasses.fields(r) if isinstance(getattr(r, f.name), np.ndarray)
                 and getattr(r, f.name).shape[:1] == (4,)]
    assert {"weights", "bias", "seeds", "loss", "iterations", "learning_rate", "groups", "group_sizes", "l2",
            "converged", "stop_reason", "covariance"} <= set(per_model)
    for batch in (r, gd):
        for idx in ([2, 0], slice(1, 3), np.array([True, False, False, True])):
            sub = batch[idx]
            want = np.arange(4)[idx]
            for name in [f.name for f in dataclasses.fields(batch)]:
                value = getattr(batch, name)
                if isinstance(value, np.ndarray) and value.shape[:1] == (4,):
                    np.testing.assert_array_equal(getattr(sub, name), value[want], err_msg=name)
                elif name not in ("pooling",):
                    assert getattr(sub, name) is value or getattr(sub, name) == value, name
    assert gd[[1, 3]].history.shape[0] == 2 and np.array_equal(gd[[1, 3]].history, gd.history[[1, 3]])
    pooled = fp.train(X, y, groups=[np.where(np.isin(g, ["a", "b"]), "ab", "cd"), g], shrink=1.0, bias=True,
                      backend="numpy", progress=False)
    assert pooled.pooling is not None and pooled[:2].pooling is None
    assert r[[]].n_models == 0 and r["c"].groups.tolist() == ["c"] and r[["d", "a"]].groups.tolist() == ["d", "a"]
    with pytest.raises(TypeError, match=r"^result\['a'\]: select models by position \(an int, a slice, an index "
                                        r"array or a boolean mask\); labels select models of a batch trained on "
                                        r"string group labels$"):
        gd["a"]
    with pytest.raises(IndexError, match=r"^result\[7\]: index 7 is out of bounds .* \(this batch has 4 models\)$"):
        gd[7]
    with pytest.raises(ValueError, match=r"^this batch was not trained with groups=; select models by position: "
                                         r"result\[i\]$"):
        gd.group("a")


def test_predict_thresholds_and_routing(grouped):
    r, X, y, g = grouped
    P = r.predict_proba(X[:20], groups=g[:20])
    edge = float(P[3, 0])
    hard = r.predict(X[:20], threshold=edge, groups=g[:20])
    assert hard[3, 0] == 1 and np.array_equal(hard, (P >= edge).astype(np.int8))  # >=, at the threshold too
    assert r.predict(X[:20], threshold=0, groups=g[:20]).all() and not r.predict(X[:20], threshold=1,
                                                                                 groups=g[:20]).any()
    unseen = np.array([10**6] * 3)  # a label never seen
    np.testing.assert_array_equal(r.predict(X[:3], groups=unseen, unseen="fallback"),
                                  (r.predict_proba(X[:3], groups=unseen, unseen="fallback") >= 0.5).astype(np.int8))
    for bad in (True, "0.5", -0.1, 1.1, 2, None):
        with pytest.raises(ValueError, match=rf"^threshold must be a probability in \[0, 1\], got {re.escape(repr(bad))}$"):
            r.predict(X[:2], threshold=bad, groups=g[:2])


def test_with_fallback_refuses_what_cannot_serve(grouped, ensemble):
    r, X, y, g = grouped
    batch, X_new = ensemble
    one = fp.train(X, y, iterations=3, backend="numpy", progress=False)
    message = r"^the fallback must be one model trained without groups \(a TrainResult with n_models 1\)$"
    for bad in (r, one.weights, fp.train(X, y, models=2, iterations=3, backend="numpy", progress=False)):
        with pytest.raises(ValueError, match=message):
            r.with_fallback(bad)
    with pytest.raises(ValueError, match=r"^a fallback model serves groups: this batch was not trained with groups=$"):
        one.with_fallback(one)
    other = fp.train(X[:, :2], y, iterations=3, backend="numpy", progress=False)
    with pytest.raises(ValueError, match=re.escape(f"the fallback has (D, K) = (2, 1), the groups' models "
                                                   f"({X.shape[1]}, 1): train it on the same features and targets")):
        r.with_fallback(other)
    with pytest.raises(ValueError, match=r"min_rows"):
        r.with_fallback(one, min_rows=-1)
    assert r.with_fallback(one, min_rows=3).min_rows == 3
    with pytest.raises(ValueError, match=r"^ensemble_summary: this batch has one model per group"):
        r.ensemble_summary(X[:3])
    whole = batch.ensemble_summary(X_new)
    sliced = fp.result.summarize(batch.predict_proba, X_new, batch.n_models, batch.n_outputs, (0.05, 0.95), 5)
    np.testing.assert_allclose(whole.mean, sliced.mean, rtol=1e-12)
