"""Sentence boundaries and lexical terms."""

import pytest

from reportqa.text import sentence_spans, terms


def split(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He met Dr. Smith at 3 p.m. on Jan. 5. Then he left.", ["He met Dr. Smith at 3 p.m. on Jan. 5.", "Then he left."]),
        ("J. R. R. Tolkien wrote it. It sold well.", ["J. R. R. Tolkien wrote it.", "It sold well."]),
        ("It was CSE/A. While some acted, most did not.", ["It was CSE/A.", "While some acted, most did not."]),
        ("in the 1990s and 2000s. We remain committed.", ["in the 1990s and 2000s.", "We remain committed."]),
        ("It cost $2.5 million. Next year it grew.", ["It cost $2.5 million.", "Next year it grew."]),
        ("“Is it?” she asked. “Yes.” He left.", ["“Is it?” she asked.", "“Yes.”", "He left."]),
        ("‘Failed in their duties.’ The report adds more.", ["‘Failed in their duties.’", "The report adds more."]),
        ("Operation Forced in 2001/2002 helped. No. 5 is next.", ["Operation Forced in 2001/2002 helped.", "No. 5 is next."]),
        ("See e.g. the annex. And more.", ["See e.g. the annex.", "And more."]),
        ("# Title\nSome text here.\n- item one\n- item two", ["# Title", "Some text here.", "- item one", "- item two"]),
        ("No terminal punctuation", ["No terminal punctuation"]),
        ("", []),
    ],
)
def test_sentence_spans(text, expected):
    assert split(text) == expected


def test_sentence_spans_respect_bounds():
    text = "First one. Second one. Third one."
    start = text.index("Second")
    assert [text[a:b] for a, b in sentence_spans(text, start, len(text))] == ["Second one.", "Third one."]


def test_terms_stem_and_drop_stopwords():
    assert terms("The officers were investigating SYP’s failings") == ["offic", "investig", "syp", "fail"]
    assert terms("2001/2002") == ["2001", "2002"]
    assert terms("what is the of") == []
