"""Sentence boundaries and lexical terms."""

import textwrap

import pytest
from conftest import ROOT

from reportqa.chunking import paragraphs
from reportqa.tables import read_text, table_cells
from reportqa.text import (fenced_blocks, front_matter, is_heading, is_label, is_structural, is_title_line, joins,
                           sentence_spans, terms)


def split(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def paragraph_sentences(text: str) -> list[str]:
    """Sentences paragraph by paragraph, as the chunker cuts them."""
    return [text[a:b] for p, q in paragraphs(text) for a, b in sentence_spans(text, p, q)]


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
        # each table row is a sentence, also one wider than a heading-like line (60 characters)
        (
            "Five recommendations:\n| To | Recommendation |\n|---|---|\n"
            "| Wightlink Channel Services | Keep ECDIS alarms active at all times on passenger routes |\n"
            "| Southampton Harbour Authority | Review the marking of the Brambles Bank |\nAfter the table.",
            ["Five recommendations:", "| To | Recommendation |", "|---|---|",
             "| Wightlink Channel Services | Keep ECDIS alarms active at all times on passenger routes |",
             "| Southampton Harbour Authority | Review the marking of the Brambles Bank |", "After the table."],
        ),
        ("| To | What |\n|---|---|\n| The operator | Keep alarms on. Always. |\nAfter. More.",
         ["| To | What |", "|---|---|", "| The operator | Keep alarms on. Always. |", "After.", "More."]),
        ("A wide line of prose that runs well past sixty characters | with a pipe.\nNext line.",
         ["A wide line of prose that runs well past sixty characters | with a pipe.", "Next line."]),
        ("", []),
    ],
)
def test_sentence_spans(text, expected):
    assert split(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "To run the tests:\n\n```sh\npython3 -m venv .venv && . .venv/bin/activate && pytest\n```\n\nThen stop.",
            ["To run the tests:", "```sh\npython3 -m venv .venv && . .venv/bin/activate && pytest\n```", "Then stop."],
        ),
        ("Run:\r\n```\nx. Y\r\n```\r\nDone. Yes.", ["Run:", "```\nx. Y\r\n```", "Done.", "Yes."]),
        ("~~~\n```\nstill code. Here\n~~~~\nAfter. More.", ["~~~\n```\nstill code. Here\n~~~~", "After.", "More."]),
        ("````\n```\ninner\n```\n````", ["````\n```\ninner\n```\n````"]),
        ("```\n| a | b |\nNot a row. Still code\n```\nAfter.", ["```\n| a | b |\nNot a row. Still code\n```", "After."]),
        ("Text. ```inline``` is not a fence. Next.", ["Text.", "```inline``` is not a fence.", "Next."]),
        ("```\nunclosed. Code runs to the end", ["```\nunclosed. Code runs to the end"]),
    ],
)
def test_a_fenced_code_block_is_one_sentence(text, expected):
    assert split(text) == expected


def test_a_code_block_with_a_blank_line_is_cut_only_at_that_paragraph_break():
    from reportqa.chunking import paragraphs

    text = "Intro.\n\n```python\ndef f():\n    x = 1\n\n    return x. Done\n```\n\nAfter. More."
    (block,) = fenced_blocks(text)
    assert text[slice(*block)].startswith("```python") and text[slice(*block)].endswith("```")
    code = fenced_blocks(text)
    by_paragraph = [[text[a:b] for a, b in sentence_spans(text, p, q, code)] for p, q in paragraphs(text)]
    assert by_paragraph == [["Intro."], ["```python\ndef f():\n    x = 1"], ["return x. Done\n```"], ["After.", "More."]]


def test_sentence_spans_respect_bounds():
    text = "First one. Second one. Third one."
    start = text.index("Second")
    assert [text[a:b] for a, b in sentence_spans(text, start, len(text))] == ["Second one.", "Third one."]


def test_terms_stem_and_drop_stopwords():
    assert terms("The officers were investigating SYP’s failings") == ["offic", "investig", "syp", "fail"]
    assert terms("2001/2002") == ["2001", "2002"]
    assert terms("what is the of") == []


TABLE = ["Intro.", "| Metal | Samples | Failures |", "|:---|---:|---|", "| Lead | 612 | 3 |", "| Copper | 598 |  |", "After."]


@pytest.mark.parametrize("i, read", [
    (3, "Metal: Lead; Samples: 612; Failures: 3"),  # a data row: its header's names
    (4, "Metal: Copper; Samples: 598"),  # an empty cell is left out
    (1, "| Metal | Samples | Failures |"),  # the header row and the delimiter row as written
    (2, "|:---|---:|---|"),
    (0, "Intro."),
    (5, "After."),
])
def test_a_table_data_row_is_read_with_its_header_names(i, read):
    assert read_text(TABLE, i) == read


def test_rows_with_no_header_in_reach_are_read_as_written():
    assert read_text(TABLE, 3, first=2) == "| Lead | 612 | 3 |"  # the header is before this source's first row
    assert read_text(["Text.", "| a | b |", "| c | d |"], 2) == "| c | d |"  # no delimiter row: no header
    assert read_text(["| Google Maps"], 0) == "| Google Maps"  # a caption, no table


def test_table_cells_split_at_unescaped_pipes():
    assert table_cells("| a \\| b | c |") == ["a \\| b", "c"]
    assert table_cells("a | b") == ["a", "b"]


@pytest.mark.parametrize("line", ["3. Finances", "2.1 Visitor numbers", "CITY LIBRARIES ANNUAL REVIEW 2023-24", "Looking Ahead",
                                  "Results (2023)"])
def test_a_short_line_without_closing_punctuation_is_a_title(line):
    assert is_title_line(line) and is_title_line(f"\n{line}  \n")


@pytest.mark.parametrize("line", ["The end.", "Yes!\"", "Why?", "It was not:", "- item one", "| a | b |", "```", "2024",
                                  "Two lines\nof text", "A line of prose that runs on for more than sixty characters without a stop"])
def test_sentences_bullets_rows_numbers_and_long_lines_are_no_title(line):
    assert not is_title_line(line)


def test_a_title_paragraph_is_one_sentence_not_cut_after_its_number():
    text = "Intro.\n\n3. Finances\n\nThe service spent £7.9 million. It saved more."
    assert [text[a:b] for a, b in sentence_spans(text, 8, 19)] == ["3. Finances"]


@pytest.mark.parametrize("width", [80, 72, 60, 45])
def test_hard_wrapped_prose_keeps_its_sentences_whole(width):
    report = (ROOT / "source_text" / "iopc-operation-amazon.txt").read_text(encoding="utf-8")
    wrapped = "\n\n".join(textwrap.fill(p.strip(), width) for p in report.split("\n\n") if p.strip())

    def sentences(text):
        return ["".join(s.split()) for s in paragraph_sentences(text)]

    assert sentences(wrapped) == sentences(report)  # at 60 columns its 36 sentences were 108 pieces before


def test_a_short_line_that_the_next_word_would_have_fitted_on_still_ends_a_title():
    text = "Summary\nThe council failed to act on most of the complaints it received that year."
    assert split(text) == ["Summary", "The council failed to act on most of the complaints it received that year."]


def test_a_block_of_labels_keeps_its_lines_apart_though_its_first_line_is_its_longest():
    # no full stop anywhere: a byline and a date line, not prose wrapped at the first line's width
    byline = "By Priya Natarajan, Health Correspondent\nPublished 14 March 2024"
    assert split(byline) == ["By Priya Natarajan, Health Correspondent", "Published 14 March 2024"]
    header = "Venue: St Mark's Church Hall\nPresent: 34 members (quorum is 20)\nChair: Margaret Doyle"  # minutes
    assert split(header) == header.split("\n")  # a line may end in a bracket and still be a label
    wrapped = "The council approved the budget after a long\ndebate on Monday."  # prose: one sentence
    assert split(wrapped) == [wrapped]
    # however long a line: a headline of 60 characters or more over its byline and date line
    news = "Councillors back £6.8m plan to rebuild Kingsmead swimming pool\nBy Hannah Okafor\nThursday 6 February 2025"
    assert split(news) == news.split("\n")


def test_a_label_ends_on_a_word_and_starts_no_pair():
    for line in ("Published 14 March 2024", "By Priya Natarajan, Health Correspondent", "| Google Maps"):
        assert is_label(line), line
    for line in ("It was not.", "He said: “It was.”", "up 6% on the year before.[^1]", "…and Galilee.[citation needed]", "It goes on to say: “", "Why?"):
        assert not is_label(line), line
    assert not joins("Published 14 March 2024", "Teenagers who use phones late sleep less.")
    assert joins("Teenagers who use phones late sleep less.", "Published 14 March 2024")  # a pair may end on one
    assert joins("By Priya Natarajan, Health Correspondent", "Published 14 March 2024")  # two labels are one block
    assert not joins("Teenagers who use phones late sleep less, study finds", "By Priya Natarajan", broken=True)


def test_an_articles_byline_pairs_with_its_date_line_and_neither_with_the_headline_nor_the_first_paragraph():
    from reportqa.reader.candidates import passage_spans

    paragraphs_ = ["Teenagers who use phones after midnight sleep less and score lower in maths, study finds",
                   "By Priya Natarajan, Health Correspondent\nPublished 14 March 2024",
                   "Teenagers who use their phones after midnight sleep 48 minutes less a night."]
    spans = paragraph_sentences("\n\n".join(paragraphs_))
    cut = passage_spans([(0, 0)] * len(spans), lambda j: spans[j], lambda j: len(set(terms(spans[j]))), 2, 400,
                        broken=lambda j: j in (0, 2))  # blank lines after the headline and after the date line
    assert [" / ".join(spans[j: j + w]) for j, w in cut if w == 2] == [
        "By Priya Natarajan, Health Correspondent / Published 14 March 2024"]


def test_joins_keeps_markdown_structure_and_bullets_apart():
    for line in ("## Findings", "#", "| 2023 | 4,200 |", "```sh", "~~~", "---", "* * *"):
        assert is_structural(line), line
    for line in ("#hashtags are words", "- The roof leaked", "***Bold*** start", "Staff rose."):
        assert not is_structural(line), line
    assert joins("To reset the alarm, run:", "```sh\nalarmctl reset\n```")  # a code block after its lead-in
    assert not joins("To reset the alarm.", "```sh\nalarmctl reset\n```")
    assert not joins("## Run:", "```sh\nalarmctl reset\n```")
    assert joins("The depot handled 4,200 parcels.", "Staff numbers rose to 58.")
    assert joins("It goes on to say: “", "The force failed.”")
    assert not joins("Staff numbers rose to 58.", "## Findings")
    assert not joins("## Summary", "The depot handled 4,200 parcels.")
    assert not joins("- The roof leaked", "- Fire doors were blocked")
    assert not joins("Faults found:", "1. The roof leaked")
    assert joins("- The roof leaked in three places.", "It was repaired in May.")
    # a question is answered by what follows it, never by what comes before it
    assert joins("Q: How much is a permit?", "A: A resident permit costs £95 a year.")
    assert not joins("Wardens will issue warnings for four weeks.", "Q: What happens if I park without a permit?")
    assert not joins("She paused.", "“Was it worth it?”")
    # a heading that asks a question joins the sentence that starts to answer it, as an FAQ is written
    assert joins("## What happens if I park without a permit?", "A penalty charge of £70 applies.")
    assert not joins("## What happens next?", "- Wardens patrol")
    assert not joins("## What happens next?", "## Penalties")


def test_a_numbered_item_keeps_its_number():
    text = "1. First item, long enough to wrap onto a second line of the text\n   here.\n2. Second item.\nWe had 3. Then more."
    assert split(text) == ["1. First item, long enough to wrap onto a second line of the text\n   here.", "2. Second item.",
                           "We had 3.", "Then more."]


FRONT = '---\ntitle: "Annual report 2023/24"\nauthor: Dr Amara Okoye\ndate: 2024-07-02\n---\n\n# Annual report\n\nThe clinic saw 41,200 patients.\n'


def test_each_line_of_yaml_front_matter_is_a_sentence_and_its_fences_are_rules():
    assert front_matter(FRONT) == (0, FRONT.index("---\n\n") + 3)
    sentences = paragraph_sentences(FRONT)
    assert sentences[:5] == ["---", 'title: "Annual report 2023/24"', "author: Dr Amara Okoye", "date: 2024-07-02", "---"]
    assert is_heading(sentences[0]) and is_heading(sentences[4])  # labels, never an answer
    assert sentences[5:] == ["# Annual report", "The clinic saw 41,200 patients."]


@pytest.mark.parametrize("text", [
    "---\n\nSome prose after a rule. More prose.\n\n---\n",  # a rule, no "key: value" lines
    "---\ntitle: never closed\n\nProse.\n",  # no closing fence
    "Intro.\n\n---\ntitle: x\n---\n",  # not at the start of the file
])
def test_only_a_closed_block_of_fields_at_the_start_of_the_file_is_front_matter(text):
    assert front_matter(text) is None


@pytest.mark.parametrize("heading", ["## 3. Actions", "## Done. Next steps", "### Dr. Smith's case. Part 2:"])
def test_a_markdown_heading_line_is_one_sentence(heading):
    text = f"{heading}\n\n- First point.\n"
    assert [text[a:b] for a, b in sentence_spans(text)] == [heading, "- First point."]
