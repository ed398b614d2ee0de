"""The prior's level against the naive straight line (bench/projection.py --fit)."""

from __future__ import annotations

import pytest

from bench.projection import straight_line_weight


def test_days_on_the_straight_line_give_a_weight_of_one():
    levels = [(0.40, 0.372, 0.40), (0.60, 0.571, 0.60)]
    assert straight_line_weight(levels) == pytest.approx(1.0)


def test_days_on_the_prior_give_a_weight_of_zero():
    assert straight_line_weight([(0.372, 0.372, 0.40), (0.571, 0.571, 0.60)]) == 0.0


def test_days_halfway_give_a_half_and_days_away_from_the_line_a_negative_weight():
    assert straight_line_weight([(0.386, 0.372, 0.40)]) == pytest.approx(0.5)
    # a rainy day: behind the prior where the line is ahead of it
    assert straight_line_weight([(0.321, 0.372, 0.40)]) < 0


def test_least_squares_over_hours_weighs_each_by_how_far_the_line_is():
    # 13:00 says 1 (line 2.8 points ahead), 16:00 says -0.3 (line 2.9 ahead, day 0.9 behind)
    levels = [(0.40, 0.372, 0.40), (0.562, 0.571, 0.60)]
    expected = (0.028 * 0.028 - 0.009 * 0.029) / (0.028**2 + 0.029**2)
    assert straight_line_weight(levels) == pytest.approx(expected)


def test_a_prior_on_the_line_everywhere_cannot_be_fitted():
    with pytest.raises(ValueError, match="nothing to fit"):
        straight_line_weight([(0.5, 0.4, 0.4)])
