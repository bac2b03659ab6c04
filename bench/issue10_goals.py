"""Issue 10's four goals side by side in one process: numpy, numba (auto's layout), JAX.

Run: .venv/bin/python bench/issue10_goals.py [A B C D]   (JAX: pip install 'fastperceptron[peers]')
A: shared X, N = 20,000, D = 50, B = 256, logistic, T = 50;  B: shared X, N = 2,000, D = 64, K = 10
(one-hot), B = 100, T = 200;  C: the seed problem, B = 10,000, T = 2,000;  D: per-model data,
B = 1,000, N = 200, D = 16, T = 200. Model-iterations/s, best of 3 after a warm-up; JAX written as
a user would (shared: weights side by side, one (N, D) @ (D, B) product per pass; else jit + vmap).
"""
import time, numpy as np, sys
import jax, jax.numpy as jnp
from jax import lax
jax.config.update("jax_enable_x64", True)
import fastperceptron as fp

def jax_shared(X, Y, W0, T, lr, rule):
    # all models side by side: W (D, B*K)
    N, D = X.shape; B, _, K = W0.shape
    Wm = jnp.asarray(W0.transpose(1,0,2).reshape(D, B*K))
    Yt = jnp.asarray(np.tile(Y, (1, B)))  # (N, B*K)
    Xj = jnp.asarray(X)
    @jax.jit
    def run(W, n):
        def step(_, W):
            O = jax.nn.sigmoid(Xj @ W)
            d = Yt - O if rule == "logistic" else (Yt - O) * O * (1 - O)
            return W + lr * (Xj.T @ d)
        return lax.fori_loop(0, n, step, W)
    run(Wm, 1).block_until_ready()
    best = 1e9
    for _ in range(3):
        t = time.perf_counter(); run(Wm, T).block_until_ready(); best = min(best, time.perf_counter() - t)
    return best

def jax_permodel(X, Y, W0, T, lr, rule):
    def one(W, Xb, yb, n):
        def step(_, W):
            O = 1.0 / (1.0 + jnp.exp(-(Xb @ W)))
            d = yb - O if rule == "logistic" else (yb - O) * (O * (1.0 - O))
            return W + lr * (Xb.T @ d)
        return lax.fori_loop(0, n, step, W)
    fn = jax.jit(jax.vmap(one, in_axes=(0, 0, 0, None)))
    args = [jnp.asarray(a) for a in (W0, X, Y)]
    fn(*args, 1).block_until_ready()
    best = 1e9
    for _ in range(3):
        t = time.perf_counter(); fn(*args, T).block_until_ready(); best = min(best, time.perf_counter() - t)
    return best

def fpt(X, Y, B, T, lr, rule, backend):
    kw = dict(models=B, learning_rate=lr, rule=rule, backend=backend, progress=False)
    fp.train(X, Y, iterations=1, **kw)
    return min(fp.train(X, Y, iterations=T, **kw).seconds for _ in range(3))

rng = np.random.default_rng(0)
which = sys.argv[1:] or ["A", "B", "C", "D"]
for case in which:
    if case == "A":
        N, D, K, B, T = 20000, 50, 1, 256, 50
        X = rng.standard_normal((N, D)); Y = (rng.random((N, 1)) < 0.5).astype(float); rule = "logistic"; lr = 1e-4
    elif case == "B":
        N, D, K, B, T = 2000, 64, 10, 100, 200
        X = rng.standard_normal((N, D)); Y = np.eye(10)[rng.integers(0, 10, N)]; rule = "logistic"; lr = 1e-3
    elif case == "C":
        X, Y = fp.datasets.seed(); Y = Y.reshape(-1, 1); B, T, rule, lr = 10000, 2000, "seed", 1.0; N, D = X.shape
    elif case == "D":
        B, N, D, T = 1000, 200, 16, 200
        X = rng.standard_normal((B, N, D)); w = rng.standard_normal((B, D, 1))
        Y = (rng.random((B, N, 1)) < 1 / (1 + np.exp(-X @ w))).astype(float); rule, lr = "seed", 1.0
    row = {}
    for be in ["numpy", "numba"]:
        row[be] = B * T / fpt(X, Y, B, T, lr, rule, be)
    W0 = fp.init.uniform(np.arange(B), X.shape[-1], Y.shape[-1])
    row["jax"] = B * T / (jax_shared(X, Y, W0, T, lr, rule) if X.ndim == 2 and case != "C" else jax_permodel(np.broadcast_to(X, (B,)+X.shape[-2:]) if X.ndim==2 else X, np.broadcast_to(Y, (B,)+Y.shape[-2:]) if Y.ndim==2 else Y, W0, T, lr, rule))
    layout = fp.explain(X, Y, models=B, rule=rule, learning_rate=lr).layout
    print(case, {k: f"{v:.3g}" for k, v in row.items()}, f"numba layout {layout}", "numba/jax %.2f" % (row["numba"]/row["jax"]), "numba/numpy %.2f" % (row["numba"]/row["numpy"]), flush=True)
