"""The numba backend's "gemm" and "rows" layouts against the numpy reference, and what "auto" picks
by shape.

The gemm layout sums in BLAS's order, so it matches the reference within SPEC §4's tolerances
(float64: 1e-9 relative), not bit for bit; repeated runs and thread counts give the same bits
(its tiles come from the shape alone).
"""

import numpy as np
import pytest

import fastperceptron as fp
from fastperceptron import planner
from fastperceptron.backend import costs
from fastperceptron.problem import make_problem
from tolerance import FLOAT32, assert_close

pytest.importorskip("numba", reason="the numba backend needs Numba: pip install numba")



def _problem(rng, N=300, D=7, K=1, B=5, y_per_model=False, weights=None):
    X = rng.normal(size=(N, D))
    y = rng.random((B, N, K) if y_per_model else (N, K))
    s = None
    if weights == "shared":
        s = rng.random(N) + 0.1
    elif weights == "per-model":
        s = rng.integers(0, 3, size=(B, N)).astype(float)
        s[:, 0] = 1.0  # every model keeps at least one sample
    return X, y, s


CASES = [
    dict(rule="logistic", bias=True),
    dict(rule="seed", bias=False),
    dict(rule="seed", bias=True, K=3),
    dict(rule="logistic", bias=True, K=4, y_per_model=True),
    dict(rule="logistic", bias=False, weights="shared"),
    dict(rule="logistic", bias=True, K=2, weights="per-model"),
    dict(rule="seed", bias=True, K=2, weights="per-model", y_per_model=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_gemm_layout_matches_the_reference(rng, case):
    case = dict(case)
    rule, bias = case.pop("rule"), case.pop("bias")
    X, y, s = _problem(rng, **case)
    kw = dict(models=5, rule=rule, bias=bias, sample_weight=s, learning_rate=0.01, iterations=60, record_every=20)
    ref = fp.train(X, y, backend="numpy", **kw)
    got = fp.train(X, y, backend="numba:gemm", **kw)
    assert got.backend == "numba" and got.params["layout"] == "gemm"
    assert_close(got.weights, ref.weights)
    if bias:
        assert_close(got.bias, ref.bias)
    assert_close(got.loss, ref.loss)
    assert_close(got.history, ref.history)


def test_gemm_layout_early_stopping_counts_like_the_reference(rng):
    X, y, _ = _problem(rng, N=200, D=5, K=2)
    kw = dict(models=40, rule="logistic", bias=True, learning_rate=np.linspace(0.001, 0.02, 40), tol=1e-3,
              iterations=400)
    ref = fp.train(X, y, backend="numpy", **kw)
    got = fp.train(X, y, backend="numba:gemm", **kw)
    np.testing.assert_array_equal(got.iterations, ref.iterations)
    assert ref.iterations.min() < 400  # the test means something: some models stopped early
    assert_close(got.weights, ref.weights)


def test_gemm_layout_in_chunks_of_rows(rng, monkeypatch):
    """Samples taken a few rows at a time (G summed over chunks) still match the reference."""
    from fastperceptron.backend.numba import gemm as numba_gemm

    X, y, s = _problem(rng, N=1000, D=6, K=2, weights="shared")
    kw = dict(models=7, rule="seed", bias=True, sample_weight=s, learning_rate=0.01, iterations=30)
    monkeypatch.setattr(numba_gemm, "ROWS", 96)  # 11 chunks, the last one short
    got = fp.train(X, y, backend="numba:gemm", **kw)
    ref = fp.train(X, y, backend="numpy", **kw)
    assert_close(got.weights, ref.weights)
    assert_close(got.loss, ref.loss)


@pytest.mark.parametrize("case", CASES[2:], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_gemm_layout_in_tiles_of_rows_and_columns(rng, monkeypatch, case):
    """Tiles of a few rows × a few columns (column blocks that cut models' outputs apart, runs of
    several chunks) match the reference: each tile reads the targets, weights and biases of its own
    columns."""
    from fastperceptron.backend.numba import gemm as numba_gemm

    case = dict(case)
    rule, bias = case.pop("rule"), case.pop("bias")
    X, y, s = _problem(rng, N=700, **case)
    kw = dict(models=5, rule=rule, bias=bias, sample_weight=s, learning_rate=0.01, iterations=25)
    monkeypatch.setattr(numba_gemm, "ROWS", 64)  # 11 chunks in 3 runs of 3 or 4
    monkeypatch.setattr(numba_gemm, "GROUPS", 3)
    monkeypatch.setattr(numba_gemm, "COLUMNS", 3)  # K = 2 or 4 outputs cut across blocks
    chunks, runs, columns = numba_gemm.tiles(700, 6, 5 * case.get("K", 1))
    assert (len(chunks), runs) == (11, 3) and len(columns) > 1
    got = fp.train(X, y, backend="numba:gemm", **kw)
    ref = fp.train(X, y, backend="numpy", **kw)
    assert_close(got.weights, ref.weights)
    if bias:
        assert_close(got.bias, ref.bias)
    assert_close(got.loss, ref.loss)


@pytest.mark.parametrize("per_model", [True, False])
@pytest.mark.parametrize("models", [150, 40, 3])
def test_gemm_layout_wide_and_narrow_passes(rng, models, per_model):
    """B·K = 300 columns: the pass goes 256 columns at a time, one row per step, then the last 44;
    B·K = 80: three rows of 80 columns per step, and a last step of fewer rows; B·K = 6: 42 rows
    per step. Each against the reference, with targets and sample weights per model (each lane
    reads its own column) or shared by the models (K = 2 outputs: lanes read Y by output)."""
    X, y, s = _problem(rng, N=301, D=6, K=2, B=models, y_per_model=per_model,
                       weights="per-model" if per_model else "shared")
    kw = dict(models=models, rule="logistic", bias=True, sample_weight=s, learning_rate=0.01, iterations=30)
    got = fp.train(X, y, backend="numba:gemm", **kw)
    ref = fp.train(X, y, backend="numpy", **kw)
    assert_close(got.weights, ref.weights)
    assert_close(got.bias, ref.bias)
    assert_close(got.loss, ref.loss)


def test_gemm_tiles_come_from_the_shape_alone():
    from fastperceptron.backend.numba.gemm import GROUPS, MIN_ROWS, PARTIALS_BYTES, TILE, tiles

    D = 50
    for N, M in [(1, 1), (100, 3), (20_000, 256), (2_000, 1_000), (100_000, 10), (10**6, 40_960)]:
        chunks, runs, columns = tiles(N, D, M)
        assert runs == 1 or runs * D * M * 8 <= PARTIALS_BYTES
        assert chunks[0][0] == 0 and chunks[-1][1] == N  # the rows, in order, once
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
        assert [c[2] for c in chunks] == sorted(c[2] for c in chunks) and runs == len({c[2] for c in chunks})
        assert runs <= GROUPS
        assert columns[0][0] == 0 and columns[-1][1] == M
        R = chunks[0][1] - chunks[0][0]
        assert R == N or R >= MIN_ROWS
        assert R * min(M, columns[0][1]) <= max(TILE, MIN_ROWS * M)
    assert tiles(20_000, 50, 256)[0][1][:2] == (1024, 2048)  # the measured best tile: 1,024 rows × 256 columns


def test_gemm_layout_float32(rng):
    X, y, _ = _problem(rng, N=400, D=8, K=2)
    kw = dict(models=6, rule="logistic", bias=True, learning_rate=0.002, iterations=50, dtype="float32")
    got = fp.train(X, y, backend="numba:gemm", **kw)
    ref = fp.train(X, y, backend="numpy", **kw)
    assert got.weights.dtype == np.float32
    assert_close(got.weights, ref.weights, FLOAT32)
    np.testing.assert_allclose(got.predict_proba(X[:20]), ref.predict_proba(X[:20]), atol=1e-5)


def test_gemm_layout_same_bits_twice_and_whatever_the_threads(rng):
    """The tiles come from the shape and each thread's BLAS runs on one thread: the same bits on every
    run and any number of threads."""
    X, y, _ = _problem(rng, N=3000, D=9, K=2)  # 12 chunks, 2 column blocks: every thread has tiles
    kw = dict(models=300, rule="logistic", bias=True, learning_rate=0.005, iterations=20, backend="numba:gemm")
    a, b = (fp.train(X, y, threads=2, **kw) for _ in range(2))
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.bias, b.bias)
    one = fp.train(X, y, threads=1, **kw)
    np.testing.assert_array_equal(one.weights, a.weights)
    np.testing.assert_array_equal(one.bias, a.bias)
    np.testing.assert_array_equal(one.loss, a.loss)
    # More threads than this machine has cores: the run itself, which takes any number.
    from fastperceptron.backend.numba.gemm import GemmRun

    kw.pop("backend")
    run = GemmRun(make_problem(X, y, **kw), threads=5)
    run.advance(20)
    np.testing.assert_array_equal(run.weights(), a.weights)
    np.testing.assert_array_equal(run.bias(), a.bias)


def test_gemm_layout_a_model_alone_equals_it_in_a_batch(rng):
    X, y, _ = _problem(rng, N=500, D=12)
    kw = dict(rule="logistic", bias=True, learning_rate=0.004, iterations=40, backend="numba:gemm")
    batch = fp.train(X, y, seeds=np.arange(200), **kw)
    alone = fp.train(X, y, seeds=[137], **kw)
    assert_close(alone.weights[0], batch.weights[137])


def test_gemm_layout_needs_shared_data(rng):
    X = rng.normal(size=(3, 10, 2))
    with pytest.raises(ValueError, match=r"'numba:gemm' needs X shared by all models.*use backend='numba'"):
        fp.train(X, rng.random((3, 10)), iterations=1, backend="numba:gemm")


def test_unknown_layout_is_refused(seed_data):
    X, y = seed_data
    with pytest.raises(ValueError, match=r"unknown backend layout 'numba:blocks'; choose one of .*'numba:gemm'"):
        fp.train(X, y, iterations=1, backend="numba:blocks")


# --- what auto picks -----------------------------------------------------------------------------
CPU_ONLY = {"numpy": True, "numba": True, "cupy": False, "cuda": False}


@pytest.fixture(params=["AVX2", "AVX-512"])
def isa(request, monkeypatch):
    """The cost model's picks hold with the constants of either vector ISA (costs.AVX512)."""
    monkeypatch.setattr(costs, "cpu_isa", lambda: request.param)
    return request.param


def _plan(X, y, available=CPU_ONLY, **kw):
    return planner.plan(make_problem(X, y, iterations=0, **kw), "auto", threads=2, available=available)


def test_auto_picks_lanes_for_the_tutorials_problem(seed_data, isa):
    X, y = seed_data
    p = _plan(X, y, models=10_000)
    assert (p.backend, p.layout) == ("numba", "lanes")
    assert set(p.estimates) == {"numba:lanes", "numba:gemm", "numpy:loop"}


def test_auto_picks_gemm_for_a_large_shared_table(rng, isa):
    p = _plan(rng.normal(size=(20_000, 50)), rng.random(20_000), models=256, rule="logistic")
    assert (p.backend, p.layout) == ("numba", "gemm")
    k10 = _plan(rng.normal(size=(2_000, 64)), np.eye(10)[rng.integers(0, 10, 2_000)], models=100, rule="logistic")
    assert (k10.backend, k10.layout) == ("numba", "gemm")


def test_auto_weighs_costs_by_the_cpus_vector_isa(rng, monkeypatch):
    """A few models on a mid-size table: numba:gemm with the AVX2 constants; numpy on an AVX-512 CPU,
    whose ufuncs have AVX-512 loops (measured on a Zen 5: numpy 1.61e4 vs gemm 1.04e4 model-it/s)."""
    X, y = rng.normal(size=(10_000, 50)), rng.random(10_000)
    picks = {}
    for isa in ("AVX2", "AVX-512"):
        monkeypatch.setattr(costs, "cpu_isa", lambda isa=isa: isa)
        picks[isa] = _plan(X, y, models=10, rule="logistic").name
    assert picks == {"AVX2": "numba:gemm", "AVX-512": "numpy:loop"}


def test_auto_picks_by_the_samples_per_model_for_per_model_data(rng, isa):
    """Few samples per model: the lanes kernel (SIMD across models); many: the rows layout (each
    model's rows in cache, SIMD across them). Measured: 0.55x and 1.42x rows/lanes (bench/RESULTS.md)."""
    few = _plan(rng.normal(size=(1_000, 20, 8)), rng.random((1_000, 20)))
    assert (few.backend, few.layout) == ("numba", "lanes")
    many = _plan(rng.normal(size=(1_000, 200, 16)), rng.random((1_000, 200)))
    assert (many.backend, many.layout) == ("numba", "rows")
    assert set(many.estimates) == {"numba:lanes", "numba:rows", "numpy:loop"}


ROWS_CASES = [
    dict(rule="logistic", bias=True),
    dict(rule="seed", bias=False, K=3),
    dict(rule="logistic", bias=True, K=2, y_per_model=True, weights="per-model"),
    dict(rule="seed", bias=True, weights="shared", l2=0.3),
    dict(rule="logistic", bias=False, y_per_model=True, tol=1e-4),
]


@pytest.mark.parametrize("case", ROWS_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_rows_layout_matches_the_reference(rng, case):
    """One dataset per model on the groups kernel (each model's rows a group), against numpy."""
    case = dict(case)
    B, N, D, K = 6, 150, 5, case.pop("K", 1)
    X = rng.normal(size=(B, N, D))
    y = rng.random((B, N, K) if case.pop("y_per_model", False) else (N, K))
    weights = case.pop("weights", None)
    s = None if weights is None else (rng.random(N) + 0.1 if weights == "shared" else rng.random((B, N)) + 0.1)
    kw = dict(sample_weight=s, learning_rate=0.02, iterations=120, progress=False, **case)
    ref = fp.train(X, y, backend="numpy", **kw)
    got = fp.train(X, y, backend="numba:rows", **kw)
    assert (got.backend, got.params["layout"]) == ("numba", "rows")
    assert_close(got.weights, ref.weights)
    if ref.bias is not None:
        assert_close(got.bias, ref.bias)
    assert_close(got.loss, ref.loss)
    np.testing.assert_array_equal(got.iterations, ref.iterations)
    again = fp.train(X, y, backend="numba:rows", threads=1, **kw)
    np.testing.assert_array_equal(again.weights, got.weights)  # the threads do not change a model's bits


def test_rows_layout_needs_per_model_data(rng):
    with pytest.raises(ValueError, match=r"'numba:rows' .*one dataset per model"):
        fp.train(rng.normal(size=(20, 3)), rng.random(20), models=2, iterations=1, backend="numba:rows")


def test_auto_without_numba_is_numpy_and_with_a_gpu_is_the_gpu(seed_data):
    X, y = seed_data
    assert _plan(X, y, available={"numpy": True, "numba": False}).backend == "numpy"
    gpu = _plan(X, y, available={"numpy": True, "numba": True, "cupy": True, "cuda": True})
    assert (gpu.backend, gpu.layout) == ("cuda", "kernel")
    assert "GPU" in gpu.reason


def test_auto_trains_with_its_pick_and_records_the_layout(rng):
    X, y = rng.normal(size=(3_000, 40)), rng.random(3_000)
    expected = fp.explain(X, y, models=512, rule="logistic")
    r = fp.train(X, y, models=512, rule="logistic", iterations=2, learning_rate=1e-4, progress=False)
    assert (r.backend, r.params["layout"]) == (expected.backend, expected.layout)


def test_explain_says_what_and_why(seed_data):
    X, y = seed_data
    p = fp.explain(X, y, models=10_000)
    assert isinstance(p, fp.Plan)
    text = str(p)
    assert text.startswith(f"{p.backend}:{p.layout}: ")
    assert "N = 4, D = 3, K = 1, B = 10,000" in text
    assert "estimated seconds per iteration" in text
    named = fp.explain(X, y, models=10, backend="numpy")
    assert (named.backend, named.reason) == ("numpy", "named by the caller (its only layout)")
    with pytest.raises(ValueError, match="X contains NaN"):
        fp.explain(np.full((4, 3), np.nan), y)


def test_estimates_grow_with_the_work(rng):
    small = make_problem(rng.normal(size=(100, 8)), rng.random(100), models=64, iterations=0)
    large = make_problem(rng.normal(size=(10_000, 8)), rng.random(10_000), models=64, iterations=0)
    for backend, layout in (("numba", "lanes"), ("numba", "gemm"), ("numpy", "loop")):
        assert planner.estimate(large, backend, layout, 2) > planner.estimate(small, backend, layout, 2) > 0


def test_the_per_model_layout_does_not_depend_on_the_batch_size(rng):
    """A batch cut into shards (Dask) must train each shard in the layout of the whole: the choice
    between lanes and rows is made from one model's shape."""
    for N, D, layout in ((200, 16, "rows"), (15, 3, "lanes")):
        picks = {_plan(rng.normal(size=(B, N, D)), rng.random((B, N))).layout for B in (2, 8, 40, 1_000)}
        assert picks == {layout}


def test_auto_runs_the_solvers_of_a_few_neurons_on_a_shared_table_on_numpy(rng):
    """Measured (bench/RESULTS.md, issue 25): numpy's BLAS products beat the numba kernel for up to
    four neurons on one shared table; numba wins from about 32 and for groups."""
    X, y = rng.normal(size=(2_000, 4)), (rng.random(2_000) < 0.5).astype(float)
    one = _plan(X, y, solver="newton")
    assert (one.backend, one.layout) == ("numpy", "solver") and "1 neuron(s) on a shared table" in one.reason
    assert _plan(X, y, solver="lbfgs", models=4, l2=[1, 2, 3, 4]).backend == "numpy"
    assert _plan(X, y, solver="newton", models=5, l2=[1, 2, 3, 4, 5]).backend == "numba"
    assert _plan(X, y, solver="newton", groups=rng.integers(0, 3, 2_000)).backend == "numba"
    assert _plan(X, y, solver="newton", available={"numpy": False, "numba": True}).backend == "numba"
