"""Issue 14's figures: serving a batch, and exporting a large one (float64 unless said).

1. 10,000 models (D = 16, K = 1, bias) on 1,000 new rows: ``predict_proba`` (numpy, float64),
   ``ensemble_summary`` (mean, std, 5 %/95 %), and ONNX Runtime on the exported graph — every
   probability (M, B, K) and the ensemble's mean and std only — in float64 and float32;
2. the export of a 10^6-model batch (D = 8, K = 1, bias): seconds and file size, float32 and float64.

    .venv/bin/python bench/issue14_serving.py [--threads N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def batch(B, D, K=1, seed=0):
    """A trained-looking batch without the training: random weights in a TrainResult."""
    import fastperceptron as fp

    rng = np.random.default_rng(seed)
    return fp.TrainResult(weights=rng.normal(size=(B, D, K)) / np.sqrt(D), bias=rng.normal(size=(B, K)),
                          seeds=np.arange(B), loss=np.zeros(B), iterations=np.zeros(B, np.int64), history=None,
                          learning_rate=np.ones(B), backend="numpy", dtype="float64", seconds=0.0)


def serving(threads: int) -> None:
    import onnxruntime as ort

    r = batch(10_000, 16)
    X = np.random.default_rng(1).normal(size=(1_000, 16))
    print(f"## serving 10,000 models (D = 16, K = 1, bias) on 1,000 rows; onnxruntime {ort.__version__}, "
          f"{threads} intra-op threads")
    print(f"predict_proba (numpy, float64)                 {best(lambda: r.predict_proba(X)) * 1e3:8.1f} ms")
    print(f"ensemble_summary (mean, std, q5, q95)          {best(lambda: r.ensemble_summary(X)) * 1e3:8.1f} ms")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    for dtype in ("float64", "float32"):
        for outputs in (("probabilities",), ("mean", "std")):
            s = ort.InferenceSession(r.to_onnx(outputs=outputs, dtype=dtype).SerializeToString(), options,
                                     providers=["CPUExecutionProvider"])
            x = X.astype(dtype)
            s.run(None, {"X": x})
            seconds = best(lambda: s.run(None, {"X": x}))
            print(f"ONNX Runtime {dtype}, outputs {'+'.join(outputs):<18} {seconds * 1e3:8.1f} ms")


def export() -> None:
    r = batch(10**6, 8)
    print("## export of 10^6 models (D = 8, K = 1, bias)")
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in ("float32", "float64"):
            path = os.path.join(tmp, f"m-{dtype}.onnx")
            t = time.perf_counter()
            r.to_onnx(path, dtype=dtype)
            seconds = time.perf_counter() - t
            print(f"to_onnx({dtype}): {seconds:6.2f} s, file {os.path.getsize(path) / 2**20:7.1f} MiB")


def main() -> None:
    from fastperceptron.machine import describe as machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    print(f"# {machine()}")
    serving(args.threads)
    export()


if __name__ == "__main__":
    main()
