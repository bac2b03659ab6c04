"""The structure of the source (issue 23), read from the code itself with ``ast``: each axis of
variation a folder, imports only going down the floors, no circle, no private name taken from
another folder, and no module or function too long to read in one sitting."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fastperceptron"
KERNELS = ROOT / "kernels"

#: the floors, lowest first: a module imports only from its own floor or below
FLOORS = [
    ("leaves", ["version", "errors", "options", "maths", "machine", "init", "resample", "datasets", "memory",
                "metrics", "stats"]),
    ("data", ["problem", "io", "ensemble", "serving", "result", "plot", "export"]),
    ("compute", ["reference", "solvers", "backend", "kernels", "inference"]),
    ("engine", ["registry", "planner", "runner", "pooling", "covariance", "training", "__init__"]),
    ("edges", ["sklearn", "dask", "cli", "benchmarks", "__main__"]),
]
FLOOR = {top: i for i, (_, tops) in enumerate(FLOORS) for top in tops}


def _modules() -> dict:
    """{dotted name: path} of every module of the package and of the kernels (installed as
    fastperceptron.kernels)."""
    out = {}
    for base, prefix in ((PACKAGE, "fastperceptron"), (KERNELS, "fastperceptron.kernels")):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix] + parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str):
    """(imported module, names taken, line) of every import of module ``name``, at any depth (those
    under ``if TYPE_CHECKING:`` excepted), relative imports resolved."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    here = name.split(".") if _is_package(name) else name.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [a.name for a in node.names]
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            if submodules:  # "from . import solvers": the submodule itself
                yield from ((m, [], node.lineno) for m in submodules)
                names = [n for n in names if f"{module}.{n}" not in MODULES]
                if not names:
                    continue
            yield module, names, node.lineno


def _graph() -> dict:
    return {name: {m for m, _, _ in _imports(name) if m in MODULES and m != name} for name in MODULES}


def _top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_circle():
    graph = _graph()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert circles == [], circles


def test_imports_only_go_down_the_floors():
    upward = []
    for name in MODULES:
        floor = FLOOR[_top(name)]
        for module, _, line in _imports(name):
            if module in MODULES and module != "fastperceptron" and FLOOR[_top(module)] > floor:
                upward.append(f"{name}:{line} imports {module}")
            if module == "fastperceptron" and floor < FLOOR["__init__"] and name != "fastperceptron":
                upward.append(f"{name}:{line} imports the package's face")
    assert upward == []


def test_kernels_import_only_numpy_numba_and_each_other():
    for name in (n for n in MODULES if n.startswith("fastperceptron.kernels")):
        for module, _, line in _imports(name):
            top = module.split(".")[0]
            assert top in ("numpy", "numba", "__future__", "re", "importlib", "math") or \
                module.startswith("fastperceptron.kernels"), f"{name}:{line} imports {module}"


def test_no_private_name_from_another_folder():
    taken = []
    for name in MODULES:
        folder = MODULES[name].parent
        for module, names, line in _imports(name):
            if module in MODULES and MODULES[module].parent != folder and not (
                    _is_package(module) and MODULES[module].parent.parent == folder):
                taken += [f"{name}:{line} takes {module}.{n}" for n in names if n.startswith("_") and not n.endswith("__")]
    assert taken == []


def test_importing_the_package_loads_neither_numba_nor_cupy():
    import subprocess
    import sys

    code = "import sys, fastperceptron; print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'cupy')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def _lengths(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("base, longest", [(PACKAGE, 80), (KERNELS, 120)], ids=["fastperceptron", "kernels"])
def test_no_function_too_long(base, longest):
    long = [f"{path.relative_to(ROOT)}:{line} {fn} ({n} lines)" for path in base.rglob("*.py")
            for fn, line, n in _lengths(path) if n > longest]
    assert long == []


def test_no_module_over_400_lines():
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p in list(PACKAGE.rglob("*.py")) + list(KERNELS.rglob("*.py"))
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert big == []


def test_every_import_of_the_package_names_a_module_that_exists():
    """Function-level imports too: a module moved without its importers updated fails here, not in
    the middle of a command."""
    missing = [f"{name}:{line} imports {module}" for name in MODULES for module, names, line in _imports(name)
               if module.startswith("fastperceptron") and module not in MODULES]
    assert missing == []


def test_every_name_imported_from_the_package_exists():
    import importlib

    absent = []
    for name in MODULES:
        for module, names, line in _imports(name):
            if module in MODULES and names:
                target = importlib.import_module(module)
                absent += [f"{name}:{line} takes {module}.{n}" for n in names if not hasattr(target, n)]
    assert absent == []
