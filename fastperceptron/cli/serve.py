"""The serving commands: ``predict`` (probabilities of a saved batch, their spread over models, groups
and their fallback) and ``export`` (one ONNX graph)."""

from __future__ import annotations

import numpy as np

from ..io.tables import load_inputs
from ..memory import size_text
from .common import CLIError


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
    print(f"exported         {path} ({r.n_models:,} models, {kind}, {args.dtype or r.dtype}, "
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
        return np.array([args.input], dtype=np.float64), None
    X, groups = load_inputs(args.data, result.metadata.get("feature_names"), group_by,
                            result.metadata.get("categorical"))
    if result.groups is not None and groups is None:
        raise CLIError("the model was trained with groups: name the group column with --group-by COLUMN")
    return X, groups


def _print_groups(r, X, groups, unseen) -> int:
    """One CSV row per input: its group (a pooled batch: each level's label), the probabilities, and
    which fallback (0/1) or level (0: the global model) served it."""
    from ..problem.groups import Factorized

    if r.pooling is None and unseen == "parent":
        raise CLIError("--unseen parent serves a path by its ancestors: the model was not trained with --shrink")
    if r.pooling is not None and unseen == "fallback":
        raise CLIError("a pooled model serves unseen paths by their ancestors: --unseen parent (the default) or error")
    P = r.predict_proba(X, groups=groups, unseen=unseen)
    names = r.metadata.get("target_names") or [f"p{k}" for k in range(r.n_outputs)]
    levels = groups if isinstance(groups, list) else [groups]
    levels = [g.labels[g.codes] if isinstance(g, Factorized) else np.asarray(g) for g in levels]
    if r.pooling is not None:
        served, tag = r.served_by(groups, unseen or "parent"), "level"
        heads = list(r.pooling.hierarchy.names)
    else:
        served, tag = (None, None) if r.fallback_weights is None else (r.served_by_fallback(groups, unseen or "error"),
                                                                      "fallback")
        heads = ["group"]
    print(",".join(heads + names) + ("" if served is None else f",{tag}"))
    for m, row in enumerate(P):
        cells = [str(g[m]) for g in levels] + [f"{v:.8f}" for v in row]
        print(",".join(cells) + ("" if served is None else f",{int(served[m])}"))
    return 0


def cmd_predict(args) -> int:
    import fastperceptron as fp

    r = fp.load(args.model)
    if r.groups is not None and (args.summary or args.per_model):
        flag = "--summary" if args.summary else "--per-model"
        raise CLIError(f"{flag} describes an ensemble of models over the same rows, but {args.model} has one model "
                       "per group: each row gets its own group's model; leave out " + flag)
    X, groups = _predict_inputs(args, r)
    if groups is not None:
        return _print_groups(r, X, groups, args.unseen)
    if args.unseen is not None:
        raise CLIError("--unseen applies to a model trained with groups")
    if args.summary:
        if args.per_model:
            raise CLIError("--summary and --per-model are two views: give one of them")
        summary = r.ensemble_summary(X, quantiles=args.quantiles)
        names = r.metadata.get("target_names") or [f"p{k}" for k in range(r.n_outputs)]
        tags = [f"q{100 * level:g}" for level in summary.levels]
        print(",".join(f"{t}_{part}" for t in names for part in ["mean", "std", *tags]))
        for m in range(summary.mean.shape[0]):
            cells = []
            for k in range(r.n_outputs):
                cells += [summary.mean[m, k], summary.std[m, k], *summary.quantiles[:, m, k]]
            print(",".join(f"{v:.8f}" for v in cells))
        return 0
    if args.per_model:
        P = r.predict_proba(X)
        print("model,seed,row," + ",".join(f"p{k}" for k in range(r.n_outputs)))
        for b in range(r.n_models):
            for m in range(P.shape[1]):
                print(f"{b},{r.seeds[b]},{m}," + ",".join(f"{v:.8f}" for v in P[b, m]))
    else:
        P = r.ensemble_proba(X)
        names = r.metadata.get("target_names") or [f"p{k}" for k in range(r.n_outputs)]
        print(",".join(names))
        for row in P:
            print(",".join(f"{v:.8f}" for v in row))
    return 0
