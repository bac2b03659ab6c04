"""Tables in and out (issue 24): pandas, polars (eager and lazy) and pyarrow tables by column name,
bit-identical to the same data as arrays; names kept, saved, exported; predictions read by name."""

import subprocess
import sys

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.io.columns import TableError

N = 600
FIT = dict(solver="newton", l2=1.0, bias=True, backend="numpy")


def _library(kind):
    """A function making a table of ``kind`` from {name: numpy array}; skipped without the library."""
    if kind == "pandas":
        pd = pytest.importorskip("pandas")
        return pd.DataFrame
    if kind == "pyarrow":
        pa = pytest.importorskip("pyarrow")
        return pa.table
    pl = pytest.importorskip("polars")
    return pl.DataFrame if kind == "polars" else (lambda d: pl.DataFrame(d).lazy())


KINDS = ["pandas", "polars", "polars-lazy", "pyarrow"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, 3)) * [1.0, 10.0, 0.1]
    store = np.array(["north", "south", "east", "west"])[rng.integers(0, 4, N)]
    y1 = (X @ [1.0, -0.1, 5.0] + rng.normal(size=N) > 0).astype(np.float64)
    y2 = (X[:, 0] + rng.normal(size=N) > 0.5).astype(np.float64)
    w = rng.integers(1, 4, N).astype(np.float64)
    columns = {"store": store, "b": X[:, 1], "y1": y1, "a": X[:, 0], "w": w, "c": X[:, 2], "y2": y2}
    return X, np.column_stack([y1, y2]), store, w, columns


def _same(a, b):
    for name in ("weights", "bias", "loss", "iterations", "group_sizes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.groups, b.groups)


@pytest.mark.parametrize("kind", KINDS)
def test_a_table_trains_bit_identical_to_arrays(kind, data):
    X, Y, store, w, columns = data
    table = _library(kind)(columns)
    by_name = fp.train(table, target=["y1", "y2"], features=["a", "b", "c"], groups="store", sample_weight="w", **FIT)
    arrays = fp.train(X, Y, groups=store, sample_weight=w, **FIT)
    _same(by_name, arrays)
    assert by_name.feature_names == ["a", "b", "c"] and by_name.target_names == ["y1", "y2"]
    assert by_name.metadata["group_by"] == "store" and arrays.feature_names is None


@pytest.mark.parametrize("kind", KINDS)
def test_features_default_to_every_other_column_in_table_order(kind, data):
    X, Y, store, w, columns = data
    r = fp.train(_library(kind)(columns), target="y1", groups="store", sample_weight="w", **FIT)
    assert r.feature_names == ["b", "a", "c", "y2"]  # the table's order, less the named columns
    np.testing.assert_array_equal(r.weights, fp.train(np.column_stack([X[:, 1], X[:, 0], X[:, 2], Y[:, 1]]), Y[:, 0],
                                                      groups=store, sample_weight=w, **FIT).weights)


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_scikit_learn_style_series_beside_a_table(kind, data):
    X, Y, store, w, columns = data
    make = _library(kind)
    features = make({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]})
    series = make({"y1": Y[:, 0], "store": store})
    y, g = (series["y1"], series["store"])
    r = fp.train(features, y, groups=g, **FIT)
    _same(r, fp.train(X, Y[:, 0], groups=store, **FIT))
    assert r.feature_names == ["a", "b", "c"] and r.target_names == ["y1"] and r.metadata["group_by"] == "store"


@pytest.mark.parametrize("kind", KINDS)
def test_predict_reads_columns_by_name_and_the_label_column(kind, data):
    X, Y, store, w, columns = data
    make = _library(kind)
    r = fp.train(make(columns), target="y1", features=["a", "b", "c"], groups="store", **FIT)
    shuffled = {"c": X[:50, 2], "extra": np.zeros(50), "store": store[:50], "a": X[:50, 0], "b": X[:50, 1]}
    expected = r.predict_proba(X[:50], groups=store[:50])
    np.testing.assert_array_equal(r.predict_proba(make(shuffled)), expected)
    np.testing.assert_array_equal(r.predict_proba(X[:50], groups=store[:50]), expected)  # arrays: trained order
    if kind == "polars-lazy":
        return
    out = r.predict_proba(make(shuffled), as_frame=True)
    assert type(out).__module__.split(".")[0] == kind.split("-")[0]
    import narwhals as nw

    frame = nw.from_native(out)
    assert frame.columns == ["store", "y1"]
    np.testing.assert_array_equal(frame["y1"].to_numpy(), expected[:, 0])
    assert frame["store"].to_list() == store[:50].tolist()


def test_one_model_as_frame_and_an_ensemble_refused(data):
    pd = pytest.importorskip("pandas")
    X, Y, store, w, columns = data
    table = pd.DataFrame(columns).drop(columns=["store"])
    one = fp.train(table, target=["y1", "y2"], features=["a", "b", "c"], **FIT)
    out = one.predict_proba(table, as_frame=True)
    assert list(out.columns) == ["y1", "y2"]
    np.testing.assert_array_equal(out.to_numpy(), one.predict_proba(X)[0])
    many = fp.train(table, target="y1", features=["a", "b", "c"], models=3, iterations=5, backend="numpy")
    with pytest.raises(ValueError, match=r"as_frame=True gives one probability per row and output, but this batch "
                                         r"has 3 models: select one \(result\[m\]\)"):
        many.predict_proba(table, as_frame=True)
    with pytest.raises(TypeError, match="as_frame=True returns a table of X's library: give X as a table"):
        one.predict_proba(X, as_frame=True)


def test_bad_tables_are_named_errors(data):
    pd = pytest.importorskip("pandas")
    X, Y, store, w, columns = data
    table = pd.DataFrame(columns)
    with pytest.raises(TableError, match=r"the pandas DataFrame: no column 'yy' \(target=\); its columns are "):
        fp.train(table, target="yy", groups="store")
    with pytest.raises(TypeError, match=r"X is a table: name its target column\(s\) with target="):
        fp.train(table, groups="store")
    with pytest.raises(TableError, match=r"the pandas DataFrame: 1 feature column\(s\) hold no numbers: 'store' "
                                         r"\(text\); leave them out with drop=\['store'\], one-hot encode the text "
                                         r"one\(s\) with categorical=\['store'\], or name a label column with groups="):
        fp.train(table, target="y1")
    bad = table.assign(a=np.where(np.arange(N) == 7, np.nan, X[:, 0]))
    with pytest.raises(TableError, match=r"the pandas DataFrame, row 7, column 'a': an empty cell \(or NaN\); "
                                         r"feature columns need a finite number in every row \(1 row\(s\) lack one\)"):
        fp.train(bad, target="y1", groups="store")
    with pytest.raises(TableError, match=r"row 0, column 'b': -?[0-9.]+ is not in \[0, 1\]; targets are 0/1 labels"):
        fp.train(table, target="b", groups="store", features=["a"])
    with pytest.raises(TableError, match="column 'a' is given as both target= and features=; a column has one role"):
        fp.train(table, target="a", features=["a", "b"])
    with pytest.raises(TableError, match=r"row 3, column 'store': an empty label \(1 row\(s\) have none\)"):
        fp.train(table.assign(store=np.where(np.arange(N) == 3, "", store)), target="y1", groups="store",
                 features=["a"])
    with pytest.raises(TypeError, match=r"y='y1' and target='y2' both name the target: give one"):
        fp.train(table, "y1", target="y2")
    with pytest.raises(TypeError, match=r"target= names a column of a table, but X is not a table \(pandas, polars or "
                                        r"pyarrow; got ndarray\)"):
        fp.train(X, Y[:, 0], target="y1")
    with pytest.raises(TypeError, match=r"groups= names a column of a table, but X is not a table"):
        fp.train(X, Y[:, 0], groups="store")


def test_predicting_a_table_needs_the_names(data):
    pd = pytest.importorskip("pandas")
    X, Y, store, w, columns = data
    table = pd.DataFrame(columns)
    r = fp.train(table, target="y1", features=["a", "b", "c"], **FIT)
    with pytest.raises(TableError, match=r"the pandas DataFrame: no column 'b', which the model reads \(it was trained "
                                         r"on \['a', 'b', 'c'\]\)"):
        r.predict_proba(table.drop(columns=["b"]))
    plain = fp.train(X, Y[:, 0], **FIT)
    with pytest.raises(TableError, match="this model was trained on arrays, without column names, so it cannot read a "
                                         "table's columns by name: pass X as an array"):
        plain.predict_proba(table)
    grouped = fp.train(table, target="y1", features=["a", "b", "c"], groups="store", **FIT)
    with pytest.raises(TableError, match=r"the pandas DataFrame: no column 'store' \(the group labels, as in training\); "
                                         r"its columns are \['b', 'y1', 'a', 'w', 'c', 'y2'\]; or name the label "
                                         r"column\(s\) with groups="):
        grouped.predict_proba(table.drop(columns=["store"]))  # no label column: said which
    with pytest.raises(TableError, match=r"no column 'shop' with the group labels"):
        grouped.predict_proba(table, groups="shop")


def test_names_are_saved_loaded_shown_and_exported(data, tmp_path):
    pd = pytest.importorskip("pandas")
    X, Y, store, w, columns = data
    r = fp.train(pd.DataFrame(columns), target="y1", features=["c", "a"], groups="store", **FIT)
    path = r.save(tmp_path / "m.npz")
    back = fp.load(path)
    assert back.feature_names == ["c", "a"] and back.target_names == ["y1"] and back.metadata["group_by"] == "store"
    np.testing.assert_array_equal(back.predict_proba(pd.DataFrame(columns)), r.predict_proba(X[:, [2, 0]], groups=store))
    info = subprocess.run([sys.executable, "-m", "fastperceptron", "info", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert info.returncode == 0, info.stderr
    assert "features         c, a" in info.stdout and "targets          y1" in info.stdout
    assert "4 groups by 'store'" in info.stdout
    pytest.importorskip("onnx")
    graph = r.to_onnx()
    props = {p.key: p.value for p in graph.metadata_props}
    assert props == {"feature_names": '["c", "a"]', "target_names": '["y1"]', "group_by": '"store"'}
    assert graph.graph.input[0].doc_string == "M rows of the columns c, a, in this order"


def test_a_lazy_frame_is_collected_with_only_the_column_names(data):
    pl = pytest.importorskip("polars")
    X, Y, store, w, columns = data
    lazy = pl.DataFrame(columns).lazy().with_columns(pl.col("a").alias("unused_text").cast(pl.String))
    r = fp.train(lazy, target="y1", features=["a", "b", "c"], groups="store", **FIT)
    _same(r, fp.train(X, Y[:, 0], groups=store, **FIT))


def test_the_command_line_and_a_frame_word_a_bad_cell_the_same(data, tmp_path):
    pd = pytest.importorskip("pandas")
    X, Y, store, w, columns = data
    table = pd.DataFrame({"a": X[:5, 0], "b": ["1", "2", "x", "4", "5"], "y": Y[:5, 0]})
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    tail = "column 'b': 'x' is not a number; feature columns must be numbers (encode or drop this column"
    with pytest.raises(TableError) as api:
        fp.train(table, target="y")
    cli = subprocess.run([sys.executable, "-m", "fastperceptron", "train", "--data", str(path), "--target", "y"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and tail in cli.stderr and "line 4" in cli.stderr
    assert tail in str(api.value) and "the pandas DataFrame, row 2" in str(api.value)


def test_categorical_label_columns_keep_their_kind(data):
    """A pandas Categorical of integers gives integer labels, of strings string labels (as the same
    labels given as arrays); a polars Categorical likewise."""
    pd = pytest.importorskip("pandas")
    X, Y, store, w, columns = data
    ints = np.arange(N) % 3 * 10
    frame = pd.DataFrame({"a": X[:, 0], "y": Y[:, 0], "n": pd.Categorical(ints), "s": pd.Categorical(store)})
    by_int = fp.train(frame.drop(columns="s"), target="y", groups="n", **FIT)
    assert by_int.groups.tolist() == [0, 10, 20] and by_int.groups.dtype == np.int64
    np.testing.assert_array_equal(by_int.weights, fp.train(X[:, :1], Y[:, 0], groups=ints, **FIT).weights)
    by_str = fp.train(frame.drop(columns="n"), target="y", groups="s", **FIT)
    assert by_str.groups.tolist() == sorted(set(store))
    pl = pytest.importorskip("polars")
    polars = pl.DataFrame({"a": X[:, 0], "y": Y[:, 0], "s": pl.Series(store, dtype=pl.Categorical)})
    np.testing.assert_array_equal(fp.train(polars, target="y", groups="s", **FIT).weights, by_str.weights)


def test_a_frame_answer_keeps_the_rows_index(data):
    """as_frame=True answers with the input's index (a shuffled, filtered pandas frame), so
    df.assign(p=out[...]) puts every probability on its own row, as scikit-learn's pandas output does."""
    pd = pytest.importorskip("pandas")
    X, Y, stores, w, _ = data
    table = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": Y[:, 0], "store": stores})
    model = fp.train(table, target="y", features=["a", "b", "c"], solver="newton", l2=1.0, bias=True)
    grouped = fp.train(table, target="y", features=["a", "b", "c"], groups="store", solver="newton", l2=1.0,
                       bias=True)
    table.index = np.arange(N) * 10 + 7  # not 0..N-1
    shuffled = table.sample(frac=1.0, random_state=3).iloc[::2]  # nor sorted, nor all rows
    for m in (model, grouped):
        out = m.predict_proba(shuffled, as_frame=True)
        assert out.index.equals(shuffled.index)
        joined = table.assign(p=out["y"])  # aligned by index: the other rows get NaN
        rows = shuffled.index
        assert joined["p"].isna().sum() == N - len(rows)
        expect = m.predict_proba(shuffled[["a", "b", "c"]].to_numpy(), **(
            {"groups": shuffled["store"].to_numpy()} if m.groups is not None else {}))
        np.testing.assert_allclose(joined.loc[rows, "p"].to_numpy(), np.ravel(expect), rtol=1e-12)
