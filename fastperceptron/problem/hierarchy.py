"""The paths of a hierarchy of group labels, and where a new row's path is served.

``groups=[region, store]`` (outermost first) makes L = 2 levels below the global model (level 0).
A group of level l is a *path*, the labels of levels 1..l of its rows joined by ``SEP``
("north/store-07"): the same store label under two regions is two groups. Each level's paths are
sorted (as strings) and model g of level l is path ``paths[l][g]``; ``parent[l][g]`` is the index of
its parent path at level l − 1 (0, the global model, at level 1).

A new row is served by its own path's model when it was seen in training; otherwise by its deepest
seen ancestor (``unseen="parent"``, SPEC §8), or refused (``unseen="error"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .groups import Factorized, factorize, lookup

__all__ = ["SEP", "Hierarchy", "Pooling", "build", "is_levels"]

SEP = "/"  #: joins a path's labels


def is_levels(groups) -> bool:
    """True when ``groups`` is a list of label arrays (a hierarchy), not one label per row."""
    if not isinstance(groups, (list, tuple)) or not groups:
        return False
    return all(isinstance(g, Factorized) or (not isinstance(g, (str, bytes)) and hasattr(g, "__len__"))
               for g in groups)


@dataclass(frozen=True)
class Hierarchy:
    """``names`` (L,) the levels' names; ``paths[l]`` (G_l,) the sorted paths of level l + 1 (str);
    ``parent[l]`` (G_l,) int64 each path's parent at the level above; ``sizes[l]`` (G_l,) its rows;
    ``kinds`` (L,) each level's labels as given, "int" or "str" (the ONNX graph's input types)."""

    names: tuple
    paths: tuple
    parent: tuple
    sizes: tuple
    kinds: tuple | None = None

    def own_labels(self, level: int) -> np.ndarray:
        """Level ``level``'s own label of each of its paths (the last part), as text."""
        paths = self.paths[level]
        if level == 0:
            return paths
        prefix = self.paths[level - 1][self.parent[level]]
        return np.array([p[len(q) + 1:] for p, q in zip(paths.tolist(), prefix.tolist())], dtype=str)

    @property
    def n_levels(self) -> int:
        return len(self.paths)

    def route(self, levels, unseen: str = "parent") -> tuple[np.ndarray, np.ndarray]:
        """(level (M,), index (M,)): the model serving each row of new labels ``levels`` (one array
        per level, outermost first): the row's own path at the innermost level, else (unseen="parent")
        its deepest seen ancestor, level 0 being the global model; unseen="error" refuses a path never
        seen, naming up to five."""
        if unseen not in ("parent", "error"):
            raise ValueError(f"unseen must be 'parent' or 'error' for a pooled batch, got {unseen!r}")
        if self.n_levels == 1 and not is_levels(levels):  # one level: its labels, as for groups=
            levels = [levels]
        codes = _row_paths(levels, self.n_levels, None, "groups")
        m = codes[0][1].shape[0]
        level = np.zeros(m, dtype=np.int64)
        index = np.zeros(m, dtype=np.int64)
        seen = np.ones(m, dtype=bool)
        for j, (paths, rows) in enumerate(codes):
            at, missed = lookup(self.paths[j], paths, "groups", unseen="mask")
            ok = seen & ~missed[rows]
            level[ok], index[ok] = j + 1, at[rows][ok]
            seen = ok
        if unseen == "error" and not seen.all():
            paths, rows = codes[-1]
            missing = np.unique(paths[rows[~seen]])
            shown = ", ".join(repr(str(v)) for v in missing[:5]) + (", ..." if missing.size > 5 else "")
            raise ValueError(f"{missing.size:,} path(s) in groups were never seen in training ({shown}); serve them "
                             "by their deepest seen ancestor with unseen='parent' (CLI: predict --unseen parent)")
        return level, index


@dataclass(frozen=True, eq=False)
class Pooling:
    """What a pooled result keeps beside its innermost models (``result.weights``): the hierarchy,
    the models of the levels above — ``weights[l]`` (G_l, D, K) and ``bias[l]`` (G_l, K) for l = 0
    (the global model, G_0 = 1) .. L − 1 — the shrinkage ρ of each level (L,), and, when it was
    chosen by cross-validation, the ``grid`` (R,) and ``cv_loss`` (L, R): each level's held-out mean
    log-loss per row for each grid value; ``stop_reason[l]`` (G_l,) why each model of level l stopped
    (as ``TrainResult.stop_reason``; None for gradient steps)."""

    hierarchy: Hierarchy
    weights: tuple
    bias: tuple | None
    shrink: np.ndarray
    grid: np.ndarray | None = None
    cv_loss: np.ndarray | None = None
    stop_reason: tuple | None = None


def _join(prefix: np.ndarray | None, labels: np.ndarray, level: str) -> np.ndarray:
    """Paths one level deeper: ``prefix`` + SEP + each label (labels as str); two paths that join to
    the same text (a label holding SEP) are an error."""
    text = np.array(labels.astype(str).tolist(), dtype=str)  # as narrow as the longest label (not <U21 for ints)
    if prefix is None:
        return text
    paths = np.char.add(np.char.add(prefix, SEP), text)
    if np.unique(paths).shape[0] != paths.shape[0]:
        bad = text[np.char.find(text, SEP) >= 0]
        shown = repr(str(bad[0])) if bad.size else "a label"
        raise ValueError(f"{level}: {shown} contains {SEP!r}, which joins the labels of a path, so two paths read "
                         "the same: replace it in the label columns")
    return np.array(paths.tolist(), dtype=str)


def _row_paths(levels, n_levels: int, n_rows: int | None, name: str):
    """For each level: (the distinct paths of the rows (P,) str, each row's index into them (N,))."""
    if not is_levels(levels) or len(levels) != n_levels:
        raise ValueError(f"{name} must be a list of {n_levels} label arrays, one per level (outermost first)"
                         if n_levels else f"{name} must be a list of label arrays, one per level")
    out = []
    prev_paths, prev_rows = None, None
    for j, g in enumerate(levels):
        labels, codes = factorize(g, n_rows, f"{name}[{j}]")
        n_rows = codes.shape[0]
        if prev_rows is None:
            key = codes
        else:
            key = prev_rows * labels.shape[0] + codes
        uniq, rows = np.unique(key, return_inverse=True)
        own = labels[uniq % labels.shape[0]] if prev_rows is not None else labels[uniq]
        parent = None if prev_rows is None else prev_paths[uniq // labels.shape[0]]
        paths = _join(parent, own, f"{name}[{j}]")
        out.append((paths, rows.reshape(-1)))
        prev_paths, prev_rows = paths, rows.reshape(-1)
    return out


def build(levels, n_rows: int, names) -> tuple[Hierarchy, list]:
    """The hierarchy of the training labels ``levels`` and every row's group at each level, as
    :class:`~fastperceptron.problem.groups.Factorized` (the sorted paths, one code per row)."""
    if not is_levels(levels):
        raise ValueError("groups must be a list of label arrays, one per level, outermost first")
    per_level = _row_paths(levels, len(levels), n_rows, "groups")
    kinds = tuple("int" if factorize(g, n_rows)[0].dtype.kind in "iu" else "str" for g in levels)
    paths, parent, sizes, rows = [], [], [], []
    previous = None
    for distinct, codes in per_level:
        order = np.argsort(distinct, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        sorted_paths, row_codes = distinct[order], rank[codes]
        if previous is None:
            up = np.zeros(sorted_paths.shape[0], dtype=np.int64)
        else:
            first = np.zeros(sorted_paths.shape[0], dtype=np.int64)
            first[row_codes[::-1]] = np.arange(row_codes.shape[0])[::-1]  # a row of each path
            up = previous[first]
        paths.append(sorted_paths)
        parent.append(up.astype(np.int64))
        sizes.append(np.bincount(row_codes, minlength=sorted_paths.shape[0]).astype(np.int64))
        rows.append(Factorized(labels=sorted_paths, codes=row_codes.astype(np.int64)))
        previous = row_codes
    return Hierarchy(names=tuple(names), paths=tuple(paths), parent=tuple(parent), sizes=tuple(sizes),
                     kinds=kinds), rows
