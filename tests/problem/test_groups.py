"""Groups (SPEC §6): one model per label, each trained on its own rows only.

Every backend is checked against the independent per-model reference of tests/reference.py, run on
each group's rows alone, in their original order (SPEC §2): float64 within 1e-9 relative, float32
within SPEC §4's 1e-4.
"""

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.problem.groups import factorize, group_layout

import reference
from tolerance import FLOAT32, assert_close


def _skewed(rng, G=23, D=4, K=1, labels="int"):
    """Rows of G groups with skewed sizes (several of one row), shuffled; labels as asked."""
    sizes = np.maximum(1, np.round(rng.lognormal(np.log(12), 1.3, size=G))).astype(int)
    sizes[:4] = 1  # groups of one row are valid models
    g = np.repeat(np.arange(G), sizes)
    rng.shuffle(g)
    names = np.array([f"store-{i:03d}" for i in rng.permutation(G)]) if labels == "str" else rng.permutation(G) * 7 - 30
    X = rng.normal(size=(g.size, D))
    y = (rng.random((g.size, K)) < 0.5).astype(float)
    return X, y, names[g]


def _per_group_reference(X, y, g, *, iterations, lr, rule, bias, s=None, tol=None, W0=None, l2=None):
    """Train every group alone with the reference loop, forming the groups here and not through the
    library: model b is the b-th label in sorted order (SPEC §6), and its rows are those carrying that
    label, in their original order. Yields (b, label, W, c, iterations, loss) for each model."""
    labels = sorted({label.item() if hasattr(label, "item") else label for label in g})
    assert len(W0) == len(labels)
    for b, label in enumerate(labels):
        rows = np.flatnonzero(np.asarray([v == label for v in g]))
        sb = None if s is None else s[rows]
        W, c, done = reference.train_one(X[rows], y[rows], W0[b], iterations=iterations, lr=lr, rule=rule, bias=bias,
                                         s=sb, tol=tol, l2=0.0 if l2 is None else l2[b])
        yield b, label, W, c, done, reference.loss_one(X[rows], y[rows], W, c, sb)


CASES = [
    dict(rule="logistic", bias=True),
    dict(rule="seed", bias=False),
    dict(rule="seed", bias=True, K=3, weights=True),
    dict(rule="logistic", bias=True, K=2, weights=True, tol=2e-3),
    dict(rule="seed", bias=True, K=2, weights=True, l2=True),  # a penalty of each group's own
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_backend_matches_each_group_trained_alone(backend, rng, case):
    X, y, g = _skewed(rng, K=case.get("K", 1))
    s = rng.random(len(g)) + 0.25 if case.get("weights") else None
    W0 = rng.uniform(-1, 1, size=(len(np.unique(g)), X.shape[1], y.shape[1]))
    l2 = rng.uniform(0.5, 3.0, size=len(W0)) if case.get("l2") else None
    kw = dict(iterations=40, learning_rate=0.3, rule=case["rule"], bias=case["bias"], tol=case.get("tol"))
    r = fp.train(X, y, groups=g, sample_weight=s, initial_weights=W0, backend=backend, record_every=10,
                 l2=0.0 if l2 is None else l2, **kw)
    assert r.params["layout"] == "groups"
    assert r.weights.shape == (len(W0), X.shape[1], y.shape[1])
    assert r.history.shape == (len(W0), 4)
    stopped_early = 0
    for b, label, W, c, done, loss in _per_group_reference(
            X, y, g, iterations=40, lr=0.3, rule=case["rule"], bias=case["bias"], s=s, tol=case.get("tol"), W0=W0,
            l2=l2):
        assert r.groups[b] == label
        assert_close(r.weights[b], W, what=f"weights of group {label}")
        if case["bias"]:
            assert_close(r.bias[b], c, what=f"bias of group {label}")
        assert r.iterations[b] == done, label
        assert r.loss[b] == pytest.approx(loss, rel=1e-9)
        assert r.group_sizes[b] == np.count_nonzero(g == label)
        stopped_early += done < 40
    if case.get("tol"):
        assert 0 < stopped_early < len(W0)  # the case exercises early stopping, for some groups only


def test_float32_within_spec_tolerance(backend, rng):
    X, y, g = _skewed(rng, K=2)
    W0 = rng.uniform(-1, 1, size=(len(np.unique(g)), X.shape[1], 2))
    r = fp.train(X, y, groups=g, initial_weights=W0, iterations=30, learning_rate=0.2, rule="logistic", bias=True,
                 dtype="float32", backend=backend)
    assert r.weights.dtype == np.float32
    for b, label, W, c, _, _ in _per_group_reference(X, y, g, iterations=30, lr=0.2, rule="logistic",
                                                     bias=True, W0=W0):
        assert_close(r.weights[b], W, FLOAT32, what=f"group {label}")


def test_result_equals_training_each_group_alone_with_its_seed(rng):
    """SPEC §6 through the public API: model m is fp.train on its rows with its seed."""
    X, y, g = _skewed(rng, labels="str")
    r = fp.train(X, y, groups=g, iterations=25, rule="logistic", bias=True, backend="numpy", learning_rate=0.5)
    assert list(r.groups) == sorted(set(g))
    for b in (0, 5, len(r) - 1):
        rows = g == r.groups[b]
        alone = fp.train(X[rows], y[rows], seeds=[r.seeds[b]], iterations=25, rule="logistic", bias=True,
                         backend="numpy", learning_rate=0.5)
        assert_close(r.weights[b], alone.weights[0], what=f"group {r.groups[b]}")


def test_numba_groups_are_bit_identical_across_runs_and_threads(rng):
    pytest.importorskip("numba")
    import numba

    X, y, g = _skewed(rng, G=60)
    kw = dict(groups=g, iterations=30, rule="logistic", bias=True, backend="numba")
    a = fp.train(X, y, **kw)
    b = fp.train(X, y, **kw)
    c = fp.train(X, y, threads=1, **kw) if numba.config.NUMBA_NUM_THREADS > 1 else b
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.weights, c.weights)
    assert np.array_equal(a.bias, c.bias)


def test_numba_splits_a_big_group_into_pieces_and_matches(rng):
    """A group above kernels.numba_groups.BIG rows beside small ones: trained in pieces, same model."""
    pytest.importorskip("numba")
    from fastperceptron.kernels.numba.groups import BIG

    n_big = BIG + 700
    g = np.concatenate([np.zeros(n_big, int), rng.integers(1, 40, size=800)])
    rng.shuffle(g)
    X = rng.normal(size=(len(g), 3))
    y = (rng.random(len(g)) < 0.5).astype(float)
    kw = dict(groups=g, iterations=6, rule="logistic", bias=True, learning_rate=1e-3, tol=1e-6)
    a = fp.train(X, y, backend="numpy", **kw)
    b = fp.train(X, y, backend="numba", **kw)
    assert b.group_sizes[0] == n_big
    assert_close(b.weights, a.weights)
    assert np.array_equal(a.iterations, b.iterations)


def test_rows_keep_their_order_within_a_group_on_a_large_tied_problem(backend, rng):
    """SPEC §6: a backend may reorder rows once, by a *stable* sort. 30 000 rows of three labels (ties
    by the thousand, where numpy's quicksort and heapsort both reorder them): the layout's order is
    each group's rows in their original order, built here row by row; and training on the shuffled
    table gives the same bits as training on the table already sorted by group."""
    g = rng.choice(np.array(["north", "south", "west"]), size=30_000)
    layout = group_layout(g, g.size)
    expected = np.concatenate([np.flatnonzero(g == label) for label in ("north", "south", "west")])
    assert np.array_equal(layout.order, expected)
    codes = np.searchsorted(["north", "south", "west"], g)
    assert not np.array_equal(np.argsort(codes, kind="quicksort"), expected)  # an unstable sort fails here

    X = rng.normal(size=(g.size, 3))
    y = (rng.random(g.size) < 0.5).astype(float)
    kw = dict(iterations=3, rule="logistic", bias=True, learning_rate=1e-4, backend=backend, progress=False)
    shuffled = fp.train(X, y, groups=g, **kw)
    ordered = fp.train(X[expected], y[expected], groups=g[expected], **kw)
    assert np.array_equal(shuffled.weights, ordered.weights) and np.array_equal(shuffled.bias, ordered.bias)


# --- labels ----------------------------------------------------------------------------------------
def test_labels_sort_numerically_and_lexicographically():
    labels, codes = factorize([10, 2, -3, 2])
    assert labels.tolist() == [-3, 2, 10] and codes.tolist() == [2, 1, 0, 1]
    labels, codes = factorize(["b", "a10", "a9", "b"])
    assert labels.tolist() == ["a10", "a9", "b"] and codes.tolist() == [2, 0, 1, 2]
    assert factorize(np.array([1.0, 3.0]))[0].dtype == np.int64
    layout = group_layout(["b", "a", "b", "a", "c"], 5)
    assert layout.order.tolist() == [1, 3, 0, 2, 4]  # stable: a group keeps its rows' order
    assert layout.offsets.tolist() == [0, 2, 4, 5]


def test_pandas_labels():
    pd = pytest.importorskip("pandas")
    g = pd.Series(["x", "y", "x", "z"])
    assert factorize(g)[0].tolist() == ["x", "y", "z"]
    assert factorize(pd.Categorical(["q", "p", "q"]))[0].tolist() == ["p", "q"]


@pytest.mark.parametrize("labels, error, message", [
    ([1, 2], ValueError, "2 labels but X has 5 rows"),
    ([1.5, 2, 3, 4, 5], TypeError, "integers or strings"),
    ([1, None, 3, 4, 5], ValueError, "missing labels"),
    (["a", 2, "b", "c", "d"], TypeError, "not a mix"),
    ([np.nan, 1, 2, 3, 4], ValueError, "NaN"),
    (np.zeros((5, 2)), ValueError, "must be 1-D"),
])
def test_bad_labels_are_named(labels, error, message):
    X = np.zeros((5, 2))
    with pytest.raises(error, match=message):
        fp.train(X, np.zeros(5), groups=labels, iterations=1)


def test_shapes_that_do_not_fit_groups(rng):
    X, y, g = _skewed(rng)
    G = len(np.unique(g))
    with pytest.raises(ValueError, match="X must be 2-D"):
        fp.train(X[None], y, groups=g, iterations=1)
    with pytest.raises(ValueError, match="y must be"):
        fp.train(X, np.zeros((3, len(g), 1)), groups=g, iterations=1)
    with pytest.raises(ValueError, match="one weight per row"):
        fp.train(X, y, groups=g, sample_weight=np.ones((2, len(g))), iterations=1)
    with pytest.raises(ValueError, match=f"groups .its number of distinct labels. says {G}"):
        fp.train(X, y, groups=g, seeds=range(G + 1), iterations=1)
    s = np.ones(len(g))
    s[g == g[0]] = 0
    with pytest.raises(ValueError, match=f"group {g[0].item()!r} sums to 0"):
        fp.train(X, y, groups=g, sample_weight=s, iterations=1)
    with pytest.raises(ValueError, match="'groups' layout is"):
        fp.train(X, y, backend="numpy:groups", iterations=1)


# --- the result ------------------------------------------------------------------------------------
def test_predict_save_load_and_select_by_label(rng, tmp_path):
    X, y, g = _skewed(rng, K=2, labels="str")
    r = fp.train(X, y, groups=g, iterations=20, rule="logistic", bias=True, backend="numpy")
    p = r.predict_proba(X[:50], groups=g[:50])
    assert p.shape == (50, 2)
    for i in range(50):  # each row by its own group's model
        b = int(np.searchsorted(r.groups, g[i]))
        expected = 1 / (1 + np.exp(-(X[i] @ r.weights[b] + r.bias[b])))
        np.testing.assert_allclose(p[i], expected, rtol=1e-13)
    assert r.predict(X[:3], groups=g[:3]).shape == (3, 2)

    path = r.save(tmp_path / "m.npz")
    loaded = fp.load(path)
    assert loaded.groups.dtype.kind == "U" and loaded.groups.tolist() == r.groups.tolist()
    assert np.array_equal(loaded.group_sizes, r.group_sizes)
    np.testing.assert_array_equal(loaded.predict_proba(X[:50], groups=g[:50]), p)
    with np.load(path, allow_pickle=False) as z:  # stored without pickle
        assert z["groups"].dtype.kind == "U"

    label = r.groups[3]
    one = loaded[label]
    assert len(one) == 1 and one.groups.tolist() == [label]
    np.testing.assert_array_equal(one.weights[0], r.weights[3])
    assert loaded.group([r.groups[1], r.groups[0]]).groups.tolist() == [r.groups[1], r.groups[0]]


def test_unseen_labels_are_an_error_naming_up_to_five(rng):
    X, y, g = _skewed(rng, labels="str")
    r = fp.train(X, y, groups=g, iterations=2, backend="numpy")
    new = ["nope-1", "nope-2", r.groups[0], "nope-3", "nope-4", "nope-5", "nope-6"]
    with pytest.raises(ValueError, match=r"6 label\(s\) in groups were never seen in training "
                                         r"\('nope-1', 'nope-2', 'nope-3', 'nope-4', 'nope-5', \.\.\.\)"):
        r.predict_proba(np.zeros((7, X.shape[1])), groups=new)
    with pytest.raises(ValueError, match=r"1 label\(s\) in groups were never seen in training \('3'\)"):
        r.predict_proba(np.zeros((1, X.shape[1])), groups=[3])  # an integer label read as text: not among them
    with pytest.raises(ValueError, match="never seen"):
        r["nope-1"]
    plain = fp.train(X, y, iterations=2, backend="numpy")
    with pytest.raises(ValueError, match="not trained with groups"):
        plain.predict_proba(X[:2], groups=g[:2])


def test_auto_and_explain_choose_the_groups_layout(rng):
    X, y, g = _skewed(rng)
    plan = fp.explain(X, y, groups=g)
    assert plan.layout == "groups"
    assert plan.backend in ("numba", "numpy", "cuda", "cupy")
    assert fp.train(X, y, groups=g, iterations=2).params["layout"] == "groups"


def test_tables_without_pyarrow_read_numeric_csv_and_a_text_group_column(tmp_path, monkeypatch):
    from fastperceptron.io import tables

    monkeypatch.setattr(tables, "_pyarrow", lambda: None)
    path = tmp_path / "t.csv"
    path.write_text("store,a,b,y\nnorth,1,2,0\nsouth,3,4,1\nnorth,5,6,1\n")
    X, y, g, meta = tables.load_data(path, ["y"], "store")
    assert X.tolist() == [[1, 2], [3, 4], [5, 6]] and y.ravel().tolist() == [0, 1, 1]
    assert list(g) == ["north", "south", "north"] and meta["feature_names"] == ["a", "b"]
    with pytest.raises(tables.TableError, match=r"t.csv: 1 feature column\(s\) hold no numbers: 'store' \(text\)"):
        tables.load_data(path, ["y"])
    with pytest.raises(tables.TableError, match="reading Parquet needs pyarrow"):
        (tmp_path / "t.parquet").write_bytes(b"x")
        tables.load_data(tmp_path / "t.parquet")


def test_the_synthetic_groups_table():
    X, y, g = fp.datasets.groups(300, median_rows=20, features=5, seed=4)
    assert X.shape == (g.size, 5) and y.shape == (g.size,) and set(np.unique(y)) <= {0.0, 1.0}
    sizes = np.bincount(g)
    assert sizes.size == 300 and sizes.min() >= 1 and 10 <= np.median(sizes) <= 40
    again = fp.datasets.groups(300, median_rows=20, features=5, seed=4)
    np.testing.assert_array_equal(again[0], X)


def test_a_list_of_bools_is_the_same_numpy_array():
    X = np.random.default_rng(1).normal(size=(6, 2))
    flags = [True, False, True, True, False, False]
    a = fp.train(X, np.arange(6) % 2, groups=flags, iterations=3, progress=False)
    b = fp.train(X, np.arange(6) % 2, groups=np.array(flags), iterations=3, progress=False)
    assert a.groups.tolist() == b.groups.tolist() == [0, 1]
    np.testing.assert_array_equal(a.weights, b.weights)


@pytest.mark.parametrize("library", ["pandas", "pyarrow", "numpy"])
def test_string_labels_are_factorized_by_hashing_to_the_sorted_labels(monkeypatch, library):
    """pandas' or pyarrow's hash table where installed, numpy's sort otherwise: the same sorted
    labels and codes as np.unique (issue 22)."""
    import builtins

    real_import = builtins.__import__
    hidden = {"pandas": (), "pyarrow": ("pandas",), "numpy": ("pandas", "pyarrow")}[library]
    if library != "numpy":
        pytest.importorskip(library)

    def fake_import(name, *args, **kwargs):
        if name.split(".")[0] in hidden:
            raise ImportError(f"no {name}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    g = np.random.default_rng(2).choice(np.array(["b", "a10", "a9", "zz", "é", "A"]), size=1000)
    labels, codes = factorize(g)
    expected, inverse = np.unique(g, return_inverse=True)
    assert labels.tolist() == expected.tolist() and codes.tolist() == inverse.tolist()


def test_factorize_small_integers_with_gaps_and_every_kind_of_label():
    """The bincount fast path (small non-negative integers) with gaps between the labels, negative
    and large integers (np.unique), strings (a hash table): sorted labels, each row's code."""
    from fastperceptron.problem.groups import Factorized, factorize

    for g, labels in (([5, 2, 5, 9, 2], [2, 5, 9]), ([-3, 4, -3, 10**12], [-3, 4, 10**12]),
                      (np.array([7, 0, 7], dtype=np.uint8), [0, 7]), ([True, False, True], [0, 1])):
        got_labels, codes = factorize(g)
        assert got_labels.tolist() == labels and got_labels.dtype == np.int64 and codes.dtype == np.int64
        assert np.array_equal(got_labels[codes], np.asarray(g, dtype=np.int64))
    labels, codes = factorize(np.array(["b", "a", "c", "a"]))
    assert labels.tolist() == ["a", "b", "c"] and codes.tolist() == [1, 0, 2, 0] and codes.dtype == np.int64
    done = Factorized(labels=np.array(["x", "y"]), codes=np.array([1, 0, 1], dtype=np.int32))
    labels, codes = factorize(done, 3)
    assert labels.tolist() == ["x", "y"] and codes.tolist() == [1, 0, 1] and codes.dtype == np.int64
    with pytest.raises(ValueError, match=r"^groups has 3 labels but X has 4 rows; give one label per row$"):
        factorize(done, 4)


@pytest.mark.parametrize("library", ["pandas", "pyarrow", "numpy"])
def test_string_labels_factorize_the_same_with_every_library(monkeypatch, library):
    """pandas' hash table, else pyarrow's, else numpy's sort: the same labels and codes."""
    import builtins

    from fastperceptron.problem.groups import factorize

    real = builtins.__import__
    hidden = {"pandas": (), "pyarrow": ("pandas",), "numpy": ("pandas", "pyarrow")}[library]
    if library != "numpy":
        pytest.importorskip(library)

    def fake(name, *args, **kwargs):
        if name.split(".")[0] in hidden:
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    g = np.array(["west", "east", "north", "east", "Zulu", "éa", "west"])
    labels, codes = factorize(g)
    assert labels.tolist() == ["Zulu", "east", "north", "west", "éa"] and labels.dtype.kind == "U"
    assert codes.tolist() == [3, 1, 2, 1, 0, 4, 3] and codes.dtype == np.int64


def test_lookup_word_for_word():
    from fastperceptron.problem.groups import Factorized, lookup

    labels = np.array(["a", "b", "c"])
    assert lookup(labels, ["c", "a"]).tolist() == [2, 0]
    idx, missed = lookup(labels, Factorized(labels=np.array(["b", "z"]), codes=np.array([1, 0, 1])), unseen="mask")
    assert idx[0] == idx[2] and idx[1] == 1 and missed.tolist() == [True, False, True]
    assert lookup(labels, Factorized(labels=np.array(["b", "c"]), codes=np.array([1, 0]))).tolist() == [2, 1]
    with pytest.raises(ValueError) as info:
        lookup(labels, ["q", "r", "s", "t", "u", "v", "a"])
    assert str(info.value) == (
        "6 label(s) in groups were never seen in training ('q', 'r', 's', 't', 'u', ...); there is no model for them: "
        "drop those rows, train with them, or give the batch a fallback model (train(..., fallback=True); CLI: train "
        "--fallback) and predict with unseen='fallback' (CLI: predict --unseen fallback)")
    with pytest.raises(ValueError, match=r"^5 label\(s\) in groups were never seen in training \('q', 'r', 's', 't', "
                                         r"'u'\); "):
        lookup(labels, ["q", "r", "s", "t", "u"])
    # labels of the other kind: integers as text, or text of integers as integers (a column read back so)
    assert lookup(np.array(["1", "10", "2"]), [10, 1]).tolist() == [1, 0]  # (the labels sorted as text)
    assert lookup(np.array([1, 2, 100]), ["100", " 2"]).tolist() == [2, 1]
    with pytest.raises(ValueError, match=r"2 label\(s\) in groups were never seen in training \('1', '2'\)"):
        lookup(labels, [1, 2])
    with pytest.raises(TypeError, match=r"^groups are strings \('a'\) but the models were trained on labels that are "
                                        r"integers: give the integer labels \(cast the column to integers\)$"):
        lookup(np.array([1, 2]), ["a"])


def test_labels_of_every_kind_and_their_errors_word_for_word():
    from fastperceptron.problem.groups import factorize

    cases = [
        (np.array([b"b", b"a"]), ["a", "b"]),                      # bytes become str
        (np.array([3, 1], dtype=object), [1, 3]),                  # Python ints in an object array
        (np.array(["b", "a"], dtype=object), ["a", "b"]),
        ([2.0, 5.0, 2.0], [2, 5]),                                 # integral floats
        ([np.int32(4), 7, 4], [4, 7]),
        (np.array([2**63 - 1, 0], dtype=np.uint64), [0, 2**63 - 1]),
    ]
    for g, labels in cases:
        got, codes = factorize(g)
        assert got.tolist() == labels, g
        assert got.dtype == (np.int64 if isinstance(labels[0], int) else np.dtype("<U1")), g
    errors = [
        (np.array([2**63], dtype=np.uint64), ValueError, "groups: integer labels must be below 2**63"),
        ([], ValueError, "groups is empty: there are no rows to train on"),
        ([1.5, 2.0], TypeError, "groups must hold integers or strings; got non-integer floats (e.g. 1.5)"),
        ([1.0, np.nan], ValueError, "groups contains NaN or inf: every row needs a label (drop or fill those rows "
                                    "first)"),
        (np.array(["a", None], dtype=object), ValueError, "groups has missing labels (None/NaN): every row needs a "
                                                          "label (drop or fill those rows first)"),
        (np.array(["a", 1], dtype=object), TypeError, "groups must hold integers or strings, not a mix; found int 1"),
        (np.array(["a", 2.5], dtype=object), TypeError, "groups must hold integers or strings, not a mix; found float "
                                                         "2.5"),
        (np.array(["a", np.nan], dtype=object), ValueError, "groups has missing labels (None/NaN): every row needs a "
                                                            "label (drop or fill those rows first)"),
        (np.array([1 + 2j]), TypeError, "groups must hold integers or strings, got dtype complex128"),
        (np.zeros((2, 2), dtype=int), ValueError, "groups must be 1-D, one label per row; got shape (2, 2)"),
    ]
    for g, kind, message in errors:
        with pytest.raises(kind) as info:
            factorize(g)
        assert str(info.value) == message
    with pytest.raises(TypeError, match=r"^labels must hold integers or strings, not a mix; found bool True$"):
        factorize(np.array(["a", True], dtype=object), name="labels")


def test_layout_of_more_groups_than_sixteen_bits_count():
    """Past 65,536 groups the codes no longer fit the 16-bit radix sort: the layout stays exact."""
    from fastperceptron.problem.groups import group_layout

    rng = np.random.default_rng(0)
    g = rng.permutation(np.repeat(np.arange(70_000), 2))
    layout = group_layout(g, g.size)
    assert layout.n_groups == 70_000 and (layout.sizes == 2).all()
    sorted_labels = g[layout.order]
    assert (sorted_labels == np.repeat(np.arange(70_000), 2)).all()
    first, second = layout.order[0::2], layout.order[1::2]
    assert (first < second).all()  # each group's rows in their original order
    assert layout.group_ids().dtype == np.int64 and layout.group_ids()[-1] == 69_999


def test_unseen_factorized_labels_are_named_as_groups():
    from fastperceptron.problem.groups import Factorized, lookup

    wanted = Factorized(labels=np.array(["a", "q"]), codes=np.array([0, 1]))
    with pytest.raises(ValueError, match=r"^1 label\(s\) in groups were never seen in training \('q'\)"):
        lookup(np.array(["a", "b"]), wanted)
