"""Peer implementations for the benchmark: the same training in JAX and in PyTorch.

Installed with ``pip install 'fastperceptron[peers]'``; used by ``fastperceptron bench --peers``
and ``bench/``. Each trains the seed or logistic rule (no bias, shared or per-model data) the way
a user of that library would write it, and returns the wall-clock seconds of the timed run, after a
warm-up run that compiles (JAX) or warms the allocator (PyTorch).

- JAX: ``jax.jit(jax.vmap(one_model))`` over a ``lax.fori_loop`` of the iterations; for a shared
  table of more than 64 rows, all models' weights side by side, one (N, D) @ (D, B·K) product per
  pass, ``jit`` + ``fori_loop``.
- PyTorch: a batched ``matmul``/``bmm`` loop over (B, N, K) tensors, with ``torch.no_grad()``.

Each runs where it is asked to, never where its library happens to default: on the CPU, unless a GPU
benchmark is asked (``gpu=True``: the GPU backends are in the run), and then on the GPU — JAX on its
first GPU device, PyTorch on ``cuda`` — or not at all where its library sees no GPU
(:func:`gpu_missing` says why, and the benchmark prints it in one line). JAX is imported with
``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (unless set), since by default it takes 75 % of the GPU's
memory when it starts, memory that the GPU backends timed in the same process need.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

__all__ = ["PEERS", "available_peers", "gpu_missing", "import_jax", "peer_device", "run_peer",
           "wanted_peers", "usable_peers"]

PEERS = ("jax", "torch")


def available_peers() -> dict[str, str]:
    """Peer name -> "" when importable, else why not."""
    import importlib.util

    return {
        name: "" if importlib.util.find_spec(name) else f"{name} is not installed: pip install 'fastperceptron[peers]'"
        for name in PEERS
    }


def wanted_peers(peers, known=PEERS) -> list[str]:
    """The peers of ``known`` that ``peers`` asks for: all for True, none for False/None, else those named."""
    if peers is True:
        return list(known)
    return [name for name in known if peers and name in peers]


def usable_peers(wanted, gpu=False, out=sys.stdout) -> list[str]:
    """The peers of ``wanted`` that can run here, where the benchmark asks (the GPU when ``gpu``). Each
    other is left out with one line to ``out``: it is not installed, or it sees no GPU; then one line
    says where those that run do."""
    found, installed = [], available_peers()
    for name in wanted:
        if installed[name]:
            print(f"# {installed[name]}", file=out)
        elif gpu and gpu_missing(name):
            print(f"# {gpu_missing(name)}: skipped", file=out)
        else:
            found.append(name)
    if found:
        print("# peers run on: " + ", ".join(f"{p} {peer_device(p, gpu)}" for p in found), file=out)
    return found


def import_jax():
    """jax, imported with ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` unless the variable is set."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    return jax


def gpu_missing(name: str) -> str:
    """"" when peer ``name`` sees a GPU, else why not (one line)."""
    if name == "jax":
        jax = import_jax()
        try:
            jax.devices("gpu")
        except RuntimeError as exc:
            return f"jax sees no GPU ({str(exc).splitlines()[0] if str(exc) else 'no gpu backend'})"
        return ""
    import torch

    if torch.cuda.is_available():
        return ""
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    return f"torch sees no GPU (torch.cuda.is_available() is False; torch {torch.__version__}, {build})"


def peer_device(name: str, gpu: bool = False) -> str:
    """Where peer ``name`` runs: "cpu", else (``gpu``) "gpu" (JAX) or "cuda" (PyTorch)."""
    return ("gpu" if name == "jax" else "cuda") if gpu else "cpu"


def _jax_device(gpu: bool):
    jax = import_jax()
    return jax.devices("gpu" if gpu else "cpu")[0]


def _delta(rule, y, O):
    return y - O if rule == "logistic" else (y - O) * (O * (1.0 - O))


def _jax(X, y, W0, iterations, dtype, threads, rule="seed", lr=1.0, gpu=False):
    jax = import_jax()

    jax.config.update("jax_enable_x64", np.dtype(dtype) == np.float64)
    jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 on GPUs, as here
    import jax.numpy as jnp
    from jax import lax

    def one(W, Xb, yb, n):
        def step(_, W):
            O = 1.0 / (1.0 + jnp.exp(-(Xb @ W)))
            return W + lr * (Xb.T @ _delta(rule, yb, O))

        return lax.fori_loop(0, n, step, W)

    if X.ndim == 2 and X.shape[0] > 64:
        # A shared table, written as a JAX user would: every model's weights side by side as one
        # (D, B·K) matrix, one (N, D) @ (D, B·K) product per pass (vmap would do the same).
        B, D, K = W0.shape

        def side_by_side(W, Xs, Ys, n):
            def step(_, W):
                O = 1.0 / (1.0 + jnp.exp(-(Xs @ W)))
                return W + lr * (Xs.T @ _delta(rule, Ys, O))

            return lax.fori_loop(0, n, step, W)

        fn = jax.jit(side_by_side)
        Ys = np.tile(y, (1, B)) if y.ndim == 2 else y.transpose(1, 0, 2).reshape(y.shape[1], B * K)
        host = (W0.transpose(1, 0, 2).reshape(D, B * K), X, Ys)
    else:
        axes = (0, None, None, None) if X.ndim == 2 else (0, 0, 0, None)
        fn = jax.jit(jax.vmap(one, in_axes=axes))
        host = (W0, X, y)
    with jax.default_device(_jax_device(gpu)):
        args = [jnp.asarray(a, dtype=dtype) for a in host]
        fn(*args, jnp.int32(1)).block_until_ready()  # compile
        start = time.perf_counter()
        fn(*args, jnp.int32(iterations)).block_until_ready()
        return time.perf_counter() - start


def _torch(X, y, W0, iterations, dtype, threads, rule="seed", lr=1.0, gpu=False):
    import torch

    if threads:
        torch.set_num_threads(threads)
    tdtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    device = peer_device("torch", gpu)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # full float32, as the GPU backends here

    def run(n):
        W = torch.tensor(W0, dtype=tdtype, device=device)
        Xt = torch.tensor(X, dtype=tdtype, device=device)
        yt = torch.tensor(y, dtype=tdtype, device=device)
        XT = Xt.transpose(-1, -2)
        with torch.no_grad():
            for _ in range(n):
                O = torch.sigmoid(torch.matmul(Xt, W))
                W += lr * torch.matmul(XT, _delta(rule, yt, O))
        if device == "cuda":
            torch.cuda.synchronize()
        return W

    run(2)
    start = time.perf_counter()
    run(iterations)
    return time.perf_counter() - start


def run_peer(name, X, y, n_models, iterations, dtype="float64", threads=None, rule="seed", learning_rate=1.0,
             gpu=False) -> float:
    """Seconds for ``name`` ("jax" or "torch") to train ``n_models`` models on (X, y), no bias: on the CPU,
    or with ``gpu`` on the GPU (see :func:`gpu_missing` first)."""
    from ..init import uniform

    X = np.asarray(X, dtype=dtype)
    y = np.asarray(y, dtype=dtype)
    y = y.reshape(y.shape + (1,)) if y.ndim == X.ndim - 1 else y
    W0 = uniform(np.arange(n_models), X.shape[-1], y.shape[-1], dtype=dtype)
    return {"jax": _jax, "torch": _torch}[name](X, y, W0, iterations, dtype, threads, rule, learning_rate, gpu)
