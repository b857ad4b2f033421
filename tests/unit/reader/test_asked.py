"""What a question asks for (reader/asked.py): the kinds, what holds one, and the cap in ``decide``."""

from __future__ import annotations

import pytest
from conftest import FakeReader, assistant_over

from reportqa.reader.asked import asked_kind, holds, missing
from reportqa.reader.base import LACKING_P
from reportqa.render import Style, answer_text, why_text


@pytest.mark.parametrize("question, kind", [
    ("How many passengers were on board?", "count"),
    ("in how many cases was it upheld", "count"),
    ("and how many crew", "count"),  # a follow-up
    ("How many years did the inquiry take?", None),  # a length of time, not a count
    ("How much did the repairs cost?", "money"),
    ("how much was spent on ebooks", "money"),
    ("How much time did the crew have?", None),
    ("How much training did new officers get?", None),  # no word of money
    ("How old is the ship?", "age"),
    ("In what year did the service begin?", "year"),
    ("What was the name of the yacht?", "name"),
    ("what are the names of the officers", "name"),
    ("whats the name of the app", "name"),  # typed without its apostrophe
    ("which year was it published", "year"),
    ("What time did the ferry leave?", "time"),
    ("What time period does the review cover?", None),
    ("How long did the outage last?", "length"),
    ("and for how long", "length"),
    ("When did the ferry leave?", None),  # "when" answers are as often an event as a date
    ("Who chaired the committee?", None),
    ("Why were there so many complaints?", None),  # only the opening phrase counts
])
def test_only_the_opening_phrase_names_the_kind(question, kind):
    assert asked_kind(question) == kind


@pytest.mark.parametrize("kind, question, text, held", [
    ("count", "How many passengers were on board?", "There were 184 passengers and 11 crew on board.", True),
    ("count", "How many locks are there?", "It contains no locks; seawater flows freely.", True),
    ("count", "How many people use the bus?", "Nearly a third of residents use the bus.", True),
    ("count", "How many species grow there?", "They found 2000 species of flowering plant.", True),
    ("count", "How many men were convicted?", "They were convicted in 2016 – 14 years later.", False),
    ("count", "How many staff left in 2021?", "Staff numbers were reviewed in 2021.", False),  # its own year
    ("count", "How many meetings were held?", "The first meeting was held at 23:31.", True),  # "first"
    ("count", "How many meetings were held?", "The meeting was held at 23:31 in 2018-19.", False),
    ("count", "How many points have they got?", "With a draw the most likely result, they won a corner in the 89th minute.", False),  # a point in time, a superlative
    ("count", "How many times was he elected?", "He had never held elected office.", True),  # "never": none
    ("count", "How many goals were scored?", "The 3rd goal came late.", True),  # an ordinal of no unit of time
    ("count", "How many members does it have?", "The society holds reserves of £12,600.", False),  # money, no count
    ("count", "How many members does it have?", "It spent $5.2 billion and 40 euros.", False),
    ("count", "How many pounds did the repairs cost?", "Roof repairs cost £620,000.", True),  # asked about money
    ("count", "How many members does it have?", "Its 57 members pay £45 each.", True),
    ("money", "How much did the roof cost?", "Roof repairs cost £620,000.", True),
    ("money", "How much did they pay?", "They paid 45% of the bill.", True),
    ("money", "How much did Operation X cost?", "It was one of 93 strands of Operation X.", False),
    ("age", "How old was she when she married?", "However at 17, she married him.", True),
    ("age", "How old is the church?", "The church was built in 1120.", True),
    ("age", "How old is the orchestra?", "The century-old orchestra plays at the hall.", True),
    ("age", "How old were the victims?", "Victims aged 12 to 15 were named.", True),
    ("age", "How old is the ship?", "The ship left at 22:55, twenty minutes late.", False),
    ("age", "How old is the library?", "The city's nine libraries received 1.42 million visits.", False),
    ("age", "How old is the clinic?", "The clinic saw 41,200 patients in 2023/24, up 6% on the year before[^1].", False),
    ("year", "In what year did Caesar cross the river?", "By the spring of 49 BC, the legions crossed it.", True),
    ("year", "What year was it founded?", "It was founded in the 1990s.", True),
    ("year", "What year was it founded?", "It was founded by monks.", False),
    ("name", "What was the name of the yacht?", "The yacht, Seahorse, was not showing lights.", True),
    ("name", "What was the name of the process?", "Drug discovery is the process by which drugs are found.", True),
    ("name", "What was the name of the policy?", "They had adopted a policy of \"divide and rule\".", True),
    ("name", "What is the name of the decision maker?", "The decision maker concluded it was a failure.", False),
    ("name", "What was the name of the yacht?", "\"I was watching the yacht and the radar,\" the officer said.", False),
    ("name", "What is the name of the IOPC officer?", "The IOPC’s officer agreed.", False),
    ("time", "What time did the ferry leave?", "The ferry left at 22:55.", True),
    ("time", "What time did it open?", "It opened at 9 a.m. on Monday.", True),
    ("time", "What time did the grounding happen?", "The grounding was caused by leaving the planned track.", False),
    ("length", "How long did the outage last?", "Customers could not pay for 2 hours and 14 minutes.", True),
    ("length", "How long did the union last?", "The union ended in 1961 when Syria seceded.", True),
    ("length", "How long is the gallery in yards?", "The gallery is 55 yards (50 m) long.", True),  # its own unit
    ("length", "How long is the gallery in yards?", "The gallery has 55 paintings.", False),
    ("length", "How long did the outage last?", "About 31,000 checkout attempts failed.", False),  # a count
    ("length", "How long was the outage?", "It cut the limit from 400 to 40.", False),  # no years
    ("length", "How long was the meeting?", "The meeting closed at 12:15pm.", False),  # one time is no length
    ("length", "How long was the outage?", "Checkout failed from 14:06 to 16:20 UTC.", True),
])
def test_what_holds_a_kind(kind, question, text, held):
    assert asked_kind(question) == kind
    assert holds(kind, question, text) is held
    assert missing(question, text) == (None if held else kind)


def test_a_question_of_no_kind_is_never_missing_anything():
    assert missing("Who chaired the committee?", "The weather was fine.") is None


REPORT = (
    "# The crossing\n\n"
    "The ferry left the harbour at 22:55 with 184 passengers on board.\n\n"
    "The crossing was calm at first.\n\n"
    "The board found that the grounding was caused by the crew not noticing the bank.\n"
)


@pytest.fixture
def sure_assistant(tmp_path, fake_encoder):
    return assistant_over(REPORT, tmp_path, fake_encoder, FakeReader(prefer="grounding", p=0.9, threshold=0.2))


def test_a_quote_without_the_asked_kind_is_declined_and_the_reason_shown(sure_assistant):
    answer = sure_assistant.answer("What time did the grounding happen?")
    assert not answer.answered and answer.confidence == LACKING_P
    assert answer.lacking is not None and answer.lacking.kind == "time" and answer.lacking.p_read == 0.9
    assert answer.withheld is not None and "grounding was caused" in answer.withheld.text
    style = Style(color=False, width=None)
    assert "asks for a time of day or a date, and the sentence that matches it best gives none" in answer_text(answer, style)
    assert "the reader's confidence, 0.90, is capped at 0.05" in why_text(answer, style)
    assert answer.to_dict()["lacking"] == {"kind": "time", "reader_confidence": 0.9}


def test_a_quote_with_the_asked_kind_keeps_the_readers_confidence(sure_assistant):
    sure_assistant.reader.prefer = "22:55"
    answer = sure_assistant.answer("What time did the ferry leave the harbour?")
    assert answer.answered and answer.confidence == 0.9 and answer.lacking is None and "lacking" not in answer.to_dict()
