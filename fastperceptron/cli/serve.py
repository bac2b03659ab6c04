"""The serving commands: ``predict`` (probabilities of a saved batch, their spread over models, groups
and their fallback) and ``export`` (one ONNX graph)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..io.tables import load_inputs
from ..memory import size_text
from .common import CLIError, WarningsAsTheyCome


def cmd_export(args) -> int:
    import fastperceptron as fp
    from ..io.files import check_target
    from ..export.onnx import require_onnx

    check_target(args.onnx, ".onnx")
    require_onnx()
    r = fp.load(args.model)
    if r.groups is None and args.unseen not in (None, "nan"):
        raise CLIError("--unseen applies to a model trained with groups")
    path = check_target(args.onnx, ".onnx")
    r.to_onnx(path, outputs=args.outputs, dtype=args.dtype, unseen=args.unseen)
    kind = "pooled groups" if r.pooling is not None else "groups" if r.groups is not None else "ensemble"
    print(f"exported         {path} ({r.n_models:,} model{'' if r.n_models == 1 else 's'}, {kind}, {args.dtype or r.dtype}, "
          f"{size_text(path.stat().st_size)})")
    return 0


def _predict_inputs(args, result):
    if (args.data is None) == (args.input is None):
        raise CLIError("give exactly one of --data FILE or --input X1 X2 ...")
    group_by = args.group_by or result.metadata.get("group_by") if result.groups is not None else args.group_by
    if group_by and result.groups is None:
        raise CLIError("--group-by given, but the model was not trained with groups; leave it out")
    if isinstance(group_by, str) and result.pooling is not None:  # the levels by name, in the model's order
        from ..serving import level_columns

        try:
            group_by = level_columns(result, [c for c in group_by.split(",") if c], "--group-by")
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    if isinstance(group_by, list):
        group_by = ",".join(group_by)
    if args.input is not None:
        if result.groups is not None:
            raise CLIError("a model trained with groups predicts rows of a table: give --data FILE with its group column")
        return np.array([args.input], dtype=np.float64), None, {}
    X, groups, kept = load_inputs(args.data, result.metadata.get("feature_names"), group_by,
                                  result.metadata.get("categorical"), keep=args.keep)
    if result.groups is not None and groups is None:
        raise CLIError("the model was trained with groups: name the group column with --group-by COLUMN")
    return X, groups, kept


def _target_names(r) -> list:
    return r.metadata.get("target_names") or [f"p{k}" for k in range(r.n_outputs)]


def _group_columns(r, X, groups, unseen) -> dict:
    """{column: values}: each row's label (a pooled batch: each level's, named as in the data), the
    probabilities, and which fallback (0/1) or level (0: the global model) served it."""
    from ..problem.groups import Factorized

    if r.pooling is None and unseen == "parent":
        raise CLIError("--unseen parent serves a path by its ancestors: the model was not trained with --shrink")
    if r.pooling is not None and unseen == "fallback":
        raise CLIError("a pooled model serves unseen paths by their ancestors: --unseen parent (the default) or error")
    P = r.predict_proba(X, groups=groups, unseen=unseen)
    levels = groups if isinstance(groups, list) else [groups]
    levels = [g.labels[g.codes] if isinstance(g, Factorized) else np.asarray(g) for g in levels]
    if r.pooling is not None:
        heads, served = list(r.pooling.hierarchy.names), ("level", r.served_by(groups, unseen or "parent"))
    else:
        by = r.metadata.get("group_by")
        heads = [by if isinstance(by, str) else "group"]
        served = None if r.fallback_weights is None else ("fallback", r.served_by_fallback(groups, unseen or "error"))
    columns = dict(zip(heads, levels))
    columns.update({f"{name}_proba": P[:, k] for k, name in enumerate(_target_names(r))})
    if served is not None:
        columns[served[0]] = served[1].astype(np.int64)
    if r.pooling is not None and (served[1] < r.pooling.hierarchy.n_levels).any():
        unseen_rows = int((served[1] < r.pooling.hierarchy.n_levels).sum())
        print(f"fastperceptron: note: {unseen_rows:,} of {len(served[1]):,} rows have a path never seen in training: "
              "served by its deepest seen ancestor (column 'level'; --unseen error refuses them)", file=sys.stderr)
    return columns


def _ensemble_columns(r, X, args) -> dict:
    """{column: values} of a batch over the same rows: the ensemble's mean (default), its spread
    (--summary) or every model's (--per-model, one row per model and input)."""
    names = _target_names(r)
    if args.summary:
        if args.per_model:
            raise CLIError("--summary and --per-model are two views: give one of them")
        summary = r.ensemble_summary(X, quantiles=args.quantiles)
        tags = [f"q{100 * level:g}" for level in summary.levels]
        columns = {}
        for k, name in enumerate(names):
            columns[f"{name}_mean"], columns[f"{name}_std"] = summary.mean[:, k], summary.std[:, k]
            columns.update({f"{name}_{tag}": summary.quantiles[i, :, k] for i, tag in enumerate(tags)})
        return columns
    if args.per_model:
        P = r.predict_proba(X)
        B, M = P.shape[:2]
        columns = {"model": np.repeat(np.arange(B), M), "seed": np.repeat(r.seeds, M), "row": np.tile(np.arange(M), B)}
        columns.update({f"p{k}": P[:, :, k].reshape(-1) for k in range(r.n_outputs)})
        return columns
    P = r.ensemble_proba(X)
    return {f"{name}_proba": P[:, k] for k, name in enumerate(names)}


def cmd_predict(args) -> int:
    import fastperceptron as fp
    from ..io.files import check_target

    if args.out:
        check_target(args.out)
        if Path(args.out).suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise CLIError(f"--out {args.out}: predictions are written as CSV (.csv) or Parquet (.parquet)")
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise CLIError(f"--threshold is a probability in [0, 1], got {args.threshold:g}")
    r = fp.load(args.model)
    if r.groups is not None and (args.summary or args.per_model):
        flag = "--summary" if args.summary else "--per-model"
        raise CLIError(f"{flag} describes an ensemble of models over the same rows, but {args.model} has one model "
                       "per group: each row gets its own group's model; leave out " + flag)
    if args.keep and args.data is None:
        raise CLIError("--keep carries columns of --data FILE through: give --data")
    if args.per_model and (args.keep or args.threshold is not None):
        raise CLIError("--per-model gives one row per model and input: --keep and --threshold apply to one row per input")
    with WarningsAsTheyCome():  # an unseen level of a categorical column: a note on stderr
        X, groups, kept = _predict_inputs(args, r)
        if groups is not None:
            columns = _group_columns(r, X, groups, args.unseen)
        else:
            if args.unseen is not None:
                raise CLIError("--unseen applies to a model trained with groups")
            columns = _ensemble_columns(r, X, args)
    if args.interval is not None:
        _add_interval(r, X, groups, args, columns)
    if args.threshold is not None:  # each target's 0/1 right after its probability
        with_pred = {}
        for key, values in columns.items():
            with_pred[key] = values
            for name in _target_names(r):
                if key in (f"{name}_proba", f"{name}_mean"):
                    with_pred[f"{name}_pred"] = (values >= args.threshold).astype(np.int64)
        columns = with_pred
    clash = [k for k in kept if k in columns]
    if clash:
        raise CLIError(f"--keep {','.join(clash)}: the predictions write column(s) of that name; rename them in "
                       f"{args.data} or leave them out of --keep")
    columns = {**kept, **columns}
    if args.out:
        from ..io.tables import write_table

        print(f"wrote            {write_table(args.out, columns)} ({len(next(iter(columns.values()))):,} rows, columns "
              f"{', '.join(columns)})")
    else:
        _print_csv(columns)
    return 0


def _add_interval(r, X, groups, args, columns: dict) -> None:
    """--interval LEVEL: <target>_low and <target>_high after each <target>_proba (one model per row)."""
    if groups is None and r.n_models != 1 or args.summary or args.per_model:
        raise CLIError(f"--interval gives each row's model's interval: {args.model} has {r.n_models:,} models over the "
                       "same rows (and --summary, --per-model describe them); predict with one of them")
    _, low, high = r.predict_proba(X, groups=groups, unseen=args.unseen, interval=args.interval)  # errors: cli_words
    low, high = (low, high) if groups is not None else (low[0], high[0])
    for k, name in enumerate(_target_names(r)):
        columns[f"{name}_low"], columns[f"{name}_high"] = low[:, k], high[:, k]


def cmd_coef(args) -> int:
    """``coef MODEL``: every model's coefficients with their statistics, one row per model × output ×
    term (SPEC §9), as CSV on stdout or to --out (CSV or Parquet)."""
    import fastperceptron as fp

    if args.out and Path(args.out).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise CLIError(f"--out {args.out}: the table is written as CSV (.csv) or Parquet (.parquet)")
    r = fp.load(args.model)
    if r.covariance is None:
        raise CLIError(f"{args.model} holds no covariance: train it with --cov nonrobust (or HC0, HC1, cluster "
                       "--cluster COLUMN)")
    columns = r.coef_table(alpha=args.alpha).columns()
    if args.out:
        from ..io.tables import write_table

        print(f"wrote            {write_table(args.out, columns)} ({len(columns['term']):,} rows: {r.n_models:,} "
              f"model(s) x {len(set(columns['term'])):,} terms, cov {r.params.get('cov')!r})")
    else:
        _print_csv(columns, ".10g")
    return 0


def _print_csv(columns: dict, number: str = ".8f") -> None:
    """The columns as CSV on stdout, floats by ``number`` (probabilities: 8 decimals)."""
    names = list(columns)
    cells = [[format(v, number) for v in values] if np.asarray(values).dtype.kind == "f" else [str(v) for v in values]
             for values in columns.values()]
    print(",".join(names))
    for row in zip(*cells):
        print(",".join(row))
