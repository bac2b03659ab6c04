"""SPEC §2 properties: a model's result depends only on its own inputs."""

import re
import time
import warnings

import numpy as np
import pytest

import fastperceptron as fp
from reference import train_one


def random_problem(rng, B=8, N=12, D=4, K=2):
    return rng.normal(size=(N, D)), (rng.random((N, K)) > 0.5).astype(float), rng.integers(0, 10**9, size=B)


def test_alone_equals_inside_a_batch(rng, backend):
    X, y, seeds = random_problem(rng)
    batch = fp.train(X, y, seeds=seeds, iterations=200, bias=True, backend=backend)
    for b in (0, 5):
        alone = fp.train(X, y, seeds=seeds[b : b + 1], iterations=200, bias=True, backend=backend)
        np.testing.assert_allclose(alone.weights[0], batch.weights[b], rtol=1e-12)
        np.testing.assert_allclose(alone.bias[0], batch.bias[b], rtol=1e-12)


def test_order_of_models_does_not_matter(rng, backend):
    X = rng.normal(size=(8, 10, 3))
    y = rng.random((8, 10))
    perm = rng.permutation(8)
    a = fp.train(X, y, seeds=np.arange(8), iterations=100, rule="logistic", backend=backend)
    b = fp.train(X[perm], y[perm], seeds=perm, iterations=100, rule="logistic", backend=backend)
    np.testing.assert_allclose(b.weights, a.weights[perm], rtol=1e-12)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunking_does_not_matter(rng, backend, chunk):
    X, y, seeds = random_problem(rng)
    ref = fp.train(X, y, seeds=seeds, iterations=150, chunk_iterations=150, backend=backend)
    r = fp.train(X, y, seeds=seeds, iterations=150, chunk_iterations=chunk, backend=backend)
    np.testing.assert_array_equal(r.weights, ref.weights)


def test_same_bits_twice(rng, backend):
    X, y, seeds = random_problem(rng)
    a = fp.train(X, y, seeds=seeds, iterations=300, bias=True, backend=backend)
    b = fp.train(X, y, seeds=seeds, iterations=300, bias=True, backend=backend)
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.bias, b.bias)


def test_integer_weights_equal_duplicated_rows(rng, backend):
    X, y, _ = random_problem(rng, N=6)
    counts = np.array([0, 1, 2, 3, 1, 2])
    a = fp.train(X, y, seeds=[3], sample_weight=counts, iterations=200, bias=True, backend=backend)
    b = fp.train(np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0), seeds=[3], iterations=200,
                 bias=True, backend=backend)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-10)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)


def test_mask_equals_dropping_rows(rng, backend):
    X, y, _ = random_problem(rng, N=10)
    mask = np.array([1, 0, 1, 1, 0, 0, 1, 1, 1, 0], dtype=float)
    keep = mask.astype(bool)
    a = fp.train(X, y, seeds=[4], sample_weight=mask, iterations=200, rule="logistic", backend=backend)
    b = fp.train(X[keep], y[keep], seeds=[4], iterations=200, rule="logistic", backend=backend)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-10)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)


def test_ragged_datasets_as_masks_per_model(rng, backend):
    """Per-model datasets of different lengths, padded to one N with 0/1 masks."""
    lengths = [3, 7, 5]
    X = rng.normal(size=(3, 7, 2))
    y = rng.random((3, 7, 1))
    mask = (np.arange(7)[None, :] < np.array(lengths)[:, None]).astype(float)
    r = fp.train(X, y, sample_weight=mask, iterations=100, backend=backend)
    for b, n in enumerate(lengths):
        alone = fp.train(X[b, :n], y[b, :n], seeds=[b], iterations=100, backend=backend)
        np.testing.assert_allclose(r.weights[b], alone.weights[0], rtol=1e-10)


def test_k_outputs_equal_k_single_output_runs(rng, backend):
    X, y, _ = random_problem(rng, K=3)
    W0 = rng.uniform(-1, 1, size=(5, 4, 3))
    multi = fp.train(X, y, initial_weights=W0, iterations=150, bias=True, backend=backend)
    for k in range(3):
        single = fp.train(X, y[:, k], initial_weights=W0[:, :, k : k + 1], iterations=150, bias=True,
                          backend=backend)
        np.testing.assert_allclose(multi.weights[:, :, k], single.weights[:, :, 0], rtol=1e-12)
        np.testing.assert_allclose(multi.bias[:, k], single.bias[:, 0], rtol=1e-12)


def test_per_model_learning_rates_equal_separate_runs(rng, backend):
    X, y, _ = random_problem(rng)
    rates = np.array([0.01, 0.5, 2.0])
    sweep = fp.train(X, y, seeds=[7, 7, 7], learning_rate=rates, iterations=100, backend=backend)
    for b, eta in enumerate(rates):
        one = fp.train(X, y, seeds=[7], learning_rate=eta, iterations=100, backend=backend)
        np.testing.assert_allclose(sweep.weights[b], one.weights[0], rtol=1e-12)


def test_early_stopping_freezes_and_counts(seed_data, backend):
    X, y = seed_data
    rates = np.array([1.0, 0.1, 0.0])  # fast, slow, and one that never moves
    r = fp.train(X, y, seeds=[1, 1, 1], init="legacy", learning_rate=rates, iterations=20_000, tol=1e-3,
                 record_every=500, backend=backend)
    W0 = fp.init.legacy([1], 3)[0]
    for b, eta in enumerate(rates):
        W, _, its = train_one(X, y, W0, iterations=20_000, lr=eta, tol=1e-3)
        assert r.iterations[b] == its
        np.testing.assert_allclose(r.weights[b], W, rtol=1e-12)
    assert r.iterations[2] == 1 and r.iterations[0] < r.iterations[1] < 20_000
    # Frozen models keep their loss: the history is flat after each model stopped.
    stop = r.iterations[0] // 500
    np.testing.assert_array_equal(r.history[0, stop + 1 :], r.history[0, -1])
    assert r.history.shape == (3, 40)
    np.testing.assert_allclose(r.history[:, -1], r.loss, rtol=1e-12)


def test_run_ends_when_every_model_has_stopped(seed_data):
    X, y = seed_data
    r = fp.train(X, y, models=4, iterations=10**7, tol=0.05, backend="numpy")
    assert r.complete and (r.iterations < 10**7).all()


def test_history_matches_losses_of_shorter_runs(rng, backend):
    X, y, seeds = random_problem(rng)
    r = fp.train(X, y, seeds=seeds, iterations=100, record_every=25, backend=backend)
    assert r.history.shape == (8, 4)
    for h, t in enumerate((25, 50, 75, 100)):
        shorter = fp.train(X, y, seeds=seeds, iterations=t, backend=backend)
        np.testing.assert_allclose(r.history[:, h], shorter.loss, rtol=1e-12)


def test_float32_parity_with_float64(rng, backend):
    X = rng.normal(size=(30, 4))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(float)
    r64 = fp.train(X, y, models=16, iterations=300, learning_rate=0.05, rule="logistic", bias=True, backend=backend)
    r32 = fp.train(X, y, models=16, iterations=300, learning_rate=0.05, rule="logistic", bias=True,
                   dtype="float32", backend=backend)
    np.testing.assert_allclose(r32.weights, r64.weights, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r32.predict_proba(X), r64.predict_proba(X), atol=1e-5)


def test_sigmoid_is_stable_for_huge_logits(backend):
    X = np.array([[1000.0], [-1000.0], [800.0], [-800.0]])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from numpy
        warnings.simplefilter("ignore", fp.StabilityWarning)  # |x| of 10³: said, and meant here
        r = fp.train(X, y, initial_weights=[[1.0]], iterations=3, backend=backend)
        p = r.predict_proba(X)
    assert np.isfinite(r.weights).all() and np.isfinite(r.loss).all()
    assert np.isfinite(p).all() and p.min() >= 0 and p.max() <= 1
    np.testing.assert_allclose(fp.loop.sigmoid(np.array([-750.0, 750.0, 0.0])), [0.0, 1.0, 0.5])


def test_subsets_of_a_result(seed_data):
    X, y = seed_data
    r = fp.train(X, y, models=10, iterations=50, backend="numpy")
    best = r[int(np.argmin(r.loss))]
    assert len(best) == 1 and best.loss[0] == r.loss.min()
    sub = r[r.loss < np.median(r.loss)]
    assert len(sub) == 5 and set(sub.seeds) < set(r.seeds)


def test_progress_bar_on_request(seed_data, capsys):
    X, y = seed_data
    fp.train(X, y, models=3, iterations=50, progress=True, backend="numpy")
    assert "3 models [numpy]" in capsys.readouterr().err
    fp.train(X, y, models=3, iterations=50, progress=False, backend="numpy")
    assert capsys.readouterr().err == ""


def test_out_of_memory_is_explained(seed_data, monkeypatch):
    X, y = seed_data

    def no_memory(self, problem, xp=None):
        raise MemoryError

    monkeypatch.setattr(fp.loop.VectorizedRun, "__init__", no_memory)
    with pytest.raises(MemoryError, match=r"not enough memory to train 5 models at once on numpy .* use dtype='float32'"):
        fp.train(X, y, models=5, backend="numpy")


def test_a_batch_beyond_the_machine_is_refused_before_allocating(seed_data):
    """models=10**13 needs at least 10**13 x 88 bytes: the library's message, not numpy's raw
    "Unable to allocate 72.8 TiB"."""
    X, y = seed_data
    with pytest.raises(MemoryError) as err:
        fp.train(X, y, models=10**13)
    text = str(err.value)
    assert text.startswith("not enough memory to train 10,000,000,000,000 models at once (at least 800.4 TiB needed, "
                           "this machine has ")
    assert "train fewer models per call" in text and "Unable to allocate" not in text


def test_an_allocation_failing_while_the_batch_is_built_is_explained(seed_data, monkeypatch):
    X, y = seed_data

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.0 TiB")

    monkeypatch.setattr(fp.init, "uniform", no_memory)
    with pytest.raises(MemoryError, match=r"^not enough memory to train 7 models at once \(about .* needed"):
        fp.train(X, y, models=7, backend="numpy")


def test_a_slow_backend_setup_says_what_it_is_doing(seed_data, monkeypatch, capsys):
    """A first run compiles the kernels (~10 s) before the progress bar can move: a line says so
    while it happens, and another when it is over; a quick set-up (a cache load) says nothing."""
    import fastperceptron.runner as training

    X, y = seed_data
    real_start = training._start

    def slow_start(*args, **kwargs):
        time.sleep(0.5)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(training, "_start", slow_start)
    monkeypatch.setattr(training._SetupNotice, "DELAY", 0.05)
    fp.train(X, y, models=2, iterations=5, progress=True, backend="numpy")
    err = capsys.readouterr().err
    assert "fastperceptron: preparing the numpy backend: compiling its kernels for this machine" in err
    assert "later runs load them from the cache" in err
    assert re.search(r"the numpy backend is ready \(0\.[5-9] s\)", err)
    monkeypatch.setattr(training._SetupNotice, "DELAY", 30.0)
    fp.train(X, y, models=2, iterations=5, progress=True, backend="numpy")
    assert "preparing" not in capsys.readouterr().err
    monkeypatch.setattr(training._SetupNotice, "DELAY", 0.05)
    fp.train(X, y, models=2, iterations=5, progress=False, backend="numpy")
    assert capsys.readouterr().err == ""


def test_timing_fields(seed_data, backend):
    X, y = seed_data
    r = fp.train(X, y, models=10, iterations=100, backend=backend)
    assert 0 <= r.setup_seconds <= r.seconds
