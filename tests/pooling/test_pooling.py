"""Partial pooling over a hierarchy (SPEC §8): the pooled optimum against an independent per-group
Newton (tests/reference.py), on every backend; the limits ρ → 0 and ρ → ∞; the cross-validated
choice against a plain loop over folds and grid; the routing of unseen paths."""

import warnings

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.pooling.cv import folds_of
from reference import optimum_one, pooled_one


def _table(rng, n=900, regions=3, stores=24, d=2):
    """Rows of a hierarchical truth: a global model, moved per region, moved again per store."""
    region = rng.integers(0, regions, n)
    store = rng.integers(0, stores, n)  # store labels reused across regions: paths tell them apart
    X = rng.normal(size=(n, d))
    theta = (rng.normal(size=d + 1) + 0.8 * rng.normal(size=(regions, d + 1))[region]
             + 0.5 * rng.normal(size=(regions * stores, d + 1))[region * stores + store])
    z = (X * theta[:, :d]).sum(axis=1) + theta[:, d]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    return X, y, region, store


def _paths(region, store):
    return np.char.add(np.char.add(region.astype(str), "/"), store.astype(str))


def _units(X):
    """SPEC §8's standard units, by hand: each column's mean and standard deviation over all rows;
    (X in those units, θ → θ′, θ′ → θ)."""
    m, s = X.mean(axis=0), X.std(axis=0)
    D = X.shape[1]

    def to_units(t):
        return np.r_[t[:D] * s, t[D] + m @ t[:D]]

    def to_user(t):
        return np.r_[t[:D] / s, t[D] - m @ (t[:D] / s)]

    return (X - m) / s, to_units, to_user


def _reference(X, y, region, store, shrink, l2=1.0):
    """Every level's θ (on the user's columns) by the independent Newton: level 0 with l2 on the user's
    weights, then each path pulled toward its parent in standard units (SPEC §8)."""
    Xs, to_units, to_user = _units(X)
    w, c = optimum_one(X, y, l2=l2)
    top = to_units(np.r_[w, c])
    by_region = {r: pooled_one(Xs[region == r], y[region == r], top, shrink[0]) for r in np.unique(region)}
    paths = _paths(region, store)
    by_path = {}
    for p in np.unique(paths):
        rows = paths == p
        by_path[p] = pooled_one(Xs[rows], y[rows], by_region[region[rows][0]], shrink[1])
    return (to_user(top), {k: to_user(v) for k, v in by_region.items()}, {k: to_user(v) for k, v in by_path.items()})


def _theta(weights, bias):
    return np.concatenate([weights[:, :, 0], bias], axis=1)


def test_the_pooled_optimum_equals_an_independent_per_group_newton(backend, rng):
    X, y, region, store = _table(rng)
    shrink = [4.0, 15.0]
    r = fp.train(X, y, groups=[region, store], shrink=shrink, bias=True, l2=1.0, backend=backend, solver="newton")
    top, by_region, by_path = _reference(X, y, region, store, shrink)
    assert r.groups.tolist() == sorted(by_path)
    ours = _theta(r.weights, r.bias)
    ref = np.array([by_path[p] for p in r.groups])
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
    np.testing.assert_allclose(_theta(r.pooling.weights[0], r.pooling.bias[0])[0], top, rtol=1e-8, atol=1e-10)
    regions = _theta(r.pooling.weights[1], r.pooling.bias[1])
    assert r.pooling.hierarchy.paths[0].tolist() == ["0", "1", "2"]
    np.testing.assert_allclose(regions, np.array([by_region[k] for k in range(3)]), rtol=1e-8, atol=1e-10)
    assert (r.stop_reason == "converged").all()
    assert r.params["shrink"] == shrink


@pytest.mark.parametrize("solver", ["lbfgs", "auto"])
def test_every_solver_reaches_the_same_optimum(rng, solver):
    X, y, region, store = _table(rng, n=600)
    a = fp.train(X, y, groups=[region, store], shrink=[2.0, 8.0], bias=True, backend="numpy", solver="newton")
    b = fp.train(X, y, groups=[region, store], shrink=[2.0, 8.0], bias=True, backend="numba", solver=solver)
    np.testing.assert_allclose(b.weights, a.weights, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b.bias, a.bias, rtol=1e-7, atol=1e-9)


def test_shrink_zero_is_the_unpooled_fit_and_a_huge_shrink_the_parent(rng):
    X, y, region, store = _table(rng, n=1200, stores=6)
    paths = _paths(region, store)
    free = fp.train(X, y, groups=paths, bias=True, solver="newton", backend="numpy")
    r0 = fp.train(X, y, groups=[region, store], shrink=0.0, bias=True, solver="newton", backend="numpy")
    assert r0.groups.tolist() == free.groups.tolist()
    np.testing.assert_allclose(r0.weights, free.weights, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(r0.bias, free.bias, rtol=1e-8, atol=1e-10)
    big = fp.train(X, y, groups=[region, store], shrink=1e13, bias=True, solver="newton", backend="numpy")
    top = _theta(big.pooling.weights[0], big.pooling.bias[0])[0]
    np.testing.assert_allclose(_theta(big.weights, big.bias), np.broadcast_to(top, (big.n_models, 3)),
                               rtol=1e-8, atol=1e-10)
    # one level: the parent is the global model
    one = fp.train(X, y, groups=paths, shrink=1e13, bias=True, solver="newton", backend="numpy")
    np.testing.assert_allclose(_theta(one.weights, one.bias), np.broadcast_to(top, (one.n_models, 3)), rtol=1e-8,
                               atol=1e-10)


def test_a_one_class_group_is_pulled_to_a_finite_model(rng):
    X, y, region, store = _table(rng, n=300, stores=4)
    y[(region == 0) & (store == 0)] = 1.0
    r = fp.train(X, y, groups=[region, store], shrink=[1.0, 1.0], bias=True, solver="newton", backend="numpy")
    assert (r.stop_reason == "converged").all() and np.isfinite(r.bias).all()


def test_the_cv_choice_equals_a_plain_loop_over_folds_and_grid(rng):
    X, y, region, store = _table(rng, n=700, regions=2, stores=10)
    grid = [0.3, 3.0, 30.0]
    r = fp.train(X, y, groups=[region, store], shrink="cv", shrink_grid=grid, cv=3, seed=7, bias=True, l2=1.0,
                 solver="newton", backend="numpy")
    paths = _paths(region, store)
    inner = np.unique(paths, return_inverse=True)[1]
    fold = folds_of(inner, 3, 7)
    chosen, losses = [], []
    Xs, to_units, _ = _units(X)  # the units of all rows, for every fold
    parents = []  # per fold: {label of the level above: θ′}
    for f in range(3):
        keep = fold != f
        w, c = optimum_one(X[keep], y[keep], l2=1.0)
        parents.append({"": to_units(np.r_[w, c])})
    for level, (labels, up) in enumerate([(region.astype(str), np.full(len(y), "")), (paths, region.astype(str))]):
        loss = np.zeros(len(grid))
        fitted = [[{} for _ in grid] for _ in range(3)]
        for f in range(3):
            keep = fold != f
            for label in np.unique(labels):
                rows = keep & (labels == label)
                anchor = parents[f][up[labels == label][0]]
                for k, rho in enumerate(grid):
                    fitted[f][k][label] = pooled_one(Xs[rows], y[rows], anchor, rho) if rows.any() else anchor
            for k in range(len(grid)):
                for n in np.flatnonzero(~keep):
                    t = fitted[f][k][labels[n]]
                    z = Xs[n] @ t[:2] + t[2]
                    loss[k] += np.logaddexp(0, z) - y[n] * z
        losses.append(loss / len(y))
        best = int(np.argmin(loss))
        chosen.append(grid[best])
        parents = [fitted[f][best] for f in range(3)]
    np.testing.assert_allclose(r.pooling.cv_loss, np.array(losses), rtol=1e-9)
    assert r.params["shrink"] == chosen
    assert r.pooling.grid.tolist() == grid
    again = fp.train(X, y, groups=[region, store], shrink="cv", shrink_grid=grid, cv=3, seed=7, bias=True, l2=1.0,
                     solver="newton", backend="numba")
    np.testing.assert_allclose(again.pooling.cv_loss, r.pooling.cv_loss, rtol=1e-9)


def test_folds_split_each_group_evenly():
    codes = np.repeat(np.arange(4), [1, 5, 10, 3])
    fold = folds_of(codes, 3, seed=0)
    for g in range(4):
        counts = np.bincount(fold[codes == g], minlength=3)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(fold, folds_of(codes, 3, seed=0))
    assert not np.array_equal(folds_of(np.zeros(60, dtype=int), 3, 0), folds_of(np.zeros(60, dtype=int), 3, 1))


def test_unseen_paths_are_served_by_their_deepest_seen_ancestor(rng):
    X, y, region, store = _table(rng, n=600, regions=2, stores=5)
    r = fp.train(X, y, groups=[region, store], shrink=[1.0, 5.0], bias=True, solver="newton", backend="numpy")
    Xn = rng.normal(size=(4, 2))
    new_region = np.array([0, 1, 0, 7])
    new_store = np.array([3, 2, 99, 3])
    assert r.served_by([new_region, new_store]).tolist() == [2, 2, 1, 0]
    P = r.predict_proba(Xn, groups=[new_region, new_store])
    def own(t):
        return 1 / (1 + np.exp(-(Xn @ t[:2] + t[2])))
    inner = _theta(r.weights, r.bias)
    regions = _theta(r.pooling.weights[1], r.pooling.bias[1])
    top = _theta(r.pooling.weights[0], r.pooling.bias[0])[0]
    expect = [own(inner[r.groups.tolist().index("0/3")])[0], own(inner[r.groups.tolist().index("1/2")])[1],
              own(regions[0])[2], own(top)[3]]
    np.testing.assert_allclose(P[:, 0], expect, rtol=1e-12)
    with pytest.raises(ValueError, match=r"^2 path\(s\) in groups were never seen in training \('0/99', '7/3'\); "
                                         r"serve them by their deepest seen ancestor with unseen='parent'"):
        r.predict_proba(Xn, groups=[new_region, new_store], unseen="error")
    with pytest.raises(ValueError, match="unseen must be 'parent' or 'error' for a pooled batch"):
        r.predict_proba(Xn, groups=[new_region, new_store], unseen="fallback")
    with pytest.raises(ValueError, match=r"groups must be a list of 2 label arrays, one per level"):
        r.predict_proba(Xn, groups=new_store)


def test_pooling_errors_name_the_fix(rng):
    X, y, region, store = _table(rng, n=200, stores=3)
    with pytest.raises(ValueError, match=r"shrink must be finite and >= 0 \(0: no pooling\), got -1"):
        fp.train(X, y, groups=[region, store], shrink=-1, bias=True)
    with pytest.raises(ValueError, match=r"shrink has 3 values for 2 levels: give one, or one per level"):
        fp.train(X, y, groups=[region, store], shrink=[1, 2, 3], bias=True)
    with pytest.raises(ValueError, match=r"shrink must be a number >= 0, one per level, or 'cv', got 'CV'"):
        fp.train(X, y, groups=[region, store], shrink="CV", bias=True)
    with pytest.raises(ValueError, match=r"shrink pulls each group's model toward its parent's: give groups="):
        fp.train(X, y, shrink=1.0)
    with pytest.raises(ValueError, match=r"leave fallback and min_rows out"):
        fp.train(X, y, groups=[region, store], shrink=1.0, fallback=True)
    with pytest.raises(ValueError, match=r"shrink_grid= applies to shrink='cv'"):
        fp.train(X, y, groups=store, shrink_grid=[1, 2])
    with pytest.raises(ValueError, match=r"shrink_grid must hold at least two finite values >= 0"):
        fp.train(X, y, groups=[region, store], shrink="cv", shrink_grid=[1.0])
    outer, inner = np.array(["a/b", "a"] * 100), np.array(["c", "b/c"] * 100)
    with pytest.raises(ValueError, match=r"^groups\[1\]: 'b/c' contains '/', which joins the labels of a path, so two "
                                         "paths read the same: replace it in the label columns"):
        fp.train(X, y, groups=[outer, inner], shrink=1.0)
    with pytest.raises(ValueError, match=r"groups\[1\] has 3 labels but X has 200 rows"):
        fp.train(X, y, groups=[region, store[:3]], shrink=1.0)


def test_a_pooled_batch_saves_and_loads_with_its_hierarchy(rng, tmp_path):
    X, y, region, store = _table(rng, n=500, regions=2, stores=4)
    r = fp.train(X, y, groups=[region, store], shrink="cv", shrink_grid=[0.1, 1.0, 10.0], cv=3, bias=True,
                 backend="numpy")
    back = fp.load(r.save(tmp_path / "pooled"))
    new = [np.array([0, 1, 5]), np.array([2, 9, 0])]
    np.testing.assert_array_equal(back.predict_proba(X[:3], groups=new), r.predict_proba(X[:3], groups=new))
    assert back.served_by(new).tolist() == [2, 1, 0]
    assert back.pooling.hierarchy.names == ("level1", "level2")
    np.testing.assert_array_equal(back.pooling.cv_loss, r.pooling.cv_loss)
    assert back.params["shrink"] == r.params["shrink"]
    import zipfile
    with zipfile.ZipFile(tmp_path / "pooled.npz") as z:  # format 3: refused by a reader of formats 1-2
        names = z.namelist()
        assert b'"format_version": 3' in z.read("metadata.npy")
    assert "pooling_paths_1.npy" in names and "pooling_weights_0.npy" in names
    # a corrupt hierarchy is refused, naming what does not fit
    arrays = dict(np.load(tmp_path / "pooled.npz"))
    arrays["pooling_parent_1"] = arrays["pooling_parent_1"] + 5
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(fp.ModelFileError, match=r"array shapes disagree \(\['pooling_parent_1'\]\)"):
        fp.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_a_table_names_the_levels(rng, library):
    lib = pytest.importorskip(library)
    X, y, region, store = _table(rng, n=500, regions=2, stores=4)
    data = {"region": [f"r{v}" for v in region], "store": store, "a": X[:, 0], "b": X[:, 1], "sold": y}
    frame = lib.DataFrame(data)
    r = fp.train(frame, "sold", groups=["region", "store"], shrink=[1.0, 4.0], bias=True, backend="numpy")
    ref = fp.train(X, y, groups=[np.char.add("r", region.astype(str)), store], shrink=[1.0, 4.0], bias=True,
                   backend="numpy")
    np.testing.assert_array_equal(r.weights, ref.weights)
    assert r.pooling.hierarchy.names == ("region", "store") and r.metadata["group_by"] == ["region", "store"]
    assert r.feature_names == ["a", "b"]
    new = lib.DataFrame({"b": [0.5, 0.1], "a": [1.0, -1.0], "region": ["r1", "r9"], "store": [2, 2]})
    P = r.predict_proba(new, as_frame=True)  # the levels read from the columns trained with
    assert list(P.columns) == ["region", "store", "sold"]
    expect = ref.predict_proba(np.array([[1.0, 0.5], [-1.0, 0.1]]), groups=[np.array(["r1", "r9"]), np.array([2, 2])])
    np.testing.assert_allclose(np.asarray(P["sold"]), expect[:, 0], rtol=1e-12)
    assert r.served_by([np.array(["r1", "r9"]), np.array([2, 2])]).tolist() == [2, 0]


def test_the_shrink_plot_draws_each_levels_cv_curve(rng):
    pytest.importorskip("matplotlib")
    X, y, region, store = _table(rng, n=400, regions=2, stores=4)
    r = fp.train(X, y, groups=[region, store], shrink_grid=[0.1, 1.0, 10.0], cv=3, bias=True, backend="numpy")
    assert r.params["shrink"] is not None and r.pooling.grid.tolist() == [0.1, 1.0, 10.0]  # "cv": a hierarchy's default
    ax = r.plot().axes[0]  # "auto" picks it
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
    assert len(curves) == 2
    np.testing.assert_allclose(curves[1].get_ydata(), r.pooling.cv_loss[1])
    fixed = fp.train(X, y, groups=[region, store], shrink=1.0, bias=True, backend="numpy")
    with pytest.raises(ValueError, match=r"kind='shrink' draws the cross-validation of a pooled batch"):
        fixed.plot("shrink")


def test_the_onnx_graph_routes_unseen_paths_to_their_ancestors(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    X, y, region, store = _table(rng, n=600, regions=3, stores=5)
    labels = np.array(["north", "south", "a/b"])[region]  # a label holding the separator, unambiguous here
    r = fp.train(X, y, groups=[labels, store], shrink=[1.0, 5.0], bias=True, backend="numpy")
    new_region = np.array(["north", "south", "north", "east", "a/b"])
    new_store = np.array([3, 2, 99, 3, 4])
    Xn = rng.normal(size=(5, 2))
    for unseen in ("parent", "nan"):
        session = ort.InferenceSession(r.to_onnx(tmp_path / f"{unseen}.onnx", unseen=unseen).SerializeToString())
        assert [i.name for i in session.get_inputs()] == ["X", "level1", "level2"]
        assert [i.type for i in session.get_inputs()] == ["tensor(double)", "tensor(string)", "tensor(int64)"]
        P, level = session.run(None, {"X": Xn, "level1": new_region, "level2": new_store})  # the data's types
        expect = r.predict_proba(Xn, groups=[new_region, new_store])
        served = r.served_by([new_region, new_store])
        # "nan": only a row's own path serves it; the others got NaN, from no level (−1)
        np.testing.assert_array_equal(level, served if unseen == "parent" else np.where(served == 2, 2, -1))
        if unseen == "parent":
            np.testing.assert_allclose(P, expect, rtol=1e-12)
        else:
            own = served == 2
            np.testing.assert_allclose(P[own], expect[own], rtol=1e-12)
            assert np.isnan(P[~own]).all()
    with pytest.raises(ValueError, match=r"unseen must be 'parent' or 'nan' for a pooled batch, got 'fallback'"):
        r.to_onnx(unseen="fallback")


def test_gradient_steps_take_the_pull_too(backend, rng):
    """Solver "gd" steps W += η·(Xᵀ·Δ − ρ·(W − A)), c += η·(ΣΔ − ρ·(c − a)) from the parent's model, in
    standard units (SPEC §8): the same steps on every backend as on numpy's, and, run long enough,
    the optimum Newton reaches."""
    X, y, region, store = _table(rng, n=500, regions=2, stores=5)
    kw = dict(groups=[region, store], shrink=[2.0, 5.0], bias=True, solver="gd", rule="logistic")
    few = dict(kw, learning_rate=0.002, iterations=40)
    a = fp.train(X, y, backend="numpy", **few)
    b = fp.train(X, y, backend=backend, **few)
    np.testing.assert_allclose(b.weights, a.weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.bias, a.bias, rtol=1e-9, atol=1e-12)
    # the reference: the first step from the parent's model, by hand (the steps start there)
    one = fp.train(X, y, backend="numpy", **dict(kw, learning_rate=0.002, iterations=1))
    first = one.pooling.hierarchy.paths[1][0]
    rows = _paths(region, store) == first
    Xs, to_units, _ = _units(X)
    parent = to_units(_theta(one.pooling.weights[1], one.pooling.bias[1])[one.pooling.hierarchy.parent[1][0]])
    z = Xs[rows] @ parent[:2] + parent[2]
    delta = y[rows] - 1 / (1 + np.exp(-z))
    expect = parent + 0.002 * np.r_[Xs[rows].T @ delta, delta.sum()]  # the pull is 0 at the start
    got = to_units(_theta(one.weights, one.bias)[list(one.groups).index(first)])
    np.testing.assert_allclose(got, expect, rtol=1e-10)
    newton = fp.train(X, y, backend="numpy", **dict(kw, solver="newton", rule=None))
    far = fp.train(X, y, backend=backend, **dict(kw, learning_rate="auto", iterations=4000))
    np.testing.assert_allclose(far.weights, newton.weights, atol=1e-7)


def test_one_level_pools_toward_the_global_model_and_predicts_by_its_labels(rng):
    X, y, region, store = _table(rng, n=400, regions=1, stores=6)
    r = fp.train(X, y, groups=store, shrink=2.0, bias=True, backend="numpy")
    assert r.pooling.hierarchy.n_levels == 1 and r.groups.tolist() == [str(v) for v in range(6)]
    new = np.array([0, 5, 42])
    np.testing.assert_array_equal(r.predict_proba(X[:3], groups=new), r.predict_proba(X[:3], groups=[new]))
    assert r.served_by(new).tolist() == [1, 1, 0]


def test_the_pull_is_in_standard_units_whatever_the_columns_units(rng):
    """SPEC §8: the pull is on θ′ = (w·s, c + Σ m·w). Columns in other units (an income in dollars or in
    thousands, an offset) give the same models, mapped, and the same CV choice; standardize=True
    changes nothing; l2 stays on the user's weights (l2 = 0 here: the global model is then the same)."""
    X, y, region, store = _table(rng, n=500, regions=2, stores=5)
    raw = X * [1e3, 1e-2] + [5e4, 0]
    kw = dict(groups=[region, store], bias=True, backend="numpy", l2=0.0, shrink_grid=[0.1, 1.0, 10.0], cv=3)
    r = fp.train(raw, y, **kw)
    ref = fp.train(X, y, **kw)
    assert r.params["shrink"] == ref.params["shrink"]
    np.testing.assert_allclose(r.pooling.cv_loss, ref.pooling.cv_loss, rtol=1e-9)
    new = [region[:7], store[:7]]
    np.testing.assert_allclose(r.predict_proba(raw[:7], groups=new), ref.predict_proba(X[:7], groups=new), rtol=1e-9)
    for W, Wref in zip(r.pooling.weights, ref.pooling.weights):  # the upper levels folded back as well
        np.testing.assert_allclose(W[:, :, 0] * [1e3, 1e-2], Wref[:, :, 0], rtol=1e-8)
    std = fp.train(raw, y, standardize=True, **kw)
    assert std.params["standardize"] is True
    np.testing.assert_allclose(std.weights, r.weights, rtol=1e-10)
    np.testing.assert_allclose(std.bias, r.bias, rtol=1e-10)


def test_three_levels_choose_a_shrink_each(rng):
    X, y, region, store = _table(rng, n=600, regions=2, stores=6)
    shelf = rng.integers(0, 3, len(y))
    r = fp.train(X, y, groups=[region, store, shelf], shrink_grid=[0.3, 3.0, 30.0], cv=3, bias=True,
                 backend="numpy")
    assert r.pooling.hierarchy.n_levels == 3 and r.pooling.cv_loss.shape == (3, 3)
    assert all(v in (0.3, 3.0, 30.0) for v in r.params["shrink"])
    assert r.served_by([region[:2], store[:2], np.array([0, 9])]).tolist()[1] == 2


def test_an_upper_level_without_a_finite_optimum_is_reported_and_kept(rng, tmp_path):
    """A global model on separable data without a penalty has no finite optimum: the batch says so
    (one warning naming the level) and keeps every level's stop reasons, saved and loaded."""
    X, _, region, store = _table(rng, n=300, regions=3, stores=4)
    y = (X[:, 0] > 0).astype(float)
    with pytest.warns(fp.ConvergenceWarning, match=r"the global model \(level 0\), toward which the groups below are "
                                                   r"pulled: 1 of 1 models did not converge .*result\.pooling\."
                                                   r"stop_reason\[0\] says why.*separable classes and no penalty"):
        r = fp.train(X, y, groups=[region, store], shrink=[1.0, 1.0], bias=True, l2=0.0, backend="numpy")
    assert r.pooling.stop_reason[0].tolist() == ["separable"]
    assert r.pooling.stop_reason[1].shape == (r.pooling.hierarchy.paths[0].size,)
    back = fp.load(r.save(tmp_path / "m.npz"))
    assert [s.tolist() for s in back.pooling.stop_reason] == [s.tolist() for s in r.pooling.stop_reason]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a penalty gives the global model an optimum: nothing to say
        ok = fp.train(X, y, groups=[region, store], shrink=[1.0, 1.0], bias=True, l2=1.0, backend="numpy")
    assert ok.pooling.stop_reason[0].tolist() == ["converged"]


def test_a_choice_at_the_grids_edge_is_warned_about(rng):
    """Groups that differ in nothing: the CV's loss falls toward the largest shrink tried; when that
    pull is still weak against a group's rows the best may lie beyond, and one ShrinkWarning names
    the level and the fix; when it already swamps them (the groups pooled fully), nothing is said."""
    n = 800
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    store = rng.integers(0, 40, n)
    with pytest.warns(fp.ShrinkWarning, match=r"level 1 \('level1'\) chose 10, the grid's largest value, and the "
                                              r"cross-validated log-loss was still falling toward it"):
        r = fp.train(X, y, groups=store, shrink="cv", shrink_grid=[0.01, 0.1, 1.0, 10.0], bias=True, backend="numpy")
    assert r.params["shrink"] == [10.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", fp.ShrinkWarning)  # 1e4 against about 20 rows a group: pooled fully
        full = fp.train(X, y, groups=store, shrink="cv", shrink_grid=[0.01, 1.0, 1e4], bias=True, backend="numpy")
    assert full.params["shrink"] == [1e4]
