"""fastperceptron.dask on a loopback LocalCluster started by the tests."""

import os
import re
import signal
import threading
import time
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="Dask is not installed: pip install 'fastperceptron[dask]'")
import dask.array as da  # noqa: E402

import fastperceptron as fp  # noqa: E402
import fastperceptron.dask as fpd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.mark.parametrize("shards", [None, 1, 3, 7])
def test_seed_problem_equals_single_machine(client, shards):
    X, y = fp.datasets.seed()
    r = fpd.train(X, y, client=client, models=500, iterations=300, shards=shards, bias=True, tol=1e-6,
                  record_every=100)
    ref = fp.train(X, y, models=500, iterations=300, bias=True, tol=1e-6, record_every=100, backend=r.backend)
    for name in ("weights", "bias", "loss", "iterations", "history", "learning_rate", "seeds"):
        np.testing.assert_array_equal(getattr(r, name), getattr(ref, name), err_msg=name)
    assert r.metadata["dask_shards"] == (shards or 8)  # default: four per worker


def test_per_model_numpy_data_and_rates(client, rng):
    X = rng.normal(size=(40, 15, 3))
    y = rng.random((40, 15))
    rates = np.linspace(0.01, 0.1, 40)
    w = rng.integers(0, 3, size=(40, 15)) + (np.arange(15) == 0)
    r = fpd.train(X, y, client=client, learning_rate=rates, sample_weight=w, iterations=60, shards=5, rule="logistic")
    ref = fp.train(X, y, learning_rate=rates, sample_weight=w, iterations=60, rule="logistic", backend=r.backend)
    np.testing.assert_array_equal(r.weights, ref.weights)


def test_dask_array_chunked_along_models_trains_where_it_lives(client, rng):
    Xn = rng.normal(size=(50, 12, 2))
    yn = (rng.random((50, 12)) > 0.5).astype(float)
    X = da.from_array(Xn, chunks=(20, 12, 2)).persist()
    y = da.from_array(yn, chunks=(20, 12)).persist()
    r = fpd.train(X, y, client=client, iterations=40, learning_rate=0.1)
    ref = fp.train(Xn, yn, iterations=40, learning_rate=0.1, backend=r.backend)
    np.testing.assert_array_equal(r.weights, ref.weights)
    assert r.metadata["dask_shards"] == 3  # one per chunk: 20 + 20 + 10


def test_shared_data_is_scattered_once(client, monkeypatch):
    scattered, submitted = [], []
    real_scatter, real_submit = client.scatter, client.submit
    monkeypatch.setattr(client, "scatter", lambda data, **kw: scattered.append((data, kw)) or real_scatter(data, **kw))
    monkeypatch.setattr(client, "submit", lambda fn, *a, **kw: submitted.append(a) or real_submit(fn, *a, **kw))
    X = np.random.default_rng(0).normal(size=(30, 4))
    y = np.random.default_rng(1).random(30)
    fpd.train(X, y, client=client, models=64, iterations=5, shards=4)
    assert len(scattered) == 2  # X and y, once each
    assert all(kw.get("broadcast") for _, kw in scattered)
    assert any(data is X for data, _ in scattered)
    assert len(submitted) == 4
    keys = {a[0].key for a in submitted}
    assert len(keys) == 1 and isinstance(submitted[0][0], distributed.Future)  # every task gets the same X


def test_worker_killed_mid_run_completes_identically():
    """A worker dies while shards are running: Dask reruns its shards elsewhere; same weights."""
    X, y = fp.datasets.seed()
    kw = dict(models=40_000, iterations=8_000, backend="numpy")  # a few seconds of work
    killed = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            victim = sorted(client.nthreads())[0]  # asked of the scheduler (scheduler_info() is a cache)
            pid = client.run(os.getpid, workers=[victim])[victim]

            def kill():
                time.sleep(1.0)
                killed.append(time.perf_counter())
                os.kill(pid, signal.SIGKILL)

            threading.Thread(target=kill, daemon=True).start()
            r = fpd.train(X, y, client=client, shards=8, **kw)
            finished = time.perf_counter()
            assert killed and killed[0] < finished  # the kill came during the run
            assert victim not in client.nthreads()
    ref = fp.train(X, y, **kw)
    assert r.complete
    np.testing.assert_array_equal(r.weights, ref.weights)


def test_no_workers_is_a_clear_error():
    X, y = fp.datasets.seed()
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            with pytest.raises(RuntimeError, match="the Dask cluster has no workers"):
                fpd.train(X, y, client=client, models=4, iterations=1)


def test_inconsistent_model_counts(client):
    X, y = fp.datasets.seed()
    with pytest.raises(ValueError, match="inconsistent number of models B: seeds says 2, models says 3"):
        fpd.train(X, y, client=client, seeds=[1, 2], models=3)


def test_cli_scheduler_local(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "m.npz"
    p = subprocess.run([sys.executable, "-m", "fastperceptron", "train", "--scheduler", "local:2", "--models", "300",
                        "--iterations", "200", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    r = fp.load(out)
    X, y = fp.datasets.seed()
    np.testing.assert_array_equal(r.weights, fp.train(X, y, models=300, iterations=200, backend=r.backend).weights)
    bad = subprocess.run([sys.executable, "-m", "fastperceptron", "train", "--scheduler", "local:zero"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "write local:N with N >= 1" in bad.stderr and "Traceback" not in bad.stderr


# --- groups -----------------------------------------------------------------------------------------
def _group_table(rng, N=1500):
    pd = pytest.importorskip("pandas")
    labels = [f"store-{i:02d}" for i in range(29)]
    weights = np.r_[[0.4], [0.6 / 28] * 28]  # one large group beside many small ones
    g = rng.choice(labels, size=N, p=weights)
    g[:3] = ["solo-a", "solo-b", "solo-c"]  # groups of one row
    return pd.DataFrame({"store": g, "a": rng.normal(size=N), "b": rng.normal(size=N),
                         "w": rng.random(N) + 0.5, "sold": (rng.random(N) < 0.5).astype(float)})


def test_groups_from_a_dask_dataframe_equal_the_single_machine_result(client, rng):
    dd = pytest.importorskip("dask.dataframe")
    df = _group_table(rng)
    kw = dict(iterations=25, rule="logistic", bias=True, backend="numpy", learning_rate=0.3)
    ref = fp.train(df[["a", "b"]].to_numpy(), df["sold"].to_numpy(), groups=df["store"], sample_weight=df["w"], **kw)
    r = fpd.train(dd.from_pandas(df, npartitions=4), "sold", groups="store", sample_weight="w", client=client,
                  shards=3, **kw)
    assert r.groups.tolist() == ref.groups.tolist()
    assert np.array_equal(r.group_sizes, ref.group_sizes)
    assert np.array_equal(r.seeds, ref.seeds)
    np.testing.assert_array_equal(r.weights, ref.weights)  # the same rows, in the same order, same backend
    np.testing.assert_array_equal(r.bias, ref.bias)
    assert r.metadata["dask_shards"] == 3
    # the partitions are read by name as fp.train reads a table: the names kept, the same messages
    assert (r.feature_names, r.target_names, r.metadata["group_by"]) == (["a", "b"], ["sold"], "store")
    with pytest.raises(ValueError, match=r"the Dask DataFrame: no column 'sould' \(target=\); its columns are "):
        fpd.train(dd.from_pandas(df, npartitions=2), "sould", groups="store", client=client, **kw)


def test_groups_from_dask_arrays(client, rng):
    da = pytest.importorskip("dask.array")
    df = _group_table(rng, N=900)
    codes = np.unique(df["store"], return_inverse=True)[1]
    X, y = df[["a", "b"]].to_numpy(), df["sold"].to_numpy()
    ref = fp.train(X, y, groups=codes, iterations=10, backend="numpy")
    r = fpd.train(da.from_array(X, chunks=(300, 2)), da.from_array(y, chunks=300), groups=da.from_array(codes, chunks=300),
                  client=client, iterations=10, backend="numpy")
    np.testing.assert_array_equal(r.weights, ref.weights)


def test_shards_are_balanced_by_rows_and_never_split_a_group():
    from fastperceptron.dask.groups import assign_shards

    sizes = np.array([100, 5, 5, 5, 60, 40, 1, 1])
    shard = assign_shards(sizes, 3)
    rows = np.bincount(shard, weights=sizes, minlength=3)
    assert shard[0] != shard[4] and rows.max() == 100 and rows.min() >= 50  # one label, one shard


def test_fallback_is_refused_with_the_way_round():
    X, y = fp.datasets.seed()
    with pytest.raises(ValueError, match=r"not available through Dask: .* result\.with_fallback\(model, min_rows\)"):
        fpd.train(X, y, client=None, groups=[0, 0, 1, 1], fallback=True, min_rows=2)


def test_statistics_through_dask_are_each_models_own_and_cluster_is_refused(client, rng):
    """cov= through every Dask path (equal to one machine: tests/test_doors.py, HC1); the shards'
    covariances travel back with their models, in the models' order."""
    dd = pytest.importorskip("dask.dataframe")
    df = _group_table(rng).drop(columns=["w"])
    big = df["store"] == "store-00"  # a group of 600 rows and the rest: two models with their own statistics
    df["store"] = np.where(big, "big", "rest")
    frame = dd.from_pandas(df, npartitions=4)
    kw = dict(groups="store", solver="newton", l2=1.0, bias=True, cov="HC0")
    r = fpd.train(frame, "sold", client=client, shards=2, **kw)
    ref = fp.train(df, target="sold", **kw)
    assert r.groups.tolist() == ["big", "rest"]
    np.testing.assert_allclose(r.covariance, ref.covariance, rtol=1e-9)
    assert r.coef_table().cov_type == "HC0" and np.isfinite(r.coef_table().p_value).all()
    with pytest.raises(ValueError, match=r"cov='cluster' is not available through Dask .* cov='HC1'"):
        fpd.train(frame, "sold", client=client, groups="store", solver="newton", cov="cluster", clusters="store")


def test_a_missing_client_says_what_it_needs():
    import fastperceptron.dask as fpd

    X, y = fp.datasets.seed()
    with pytest.raises(TypeError, match=r"client must be a distributed\.Client connected to the cluster .* got None: "
                                        r"e\.g\. client = distributed\.Client"):
        fpd.train(X, y, client=None, models=2)


# --- issue 25: a pooled hierarchy, sharded by its outermost level ------------------------------------
def test_a_pooled_hierarchy_equals_the_single_machine_fit(client, rng):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    n = 1500
    region, store = rng.integers(0, 5, n), rng.integers(0, 12, n)
    x = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-(x[:, 0] + rng.normal(size=5)[region])))).astype(float)
    df = pd.DataFrame({"region": [f"r{v}" for v in region], "store": store, "a": x[:, 0], "b": x[:, 1], "sold": y})
    kw = dict(shrink=[2.0, 6.0], bias=True, l2=1.0, backend="numpy")
    ref = fp.train(df, "sold", groups=["region", "store"], **kw)
    r = fpd.train(dd.from_pandas(df, npartitions=3), "sold", groups=["region", "store"], client=client, shards=2, **kw)
    assert r.groups.tolist() == ref.groups.tolist()
    assert [p.tolist() for p in r.pooling.hierarchy.paths] == [p.tolist() for p in ref.pooling.hierarchy.paths]
    for a, b in zip(r.pooling.hierarchy.parent, ref.pooling.hierarchy.parent):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(r.group_sizes, ref.group_sizes)
    np.testing.assert_allclose(r.weights, ref.weights, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(r.bias, ref.bias, rtol=1e-7, atol=1e-9)
    for a, b in zip(r.pooling.weights, ref.pooling.weights):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    new = [np.array(["r1", "r9"]), np.array([3, 3])]
    np.testing.assert_allclose(r.predict_proba(x[:2], groups=new), ref.predict_proba(x[:2], groups=new), rtol=1e-7)
    assert r.metadata["group_by"] == ["region", "store"] and r.pooling.hierarchy.names == ("region", "store")
    with pytest.raises(ValueError, match=r"through Dask, shrink must be given as numbers"):
        fpd.train(dd.from_pandas(df, npartitions=2), "sold", groups=["region", "store"], client=client, bias=True)


# --- one answer whatever the door (issue 33) -----------------------------------------------------------
def _raw_hierarchy(rng, n=2400):
    """Stores under regions, a column at 10⁶ scale around 10⁹ and a unit one: the raw columns on which
    a global Newton in the user's units loses nine digits."""
    pd = pytest.importorskip("pandas")
    region, store = rng.integers(0, 4, n), rng.integers(0, 12, n)
    a, b = rng.normal(size=n) * 1e6 + 1e9, rng.normal(size=n)
    z = (a - 1e9) / 1e6 + b + rng.normal(size=4)[region]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    return pd.DataFrame({"region": [f"r{v}" for v in region], "store": store, "a": a, "b": b, "y": y})


@pytest.mark.parametrize("case", ["raw", "one class", "separable"])
def test_a_pooled_hierarchy_on_raw_columns_equals_one_machine(client, rng, case):
    """The distributed global Newton walks in the one-machine solvers' centred and scaled coordinates:
    raw columns, targets of one class and separable data give one machine's models (1e-7) and stop
    reasons, the global model's included."""
    dd = pytest.importorskip("dask.dataframe")
    df = _raw_hierarchy(rng)
    l2 = 1.0
    if case == "one class":
        df["y"] = 1.0
    elif case == "separable":
        df["y"], l2 = (df["b"] > 0).astype(float), 0.0
    kw = dict(shrink=[2.0, 6.0], bias=True, l2=l2, backend="numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fp.ConvergenceWarning)
        ref = fp.train(df, "y", groups=["region", "store"], **kw)
        r = fpd.train(dd.from_pandas(df, npartitions=3), "y", groups=["region", "store"], client=client, shards=2, **kw)
    assert [s.tolist() for s in r.pooling.stop_reason] == [s.tolist() for s in ref.pooling.stop_reason]
    assert r.stop_reason.tolist() == ref.stop_reason.tolist()
    expect = {"raw": "converged", "one class": "one-class", "separable": "separable"}[case]
    assert r.pooling.stop_reason[0].tolist() == [expect]
    if case == "separable":  # no finite optimum: where each stopped along the ray is not the optimum
        return
    for a, b in [(r.weights, ref.weights), (r.bias, ref.bias), *zip(r.pooling.weights, ref.pooling.weights),
                 *zip(r.pooling.bias, ref.pooling.bias)]:
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_bad_cells_are_named_by_the_users_row_without_a_worker_traceback(client, rng, capfd):
    dd = pytest.importorskip("dask.dataframe")
    df = _raw_hierarchy(rng, n=900)
    kw = dict(client=client, shrink=[1.0, 1.0], bias=True)
    cases = [("store", 700, np.nan, "the Dask DataFrame, row 700, column 'store': an empty label (1 row(s) have none)"),
             ("region", 650, None, "the Dask DataFrame, row 650, column 'region': an empty label (1 row(s) have none)"),
             ("a", 420, np.nan, "the Dask DataFrame, row 420, column 'a': an empty cell (or NaN); feature columns need "
                                "a finite number in every row (1 row(s) lack one)")]
    for column, row, value, message in cases:
        bad = df.copy()
        if column == "region":
            bad["region"] = bad["region"].astype(object)
        bad.loc[row, column] = value
        with pytest.raises(ValueError, match=re.escape(message)):
            fpd.train(dd.from_pandas(bad, npartitions=3), "y", groups=["region", "store"], **kw)
    flat = df.drop(columns=["region"])
    flat.loc[300, "b"] = np.inf
    with pytest.raises(ValueError, match=re.escape("the Dask DataFrame, row 300, column 'b': inf; feature columns")):
        fpd.train(dd.from_pandas(flat, npartitions=3), "y", groups="store", client=client, bias=True, solver="newton")
    ddf = dd.from_pandas(df, npartitions=3)
    with pytest.raises(ValueError, match=r"l2 penalises the one global model \(level 0\) of a pooled batch: give one "
                                         r"number, got \[1, 2\]"):
        fpd.train(ddf, "y", groups=["region", "store"], l2=[1, 2], **kw)
    with pytest.raises(ValueError, match=r"solver='gd' is not available there"):
        fpd.train(ddf, "y", groups=["region", "store"], solver="gd", **kw)
    assert "Compute Failed" not in capfd.readouterr().err


def test_cli_scheduler_trains_groups_and_hierarchies_as_one_machine(tmp_path, rng):
    """--scheduler with --group-by: the table goes to the cluster as a Dask DataFrame of its named
    columns; the models equal the one-machine command's; --shrink cv is refused with the way round."""
    import subprocess
    import sys

    df = _raw_hierarchy(rng, n=900)
    df["b"] = df["b"].round(6)
    df.to_csv(tmp_path / "t.csv", index=False)
    df.drop(columns=["region"]).to_csv(tmp_path / "flat.csv", index=False)
    for data, group_by, extra in (("flat.csv", "store", ["--solver", "newton", "--l2", "1", "--shrink", "none"]),
                                  ("t.csv", "region,store", ["--shrink", "1", "3"])):
        models = []
        for scheduler in ([], ["--scheduler", "local:2"]):
            out = tmp_path / f"m{len(models)}.npz"
            p = subprocess.run([sys.executable, "-m", "fastperceptron", "train", "--data", str(tmp_path / data),
                                "--target", "y", "--group-by", group_by, "--bias", "--backend", "numpy", *extra,
                                *scheduler, "--out", str(out)], capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr
            models.append(fp.load(out))
        one, dask_ = models
        assert dask_.groups.tolist() == one.groups.tolist()
        np.testing.assert_allclose(dask_.weights, one.weights, rtol=1e-7, atol=1e-9)
    p = subprocess.run([sys.executable, "-m", "fastperceptron", "train", "--data", str(tmp_path / "t.csv"), "--target",
                        "y", "--group-by", "region,store", "--bias", "--scheduler", "local:1"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 2 and "--shrink cv is not available with --scheduler" in p.stderr


def test_one_model_over_a_dask_dataframe_refuses_what_does_not_apply(client, rng):
    """Without groups a Dask DataFrame is one model fitted by Newton over its partitions (its equality
    with one machine: tests/test_doors.py); what would need the rows on one machine is refused."""
    dd = pytest.importorskip("dask.dataframe")
    df = _raw_hierarchy(rng, n=300).drop(columns=["region", "store"])
    ddf = dd.from_pandas(df, npartitions=2)
    r = fpd.train(ddf, "y", client=client, solver="newton", bias=True, l2=1.0)
    assert r.feature_names == ["a", "b"] and r.stop_reason.tolist() == ["converged"]
    ref = fp.train(df, target="y", solver="newton", bias=True, l2=1.0)
    np.testing.assert_allclose(r.loss, ref.loss, rtol=1e-9)
    for kwargs, message in [(dict(solver="gd"), "one model fitted by Newton's method over its partitions"),
                            (dict(models=3), "leave seeds and models out"),
                            (dict(solver="newton", learning_rate=0.1), "learning_rate= does not apply"),
                            (dict(solver="newton", l2=[1, 2]), "l2 must be one number"),
                            (dict(solver="newton", cov="cluster", clusters="a"), "cov='cluster' is not available "
                                                                                 "through Dask"),
                            (dict(solver="newton", cov="HC2"), "cov must be one of 'nonrobust', 'HC0'")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            fpd.train(ddf, "y", client=client, **kwargs)
