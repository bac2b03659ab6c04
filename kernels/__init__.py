"""Hand-written compute kernels of fastperceptron, installed as ``fastperceptron.kernels``.

This folder is empty of kernels for now: the numpy backend (``fastperceptron.loop``) is the
reference implementation and needs none. The fused Numba CPU kernel and the CUDA sources
(``*.cu``, loaded through ``cupy.RawModule``) will live here; see README.md beside this file.
"""

from importlib import resources


def source(name: str) -> str:
    """Return the text of the kernel source file ``name`` shipped in this package.

    Raises FileNotFoundError naming the file and what is shipped when it is missing.
    """
    files = resources.files(__name__)
    path = files / name
    if not path.is_file():
        shipped = sorted(p.name for p in files.iterdir() if p.name.endswith((".cu", ".py")))
        raise FileNotFoundError(f"no kernel source {name!r} in fastperceptron.kernels (shipped: {shipped})")
    return path.read_text(encoding="utf-8")
