"""A hostile user (issue 22): bad files, bad cells, bad labels, tampered models and odd arguments on
every command and on the API. Each gets one line naming the problem and the fix (CLI: exit status 2,
no traceback), or the right answer; never a library-internal error or a silently wrong answer."""

import contextlib
import io
import shlex

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron import cli


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The hostile files, and a plain and a groups model trained from good ones."""
    h = tmp_path_factory.mktemp("hostile")
    (h / "ok.csv").write_text("a,b,y\n1,2,0\n3,4,1\n5,1,1\n2,2,0\n")
    (h / "g.csv").write_text("a,b,g,y\n1,2,x,0\n3,4,y,1\n5,1,x,1\n2,2,y,0\n")
    (h / "empty.csv").write_text("")
    (h / "header.csv").write_text("a,b,y\n")
    (h / "onecol.csv").write_text("y\n1\n0\n")
    (h / "garbage.csv").write_bytes(bytes(range(256))[::-1] * 2)
    (h / "nonutf.csv").write_bytes(b"a,b,y\n\xff\xfe,2,0\n")
    (h / "y2.csv").write_text("a,b,y\n1,2,2\n3,4,1\n")
    (h / "ystr.csv").write_text("a,b,y\n1,2,yes\n3,4,no\n5,1,maybe\n")
    (h / "adir").mkdir()
    (h / "huge.csv").write_text("a,b,y\n1e308,1,0\n2,3,1\n4,5,0\n6,1,1\n")
    (h / "scored.csv").write_text("a,b,y_proba\n1,2,-1\n3,4,-1\n")
    assert run_cli("train --data {H}/ok.csv --models 3 --iterations 10 --out {H}/m.npz", h)[0] == 0
    assert run_cli("train --data {H}/g.csv --group-by g --shrink none --iterations 10 --out {H}/mg.npz", h)[0] == 0
    return h


def run_cli(line: str, h) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(shlex.split(line.replace("{H}", str(h))))
        except SystemExit as exc:  # argparse
            rc = exc.code
    return rc, err.getvalue()


CLI_CASES = [
    ('train --data {H}/nope.csv', "no data file at '{H}/nope.csv'"),
    ('train --data {H}/empty.csv', '{H}/empty.csv: not a readable CSV file (Empty CSV file)'),
    ('train --data {H}/adir', "no data file at '{H}/adir'"),
    ('train --data {H}/garbage.csv', "{H}/garbage.csv: not a readable CSV file ("),
    ('train --data {H}/header.csv', '{H}/header.csv: a CSV needs a header line and at least one data row'),
    ('train --data {H}/onecol.csv', "{H}/onecol.csv: no feature columns left once the target columns ['y'] are taken"),
    ('train --data {H}/nonutf.csv', "{H}/nonutf.csv: 1 feature column(s) hold no numbers: 'a' (binary); leave them out with --drop a"),
    ('train --data {H}/ok.csv --target zz', "--target 'zz' is neither a column name nor a position; columns: ['a', 'b', 'y']"),
    ('train --data {H}/ok.csv --target a b y', "{H}/ok.csv: no feature columns left once the target columns ['a', 'b', 'y'] are taken"),
    ('train --data {H}/g.csv --group-by g --target g', "column 'g' is given as both --target and --group-by; a column has one role"),
    ('train --data {H}/ok.csv --group-by zz', "--group-by 'zz' is neither a column name nor a position; columns: ['a', 'b', 'y']"),
    ('train --models 0', 'models must be >= 1, got 0'),
    ('train --models -1', 'models must be >= 1, got -1'),
    ('train --iterations -5', 'iterations must be >= 0, got -5'),
    ('train --lr -1', 'learning_rate must be >= 0, got -1.0'),
    ('train --lr nan', 'learning_rate contains NaN or inf (first at index (0,)); learning rates must be finite'),
    ('train --l2 -1', 'l2 must be >= 0 (the strength of the penalty ½·l2·‖W‖²), got -1.0'),
    ('train --l2 inf', 'l2 contains NaN or inf (first at index (0,)); the L2 penalty must be a finite number >= 0'),
    ('train --tol 0', 'tol must be a positive finite number or None, got 0.0'),
    ('train --tol nan', 'tol must be a positive finite number or None, got nan'),
    ('train --seeds abc', "--seeds 'abc' is not a non-negative integer or a START:STOP range"),
    ('train --seeds 5:2', "--seeds '5:2': a range is START:STOP with 0 <= START < STOP"),
    ('train --threads 0', "argument --threads: must be a positive integer, got '0' (see 'fastperceptron train --help'"),
    ('train --record-every 0', 'record_every must be >= 1, got 0'),
    ('train --out {H}/no/dir/m.npz', "cannot write '{H}/no/dir/m.npz': the folder '{H}/no/dir' does not exist; create it first ("),
    ('train --out {H}/adir', "cannot write '{H}/adir': it is a directory; give a file name, e.g. '{H}/adir/model.npz'"),
    ('train --solver newton --rule seed', "solver='newton' minimises the cross-entropy, whose gradient is rule 'logistic'; got rule='"),
    ('train --solver newton --lr 0.1', "learning_rate is the step of solver='gd'; solver='newton' chooses its own steps by a line "),
    ('train --fallback', '--fallback and --min-rows serve groups: give --group-by COLUMN as well'),
    ('train --min-rows -1', '--fallback and --min-rows serve groups: give --group-by COLUMN as well'),
    ('train --data {H}/g.csv --group-by g --min-rows 3', 'min_rows=3 sends small groups to the fallback model: set fallback=True as well'),
    ('train --plot {H}/x.png --plot-kind curves', '--plot-kind curves needs --record-every K (the loss history)'),
    ('train --data {H}/y2.csv', "{H}/y2.csv, line 2, column 'y': 2.0 is not in [0, 1]; targets are 0/1 labels or probabilit"),
    ('train --data {H}/ystr.csv', "{H}/ystr.csv: target column 'y' holds 3 distinct label(s) (['maybe', 'no', 'yes']); a target holds two labels, or 0/1 labels or probabilities"),
    ('train --data {H}/ystr.csv --positive yes', "{H}/ystr.csv: target column 'y' holds 3 distinct label(s)"),
    ('train --data {H}/ok.csv --positive 2', "{H}/ok.csv: --positive '2' is not one of target 'y''s labels [0.0, 1.0]"),
    ('train --models 2 --seeds 1 2', "argument --seeds: not allowed with argument --models (see 'fastperceptron train --help')"),
    ('train --data {H}/ok.csv --models 3 --iterations 2 --plot {H}/adir', "cannot write '{H}/adir': it is a directory; give a file name, e.g. '{H}/adir/model.png'"),
    ('train --backend numba:gemm --data {H}/ok.csv --models 2 --iterations 2 --solver newton', "backend layout 'numba:gemm' does not fit this problem: the 'solver' layout is for (and onl"),
    ('predict {H}/nope.npz --input 1 2', "no model file at '{H}/nope.npz'"),
    ('predict {H}/garbage.csv --input 1 2', "'{H}/garbage.csv' is not a fastperceptron model file (a .npz written by train --out or result.save); a table, which --data reads"),
    ('predict {H}/m.npz --input 1', 'X must be (M, 2), (2,) for one sample, or (B, M, 2) for one input set per model; got shape'),
    ('predict {H}/m.npz --input 1 2 3', 'X must be (M, 2), (2,) for one sample, or (B, M, 2) for one input set per model; got shape'),
    ('predict {H}/m.npz --input 1 2 --data {H}/ok.csv', 'give exactly one of --data FILE or --input X1 X2 ...'),
    ('predict {H}/m.npz', 'give exactly one of --data FILE or --input X1 X2 ...'),
    ('predict {H}/m.npz --data {H}/onecol.csv', "{H}/onecol.csv: no column 'a', which the model reads (it was trained on ['a', 'b'])"),
    ('predict {H}/m.npz --input 1 2 --quantiles 2 --summary', 'quantiles must be levels in [0, 1], e.g. (0.05, 0.95); got [2.0]'),
    ('predict {H}/m.npz --input 1 2 --unseen fallback', '--unseen applies to a model trained with groups'),
    ('predict {H}/m.npz --input nan 2', 'X contains NaN or inf (first at index (0, 0)); remove or impute those values first'),
    ('predict {H}/m.npz --data {H}/g.csv --group-by g', '--group-by given, but the model was not trained with groups; leave it out'),
    ('predict {H}/mg.npz --data {H}/g.csv --unseen fallback', "unseen='fallback' needs a fallback model: train with fallback=True, or attach one with res"),
    ('predict {H}/mg.npz --data {H}/ok.csv', "{H}/ok.csv: no column 'g' to group by; columns: ['a', 'b', 'y']"),
    ('predict {H}/mg.npz --data {H}/g.csv --summary', '--summary describes an ensemble of models over the same rows, but {H}/mg.npz has one model'),
    ('predict {H}/m.npz --input 1 2 --summary --per-model', '--summary and --per-model are two views: give one of them'),
    ('predict {H}/m.npz --data {H}/ok.csv --out {H}/p.txt', '--out {H}/p.txt: predictions are written as CSV (.csv) or Parquet (.parquet)'),
    ('predict {H}/m.npz --input 1 2 --keep a', '--keep carries columns of --data FILE through: give --data'),
    ('predict {H}/m.npz --data {H}/ok.csv --keep zz', "--keep 'zz' is neither a column name nor a position; columns: ['a', 'b', 'y']"),
    ('predict {H}/m.npz --data {H}/ok.csv --threshold 2', '--threshold is a probability in [0, 1], got 2'),
    ('predict {H}/m.npz --data {H}/ok.csv --per-model --threshold 0.5', '--per-model gives one row per model and input: --keep and --threshold apply to one row per input'),
    ('predict {H}/m.npz --data {H}/ok.csv --out {H}/no/p.csv', "cannot write '{H}/no/p.csv': the folder '{H}/no' does not exist"),
    ('export {H}/m.npz --ou {H}/x.onnx', "(see 'fastperceptron export --help')"),
    ('train --data {H}/g.csv --group-by g --shrink none --shrink-grid 1 2', '--shrink-grid, --cv and --cv-seed choose --shrink cv: give --shrink cv and --group-by'),
    ('train --shrink none', '--shrink none trains one --group-by column'),
    ('export {H}/m.npz --onnx {H}/adir', "cannot write '{H}/adir': it is a directory; give a file name, e.g. '{H}/adir/model.onnx'"),
    ('export {H}/m.npz --onnx {H}/x.onnx --unseen fallback', '--unseen applies to a model trained with groups'),
    ('export {H}/nope.npz --onnx {H}/x.onnx', "no model file at '{H}/nope.npz'"),
    ('export {H}/mg.npz --onnx {H}/x.onnx --unseen fallback', "unseen='fallback' needs a fallback model: train with fallback=True, or attach one with res"),
    ('export {H}/m.npz --onnx {H}/no/dir/x.onnx', "cannot write '{H}/no/dir/x.onnx': the folder '{H}/no/dir' does not exist; create it first "),
    ('plot {H}/m.npz', "the following arguments are required: --out (see 'fastperceptron plot --help')"),
    ('plot {H}/m.npz --out {H}/x.png --kind sweep', 'no hyperparameter varies across these models: a sweep needs one learning_rate (or l2) per '),
    ('plot {H}/m.npz --out {H}/no/x.png', "cannot write '{H}/no/x.png': the folder '{H}/no' does not exist; create it first (mkdir -p"),
    ('plot {H}/m.npz --out {H}/x.txt', "cannot write a figure as '.txt': use a .png, .svg or .pdf file name"),
    ('plot {H}/m.npz --out {H}/x.png --kind curves', 'this result has no loss history: train with record_every=k (CLI: --record-every K) to plot'),
    ('info --data {H}/garbage.csv', "{H}/garbage.csv: not a readable CSV file ("),
    ('info --models 0', "argument --models: must be a positive integer, got '0' (see 'fastperceptron info --help')"),
    ('info --threads 0', "argument --threads: must be a positive integer, got '0' (see 'fastperceptron info --help')"),
    ('bench --models 0', "argument --models: must be a positive integer, got '0' (see 'fastperceptron bench --help')"),
    ('bench --repeat 0', "argument --repeat: must be a positive integer, got '0' (see 'fastperceptron bench --help')"),
    ('bench --iterations -1', "argument --iterations: must be a positive integer, got '-1' (see 'fastperceptron bench --h"),
    ('bench --case groups --groups 0', "argument --groups: must be a positive integer, got '0' (see 'fastperceptron bench --help')"),
    ('train --data {H}/g.csv --group-by g --shrink 1 --cv 3', '--shrink-grid, --cv and --cv-seed choose --shrink cv, but --shrink 1 is given: leave them out, or give --shrink cv'),
    ('train --data {H}/g.csv --group-by g --shrink 1 --l2 1 2', '--l2 penalises the one global model of a pooled batch (--shrink, or --group-by with several columns): give one value'),
    ('train --data {H}/ok.csv --features a --drop b', '--features names the feature columns and --drop the columns to leave out: give one'),
    ('train --data {H}/ok.csv --drop zz', "--drop 'zz' is neither a column name nor a position; columns: ['a', 'b', 'y']"),
    ('train --data {H}/ok.csv --features a,zz', "--features 'zz' is neither a column name nor a position; columns: ['a', 'b', 'y']"),
    ('train --features a', '--features needs --data FILE, a table with those columns'),
    ('train --data {H}/huge.csv', "{H}/huge.csv, line 2, column 'a': 1e+308 is too large: its square overflows float64; rescale the column"),
    ('train --data {H}/ok.csv --drop a --drop b', "{H}/ok.csv: no feature columns left once the target columns ['y'] are taken"),
    ('train --data {H}/g.csv --group-by g --shrink 1,2', '--shrink has 2 values for 1 levels: give one, or one per level (outermost first)'),
    ('train --data {H}/ok.csv --shrink 3', '--shrink pulls each group' + "'" + 's model toward its parent' + "'" + 's: give --group-by COLUMN'),
    ('predict {H}/m.npz --data {H}/scored.csv --keep y_proba', '--keep y_proba: the predictions write column(s) of that name; rename them in {H}/scored.csv or leave them out of --keep'),
    ('demo --input 1 2', '--input needs 3 numbers, got 2'),
    ('demo --iterations -1', '--iterations must be at least 1'),
    ('demo --seed -1', 'seeds must be non-negative integers, got -1'),
    ('demo --input nan 1 1', 'X contains NaN or inf (first at index (0, 0)); remove or impute those values first'),
]


@pytest.mark.parametrize("line, message", CLI_CASES, ids=[c[0].replace("{H}/", "") for c in CLI_CASES])
def test_every_command_refuses_bad_input_in_one_line(files, line, message):
    if "nonutf" in line or "garbage" in line or "empty.csv" in line:
        pytest.importorskip("pyarrow")  # the standard library's reader words these its own way
    rc, err = run_cli(line, files)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith("fastperceptron") and "Traceback" not in err and "unexpected" not in err
    assert message.replace("{H}", str(files)) in lines[0], lines[0]


X, Y = fp.datasets.seed()
_r = fp.train(X, Y, models=3, iterations=10, progress=False)
_Xg = np.random.default_rng(0).normal(size=(30, 2))
_yg = (np.arange(30) % 2).astype(float)
_g = np.arange(30) % 3
_rg = fp.train(_Xg, _yg, groups=_g, iterations=10, progress=False)

API_CASES = [
    ("X strings", lambda: fp.train([["a", "b", "c"]] * 4, Y), TypeError, "X must contain only numbers, got dtype <U1"),
    ("X ragged", lambda: fp.train([[1, 2], [3]], [0, 1]), ValueError, "X must be a rectangular array"),
    ("X empty", lambda: fp.train(np.zeros((0, 3)), np.zeros(0)), ValueError, "X is empty (shape (0, 3))"),
    ("X 4-D", lambda: fp.train(np.zeros((1, 1, 4, 3)), Y), ValueError, "X must be 2-D (N, D), shared by all models"),
    ("X complex", lambda: fp.train(X + 1j, Y), TypeError, "X is complex (complex128)"),
    ("y NaN", lambda: fp.train(X, [0, np.nan, 1, 0]), ValueError, "y contains NaN or inf (first at index (1, 0))"),
    ("y 2", lambda: fp.train(X, [0, 2, 1, 0]), ValueError, "y must lie in [0, 1]"),
    ("y short", lambda: fp.train(X, [0, 1]), ValueError, "y has shape (2, 1) but X has N = 4 samples"),
    ("weights negative", lambda: fp.train(X, Y, sample_weight=[1, -1, 1, 1]), ValueError, "sample_weight must be >= 0"),
    ("weights all 0", lambda: fp.train(X, Y, sample_weight=[0, 0, 0, 0]), ValueError, "sample_weight of model 0 sums to 0"),
    ("models 1.5", lambda: fp.train(X, Y, models=1.5), TypeError, "models must be an integer, got 1.5"),
    ("seeds 1.5", lambda: fp.train(X, Y, seeds=[1.5]), ValueError, "seeds must be a non-empty 1-D sequence of integers"),
    ("seeds 2**64-1", lambda: fp.train(X, Y, seeds=np.array([2**64 - 1], np.uint64)), ValueError, "seeds must be below 2**63"),
    ("dtype float16", lambda: fp.train(X, Y, dtype="float16"), ValueError, "dtype must be 'float64' or 'float32'"),
    ("backend bogus", lambda: fp.train(X, Y, backend="bogus"), ValueError, "unknown backend 'bogus'"),
    ("learning rate text", lambda: fp.train(X, Y, learning_rate="fast"), ValueError,
     "learning_rate must be a number, one per model, or 'auto'"),
    ("learning rate -1", lambda: fp.train(X, Y, learning_rate=-1), ValueError, "learning_rate must be >= 0, got -1.0"),
    ("l2 text", lambda: fp.train(X, Y, l2="big"), TypeError, "l2 must contain only numbers"),
    ("tol text", lambda: fp.train(X, Y, tol="x"), ValueError, "tol must be a positive finite number or None"),
    ("threads 0", lambda: fp.train(X, Y, threads=0), ValueError, "threads must be a positive integer or None, got 0"),
    ("explain threads 0", lambda: fp.explain(X, Y, threads=0), ValueError, "threads must be a positive integer"),
    ("bias text", lambda: fp.train(X, Y, bias="yes"), TypeError, "bias must be True or False, got 'yes'"),
    ("initial weights", lambda: fp.train(X, Y, initial_weights=np.zeros((2, 1))), ValueError,
     "initial_weights has shape (2, 1) but the data need (D, K) = (3, 1)"),
    ("B disagrees", lambda: fp.train(X, Y, models=2, learning_rate=[1, 2, 3]), ValueError,
     "models says 2, learning_rate (its length) says 3"),
    ("labels None", lambda: fp.train(_Xg, _yg, groups=[None] * 30), ValueError, "groups has missing labels"),
    ("labels mixed", lambda: fp.train(_Xg, _yg, groups=[1, "a"] * 15), TypeError, "not a mix"),
    ("labels dict", lambda: fp.train(_Xg, _yg, groups={"a": 1}), ValueError, "groups must be 1-D"),
    ("float32 overflow", lambda: fp.train(X * 1e100, Y, dtype="float32"), ValueError, "too large for float32"),
    ("float64 overflow", lambda: fp.train(X * 1e300, Y), ValueError, "X's column 0 holds values up to 1e+300: their squares overflow float64; rescale the column"),
    ("predict D", lambda: _r.predict_proba([[1, 2]]), ValueError, "X must be (M, 3)"),
    ("predict NaN", lambda: _r.predict_proba([[np.nan, 1, 1]]), ValueError, "X contains NaN or inf"),
    ("predict threshold", lambda: _r.predict(X, threshold="x"), ValueError, "threshold must be a probability in [0, 1]"),
    ("predict groups of a plain batch", lambda: _r.predict_proba(X, groups=[1, 2, 3, 4]), ValueError,
     "this batch was not trained with groups"),
    ("predict unseen label", lambda: _rg.predict_proba(_Xg[:1], groups=[7]), ValueError, "never seen in training (7)"),
    ("predict text label", lambda: _rg.predict_proba(_Xg[:1], groups=["a"]), TypeError, "groups are strings ('a') but"),
    ("predict all models of groups", lambda: _rg.predict_proba(_Xg), ValueError, "one model per group (3 groups)"),
    ("select out of range", lambda: _r[10], IndexError, "result[10]: index 10 is out of bounds"),
    ("select by text", lambda: _r["a"], TypeError, "result['a']: select models by position"),
    ("load a CSV", lambda: fp.load(__file__), fp.ModelFileError, "is not a fastperceptron model file"),
    ("summary levels", lambda: _r.ensemble_summary(X, quantiles=[2]), ValueError, "quantiles must be levels in [0, 1]"),
]


@pytest.mark.parametrize("name, call, error, message", API_CASES, ids=[c[0] for c in API_CASES])
def test_the_api_refuses_bad_input_naming_it(name, call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


# --- tables and pooled batches through every door (issue 33) -------------------------------------------
def _frames():
    """A small pandas table (stores under regions) and variants a hostile user passes."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(33)
    n = 60
    df = pd.DataFrame({"region": rng.choice(["n", "s"], n), "store": rng.integers(0, 4, n), "a": rng.normal(size=n),
                       "b": rng.normal(size=n), "y": (rng.random(n) < 0.5).astype(int)})
    return pd, df


def _table_case(make):
    def call():
        pd, df = _frames()
        return make(pd, df)
    return call


TABLE_CASES = [
    ("duplicated names", lambda pd, df: fp.train(df.set_axis(["region", "store", "a", "a", "y"], axis=1), target="y"),
     "the pandas DataFrame: the column name(s) ['a'] appear more than once; give every column its own name"),
    ("integer names", lambda pd, df: fp.train(df.set_axis(["region", "store", 0, 1, "y"], axis=1), target="y"),
     "the pandas DataFrame: column names must be text, but 2 are not (0, 1); name every column"),
    ("integer names at predict", lambda pd, df: fp.train(df, target="y", features=["a", "b"], solver="newton")
     .predict_proba(df[["a", "b"]].set_axis([0, 1], axis=1)), "column names must be text, but 2 are not (0, 1)"),
    ("duplicated names at predict", lambda pd, df: fp.train(df, target="y", features=["a", "b"], solver="newton")
     .predict_proba(df[["a", "b", "a"]]), "the column name(s) ['a'] appear more than once"),
    ("numbers as text", lambda pd, df: fp.train(df.assign(a=df["a"].astype(str).astype(object)), target="y",
                                                features=["a", "b"]),
     "column 'a': '"),
    ("a level list naming a missing column", lambda pd, df: fp.train(df, target="y", groups=["region", "stor"],
                                                                     shrink=1.0),
     "the pandas DataFrame: no column 'stor' (groups=); its columns are ['region', 'store', 'a', 'b', 'y']"),
    ("a grid of text", lambda pd, df: fp.train(df, target="y", groups=["region", "store"], shrink="cv",
                                               shrink_grid=["small", "big"]),
     "shrink_grid must hold numbers >= 0 (the shrink values shrink='cv' tries), got ['small', 'big']"),
    ("l2 per model of a pooled batch", lambda pd, df: fp.train(df, target="y", groups=["region", "store"], shrink=1.0,
                                                               l2=[1.0, 2.0]),
     "l2 penalises the one global model (level 0) of a pooled batch: give one number, got [1.0, 2.0]"),
    ("cv beside a number", lambda pd, df: fp.train(df, target="y", groups=["region", "store"], shrink=1.0, cv=3),
     "cv= choose shrink='cv' by cross-validation, but shrink=1.0 is given: leave them out, or give shrink='cv'"),
    ("a grid beside numbers", lambda pd, df: fp.train(df, target="y", groups=["region", "store"], shrink=[1.0, 2.0],
                                                      shrink_grid=[1.0, 2.0]),
     "shrink_grid= choose shrink='cv' by cross-validation, but shrink=[1.0, 2.0] is given"),
    ("a table lacking a level column", lambda pd, df: fp.train(df, target="y", groups=["region", "store"], shrink=1.0)
     .predict_proba(df.drop(columns=["store"])),
     "the pandas DataFrame: no column 'store' (the labels of level 2 of ['region', 'store'], as in training)"),
    ("levels by the wrong names", lambda pd, df: fp.train(df, target="y", groups=["region", "store"], shrink=1.0)
     .predict_proba(df, groups=["store", "a"]),
     "groups= store,a: the model's levels are region,store (outermost first), and 'store' is one of them"),
]


@pytest.mark.parametrize("name, make, message", TABLE_CASES, ids=[c[0] for c in TABLE_CASES])
def test_tables_and_pooled_batches_refuse_bad_input_naming_it(name, make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        _table_case(make)()
    assert message in str(info.value)
    assert type(info.value).__module__.startswith(("fastperceptron", "builtins")), type(info.value)


def test_numbers_held_as_objects_or_decimals_are_numbers():
    """An object column of numbers only, and Decimal columns (pandas, polars, pyarrow, a Parquet file
    through the CLI), train as float64 columns do: the right answer, not a refusal."""
    import decimal

    pd, df = _frames()
    ref = fp.train(df, target="y", features=["a", "b"], solver="newton", bias=True)
    as_objects = fp.train(df.assign(a=df["a"].astype(object)), target="y", features=["a", "b"], solver="newton",
                          bias=True)
    np.testing.assert_array_equal(as_objects.weights, ref.weights)
    rounded = df.assign(a=df["a"].round(6), b=df["b"].round(6))
    ref = fp.train(rounded, target="y", features=["a", "b"], solver="newton", bias=True)
    decimals = {c: [decimal.Decimal(f"{v:.6f}") for v in rounded[c]] for c in ("a", "b")}
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"a": pa.array(decimals["a"], pa.decimal128(12, 6)), "b": pa.array(decimals["b"],
                     pa.decimal128(12, 6)), "y": rounded["y"].to_numpy()})
    kinds = [table, rounded.assign(**decimals)]
    pl = pytest.importorskip("polars")
    kinds.append(pl.from_arrow(table))
    for kind in kinds:
        r = fp.train(kind, target="y", features=["a", "b"], solver="newton", bias=True)
        np.testing.assert_allclose(r.weights, ref.weights, rtol=1e-12)


def test_the_command_lines_warnings_name_its_flags():
    """Every warning the library words with its keywords reaches the command line with the flags."""
    from fastperceptron.cli.common import cli_words
    from fastperceptron.problem.steps import rate_warning, scale_warning
    from fastperceptron.solvers.outcome import unconverged_message

    reasons = np.array(["iterations", "line-search", "one-class", "separable", "converged"])
    messages = [unconverged_message(reasons, np.arange(5), solver, 100) for solver in ("newton", "lbfgs")]
    from fastperceptron.solvers.outcome import SHRINK_FIX

    messages.append(unconverged_message(reasons, np.arange(5), "newton", 100, penalty=SHRINK_FIX))
    messages.append(scale_warning(np.array([[1e6, 1.0], [2e6, 1.0]]), ["income", "x"]))
    messages.append(rate_warning(np.array([[40.0, 4.0]]), np.zeros(1), np.array([1.0])))
    import fastperceptron.pooling.fit as fit

    with pytest.warns(fp.ShrinkWarning) as caught:
        from fastperceptron.problem.hierarchy import Hierarchy

        big = Hierarchy(names=("store",), paths=(np.array(["a"]),), parent=(np.zeros(1, np.int64),),
                        sizes=(np.array([10**6]),))
        fit._warn_at_edges(np.array([1e4]), np.array([[3.0, 2.0, 1.0]]), np.array([1.0, 10.0, 1e4]), big)
    messages.append(str(caught[0].message))
    for message in messages:
        cli = cli_words(message)
        for python in ("solver='", "standardize=True", "l2 >", "models=1", "fp.", "shrink_grid", "result.",
                       "learning_rate='", "scikit-learn"):
            assert python not in cli, (python, cli)
    assert "use --solver lbfgs, or scale the features (--standardize)" in cli_words(messages[0])
    assert "give --shrink a value > 0 (each group then pulled toward its parent's model)" in cli_words(messages[2])
    assert "--shrink-grid" in cli_words(messages[-1]) and "--shrink cv" in cli_words(messages[-1])
