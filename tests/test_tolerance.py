"""The comparison the reference tests use (tests/tolerance.py) checks each element on its own scale."""

import numpy as np
import pytest

from tolerance import assert_close


def test_a_small_weight_beside_large_ones_is_held_to_its_own_relative_error():
    desired = np.array([1000.0, 0.01])
    assert_close(desired * (1 + 5e-10), desired)
    # 1e-7 relative on the small weight: far below 1e-9 of the largest value, and still an error.
    with pytest.raises(AssertionError, match=r"element \(1,\) .* allowed 1e-11"):
        assert_close([1000.0, 0.01 * (1 + 1e-7)], desired, what="weights")


def test_values_near_zero_get_the_absolute_floor():
    assert_close([1e-13], [0.0])
    with pytest.raises(AssertionError, match=r"max\(\|value\|, 0.001\)"):
        assert_close([1e-11], [0.0])


def test_nan_and_shapes_fail():
    with pytest.raises(AssertionError, match="element"):
        assert_close([np.nan, 1.0], [1.0, 1.0])
    with pytest.raises(AssertionError, match=r"shape \(2,\) against \(3,\)"):
        assert_close([1.0, 1.0], [1.0, 1.0, 1.0])
