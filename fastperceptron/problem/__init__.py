"""The data model (the "data" floor): what a call of :func:`fastperceptron.train` describes, checked
and put in one shape.

- :mod:`.model`: :class:`Problem`, the validated batch every backend trains;
- :mod:`.make`: :func:`make_problem`, the argument checks in steps (:mod:`.checks` holds the
  checks every argument goes through);
- :mod:`.groups`: labels, one model per group, the rows sorted by group;
- :mod:`.hierarchy`: a hierarchy of groups (paths, their parents, the routing of new rows) for
  partial pooling (SPEC §8);
- :mod:`.columns`: column transforms folded back into the models (``standardize=True``, the
  solvers' shift);
- :mod:`.steps`: the stable step ``learning_rate="auto"`` and the warnings about unstable steps.
"""

from .make import make_problem
from .model import (DEFAULT_ITERATIONS, DTYPES, NEWTON_MAX_PARAMETERS, RULES, SOLVERS, Prior, Problem, auto_solver,
                    default_tol)

__all__ = ["Problem", "Prior", "make_problem", "RULES", "DTYPES", "SOLVERS", "DEFAULT_ITERATIONS", "NEWTON_MAX_PARAMETERS",
           "auto_solver", "default_tol"]
