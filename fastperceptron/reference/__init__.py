"""The reference (the "compute" floor's plain layer): SPEC §2 and §7 written once against an array
namespace ``xp``, run by numpy and, unchanged, by CuPy. Every other backend is tested against it.

- :mod:`.run`: the :class:`~.run.Run` protocol every backend's run answers;
- :mod:`.loop`: the vectorized training loop (shared X or one X per model);
- :mod:`.groups`: the loop for groups (segment sums over each group's rows);
- :mod:`.objective`: the second-order solvers' loss, gradient and Hessian in every layout.
"""
