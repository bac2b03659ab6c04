"""ONNX export: ONNX Runtime runs every exported graph and matches predict_proba (float64 <= 1e-12,
float32 <= 1e-6), for shared, per-model-trained and groups results, K > 1, with and without bias,
and for scikit-learn pipelines through skl2onnx."""

import subprocess
import sys

import numpy as np
import pytest

import fastperceptron as fp

pytest.importorskip("onnx", reason="ONNX export needs onnx (the 'onnx' extra)")
ort = pytest.importorskip("onnxruntime", reason="running the graphs needs onnxruntime (the 'onnx' extra)")

TOLERANCE = {"float64": 1e-12, "float32": 1e-6}


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(model, **inputs):
    return _session(model).run(None, inputs)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(120, 5))
    Y = (rng.random((120, 3)) < 1 / (1 + np.exp(-X[:, :3]))).astype(float)
    return X, Y, rng.normal(size=(17, 5))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("K", [1, 3])
def test_shared_batch(data, dtype, bias, K):
    X, Y, new = data
    r = fp.train(X, Y[:, :K], models=9, iterations=100, rule="logistic", bias=bias, learning_rate=0.01,
                 dtype=dtype, backend="numpy", progress=False)
    (P,) = _run(r.to_onnx(), X=new.astype(dtype))
    want = r.predict_proba(new).transpose(1, 0, 2)  # (M, B, K)
    assert P.shape == (17, 9, K) and P.dtype == np.dtype(dtype)
    assert np.abs(P - want).max() <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_mean_and_std_outputs_match_the_summary(data, dtype):
    X, Y, new = data
    r = fp.train(X, Y, sample_weight=fp.bootstrap_weights(120, np.arange(30)), solver="lbfgs", l2=1.0, bias=True,
                 backend="numpy", progress=False)
    model = r.to_onnx(outputs=("mean", "std"), dtype=dtype)
    assert [o.name for o in model.graph.output] == ["mean", "std"]
    mean, std = _run(model, X=new.astype(dtype))
    s = r.ensemble_summary(new)
    assert np.abs(mean - s.mean).max() <= TOLERANCE[dtype]
    assert np.abs(std - s.std).max() <= TOLERANCE[dtype]


def test_per_model_trained_batch(data):
    X, Y, new = data
    Xb = np.stack([X[i::4] for i in range(4)])[:, :30]  # one dataset per model
    Yb = np.stack([Y[i::4, 0] for i in range(4)])[:, :30]
    r = fp.train(Xb, Yb, iterations=50, rule="logistic", bias=True, learning_rate=0.05, backend="numpy",
                 progress=False)
    (P,) = _run(r.to_onnx(), X=new)
    assert np.abs(P - r.predict_proba(new).transpose(1, 0, 2)).max() <= 1e-12


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_groups_batch_without_fallback(dtype, labels):
    X, y, g = fp.datasets.groups(25, median_rows=20, features=4, seed=2)
    Y = np.column_stack([y, 1 - y])  # K = 2
    g = g if labels == "int" else np.array([f"store-{v}" for v in g])
    r = fp.train(X, Y, groups=g, iterations=100, rule="logistic", learning_rate=0.02, bias=False, dtype=dtype,
                 backend="numpy", progress=False)
    model = r.to_onnx()
    assert [i.name for i in model.graph.input] == ["X", "group"]
    query = g[:40].copy()
    query[0] = 10**6 if labels == "int" else "unknown"  # never seen: NaN without a fallback
    (P,) = _run(model, X=X[:40].astype(dtype), group=query.astype(np.int64 if labels == "int" else object))
    assert P.shape == (40, 2) and np.isnan(P[0]).all()
    assert np.abs(P[1:] - r.predict_proba(X[1:40], groups=query[1:])).max() <= TOLERANCE[dtype]


@pytest.mark.parametrize("unseen", ["fallback", "nan"])
def test_groups_batch_with_fallback_routes_like_predict(unseen):
    X, y, g = fp.datasets.groups(30, median_rows=20, features=3, seed=4)
    with pytest.warns(fp.ConvergenceWarning):
        r = fp.train(X, y, groups=g, solver="newton", l2=1.0, bias=True, fallback=True, min_rows=12,
                     backend="numpy", progress=False)
    query = g.copy()
    query[:3] = -1  # never seen
    P, served = _run(r.to_onnx(unseen=unseen), X=X, group=query)
    known = slice(3, None)
    assert np.abs(P[known] - r.predict_proba(X[known], groups=query[known])).max() <= 1e-12
    np.testing.assert_array_equal(served[known], r.served_by_fallback(query[known]))
    if unseen == "fallback":
        np.testing.assert_array_equal(served, r.served_by_fallback(query, unseen="fallback"))
        assert np.abs(P - r.predict_proba(X, groups=query, unseen="fallback")).max() <= 1e-12
    else:
        assert np.isnan(P[:3]).all() and not served[:3].any()


def test_export_errors(data, tmp_path):
    X, Y, new = data
    r = fp.train(X, Y[:, 0], models=2, iterations=5, backend="numpy", progress=False)
    with pytest.raises(ValueError, match=r"outputs must be one or more of \('probabilities', 'mean', 'std'\)"):
        r.to_onnx(outputs=("median",))
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        r.to_onnx(dtype="float16")
    with pytest.raises(ValueError, match="unseen= applies to a groups batch"):
        r.to_onnx(unseen="fallback")
    g = fp.train(X, Y[:, 0], groups=np.arange(120) % 3, iterations=5, backend="numpy", progress=False)
    with pytest.raises(ValueError, match="unseen='fallback' needs a fallback model"):
        g.to_onnx(unseen="fallback")
    with pytest.raises(ValueError, match="not an ensemble's mean or std"):
        g.to_onnx(outputs=("mean",))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        r.to_onnx(tmp_path / "missing" / "m.onnx")


def test_written_file_and_the_cli(data, tmp_path):
    X, Y, new = data
    r = fp.train(X, Y[:, :2], models=5, iterations=30, bias=True, backend="numpy", progress=False)
    r.to_onnx(tmp_path / "a")
    assert (tmp_path / "a.onnx").is_file()
    model = r.save(tmp_path / "m.npz")
    p = subprocess.run([sys.executable, "-m", "fastperceptron", "export", str(model), "--onnx", str(tmp_path / "m.onnx"),
                        "--outputs", "mean", "std", "--dtype", "float32"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "exported" in p.stdout and "5 models, ensemble, float32" in p.stdout
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    mean, std = session.run(None, {"X": new.astype(np.float32)})
    assert np.abs(mean - r.ensemble_proba(new)).max() <= 1e-6


# --- scikit-learn pipelines through skl2onnx ---------------------------------------------------------
def _pipeline_case(kind):
    from sklearn.datasets import load_breast_cancer, load_iris, make_multilabel_classification

    if kind == "binary":
        return load_breast_cancer(return_X_y=True)
    if kind == "multiclass":
        X, y = load_iris(return_X_y=True)
        return X, np.array(["setosa", "versicolor", "virginica"])[y]
    return make_multilabel_classification(200, 6, n_classes=3, random_state=0)


@pytest.mark.parametrize("estimator", ["PerceptronClassifier", "PerceptronEnsembleClassifier"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_sklearn_pipeline_exports(estimator, kind):
    pytest.importorskip("sklearn")
    skl2onnx = pytest.importorskip("skl2onnx", reason="pipelines export through skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import fastperceptron.sklearn as fps

    X, y = _pipeline_case(kind)
    kwargs = {"n_estimators": 6} if estimator == "PerceptronEnsembleClassifier" else {}
    pipe = make_pipeline(StandardScaler(), getattr(fps, estimator)(**kwargs)).fit(X, y)
    for dtype in ("float64", "float32"):
        model = skl2onnx.to_onnx(pipe, X[:1].astype(dtype), options={id(pipe.steps[-1][1]): {"zipmap": False}})
        label, proba = _run(model, X=X.astype(dtype))
        assert np.abs(proba - pipe.predict_proba(X)).max() <= TOLERANCE[dtype], dtype
        np.testing.assert_array_equal(label, pipe.predict(X))


def test_every_graph_uses_every_initializer_and_the_datas_label_types(tmp_path):
    """No initializer is left unused by any kind of graph (an ensemble, groups with and without a
    fallback, a pooled hierarchy, each way of serving an unseen label), and a level of integer labels
    is an int64 input of a pooled graph as the group input of a groups graph is."""
    pytest.importorskip("onnx")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 2)), (rng.random(200) < 0.5).astype(float)
    store, region = rng.integers(0, 4, 200), np.array(["n", "s"])[rng.integers(0, 2, 200)]
    kw = dict(solver="newton", bias=True, backend="numpy")
    cases = [(fp.train(X, y, models=3, iterations=5, backend="numpy"), [None], ("probabilities", "mean", "std")),
             (fp.train(X, y, groups=store, **kw), [None, "nan"], ("probabilities",)),
             (fp.train(X, y, groups=store, fallback=True, **kw), [None, "fallback"], ("probabilities",)),
             (fp.train(X, y, groups=store, shrink=1.0, **kw), [None, "nan"], ("probabilities",)),
             (fp.train(X, y, groups=[region, store], shrink=[1.0, 1.0], **kw), [None, "nan"], ("probabilities",))]
    for r, ways, outputs in cases:
        for unseen in ways:
            model = r.to_onnx(outputs=outputs, unseen=unseen)
            used = {name for node in model.graph.node for name in node.input}
            assert [t.name for t in model.graph.initializer if t.name not in used] == []
    pooled = cases[-1][0].to_onnx()
    kinds = {i.name: i.type.tensor_type.elem_type for i in pooled.graph.input}
    assert kinds == {"X": 11, "level1": 8, "level2": 7}  # double, string, int64
    assert {i.name: i.type.tensor_type.elem_type for i in cases[1][0].to_onnx().graph.input}["group"] == 7
