"""Datasets that ship with fastperceptron."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

__all__ = ["seed", "groups", "hierarchy", "customers", "write_csv", "write_examples", "NEW_SITUATION"]

#: The tutorial's question to the trained neuron: a situation it has never seen.
NEW_SITUATION = (1.0, 0.0, 0.0)


def seed() -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's data: X (4, 3) and y (4,), float64. The answer is the first input.

    >>> X, y = seed(); X.shape, y.tolist()
    ((4, 3), [0.0, 1.0, 1.0, 0.0])
    """
    text = resources.files(__package__).joinpath("data", "seed.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    data = np.array(rows[1:], dtype=np.float64)
    return data[:, :-1].copy(), data[:, -1].copy()


def groups(n_groups: int = 2000, median_rows: float = 47, sigma: float = 1.2, features: int = 8,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic long table of ``n_groups`` groups for ``train(..., groups=g)``: X (N, D), y (N,)
    0/1 and g (N,) int labels, rows shuffled. Group sizes are log-normal (median ``median_rows``,
    shape ``sigma``, at least one row: many small groups, a few large ones); each group has its own
    true weights w_g ~ N(0, I) and y ~ Bernoulli(σ(x·w_g)). The case of the benchmarks and the
    README's plots.

    >>> X, y, g = groups(100, seed=1); X.shape[1], len(np.unique(g))
    (8, 100)
    """
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.round(rng.lognormal(np.log(median_rows), sigma, size=n_groups))).astype(np.int64)
    g = np.repeat(np.arange(n_groups), sizes)
    rng.shuffle(g)
    X = rng.normal(size=(g.size, features))
    w = rng.normal(size=(n_groups, features))
    p = 1.0 / (1.0 + np.exp(-np.einsum("nd,nd->n", X, w[g])))
    y = (rng.random(g.size) < p).astype(np.float64)
    return X, y, g


def hierarchy(regions: int = 12, stores: int = 2500, median_rows: float = 8, sigma: float = 1.084,
              features: int = 4, held_out: float = 0.3, seed: int = 0):
    """A long table from a hierarchical truth, for partial pooling (``groups=[region, store]``):
    (X (N, D), y (N,) 0/1, region (N,), store (N,) int labels, held (N,) bool).

    ``stores`` stores with log-normal sizes (median ``median_rows``, shape ``sigma``; the defaults
    give a mean of about 14 rows), each in one of ``regions`` regions. Store s's θ = (w, c) is
    θ_global + δ_region + δ_store, δ ~ N(0, 0.6²) per region and N(0, 0.5²) per store (the bias
    included), X ~ N(0, I) and y ~ Bernoulli(σ(x·w + c)). ``held`` marks a random ``held_out``
    share of each store's rows (rounded down; a store of one row is only trained on): the rows to
    score a model trained on the others. Store labels are 0 .. stores − 1, unique across regions.

    >>> X, y, region, store, held = hierarchy(regions=3, stores=50, seed=1); X.shape[1], len(np.unique(store))
    (4, 50)
    """
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.round(median_rows * np.exp(sigma * rng.normal(size=stores)))).astype(np.int64)
    region_of = rng.integers(0, regions, stores)
    theta = (rng.normal(size=features + 1) * np.r_[np.ones(features), 0.5]
             + 0.6 * rng.normal(size=(regions, features + 1))[region_of] + 0.5 * rng.normal(size=(stores, features + 1)))
    store = np.repeat(np.arange(stores), sizes)
    X = rng.normal(size=(store.size, features))
    z = np.einsum("nd,nd->n", X, theta[store, :features]) + theta[store, features]
    y = (rng.random(store.size) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    rank = np.argsort(np.lexsort((rng.random(store.size), store)))  # a random order within each store
    position = rank - np.searchsorted(store, store)
    held = position >= np.ceil((1.0 - held_out) * sizes[store])
    return X, y, region_of[store], store, held


def customers(n: int = 20_000, stores: int = 500, regions: int = 20, seed: int = 0) -> dict:
    """A customer table as users bring one, {column: (n,) numpy array}: ``id``; raw columns
    ``income`` (~10⁵, log-normal), ``age`` (18–80) and ``flag`` (0/1); ``signup_date`` as text
    ("2023-04-17"); a text ``segment`` (basic, plus, gold, business); ``region`` (text, r00 …) and
    ``store`` (int ids, each store in one region, log-normal sizes: most stores have a few dozen
    rows); and the 0/1 target ``churned``. The truth is hierarchical: churn's log-odds are a global
    model of log-income, age, the flag and the segment, moved per region (N(0, 0.6²) on the bias and
    the flag's effect) and again per store (N(0, 0.5²)); the sign-up date plays no part. The table of
    the README's "Your own table" and of ``bench/table_defaults.py``.

    >>> t = customers(n=500, stores=20, regions=4, seed=1); sorted(t)[:4], len(np.unique(t["store"]))
    (['age', 'churned', 'flag', 'id'], 20)
    """
    rng = np.random.default_rng(seed)
    sizes = np.exp(rng.normal(size=stores))
    store_of = rng.choice(stores, size=n, p=sizes / sizes.sum())
    store_of[rng.choice(n, size=min(stores, n), replace=False)] = np.arange(min(stores, n))  # every store has rows
    region_of = rng.integers(0, regions, stores)
    region = region_of[store_of]
    income = np.round(rng.lognormal(np.log(6e4), 0.45, n), 2)
    age = rng.integers(18, 81, n).astype(np.float64)
    flag = (rng.random(n) < 0.35).astype(np.int64)
    segments = np.array(["basic", "business", "gold", "plus"])
    segment = segments[rng.choice(4, size=n, p=[0.45, 0.1, 0.15, 0.3])]
    day = rng.integers(0, 1500, n)
    signup = (np.datetime64("2021-01-01") + day.astype("timedelta64[D]")).astype(str)
    seg_effect = {"basic": 0.0, "business": -0.6, "gold": -0.9, "plus": -0.3}
    bias = -0.3 + 0.6 * rng.normal(size=regions)[region] + 0.5 * rng.normal(size=stores)[store_of]
    flag_effect = 0.8 + 0.6 * rng.normal(size=regions)[region] + 0.5 * rng.normal(size=stores)[store_of]
    z = (bias - 0.9 * (np.log(income) - np.log(6e4)) / 0.45 + 0.025 * (age - 45) + flag_effect * flag
         + np.vectorize(seg_effect.get)(segment))
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return {"id": np.arange(1, n + 1), "income": income, "age": age, "flag": flag, "signup_date": signup,
            "segment": segment, "region": np.char.add("r", np.char.zfill(region.astype(str), 2)), "store": store_of,
            "churned": churned}


def write_csv(path, columns: dict) -> None:
    """``columns`` {name: (n,) array} as a CSV file with a header (floats to 15 significant digits)."""
    names = list(columns)
    cells = [[f"{v:.15g}" if isinstance(v, (float, np.floating)) else str(v) for v in columns[c].tolist()]
             for c in names]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(zip(*cells))


def write_examples(folder) -> list:
    """The README's example tables, written into ``folder`` (``fastperceptron example-data``); returns
    the paths written. Fixed seeds: every run writes the same files.

    - ``customers.csv`` (and ``customers.parquet`` with pyarrow): :func:`customers`, 20,000 rows;
    - ``raw.csv``: 300 rows of raw columns (income, age, flag, balance) and a target ``y``;
    - ``sales.csv`` (and ``.parquet``): a store per row, price, promo, ``sold``; ``new.csv``: new rows;
    - ``stores.parquet`` (pyarrow): stores under regions (:func:`hierarchy`); ``new_stores.csv``;
    - ``d.csv``: three unit-scale columns and a ``label``; ``rows.csv``: new rows of it.
    """
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        pa = None
    written = []

    def csv_file(name, columns):
        write_csv(folder / name, columns)
        written.append(folder / name)

    def parquet_file(name, columns):
        if pa is not None:
            pq.write_table(pa.table({k: np.asarray(v) for k, v in columns.items()}), folder / name)
            written.append(folder / name)

    table = customers()
    csv_file("customers.csv", table)
    parquet_file("customers.parquet", table)
    rng = np.random.default_rng(26)
    n = 300
    income, age = rng.lognormal(np.log(5e4), 0.5, n).round(2), rng.uniform(20, 80, n).round(1)
    flag, balance = (rng.random(n) < 0.3).astype(int), rng.normal(2e5, 5e4, n).round(2)
    z = (np.log(income) - np.log(5e4)) / 0.5 - 0.03 * (age - 50) + 0.7 * flag
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    csv_file("raw.csv", {"income": income, "age": age, "flag": flag, "balance": balance, "y": y})
    stores = np.array(["east", "north", "south", "west"])[rng.integers(0, 4, n)]
    price, promo = rng.uniform(1, 3, n).round(4), (rng.random(n) < 0.4).astype(int)
    sold = (rng.random(n) < 1 / (1 + np.exp(price - 2 - promo))).astype(int)
    sales = {"store": stores, "price": price, "promo": promo, "sold": sold}
    csv_file("sales.csv", sales)
    parquet_file("sales.parquet", sales)
    csv_file("new.csv", {"store": stores[:5], "price": price[:5], "promo": promo[:5]})
    Xh, yh, region, store, _ = hierarchy(regions=4, stores=60, seed=26)
    columns = {"region": np.array(["east", "north", "south", "west"])[region], "store": store,
               **{f"x{d + 1}": Xh[:, d].round(6) for d in range(4)}, "sold": yh.astype(int)}
    parquet_file("stores.parquet", columns)
    csv_file("new_stores.csv", {k: v[:5] for k, v in columns.items() if k != "sold"})
    X = rng.normal(size=(n, 3)).round(6)
    label = (rng.random(n) < 1 / (1 + np.exp(-X @ [1.0, -1.0, 0.5]))).astype(int)
    csv_file("d.csv", {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": label})
    csv_file("rows.csv", {"a": X[:3, 0], "b": X[:3, 1], "c": X[:3, 2]})
    return written

