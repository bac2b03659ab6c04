"""An independent reference: one model at a time, written plainly from SPEC §2 (README, "The maths").

Deliberately shares no code with fastperceptron: its own sigmoid, its own loop, no batching.
"""

import numpy as np

SEED_X = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=np.float64)
SEED_Y = np.array([0, 1, 1, 0], dtype=np.float64)


def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def train_one(X, Y, W0, *, iterations, lr=1.0, rule="seed", bias=False, s=None, tol=None, l2=0.0):
    """Train one model: X (N, D), Y (N, K), W0 (D, K). Returns (W, c, iterations run)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    W = np.array(W0, dtype=np.float64)
    c = np.zeros(Y.shape[1])
    done = 0
    for _ in range(iterations):
        O = sigmoid(X @ W + c)
        delta = (Y - O) * O * (1 - O) if rule == "seed" else (Y - O)
        if s is not None:
            delta = delta * np.asarray(s, dtype=np.float64)[:, None]
        dW = lr * (X.T @ delta - l2 * W)
        dc = lr * delta.sum(axis=0) if bias else np.zeros_like(c)
        W += dW
        c += dc
        done += 1
        if tol is not None and max(np.abs(dW).max(), np.abs(dc).max()) < tol:
            break
    return W, c, done


def loss_one(X, Y, W, c, s=None):
    """Weighted mean over samples and outputs of (Y - σ(X·W + c))²."""
    Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    E = (Y - sigmoid(np.asarray(X) @ W + c)) ** 2
    w = np.ones(len(X)) if s is None else np.asarray(s, dtype=np.float64)
    return float((E * w[:, None]).sum() / (w.sum() * Y.shape[1]))


def optimum_one(X, y, *, l2=0.0, s=None, bias=True, iterations=200):
    """The minimiser of SPEC §7's L for one output: y (N,). Plain Newton with np.linalg.solve and
    step halving, run until the step stops changing the parameters. Returns (w, c)."""
    X = np.asarray(X, dtype=np.float64)
    Xt = np.hstack([X, np.ones((len(X), 1))]) if bias else X
    theta = _newton(Xt, y, s, np.r_[np.full(X.shape[1], l2), [0.0] * bias], iterations)
    return (theta[:-1], theta[-1]) if bias else (theta, 0.0)


def _newton(Xt, y, s, pen, iterations=200, anchor=None):
    """θ minimising Σ s·(softplus(x̃·θ) − y·x̃·θ) + ½·Σ pen·(θ − anchor)², by plain Newton with step
    halving from the anchor (default 0)."""
    s = np.ones(len(Xt)) if s is None else np.asarray(s, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    a = np.zeros(Xt.shape[1]) if anchor is None else np.asarray(anchor, dtype=np.float64)

    def loss(theta):
        z = Xt @ theta
        return float((s * (np.logaddexp(0, z) - y * z)).sum() + 0.5 * (pen * (theta - a) ** 2).sum())

    theta = a.copy()
    for _ in range(iterations):
        o = sigmoid(Xt @ theta)
        grad = Xt.T @ (s * (o - y)) + pen * (theta - a)
        hess = (Xt * (s * o * (1 - o))[:, None]).T @ Xt + np.diag(pen)
        step = np.linalg.solve(hess, grad)
        t, before = 1.0, loss(theta)
        while loss(theta - t * step) > before and t > 1e-12:
            t /= 2
        theta = theta - t * step
        if np.abs(t * step).max() <= 1e-15 * (1 + np.abs(theta).max()):
            break
    return theta


def penalised_loss(X, y, w, c, *, l2=0.0, s=None):
    """SPEC §7's L(w, c) for one output, on the user's columns."""
    X = np.asarray(X, dtype=np.float64)
    s = np.ones(len(X)) if s is None else np.asarray(s, dtype=np.float64)
    z = X @ np.asarray(w, dtype=np.float64) + c
    return float((s * (np.logaddexp(0, z) - np.asarray(y) * z)).sum() + 0.5 * l2 * np.dot(w, w))


def optimum_raw(X, y, *, l2=0.0, s=None, bias=True):
    """The minimiser of SPEC §7's L on raw columns of any scale: the Newton of :func:`optimum_one` run
    on columns centred and scaled by their plain mean and standard deviation (the penalty mapped to
    ½·Σ_j l2·v_j²/σ_j²), then mapped back to the user's columns. Returns (w, c)."""
    X = np.asarray(X, dtype=np.float64)
    mu = X.mean(axis=0) if bias else np.zeros(X.shape[1])
    sd = X.std(axis=0) if bias else np.sqrt((X * X).mean(axis=0))
    sd = np.where(sd > 0, sd, 1.0)
    Z = (X - mu) / sd
    Zt = np.hstack([Z, np.ones((len(X), 1))]) if bias else Z
    theta = _newton(Zt, y, s, np.r_[l2 / sd ** 2, [0.0] * bias])
    w = theta[:X.shape[1]] / sd
    return w, ((theta[-1] - mu @ w) if bias else 0.0)


def pooled_one(X, y, anchor, rho, *, s=None, bias=True, iterations=200):
    """SPEC §8: θ = (w, c) minimising Σ s·(softplus(x̃·θ) − y·x̃·θ) + ½·ρ·‖θ − anchor‖² for one output
    (the bias shrunk too), by the plain Newton of :func:`_newton` from the anchor. Returns θ (P,)."""
    X = np.asarray(X, dtype=np.float64)
    Xt = np.hstack([X, np.ones((len(X), 1))]) if bias else X
    return _newton(Xt, y, s, np.full(Xt.shape[1], float(rho)), iterations, anchor=anchor)
