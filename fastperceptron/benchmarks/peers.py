"""Peer implementations for the benchmark: the same training in JAX and in PyTorch.

Installed with ``pip install 'fastperceptron[peers]'``; used by ``fastperceptron bench --peers``
and ``bench/``. Each trains the seed or logistic rule (no bias, shared or per-model data) the way
a user of that library would write it, and returns the wall-clock seconds of the timed run, after a
warm-up run that compiles (JAX) or warms the allocator (PyTorch).

- JAX: ``jax.jit(jax.vmap(one_model))`` over a ``lax.fori_loop`` of the iterations; for a shared
  table of more than 64 rows, all models' weights side by side, one (N, D) @ (D, B·K) product per
  pass, ``jit`` + ``fori_loop``.
- PyTorch: a batched ``matmul``/``bmm`` loop over (B, N, K) tensors, with ``torch.no_grad()``.

Each runs where its library puts work by default with a GPU present: JAX on its default device
(the GPU when jax has CUDA support), PyTorch on ``cuda`` when ``torch.cuda.is_available()``, else
the CPU; ``peer_device`` says which, and the benchmark prints it.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["PEERS", "available_peers", "peer_device", "run_peer"]

PEERS = ("jax", "torch")


def available_peers() -> dict[str, str]:
    """Peer name -> "" when importable, else why not."""
    import importlib.util

    return {
        name: "" if importlib.util.find_spec(name) else f"{name} is not installed: pip install 'fastperceptron[peers]'"
        for name in PEERS
    }


def peer_device(name: str) -> str:
    """Where peer ``name`` runs: "cpu", "gpu" (JAX) or "cuda" (PyTorch)."""
    if name == "jax":
        import jax

        return jax.default_backend()
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _delta(rule, y, O):
    return y - O if rule == "logistic" else (y - O) * (O * (1.0 - O))


def _jax(X, y, W0, iterations, dtype, threads, rule="seed", lr=1.0):
    import jax

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
        args = [jnp.asarray(a, dtype=dtype) for a in (W0.transpose(1, 0, 2).reshape(D, B * K), X, Ys)]
    else:
        axes = (0, None, None, None) if X.ndim == 2 else (0, 0, 0, None)
        fn = jax.jit(jax.vmap(one, in_axes=axes))
        args = [jnp.asarray(a, dtype=dtype) for a in (W0, X, y)]
    fn(*args, jnp.int32(1)).block_until_ready()  # compile
    start = time.perf_counter()
    fn(*args, jnp.int32(iterations)).block_until_ready()
    return time.perf_counter() - start


def _torch(X, y, W0, iterations, dtype, threads, rule="seed", lr=1.0):
    import torch

    if threads:
        torch.set_num_threads(threads)
    tdtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    device = peer_device("torch")
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


def run_peer(name, X, y, n_models, iterations, dtype="float64", threads=None, rule="seed", learning_rate=1.0) -> float:
    """Seconds for ``name`` ("jax" or "torch") to train ``n_models`` models on (X, y), no bias."""
    from ..init import uniform

    X = np.asarray(X, dtype=dtype)
    y = np.asarray(y, dtype=dtype)
    y = y.reshape(y.shape + (1,)) if y.ndim == X.ndim - 1 else y
    W0 = uniform(np.arange(n_models), X.shape[-1], y.shape[-1], dtype=dtype)
    return {"jax": _jax, "torch": _torch}[name](X, y, W0, iterations, dtype, threads, rule, learning_rate)
