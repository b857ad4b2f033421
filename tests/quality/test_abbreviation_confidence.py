"""The confidence of an answer to "what does X stand for?" (and to "what is X?" of an X the report
defines) is what benchmarks/abbreviations.py measures on the SQuAD training set: if the rules
change, the counts in reader/spelled.py must be measured again."""

from __future__ import annotations

import pytest

from benchmarks.abbreviations import SQUAD_TRAIN, measure
from reportqa.reader.spelled import DEFINED_COUNTS, WHAT_IS_COUNTS


def test_the_stated_confidence_is_the_measured_one():
    if not SQUAD_TRAIN.exists():
        pytest.skip(f"{SQUAD_TRAIN} is absent: the SQuAD training set lives in ../shared beside the repo")
    counts = measure()
    assert (counts.right["defined"], counts.found["defined"]) == DEFINED_COUNTS
    assert (counts.right["what is"], counts.found["what is"]) == WHAT_IS_COUNTS
    assert counts.asked > 250  # the questions were found at all
