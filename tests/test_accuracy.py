"""Answer quality on the bundled report's fixed question set, with the real model.

The floors below are the figures measured by benchmarks/quality.py (docs/quality.md),
a little rounded down. Issue 2's own targets that the pipeline does not reach yet are
kept as expected failures, so they turn into XPASS the day they are met.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportqa.evaluate import evaluate, format_report, load_questions

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"


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
        ("hit@1", 0.78),
        ("hit@3", 0.95),
        ("mrr@10", 0.86),
        ("contains_all", 0.73),
        ("contains", 0.71),
        ("answered_rate", 0.95),  # issue 2: >= 0.95 of answerable questions answered
        ("abstain_rate", 0.90),  # issue 2: >= 0.90 of unanswerable questions abstain
    ],
)
def test_measured_floor(figures, key, floor):
    print(f"{key} = {figures[key]:.3f} (floor {floor})")
    assert figures[key] >= floor


def test_answers_are_short(figures):
    print(f"mean answer = {figures['answer_chars']:.1f} chars")
    assert figures["answer_chars"] < 220


@pytest.mark.xfail(reason="issue 2 target not reached: see docs/quality.md (paraphrased questions on a repetitive report)", strict=False)
@pytest.mark.parametrize("key, target", [("hit@1", 0.95), ("hit@3", 1.0), ("contains", 0.90)])
def test_issue2_target(figures, key, target):
    assert figures[key] >= target
