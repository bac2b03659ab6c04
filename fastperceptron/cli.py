"""The ``fastperceptron`` command: train and plot here; predict and export in ``cli_serve``; demo,
info and bench in ``cli_tools``.

Bad input prints one line, ``fastperceptron: error: ...``, on stderr and exits with status 2;
no traceback. Ctrl-C during ``train`` keeps the models reached so far (written with ``--out``,
marked incomplete) and exits with status 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

from . import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_MODELS = 10_000
#: models of gradient steps trained on a table of one's own (--data) when no count is given: the
#: tutorial's 10,000 seeds over 20,000 iterations would take an hour on a table of thousands of rows
DEFAULT_TABLE_MODELS = 100


class CLIError(Exception):
    """A user error found by the command line itself."""


# --- data files: fastperceptron.tables -------------------------------------------------------------
from .tables import load_data  # noqa: E402


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
    from .io import check_target

    if args.out:  # before training: a mistyped path must not cost the run
        check_target(args.out, ".npz")
    if args.plot:  # nor a missing matplotlib, a bad figure name or a kind this run cannot draw
        _check_plot(args)
    X, y, groups, meta = _training_data(args)
    kwargs = _train_arguments(args, X, groups, meta)
    with _warnings_as_they_come():
        if args.scheduler:
            r = _train_on_dask(args.scheduler, X, y, kwargs)
        else:
            import fastperceptron as fp

            r = fp.train(X, y, **kwargs)
    note = meta.pop("note", None)
    r.metadata.update(meta)
    _report(r, args, meta)
    if note:
        print(f"note             {note}")
    if args.out:
        print(f"saved            {r.save(args.out)}")
    if args.plot:
        _draw(r, args.plot_kind, args.plot)
    return 0 if r.complete else EXIT_INTERRUPTED


def _training_data(args):
    """(X, y, groups or None, metadata) of ``train``: the table of --data, else the tutorial's."""
    import fastperceptron as fp

    if args.data:
        X, y, groups, meta = load_data(args.data, args.target, args.group_by)
        meta["data"] = str(args.data)
        return X, y, groups, meta
    if args.group_by:
        raise CLIError("--group-by needs --data FILE, a table with that column")
    X, y = fp.datasets.seed()
    return X, y, None, {"data": "seed", "feature_names": ["x1", "x2", "x3"], "target_names": ["y"]}


def _train_arguments(args, X, groups, meta) -> dict:
    """fp.train's keywords from the options, with the command line's defaults: the tutorial's rate
    on its data, the stable step (``learning_rate="auto"``) on a table; 10,000 models of the tutorial
    or ``DEFAULT_TABLE_MODELS`` of a table; one model where a second-order batch would be copies."""
    from .steps import scale_warning

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
            meta["note"] = ("one model: with --solver " + args.solver + " every model of one table reaches the same "
                            "optimum, whatever its seed (--models B trains B copies; several --l2 values a sweep)")
        else:
            models = DEFAULT_TABLE_MODELS if args.data else DEFAULT_MODELS
    if args.solver == "gd" and not args.standardize and args.data:  # said now, with the columns' names
        message = scale_warning(np.asarray(X, dtype=np.float64), meta.get("feature_names"))
        if message:
            print(f"fastperceptron: warning: {message}", file=sys.stderr, flush=True)
    kwargs = dict(
        seeds=seeds, models=models, iterations=args.iterations, learning_rate=lr, rule=args.rule, bias=args.bias,
        init=args.init, dtype=args.dtype, backend=args.backend, tol=args.tol, record_every=args.record_every,
        progress=args.progress, threads=args.threads, solver=args.solver, l2=l2, standardize=args.standardize,
    )
    if groups is not None:
        kwargs["groups"] = groups
        kwargs.update(fallback=args.fallback, min_rows=args.min_rows)
    elif args.fallback or args.min_rows:
        raise CLIError("--fallback and --min-rows serve groups: give --group-by COLUMN as well")
    return kwargs


class _warnings_as_they_come:
    """Print the library's warnings on stderr as they are raised — before a long run, not after it —
    as ``fastperceptron: warning: ...``; the scale warning is printed by ``train`` itself, with the
    columns' names. Libraries' deprecation notices are not shown."""

    def __enter__(self):
        from .errors import StabilityWarning

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r".*feature column\(s\) are far from", category=StabilityWarning)
        warnings.showwarning = self._show
        return self

    @staticmethod
    def _show(message, category, filename, lineno, file=None, line=None):
        if "training interrupted" not in str(message):
            print(f"fastperceptron: warning: {message}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)


def _report(r, args, meta) -> None:
    """The summary ``train`` prints of a trained batch."""
    import fastperceptron as fp

    its = int(r.iterations.sum())
    q = np.quantile(r.loss.astype(np.float64), [0, 0.5, 1])
    print(f"backend          {r.backend} ({r.dtype})")
    print(f"models           {r.n_models:,} x {int(r.iterations.max()):,} iterations"
          + ("" if r.complete else "  (INTERRUPTED: incomplete)"))
    training = max(r.seconds - r.setup_seconds, 1e-12)
    setup = (f"  ({r.setup_seconds:.2f} s of it preparing the backend: data layout, kernel compile or load)"
             if r.setup_seconds >= 0.1 else "")
    print(f"time             {r.seconds:.3f} s{setup}")
    print(f"throughput       {its / training / 1e6:,.2f} million model-iterations/s")
    print(f"loss             min {q[0]:.4g}   median {q[1]:.4g}   max {q[2]:.4g}")
    if r.groups is not None:
        sizes = np.quantile(r.group_sizes, [0, 0.5, 1])
        print(f"groups           {r.n_models:,} by {meta['group_by']!r} ({int(r.group_sizes.sum()):,} rows; "
              f"rows per group min {sizes[0]:,.0f}, median {sizes[1]:,.0f}, max {sizes[2]:,.0f})")
        row_its = float((r.iterations * r.group_sizes).sum())
        print(f"                 {row_its / training / 1e6:,.2f} million row-iterations/s")
        if r.fallback_weights is not None:
            small = int((r.group_sizes < r.min_rows).sum())
            print(f"fallback         one model on all {int(r.group_sizes.sum()):,} rows; it serves the {small:,} groups "
                  f"under {r.min_rows:,} rows (and unseen labels with predict --unseen fallback)")
    if r.converged is not None:
        print(f"converged        {int(r.converged.sum()):,} of {r.n_models:,} models (solver {r.params['solver']!r})")
    elif args.tol is not None:
        cap = int(r.params["iterations"])
        print(f"stopped early    {int((r.iterations < cap).sum()):,} of {r.n_models:,} models")
    if r.n_features == 3 and not args.data:
        p = r.ensemble_proba(fp.datasets.NEW_SITUATION)[0]
        print(f"new situation    [1, 0, 0] -> {' '.join(f'{v:.8f}' for v in p)} (ensemble mean)")


def _train_on_dask(scheduler: str, X, y, kwargs):
    """Train through fastperceptron.dask on the scheduler at ADDRESS, or on a LocalCluster of N
    worker processes for ``local:N``."""
    try:
        import distributed

        from .dask import train as dask_train
    except ImportError:
        raise CLIError("--scheduler needs Dask: pip install 'fastperceptron[dask]'") from None
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
            return dask_train(X, y, client=client, **kwargs)
    finally:
        if cluster is not None:
            cluster.close()


def _draw(result, kind: str, path) -> None:
    from . import plot

    chosen = plot.choose(result) if kind == "auto" else kind
    print(f"plot             {plot.save(plot.plot(result, chosen), path)} ({chosen})")


def _check_plot(args) -> None:
    """train --plot, before training: matplotlib, the figure's path, and what the kind needs."""
    from .plot import _matplotlib, target

    target(args.plot)
    _matplotlib()
    needs = {"curves": (args.record_every, "--record-every K (the loss history)"),
             "sweep": ((args.lr and len(args.lr) > 1) or (args.l2 and len(args.l2) > 1),
                       "several --lr (or --l2) values, one per model"),
             "groups": (args.group_by, "--group-by COLUMN")}
    if args.plot_kind in needs and not needs[args.plot_kind][0]:
        raise CLIError(f"--plot-kind {args.plot_kind} needs {needs[args.plot_kind][1]}")


def cmd_plot(args) -> int:
    import fastperceptron as fp
    from .plot import _matplotlib, target

    target(args.out)
    _matplotlib()
    _draw(fp.load(args.model), args.kind, args.out)
    return 0


# --- the parser ---------------------------------------------------------------------------------
def _progress_flag(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show a progress bar")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")


def _positive(kind):
    """An argparse type: a number of ``kind`` (int or float) above 0."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive {'integer' if kind is int else 'number'}, got {text!r}")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _rate(text: str):
    """--lr: a number, or "auto"."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'auto', got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and a hint (``--help`` for the options), as every
    other error of the command is, instead of the whole usage text."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from .cli_serve import cmd_export, cmd_predict
    from .cli_tools import cmd_bench, cmd_demo, cmd_info
    from .plot import KINDS
    from .registry import NAMES

    backend_choices = ("auto",) + NAMES + ("numba:lanes", "numba:gemm")
    parser = _Parser(
        prog="fastperceptron",
        description="Train thousands to millions of sigmoid perceptrons at once.",
    )
    parser.add_argument("--version", action="version", version=f"fastperceptron {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    t = sub.add_parser("train", help="train a batch (default: 10,000 models on the tutorial's data)",
                       description="Train a batch of perceptrons. Without --data: the tutorial's data.")
    t.add_argument("--data", metavar="FILE",
                   help="a table (CSV with a header, or Parquet), a 2-D .npy, or a .npz with arrays X and y")
    t.add_argument("--group-by", metavar="COL", help="train one model per distinct value of this column of --data")
    t.add_argument("--target", nargs="+", metavar="COL",
                   help="target column name(s) or position(s) in a CSV/.npy (default: the last column)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--models", type=int, metavar="B",
                   help=f"train B models with seeds 0..B-1 (default {DEFAULT_MODELS:,} on the tutorial's data, "
                        f"{DEFAULT_TABLE_MODELS} on a --data table; 1 for --solver newton/lbfgs, whose models would "
                        "all be the same)")
    g.add_argument("--seeds", nargs="+", metavar="S", help="seeds, as integers or START:STOP ranges")
    t.add_argument("--iterations", type=int, metavar="T",
                   help="iterations (default 20,000 for gd, at most 100 for the solvers)")
    t.add_argument("--solver", choices=("gd", "newton", "lbfgs", "auto"), default="gd",
                   help="gd: the tutorial's gradient steps (default); newton / lbfgs: each model to its optimum "
                        "(rule logistic); auto: newton for up to 16 parameters, else lbfgs")
    t.add_argument("--l2", type=float, nargs="+", metavar="L",
                   help="L2 penalty ½·L·‖W‖² (the bias is not penalised); several values give one per model")
    t.add_argument("--lr", type=_rate, nargs="+", metavar="ETA",
                   help="gd's learning rate: a number, several (one per model: a sweep), or auto (each model's stable "
                        "step 1/L from its data); default: 1.0 on the tutorial's data, auto with --data")
    t.add_argument("--standardize", action="store_true",
                   help="train on centred and scaled columns and fold the transform back into the weights, so the "
                        "saved models are on your columns (--l2 then penalises the standardised weights)")
    t.add_argument("--rule", choices=("seed", "logistic"),
                   help="update rule (default: seed for gd; the solvers use logistic)")
    t.add_argument("--bias", action="store_true", help="learn a bias per output")
    t.add_argument("--init", choices=("uniform", "legacy"), default="uniform", help="initial weights (default: uniform)")
    t.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    t.add_argument("--backend", choices=backend_choices, default="auto")
    t.add_argument("--tol", type=float, help="stop each model once its largest update is below TOL")
    t.add_argument("--record-every", type=int, metavar="K", help="keep each model's loss every K iterations")
    t.add_argument("--threads", type=_positive(int), metavar="N", help="CPU threads of the numba backend (default: all)")
    t.add_argument("--scheduler", metavar="ADDRESS",
                   help="train across a Dask cluster (tcp://host:8786), or local:N for N local worker processes")
    t.add_argument("--fallback", action="store_true",
                   help="with --group-by: also train one model on all rows, for small groups (--min-rows) and, "
                        "when predicting with --unseen fallback, labels never seen")
    t.add_argument("--min-rows", type=int, default=0, metavar="N",
                   help="with --fallback: groups with fewer than N rows are served by the fallback model")
    t.add_argument("--out", metavar="FILE.npz", help="save the trained models")
    t.add_argument("--plot", metavar="FILE.png", help="draw the trained batch (needs matplotlib; see the plot command)")
    t.add_argument("--plot-kind", choices=KINDS, default="auto", help="what --plot draws (default: auto)")
    _progress_flag(t)
    t.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="probabilities of a saved batch for new inputs")
    p.add_argument("model", metavar="MODEL", help="a file written by train --out")
    p.add_argument("--data", metavar="FILE", help="inputs: a table (CSV with a header, or Parquet) or a 2-D .npy")
    p.add_argument("--group-by", metavar="COL",
                   help="the group column of --data (default: the one the model was trained with)")
    p.add_argument("--input", type=float, nargs="+", metavar="X", help="one input given on the command line")
    p.add_argument("--per-model", action="store_true", help="every model's probabilities, not the ensemble mean")
    p.add_argument("--unseen", choices=("error", "fallback"), default="error",
                   help="groups: a label never seen in training is an error (default) or served by the fallback "
                        "model (train --fallback); the output then has a 0/1 column 'fallback'")
    p.add_argument("--summary", action="store_true",
                   help="how much the models agree: per row and output the mean, std and --quantiles over models")
    p.add_argument("--quantiles", type=float, nargs="+", default=[0.05, 0.95], metavar="Q",
                   help="the levels --summary reports (default 0.05 0.95)")
    p.set_defaults(func=cmd_predict)

    f = sub.add_parser("plot", help="draw a saved batch: its loss, weights, learning curves, a sweep or groups",
                       description="Draw a saved batch into a PNG (or .svg, .pdf). auto chooses from what it holds: "
                                   "loss by group size for groups, a sweep when the learning rate or l2 varies, "
                                   "learning curves when it has a history (train --record-every K), else the "
                                   "distribution of the final loss.")
    f.add_argument("model", metavar="MODEL", help="a file written by train --out")
    f.add_argument("--out", metavar="FILE.png", required=True, help="the figure to write")
    f.add_argument("--kind", choices=KINDS, default="auto",
                   help="loss, weights, curves, sweep, groups or auto (default)")
    f.set_defaults(func=cmd_plot)

    e = sub.add_parser("export", help="write a saved batch as one ONNX graph, for ONNX Runtime and other languages",
                       description="Every model of a saved batch in one ONNX graph (pip install "
                                   "'fastperceptron[onnx]'). Input X (M, D); outputs probabilities (M, B, K) and/or "
                                   "the ensemble's mean and std (M, K). A groups model takes X and the rows' group "
                                   "labels and outputs (M, K), and with a fallback model which rows it served.")
    e.add_argument("model", metavar="MODEL", help="a file written by train --out")
    e.add_argument("--onnx", metavar="FILE.onnx", required=True, help="the graph to write")
    e.add_argument("--outputs", nargs="+", choices=("probabilities", "mean", "std"), default=["probabilities"],
                   help="the graph's outputs (default: probabilities)")
    e.add_argument("--dtype", choices=("float64", "float32"), help="the graph's precision (default: the model's)")
    e.add_argument("--unseen", choices=("nan", "fallback"), default="nan",
                   help="groups: labels never seen in training give NaN (default) or the fallback model's answer")
    e.set_defaults(func=cmd_export)

    d = sub.add_parser("demo", help="the tutorial, step by step, then a new situation")
    d.add_argument("--input", type=float, nargs="+", metavar="X", help="the new situation (default: ask, or 1 0 0)")
    d.add_argument("--iterations", type=int, default=20_000)
    d.add_argument("--seed", type=int, default=1, help="the tutorial's seed (default 1)")
    d.add_argument("--backend", choices=backend_choices, default="auto")
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("info", help="versions, backends and why not, CPU threads, GPUs, what auto picks",
                       description="Versions, backends, CPU and GPUs; then what backend='auto' picks for a problem "
                                   "(--data, else the tutorial's data) and why.")
    i.add_argument("--data", metavar="FILE", help="explain auto's pick for this data (as train --data reads it)")
    i.add_argument("--target", nargs="+", metavar="COL", help="target column(s) of --data")
    i.add_argument("--group-by", metavar="COL", help="one model per value of this column of --data")
    i.add_argument("--models", type=_positive(int), metavar="B", help=f"batch size (default {DEFAULT_MODELS:,} for shared data)")
    i.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    i.add_argument("--rule", choices=("seed", "logistic"), default="seed")
    i.add_argument("--threads", type=_positive(int), metavar="N", help="CPU threads (default: all)")
    i.set_defaults(func=cmd_info)

    b = sub.add_parser("bench", help="time every available backend side by side over a sweep of B")
    b.add_argument("--case", choices=("seed", "per-model", "grid", "groups"), default="seed",
                   help="seed: the tutorial's shared data; per-model: N=200, D=16 per model; grid: shared and "
                        "per-model data over N, D, K and B, every layout, and what auto picks")
    b.add_argument("--models", type=_positive(int), nargs="+", metavar="B", help="batch sizes (default depends on the case)")
    b.add_argument("--iterations", type=_positive(int), metavar="T", help="iterations per run (default depends on the case)")
    b.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    b.add_argument("--backends", nargs="+", choices=NAMES, help="which backends (default: every available one)")
    b.add_argument("--repeat", type=_positive(int), default=3, help="runs per point; the best is kept (default 3)")
    b.add_argument("--peers", action="store_true", help="also time JAX and PyTorch (pip install 'fastperceptron[peers]')")
    b.add_argument("--threads", type=_positive(int), metavar="N", help="CPU threads of the numba backend and the peers")
    b.add_argument("--plot", metavar="FILE.png", help="draw model-iterations/s against B (needs matplotlib)")
    b.add_argument("--dtypes", nargs="+", choices=("float64", "float32"), help="grid: several dtypes in one run")
    b.add_argument("--quick", action="store_true", help="grid: a few small shapes only")
    b.add_argument("--grid-data", nargs="+", choices=("shared", "per-model"), help="grid: only these kinds of data")
    b.add_argument("--groups", type=_positive(int), default=2000, metavar="G", help="groups: how many groups (default 2,000)")
    b.add_argument("--median-rows", type=_positive(float), default=47, metavar="M",
                   help="groups: median rows per group (log-normal sizes; default 47)")
    b.add_argument("--sigma", type=_positive(float), default=1.2, help="groups: the log-normal shape of the sizes (default 1.2)")
    b.add_argument("--features", type=_positive(int), default=8, metavar="D", help="groups: features per row (default 8)")
    b.set_defaults(func=cmd_bench)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .errors import FastPerceptronError

    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `fastperceptron predict ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, FastPerceptronError, ValueError, TypeError, OSError, MemoryError, EOFError, RuntimeError,
            ImportError) as exc:
        print(f"fastperceptron: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fastperceptron: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, with how to see more
        if os.environ.get("FASTPERCEPTRON_DEBUG"):
            raise
        print(f"fastperceptron: error: unexpected {type(exc).__name__}: {exc} (a bug of fastperceptron: rerun with "
              "FASTPERCEPTRON_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 1


def run() -> None:
    """Entry point of the console script."""
    sys.exit(main())
