"""Z-scores: how far a score stands out from the report's usual (retrieve.zscore, features._against)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reportqa.reader.features import MIN_SPREAD, _against
from reportqa.retrieve import zscore


def test_a_z_score_skips_the_scores_of_passages_a_report_is_made_to_lack():
    """fit_data.ranking_without marks hidden passages NaN; the z-scores read the rest only."""
    rest = np.array([0.1, 0.4, 0.3, 0.2], dtype=np.float32)
    marked = np.array([0.1, np.nan, 0.4, 0.3, 0.2], dtype=np.float32)
    assert zscore(marked, 0.4) == pytest.approx(zscore(rest, 0.4))
    z = zscore(marked)
    assert np.isnan(z[1]) and np.allclose(np.delete(z, 1), zscore(rest))
    assert zscore(rest, 0.4) == pytest.approx((0.4 - rest.mean()) / rest.std())  # unmarked scores as before


def test_a_z_score_needs_enough_scores_to_say_what_is_usual():
    """features._against: below MIN_SPREAD scores (a short note's few sentences) the z-score is
    undefined and counts as its training mean; from there on it is the plain z-score."""
    few = np.linspace(0.2, 0.5, MIN_SPREAD - 1)
    enough = np.linspace(0.2, 0.5, MIN_SPREAD)
    assert math.isnan(_against(few, 0.3))
    assert _against(enough, 0.5) == pytest.approx((0.5 - enough.mean()) / enough.std())
    assert math.isnan(_against(np.full(MIN_SPREAD, 0.4), 0.4))  # all equal: nothing to compare with
    with_hidden = np.r_[enough, np.nan]  # a passage the fit hides counts for nothing
    assert _against(with_hidden, 0.5) == pytest.approx(_against(enough, 0.5))
