"""pytest-benchmark cases of serving a batch (issue 14; ``make bench``): 10,000 models (D = 16,
K = 1, bias) on 1,000 rows through ``predict_proba`` and through ONNX Runtime on the exported
graph, and the export of 10^6 models. bench/issue14_serving.py prints the same as one table."""

import numpy as np
import pytest

from issue14_serving import batch

ort = pytest.importorskip("onnxruntime", reason="the ONNX cases need the 'onnx' extra")


@pytest.fixture(scope="module")
def served():
    return batch(10_000, 16), np.random.default_rng(1).normal(size=(1_000, 16))


def test_predict_proba(benchmark, served):
    r, X = served
    P = benchmark(r.predict_proba, X)
    assert P.shape == (10_000, 1_000, 1)


def test_ensemble_summary(benchmark, served):
    r, X = served
    s = benchmark(r.ensemble_summary, X)
    assert s.quantiles.shape == (2, 1_000, 1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("outputs", [("probabilities",), ("mean", "std")], ids=["probabilities", "mean-std"])
def test_onnx_runtime(benchmark, served, dtype, outputs):
    r, X = served
    session = ort.InferenceSession(r.to_onnx(outputs=outputs, dtype=dtype).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    x = X.astype(dtype)
    out = benchmark(session.run, None, {"X": x})
    assert out[0].shape[0] == 1_000


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_export_a_million_models(benchmark, tmp_path, dtype):
    r = batch(10**6, 8)
    path = tmp_path / "m.onnx"
    benchmark.pedantic(r.to_onnx, args=(path,), kwargs={"dtype": dtype}, rounds=2, iterations=1)
    benchmark.extra_info["file_bytes"] = path.stat().st_size
    assert path.stat().st_size > 10**6 * 9 * np.dtype(dtype).itemsize
