"""The backends (the "compute" floor): each a module or folder of layouts (:mod:`.layout`), every
layout a type that says which problems it fits, what one iteration costs (:mod:`.costs`) and how a
run starts. :mod:`fastperceptron.registry` lists them and probes which can run here; a backend never
imports another, and none is imported before it is asked for.

- :mod:`.numpy`: the reference on numpy;
- :mod:`.numba`: the Numba CPU kernels (lanes, gemm, rows, groups, solver);
- :mod:`.cuda`: CUDA GPUs through CuPy — "cupy" (the reference on CuPy arrays) and "cuda" (fused kernels).
"""
