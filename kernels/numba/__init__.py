"""The Numba CPU kernels, one file per driver in ``fastperceptron/backend/numba/`` (lanes, gemm,
groups, objective), all using the SIMD exponential of :mod:`.expmath`."""
