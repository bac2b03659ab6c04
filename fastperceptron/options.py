"""The keywords of :func:`fastperceptron.train`: their names, defaults and documentation, written once.

``train`` (its signature and docstring are made from :data:`OPTIONS`), ``explain``,
``fastperceptron.dask.train``, the fallback model of a groups batch and the command line all take
these keywords; :func:`bind` checks a call's keywords against them and fills in the defaults. Each
option has a ``role``: "problem" (what is trained: read by ``fastperceptron.problem.make_problem``),
"run" (how: the backend, threads, progress), "groups" (a groups batch's fallback model), "pooling"
(partial pooling over a hierarchy: :mod:`fastperceptron.pooling`), "inference" (each model's
covariance: :mod:`fastperceptron.inference`) or "table" (which columns of a table: read by
``fastperceptron.io.frames.training_data``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

__all__ = ["Option", "OPTIONS", "NAMES", "bind", "signature", "docstring", "problem_options"]


@dataclass(frozen=True)
class Option:
    name: str
    default: object
    role: str
    doc: str


OPTIONS = (
    Option("target", None, "table", """with X a table (pandas, polars — also a LazyFrame — or pyarrow): the name of the
target column, or a list of names for K outputs (``y`` is then left out)."""),
    Option("features", None, "table", """with X a table: the feature columns, in the models' order (default: every column
not named by ``target``, ``groups`` or ``sample_weight``; each must hold numbers). The result
keeps the names (``result.feature_names``) and ``predict_proba`` reads new tables by them."""),
    Option("drop", None, "table", """with X a table: columns to leave out of the default features (an id, a date, free
text)."""),
    Option("categorical", None, "table", """with X a table: text (or integer-label) columns to one-hot encode, one 0/1 input
per level (named ``"column=level"``, levels sorted as strings, all kept). The levels are saved with
the model; predicting a row of a level never seen gives 0 in all of its column's inputs. Any other
feature column that holds no numbers is refused, all of them in one message."""),
    Option("positive", None, "table", """with X a table whose target column holds two labels that are not 0/1 (``"yes"`` and
``"no"``): the label that is 1 (default: the second in sorted order, as scikit-learn's
``LabelEncoder``); ``result.metadata["target_labels"]`` keeps both."""),
    Option("seeds", None, "problem", """B non-negative ints, one per model. ``models=B`` means seeds 0..B-1. B may equally come
from a 3-D X or y, a 3-D ``initial_weights``, a 2-D ``sample_weight`` or a 1-D
``learning_rate``; all that carry it must agree. Without any of them, B = 1 (seed 0)."""),
    Option("models", None, "problem", "the number of models B, with seeds 0..B-1."),
    Option("iterations", None, "problem", """how many updates to run: full-batch gradient steps (default 20,000), or the cap on
the iterations of solver "newton" or "lbfgs" (default 100)."""),
    Option("learning_rate", None, "problem", """a scalar, or one per model (B,) for a sweep (default 1.0, the tutorial's), or
``"auto"``: each model's stable step 1 / (Σ_n s_n·(‖x_n‖² + bias) / 4 + l2), the inverse of a
bound on its loss's curvature (:mod:`fastperceptron.problem.steps`). Updates sum over the rows,
so a fixed rate that suits the tutorial's 4 rows diverges on a real table: a rate above the
data's stable bound is warned about before training. For solver "gd" only: the other solvers
choose their steps by a line search."""),
    Option("rule", None, "problem", """``"seed"`` (the tutorial's Δ = (y - o)·o·(1 - o), the default of solver "gd") or
``"logistic"`` (Δ = y - o, the gradient of the cross-entropy; the only rule of the other
solvers, and their default)."""),
    Option("bias", False, "problem", "learn a bias c_b per output (starts at 0)."),
    Option("sample_weight", None, "problem", """(N,) or (B, N), >= 0 (with X a table, also the name of a column): 0/1 masks for ragged data padded to one N, integer counts
for bootstrap resamples, or any other weights."""),
    Option("init", "uniform", "problem", """``"uniform"`` (fast counter-based, in [-1, 1), a pure function of each model's seed) or
``"legacy"`` (the tutorial's ``np.random.seed(s)`` numbers, bit for bit)."""),
    Option("initial_weights", None, "problem", "(D, K) for all models or (B, D, K); overrides ``init``."),
    Option("dtype", "float64", "problem", '``"float64"`` or ``"float32"``.'),
    Option("backend", "auto", "run", """``"auto"``, ``"numpy"``, ``"numba"``, ``"cupy"`` or ``"cuda"``; ``"numba:lanes"``,
``"numba:gemm"`` or ``"numba:rows"`` also fix the numba backend's layout. ``"auto"`` is
``$FASTPERCEPTRON_BACKEND`` when set, else the backend and layout that
:func:`fastperceptron.explain` reports as fastest for this problem here."""),
    Option("tol", None, "problem", """solver "gd": a model stops once the largest |update| of an iteration falls below ``tol``
(that iteration is applied and counted); its weights then freeze and ``iterations`` records
its count. The run ends when every model has stopped. Solvers "newton" and "lbfgs": the
convergence tolerance on the gradient of the mean loss (default 1e-10 in float64, 1e-5 in
float32; see :mod:`fastperceptron.solvers` for the exact criterion)."""),
    Option("record_every", None, "problem",
           "keep each model's loss every k iterations, in ``history`` (B, iterations // k)."),
    Option("progress", None, "run", """show a progress bar (True/False); None shows one on a terminal once a run has
lasted two seconds."""),
    Option("chunk_iterations", None, "run", """iterations per chunk between progress updates; None adapts it to about a
quarter of a second. Results never depend on it."""),
    Option("threads", None, "run", """CPU threads of the numba backend (default: all that Numba may use, which
``NUMBA_NUM_THREADS`` sets). Results never depend on it. Ignored by the other backends."""),
    Option("groups", None, "problem", """(N,) one label per row of X (integers or strings; numpy, a list, a pandas or polars
Series, a pandas Categorical; with X a table, also the name of its label column): one model per distinct label, in sorted label order, trained on its own rows
only, in their original order (SPEC §6). X is then (N, D), y (N,) or (N, K) and
``sample_weight`` (N,); ``seeds``, ``learning_rate`` and ``initial_weights`` are per group
(G,), or one value for all. ``result.groups`` holds the labels; predict a table with
``result.predict_proba(X_new, groups=g_new)``. A list of label arrays (with a table, of column
names), outermost first — ``groups=[region, store]`` — is a hierarchy for partial pooling
(``shrink``, SPEC §8): one model per path ("region/store"), each pulled toward its parent's."""),
    Option("solver", "gd", "problem", """``"gd"`` (default: fixed-rate gradient steps, the tutorial's update), ``"newton"``
(exact Newton steps with a line search: few iterations; for small D, its Hessian costs
N·(D+1)² per model), ``"lbfgs"`` (limited-memory quasi-Newton: gradient work only; for
larger D) or ``"auto"`` (Newton up to 32 parameters per output — 16 for an ensemble on one shared
table, where L-BFGS starts from the pooled optimum — else L-BFGS). The second-
order solvers take each model to the minimum of its cross-entropy plus the L2 penalty
(SPEC §7) on your own columns, whatever their units, stop each model when it has converged
and record which did and why the others stopped in ``result.converged`` and
``result.stop_reason``; the models that did not converge are counted in one warning, with
each cause's fix."""),
    Option("l2", 0.0, "problem", """the L2 penalty λ ≥ 0 on the weights (not the bias): a scalar or one per model (B,). The
solvers minimise Σ s·cross-entropy + ½·λ·‖W‖² (scikit-learn's ``C`` is 1/λ); solver "gd"
steps W += η·(Xᵀ·Δ − λ·W)."""),
    Option("fallback", False, "groups", """with ``groups``: also train one model on all rows (seed 0, the batch's other
hyperparameters, which must then be one value for all groups), kept in the result as its
fallback model. It serves the rows of groups trained on fewer than ``min_rows`` rows, and
labels never seen in training when predicting with ``unseen="fallback"`` (the way
scikit-lego's ``GroupedPredictor`` falls back to a global model). Attach one trained
otherwise with ``result.with_fallback(model, min_rows)``."""),
    Option("min_rows", 0, "groups",
           "groups with fewer training rows are served by the fallback model (default 0: none)."),
    Option("shrink", None, "pooling", """partial pooling (SPEC §8): each group's model minimises its rows' loss plus
½·shrink·‖θ − θ_parent‖² (θ = (w, c), the bias included), pulled toward its parent's model —
with ``groups=[outer, …, inner]`` the level above, with one level the global model (itself
penalised toward 0 by ``l2``). One number, one per level (outermost first), or ``"cv"``: chosen
per level by ``cv``-fold cross-validation over ``shrink_grid``. 0 is the unpooled per-group fit,
a large value the parent's. Default: None — no pooling for one level of groups, ``"cv"`` for a
hierarchy. The solver is "auto" unless given; solver "gd" steps W += η·(Xᵀ·Δ − ρ·(W − A)) (and
the bias alike) from the parent's model A. A path never seen in training is predicted by its
deepest seen ancestor (``predict_proba(..., unseen=)``)."""),
    Option("shrink_grid", None, "pooling", """the values ``shrink="cv"`` tries (default: 15 values, half a decade apart,
10⁻³ … 10⁴), all trained in one batch per level."""),
    Option("cv", 5, "pooling", "the number of folds of ``shrink=\"cv\"`` (rows split within each group)."),
    Option("seed", 0, "pooling", "the seed of ``shrink=\"cv\"``'s folds: the same seed, the same folds."),
    Option("cov", None, "inference", """each model's covariance of (weights, bias) at its optimum (SPEC §9), for
``result.coef_table()`` (standard errors, z, p-values, intervals, q-values): ``"nonrobust"``
(H⁻¹, the penalised Hessian's inverse), ``"HC0"`` or ``"HC1"`` (the sandwich H⁻¹·M·H⁻¹, HC1
scaled by N/(N − P)), or ``"cluster"`` (with ``clusters``). Each model's own rows (a group's, for
groups); a pooled batch's pull is in the Hessian (the parent held fixed). Needs a second-order
solver; models that did not converge get NaN. With a penalty the covariance is the curvature of
the penalised objective (a Laplace approximation), not a frequentist one. Default None: none (no
extra cost)."""),
    Option("clusters", None, "inference", """with ``cov="cluster"``: one cluster label per row (an array, or with X a table the
name of its column); each model's clusters are those among its rows."""),
    Option("cov_keep", "full", "inference", """``"full"``: each model's (P, P) covariance; ``"diag"``: only its diagonal (the
variances: standard errors, z, p-values and intervals, not the delta-method intervals of
``predict_proba(..., interval=)``), for batches whose B·K·P² numbers would not fit in memory."""),
    Option("standardize", False, "problem", """(or one bool per feature column: those only; with ``categorical=``, True leaves the
one-hot inputs as 0/1, so that ``l2`` shrinks a rare level's weight as much as a common one's)
train on centred and scaled columns — each column's mean and standard deviation
over the training rows, weighted by ``sample_weight`` (its mean over models when each model
has its own; over all rows for groups; per model for one dataset per model; without a bias
the columns are only scaled, by their root mean square) — and fold the transform back into
every model's weights and bias, so that the result, its files and its ONNX graph are on your
columns (:mod:`fastperceptron.problem.columns`). ``l2`` then penalises the weights of the
standardised columns, and ``initial_weights`` are given on your columns. Without it, the
solvers still reach the optimum on your columns whatever their units; gradient steps on
columns far from unit scale are warned about."""),
)

NAMES = tuple(o.name for o in OPTIONS)
_BY_NAME = {o.name: o for o in OPTIONS}


ALL = ("table", "problem", "run", "groups", "pooling", "inference")


def bind(function: str, given: dict, roles=ALL) -> dict:
    """``given`` with every option of ``roles`` filled in with its default; a keyword that is not
    one of them is a TypeError, as Python's own for an unknown keyword argument."""
    allowed = {o.name for o in OPTIONS if o.role in roles}
    unknown = [name for name in given if name not in allowed]
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}")
    return {o.name: given.get(o.name, o.default) for o in OPTIONS if o.role in roles}


def problem_options(options: dict) -> dict:
    """The options of ``options`` that describe the problem (``make_problem``'s keywords)."""
    return {name: value for name, value in options.items() if _BY_NAME[name].role == "problem"}


def signature(roles=ALL) -> inspect.Signature:
    """``(X, y=None, *, <options of roles>)``, with their defaults."""
    positional = [inspect.Parameter("X", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                  inspect.Parameter("y", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
    keywords = [inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default)
                for o in OPTIONS if o.role in roles]
    return inspect.Signature(positional + keywords)


def docstring(summary: str, before: str, after: str = "", roles=ALL) -> str:
    """A numpy-style docstring: ``summary``, the Parameters section (``before``: the parameters
    that come first, already formatted; then every option of ``roles``), and ``after``."""
    lines = [summary, "", "Parameters", "----------", before.rstrip()]
    for o in OPTIONS:
        if o.role in roles:
            body = o.doc.splitlines()
            lines.append(f"{o.name} : {body[0]}")
            lines += ["    " + line for line in body[1:]]
    if after:
        lines += ["", after.strip()]
    return "\n".join(lines) + "\n"
