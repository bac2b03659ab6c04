"""Issue 27's table: gradient steps on a raw table from the command line, as a new user runs them.

A 5,000-row training table of raw columns (income, age, a 0/1 flag, a balance; target y from a
logistic truth on the standardised columns) and 1,000 held-out rows, written as CSV; each command is
run through the CLI, its models predict the held-out rows (the ensemble's mean), and the table gives
the wall time, the median final loss (mean squared error; a constant scores about 0.25), the held-out
accuracy and what was said on stderr.

    .venv/bin/python bench/issue27_table.py [--models 100]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fastperceptron as fp


def write_tables(folder: Path, seed: int = 27) -> None:
    rng = np.random.default_rng(seed)
    n = 6000
    X = np.column_stack([rng.lognormal(np.log(50_000), 0.5, n), rng.uniform(20, 80, n),
                         (rng.random(n) < 0.3).astype(float), rng.normal(2e5, 5e4, n)])
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (rng.random(n) < 1 / (1 + np.exp(-(Z @ np.array([0.8, -0.5, 0.7, 0.5]))))).astype(int)
    for name, rows in (("train.csv", slice(0, 5000)), ("test.csv", slice(5000, None))):
        np.savetxt(folder / name, np.column_stack([X[rows], y[rows]]), delimiter=",", fmt="%.10g",
                   header="income,age,flag,balance,y", comments="")


def run(folder: Path, extra: list[str]) -> dict:
    model = folder / "m.npz"
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "fastperceptron", "train", "--data", str(folder / "train.csv"),
                        "--target", "y", "--out", str(model), "--no-progress", *extra],
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(p.stderr)
    r = fp.load(model)
    test = np.loadtxt(folder / "test.csv", delimiter=",", skiprows=1)
    proba = r.predict_proba(test[:, :-1]).mean(axis=0)[:, 0]
    loss = [line.split() for line in p.stdout.splitlines() if line.startswith("loss")][0]
    said = " ".join(line.removeprefix("fastperceptron: ")[:90] + "…" for line in p.stderr.splitlines()) or "nothing"
    note = [line[17:] for line in p.stdout.splitlines() if line.startswith("note")]
    return {"seconds": seconds, "median loss": float(loss[4]), "min": float(loss[2]), "max": float(loss[6]),
            "accuracy": float(((proba > 0.5) == test[:, -1]).mean()), "models": r.n_models,
            "said": said + (f" (note: {note[0][:60]}…)" if note else "")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100)
    args = parser.parse_args()
    commands = [
        [],
        ["--models", str(args.models)],
        ["--models", str(args.models), "--rule", "logistic", "--bias"],
        ["--models", str(args.models), "--rule", "logistic", "--bias", "--standardize"],
        ["--rule", "logistic", "--bias", "--standardize"],
        ["--solver", "newton", "--l2", "1", "--bias"],
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_tables(folder)
        print("| command (`fastperceptron train --data raw.csv --target y` + ) | models | time | final loss (median; "
              "min–max) | held-out accuracy | said |")
        print("| --- | ---: | ---: | --- | ---: | --- |")
        for extra in commands:
            out = run(folder, extra)
            print(f"| `{' '.join(extra) or '(nothing)'}` | {out['models']} | {out['seconds']:.1f} s | "
                  f"{out['median loss']:.3f} ({out['min']:.3f}–{out['max']:.3f}) | {out['accuracy']:.3f} | "
                  f"{out['said']} |", flush=True)


if __name__ == "__main__":
    main()
