"""How answers show Markdown tables and lists (issue 12, item 7) and quotations that the
answer starts or stops inside (item 8). Display only: ``Answer.text`` and every offset
stay exact slices of the file."""

from __future__ import annotations


import pytest
from conftest import DATA, ROOT

from reportqa import render
from reportqa.results import Answer, Citation, Quote

REPORT_PATH = DATA / "water-report.md"
with open(REPORT_PATH, encoding="utf-8", newline="") as f:
    REPORT = f.read()
BUNDLED_PATH = ROOT / "source_text" / "iopc-operation-amazon.txt"
with open(BUNDLED_PATH, encoding="utf-8", newline="") as f:
    BUNDLED = f.read()

PLAIN = render.Style()
COLOUR = render.Style(color=True, width=100)
WHOLE = Citation("water-report.md", 0, len(REPORT), 1, 1, REPORT, 1.0)
TABLE = "| Metal | Samples | Failures | Standard |\n|---|---|---|---|\n| Lead | 612 | 3 | 10 µg/l |\n| Copper | 598 | 0 | 2 mg/l |\n| Nickel | 630 | 1 | 20 µg/l |"
ITEMS = [
    "- Replace 400 lead service pipes by the end of 2026.",
    "- Offer free water testing to every household in the affected streets.",
    "- Publish the sampling results every quarter on its website.",
]


def answer_for(source: str, quoted: str, passage: str | None = None, name: str = "water-report.md") -> Answer:
    """An answer quoting ``quoted`` (its first occurrence) inside ``passage`` (default: the whole text)."""
    start = source.index(quoted)
    p_start = 0 if passage is None else source.index(passage)
    p_text = source if passage is None else passage
    citation = Citation(name, p_start, p_start + len(p_text), 1, 1, p_text, 1.0)
    line = source.count("\n", 0, start) + 1
    quote = Quote(name, start, start + len(quoted), line, 1)
    answer = Answer("q", True, source[start : start + len(quoted)], 0.5, (citation,), quote)
    assert source[quote.start : quote.end] == answer.text == quoted  # offsets exact
    return answer


@pytest.mark.parametrize("width", [None, 60, 100])
def test_passages_keep_their_line_structure(width):
    lines = render.citation_block(1, WHOLE, render.Style(width=width)).splitlines()
    body = [line.strip() for line in lines[1:]]
    for row in TABLE.splitlines():
        assert row in body  # one table row a line
    for item in ITEMS:
        assert item in body or width == 60  # one item a line (at 60 the longest one wraps)
    assert "The utility has committed to three actions:" in body


def test_a_long_list_item_wraps_with_a_hanging_indent():
    lines = render.citation_block(1, WHOLE, render.Style(width=60)).splitlines()
    i = next(n for n, line in enumerate(lines) if "Offer free water testing" in line)
    assert lines[i] == "    - Offer free water testing to every household in the"
    assert lines[i + 1] == "      affected streets."


def test_a_table_row_is_shown_under_its_header_row():
    answer = answer_for(REPORT, "| Lead | 612 | 3 | 10 µg/l |")
    plain = render.answer_text(answer, PLAIN).splitlines()
    assert plain[:2] == ["| Metal | Samples | Failures | Standard |", "| Lead | 612 | 3 | 10 µg/l | [1]"]
    coloured = render.answer_text(answer, COLOUR).splitlines()
    # The header is context (dim), the row is the quote (bold).
    assert coloured[0] == f"\x1b[{render.DIM}m| Metal | Samples | Failures | Standard |{render.RESET}"
    assert coloured[1].startswith(f"\x1b[{render.BOLD}m| Lead | 612 | 3 | 10 µg/l |{render.RESET} ")
    assert answer.text == "| Lead | 612 | 3 | 10 µg/l |"


def test_the_header_row_itself_and_prose_get_no_context_line():
    header = answer_for(REPORT, "| Metal | Samples | Failures | Standard |")
    assert render.answer_text(header, PLAIN).splitlines()[0] == "| Metal | Samples | Failures | Standard | [1]"
    prose = answer_for(REPORT, "The utility sampled 1,840 taps across the district in 2024.")
    assert render.answer_text(prose, PLAIN).splitlines()[0].startswith("The utility sampled")


@pytest.mark.parametrize("item", ITEMS)
def test_a_list_item_is_shown_under_its_lead_in_line(item):
    answer = answer_for(REPORT, item)
    plain = render.answer_text(answer, PLAIN).splitlines()
    assert plain[:2] == ["The utility has committed to three actions:", item + " [1]"]
    coloured = render.answer_text(answer, COLOUR).splitlines()
    assert coloured[0] == f"\x1b[{render.DIM}mThe utility has committed to three actions:{render.RESET}"


def test_a_list_after_a_blank_line_takes_the_paragraph_ending_in_a_colon():
    text = "We found:\n\n1. The roof leaks.\n2. The doors stick.\n\nNothing else."
    answer = answer_for(text, "2. The doors stick.", name="r.md")
    assert render.answer_text(answer, PLAIN).splitlines()[:2] == ["We found:", "2. The doors stick. [1]"]
    bare = "Intro sentence.\n\n- The roof leaks.\n- The doors stick."
    assert render.answer_text(answer_for(bare, "- The doors stick.", name="r.md"), PLAIN).splitlines()[0] == (
        "- The doors stick. [1]"
    )


def test_the_frame_must_lie_in_the_cited_passage():
    # A passage that starts at the Lead row holds no header: nothing is made up.
    passage = REPORT[REPORT.index("| Lead") : REPORT.index("## Actions")].rstrip()
    answer = answer_for(REPORT, "| Copper | 598 | 0 | 2 mg/l |", passage)
    assert render.answer_text(answer, PLAIN).splitlines()[0] == "| Copper | 598 | 0 | 2 mg/l | [1]"


def test_crlf_files_give_the_same_frames():
    text = REPORT.replace("\n", "\r\n")
    answer = answer_for(text, "| Lead | 612 | 3 | 10 µg/l |")
    assert render.answer_text(answer, PLAIN).splitlines()[0] == "| Metal | Samples | Failures | Standard |"


def test_unwrapped_excerpts_keep_the_first_lines_apart():
    table = Citation("water-report.md", 0, len(TABLE), 1, 1, TABLE, 1.0)
    assert render.excerpt_lines(table.text, None) == [
        "    | Metal | Samples | Failures | Standard |",
        "    |---|---|---|---| …",
    ]


# -- item 8: quotations ------------------------------------------------------------------

SPOKESPERSON = (
    "A South Yorkshire Police spokesperson said: “Operation Amazon was one of 93 strands of "
    "Operation Linden, the outcome of which was published in 2022."
)


def test_an_answer_that_stops_inside_a_quotation_gets_a_closing_ellipsis():
    answer = answer_for(BUNDLED, SPOKESPERSON, name="iopc-operation-amazon.txt")
    first = render.answer_text(answer, PLAIN).splitlines()[0]
    assert first == SPOKESPERSON + " … [1]"
    coloured = render.answer_text(answer, COLOUR)
    assert f"published in 2022.{render.RESET} \x1b[{render.DIM}m…{render.RESET}" in coloured
    assert answer.text == SPOKESPERSON  # display only


def test_an_answer_that_starts_inside_a_quotation_gets_an_opening_ellipsis():
    quoted = "The perpetrators went on to continue to abuse young girls until they were convicted in 2016 – 14 years later.”"
    answer = answer_for(BUNDLED, quoted, name="iopc-operation-amazon.txt")
    assert render.answer_text(answer, PLAIN).splitlines()[0] == "… " + quoted + " [1]"


@pytest.mark.parametrize(
    "text",
    [
        "It goes on to say that SYP ‘did not seem to be aware of the scale of CSE/A’, the report adds.",
        "“Officers were also tasked with assessing whether surveillance was viable,” the report adds.",
        "The force acknowledges and respects the IOPC’s decision.",
        "The officers’ duties were clear.",
        'He said "no" twice.',
    ],
)
def test_balanced_quotations_and_apostrophes_get_no_ellipsis(text):
    assert render.open_quotation(text) == (False, False)


def test_straight_quotes_and_single_marks():
    assert render.open_quotation('He said: "It was not.') == (False, True)
    assert render.open_quotation('it was not." he said.') == (True, False)
    assert render.open_quotation("they ‘upheld the complaint against senior officers.") == (False, True)


def test_the_citation_marker_never_runs_past_the_width():
    """The [1] after the quote is wrapped with it: a quote that fills its last line pushes it down."""
    text = "x" * 10 + " " + "word " * 16 + "end."  # 95 characters
    cited = Citation("r.txt", 0, len(text), 1, 1, text, 1.0)
    answer = Answer("q?", True, text, 0.6, (cited,), Quote("r.txt", 0, len(text), 1, 1))
    for width in range(40, 101):
        lines = render.answer_text(answer, render.Style(width=width)).split("\n")
        assert max(len(line) for line in lines) <= width, width
        quote = " ".join(lines[: lines.index("")])
        assert quote.endswith("end. [1]"), width
