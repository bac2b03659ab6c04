"""pytest-benchmark cases (``make bench``). Figures are recorded in bench/RESULTS.md.

Each case trains through the public API with the progress bar off; the warm-up run absorbs JIT
compilation and device start-up. The figure to compare is model-iterations per second, printed in
``extra_info`` as ``model_it_per_s``.
"""

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron.benchmarks.sweep import make_case

T_SEED = 2_000


def _bench(benchmark, X, y, B, T, backend, dtype="float64", **kw):
    fp.train(X, y, models=B, iterations=1, backend=backend, dtype=dtype, progress=False, **kw)  # warm-up
    result = benchmark.pedantic(
        fp.train, args=(X, y), kwargs=dict(models=B, iterations=T, backend=backend, dtype=dtype, progress=False, **kw),
        rounds=3, iterations=1,
    )
    benchmark.extra_info["model_it_per_s"] = B * T / benchmark.stats.stats.min
    assert result.n_models == B


@pytest.mark.parametrize("B", [1, 100, 10_000])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_seed_problem(benchmark, backend, B, dtype):
    X, y = make_case("seed", B)
    _bench(benchmark, X, y, B, T_SEED, backend, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_per_model_data(benchmark, backend, dtype):
    """B = 1,000 models, each with its own (200, 16) dataset, T = 200."""
    X, y = make_case("per-model", 1_000)
    _bench(benchmark, X, y, 1_000, 200, backend, dtype)


def test_init_one_million_models(benchmark):
    """SPEC section 3: the uniform init of 10^6 models (D = 3, K = 1)."""
    seeds = np.arange(10**6)
    w = benchmark(fp.init.uniform, seeds, 3, 1)
    assert w.shape == (10**6, 3, 1)


@pytest.mark.parametrize("peer", ["jax", "torch"])
@pytest.mark.parametrize("case, B, T", [("seed", 10_000, T_SEED), ("per-model", 1_000, 200)])
def test_peer(benchmark, peer, case, B, T):
    """The same training in JAX (jit + vmap + fori_loop) and PyTorch (batched matmul), for comparison.

    The benchmark time includes the peer's warm-up (JAX compiles); extra_info holds the timed run alone.
    """
    pytest.importorskip(peer, reason=f"{peer} is not installed: pip install 'fastperceptron[peers]'")
    from fastperceptron.benchmarks.peers import run_peer

    X, y = make_case(case, B)
    seconds = benchmark.pedantic(run_peer, args=(peer, X, y, B, T), rounds=3, iterations=1)
    benchmark.extra_info["model_it_per_s"] = B * T / seconds


@pytest.mark.parametrize("model", ["PerceptronEnsembleClassifier(1000)", "LogisticRegression"])
def test_breast_cancer_fit(benchmark, model):
    """Issue 5: fitting a 1,000-model bagged ensemble against scikit-learn's LogisticRegression."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: pip install 'fastperceptron[sklearn]'")
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fastperceptron.sklearn import PerceptronEnsembleClassifier

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    est = PerceptronEnsembleClassifier(n_estimators=1000, random_state=0) if model != "LogisticRegression" \
        else LogisticRegression(max_iter=5000)
    pipe = make_pipeline(StandardScaler(), est)
    pipe.fit(Xtr, ytr)  # warm-up (kernel compile or cache load)
    benchmark.pedantic(pipe.fit, args=(Xtr, ytr), rounds=3, iterations=1)
    benchmark.extra_info["accuracy"] = pipe.score(Xte, yte)
