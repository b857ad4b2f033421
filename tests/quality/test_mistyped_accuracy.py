"""Mistyped questions on the bundled report, with the real model: each answerable question of the
fixed set with one word mistyped (``benchmarks.typos.mistype``, seeded), read as reportqa reads it.

The floors are the figures ``python -m benchmarks.typos`` measured (docs/quality.md, "Mistyped
words"), a little rounded down; read as typed, the same questions measure far below them.
"""

from __future__ import annotations

import pytest
from conftest import DATA

from benchmarks.typos import mistype
from reportqa.evaluate import contains_answer, load_questions


@pytest.fixture(scope="module")
def mistyped(bundled) -> list[tuple[dict, tuple[str, str, str], object]]:
    out = []
    for q in load_questions(DATA / "questions.jsonl"):
        if q.get("answerable", True) is False:
            continue
        made = mistype(q["q"], f"{q['id']}:0")
        if made is not None:
            out.append((q, made, bundled.answer(made[0])))
    return out


def test_a_mistyped_question_is_answered_about_as_often_as_the_question_as_written(mistyped):
    right = sum(a.answered and contains_answer(a.text, q["answers"]) for q, _, a in mistyped) / len(mistyped)
    print(f"answered with a gold answer: {right:.3f} of {len(mistyped)}")
    assert len(mistyped) >= 60
    assert right >= 0.68  # measured 0.714 (0.825 as written; 0.524 read as typed)


def test_a_word_read_as_another_is_said_in_the_notice(mistyped):
    read = [(made, a) for _, made, a in mistyped if a.notice.startswith("Read ")]
    right = [made for made, a in read if f'"{made[2]}" as "{made[1]}"'.lower() in a.notice.lower()]
    print(f"read as another word: {len(read)} of {len(mistyped)}; as the word mistyped: {len(right)}")
    assert len(read) >= 0.4 * len(mistyped) and len(right) >= 0.95 * len(read)


@pytest.mark.parametrize("question, word", [
    ("who was the complaint agaisnt", "against"),
    ("what did syp say about the decison", "decision"),
])
def test_the_casual_sets_typos_are_read_as_the_report_words(bundled, question, word):
    assert f'as "{word}"' in bundled.answer(question).notice
