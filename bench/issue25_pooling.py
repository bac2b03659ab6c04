"""Issue 25's goals: partial pooling over a hierarchy against the global model, one model per group
and scikit-lego's HierarchicalClassifier; its speed; 10⁵ groups from Parquet through the CLI.

Run: .venv/bin/python bench/issue25_pooling.py table [SEED]   (scikit-lego's row needs pip install scikit-lego,
     part of the [peers] extra)
     .venv/bin/python bench/issue25_pooling.py cli [GROUPS]  (default 100,000 stores in 1,000 regions)

table: a long table from a hierarchical truth, ``fp.datasets.hierarchy(seed=SEED)`` — 12 regions,
2,500 stores (each in one region) with log-normal sizes (median 8 rows, 34,380 rows in all at seed
0), D = 4 standard normal features; each store's θ = θ_global + δ_region + δ_store, δ ~ N(0, 0.6²)
per region and N(0, 0.5²) per store (the bias included); y ~ Bernoulli(σ(x·w + c)). Each store's
rows are split 70/30 (train/held out; a store of one row is only trained on). The score is the held-out mean log-loss (probabilities clipped to
[1e-15, 1 − 1e-15], as scikit-learn's log_loss). scikit-lego's LogisticRegression refuses a store
whose training rows are of one class; such a store gets the smoothed constant (Σy + ½)/(n + 1)
instead (LogisticOrConstant below). Times are each fit's wall clock, after a warm-up
that compiles the kernels.

cli: GROUPS stores of about 10 rows (log-normal, median 7) in GROUPS/100 regions, D = 4, written
as Parquet; then ``fastperceptron train --data F --group-by region,store --shrink cv --bias`` in a
subprocess, its wall time and peak memory (ru_maxrss of the child).
"""
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import fastperceptron as fp

D = 4
warnings.simplefilter("ignore", fp.ConvergenceWarning)


def truth(seed=0):
    return fp.datasets.hierarchy(seed=seed)


def log_loss(y, p):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def table(seed=0):
    X, y, region, store, held = truth(seed)
    tr, te = ~held, held
    print(f"{y.size:,} rows ({tr.sum():,} train, {te.sum():,} held out), {np.unique(region).size} regions, "
          f"{np.unique(store).size:,} stores, median {np.median(np.bincount(store)):.0f} rows per store, D = {D}")
    fit = dict(solver="newton", bias=True, progress=False)
    fp.train(X[:2000], y[:2000], groups=[region[:2000], store[:2000]], shrink=1.0, **fit)  # compile/load kernels
    rows = []

    def timed(f):
        t = time.perf_counter()
        out = f()
        return out, time.perf_counter() - t

    g, s = timed(lambda: fp.train(X[tr], y[tr], l2=1.0, **fit))
    rows.append(("one global model (`fp.train`, Newton, l2 = 1)", log_loss(y[te], g.predict_proba(X[te])[0, :, 0]), s))
    per, s = timed(lambda: fp.train(X[tr], y[tr], groups=store[tr], l2=1.0, **fit))
    rows.append(("one model per store (`groups=store`, Newton, l2 = 1)",
                 log_loss(y[te], per.predict_proba(X[te], groups=store[te])[:, 0]), s))
    try:
        from sklearn.linear_model import LogisticRegression
        from sklego.meta import HierarchicalClassifier
    except ImportError:
        print("(scikit-lego not installed: pip install scikit-lego for its row)")
    else:
        class LogisticOrConstant(LogisticRegression):
            """LogisticRegression, or on a group whose rows are of one class (which it refuses) the
            constant probability of that class, smoothed as fastperceptron's one-class bias is:
            (Σy + ½) / (n + 1)."""

            def fit(self, X, y):
                y = np.asarray(y)
                if np.unique(y).size > 1:
                    self.constant_ = None
                    return super().fit(X, y)
                self.classes_, self.constant_ = np.array([0, 1]), (y.sum() + 0.5) / (y.size + 1)
                self.n_features_in_ = X.shape[1]
                return self

            def predict_proba(self, X):
                if self.constant_ is None:
                    return super().predict_proba(X)
                return np.tile([1 - self.constant_, self.constant_], (len(X), 1))

        Xg = np.column_stack([region, store, X])
        h = HierarchicalClassifier(LogisticOrConstant(), groups=[0, 1], shrinkage="relative")
        _, s = timed(lambda: h.fit(Xg[tr], y[tr].astype(int)))  # scikit-lego indexes by the class labels
        rows.append(("scikit-lego `HierarchicalClassifier(LogisticRegression(), groups=[region, store], "
                     "shrinkage=\"relative\")`", log_loss(y[te], h.predict_proba(Xg[te])[:, 1]), s))
    pooled, s = timed(lambda: fp.train(X[tr], y[tr], groups=[region[tr], store[tr]], shrink="cv", **fit))
    rows.append((f"`fp.train(..., groups=[region, store], shrink=\"cv\")` (chose ρ = "
                 f"{', '.join(f'{v:.3g}' for v in pooled.params['shrink'])})",
                 log_loss(y[te], pooled.predict_proba(X[te], groups=[region[te], store[te]])[:, 0]), s))
    best = min((timed(lambda: fp.train(X[tr], y[tr], groups=[region[tr], store[tr]],
                                       shrink=pooled.params["shrink"], **fit)) for _ in range(3)), key=lambda t: t[1])
    one, s = best
    rows.append(("the same with those ρ given (`shrink=[...]`; best of 3)",
                 log_loss(y[te], one.predict_proba(X[te], groups=[region[te], store[te]])[:, 0]), s))
    print("| model | held-out log-loss | fit |\n| --- | ---: | ---: |")
    for name, loss, s in rows:
        print(f"| {name} | {loss:.3f} | {s:.3f} s |")
    return pooled


def cli(groups=100_000):
    import pandas as pd

    rng = np.random.default_rng(1)
    regions = max(1, groups // 100)
    sizes = np.maximum(1, np.round(7 * np.exp(0.8 * rng.normal(size=groups)))).astype(int)
    region_of = rng.integers(0, regions, groups)
    store = np.repeat(np.arange(groups), sizes)
    X = rng.normal(size=(store.size, D))
    theta = rng.normal(size=D + 1) + 0.6 * rng.normal(size=(regions, D + 1))[region_of[store]] + 0.5 * rng.normal(
        size=(groups, D + 1))[store]
    z = (X * theta[:, :D]).sum(axis=1) + theta[:, D]
    y = (rng.random(store.size) < 1 / (1 + np.exp(-z))).astype(int)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stores.parquet"
        frame = pd.DataFrame({"region": [f"region-{v}" for v in region_of[store]], "store": store,
                              **{f"x{d}": X[:, d] for d in range(D)}, "sold": y})
        frame.to_parquet(path)
        print(f"{store.size:,} rows, {groups:,} stores in {regions:,} regions, Parquet {path.stat().st_size / 1e6:.1f} MB")
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "fastperceptron", "train", "--data", str(path), "--group-by",
                            "region,store", "--target", "sold", "--bias", "--shrink", "cv", "--out",
                            str(Path(tmp) / "m.npz")], capture_output=True, text=True)
        wall = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
        print(p.stdout + p.stderr)
        print(f"exit {p.returncode}; wall {wall:.1f} s; peak memory {peak:.2f} GB")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "table"
    if what == "table":
        table(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    else:
        cli(int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
