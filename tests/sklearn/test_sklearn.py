"""The scikit-learn estimators: scikit-learn's own checks, pickling, determinism, real data."""

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed: pip install 'fastperceptron[sklearn]'")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastperceptron.sklearn import PerceptronClassifier, PerceptronEnsembleClassifier  # noqa: E402

ESTIMATORS = [
    PerceptronClassifier(iterations=300),
    PerceptronEnsembleClassifier(n_estimators=8, iterations=300),
]

EXPECTED_FAILURES = {
    "PerceptronEnsembleClassifier": {
        "check_sample_weight_equivalence_on_dense_data": (
            "bootstrap resamples are drawn from the N rows given: repeating rows instead of weighting them "
            "changes N and so every model's resample (scikit-learn's BaggingClassifier fails it too)"
        ),
    },
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_bagged_ensemble_on_breast_cancer_matches_logistic_regression(breast_cancer):
    """1,000 bootstrap models in one call: accuracy within one point of LogisticRegression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte, ytr, yte = breast_cancer
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(Xtr, ytr).score(Xte, yte)
    ensemble = make_pipeline(StandardScaler(), PerceptronEnsembleClassifier(n_estimators=1000, random_state=0))
    accuracy = ensemble.fit(Xtr, ytr).score(Xte, yte)
    assert accuracy >= reference - 0.01, (accuracy, reference)
    assert ensemble[-1].result_.n_models == 1000


def test_fit_twice_gives_the_same_model(breast_cancer):
    Xtr, _, ytr, _ = breast_cancer
    Xtr = (Xtr - Xtr.mean(0)) / Xtr.std(0)
    for make in (lambda: PerceptronClassifier(iterations=200, random_state=3),
                 lambda: PerceptronEnsembleClassifier(n_estimators=20, iterations=200, random_state=3)):
        a, b = make().fit(Xtr, ytr), make().fit(Xtr, ytr)
        np.testing.assert_array_equal(a.result_.weights, b.result_.weights)
        np.testing.assert_array_equal(a.predict_proba(Xtr), b.predict_proba(Xtr))


def test_pickle_round_trip_keeps_host_arrays(breast_cancer):
    Xtr, Xte, ytr, _ = breast_cancer
    for est in (PerceptronClassifier(iterations=100), PerceptronEnsembleClassifier(n_estimators=5, iterations=100)):
        est.fit(Xtr / 1000, ytr)
        back = pickle.loads(pickle.dumps(est))
        assert type(back.result_.weights) is np.ndarray
        np.testing.assert_array_equal(back.predict_proba(Xte / 1000), est.predict_proba(Xte / 1000))


def test_ensemble_is_fp_train_with_bootstrap_weights():
    import fastperceptron as fp

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    est = PerceptronEnsembleClassifier(n_estimators=7, solver="gd", C=None, iterations=50, learning_rate=0.01,
                                       random_state=5).fit(X, y)
    counts = fp.bootstrap_weights(60, est.seeds_)
    r = fp.train(X, y, seeds=est.seeds_, sample_weight=counts, iterations=50, learning_rate=0.01, rule="logistic",
                 bias=True, backend=est.result_.backend)
    np.testing.assert_array_equal(est.result_.weights, r.weights)
    P = 1 / (1 + np.exp(-(X @ r.weights[:, :, 0].T + r.bias[:, 0])))
    np.testing.assert_allclose(est.predict_proba(X)[:, 1], P.mean(axis=1), rtol=1e-12)


def test_learning_rate_sweep_in_one_fit():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 1] > 0).astype(int)
    rates = [0.001, 0.01, 0.1]
    est = PerceptronEnsembleClassifier(n_estimators=3, bootstrap=False, solver="gd", learning_rate=rates,
                                       iterations=30).fit(X, y)
    np.testing.assert_array_equal(est.result_.learning_rate, rates)
    assert est.result_.loss[0] > est.result_.loss[2]  # bigger stable steps learn faster
    with pytest.raises(ValueError, match="learning_rate has 3 values but n_estimators is 4"):
        PerceptronEnsembleClassifier(n_estimators=4, learning_rate=rates).fit(X, y)


def test_subsampling_without_replacement():
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.arange(20) % 2
    est = PerceptronEnsembleClassifier(n_estimators=4, bootstrap=False, max_samples=0.5, iterations=1).fit(X, y)
    w = est._model_weights(20, est.seeds_, None)
    assert set(np.unique(w)) == {0.0, 1.0} and (w.sum(axis=1) == 10).all()


def test_multiclass_and_multilabel():
    from sklearn.datasets import load_iris, make_multilabel_classification

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    clf = PerceptronClassifier(iterations=2000).fit(X, y)
    assert clf.coef_.shape == (3, 4) and clf.intercept_.shape == (3,)
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.85 and clf.decision_function(X).shape == (150, 3)
    Xm, Ym = make_multilabel_classification(n_samples=80, n_classes=3, random_state=0)
    ml = PerceptronEnsembleClassifier(n_estimators=5, iterations=500).fit(Xm, Ym)
    assert ml.predict(Xm).shape == (80, 3) and ml.predict_proba(Xm).shape == (80, 3)


def test_sklearn_errors():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="needs samples of at least 2 classes"):
        PerceptronClassifier().fit(X, np.ones(10))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        PerceptronClassifier().fit(np.full((10, 2), np.nan), np.arange(10) % 2)
    with pytest.raises(ValueError, match="Unknown label type"):
        PerceptronClassifier().fit(X, np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match="n_estimators must be a positive integer"):
        PerceptronEnsembleClassifier(n_estimators=0).fit(X, np.arange(10) % 2)
    with pytest.raises(ValueError, match="rule must be one of"):
        PerceptronClassifier(rule="hebb").fit(X, np.arange(10) % 2)


def test_pipeline_and_grid_search():
    """The README's examples."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), PerceptronClassifier(iterations=300))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.9
    grid = GridSearchCV(pipe, {"perceptronclassifier__iterations": [50, 300], "perceptronclassifier__bias": [True, False]},
                        cv=3).fit(X, y)
    assert grid.best_score_ > 0.9 and set(grid.best_params_) == {"perceptronclassifier__iterations",
                                                                 "perceptronclassifier__bias"}


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_estimators_keep_the_feature_names_and_check_them(library):
    """scikit-learn's own name handling: ``feature_names_in_`` from a DataFrame, and a frame whose
    columns are renamed or reordered refused at predict time."""
    lib = pytest.importorskip(library)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    frame = lib.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]})
    for est in (PerceptronClassifier(), PerceptronEnsembleClassifier(n_estimators=3, iterations=50)):
        est.fit(frame, y)
        assert list(est.feature_names_in_) == ["a", "b", "c"]
        np.testing.assert_array_equal(est.predict_proba(frame), est.predict_proba(X))
        shuffled = frame[["b", "a", "c"]] if library == "pandas" else frame.select(["b", "a", "c"])
        with pytest.raises(ValueError, match="Feature names must be in the same order as they were in fit"):
            est.predict(shuffled)
