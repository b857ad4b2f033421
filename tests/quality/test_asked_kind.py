"""A question that asks for a count, an amount of money, an age, a year or a time, with the real model.

The quote must hold one (``reader/asked.py``): "How old is the Solent Star?" is not answered by
"The Solent Star left Southampton at 22:55, twenty minutes late…". The questions were written
before measuring, over the two reports in tests/data that are not the bundled one: 8 the reports
answer and 9 they do not. Measured with the shipped settings: the 8 answered with the right
sentence, and 6 of the 9 declined (2 of 9 without the rule).
"""

from __future__ import annotations

import pytest
from conftest import DATA

from reportqa.assistant import Assistant

ANSWERED = [
    ("ferry-report.md", "what time did the ferry leave southampton", "left Southampton at 22:55"),
    ("ferry-report.md", "in what year did the operator tell officers the alarm could be silenced", "in 2022"),
    ("ferry-report.md", "how many passengers were on board", "184 passengers"),
    ("ferry-report.md", "how many crew members were injured", "one crew member"),
    ("library-review.txt", "how much income came from room hire", "£410,000"),
    ("library-review.txt", "what year did the digital service begin", "began in 2015"),
    ("library-review.txt", "how many staff did the service employ", "142 staff"),
    ("library-review.txt", "how much did the service spend", "£7.9 million"),
]
SILENT = [
    ("ferry-report.md", "what time did the grounding happen"),
    ("ferry-report.md", "how old is the solent star"),
    ("ferry-report.md", "how old was the master"),
    ("ferry-report.md", "how much did the company pay in compensation"),
    ("ferry-report.md", "how many lifeboats were launched"),
    ("library-review.txt", "how much did the new community hub cost"),
    ("library-review.txt", "how old is central library"),
    ("library-review.txt", "how many books were stolen"),
    ("library-review.txt", "what time do the libraries open"),
]


@pytest.fixture(scope="module")
def assistants(tmp_path_factory, bundled) -> dict[str, Assistant]:
    out = {}
    for name in sorted({q[0] for q in ANSWERED + SILENT}):
        a = Assistant(DATA / name, tmp_path_factory.mktemp("asked") / "index", encoder=bundled.encoder, notify=lambda m: None)
        a.load()
        out[name] = a
    return out


def test_a_question_the_report_answers_keeps_its_answer(assistants):
    for name, question, expected in ANSWERED:
        answer = assistants[name].answer(question)
        assert answer.answered and expected in answer.text, (question, answer.confidence, answer.text)
        assert answer.lacking is None


def test_a_quote_without_what_the_question_asks_for_is_declined(assistants):
    declined = []
    for name, question in SILENT:
        answer = assistants[name].answer(question)
        declined.append(not answer.answered)
        said = answer.withheld.text if answer.withheld else answer.text
        print(f"{'declined' if declined[-1] else 'ANSWERED'} {answer.confidence:.2f} {question!r}: {said[:60]!r}")
    assert sum(declined) >= 6, f"{sum(declined)} of {len(SILENT)} declined"
