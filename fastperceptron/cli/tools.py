"""The tools: ``demo`` (the tutorial, step by step), ``info`` (versions, backends, the machine, what
``auto`` picks), ``bench`` (backends side by side) and ``example-data`` (the README's tables)."""

from __future__ import annotations

import os
import sys

import numpy as np

from ..version import __version__
from ..io.tables import load_data
from ..problem.model import default_names
from .common import DEFAULT_MODELS, CLIError


def _fmt(v: np.ndarray) -> str:
    return np.array2string(np.asarray(v), precision=8, floatmode="fixed", suppress_small=False)


def cmd_demo(args) -> int:
    import fastperceptron as fp

    X, y = fp.datasets.seed()
    T = args.iterations
    if T < 1:
        raise CLIError("--iterations must be at least 1")
    kw = dict(backend=args.backend, progress=False)
    start = fp.train(X, y, seeds=[args.seed], init="legacy", iterations=0, **kw)
    print(f"Random starting synaptic weights (np.random.seed({args.seed})):\n{_fmt(start.weights[0])}\n")
    print(f"Outputs of the first iteration:\n{_fmt(start.predict_proba(X)[0])}\n")
    # Train T - 1 iterations, read the outputs the last iteration computes, then run it.
    before = fp.train(X, y, initial_weights=start.weights[0], iterations=T - 1, **kw)
    outputs = before.predict_proba(X)[0]
    trained = fp.train(X, y, initial_weights=before.weights[0], iterations=1, **kw)
    print(f"Synaptic weights after training ({T:,} iterations):\n{_fmt(trained.weights[0])}\n")
    print(f"Outputs after training:\n{_fmt(outputs)}\n")
    if args.input is not None:
        situation = args.input
    elif sys.stdin.isatty():
        situation = []
        for i in range(3):
            text = input(f"Input {i + 1}: ")
            try:
                situation.append(float(text))
            except ValueError:
                raise CLIError(f"{text.strip()!r} is not a number") from None
    else:
        situation = list(fp.datasets.NEW_SITUATION)
    if len(situation) != 3:
        raise CLIError(f"--input needs 3 numbers, got {len(situation)}")
    print(f"New situation: input data = {' '.join(f'{v:g}' for v in situation)}")
    print(f"Output data: {trained.predict_proba(situation)[0, 0, 0]:.8f}")
    return 0


def installed_version(module: str) -> str:
    """The version of the distribution that installs the import name ``module``, by any of its names:
    CuPy is published as ``cupy`` (from source) and as one wheel per CUDA version (``cupy-cuda11x``,
    ``cupy-cuda12x``, ``cupy-cuda13x``, ...), so "14.2.0 (cupy-cuda13x)"; else "not installed"."""
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        pass
    found = []
    for name in dict.fromkeys(metadata.packages_distributions().get(module, ())):
        try:
            found.append(f"{metadata.version(name)} ({name})")
        except metadata.PackageNotFoundError:  # pragma: no cover - listed, then gone
            continue
    return ", ".join(found) or "not installed"


def cmd_info(args) -> int:
    import platform

    import fastperceptron as fp

    if args.model:
        return _describe_model(args.model)

    print(f"fastperceptron {__version__}  (Python {platform.python_version()}, {platform.platform()})")
    for pkg in ("numpy", "tqdm", "numba", "cupy", "matplotlib", "onnx", "onnxruntime"):
        print(f"  {pkg:<12} {installed_version(pkg)}")
    from ..machine import blas, usable_cpus, vector_isa

    print(f"CPU threads      {usable_cpus()} usable ({os.cpu_count()} in the machine), vector ISA {vector_isa()}")
    library, hint = blas()
    print(f"BLAS (numpy)     {library}")
    if hint:
        print(f"                 note: {hint}")
    infos = fp.backends()
    gpu = [i for i in (infos["cuda"], infos["cupy"]) if i.available]
    print(f"GPUs             {'usable through ' + gpu[0].name if gpu else 'none usable: ' + infos['cuda'].reason}")
    from ..registry import resolve_name

    try:
        chosen = resolve_name("auto")
    except Exception as exc:  # noqa: BLE001 - info reports, never fails
        chosen = f"none ({exc})"
    print(f"backend 'auto'   {chosen}")
    print("backends:")
    for info in infos.values():
        state = "available" if info.available else "unavailable"
        print(f"  {info.name:<6} {state:<12} {info.description}")
        if info.reason:
            print(f"         why: {info.reason}")
    _explain_auto(args)
    return 0


def _describe_model(path) -> int:
    """``info MODEL``: what a model file holds."""
    import fastperceptron as fp

    r = fp.load(path)
    B, D, K = r.weights.shape
    kind = f"{B:,} groups by {r.metadata.get('group_by')!r}" if r.groups is not None else f"{B:,}"
    print(f"model file       {path}")
    print(f"models           {kind}; D = {D} features, K = {K} output(s), bias {'yes' if r.bias is not None else 'no'}")
    print(f"features         {', '.join(r.feature_names) if r.feature_names else f'{D} unnamed (trained on arrays)'}")
    print(f"targets          {', '.join(r.target_names) if r.target_names else f'{K} unnamed'}")
    print(f"trained          solver {r.params.get('solver')!r}, rule {r.params.get('rule')!r}, backend {r.backend} "
          f"({r.dtype}), {r.seconds:.3g} s")
    if r.converged is not None:
        print(f"converged        {int(r.converged.sum()):,} of {B:,} models")
    if r.fallback_weights is not None:
        print(f"fallback         one model on all rows; serves groups trained on fewer than {r.min_rows} rows")
    if r.pooling is not None:
        h, p = r.pooling.hierarchy, r.pooling
        how = f"chosen by {r.params.get('cv')}-fold CV over {p.grid.size} values" if p.grid is not None else "given"
        levels = ", ".join(f"{name} ({paths.size:,}) {rho:.4g}" for name, paths, rho in zip(h.names, h.paths, p.shrink))
        print(f"pooled           shrink per level, {how}: {levels}; unseen paths served by their ancestors")
    for name, (zero, one) in (r.metadata.get("target_labels") or {}).items():
        print(f"target labels    {name!r}: {one!r} is 1, {zero!r} is 0")
    if B <= 5:
        _coefficients(r)
    return 0


def _coefficients(r) -> None:
    """The weights and bias of a small batch (at most five models), one line per input, on the
    user's columns; with a covariance (train --cov), each with its standard error and p-value."""
    B, D, K = r.weights.shape
    names = r.feature_labels
    heads = [f"{'' if B == 1 else f'model {b} '}{t}".strip()
             for b in range(B) for t in (r.target_names or default_names("y", K))]
    width = max(len(n) for n in names + ["bias"])
    stats = r.coef_table() if r.covariance is not None else None
    cell = 36 if stats is not None else 14
    print(f"coefficients     {'':<{width}}  " + "  ".join(f"{h:>{cell}}" for h in heads)
          + ("  (estimate, std. error, p-value; cov " + repr(r.params.get("cov")) + ")" if stats is not None else ""))
    rows = [(n, d) for d, n in enumerate(names)] + ([("bias", D)] if r.bias is not None else [])
    for name, j in rows:
        values = r.weights[:, j, :] if j < D else r.bias
        if stats is None:
            print(f"                 {name:<{width}}  " + "  ".join(f"{v:>14.6g}" for v in values.reshape(-1)))
            continue
        cells = [f"{v:>12.6g} {se:>11.4g} {p:>11.3g}" for v, se, p in
                 zip(values.reshape(-1), stats.std_error[:, :, j].reshape(-1), stats.p_value[:, :, j].reshape(-1))]
        print(f"                 {name:<{width}}  " + "  ".join(cells))


def _explain_auto(args) -> None:
    """What "auto" picks, and why: for --data (with --models/--dtype/--rule) or the tutorial's data."""
    import fastperceptron as fp

    if args.data:
        X, y, groups, _ = load_data(args.data, args.target, args.group_by)
        what = args.data
    else:
        X, y = fp.datasets.seed()
        what = "the tutorial's data"
    if args.data and groups is not None:
        plan = fp.explain(X, y, groups=groups, dtype=args.dtype, rule=args.rule, threads=args.threads)
    else:
        models = args.models if args.models is not None else (None if np.ndim(X) == 3 else DEFAULT_MODELS)
        plan = fp.explain(X, y, models=models, dtype=args.dtype, rule=args.rule, threads=args.threads)
    print(f"auto, for {what}:")
    print("  " + str(plan).replace("\n", "\n  "))


def cmd_bench(args) -> int:
    from ..benchmarks.sweep import plot, run_grid, run_sweep

    peers = True if args.peers == [] else args.peers  # --peers alone: every peer; --peers NAME ...: those
    if args.case == "groups":
        from ..benchmarks.groups import run_groups

        run_groups(groups=args.groups, median=args.median_rows, sigma=args.sigma, features=args.features,
                   iterations=args.iterations or 200, backends=args.backends, repeat=args.repeat, peers=peers,
                   out=sys.stdout)
        return 0
    if args.case == "grid":
        run_grid(dtypes=args.dtypes or [args.dtype], peers=peers, repeat=args.repeat, quick=args.quick,
                 out=sys.stdout, threads=args.threads, data_kinds=args.grid_data)
        return 0
    rows = run_sweep(
        case=args.case, models=args.models, iterations=args.iterations, dtype=args.dtype,
        backends=args.backends, repeat=args.repeat, out=sys.stdout, peers=peers, threads=args.threads,
    )
    if args.plot:
        try:
            print(f"plot             {plot(rows, args.plot)}")
        except ImportError as exc:  # the table is the result; a figure is extra
            print(f"plot             not drawn: {exc}")
    return 0


def cmd_example_data(args) -> int:
    """Write the README's example tables into --dir (default: here)."""
    import fastperceptron as fp

    written = fp.datasets.write_examples(args.dir)
    for path in written:
        print(f"wrote            {path}")
    if not any(str(p).endswith(".parquet") for p in written):
        print("note             the Parquet tables need pyarrow: pip install 'fastperceptron[tables]'")
    return 0

