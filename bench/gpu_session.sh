#!/usr/bin/env bash
# Everything issue 4 asks of a GPU, in one call (device tool: `bash bench/gpu_session.sh`):
# install, GPU tests and parity suite, then the CPU-vs-GPU sweeps with JAX/PyTorch and plots.
# Results go to $OUT (default bench/out). Works without a GPU too: the GPU tests skip, and the
# sweeps time the backends that are usable.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
QUICK=${QUICK:-0}  # QUICK=1: small sizes, to try the script itself

$PY -m pip install --no-build-isolation --no-deps -e . >"$OUT/install.log" 2>&1 || { tail "$OUT/install.log"; exit 1; }
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1; lscpu | head -20; } >"$OUT/machine.txt"
$PY -m fastperceptron info >"$OUT/info.txt" 2>&1
cat "$OUT/info.txt"

# GPU tests (-m gpu: the real-GPU variants) and the parity suites on every backend.
$PY -m pytest -q -m gpu -rs tests >"$OUT/pytest-gpu.txt" 2>&1; echo "pytest -m gpu: rc=$?" | tee -a "$OUT/summary.txt"
$PY -m pytest -q -rs tests/test_seed.py tests/test_properties.py tests/test_reference.py tests/backend/test_cuda.py tests/problem/test_groups.py \
    tests/solvers/test_solvers.py \
    >"$OUT/pytest-parity.txt" 2>&1; echo "parity suite: rc=$?" | tee -a "$OUT/summary.txt"
tail -3 "$OUT/pytest-gpu.txt" "$OUT/pytest-parity.txt"

if [ "$QUICK" = 1 ]; then seed_models="1000 10000"; seed_T=200; pm_models="100 1000"; pm_T=20
else seed_models="1000 10000 100000 1000000"; seed_T=20000; pm_models="1000 10000 100000"; pm_T=200; fi
backends=$($PY -c 'import fastperceptron as fp; print(" ".join(n for n in ("cuda","cupy","numba") if fp.backends()[n].available))')
for dtype in float64 float32; do
    $PY -m fastperceptron bench --case seed --models $seed_models --iterations $seed_T --dtype $dtype \
        --backends $backends --peers --repeat 1 --plot "$OUT/seed-$dtype.png" 2>&1 | tee "$OUT/bench-seed-$dtype.txt"
    $PY -m fastperceptron bench --case per-model --models $pm_models --iterations $pm_T --dtype $dtype \
        --backends $backends --peers --repeat 1 --plot "$OUT/per-model-$dtype.png" 2>&1 | tee "$OUT/bench-per-model-$dtype.txt"
done
# One model per group (issue 11): every usable backend, JAX segment_sum as the peer.
$PY -m fastperceptron bench --case groups --groups $([ "$QUICK" = 1 ] && echo 200 || echo 20000) --backends $backends \
    --peers --repeat 1 2>&1 | tee "$OUT/bench-groups.txt"
