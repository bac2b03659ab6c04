"""Text columns as inputs and targets (issue 31): one-hot categorical features (levels saved, an
unseen level predicted from the other inputs), a target of two text labels, columns left out, and
every text or date column refused in one message — the same through a DataFrame and the CLI."""

import contextlib
import io
import shlex

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron import cli
from fastperceptron.io.columns import TableError

FIT = dict(solver="newton", l2=1.0, bias=True, backend="numpy")


@pytest.fixture()
def table():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(31)
    n = 300
    segment = rng.choice(["basic", "gold", "plus"], n)
    x = rng.normal(size=n)
    z = x + np.select([segment == "gold", segment == "plus"], [1.0, -0.5], 0.0)
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "yes", "no")
    return pd.DataFrame({"id": np.arange(n), "signup": [f"2024-01-{d:02d}" for d in rng.integers(1, 29, n)],
                         "segment": segment, "x": x, "churned": churned})


def _one_hot(df, levels=("basic", "gold", "plus")):
    return np.column_stack([(df["segment"] == level).to_numpy(float) for level in levels] + [df["x"].to_numpy()])


def test_categorical_columns_are_one_hot_with_their_levels_saved(table, tmp_path):
    r = fp.train(table, target="churned", drop=["id", "signup"], categorical=["segment"], **FIT)
    assert r.feature_names == ["segment=basic", "segment=gold", "segment=plus", "x"]
    assert r.metadata["categorical"] == {"segment": ["basic", "gold", "plus"]}
    assert r.metadata["target_labels"] == {"churned": ["no", "yes"]}  # sorted: "yes" is 1
    ref = fp.train(_one_hot(table), (table["churned"] == "yes").to_numpy(float), **FIT)
    np.testing.assert_array_equal(r.weights, ref.weights)
    new = table.head(4).assign(segment=["gold", "platinum", "basic", "plus"])  # a level never seen: all 0
    expect = ref.predict_proba(_one_hot(new))[0, :, 0]
    for m in (r, fp.load(r.save(tmp_path / "m.npz"))):
        np.testing.assert_allclose(m.predict_proba(new[["x", "segment"]])[0, :, 0], expect, rtol=1e-12)
    flipped = fp.train(table, target="churned", drop=["id", "signup"], categorical=["segment"], positive="no", **FIT)
    assert flipped.metadata["target_labels"] == {"churned": ["yes", "no"]}
    np.testing.assert_allclose(flipped.predict_proba(table)[0], 1 - r.predict_proba(table)[0], rtol=1e-9)


def test_text_and_dates_are_refused_all_at_once(table):
    with pytest.raises(TableError, match=r"the pandas DataFrame: 2 feature column\(s\) hold no numbers: 'signup' "
                                         r"\(date as text\), 'segment' \(text\); leave them out with drop=\['signup', "
                                         r"'segment'\], one-hot encode the text one\(s\) with categorical=\['segment'\]"):
        fp.train(table, target="churned", **FIT)
    with pytest.raises(TableError, match=r"target column 'x' holds 300 distinct label\(s\)"):
        fp.train(table.drop(columns=["churned"]), target="x", drop=["signup"], categorical=["segment"], positive=1.0,
                 **FIT)
    with pytest.raises(TableError, match=r"positive= 'maybe' is not one of target 'churned''s labels \['no', 'yes'\]"):
        fp.train(table, target="churned", drop=["id", "signup"], categorical=["segment"], positive="maybe", **FIT)
    with pytest.raises(TableError, match=r"column 'x' holds floating-point numbers; a categorical column holds text"):
        fp.train(table, target="churned", drop=["id", "signup", "segment"], categorical=["x"], **FIT)
    with pytest.raises(TypeError, match=r"categorical= names a column of a table, but X is not a table"):
        fp.train(np.zeros((4, 2)), np.zeros(4), categorical=["a"])


def _cli(line):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(shlex.split(line))
    return rc, out.getvalue(), err.getvalue()


def test_the_command_line_encodes_as_the_api_does(table, tmp_path):
    path, model = tmp_path / "t.csv", tmp_path / "m.npz"
    table.to_csv(path, index=False, float_format="%.17g")
    rc, out, err = _cli(f"train --data {path} --target churned --drop id,signup --categorical segment "
                        f"--solver newton --l2 1 --bias --backend numpy --out {model}")
    assert rc == 0, err
    r = fp.load(model)
    ref = fp.train(table, target="churned", drop=["id", "signup"], categorical=["segment"], standardize=True, **FIT)
    assert r.feature_names == ref.feature_names and r.metadata["target_labels"] == {"churned": ["no", "yes"]}
    np.testing.assert_allclose(r.weights, ref.weights, rtol=1e-12)
    assert "'yes' is 1" in out  # the summary says which label is 1
    rc, out, _ = _cli(f"info {model}")
    assert rc == 0 and "target labels    'churned': 'yes' is 1, 'no' is 0" in out
    lines = out.splitlines()
    rows = lines[[i for i, line in enumerate(lines) if line.startswith("coefficients")][0] + 1:]
    weights = {line.split()[0]: float(line.split()[1]) for line in rows}  # the coefficients, one per input
    assert weights["segment=gold"] == pytest.approx(r.weights[0, r.feature_names.index("segment=gold"), 0], rel=1e-5)
    assert weights["bias"] == pytest.approx(r.bias[0, 0], rel=1e-5)
    rc, _, err = _cli(f"train --data {path} --target churned --backend numpy")
    assert rc == 2 and "2 feature column(s) hold no numbers: 'signup' (date), 'segment' (text); leave them " \
                       "out with --drop signup,segment, one-hot encode the text one(s) with --categorical segment" in err


def test_levels_match_by_value_and_an_unseen_one_is_said(table):
    """An integer categorical column read back as floats (100.0) or text ("100") still finds its levels;
    a level never seen is said once (UnseenLevelWarning) and predicts with 0 in all its inputs."""
    pd = pytest.importorskip("pandas")
    df = table.assign(shop=np.arange(len(table)) % 3 + 100)
    r = fp.train(df, target="churned", drop=["id", "signup"], categorical=["segment", "shop"], **FIT)
    assert r.metadata["categorical"]["shop"] == ["100", "101", "102"]
    expect = r.predict_proba(df)
    for other in (df.assign(shop=df["shop"].astype(float)), df.assign(shop=df["shop"].astype(str))):
        np.testing.assert_array_equal(r.predict_proba(other), expect)
    with pytest.warns(fp.errors.UnseenLevelWarning, match=r"2 row\(s\) hold a level of 'shop' never seen in training "
                                                          r"\('999'\): 0 in all of its inputs"):
        r.predict_proba(df.head(4).assign(shop=[999, 100, 999, 101]))
    del pd


def test_a_positive_label_of_numbers_and_one_hot_inputs_left_unscaled(table):
    y01 = table.assign(churned=(table["churned"] == "yes").astype(int))
    one = fp.train(y01, target="churned", drop=["id", "signup"], categorical=["segment"], positive=1, **FIT)
    zero = fp.train(y01, target="churned", drop=["id", "signup"], categorical=["segment"], positive=0, **FIT)
    np.testing.assert_allclose(zero.predict_proba(y01)[0], 1 - one.predict_proba(y01)[0], rtol=1e-9)
    assert one.metadata["target_labels"] == {"churned": [0, 1]}
    std = fp.train(table, target="churned", drop=["id", "signup"], categorical=["segment"], standardize=True, **FIT)
    x = table["x"].to_numpy()
    manual = np.column_stack([_one_hot(table)[:, :3], (x - x.mean()) / x.std()])  # one-hot 0/1, x standardised
    ref = fp.train(manual, (table["churned"] == "yes").to_numpy(float), **FIT)
    np.testing.assert_allclose(std.predict_proba(table)[0], ref.predict_proba(manual)[0], rtol=1e-9)


def test_messages_name_a_frames_columns_and_its_index(table):
    pd = pytest.importorskip("pandas")
    raw = pd.DataFrame({"income": np.linspace(1e5, 2e5, 40), "x": np.linspace(-1, 1, 40), "y": np.arange(40) % 2})
    with pytest.warns(fp.StabilityWarning, match=r"'income' \(root mean square"):
        fp.train(raw, target="y", iterations=3)
    bad = raw.assign(x=np.where(np.arange(40) == 5, np.nan, raw["x"])).set_axis(np.arange(40) * 10 + 3, axis=0)
    with pytest.raises(TableError, match=r"the pandas DataFrame, row 5 \(index 53\), column 'x': an empty cell"):
        fp.train(bad.sample(frac=1.0, random_state=0).sort_index(), target="y")
    model = fp.train(raw, target="y", solver="newton", bias=True)
    with pytest.raises(TableError, match=r"no column 'income', which the model reads .*; the table's columns are "
                                         r"\['incme', 'x', 'y'\]"):
        model.predict_proba(raw.rename(columns={"income": "incme"}))
