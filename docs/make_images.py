"""Make the README's pictures: `.venv/bin/python docs/make_images.py` (from the repository root).

Each picture is made by the command or code shown beside it in the README, repeated here.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import fastperceptron as fp

OUT = Path(__file__).parent / "images"
CLI = [sys.executable, "-m", "fastperceptron"]


def cli(line: str) -> None:
    print("$ fastperceptron", line, flush=True)
    subprocess.run(CLI + line.split(), check=True, cwd=Path(__file__).parents[1])


def main() -> None:
    OUT.mkdir(exist_ok=True)
    os.environ.setdefault("FASTPERCEPTRON_BACKEND", "auto")
    # the final loss of 10,000 seeds, and their weights, after 1,000 iterations
    cli("train --models 10000 --iterations 1000 --bias --out docs/images/seeds.npz --plot docs/images/loss.png "
        "--plot-kind loss")
    cli("plot docs/images/seeds.npz --kind weights --out docs/images/weights.png")
    # learning curves
    cli("train --models 10000 --iterations 5000 --record-every 25 --plot docs/images/curves.png")
    (OUT / "seeds.npz").unlink()

    # a learning-rate sweep: 25 rates x 40 seeds, each model stopping at tol
    X, y = fp.datasets.seed()
    rates = np.geomspace(0.01, 30, 25)
    sweep = fp.train(X, y, seeds=np.repeat(np.arange(40), 25), learning_rate=np.tile(rates, 40),
                     iterations=20_000, tol=1e-4)
    sweep.plot(path="docs/images/sweep.png")

    # one model per group: 2,000 groups of a long table, each to its optimum
    X, y, g = fp.datasets.groups(2000)
    groups = fp.train(X, y, groups=g, solver="newton", l2=1.0, bias=True)
    groups.plot(path="docs/images/groups.png")

    # partial pooling: the cross-validation of the shrinkage, per level (the README's example)
    X, y, region, store, held = fp.datasets.hierarchy(regions=6, stores=400)
    pooled = fp.train(X[~held], y[~held], groups=[region[~held], store[~held]], shrink="cv", bias=True)
    pooled.plot(kind="shrink", path="docs/images/shrink.png")

    # statistics: 1,000 stores' price effects, 100 real, with their intervals (the README's example)
    rng = np.random.default_rng(7)
    stores = np.repeat(np.arange(1_000), 300)
    price = rng.normal(size=stores.size)
    effect = np.where(np.arange(1_000) < 100, -0.6, 0.0)
    y = (rng.random(stores.size) < 1 / (1 + np.exp(-(0.2 + effect[stores] * price)))).astype(float)
    r = fp.train(price[:, None], y, groups=stores, solver="newton", bias=True, cov="HC1")
    r.plot("coef", term="x1", path="docs/images/coef.png")


if __name__ == "__main__":
    main()
