"""Plain-text headings with the real model: "3. Finances" labels what follows and is never quoted,
alone or joined to a neighbour, on a .txt report with numbered section headings (tests/data).

Measured before headings were read so: of these five questions, three quoted a heading alone
("2.1 Visitor numbers", "3. Finances", "6. Looking Ahead") and two a sentence joined to one
("Finances The service spent…", "…reading groups. 5.").
"""

from __future__ import annotations

import pytest
from conftest import DATA

from reportqa.assistant import Assistant

REPORT = DATA / "library-review.txt"
HEADINGS = [line.strip() for line in REPORT.read_text(encoding="utf-8").splitlines()
            if line.strip() and line.strip()[-1] not in ".!?:;,\"”" and len(line.strip()) < 60]


@pytest.fixture(scope="module")
def library(tmp_path_factory, bundled) -> Assistant:
    a = Assistant(REPORT, tmp_path_factory.mktemp("headings") / "index", encoder=bundled.encoder, notify=lambda m: None)
    a.load()
    return a


@pytest.mark.parametrize("question", ["visitor numbers", "finances", "looking ahead", "what was the budget",
                                      "how many volunteers were there"])
def test_a_heading_is_never_quoted(library, question):
    answer = library.answer(question)
    quoted = answer if answer.answered else answer.withheld
    assert len(HEADINGS) == 9 and quoted is not None
    assert not any(h in quoted.text for h in HEADINGS) and not quoted.text.rstrip().endswith("5."), quoted.text


def test_the_sections_are_still_answered(library):
    assert library.answer("what was the budget").text == "The service spent £7.9 million, against a budget of £8.2 million."
    assert library.answer("how many volunteers were there").text.startswith("Around 230 volunteers gave 19,000 hours")
