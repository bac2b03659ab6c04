"""The cost model's constants: seconds of one iteration of each layout, measured (the "compute"
floor's one costs module; each layout's ``estimate`` reads them).

Fitted to ``fastperceptron bench --case grid`` on the project's 2-core AMD EPYC (Zen 3, AVX2,
2 threads); on an AVX-512 CPU (measured: a Zen 5) the elementwise parts are weighted by
:data:`AVX512` — a deterministic choice by the CPU's flags rather than a timed calibration, so a
problem gets the same layout, and the same bits, on every run. ``bench/RESULTS.md`` compares each
pick with the fastest layout measured, on both CPUs.
"""

from __future__ import annotations

from ..machine import cpu_isa

__all__ = ["scales", "gemm_efficiency"]

# --- measured constants (seconds, float64, per thread) ----------------------------------------------
# Fitted to `fastperceptron bench --case grid` and the cases on the 2-core AMD EPYC (AVX2).
#: lanes kernel, per model, sample and output: A + B·D, with X shared or one X per model.
#: Refitted 2026-11-25 on the float64 shared grid (best of two runs), after the exponential stopped
#: converting floats to integers one lane at a time on AVX2 (σ 22 % faster); was (2.8e-9, 0.31e-9).
LANES_SHARED = (2.15e-9, 0.256e-9)
LANES_PER_MODEL = (1.3e-9, 0.46e-9)
#: lanes kernel with one dataset per model: the data of a block of models outgrows the caches, so
#: each sample also costs this much per value of a model's dataset (N·D). Refitted with the rows
#: layout's shapes (N = 20 to 1,000, D = 8 to 50), where per-model datasets reach 400 KB.
LANES_PER_MODEL_MEMORY = 0.55e-12
#: lanes kernel, per block, sample and output: the set-up of its lane loops, A + B·D (narrow blocks
#: of few models pay it on few lanes).
LANES_BLOCK = (38e-9, 5.0e-9)  # refitted with LANES_SHARED; was (46e-9, 3.8e-9)
#: rows layout (one dataset per model, each model walking its own rows with the groups kernel): a
#: fixed cost per model and iteration (its update, the loop set-up), and per row and output A + B·D.
#: Fitted to 9 per-model shapes (N from 4 to 1,000, D from 3 to 50, K = 1 and 10).
ROWS_MODEL = 136e-9
ROWS = (1.85e-9, 0.43e-9)
#: gemm layout: matrix-product speed (FLOP/s, one thread's BLAS on its own tiles), the fused pass per
#: value (measured alone: 2.8 ns on one thread), a fixed cost per iteration (adding the partial sums,
#: the update) and the cost of handing tiles to other threads when it does (``backend.numba.gemm.workers``).
#: Refitted 2026-11-25 when threads took whole tiles and narrow tiles several rows per step: 39
#: shared shapes (the grid and goals A, B) timed through GemmRun.advance; estimates within
#: 0.63–1.27 of the measured times.
GEMM_FLOPS = 33.0e9
GEMM_ELEMENT = 2.8e-9
GEMM_FIXED = 47e-6
GEMM_HANDOFF = 159e-6
#: numpy loop: the elementwise passes per element (numpy uses one thread), a fixed cost per
#: iteration, and the speed of batched products of per-model data (FLOP/s, in all).
NUMPY_ELEMENT = 6.0e-9
NUMPY_FIXED = 20e-6
NUMPY_BATCHED_FLOPS = 5.0e9
#: float32 does the same work in this fraction of float64's time (vector lanes twice as wide):
#: medians over the float32 and float64 grids of 2026-11-25 (bench/RESULTS.md). The lanes kernel
#: gains only with models to fill the wider vectors: 0.45 + 0.45·min(1, 32/B) (0.9 at B = 10, 0.5
#: at B = 256).
FLOAT32 = {"rows": 0.4, "gemm": 0.45, "numpy": 0.4}
FLOAT32_LANES = (0.45, 0.45, 32)
#: The constants above were fitted on an AVX2 CPU (Zen 3). On an AVX-512 CPU (measured: a Zen 5)
#: the costs do not scale alike: numpy's ufuncs gain AVX-512 loops, the Numba kernels wider vectors
#: and a faster core, while OpenBLAS may keep its AVX2 kernels (it does on Zen 5). So there each part
#: the elementwise part of each is multiplied by its factor, (float64, float32): numpy's passes, the
#: gemm layout's fused pass, and the Numba kernels of the lanes and rows layouts. Fitted 2026-12-02
#: to the best of three runs per shape of the shared grid on the Zen 5 (bench/RESULTS.md).
AVX512 = {"numpy": (0.4, 0.4), "gemm": (0.9, 0.3), "kernels": (1.0, 0.6)}
NO_SCALE = {"numpy": (1.0, 1.0), "gemm": (1.0, 1.0), "kernels": (1.0, 1.0)}


def scales() -> dict:
    """The factors of this CPU's vector ISA (see AVX512); none elsewhere."""
    return AVX512 if cpu_isa() == "AVX-512" else NO_SCALE


def gemm_efficiency(N: int, D: int, M: int, d_power: float = 0.5) -> float:
    """The fraction of the matrix-product speed reached on thin products (D or B·K below about 32;
    tiny N pays the call overhead, counted in the fixed costs). D's power: 0.5 for numpy's products
    (BLAS on all threads), 0.75 fitted for the gemm layout's (one thread per tile)."""
    return min(1.0, D / 32) ** d_power * (min(1.0, M / 32) * min(1.0, N / 64)) ** 0.5
