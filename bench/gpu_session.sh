#!/usr/bin/env bash
# The GPU session (issue 36; issue 4 asked for it): one call, about 5½ minutes on a cold H100 (estimated),
#   bash bench/gpu_session.sh            (QUICK=1: small sizes, to try the script itself anywhere)
# Stages, each under `timeout` with its budget, the benchmarks first (what only a GPU can give):
#   install        only when this checkout does not import yet: pip with the machine's setuptools,
#                  else the checkout itself on PYTHONPATH (fastperceptron.kernels mapped to kernels/)
#   preflight      the machine, `fastperceptron info`; with a GPU, cuda and cupy must be usable, or the
#                  script stops here with each backend's reason (exit 1)
#   bench-seed     the seed sweep, float64 and float32, every usable backend, JAX/PyTorch on the GPU
#   bench-per-model   one (200, 16) table per model, both dtypes, the same peers
#   bench-groups   one model per group, JAX segment_sum (no scikit-learn loop: other work, minutes)
#   parity         cuda and cupy against numpy on the three cases (bench/gpu_checks.py parity)
#   gpu-tests      pytest -m gpu -rs: fails when any GPU-marked test is skipped on a GPU
#   registers      the cuda kernel's variants by D·K: compile time, registers, spills, rate
# Without a GPU (nvidia-smi lists none) it says "no GPU" once, skips the GPU stages and runs the rest.
# Every stage writes its file under $OUT (default bench/out) as it goes, and summary.txt logs each
# stage's start, end, exit status and seconds, so a cut run still returns what it measured; seven
# files in all (registers writes into parity.txt). The exit status is 0 only when every stage passed.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-python3}
case $PY in */*) PY=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY") ;; esac  # absolute: stages change folder
QUICK=${QUICK:-0}
TOTAL=${TOTAL:-540}  # seconds for the whole script: each stage's budget is cut to what is left
STAGES=${STAGES:-}   # e.g. STAGES="gpu-tests registers": only those (and install, preflight), to rerun a cut one
GPU_TESTS=${GPU_TESTS:-tests}  # what gpu-tests gives pytest (after -m gpu), e.g. GPU_TESTS=tests/test_seed.py
export PYTHONUNBUFFERED=1 OUT PY QUICK ROOT
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
START=$(date +%s)
FAILED=0

log() { echo "$*" | tee -a "$SUMMARY"; }

# stage NAME SECONDS FILE CMD...: CMD under `timeout` (its budget, cut to what is left of TOTAL), its
# output into $OUT/FILE and the terminal; start, end, rc and wall seconds into summary.txt.
stage() {
    local name=$1 budget=$2 file=$3 t0 rc wall left
    shift 3
    if [ -n "$STAGES" ] && [ "$name" != preflight ] && [[ " $STAGES " != *" $name "* ]]; then
        log "== $name: not run (STAGES=\"$STAGES\")"
        return 0
    fi
    left=$((TOTAL - ($(date +%s) - START)))
    if [ "$left" -lt 10 ]; then
        log "== $name: not started, $left s left of the script's $TOTAL s"
        FAILED=1
        return 1
    fi
    [ "$budget" -gt "$left" ] && budget=$left
    t0=$(date +%s)
    log "== $name: started $(date +%T), budget $budget s"
    echo "== $name ($(date +%T))" >>"$OUT/$file"
    timeout -k 10 "$budget" "$@" 2>&1 | tee -a "$OUT/$file"
    rc=${PIPESTATUS[0]}
    wall=$(($(date +%s) - t0))
    log "== $name: ended $(date +%T), rc=$rc, $wall s of $budget s$( { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && echo ', STOPPED at its budget')"
    [ "$rc" = 0 ] || FAILED=1
    return "$rc"
}

skip() { log "== $1: skipped, no GPU"; }  # a GPU stage, on a machine without one

# --- install: only when the checkout does not import (with its kernels) from elsewhere ------------
imports() {  # the checkout's fastperceptron, kernels included, from outside the checkout
    (cd / && "$PY" -c 'import os, sys, fastperceptron as fp, fastperceptron.kernels as k
sys.exit(0 if fp.__file__.startswith(os.environ["ROOT"] + "/") and k.cuda_source("perceptron.cu") else 1)') 2>/dev/null
}

use_checkout() {  # the checkout on PYTHONPATH, and a finder for fastperceptron.kernels -> kernels/
    local site
    site=$(mktemp -d)
    sed "s|@ROOT@|$ROOT|" >"$site/sitecustomize.py" <<'EOF'
# Written by bench/gpu_session.sh where fastperceptron could not be installed: the package-dir of
# pyproject.toml (fastperceptron.kernels is the folder kernels/), as an editable install maps it.
import importlib.machinery, importlib.util, os, sys


class _Kernels:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "fastperceptron.kernels":
            return None
        folder = os.path.join("@ROOT@", "kernels")
        return importlib.util.spec_from_file_location(name, os.path.join(folder, "__init__.py"),
                                                      submodule_search_locations=[folder])


sys.meta_path.insert(0, _Kernels)
_here = os.path.dirname(os.path.abspath(__file__))
_other = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here])
if _other is not None:  # the machine's own sitecustomize, which this one stands in front of
    _module = importlib.util.module_from_spec(_other)
    _other.loader.exec_module(_module)
EOF
    export PYTHONPATH="$site:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
}

if imports; then
    log "== install: skipped, this checkout imports already ($("$PY" --version 2>&1))"
elif [ "${NO_INSTALL:-0}" != 1 ] && stage install 120 preflight.txt \
        "$PY" -m pip install --no-build-isolation --no-deps -e . && imports; then
    log "install: done (pip, editable)"
else
    use_checkout
    if imports; then
        FAILED=0  # the checkout stands in for the install
        log "install: the checkout on PYTHONPATH instead ($PYTHONPATH)"
    else
        log "FAILED: fastperceptron imports neither installed nor from the checkout"
        exit 1
    fi
fi

# --- preflight: the machine, info, and with a GPU, usable GPU backends -------------------------------
GPU_NAME=""
if nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then HAVE_GPU=1; else HAVE_GPU=0; fi
if [ "$HAVE_GPU" = 1 ]; then
    GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
    log "GPU: $GPU_NAME ($(nvidia-smi -L | grep -c '^GPU ') listed by nvidia-smi)"
else
    log "no GPU: nvidia-smi lists none; the GPU stages are skipped and the benchmarks time the CPU backends"
fi
export HAVE_GPU GPU_NAME
preflight() {
    echo "GPU: ${GPU_NAME:-none}"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
    else
        echo "nvidia-smi: not on this machine"
    fi
    lscpu 2>/dev/null | grep -E '^(Model name|CPU\(s\)|Thread|Core)' || true
    "$PY" --version
    "$PY" -m fastperceptron info || return
    if [ "$HAVE_GPU" = 1 ]; then "$PY" bench/gpu_checks.py preflight; fi
}
export -f preflight
if ! stage preflight 90 preflight.txt bash -c preflight && [ "$HAVE_GPU" = 1 ]; then
    log "FAILED: preflight, on a machine with a GPU: the GPU backends must be usable (preflight.txt says why)"
    exit 1
fi

# --- the benchmarks -------------------------------------------------------------------------------
if [ "$QUICK" = 1 ]; then seed_models="1000 10000"; seed_T=200; pm_models="100 1000"; pm_T=20; groups=200
else seed_models="1000 10000 100000 1000000"; seed_T=2000; pm_models="1000 10000 100000"; pm_T=200; groups=20000; fi
BACKENDS=${BACKENDS:-$("$PY" -c 'import fastperceptron as fp
print(" ".join(n for n in ("cuda", "cupy", "numba") if fp.backends()[n].available) or "numpy")')}
# The peers (JAX, PyTorch) run on the GPU only: each says in one line when its library sees none.
if [ "$HAVE_GPU" = 1 ]; then PEERS="jax torch"; else PEERS=""; fi
export seed_models seed_T pm_models pm_T groups BACKENDS PEERS
sweep() {  # sweep CASE MODELS T: both dtypes
    local dtype rc=0
    [ -n "$PEERS" ] || echo "# peers: not run, no GPU (this script times JAX and PyTorch on the GPU only)"
    for dtype in float64 float32; do
        # shellcheck disable=SC2086 # the lists are words
        "$PY" -m fastperceptron bench --case "$1" --models $2 --iterations "$3" --dtype $dtype \
            --backends $BACKENDS ${PEERS:+--peers $PEERS} --repeat 1 || rc=$?
    done
    return $rc
}
groups_case() {
    [ -n "$PEERS" ] || echo "# peers: not run, no GPU (this script times JAX on the GPU only)"
    # shellcheck disable=SC2086
    "$PY" -m fastperceptron bench --case groups --groups "$groups" --backends $BACKENDS ${PEERS:+--peers jax} \
        --repeat 1
}
export -f sweep groups_case
stage bench-seed 90 bench-seed.txt bash -c 'sweep seed "$seed_models" "$seed_T"'
stage bench-per-model 120 bench-per-model.txt bash -c 'sweep per-model "$pm_models" "$pm_T"'
stage bench-groups 45 bench-groups.txt bash -c groups_case

# --- on the GPU: parity, the GPU-marked tests, the kernel's registers ----------------------------
Q=$([ "$QUICK" = 1 ] && echo --quick)
if [ "$HAVE_GPU" = 1 ]; then
    stage parity 45 parity.txt "$PY" bench/gpu_checks.py parity $Q
    workers=$("$PY" -c 'import xdist' 2>/dev/null && echo "-n 8 --dist loadfile")
    # bench/gpu_required.py: a gpu-marked test that skips here fails (an ERROR or FAILED line, its reason)
    # shellcheck disable=SC2086
    PYTHONPATH="$ROOT/bench${PYTHONPATH:+:$PYTHONPATH}" stage gpu-tests 150 pytest-gpu.txt "$PY" -m pytest \
        -p gpu_required -m gpu -rfEs -q -p no:cacheprovider $workers --durations=10 $GPU_TESTS
    skipped=$(grep -c 'a gpu-marked test skipped' "$OUT/pytest-gpu.txt" 2>/dev/null)
    [ "${skipped:-0}" -gt 0 ] && log "FAILED: $skipped GPU-marked test(s) skipped on a machine with a GPU (pytest-gpu.txt)"
    stage registers 60 parity.txt "$PY" bench/gpu_checks.py registers $Q
else
    skip parity
    skip gpu-tests
    skip registers
fi

log "== done in $(($(date +%s) - START)) s: $([ "$FAILED" = 0 ] && echo 'every stage passed' || echo 'FAILED (see above)')"
exit "$FAILED"
