"""The ``train`` and ``plot`` commands: a batch trained on the tutorial's data or a table, its summary,
its file and its figure."""

from __future__ import annotations

import os
import sys

import numpy as np

from ..io.inputs import standardize_columns
from ..io.tables import load_data
from ..problem.groups import Factorized
from .common import DEFAULT_MODELS, DEFAULT_TABLE_MODELS, EXIT_INTERRUPTED, CLIError, WarningsAsTheyCome, cli_words
from .summary import innermost, report

__all__ = ["cmd_train", "cmd_plot"]


def _seeds(tokens: list[str]) -> np.ndarray:
    out = []
    for tok in tokens:
        if ":" in tok:
            a, _, b = tok.partition(":")
            if not (a.isdigit() and b.isdigit()) or int(b) <= int(a):
                raise CLIError(f"--seeds {tok!r}: a range is START:STOP with 0 <= START < STOP")
            out.extend(range(int(a), int(b)))
        elif tok.isdigit():
            out.append(int(tok))
        else:
            raise CLIError(f"--seeds {tok!r} is not a non-negative integer or a START:STOP range")
    return np.array(out, dtype=np.int64)


# --- commands -----------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from ..io.files import check_target

    if args.out:  # before training: a mistyped path must not cost the run
        check_target(args.out, ".npz")
    if args.plot:  # nor a missing matplotlib, a bad figure name or a kind this run cannot draw
        _check_plot(args)
    X, y, groups, meta = _training_data(args)
    _defaults(args, groups)
    held = None
    if args.validate is not None:
        X, y, groups, held, keep = _hold_out(args.validate, X, y, groups)
        if "clusters" in meta:
            meta["clusters"] = np.asarray(meta["clusters"])[keep]
    kwargs = _train_arguments(args, X, groups, meta)
    with WarningsAsTheyCome(meta.get("feature_names")):
        if args.scheduler:
            r = _train_on_dask(args.scheduler, X, y, kwargs, meta)
        else:
            import fastperceptron as fp

            r = fp.train(X, y, **kwargs)
    note = meta.pop("note", None)
    r.metadata.update(meta)
    if r.pooling is not None and meta.get("group_by"):  # the levels by their columns' names
        from dataclasses import replace

        by = meta["group_by"]
        named = replace(r.pooling.hierarchy, names=tuple(by if isinstance(by, list) else [by]))
        r = replace(r, pooling=replace(r.pooling, hierarchy=named))
    saved = r.save(args.out) if args.out else None  # before the summary: a closed pipe must not lose the model
    report(r, args, meta, X, y, groups, held)
    if args.cluster is not None:
        print(f"clusters         {len(np.unique(kwargs['clusters'])):,} values of column {args.cluster!r} (labels, "
              "not a feature)")
    if note:
        print(f"note             {note}")
    if saved:
        print(f"saved            {saved}")
    if args.plot:
        _draw(r, args.plot_kind, args.plot)
    return 0 if r.complete else EXIT_INTERRUPTED


def _training_data(args):
    """(X, y, groups or None, metadata) of ``train``: the table of --data, else the tutorial's."""
    import fastperceptron as fp

    if args.data:
        X, y, groups, meta = load_data(args.data, args.target, args.group_by, args.features, args.drop,
                                       args.categorical, args.positive, args.cluster)
        meta["data"] = str(args.data)
        return X, y, groups, meta
    for flag, value in (("--group-by", args.group_by), ("--features", args.features), ("--drop", args.drop),
                        ("--categorical", args.categorical), ("--positive", args.positive), ("--cluster", args.cluster)):
        if value:
            raise CLIError(f"{flag} needs --data FILE, a table with those columns")
    X, y = fp.datasets.seed()
    return X, y, None, {"data": "seed", "feature_names": ["x1", "x2", "x3"], "target_names": ["y"]}


def _subset(groups, rows):
    """The labels of ``rows`` of one label array, a Factorized, or a list of them (a hierarchy)."""
    if groups is None:
        return None
    if isinstance(groups, list):
        return [_subset(g, rows) for g in groups]
    return groups.labels[groups.codes[rows]] if isinstance(groups, Factorized) else np.asarray(groups)[rows]


def _hold_out(fraction: float, X, y, groups):
    """--validate: (X, y, groups) of the training rows, (X, y, groups) of the held-out ones and the
    training rows' mask (N,). The held-out rows are that share of each innermost group's rows
    (rounded; a group of one row is never held out), drawn with seed 0: the same table, the same
    split."""
    if not 0 < fraction < 1:
        raise CLIError(f"--validate takes the share of rows to hold out, between 0 and 1 (e.g. 0.3), got {fraction:g}")
    if np.ndim(X) != 2:
        raise CLIError("--validate holds out rows of one table: it does not apply to one dataset per model (a 3-D .npz)")
    n = X.shape[0]
    key = innermost(groups, n)
    rng = np.random.default_rng(0)
    order = np.lexsort((rng.random(n), key))                        # by group, shuffled within
    start = np.searchsorted(key[order], key[order], side="left")
    size = np.bincount(key)[key[order]]
    held = np.zeros(n, dtype=bool)
    held[order] = (np.arange(n) - start) < np.floor(fraction * size + 0.5) * (size > 1)
    if held.all() or not held.any():
        raise CLIError(f"--validate {fraction:g} holds out {'every' if held.all() else 'no'} row of this table: choose "
                       "a share that leaves rows on both sides")
    keep = ~held
    return X[keep], y[keep], _subset(groups, keep), (X[held], y[held], _subset(groups, held)), keep


#: the L2 penalty of a table's default fit: scikit-learn's LogisticRegression's C = 1, on standardised
#: columns (its StandardScaler + LogisticRegression pipeline)
TABLE_L2 = 1.0


def _defaults(args, groups) -> None:
    """The defaults the options left open. A table (--data) gets what a statistician fits: rule
    logistic, a bias, standardised columns, solver auto (Newton to the optimum for up to 32
    parameters), one model, L2 = ``TABLE_L2`` — and, with one --group-by column, each group's model
    pooled toward the global one by a cross-validated shrink (small groups then predict no worse
    than the global model); --shrink none trains the groups unpooled. The tutorial's data keeps the
    tutorial's defaults: its rule, no bias, gradient steps of rate 1, 10,000 models."""
    pooled = bool(args.shrink) or isinstance(groups, list)
    args.solver_given = args.solver is not None
    if args.data:
        args.rule = args.rule or "logistic"
        args.bias = True if args.bias is None else args.bias
        args.standardize = True if args.standardize is None else args.standardize
        args.solver = args.solver or ("gd" if args.lr is not None else "auto")  # a learning rate: gradient steps
        args.l2 = [TABLE_L2] if args.l2 is None else args.l2
        if groups is not None and not pooled and not (args.fallback or args.min_rows):
            args.shrink = ["cv"]
    else:
        args.bias, args.standardize = bool(args.bias), bool(args.standardize)
        args.solver = args.solver or ("auto" if pooled else "gd")
    if args.shrink and args.shrink != ["none"] and groups is None:
        raise CLIError("--shrink pulls each group's model toward its parent's: give --group-by COLUMN (or several "
                       "columns joined by commas, outermost first)")
    if args.shrink == ["none"]:  # the groups unpooled (each group's own model, penalised by --l2)
        if groups is None or isinstance(groups, list):
            raise CLIError("--shrink none trains one --group-by column's groups unpooled, each its own model: "
                           + ("give --group-by COLUMN" if groups is None else "a hierarchy is always pooled (give one "
                              "column, or --shrink values)"))
        args.shrink = None


def _train_arguments(args, X, groups, meta) -> dict:
    """fp.train's keywords from the options, with the command line's defaults: the tutorial's rate
    on its data, the stable step (``learning_rate="auto"``) on a table; 10,000 models of the tutorial
    or ``DEFAULT_TABLE_MODELS`` of a table; one model where a second-order batch would be copies."""
    from ..problem.steps import scale_warning

    seeds = _seeds(args.seeds) if args.seeds else None
    if args.lr is None:
        lr = "auto" if args.data and args.solver == "gd" else None
    elif "auto" in args.lr and len(args.lr) > 1:
        raise CLIError("--lr auto gives every model its own stable step: it stands alone, not among other rates")
    else:
        lr = args.lr[0] if len(args.lr) == 1 else np.array(args.lr)
    l2 = 0.0 if args.l2 is None else (args.l2[0] if len(args.l2) == 1 else np.array(args.l2))
    models = args.models
    if models is None and seeds is None and np.ndim(lr) == 0 and np.ndim(l2) == 0 and np.ndim(X) == 2 and groups is None:
        if args.solver != "gd":  # every model would reach the same optimum: the seeds play no part
            models = 1
            if args.solver_given and not args.data:
                meta["note"] = ("one model: with --solver " + args.solver + " every model of one table reaches the same "
                                "optimum, whatever its seed (--models B trains B copies; several --l2 values a sweep)")
        else:
            models = DEFAULT_TABLE_MODELS if args.data else DEFAULT_MODELS
    if args.solver == "gd" and not args.standardize and args.data:  # said now, with the columns' names
        message = scale_warning(np.asarray(X, dtype=np.float64), meta.get("feature_names"))
        if message:
            print(f"fastperceptron: warning: {cli_words(message)}", file=sys.stderr, flush=True)
    kwargs = dict(
        seeds=seeds, models=models, iterations=args.iterations, learning_rate=lr, rule=args.rule, bias=args.bias,
        init=args.init, dtype=args.dtype, backend=args.backend, tol=args.tol, record_every=args.record_every,
        progress=args.progress, threads=args.threads, solver=args.solver, l2=l2,
        standardize=standardize_columns(args.standardize, meta),  # one-hot inputs stay 0/1, as fp.train leaves them
    )
    if args.cov is not None or args.cluster is not None:
        if (args.cov == "cluster") != (args.cluster is not None):
            raise CLIError("--cov cluster needs --cluster COLUMN" if args.cov == "cluster" else
                           "--cluster COLUMN applies to --cov cluster")
        kwargs.update(cov=args.cov, clusters=meta.pop("clusters", None))
    if groups is not None:
        kwargs["groups"] = groups
        kwargs.update(fallback=args.fallback, min_rows=args.min_rows)
    elif args.fallback or args.min_rows:
        raise CLIError("--fallback and --min-rows serve groups: give --group-by COLUMN as well")
    kwargs.update(_pooling_arguments(args, groups))
    if args.cov is not None:
        pooled = kwargs.get("shrink") is not None or isinstance(groups, list)
        if pooled or np.any(np.asarray(l2) > 0):
            what = "the pull toward each group's parent" if pooled else f"--l2 {args.l2[0]:g}"
            meta["note"] = (f"--cov with {what}: the standard errors are the penalised fit's (the curvature of the "
                            "posterior under the penalty's Gaussian prior, narrower than the classical ones); "
                            + ("--shrink none --l2 0" if pooled else "--l2 0")
                            + " gives the classical ones (README, 'Which effects are real')")
    return kwargs


def _pooling_arguments(args, groups) -> dict:
    """--shrink, --shrink-grid, --cv and --cv-seed as fp.train's keywords."""
    chosen_by = {"shrink_grid": args.shrink_grid, "cv": args.cv, "seed": args.cv_seed}  # fp.train's defaults else
    chosen_by = {name: value for name, value in chosen_by.items() if value is not None}
    if not args.shrink and not isinstance(groups, list):
        if chosen_by:
            raise CLIError("--shrink-grid, --cv and --cv-seed choose --shrink cv: give --shrink cv and --group-by")
        return {}
    if args.l2 is not None and len(args.l2) > 1:
        raise CLIError("--l2 penalises the one global model of a pooled batch (--shrink, or --group-by with "
                       "several columns): give one value")
    shrink = [v for token in args.shrink or ["cv"] for v in token.split(",") if v]  # "3 10" or "3,10"
    if shrink == ["cv"]:
        value = "cv"
    elif chosen_by:
        raise CLIError(f"--shrink-grid, --cv and --cv-seed choose --shrink cv, but --shrink {' '.join(shrink)} is "
                       "given: leave them out, or give --shrink cv")
    else:
        try:
            value = [float(v) for v in shrink]
        except ValueError:
            raise CLIError(f"--shrink takes numbers >= 0 (one, or one per level), cv or none, got {' '.join(shrink)}"
                           ) from None
        value = value[0] if len(value) == 1 else value
    return dict(shrink=value, models=None, **chosen_by)


def _train_on_dask(scheduler: str, X, y, kwargs, meta):
    """Train through fastperceptron.dask on the scheduler at ADDRESS, or on a LocalCluster of N
    worker processes for ``local:N``. With --group-by the table goes as a Dask DataFrame of its named
    columns (groups are sharded by rows); else the models are sharded."""
    try:
        import distributed

        from ..dask import train as dask_train
    except ImportError:
        raise CLIError("--scheduler needs Dask: pip install 'fastperceptron[dask]'") from None
    if kwargs.get("shrink") == "cv":
        raise CLIError("--shrink cv is not available with --scheduler (it needs every fold of every level across the "
                       "shards): choose it on one machine (train --shrink cv without --scheduler; its summary "
                       "prints each level's shrink) and give the values, e.g. --shrink 2 6")
    if scheduler.startswith("local:"):
        n = scheduler.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise CLIError(f"--scheduler {scheduler!r}: write local:N with N >= 1 worker processes")
        threads = max(1, (os.cpu_count() or 1) // int(n))
        cluster = distributed.LocalCluster(n_workers=int(n), threads_per_worker=threads, dashboard_address=":0")
    else:
        cluster = None
    try:
        try:
            client = distributed.Client(cluster if cluster is not None else scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise CLIError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None
        with client:
            kwargs = dict(kwargs)
            kwargs.pop("threads", None)  # each worker uses its own threads
            transform = None
            if kwargs.get("groups") is not None and kwargs.get("standardize") and kwargs.get("shrink") is None:
                from ..problem.columns import standardization  # the whole table's statistics, as on one machine

                transform = standardization(np.asarray(X, dtype=np.float64), None, bool(kwargs.get("bias")))
                X, kwargs = transform.apply(X), dict(kwargs, standardize=False)
            if kwargs.get("groups") is not None:
                X, y, kwargs = _as_dask_table(X, y, kwargs, meta, len(client.nthreads()))
            r = dask_train(X, y, client=client, **kwargs)
            if transform is None:
                return r
            from dataclasses import replace

            W, c = transform.fold(r.weights, r.bias)
            return replace(r, weights=W, bias=c, params={**r.params, "standardize": True})
    finally:
        if cluster is not None:
            cluster.close()


def _as_dask_table(X, y, kwargs, meta, workers: int):
    """(a Dask DataFrame of the loaded table's named columns, its target column name(s), the keywords
    naming its group column(s)) for ``fastperceptron.dask.train``."""
    import dask.dataframe as dd
    import pandas as pd

    from ..problem.groups import Factorized

    groups = kwargs.pop("groups")
    levels = groups if isinstance(groups, list) else [groups]
    by = meta["group_by"] if isinstance(meta["group_by"], list) else [meta["group_by"]]
    Y = np.asarray(y).reshape(len(X), -1)
    columns = {name: X[:, j] for j, name in enumerate(meta["feature_names"])}
    columns.update({name: Y[:, k] for k, name in enumerate(meta["target_names"])})
    columns.update({name: g.labels[g.codes] if isinstance(g, Factorized) else np.asarray(g) for name, g in zip(by, levels)})
    frame = dd.from_pandas(pd.DataFrame(columns), npartitions=max(1, 2 * workers))
    kwargs.pop("fallback", None), kwargs.pop("min_rows", None)
    targets = meta["target_names"]
    return frame, targets[0] if len(targets) == 1 else targets, dict(kwargs, groups=by if len(by) > 1 or isinstance(
        groups, list) else by[0])


def _draw(result, kind: str, path, term=None) -> None:
    from .. import plot

    chosen = plot.choose(result) if kind == "auto" else kind
    if term is not None and chosen != "coef":
        raise CLIError("--term applies to --kind coef")
    options = {"term": term} if chosen == "coef" else {}
    print(f"plot             {plot.save(plot.plot(result, chosen, **options), path)} ({chosen})")


def _check_plot(args) -> None:
    """train --plot, before training: matplotlib, the figure's path, and what the kind needs."""
    from ..plot import require_matplotlib, target

    target(args.plot)
    require_matplotlib()
    needs = {"curves": (args.record_every, "--record-every K (the loss history)"),
             "sweep": ((args.lr and len(args.lr) > 1) or (args.l2 and len(args.l2) > 1),
                       "several --lr (or --l2) values, one per model"),
             "groups": (args.group_by, "--group-by COLUMN"),
             "shrink": (args.shrink or (args.group_by and "," in args.group_by), "--shrink cv and --group-by"),
             "coef": (args.cov, "--cov nonrobust (or HC0, HC1, cluster)")}
    if args.plot_kind in needs and not needs[args.plot_kind][0]:
        raise CLIError(f"--plot-kind {args.plot_kind} needs {needs[args.plot_kind][1]}")


def cmd_plot(args) -> int:
    import fastperceptron as fp
    from ..plot import require_matplotlib, target

    target(args.out)
    require_matplotlib()
    _draw(fp.load(args.model), args.kind, args.out, args.term)
    return 0


# --- the parser ---------------------------------------------------------------------------------
