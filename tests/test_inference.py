"""Statistics for every model (issue 34, SPEC §9): each model's covariance against statsmodels and the
R/Stata results it ships (Spector, Star98), against an independent per-model numpy computation for
shared data, per-model data, bootstrap counts, groups and a pooled hierarchy on every backend, the
Benjamini–Hochberg q-values, the long table, files, and the errors."""

import re

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.stats import benjamini_hochberg


def _independent(X, y, s, w, c, lam=0.0, R=None, cov="nonrobust", clusters=None):
    """SPEC §9 for one model, written plainly on the user's columns."""
    Xt = np.c_[X, np.ones(len(X))] if c is not None else X
    theta = np.r_[w, c] if c is not None else w
    s = np.ones(len(X)) if s is None else s
    p = 1 / (1 + np.exp(-(Xt @ theta)))
    P = Xt.shape[1]
    if R is None:
        R = np.diag([lam] * X.shape[1] + [0.0] * (P - X.shape[1]))
    H = (Xt * (s * p * (1 - p))[:, None]).T @ Xt + R
    Hi = np.linalg.inv(H)
    if cov == "nonrobust":
        return Hi
    e = s * (y - p)
    N = int((s > 0).sum())
    if cov == "cluster":
        labels = np.unique(clusters[s > 0])
        U = np.array([(e[clusters == g][:, None] * Xt[clusters == g]).sum(axis=0) for g in labels])
        G = len(labels)
        return G / (G - 1) * (N - 1) / (N - P) * Hi @ (U.T @ U) @ Hi
    M = (Xt * (e * e)[:, None]).T @ Xt
    return (1.0 if cov == "HC0" else N / (N - P)) * Hi @ M @ Hi


@pytest.fixture(scope="module")
def raw():
    rng = np.random.default_rng(34)
    n = 400
    X = np.column_stack([rng.normal(5e4, 1e4, n), rng.uniform(20, 80, n), rng.random(n) < 0.4]).astype(float)
    z = (X[:, 0] - 5e4) / 1e4 - 0.03 * (X[:, 1] - 50) + X[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    return X, y, rng.integers(0, 12, n)


def test_equals_statsmodels_and_the_stata_and_r_results_it_ships():
    sm = pytest.importorskip("statsmodels.api")
    rd = pytest.importorskip("statsmodels.discrete.tests.results.results_discrete")
    rg = pytest.importorskip("statsmodels.genmod.tests.results.results_glm")
    d = sm.datasets.spector.load_pandas()
    X, y = d.exog.to_numpy(), d.endog.to_numpy()
    stata = rd.Spector.logit  # Stata 11: its own optimum agrees with the exact one to 1.3e-7
    r = fp.train(X, y, solver="newton", bias=True, cov="nonrobust")
    np.testing.assert_allclose(r.coef_table().estimate.ravel(), stata.params, rtol=1e-6)
    np.testing.assert_allclose(r.coef_table().std_error.ravel(), stata.bse, rtol=1e-6)
    np.testing.assert_allclose(r.covariance[0, 0], stata.cov_params, rtol=1e-6)
    Xc = sm.add_constant(X, prepend=False)
    clusters = np.arange(len(y)) % 8
    for cov in ("nonrobust", "HC0", "HC1", "cluster"):
        kw = {"cov_kwds": {"groups": clusters}} if cov == "cluster" else {}
        ref = sm.Logit(y, Xc).fit(disp=0, method="newton", tol=1e-14, cov_type="HC1" if cov == "HC1" else cov, **kw)
        t = fp.train(X, y, solver="newton", bias=True, cov=cov, clusters=clusters if cov == "cluster" else None
                     ).coef_table()
        factor = np.sqrt(len(y) / (len(y) - 4)) if cov == "HC1" else 1.0  # statsmodels' discrete HC1 lacks N/(N − P)
        np.testing.assert_allclose(t.std_error.ravel(), factor * np.asarray(ref.bse), rtol=1e-6)
        if cov != "HC1":
            np.testing.assert_allclose(t.p_value.ravel(), ref.pvalues, rtol=1e-6)
            np.testing.assert_allclose(np.c_[t.ci_low.ravel(), t.ci_high.ravel()], ref.conf_int(), rtol=1e-6)
    star = sm.datasets.star98.load()
    Y = np.asarray(star.endog, dtype=float)
    trials = Y.sum(axis=1)
    r = fp.train(np.asarray(star.exog, dtype=float), Y[:, 0] / trials, sample_weight=trials, solver="newton", bias=True,
                 cov="nonrobust")
    R = rg.Star98()  # R's glm(binomial), the intercept last
    t = r.coef_table()
    np.testing.assert_allclose(t.estimate.ravel(), R.params, rtol=1e-6)
    np.testing.assert_allclose(t.std_error.ravel(), R.bse, rtol=1e-6)


@pytest.mark.parametrize("cov", ["nonrobust", "HC0", "HC1", "cluster"])
def test_every_layout_equals_an_independent_computation(backend, raw, cov):
    X, y, g = raw
    rng = np.random.default_rng(1)
    clusters = rng.integers(0, 30, len(y))
    kw = dict(solver="newton", bias=True, backend=backend, cov=cov, clusters=clusters if cov == "cluster" else None)
    counts = fp.bootstrap_weights(len(y), np.arange(3))
    boot = fp.train(X, y, sample_weight=counts, l2=[0.5, 1.0, 2.0], **kw)
    for b in range(3):
        expect = _independent(X, y, counts[b], boot.weights[b, :, 0], boot.bias[b, 0], lam=[0.5, 1.0, 2.0][b], cov=cov,
                              clusters=clusters)
        np.testing.assert_allclose(boot.covariance[b, 0], expect, rtol=1e-8, atol=1e-8 * np.abs(expect).max())
    grouped = fp.train(X, y, groups=g, l2=1.0, **kw)
    for k, label in enumerate(grouped.groups):
        rows = g == label
        expect = _independent(X[rows], y[rows], None, grouped.weights[k, :, 0], grouped.bias[k, 0], lam=1.0, cov=cov,
                              clusters=clusters[rows])
        np.testing.assert_allclose(grouped.covariance[k, 0], expect, rtol=1e-8, atol=1e-8 * np.abs(expect).max())
    Xb = np.stack([X[:200], X[200:]])
    yb = np.stack([y[:200], y[200:]])
    if cov != "cluster":
        per = fp.train(Xb, yb, l2=1.0, **kw)
        for b in range(2):
            expect = _independent(Xb[b], yb[b], None, per.weights[b, :, 0], per.bias[b, 0], lam=1.0, cov=cov)
            np.testing.assert_allclose(per.covariance[b, 0], expect, rtol=1e-8, atol=1e-8 * np.abs(expect).max())


def test_a_pooled_hierarchys_covariance_holds_its_pull(raw):
    """The pull ½·ρ·‖A(θ − θ_parent)‖² in standard units adds ρ·AᵀA to each group's Hessian (the
    parent held fixed); the long table names each model by its levels."""
    X, y, g = raw
    region = g % 3
    r = fp.train(X, y, groups=[region, g], shrink=[2.0, 5.0], bias=True, backend="numpy", cov="nonrobust")
    m, s = X.mean(axis=0), X.std(axis=0)
    A = np.eye(4)
    A[:3, :3] = np.diag(s)
    A[3, :3] = m
    paths = np.char.add(np.char.add(region.astype(str), "/"), g.astype(str))
    for k, label in enumerate(r.groups):
        rows = paths == label
        expect = _independent(X[rows], y[rows], None, r.weights[k, :, 0], r.bias[k, 0], R=5.0 * A.T @ A, cov="nonrobust")
        np.testing.assert_allclose(r.covariance[k, 0], expect, rtol=1e-8, atol=1e-8 * np.abs(expect).max())
    pd = pytest.importorskip("pandas")
    frame = r.coef_table().to_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns[:3]) == ["level1", "level2", "term"]
    assert len(frame) == r.n_models * 4 and frame["term"].tolist()[:4] == ["x1", "x2", "x3", "bias"]


def test_q_values_are_benjamini_hochberg_and_unconverged_models_nan(raw, tmp_path):
    rng = np.random.default_rng(2)
    p = rng.random((50, 2, 3))
    p[3, 0, 1] = np.nan
    q = benjamini_hochberg(p)
    for k in range(2):
        for j in range(3):
            values = p[:, k, j]
            ok = np.isfinite(values)
            order = np.argsort(values[ok])
            m = ok.sum()
            ranked = values[ok][order] * m / np.arange(1, m + 1)
            expect = np.minimum(1, np.minimum.accumulate(ranked[::-1])[::-1])
            np.testing.assert_allclose(q[:, k, j][ok][order], expect, rtol=1e-12)
    assert np.isnan(q[3, 0, 1])
    X, y, g = raw
    ys = y.copy()
    ys[g == 0] = (X[g == 0, 1] > 50).astype(float)  # group 0 separable: no finite optimum without a penalty
    with pytest.warns(fp.ConvergenceWarning):
        r = fp.train(X, ys, groups=g, solver="newton", bias=True, cov="nonrobust", backend="numpy")
    t = r.coef_table()
    done = r.stop_reason == "converged"
    assert not done[0] and np.isnan(t.std_error[~done]).all() and np.isnan(t.q_value[~done]).all()
    assert done.sum() >= 8 and np.isfinite(t.q_value[done]).all()
    back = fp.load(r.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.covariance, r.covariance)
    assert back.params["cov"] == "nonrobust" and r[2:4].covariance.shape == (2, 1, 4, 4)


def test_errors_name_the_problem(raw):
    X, y, g = raw
    r = fp.train(X, y, solver="newton", bias=True)
    with pytest.raises(ValueError, match=r"this batch has no covariance: train it with cov="):
        r.coef_table()
    cases = [(dict(cov="HC3"), ValueError, "cov must be one of 'nonrobust', 'HC0', 'HC1', 'cluster'"),
             (dict(cov="nonrobust", solver="gd"), ValueError, "gradient steps do not reach"),
             (dict(cov="cluster"), ValueError, "cov='cluster' needs clusters="),
             (dict(cov="HC0", clusters=g), ValueError, "clusters= applies to cov='cluster', not cov='HC0'"),
             (dict(cov="HC0", cov_keep="upper"), ValueError, "cov_keep must be 'full' or 'diag'"),
             (dict(cov="cluster", clusters=g[:10]), ValueError, "clusters has 10"),
             (dict(cov="cluster", clusters="store"), TypeError, "clusters='store' names a column of a table")]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            fp.train(X, y, **{"solver": "newton", "bias": True, **kwargs})
    diag = fp.train(X, y, solver="newton", bias=True, cov="HC0", cov_keep="diag")
    full = fp.train(X, y, solver="newton", bias=True, cov="HC0")
    np.testing.assert_allclose(diag.covariance, np.einsum("bkii->bki", full.covariance), rtol=1e-12)
    np.testing.assert_allclose(diag.coef_table().std_error, full.coef_table().std_error, rtol=1e-12)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        full.coef_table(alpha=5)


def test_prediction_intervals_by_the_delta_method(raw):
    """predict_proba(X, interval=0.9): σ(z ∓ q·√(x̃·V·x̃ᵀ)) for every model of a batch and each row's
    model of a groups batch (NaN for a row its fallback serves); frames get <target>_low/_high."""
    from statistics import NormalDist

    X, y, g = raw
    q = NormalDist().inv_cdf(0.95)
    r = fp.train(X, y, solver="newton", bias=True, cov="HC1", sample_weight=fp.bootstrap_weights(len(y), [0, 1]))
    P, low, high = r.predict_proba(X[:5], interval=0.9)
    Xt = np.c_[X[:5], np.ones(5)]
    for b in range(2):
        z = Xt @ np.r_[r.weights[b, :, 0], r.bias[b, 0]]
        se = np.sqrt(np.einsum("mp,pq,mq->m", Xt, r.covariance[b, 0], Xt))
        np.testing.assert_allclose(low[b, :, 0], 1 / (1 + np.exp(-(z - q * se))), rtol=1e-10)
        np.testing.assert_allclose(high[b, :, 0], 1 / (1 + np.exp(-(z + q * se))), rtol=1e-10)
        assert (low[b] < P[b]).all() and (P[b] < high[b]).all()
    grouped = fp.train(X, y, groups=g, solver="newton", bias=True, l2=1.0, cov="nonrobust", fallback=True, min_rows=40)
    Pg, lg, hg = grouped.predict_proba(X[:50], groups=g[:50], interval=0.9)
    small = grouped.served_by_fallback(g[:50])
    assert np.isnan(lg[small]).all() and np.isfinite(lg[~small]).all() and (lg[~small] < Pg[~small]).all()
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})
    m = fp.train(df, target="y", solver="newton", bias=True, cov="nonrobust")
    out = m.predict_proba(df.head(3), as_frame=True, interval=0.9)
    assert list(out.columns) == ["y", "y_low", "y_high"] and (out["y_low"] < out["y"]).all()
    with pytest.raises(ValueError, match=r"interval= needs each model's covariance"):
        fp.train(X, y, solver="newton", bias=True).predict_proba(X[:2], interval=0.9)
    with pytest.raises(ValueError, match=r"interval is the intervals' coverage, in \(0, 1\)"):
        m.predict_proba(df.head(2), interval=95)


def test_the_command_line_trains_saves_and_writes_the_statistics(tmp_path, raw):
    """train --cov HC1 --cluster COL; coef MODEL --out (CSV, Parquet); info MODEL; predict --interval:
    the same numbers as the API's."""
    import contextlib
    import io
    import shlex

    from fastperceptron import cli

    pd = pytest.importorskip("pandas")
    X, y, g = raw
    df = pd.DataFrame({"income": X[:, 0], "age": X[:, 1], "flag": X[:, 2], "shop": g % 4, "city": g, "y": y})
    df.to_csv(tmp_path / "t.csv", index=False, float_format="%.17g")

    def run(line):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(shlex.split(line))
        return rc, out.getvalue(), err.getvalue()

    rc, _, err = run(f"train --data {tmp_path / 't.csv'} --target y --group-by shop --shrink none --cov cluster "
                     f"--cluster city --out {tmp_path / 'm.npz'}")
    assert rc == 0, err
    r = fp.load(tmp_path / "m.npz")
    ref = fp.train(df, target="y", features=["income", "age", "flag"], groups="shop", solver="auto", bias=True,
                   standardize=True, l2=1.0, cov="cluster", clusters="city")
    np.testing.assert_allclose(r.covariance, ref.covariance, rtol=1e-9)
    rc, out, _ = run(f"coef {tmp_path / 'm.npz'} --out {tmp_path / 'c.csv'}")
    assert rc == 0 and "wrote            " in out
    table = pd.read_csv(tmp_path / "c.csv")
    assert list(table.columns) == ["shop", "term", "estimate", "std_error", "z", "p_value", "ci_low", "ci_high",
                                   "q_value"]
    np.testing.assert_allclose(table["std_error"].to_numpy(), ref.coef_table().std_error.reshape(-1), rtol=1e-12)
    rc, out, _ = run(f"info {tmp_path / 'm.npz'}")
    assert rc == 0 and "(estimate, std. error, p-value; cov 'cluster')" in out
    rc, _, err = run(f"train --data {tmp_path / 't.csv'} --target y --drop shop,city --cov HC1 --out {tmp_path / 'o.npz'}")
    rc, out, _ = run(f"predict {tmp_path / 'o.npz'} --data {tmp_path / 't.csv'} --interval 0.9")
    lines = out.splitlines()
    assert lines[0] == "y_proba,y_low,y_high" and len(lines) == len(y) + 1
    low, p, high = (float(v) for v in (lines[1].split(",")[1], lines[1].split(",")[0], lines[1].split(",")[2]))
    assert low < p < high
    for line, message in [(f"coef {tmp_path / 'o.npz'} --out {tmp_path / 'c.txt'}", "written as CSV (.csv) or Parquet"),
                          (f"train --data {tmp_path / 't.csv'} --target y --cov cluster", "--cov cluster needs --cluster"),
                          (f"train --data {tmp_path / 't.csv'} --target y --cluster city", "--cluster COLUMN applies to "
                                                                                           "--cov cluster")]:
        rc, _, err = run(line)
        assert rc == 2 and message in err, err
    run(f"train --data {tmp_path / 't.csv'} --target y --drop shop,city --out {tmp_path / 'n.npz'}")
    rc, _, err = run(f"coef {tmp_path / 'n.npz'}")
    assert rc == 2 and "holds no covariance: train it with --cov nonrobust" in err
    rc, _, err = run(f"predict {tmp_path / 'n.npz'} --data {tmp_path / 't.csv'} --interval 0.9")
    assert rc == 2 and "--interval needs each model's covariance: train with --cov nonrobust (or HC0, HC1, cluster)" in err
    df.assign(shop=np.where(df["shop"] > 1, "north", "south")).to_csv(tmp_path / "s.csv", index=False)
    rc, _, err = run(f"train --data {tmp_path / 's.csv'} --target y --drop city --categorical shop --l2 0 --cov HC0")
    assert rc == 0 and ("warning: the model has a singular Hessian at the optimum, so the covariance is NaN: collinear "
                        "columns among the rows (shop=north, shop=south move together") in err
    assert "train with --no-bias when they are a one-hot of every level, or set --l2 to a value > 0" in err


def test_collinear_columns_give_nan_and_one_warning_naming_them(raw):
    """An unpenalised model whose columns are collinear among its rows has no covariance: NaN and one
    CovarianceWarning naming the terms that move together (not a covariance of rounding errors)."""
    import warnings

    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    n = 3000
    df = pd.DataFrame({"income": rng.normal(50, 10, n), "segment": rng.choice(["a", "b", "c"], n)})
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-(df["income"] - 50) / 10))).astype(float)
    common = dict(target="y", categorical=["segment"], solver="newton", cov="HC1")
    with pytest.warns(fp.CovarianceWarning, match=r"the model has a singular Hessian at the optimum, so the "
                      r"covariance is NaN: collinear columns among the rows \(segment=a, segment=b, segment=c "
                      r"move together .*leave out the bias \(bias=False\) when they are a one-hot of every level"):
        r = fp.train(df, bias=True, **common)
    assert r.converged.all() and np.isnan(r.covariance).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = [fp.train(df, bias=False, **common), fp.train(df, bias=True, l2=1.0, **common)]
    for m in fine:
        assert np.isfinite(m.coef_table().std_error).all()
    X, y, g = raw
    Xc = np.c_[X, X[:, 0] * 2 - 1]  # a copy of a column, shifted and scaled
    with pytest.warns(fp.CovarianceWarning, match=r"\(x1, x4 move together"):
        fp.train(Xc, y, solver="newton", bias=True, cov="nonrobust")
    Xg = X.copy()
    Xg[g == 3, 1] = 7.0  # constant within group 3: its weight and bias are one thing there
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = fp.train(Xg, y, groups=g, solver="newton", bias=True, cov="nonrobust", backend="numpy")
    (said,) = [w for w in seen if w.category is fp.CovarianceWarning]  # not for the unconverged (separable) one
    assert str(said.message).startswith("1 of 12 models have a singular Hessian") and "(model 3: x2, bias move" in str(
        said.message) and said.filename == __file__
    bad = np.isnan(r.covariance).all(axis=(1, 2, 3))
    assert bad.tolist() == [b == 3 or not ok for b, ok in enumerate(r.converged)] and r.converged[3]


def test_what_a_statistician_would_trip_on_is_refused_or_said(raw, tmp_path):
    """A new user's trial (issue 34): the sandwich of a pooled fit refused (its tests would find
    effects that are not there); an undefined small-sample factor said; a Series from another order
    of the rows refused; the collinear terms named whatever the columns' units."""
    import contextlib
    import io
    import shlex
    import warnings

    from fastperceptron import cli

    pd = pytest.importorskip("pandas")
    X, y, g = raw
    region = g % 3
    for cov in ("HC0", "HC1"):
        with pytest.raises(ValueError, match=rf"cov='{cov}' is not available for partial pooling: the sandwich .* "
                                             r"Use cov='nonrobust'"):
            fp.train(X, y, groups=[region, g], shrink=1.0, bias=True, cov=cov)
    fp.train(X, y, groups=[region, g], shrink=1.0, bias=True, cov="nonrobust")  # the posterior's curvature: fine
    with pytest.warns(fp.CovarianceWarning, match=r"1 of 1 models have fewer than two clusters among its rows"):
        r = fp.train(X, y, solver="newton", bias=True, cov="cluster", clusters=np.zeros(len(y)))
    assert np.isnan(r.covariance).all()
    few = np.r_[np.zeros(390, int), np.ones(10, int)]  # the tenth group: 3 rows per parameter... and one of 3 rows
    few[-3:] = 2
    with pytest.warns(fp.CovarianceWarning, match=r"models have no more rows than its 4 parameters, where HC1"):
        fp.train(X, y, groups=few, solver="newton", bias=True, l2=1.0, cov="HC1")
    df = pd.DataFrame({"income": X[:, 0], "age": X[:, 1], "c": g, "y": y})
    shuffled = df.sample(frac=1.0, random_state=3)  # its index: the rows' labels, in another order
    with pytest.raises(ValueError, match=r"clusters= is a pandas Series whose index differs from X's.*"
                                         r"clusters\.loc\[X\.index\]"):
        fp.train(shuffled, target="y", features=["income", "age"], solver="newton", bias=True, cov="cluster",
                 clusters=df["c"])
    with pytest.raises(ValueError, match=r"^y is a pandas Series whose index differs from X's"):
        fp.train(shuffled[["income", "age"]], df["y"], solver="newton")
    by_name = fp.train(shuffled, target="y", features=["income", "age"], solver="newton", bias=True, cov="cluster",
                       clusters="c")
    aligned = fp.train(shuffled, target="y", features=["income", "age"], solver="newton", bias=True, cov="cluster",
                       clusters=df["c"].loc[shuffled.index])
    np.testing.assert_array_equal(by_name.covariance, aligned.covariance)
    for scale in (1e-3, 1.0, 1e3):  # a copy in other units: both named, whatever the units
        df["income_k"] = df["income"] * scale
        with pytest.warns(fp.CovarianceWarning, match=r"\(income, income_k move together"):
            fp.train(df, target="y", features=["income", "income_k", "age"], solver="newton", bias=True,
                     cov="nonrobust")

    def run(line):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(shlex.split(line))
        return rc, out.getvalue(), err.getvalue()

    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(g, unit="D")
    df.drop(columns=["income_k"]).assign(day=days.strftime("%Y-%m-%d")).to_csv(tmp_path / "t.csv", index=False)
    t = tmp_path / "t.csv"
    for flags, message in [("--cluster y", "column 'y' is given as both --target and --cluster; a column has one role"),
                           ("--group-by c --cluster c", "given as both --group-by and --cluster; a column has one role "
                                                        "(clustering by the groups themselves leaves each model one"),
                           ("--group-by c --cov HC1", "--cov HC1 is not available for partial pooling"),
                           ("--group-by c --cov nonrobust --plot-kind coef --plot x.gif", "cannot write a figure")]:
        cov = "" if "--cov" in flags else " --cov cluster"
        rc, _, err = run(f"train --data {t} --target y --drop day {flags}{cov}")
        assert rc == 2 and message in err and "Traceback" not in err, err
    rc, out, err = run(f"train --data {t} --target y --drop c --cluster day --cov cluster")  # dates are labels too
    assert rc == 0 and "clusters         12 values of column 'day' (labels, not a feature)" in out, err
    rc, out, err = run(f"train --data {t} --target y --drop day --cov nonrobust --group-by c --shrink 1")
    assert "note             --cov with the pull toward each group's parent" in out, err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = fp.train(X, y, solver="newton", bias=True, cov="HC1")
    pytest.importorskip("matplotlib")
    ax = one.plot("coef").axes[0]  # one model: every term, each its own row
    assert [t.get_text().split()[0] for t in ax.get_yticklabels()] == ["x1", "x2", "x3", "bias"]


def _delta(X, w, c, V, level):
    """The delta-method interval by hand: σ(z ∓ q·se), se² = x̃·V·x̃ᵀ."""
    from statistics import NormalDist

    Xt = np.c_[X, np.ones(len(X))] if c is not None else X
    theta = np.r_[w, c] if c is not None else w
    z, se = Xt @ theta, np.sqrt(np.einsum("mp,pq,mq->m", Xt, V, Xt))
    q = NormalDist().inv_cdf(0.5 + level / 2)
    return 1 / (1 + np.exp(-(z - q * se))), 1 / (1 + np.exp(-(z + q * se)))


def test_intervals_for_every_shape_of_input_and_their_refusals(raw):
    """interval= for one input set per model (B, M, D), a batch without a bias, a groups batch of
    more rows than one slice (its rows in slices), unseen rows served by the parent; bad levels and
    batches without a full covariance refused by name."""
    X, y, g = raw
    boot = fp.train(X, y, solver="newton", sample_weight=fp.bootstrap_weights(len(y), [0, 1, 2]), cov="HC0")
    assert boot.bias is None
    X3 = np.stack([X[:7], X[7:14] * 1.1, X[14:21] + 3.0])
    _, low, high = boot.predict_proba(X3, interval=0.8)
    for b in range(3):
        lo, hi = _delta(X3[b], boot.weights[b, :, 0], None, boot.covariance[b, 0], 0.8)
        np.testing.assert_allclose(low[b, :, 0], lo, rtol=1e-10)
        np.testing.assert_allclose(high[b, :, 0], hi, rtol=1e-10)
    rng = np.random.default_rng(8)
    n = 20_000  # more than one slice of 2¹⁴ rows
    Xg = rng.normal(size=(n, 2))
    gg = rng.integers(0, 4, n)
    yg = (rng.random(n) < 1 / (1 + np.exp(-Xg[:, 0] * (gg - 1.5)))).astype(float)
    r = fp.train(Xg, yg, groups=gg, solver="newton", bias=True, cov="nonrobust")
    _, low, high = r.predict_proba(Xg, groups=gg, interval=0.9)
    for k in range(4):
        rows = gg == k
        lo, hi = _delta(Xg[rows], r.weights[k, :, 0], r.bias[k, 0], r.covariance[k, 0], 0.9)
        np.testing.assert_allclose(low[rows, 0], lo, rtol=1e-10)
        np.testing.assert_allclose(high[rows, 0], hi, rtol=1e-10)
    pooled = fp.train(Xg, yg, groups=[gg % 2, gg], shrink=1.0, bias=True, cov="nonrobust")
    new = [np.array([0, 1, 0]), np.array([0, 3, 99])]  # the last: a store never seen, served by its region
    P, low, high = pooled.predict_proba(Xg[:3], groups=new, interval=0.9)
    assert np.isfinite(low[:2]).all() and np.isnan(low[2]).all() and np.isnan(high[2]).all()
    assert np.isfinite(P).all()
    j = list(pooled.groups).index("0/0")
    lo, hi = _delta(Xg[:1], pooled.weights[j, :, 0], pooled.bias[j, 0], pooled.covariance[j, 0], 0.9)
    np.testing.assert_allclose([low[0, 0], high[0, 0]], [lo[0], hi[0]], rtol=1e-10)
    for level in (True, 0, 1, 1.0, 1.5, -0.2, "0.9", None.__class__):
        with pytest.raises(ValueError, match=re.escape(f"interval is the intervals' coverage, in (0, 1) (e.g. 0.95), "
                                                       f"got {level!r}")):
            boot.predict_proba(X[:2], interval=level)
    plain = "interval= needs each model's covariance: train with cov='nonrobust' (or 'HC0', 'HC1', 'cluster') and " \
            "cov_keep='full'"
    with pytest.raises(ValueError, match=re.escape(plain) + "$"):
        fp.train(X, y, solver="newton").predict_proba(X[:2], interval=0.9)
    diag = fp.train(X, y, solver="newton", cov="HC0", cov_keep="diag")
    with pytest.raises(ValueError, match=re.escape(plain + " (this batch kept its diagonal only)") + "$"):
        diag.predict_proba(X[:2], interval=0.9)
