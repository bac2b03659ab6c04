"""Partial pooling over a hierarchy (SPEC §8): ``train(X, y, groups=[region, store], shrink=...)``.

- :mod:`.fit`: the levels fitted top-down, each model pulled toward its parent's by
  ½·ρ·‖θ − θ_parent‖² (:class:`fastperceptron.problem.Prior`, applied by the second-order solvers);
- :mod:`.levels`: one level as one batch of models;
- :mod:`.cv`: ρ chosen per level by K-fold cross-validation, the folds × grid × groups of a level
  trained as one batch.

The paths of the levels, the routing of new rows to their deepest seen ancestor, and what a result
keeps (:class:`~fastperceptron.problem.hierarchy.Pooling`) are the data model's:
:mod:`fastperceptron.problem.hierarchy`.
"""
