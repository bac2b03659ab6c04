"""Hand-written compute kernels of fastperceptron, by backend, installed as ``fastperceptron.kernels``.

``numba/``: the Numba CPU kernels — ``expmath.py`` (the SIMD exponential and sigmoid every kernel
uses), ``lanes.py``, ``gemm.py``, ``groups.py`` and ``objective.py``, each named like the driver in
``fastperceptron/backend/numba/`` that calls it. ``cuda/``: the CUDA sources that
``fastperceptron/backend/cuda/`` compiles through ``cupy.RawModule`` — ``perceptron.cu``,
``groups.cu`` and their shared ``common.cuh``. Kernels import only numpy, Numba and each other.
See README.md beside this file.
"""

import re
from importlib import resources

__all__ = ["source", "cuda_source"]


def source(name: str) -> str:
    """The text of the kernel source file ``name`` (a path below this package, e.g. "cuda/groups.cu").

    Raises FileNotFoundError naming the file and what is shipped when it is missing.
    """
    path = resources.files(__name__).joinpath(*name.split("/"))
    if not path.is_file():
        folder = resources.files(__name__).joinpath(*name.split("/")[:-1])
        shipped = sorted(p.name for p in folder.iterdir() if p.name.endswith((".cu", ".cuh", ".py"))) \
            if folder.is_dir() else []
        raise FileNotFoundError(f"no kernel source {name!r} in fastperceptron.kernels (shipped there: {shipped})")
    return path.read_text(encoding="utf-8")


def cuda_source(name: str) -> str:
    """``cuda/<name>`` as one self-contained text for ``cupy.RawModule``: each ``#include "x.cuh"`` of
    this folder inlined, with ``#line`` directives so that compile errors name the right file and
    line."""
    def inline(text: str, file: str) -> str:
        out = [f'#line 1 "kernels/cuda/{file}"']
        for number, line in enumerate(text.splitlines(), start=1):
            found = re.match(r'\s*#include\s+"([\w.]+\.cuh)"', line)
            if found:
                out.append(inline(source(f"cuda/{found.group(1)}"), found.group(1)))
                out.append(f'#line {number + 1} "kernels/cuda/{file}"')
            else:
                out.append(line)
        return "\n".join(out)

    return inline(source(f"cuda/{name}"), name) + "\n"
