"""Answer quality on the bundled report's fixed question set, with the real model.

The floors below are the figures measured by benchmarks/quality.py (docs/quality.md),
a little rounded down, with the shipped reader ("cross"). The targets of issue 2 and
issue 11 that it does not reach are kept as expected failures, so they turn into XPASS
the day they are met. The set was never used to fit anything.
"""

from __future__ import annotations


import pytest
from conftest import DATA

from reportqa.evaluate import evaluate, format_report, load_questions

QUESTIONS = DATA / "questions.jsonl"


@pytest.fixture(scope="module")
def figures(bundled) -> dict:
    result = evaluate(bundled, load_questions(QUESTIONS))  # the session's loaded Assistant()
    print("\n" + format_report(result, misses_shown=0))
    return result["summary"]


def test_question_set_size(figures):
    assert figures["answerable"] >= 45 and figures["unanswerable"] >= 12


@pytest.mark.parametrize(
    "key, floor",
    [
        ("hit@1", 0.85),  # measured 0.873 (0.857 before abbreviations were answered from their definitions)
        ("hit@3", 0.95),  # 0.968
        ("mrr@10", 0.90),  # 0.921
        ("contains_all", 0.85),  # 0.873 (issue 11's target, 0.85, is met)
        ("contains", 0.81),  # 0.825, abstaining counts as a miss (0.810 before mistyped words were read as the report's)
        ("answered_rate", 0.90),  # 0.921 of answerable questions answered (0.905 before the same change)
        # the steady threshold, 0.24 on the calibrated scale (docs/quality.md, "The steady
        # threshold", "Absent questions read a report without their answer" and "Mistyped words")
        ("abstain_rate", 0.72),  # 0.738 of the questions the report does not answer are declined (0.786 at 0.26)
        ("abstain_on_topic", 0.52),  # 0.542 (24 questions on its topic it does not answer; 0.625 at 0.26, 0.708 at 0.19)
        ("abstain_off_topic", 0.95),  # 1.000 (18 off-topic questions)
    ],
)
def test_measured_floor(figures, key, floor):
    print(f"{key} = {figures[key]:.3f} (floor {floor})")
    assert figures[key] >= floor


def test_answers_are_short(figures):
    print(f"mean answer = {figures['answer_chars']:.1f} chars")
    assert figures["answer_chars"] < 220


@pytest.mark.xfail(reason="issue 2 and issue 11 targets not reached: see docs/quality.md", strict=False)
@pytest.mark.parametrize(
    "key, target",
    [("hit@1", 0.95), ("hit@3", 1.0), ("contains", 0.90),  # issue 2
     ("hit@1", 0.88), ("abstain_on_topic", 0.75), ("answered_rate", 0.92)],  # issue 11
)
def test_unmet_target(figures, key, target):
    assert figures[key] >= target
