"""The ``fastperceptron`` command's argument parser: one function per command (whose options they
are), a one-line error for a usage mistake."""

from __future__ import annotations

import argparse

from ..version import __version__
from ..plot import KINDS
from ..problem.model import DTYPES, RULES, SOLVERS
from ..stats import COV_TYPES
from ..registry import NAMES
from . import serve, tools, train
from .common import DEFAULT_MODELS, DEFAULT_TABLE_MODELS, Parser, positive, progress_flag, rate

__all__ = ["build_parser"]

BACKEND_CHOICES = ("auto",) + NAMES + ("numba:lanes", "numba:gemm", "numba:rows")


def build_parser() -> Parser:
    parser = Parser(
        prog="fastperceptron",
        description="Train thousands to millions of sigmoid perceptrons at once.",
    )
    parser.add_argument("--version", action="version", version=f"fastperceptron {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for add in (_train, _predict, _coef, _plot, _export, _demo, _info, _bench, _example_data):
        add(sub)
    return parser


def _train(sub) -> None:
    """train: a batch on the tutorial's data or a table."""
    t = sub.add_parser("train", help="train a batch (default: 10,000 models on the tutorial's data)",
                       description="Train a batch of perceptrons. Without --data: the tutorial's data.")
    _table_flags(t.add_argument_group("the table", "what --data holds and which of its columns the models read"))
    _model_flags(t)
    _output_flags(t.add_argument_group("statistics and output"))
    progress_flag(t)
    t.set_defaults(func=train.cmd_train)


def _table_flags(t) -> None:
    """train: --data and its columns, groups and pooling."""
    t.add_argument("--data", metavar="FILE",
                   help="a table (CSV with a header, or Parquet), a 2-D .npy, or a .npz with arrays X and y")
    t.add_argument("--group-by", metavar="COL",
                   help="train one model per distinct value of this column of --data; several columns joined by "
                        "commas (region,store) are a hierarchy, outermost first, for partial pooling (--shrink)")
    t.add_argument("--shrink", nargs="+", action="extend", metavar="RHO",
                   help="partial pooling (SPEC §8): pull each group's model toward its parent's by ½·RHO·‖θ′ − θ′_parent‖² "
                        "in standard units; one value, one per level, cv (chosen by cross-validation: the default with "
                        "--group-by), or none (each group its own model, unpooled)")
    t.add_argument("--shrink-grid", type=float, nargs="+", metavar="RHO",
                   help="the values --shrink cv tries (default: 15 from 1e-3 to 1e4)")
    t.add_argument("--cv", type=positive(int), metavar="K", help="folds of --shrink cv (default 5)")
    t.add_argument("--cv-seed", type=int, metavar="S", help="seed of --shrink cv's folds (default 0)")
    t.add_argument("--target", nargs="+", action="extend", metavar="COL",
                   help="target column name(s) or position(s) in a CSV/.npy (default: the last column)")
    t.add_argument("--features", nargs="+", action="extend", metavar="COLS",
                   help="the feature columns of --data, in the models' order (names or positions, joined by "
                        "commas or spaces; default: every column that is not the target, --group-by or --drop)")
    t.add_argument("--drop", nargs="+", action="extend", metavar="COLS",
                   help="columns of --data to leave out (an id, a date, free text), joined by commas or spaces")
    t.add_argument("--categorical", nargs="+", action="extend", metavar="COLS",
                   help="text columns of --data to one-hot encode: one 0/1 input per level (column=level), the levels "
                        "saved with the model; a level never seen in training predicts with 0 in all of them")
    t.add_argument("--positive", metavar="LABEL",
                   help="for a target of two text labels (yes/no): the one that is 1 (default: the second in sorted "
                        "order)")


def _model_flags(t) -> None:
    """train: the models, the solver and the run."""
    g = t.add_mutually_exclusive_group()
    g.add_argument("--models", type=int, metavar="B",
                   help=f"train B models with seeds 0..B-1 (default {DEFAULT_MODELS:,} on the tutorial's data, "
                        f"{DEFAULT_TABLE_MODELS} on a --data table; 1 for --solver newton/lbfgs, whose models would "
                        "all be the same)")
    g.add_argument("--seeds", nargs="+", metavar="S", help="seeds, as integers or START:STOP ranges")
    t.add_argument("--iterations", type=int, metavar="T",
                   help="iterations (default 20,000 for gd, at most 100 for the solvers)")
    t.add_argument("--solver", choices=SOLVERS,
                   help="gd: the tutorial's gradient steps (the default on its data); newton / lbfgs: each model to "
                        "its optimum (rule logistic); auto (the default with --data): newton for up to 32 parameters "
                        "(16 for an ensemble on one table), else lbfgs")
    t.add_argument("--l2", type=float, nargs="+", metavar="L",
                   help="L2 penalty ½·L·‖W‖² (the bias is not penalised); several values give one per model "
                        "(default: 1 with --data — scikit-learn's C = 1, on the standardised columns —, 0 on the "
                        "tutorial's data)")
    t.add_argument("--lr", type=rate, nargs="+", metavar="ETA",
                   help="gd's learning rate: a number, several (one per model: a sweep), or auto (each model's stable "
                        "step 1/L from its data); default: 1.0 on the tutorial's data, auto with --data")
    t.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                   help="train on centred and scaled columns and fold the transform back into the weights, so the "
                        "saved models are on your columns (--l2 then penalises the standardised weights; default: on "
                        "with --data, off on the tutorial's data)")
    t.add_argument("--rule", choices=RULES,
                   help="update rule (default: logistic with --data, the tutorial's seed on its data; the solvers "
                        "use logistic)")
    t.add_argument("--bias", action=argparse.BooleanOptionalAction, default=None,
                   help="learn a bias per output (default: on with --data, off on the tutorial's data)")
    t.add_argument("--init", choices=("uniform", "legacy"), default="uniform", help="initial weights (default: uniform)")
    t.add_argument("--dtype", choices=DTYPES, default="float64")
    t.add_argument("--backend", choices=BACKEND_CHOICES, default="auto")
    t.add_argument("--tol", type=float, help="stop each model once its largest update is below TOL")
    t.add_argument("--record-every", type=int, metavar="K", help="keep each model's loss every K iterations")
    t.add_argument("--threads", type=positive(int), metavar="N", help="CPU threads of the numba backend (default: all)")
    t.add_argument("--scheduler", metavar="ADDRESS",
                   help="train across a Dask cluster (tcp://host:8786), or local:N for N local worker processes")
    t.add_argument("--fallback", action="store_true",
                   help="with --group-by: also train one model on all rows, for small groups (--min-rows) and, "
                        "when predicting with --unseen fallback, labels never seen")
    t.add_argument("--min-rows", type=int, default=0, metavar="N",
                   help="with --fallback: groups with fewer than N rows are served by the fallback model")


def _output_flags(t) -> None:
    """train: statistics, validation, the saved file and the figure."""
    t.add_argument("--cov", choices=COV_TYPES,
                   help="each model's covariance at its optimum, saved with it (SPEC §9): standard errors, p-values, "
                        "intervals and q-values for fastperceptron coef MODEL and predictions' --interval")
    t.add_argument("--cluster", metavar="COL", help="with --cov cluster: the column of cluster labels (no feature)")
    t.add_argument("--validate", type=float, metavar="FRACTION",
                   help="hold out this share of the rows (within each group; seed 0) and print their log-loss, "
                        "accuracy and AUC (per group: the median and the worst); the models are trained, and saved, "
                        "without them")
    t.add_argument("--out", metavar="FILE.npz", help="save the trained models")
    t.add_argument("--plot", metavar="FILE.png", help="draw the trained batch (needs matplotlib; see the plot command)")
    t.add_argument("--plot-kind", choices=KINDS, default="auto", help="what --plot draws (default: auto)")


def _predict(sub) -> None:
    """predict: probabilities of a saved batch for new inputs."""
    p = sub.add_parser("predict", help="probabilities of a saved batch for new inputs")
    p.add_argument("model", metavar="MODEL", help="a file written by train --out")
    p.add_argument("--data", metavar="FILE", help="inputs: a table (CSV with a header, or Parquet) or a 2-D .npy")
    p.add_argument("--group-by", metavar="COL",
                   help="the group column of --data, or a pooled model's columns joined by commas (default: the "
                        "one(s) the model was trained with)")
    p.add_argument("--input", type=float, nargs="+", metavar="X", help="one input given on the command line")
    p.add_argument("--out", metavar="FILE",
                   help="write the predictions to a CSV (.csv) or Parquet (.parquet) file, one row per input row in "
                        "its order (default: CSV on the standard output)")
    p.add_argument("--keep", nargs="+", action="extend", metavar="COLS",
                   help="columns of --data to carry through to the predictions (an id), before them")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="also a 0/1 column <target>_pred: 1 where the probability is at least T")
    p.add_argument("--interval", type=float, metavar="LEVEL",
                   help="also <target>_low and <target>_high: each probability's delta-method interval of this "
                        "coverage (e.g. 0.95; a model trained with --cov)")
    p.add_argument("--per-model", action="store_true", help="every model's probabilities, not the ensemble mean")
    p.add_argument("--unseen", choices=("error", "fallback", "parent"),
                   help="groups: a label never seen in training is an error (default) or served by the fallback "
                        "model (train --fallback; the output then has a 0/1 column 'fallback'); a pooled model: a "
                        "path never seen is served by its deepest seen ancestor (parent, the default) or an error; "
                        "the output then has a column 'level' (0: the global model)")
    p.add_argument("--summary", action="store_true",
                   help="how much the models agree: per row and output the mean, std and --quantiles over models")
    p.add_argument("--quantiles", type=float, nargs="+", default=[0.05, 0.95], metavar="Q",
                   help="the levels --summary reports (default 0.05 0.95)")
    p.set_defaults(func=serve.cmd_predict)


def _coef(sub) -> None:
    """coef: every model's coefficients with their statistics."""
    c = sub.add_parser("coef", help="every model's coefficients with standard errors, p-values, intervals, q-values",
                       description="The long table of a model trained with --cov (SPEC §9): one row per model, output "
                                   "and term, with the group column(s), term, estimate, std_error, z, p_value, "
                                   "ci_low, ci_high and q_value (Benjamini-Hochberg over the models, per term).")
    c.add_argument("model", metavar="MODEL", help="a file written by train --cov ... --out")
    c.add_argument("--out", metavar="FILE", help="write it to a CSV (.csv) or Parquet (.parquet) file (default: stdout)")
    c.add_argument("--alpha", type=float, default=0.05, help="the intervals' 1 - coverage (default 0.05: 95 %%)")
    c.set_defaults(func=serve.cmd_coef)


def _plot(sub) -> None:
    """plot: a saved batch drawn."""
    f = sub.add_parser("plot", help="draw a saved batch: its loss, weights, learning curves, a sweep, groups or coefficients",
                       description="Draw a saved batch into a PNG (or .svg, .pdf). auto chooses from what it holds: "
                                   "loss by group size for groups, a sweep when the learning rate or l2 varies, "
                                   "learning curves when it has a history (train --record-every K), else the "
                                   "distribution of the final loss.")
    f.add_argument("model", metavar="MODEL", help="a file written by train --out")
    f.add_argument("--out", metavar="FILE.png", required=True, help="the figure to write")
    f.add_argument("--kind", choices=KINDS, default="auto",
                   help="loss, weights, curves, sweep, groups, shrink, coef or auto (default)")
    f.add_argument("--term", metavar="NAME", help="--kind coef: the feature (or bias) drawn across models "
                                                  "(default: the first)")
    f.set_defaults(func=train.cmd_plot)


def _export(sub) -> None:
    """export: a saved batch as one ONNX graph."""
    e = sub.add_parser("export", help="write a saved batch as one ONNX graph, for ONNX Runtime and other languages",
                       description="Every model of a saved batch in one ONNX graph (pip install "
                                   "'fastperceptron[onnx]'). Input X (M, D); outputs probabilities (M, B, K) and/or "
                                   "the ensemble's mean and std (M, K). A groups model takes X and the rows' group "
                                   "labels and outputs (M, K), and with a fallback model which rows it served.")
    e.add_argument("model", metavar="MODEL", help="a file written by train --out")
    e.add_argument("--out", "--onnx", dest="onnx", metavar="FILE.onnx", required=True, help="the graph to write")
    e.add_argument("--outputs", nargs="+", choices=("probabilities", "mean", "std"), default=["probabilities"],
                   help="the graph's outputs (default: probabilities)")
    e.add_argument("--dtype", choices=DTYPES, help="the graph's precision (default: the model's)")
    e.add_argument("--unseen", choices=("nan", "fallback", "parent"),
                   help="groups: labels never seen in training give NaN (default) or the fallback model's answer; "
                        "a pooled model: paths never seen are served by their deepest seen ancestor (parent, the "
                        "default) or give NaN")
    e.set_defaults(func=serve.cmd_export)


def _demo(sub) -> None:
    """demo: the tutorial, step by step."""
    d = sub.add_parser("demo", help="the tutorial, step by step, then a new situation",
                       description="The tutorial (one neuron, three inputs, the 4 x 3 table) step by step: the random "
                                   "starting weights (np.random.seed(1)), the outputs of the first iteration, the "
                                   "weights and outputs after training, then the trained neuron's answer for a new "
                                   "situation (--input, or asked on a terminal, else 1 0 0). The figures are SPEC §1's.")
    d.add_argument("--input", type=float, nargs="+", metavar="X", help="the new situation (default: ask, or 1 0 0)")
    d.add_argument("--iterations", type=int, default=20_000)
    d.add_argument("--seed", type=int, default=1, help="the tutorial's seed (default 1)")
    d.add_argument("--backend", choices=BACKEND_CHOICES, default="auto")
    d.set_defaults(func=tools.cmd_demo)


def _info(sub) -> None:
    """info: versions, backends, the machine, what auto picks."""
    i = sub.add_parser("info", help="versions, backends and why not, CPU threads, GPUs, what auto picks; or a model",
                       description="Versions, backends, CPU and GPUs; then what backend='auto' picks for a problem "
                                   "(--data, else the tutorial's data) and why. With a model file: what it holds "
                                   "(its models, columns, solver and outcome).")
    i.add_argument("model", nargs="?", metavar="MODEL", help="a model file (.npz) to describe instead")
    i.add_argument("--data", metavar="FILE", help="explain auto's pick for this data (as train --data reads it)")
    i.add_argument("--target", nargs="+", metavar="COL", help="target column(s) of --data")
    i.add_argument("--group-by", metavar="COL", help="one model per value of this column of --data")
    i.add_argument("--models", type=positive(int), metavar="B", help=f"batch size (default {DEFAULT_MODELS:,} for shared data)")
    i.add_argument("--dtype", choices=DTYPES, default="float64")
    i.add_argument("--rule", choices=RULES, default="seed")
    i.add_argument("--threads", type=positive(int), metavar="N", help="CPU threads (default: all)")
    i.set_defaults(func=tools.cmd_info)


def _bench(sub) -> None:
    """bench: every available backend timed side by side."""
    b = sub.add_parser("bench", help="time every available backend side by side over a sweep of B")
    b.add_argument("--case", choices=("seed", "per-model", "grid", "groups"), default="seed",
                   help="seed: the tutorial's shared data; per-model: N=200, D=16 per model; grid: shared and "
                        "per-model data over N, D, K and B, every layout, and what auto picks")
    b.add_argument("--models", type=positive(int), nargs="+", metavar="B", help="batch sizes (default depends on the case)")
    b.add_argument("--iterations", type=positive(int), metavar="T", help="iterations per run (default depends on the case)")
    b.add_argument("--dtype", choices=DTYPES, default="float64")
    b.add_argument("--backends", nargs="+", choices=NAMES, help="which backends (default: every available one)")
    b.add_argument("--repeat", type=positive(int), default=3, help="runs per point; the best is kept (default 3)")
    b.add_argument("--peers", nargs="*", choices=("jax", "torch", "sklearn"), metavar="NAME",
                   help="also time the peers: JAX and PyTorch (groups: JAX and scikit-learn), or only those named "
                        "(pip install 'fastperceptron[peers]'); on the GPU when a GPU backend is timed")
    b.add_argument("--threads", type=positive(int), metavar="N", help="CPU threads of the numba backend and the peers")
    b.add_argument("--plot", metavar="FILE.png", help="draw model-iterations/s against B (needs matplotlib)")
    b.add_argument("--dtypes", nargs="+", choices=DTYPES, help="grid: several dtypes in one run")
    b.add_argument("--quick", action="store_true", help="grid: a few small shapes only")
    b.add_argument("--grid-data", nargs="+", choices=("shared", "per-model"), help="grid: only these kinds of data")
    b.add_argument("--groups", type=positive(int), default=2000, metavar="G", help="groups: how many groups (default 2,000)")
    b.add_argument("--median-rows", type=positive(float), default=47, metavar="M",
                   help="groups: median rows per group (log-normal sizes; default 47)")
    b.add_argument("--sigma", type=positive(float), default=1.2, help="groups: the log-normal shape of the sizes (default 1.2)")
    b.add_argument("--features", type=positive(int), default=8, metavar="D", help="groups: features per row (default 8)")
    b.set_defaults(func=tools.cmd_bench)


def _example_data(sub) -> None:
    """example-data: the README's example tables."""
    x = sub.add_parser("example-data", help="write the README's example tables (customers.csv, raw.csv, sales.csv, ...)",
                       description="Write the example tables the README's commands use into a folder: customers.csv "
                                   "(20,000 customers: raw columns, a text date and segment, regions and stores, "
                                   "churn), raw.csv, sales.csv, new.csv, d.csv, rows.csv, new_stores.csv, and with "
                                   "pyarrow their Parquet versions and stores.parquet. The same files every time.")
    x.add_argument("--dir", default=".", metavar="DIR", help="the folder to write into (default: the current one)")
    x.set_defaults(func=tools.cmd_example_data)

