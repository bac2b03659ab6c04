"""Your own table through the command line with its defaults (issue 31): held-out log-loss and wall time
against scikit-learn's StandardScaler + OneHotEncoder + LogisticRegression pipeline, on the customer
table of ``fp.datasets.customers`` (20,000 rows: raw income, age and flag, a text sign-up date and
segment, 20 regions, 500 stores, churn).

    .venv/bin/python bench/table_defaults.py [SEED ...]

Rows are split 70/30 within each store (seed 0 of the split); every fastperceptron figure is a
command as a user types it (``fastperceptron train ... --out m.npz`` then ``predict m.npz --data
test.csv --keep id --out p.csv``), its wall time including the process start. Prints one table per
seed, in the Markdown of bench/RESULTS.md.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fastperceptron as fp

FP = [sys.executable, "-m", "fastperceptron"]
RUNS = [  # (name, the flags after `train --data train.csv --target churned`)
    ("fewest flags (one global model)", "--drop id,signup_date,store --categorical segment,region"),
    ("--group-by store (defaults: pooled toward the global model, CV)",
     "--drop id,signup_date --categorical segment,region --group-by store"),
    ("--group-by store --shrink none (unpooled per-store fit)",
     "--drop id,signup_date --categorical segment,region --group-by store --shrink none"),
    ("--group-by region,store (defaults: partial pooling, CV)",
     "--drop id,signup_date --categorical segment --group-by region,store"),
]


def _split(table, seed=0):
    rng = np.random.default_rng(seed)
    store = table["store"]
    order = np.lexsort((rng.random(store.size), store))
    start = np.searchsorted(store[order], store[order], side="left")
    size = np.bincount(store)[store[order]]
    held = np.zeros(store.size, dtype=bool)
    held[order] = (np.arange(store.size) - start) >= np.ceil(0.7 * size)
    return {k: v[~held] for k, v in table.items()}, {k: v[held] for k, v in table.items()}


def _sklearn(train, test):
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = ["income", "age", "flag"]
    pipe = make_pipeline(ColumnTransformer([("num", StandardScaler(), numeric),
                                            ("cat", OneHotEncoder(handle_unknown="ignore"), ["segment", "region"])]),
                         LogisticRegression(C=1.0, max_iter=1000))
    start = time.perf_counter()
    pipe.fit(pd.DataFrame(train), train["churned"])
    seconds = time.perf_counter() - start
    p = pipe.predict_proba(pd.DataFrame(test))[:, 1]
    return fp.metrics.log_loss(test["churned"], p), fp.metrics.accuracy(test["churned"], p), seconds


def _run(folder: Path, flags: str, test):
    import pandas as pd

    start = time.perf_counter()
    train = subprocess.run(FP + ["train", "--data", str(folder / "train.csv"), "--target", "churned", *flags.split(),
                                 "--out", str(folder / "m.npz")], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if train.returncode:
        raise SystemExit(train.stderr)
    subprocess.run(FP + ["predict", str(folder / "m.npz"), "--data", str(folder / "test.csv"), "--keep", "id",
                         "--out", str(folder / "p.csv")], check=True, capture_output=True)
    got = pd.read_csv(folder / "p.csv")
    assert (got["id"].to_numpy() == test["id"]).all()  # the rows in their order
    p = got["churned_proba"].to_numpy()
    chosen = [line.split("shrink ")[1].split(" ")[0] for line in train.stdout.splitlines() if line.startswith("level")]
    return fp.metrics.log_loss(test["churned"], p), fp.metrics.accuracy(test["churned"], p), seconds, chosen


def main(seeds):
    for seed in seeds:
        table = fp.datasets.customers(seed=seed)
        train, test = _split(table)
        with tempfile.TemporaryDirectory() as d:
            folder = Path(d)
            fp.datasets.write_csv(folder / "train.csv", train)
            fp.datasets.write_csv(folder / "test.csv", test)
            ll, acc, sec = _sklearn(train, test)
            print(f"\nseed {seed}: {len(train['id']):,} training rows, {len(test['id']):,} held out\n")
            print("| run | held-out log-loss | accuracy | wall (s) | chosen shrink |\n| --- | ---: | ---: | ---: | --- |")
            print(f"| scikit-learn StandardScaler + OneHotEncoder + LogisticRegression(C=1) | {ll:.4f} | {acc:.4f} | "
                  f"{sec:.2f} (fit only) | |")
            for name, flags in RUNS:
                ll, acc, sec, chosen = _run(folder, flags, test)
                print(f"| `{flags}` — {name} | {ll:.4f} | {acc:.4f} | {sec:.2f} | {', '.join(chosen)} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0])
