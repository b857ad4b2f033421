"""The renderer (reportqa.render): the quote's highlight by offsets, colour and NO_COLOR, wide and
control characters, wrapping, excerpts and citations, and /why's text."""

from __future__ import annotations

import io
import re

from cli_helpers import REPORT, FakeAssistant, Tty
from hypothesis import given, settings
from hypothesis import strategies as st

from reportqa import render
from reportqa.results import Answer, Citation, Quote


# -- rendering ----------------------------------------------------------------------


def _passage_answer(text: str, quote_start: int, quote_end: int) -> Answer:
    c = Citation("r.txt", 100, 100 + len(text), 4, 2, text, 0.9)
    q = Quote("r.txt", 100 + quote_start, 100 + quote_end, 4, 2)
    return Answer("q", True, text[quote_start:quote_end], 0.5, (c,), q)


def test_highlight_follows_offsets_not_a_string_search():
    # The quoted sentence appears twice; the offsets point at the second one.
    text = "It rained. It rained. The end."
    answer = _passage_answer(text, 11, 21)
    out = render.answer_text(answer, render.Style(color=True, width=None))
    hl = f"\x1b[{render.HIGHLIGHT}m"
    assert f"    It rained. {hl}It rained.{render.RESET} The end." in out
    assert out.count(hl) == 1


def test_confidence_bands():
    assert [render.confidence_label(c) for c in (0.0, 0.29, 0.3, 0.49, 0.5, 1.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert "confidence: high (0.50)" in render.answer_text(
        _passage_answer("A b.", 0, 4), render.Style()
    )


def test_no_color_env_and_non_tty_turn_colour_off(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert render.wants_color(Tty()) is True
    assert render.wants_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert render.wants_color(Tty()) is False
    monkeypatch.setenv("NO_COLOR", "")  # an empty value does not count (no-color.org)
    assert render.wants_color(Tty()) is True
    monkeypatch.setenv("TERM", "dumb")
    assert render.wants_color(Tty()) is False
    assert render.terminal_width(io.StringIO()) is None


def test_no_color_terminal_keeps_the_highlight_as_bold_underline(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    style = render.Style.for_stream(Tty())
    assert (style.color, style.emphasis) == (False, True)
    out = render.answer_text(_passage_answer("It rained. It rained. The end.", 11, 21), style)
    assert "\x1b[1;4mIt rained.\x1b[0m The end." in out
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", out)  # no foreground colour at all
    monkeypatch.delenv("NO_COLOR")
    piped = render.Style.for_stream(io.StringIO())
    assert (piped.color, piped.emphasis, piped.width) == (False, False, None)
    out = render.answer_text(_passage_answer("It rained. It rained. The end.", 11, 21), piped)
    assert "\x1b" not in out


def test_control_characters_in_the_source_cannot_reach_the_terminal():
    text = "Evil \x1b[2J text\x07 here.\x00"
    out = render.answer_text(_passage_answer(text, 0, len(text)), render.Style(width=None))
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out
    assert "Evil \ufffd[2J text\ufffd here.\ufffd" in out


def test_wide_characters_count_two_cells():
    lines = render.wrap("日本語の文章 です " * 3, 10)
    assert all(render.cell_width(line) <= 10 for line in lines)
    assert render.cell_width("日本") == 4 and render.cell_width("e\u0301") == 1


words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=30
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(words, st.sampled_from([" ", "  ", "\n", "\n\n", "\r\n\r\n", "\t"])), max_size=40
    ),
    st.integers(min_value=10, max_value=120),  # lines keep at least 8 cells beside the indent
)
def test_wrap_keeps_every_word_in_order_within_the_width(pieces, width):
    text = "".join(w + sep for w, sep in pieces)
    lines = render.wrap(text, width, indent="  ")
    for line in lines:
        assert render.cell_width(line) <= width or len(line.strip()) == 1
    assert "".join("".join(lines).split()) == "".join(render.printable(w) for w in text.split())


def test_sources_text_aligns_files():
    info = FakeAssistant().sources_info()
    info["files"].append({"name": "a-much-longer-name.md", "chars": 12345, "chunks": 7})
    lines = render.sources_text(info, render.Style()).splitlines()
    assert lines[-2:] == [
        "  report.txt                   251 chars      4 chunks",
        "  a-much-longer-name.md     12,345 chars      7 chunks",
    ]


def test_fake_report_offsets_are_exact():
    # Guards the fake itself: the transcripts above rely on real offsets.
    a = FakeAssistant().answer("when did the inspectors visit")
    for c in a.citations:
        assert REPORT[c.start : c.end] == c.text
    assert REPORT[a.quote.start : a.quote.end] == a.text


@settings(max_examples=200, deadline=None)
@given(st.lists(words, min_size=1, max_size=80), st.integers(min_value=20, max_value=120))
def test_excerpts_fit_the_width_ellipsis_included(passage_words, width):
    lines = render.excerpt_lines(" ".join(passage_words), width)
    assert 1 <= len(lines) <= render.EXCERPT_LINES
    for line in lines:
        assert render.cell_width(line) <= width or len(line.split()) <= 2


def test_unwrapped_excerpt_is_cut_at_a_word():
    text = "word " * 100
    (line,) = render.excerpt_lines(text, None)
    assert line.startswith("    word word") and line.endswith("word …")
    assert len(line) <= len(render.PASSAGE_INDENT) + render.EXCERPT_CHARS + 2


def test_unwrapped_excerpt_does_not_start_a_line_it_has_no_room_for():
    # A 150-character first line left room for "A …" of the next one.
    first = "word " * 29 + "end."
    (line,) = render.excerpt_lines(first + "\nA South Yorkshire Police spokesperson said", None)
    assert line == render.PASSAGE_INDENT + first + " …"
    lines = render.excerpt_lines("short first line\nA South Yorkshire Police spokesperson said", None)
    assert lines == [render.PASSAGE_INDENT + "short first line", render.PASSAGE_INDENT + "A South Yorkshire Police spokesperson said"]


def test_a_quote_inside_a_longer_passage_is_cited_at_its_own_line():
    start, end = REPORT.index("The inspectors"), REPORT.index("workshop.") + len("workshop.")
    passage = Citation("report.txt", start, end, 3, 2, REPORT[start:end], 0.9)
    q_start = REPORT.index("The depot manager")
    q_end = REPORT.index("in May.") + len("in May.")
    quote = Quote("report.txt", q_start, q_end, 5, 3)
    answer = Answer("who", True, REPORT[q_start:q_end], 0.9, (passage,), quote)
    out = render.answer_text(answer, render.Style(color=True, width=None))
    assert "[1]\x1b[0m report.txt, line 5, paragraph 3\n" in out
    hl = f"\x1b[{render.HIGHLIGHT}m"
    assert f"{hl}{REPORT[q_start:q_end]}{render.RESET} Water no longer" in out
    # Its paragraphs stay apart: a blank line between them.
    assert "40 buses.\n\n    " in out


def test_why_says_why_it_answered_or_declined_and_shows_the_near_misses():
    from reportqa.results import Answer, Citation, Considered, Quote, Signals

    text = "The depot manager, Ann Lee, said the new roof was finished in May."
    cite = Citation("report.txt", 100, 166, 5, 3, text, 0.5)
    quote = Quote("report.txt", 100, 166, 5, 3)
    signals = (Signals(1, 2.0, 2, 0.5, 0.6, 0.7, 0.0164),)
    long = "The inspectors visited the depot in March 2021. They counted 40 buses, of which 12 were out of service, and found that the workshop roof leaked over two of the bays."
    near = (Considered(quote, text, 4.25), Considered(Quote("report.txt", 40, 40 + len(long), 3, 2), long, 1.5))
    declined = Answer("who fixed the roof", False, "", 0.0912, (cite,), None, signals, considered=near, threshold=0.19)
    assert render.why_text(declined, render.Style()) == """\
Not answered: the confidence, 0.09, is below the threshold, 0.19.
Best candidate quotes, by the reader's score (it ranks them; it is not a probability):
  1. score 4.25, report.txt, line 5, paragraph 3
    The depot manager, Ann Lee, said the new roof was finished in May.
  2. score 1.50, report.txt, line 3, paragraph 2
    The inspectors visited the depot in March 2021. They counted 40 buses, of which 12 were out of service, and found that the workshop roof leaked over two of the …

     lexical         dense         sentence   late   fused
        rank  score   rank  score    cosine  match   score
[1]       #1  2.000     #2  0.500     0.600  0.700  0.0164
Ranks are 1-based, among all the passages."""
    at = Answer("who is the depot manager", True, text, 0.19, (cite,), quote, signals, considered=near[:1], threshold=0.19)
    assert render.why_text(at, render.Style()).startswith(
        "Answered: the confidence, 0.1900, is at least the threshold, 0.1900.\n"
    )
    bare = Answer("q", False, "", 0.0, (cite,), None, signals, considered=(), threshold=0.19)
    assert render.why_text(bare, render.Style()).startswith("Not answered: no sentence of the closest passages could be a quote.\n\n")
