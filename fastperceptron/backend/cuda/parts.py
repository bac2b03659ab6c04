"""A batch split along the models into parts over the GPUs: one per visible GPU
(``FASTPERCEPTRON_DEVICES``, default all), and more when a part's estimated bytes exceed half of
its device's free memory. Every part lives on its device; ``advance`` launches all parts (different
devices overlap), then synchronises. A part allocates its buffers before it changes any state, so on
``OutOfMemoryError`` the pool is freed, that part is split in two from its unchanged state, and the
step retried. A model's result never depends on the split (SPEC §2)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...problem import Problem
from ...reference.run import GradientRun
from . import device

__all__ = ["PartedRun"]


def _bytes_per_model(p: Problem) -> int:
    N, D, K = p.X.shape[-2], p.W0.shape[1], p.W0.shape[2]
    data = (p.X[0].size if p.X.ndim == 3 else 0) + (p.Y[0].size if p.Y.ndim == 3 else 0) + N
    return p.dtype.itemsize * (data + 4 * N * K + 3 * D * K + 4 * K) + 16


class PartedRun(GradientRun):
    """A batch split along the models into parts over the GPUs (see the module docstring)."""

    def __init__(self, problem: Problem, make_run, device_ids):
        self.cupy = device.cupy()
        self.problem = problem
        self.make_run = make_run
        B = problem.n_models
        need = B * _bytes_per_model(problem)
        parts = len(device_ids)
        for d in device_ids:
            with self.cupy.cuda.Device(d):
                free = self.cupy.cuda.runtime.memGetInfo()[0]
            parts = max(parts, len(device_ids) * -(-need // max(1, len(device_ids) * free // 2)))
        while True:  # on OutOfMemoryError: free the pools, twice as many parts, try again
            edges = np.linspace(0, B, min(parts, B) + 1).round().astype(int)
            try:
                self.parts = [(device_ids[i % len(device_ids)], a, b,
                               self._make(device_ids[i % len(device_ids)], a, b, problem.W0[a:b]))
                              for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
                return
            except self.cupy.cuda.memory.OutOfMemoryError:
                self.parts = []
                for d in device_ids:
                    self._free(d)
                if parts >= B:
                    raise MemoryError(
                        f"the GPU(s) cannot hold this batch even one model at a time (about {need / 2**30:.1f} GiB "
                        "in all); train fewer models per call, use dtype='float32', or backend='numba'"
                    ) from None
                parts *= 2

    def _make(self, dev, a, b, W, state=None):
        """The run of models a..b on device dev, from weights W (and C, iterations, active)."""
        p = self.problem
        per = lambda arr, ndim: arr[a:b] if arr is not None and arr.ndim == ndim else arr  # noqa: E731
        sub = replace(p, X=per(p.X, 3), Y=per(p.Y, 3), sample_weight=per(p.sample_weight, 2),
                      learning_rate=p.learning_rate[a:b], l2=None if p.l2 is None else p.l2[a:b],
                      W0=np.ascontiguousarray(W), seeds=p.seeds[a:b])
        with self.cupy.cuda.Device(dev):
            run = self.make_run(sub)
            if state is not None:
                run.restore(*state)
            return run

    def _free(self, dev):
        with self.cupy.cuda.Device(dev):
            self.cupy.get_default_memory_pool().free_all_blocks()

    def advance(self, n: int) -> None:
        i = 0
        while i < len(self.parts):
            dev, a, b, run = self.parts[i]
            try:
                with self.cupy.cuda.Device(dev):
                    run.advance(n)
                i += 1
            except self.cupy.cuda.memory.OutOfMemoryError:
                # The part allocates before it changes anything: split it from its current state.
                if b - a < 2:
                    raise MemoryError("the GPU is out of memory with a single model per part") from None
                with self.cupy.cuda.Device(dev):
                    W, C, its, act = run.weights(), run.bias(), run.iteration_counts(), run.active_mask()
                del run
                self._free(dev)
                m = (a + b) // 2
                halves = [(dev, a, m, self._make(dev, a, m, W[: m - a], (C[: m - a], its[: m - a], act[: m - a]))),
                          (dev, m, b, self._make(dev, m, b, W[m - a:], (C[m - a:], its[m - a:], act[m - a:])))]
                self.parts[i:i + 1] = halves
        for dev, *_ in self.parts:
            self.cupy.cuda.Device(dev).synchronize()

    def _each(self, method):
        out = []
        for dev, _, _, run in self.parts:
            with self.cupy.cuda.Device(dev):
                out.append(getattr(run, method)())
        return out

    def n_active(self) -> int:
        return sum(self._each("n_active"))

    def loss(self) -> np.ndarray:
        return np.concatenate(self._each("loss"))

    def weights(self) -> np.ndarray:
        return np.concatenate(self._each("weights"))

    def bias(self):
        return np.concatenate(self._each("bias")) if self.problem.bias else None

    def iteration_counts(self) -> np.ndarray:
        return np.concatenate(self._each("iteration_counts"))
