"""``fastperceptron bench --case groups``: one model per group of a long table, against its peers.

The case (issue 11): G groups with log-normal sizes (median ``median`` rows, shape ``sigma``),
D features, rule logistic with a bias, T iterations, float64. Timed side by side in one process:

- fastperceptron with ``groups=`` on every available CPU backend (and the GPU ones when usable);
- the padded way it replaces: (G, N_max, D) with 0/1 masks on the numba backend (when it fits in
  ``pad_limit`` bytes);
- JAX on the long table: ``jax.ops.segment_sum`` over rows sorted by group (no padding), ``jit`` +
  ``fori_loop`` (``pip install 'fastperceptron[peers]'``), on the CPU, or on the GPU when a GPU
  backend is timed (left out, with a line, where JAX sees no GPU);
- scikit-learn ``LogisticRegression`` fitted in a loop over the groups (lbfgs to convergence: a
  different amount of work, shown as the way users do it today; ``peers=["jax"]`` leaves it out).

Each backend runs once untimed first (compilation, device context), then ``repeat`` timed runs; JAX
compiles before each timed run.

Throughput is in row-iterations per second (rows of all groups × iterations / seconds).
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["group_case", "run_groups"]


def group_case(groups=2000, median=47, sigma=1.2, features=8, seed=0):
    """(X, y, g): rows of ``groups`` groups with log-normal sizes (at least 1 row), shuffled
    (:func:`fastperceptron.datasets.groups`)."""
    from ..datasets import groups as table

    return table(groups, median, sigma, features, seed)


def _jax_groups(X, y, g, iterations, lr, gpu=False):
    from .peers import import_jax

    jax = import_jax()
    jax.config.update("jax_enable_x64", True)
    with jax.default_device(jax.devices("gpu" if gpu else "cpu")[0]):
        return _jax_groups_run(jax, X, y, g, iterations, lr)


def _jax_groups_run(jax, X, y, g, iterations, lr):
    import jax.numpy as jnp

    order = np.argsort(g, kind="stable")
    Xs, ys, gs = jnp.asarray(X[order]), jnp.asarray(y[order]), jnp.asarray(g[order])
    G = int(g.max()) + 1

    def step(_, state):
        W, c = state
        z = jnp.sum(Xs * W[gs], axis=1) + c[gs]
        d = ys - 1.0 / (1.0 + jnp.exp(-z))
        dW = jax.ops.segment_sum(Xs * d[:, None], gs, num_segments=G, indices_are_sorted=True)
        dc = jax.ops.segment_sum(d, gs, num_segments=G, indices_are_sorted=True)
        return W + lr * dW, c + lr * dc

    run = jax.jit(lambda W, c: jax.lax.fori_loop(0, iterations, step, (W, c)))
    W0, c0 = jnp.zeros((G, X.shape[1])), jnp.zeros(G)
    jax.block_until_ready(run(W0, c0))  # compile
    t = time.perf_counter()
    jax.block_until_ready(run(W0, c0))
    return time.perf_counter() - t


def _padded(X, y, g, iterations, lr, backend):
    import fastperceptron as fp

    G = int(g.max()) + 1
    sizes = np.bincount(g, minlength=G)
    order = np.argsort(g, kind="stable")
    pos = np.arange(g.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    Xp = np.zeros((G, sizes.max(), X.shape[1]))
    yp = np.zeros((G, sizes.max()))
    mask = np.zeros((G, sizes.max()))
    Xp[g[order], pos] = X[order]
    yp[g[order], pos] = y[order]
    mask[g[order], pos] = 1.0
    r = fp.train(Xp, yp, sample_weight=mask, iterations=iterations, rule="logistic", bias=True, learning_rate=lr,
                 backend=backend, progress=False)
    return r.seconds - r.setup_seconds


def _sklearn_loop(X, y, g):
    from sklearn.linear_model import LogisticRegression

    order = np.argsort(g, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(g))])
    Xs, ys = X[order], y[order]
    t = time.perf_counter()
    for a, b in zip(bounds[:-1], bounds[1:]):
        if 0 < ys[a:b].sum() < b - a:  # scikit-learn needs both classes in a group
            LogisticRegression().fit(Xs[a:b], ys[a:b])
    return time.perf_counter() - t


def run_groups(groups=2000, median=47, sigma=1.2, features=8, iterations=200, lr=0.01, backends=None, repeat=3,
               peers=True, pad_limit=2 << 30, out=sys.stdout):
    """Time the case on every backend and peer; print a table; return its rows (dicts)."""
    import fastperceptron as fp

    from .sweep import GPU_BACKENDS, describe

    X, y, g = group_case(groups, median, sigma, features)
    rows_total = g.size
    sizes = np.bincount(g)
    print(f"# groups case: G = {groups:,}, {rows_total:,} rows (per group: median {np.median(sizes):.0f}, "
          f"max {sizes.max():,}), D = {features}, logistic + bias, T = {iterations}, float64", file=out)
    names = backends or [n for n, i in fp.backends().items() if i.available]
    print(f"# {describe(names)}", file=out)
    print(f"{'way':<32} {'seconds':>9} {'row-it/s':>10}", file=out)
    results = []

    def emit(name, seconds, note=""):
        rate = rows_total * iterations / seconds
        results.append({"way": name, "seconds": seconds, "row_its": rate, "note": note})
        print(f"{name:<32} {seconds:>9.3f} {rate:>10.3g}  {note}", file=out, flush=True)

    kw = dict(groups=g, rule="logistic", bias=True, learning_rate=lr, progress=False)
    for name in names:
        fp.train(X, y, iterations=1, backend=name, **kw)  # warm-up: compilation, device context
        best = min((lambda r: r.seconds - r.setup_seconds)(fp.train(X, y, iterations=iterations, backend=name, **kw))
                   for _ in range(repeat))
        emit(f"fastperceptron groups ({name})", best)
    padded_bytes = groups * sizes.max() * (features + 8) * 8
    if "numba" in names and padded_bytes <= pad_limit:
        emit("padded + masks (numba)", _padded(X, y, g, iterations, lr, "numba"),
             f"{rows_total / (groups * sizes.max()):.1%} of the work is real rows")
    elif "numba" in names:
        print(f"# padded run skipped: (G, N_max, D) would take {padded_bytes / 2**30:.1f} GiB", file=out)
    _peers(peers, any(n in GPU_BACKENDS for n in names), (X, y, g, iterations, lr), repeat, emit, out)
    return results


def _peers(peers, gpu, case, repeat, emit, out):
    """The peers of the groups case that ``peers`` asks for (True: JAX and scikit-learn; or their names,
    "jax" and "sklearn"), each where it can run (JAX on the GPU when ``gpu``), else one line why not."""
    from .peers import usable_peers, wanted_peers

    X, y, g, iterations, lr = case
    if usable_peers(wanted_peers(peers, ("jax",)), gpu, out):
        emit("JAX segment_sum (sorted rows)", min(_jax_groups(X, y, g, iterations, lr, gpu) for _ in range(repeat)))
    if wanted_peers(peers, ("sklearn",)):
        try:
            emit("scikit-learn loop (lbfgs)", _sklearn_loop(X, y, g), "converged fits: other work")
        except ImportError:
            print("# scikit-learn is not installed: pip install 'fastperceptron[sklearn]'", file=out)
