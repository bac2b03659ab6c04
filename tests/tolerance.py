"""Element-wise comparison at the contract's tolerances (SPEC §4: float64 ≤ 1e-9 relative on trained
weights, float32 ≤ 1e-4).

Each element is held to its own relative error, so a small weight beside large ones is checked as
tightly as they are (dividing the largest error by the largest value would not). Values near zero
get an absolute floor: below ``floor`` in magnitude an element may differ by ``rtol·floor``, since a
value that is a sum of larger terms cancelling out carries the rounding of those terms, not of itself.
"""

import numpy as np

FLOAT64 = 1e-9
FLOAT32 = 1e-4


def assert_close(actual, desired, rtol=FLOAT64, *, floor=1e-3, what=""):
    """Assert ``|actual − desired| ≤ rtol · max(|desired|, floor)`` element by element; on failure name
    the worst element, both values and its relative error."""
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    assert a.shape == d.shape, f"{what}: shape {a.shape} against {d.shape}"
    allowed = rtol * np.maximum(np.abs(d), floor)
    excess = np.abs(a - d) / allowed
    if not (excess <= 1).all():  # NaN fails too
        i = np.unravel_index(np.nanargmax(np.where(np.isnan(excess), np.inf, excess)), excess.shape)
        raise AssertionError(f"{what}: element {tuple(int(k) for k in i)} is {a[i]!r}, expected {d[i]!r} "
                             f"(error {abs(a[i] - d[i]):.3g}, allowed {allowed[i]:.3g} = rtol {rtol:g} "
                             f"× max(|value|, {floor:g}))")
