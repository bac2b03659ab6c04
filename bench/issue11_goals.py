"""Issue 11's goals, side by side: the groups case and one 10x larger, then a table of 10^5 groups
and 10^7 rows (D = 16) trained from a Parquet file through the command line.

    .venv/bin/python bench/issue11_goals.py [--skip-large]

Writes the Parquet file to a temporary folder; the CLI run is timed with its peak memory (the
maximum resident set size of the child process, from ``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fastperceptron.benchmarks.groups import run_groups


def large_table(path: Path, groups=100_000, rows=10_000_000, features=16, seed=1):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(0, 1.0, size=groups)
    sizes = np.maximum(1, np.round(sizes / sizes.sum() * rows)).astype(np.int64)
    g = np.repeat(np.arange(groups), sizes)
    rng.shuffle(g)
    columns = {"store": pa.array(np.char.add("store-", g.astype(str)))}
    for d in range(features):
        columns[f"x{d}"] = rng.standard_normal(g.size)
    columns["sold"] = (rng.random(g.size) < 0.5).astype(np.int8)
    pq.write_table(pa.table(columns), path)
    return g.size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--iterations", type=int, default=50, help="iterations of the 10^7-row CLI run")
    args = ap.parse_args()
    for G in (2000, 20000):
        run_groups(groups=G, repeat=3 if G == 2000 else 1, peers=True)
        print()
    if args.skip_large:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sales.parquet"
        t = time.perf_counter()
        n = large_table(path)
        print(f"# wrote {n:,} rows, 100,000 groups, D = 16 to Parquet ({path.stat().st_size / 2**20:,.0f} MiB) "
              f"in {time.perf_counter() - t:.1f} s")
        cmd = [str(Path(sys.executable).parent / "fastperceptron"), "train", "--data", str(path), "--group-by", "store",
               "--target", "sold", "--rule", "logistic", "--bias", "--lr", "0.01", "--iterations",
               str(args.iterations), "--progress", "--out", str(Path(tmp) / "m.npz")]
        print("$ " + " ".join(cmd))
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
        print(f"# CLI: {wall:.1f} s wall in all (reading, sorting, training, saving); peak memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
