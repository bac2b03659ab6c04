"""Hand-written compute kernels of fastperceptron, installed as ``fastperceptron.kernels``.

``numba_kernel.py`` is the fused Numba CPU kernel (the "lanes" layout), ``numba_gemm.py`` the
fused elementwise pass of the "gemm" layout, ``numba_groups.py`` the kernels of the "groups"
layout; ``perceptron.cu`` the CUDA source that ``fastperceptron.gpu`` compiles through
``cupy.RawModule``, ``groups.cu`` its counterpart for groups (``fastperceptron.gpu_groups``). The numpy backend
(``fastperceptron.loop``) is the reference and needs no kernel. See README.md beside this file.
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
