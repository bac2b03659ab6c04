"""The "numba" backend: fused, parallel, SIMD CPU kernels (``kernels/numba/``), in five layouts —
:class:`~.lanes.Lanes`, :class:`~.gemm.Gemm` (shared X), :class:`~.groups.Rows` (one X per model),
:class:`~.groups.Groups` and :class:`~.objective.Solver`. Importing this package does not import
Numba: a layout's run does, when it starts (:func:`.runtime.prepare`)."""

from .gemm import Gemm
from .groups import Groups, Rows
from .lanes import Lanes
from .objective import Solver

__all__ = ["LAYOUTS"]

#: the first fitting layout is the backend's for a problem when it has only one
LAYOUTS = (Lanes(), Gemm(), Rows(), Groups(), Solver())
