"""A layout of the batch on a backend, as a type: which problems it fits, what it costs, how it starts.

Every backend lists its layouts (``LAYOUTS`` in its module); the registry knows the backends, and
the planner (:mod:`fastperceptron.planner`) takes, among the layouts that fit a problem, the one
with the lowest :meth:`Layout.estimate` — or the one the caller pins (``backend="numba:gemm"``).
Adding a layout is one class and one line in its backend's list; the tests pick it up from the
registry.

Every problem with groups has the "groups" layout of its backend, and every problem of the second-
order solvers the "solver" layout (:class:`GroupsLayout`, :class:`SolverLayout`); the others train
gradient steps on a table shared by all models, one per model, or either (``data``).
"""

from __future__ import annotations

from ..problem import Problem
from ..reference.run import Run

__all__ = ["Layout", "GroupsLayout", "SolverLayout"]


class Layout:
    """A layout of gradient steps on X shared by all models (``data = "shared"``), one X per model
    ("per-model") or either ("any")."""

    backend = ""
    name = ""
    data = "any"

    @property
    def qualified(self) -> str:
        return f"{self.backend}:{self.name}"

    def fits(self, problem: Problem) -> bool:
        """Whether this layout can train ``problem``."""
        if problem.solver != "gd" or problem.grouped:
            return False
        return self.data == "any" or (self.data == "shared") == problem.shared_X

    def automatic(self, problem: Problem) -> bool:
        """Whether ``backend="auto"`` (or the backend's name alone) may choose it for ``problem``
        (it fits); a layout that fits but is never the better one on such data says no."""
        return True

    def estimate(self, problem: Problem, threads: int | None = None) -> float | None:
        """Estimated seconds of one iteration (``fastperceptron.backend.costs``), or None where
        there is no cost model (the only layout of its kind on its backend)."""
        return None

    def start(self, problem: Problem, threads: int | None = None) -> Run:
        raise NotImplementedError

    def refusal(self, problem: Problem) -> str:
        """Why ``backend="<backend>:<name>"`` cannot train ``problem`` (it does not fit)."""
        b, lay = self.backend, self.name
        if problem.solver != "gd" or isinstance(self, SolverLayout):
            return (f"backend layout '{b}:{lay}' does not fit this problem: the 'solver' layout is for (and only "
                    f"for) solver='newton' or 'lbfgs'; use backend='{b}'")
        if problem.grouped or isinstance(self, GroupsLayout):
            return (f"backend layout '{b}:{lay}' does not fit this problem: the 'groups' layout is for (and only "
                    f"for) training with groups=; use backend='{b}'")
        if self.data == "per-model":
            return (f"backend layout '{b}:{lay}' trains one dataset per model, X (B, N, D); this problem has X "
                    f"shared by all models: use backend='{b}' (or '{b}:lanes', '{b}:gemm')")
        return (f"backend layout '{b}:{lay}' needs X shared by all models, (N, D); this problem has one dataset "
                f"per model: use backend='{b}' or '{b}:lanes'")


class GroupsLayout(Layout):
    """One model per group of rows (SPEC §6): the layout of every problem with groups."""

    name = "groups"

    def fits(self, problem: Problem) -> bool:
        return problem.solver == "gd" and problem.grouped


class SolverLayout(Layout):
    """The second-order solvers (SPEC §7), whatever the data: the layout of every problem of
    solver "newton" or "lbfgs"."""

    name = "solver"

    def fits(self, problem: Problem) -> bool:
        return problem.solver != "gd"
