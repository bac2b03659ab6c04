"""One answer whatever the door (issue 33): the same table trained through numpy arrays, pandas (a
default, a shuffled and a non-default index), polars (eager and lazy), pyarrow, a CSV and a Parquet
file through the command line, and Dask partitions gives the same models — for a plain batch, one
model per group and a pooled hierarchy, on unit-scale columns and on raw ones (scales 10⁻³ to 10⁹,
with offsets) — with the same standard errors (HC1; nonrobust for the pooled one), and the predictions through each door land on
the rows they belong to.

Models agree to 1e-9 relative on one machine (a shuffled table sums its rows in another order) and
to 1e-7 through Dask (its global model takes another path to the same optimum)."""

import contextlib
import io
import shlex
import warnings

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron import cli

pd = pytest.importorskip("pandas")

FEATURES = ["x1", "x2", "x3", "x4"]
KINDS = {"plain": {}, "groups": {"groups": "store"}, "pooled": {"groups": ["region", "store"], "shrink": [2.0, 5.0]}}
FIT = dict(solver="newton", l2=1.0, bias=True, backend="numpy")
COV = {"plain": "HC1", "groups": "HC1", "pooled": "nonrobust"}  # a pooled batch takes nonrobust only
DOORS = ["pandas", "pandas shuffled", "pandas index", "polars", "polars lazy", "pyarrow", "csv", "parquet", "dask"]
ONE_MACHINE, DASK = 1e-9, 1e-7


def _table(scale: str) -> "pd.DataFrame":
    """400 rows: stores (ints) under regions (text), four features, a 0/1 target."""
    rng = np.random.default_rng(33)
    n = 400
    region = rng.integers(0, 3, n)
    store = rng.integers(0, 5, n) + 10 * region
    Z = rng.normal(size=(n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(Z @ [1.0, -0.5, 0.3, 0.0] + 0.4 * region)))).astype(int)
    if scale == "raw":  # scales 1e-3 .. 1e9, offsets far from 0 (a Unix time, a reading of 1e6 ± 1)
        Z = Z * [1e-3, 1.0, 1e6, 1e9] + [0.0, 50.0, 1e9, 1.7e9]
    return pd.DataFrame({"region": np.array(["north", "south", "west"])[region], "store": store,
                         **{f: Z[:, j] for j, f in enumerate(FEATURES)}, "y": y})


def _new_rows(table: "pd.DataFrame") -> "pd.DataFrame":
    """Rows to predict: a shuffled third of the table under a non-default index, its columns in
    another order (read by name)."""
    new = table.sample(frac=0.3, random_state=5).drop(columns=["y"])
    new.index = new.index * 7 + 3
    new["id"] = new.index  # carried through the command line's predictions (--keep id)
    return new[new.columns[::-1]]


def _groups_of(frame, kind):
    if kind == "plain":
        return {}
    if kind == "groups":
        return {"groups": frame["store"].to_numpy()}
    return {"groups": [frame["region"].to_numpy(), frame["store"].to_numpy()]}


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as c:
        with distributed.Client(c) as client:
            yield client


def _cli(line: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(shlex.split(line))
    assert rc == 0, err.getvalue()
    return out.getvalue()


def _through(door, table, kind, tmp_path, client):
    """(the model trained through ``door``, its probabilities for _new_rows(table) as a pandas
    Series aligned to their index)."""
    opts = KINDS[kind]
    new = _new_rows(table)
    if door in ("csv", "parquet"):
        path = tmp_path / f"t.{door}"
        new_path = tmp_path / f"new.{door}"
        if door == "csv":  # every digit of the floats, so the file holds the same numbers
            table.to_csv(path, index=False, float_format="%.17g")
            new.to_csv(new_path, index=False, float_format="%.17g")
        else:
            pytest.importorskip("pyarrow")
            table.to_parquet(path, index=False)
            new.to_parquet(new_path, index=False)
        group = opts.get("groups")
        flags = "" if group is None else f"--group-by {group if isinstance(group, str) else ','.join(group)}"
        flags += (" --shrink none" if kind == "groups" else "" if "shrink" not in opts else
                  " --shrink " + " ".join(map(str, opts["shrink"])))
        drop = "" if kind == "pooled" else " --drop region" if kind == "groups" else " --drop region,store"
        _cli(f"train --data {path} --target y {flags}{drop} --solver newton --l2 1 --bias --no-standardize --backend numpy --cov {COV[kind]} "
             f"--out {tmp_path / 'm.npz'}")
        model = fp.load(tmp_path / "m.npz")
        out = tmp_path / f"p.{door}"
        _cli(f"predict {tmp_path / 'm.npz'} --data {new_path} --keep id --out {out}")
        got = pd.read_csv(out) if door == "csv" else pd.read_parquet(out)
        assert list(got.columns)[0] == "id" and "y_proba" in got.columns
        return model, pd.Series(got["y_proba"].to_numpy(), index=got["id"].to_numpy())  # the rows in their order
    if door == "dask":
        dd = pytest.importorskip("dask.dataframe")
        import fastperceptron.dask as fpd

        labels = {"plain": [], "groups": ["store"], "pooled": ["region", "store"]}[kind]
        frame = dd.from_pandas(table[FEATURES + ["y"] + labels], npartitions=3)
        model = fpd.train(frame, "y", client=client, **opts, **FIT, cov=COV[kind])
        return model, model.predict_proba(new, as_frame=True)["y"]
    frame = table
    if door == "pandas shuffled":
        frame = table.sample(frac=1.0, random_state=2)
    elif door == "pandas index":
        frame = table.set_axis(np.arange(len(table))[::-1] * 3 + 11, axis=0)
    elif door.startswith("polars"):
        pl = pytest.importorskip("polars")
        frame = pl.from_pandas(table)
        frame = frame.lazy() if door == "polars lazy" else frame
    elif door == "pyarrow":
        pa = pytest.importorskip("pyarrow")
        frame = pa.Table.from_pandas(table, preserve_index=False)
    group = opts.get("groups")
    features = FEATURES
    model = fp.train(frame, target="y", features=features, **opts, **FIT, cov=COV[kind])
    # predictions through the same door: a table of the door's library, answered in it
    if door.startswith("polars") or door == "pyarrow":
        native = pl.from_pandas(new) if door.startswith("polars") else pa.Table.from_pandas(new, preserve_index=False)
        out = model.predict_proba(native, as_frame=True)
        values = out["y"].to_numpy() if door.startswith("polars") else out.column("y").to_numpy()
        return model, pd.Series(values, index=new.index)  # these libraries keep the row order
    del group
    return model, model.predict_proba(new, as_frame=True)["y"]


def _reference(table, kind):
    """The same data as numpy arrays, and its predictions for _new_rows(table)."""
    model = fp.train(table[FEATURES].to_numpy(), table["y"].to_numpy(), **_groups_of(table, kind),
                     **{k: v for k, v in KINDS[kind].items() if k != "groups"}, **FIT, cov=COV[kind])
    new = _new_rows(table)
    P = model.predict_proba(new[FEATURES].to_numpy(), **_groups_of(new, kind))
    return model, pd.Series(np.asarray(P).reshape(-1), index=new.index)


@pytest.mark.parametrize("scale", ["unit", "raw"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("door", DOORS)
def test_every_door_gives_the_same_models_and_predictions(door, kind, scale, tmp_path, request):
    client = request.getfixturevalue("client") if door == "dask" else None
    table = _table(scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fp.ConvergenceWarning)
        ref, expected = _reference(table, kind)
        model, predicted = _through(door, table, kind, tmp_path, client)
    tol = DASK if door == "dask" else ONE_MACHINE
    assert model.n_models == ref.n_models
    if ref.groups is not None:
        assert model.groups.astype(str).tolist() == ref.groups.astype(str).tolist()
    np.testing.assert_allclose(model.weights, ref.weights, rtol=tol, atol=tol * np.abs(ref.weights).max())
    np.testing.assert_allclose(model.bias, ref.bias, rtol=tol, atol=tol * np.abs(ref.bias).max())
    if ref.pooling is not None:
        for a, b in zip(model.pooling.weights, ref.pooling.weights):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())
    se, se_ref = model.coef_table().std_error, ref.coef_table().std_error  # the statistics too (HC1)
    assert np.isfinite(se_ref).all()
    np.testing.assert_allclose(se, se_ref, rtol=tol)
    assert predicted.index.equals(expected.index)  # each answer on its own row
    np.testing.assert_allclose(predicted.to_numpy(), expected.to_numpy(), rtol=tol, atol=1e-12)
