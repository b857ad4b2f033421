"""Answer -> terminal text, shared by the CLI and the REPL.

Only the standard library is imported here: ``reportqa ask`` and the REPL's
first prompt must not wait for numpy or the model.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .results import Answer, Citation, Quote

# SGR codes; every styled run is closed with RESET so nothing leaks into the prompt.
RESET = "\x1b[0m"
BOLD = "1"
DIM = "2"
HIGHLIGHT = "1;33"  # bold yellow: the quoted sentence inside its passage
NUMBER = "36"  # cyan: citation numbers and locations
WARN = "33"
ERROR = "31"
# The same roles without colour, for a terminal with NO_COLOR set.
NO_COLOR_CODES = {HIGHLIGHT: "1;4", NUMBER: "1", WARN: "1", ERROR: "1"}

# Confidence bands shown next to the score; the score itself is always printed.
# The score is the reader's calibrated P(the quote answers the question) (reader/cross.py,
# Platt-scaled on SQuAD), so the words are probabilities: "high", at least 7 in 10 such
# quotes answer; "medium", 4 to 7 in 10; "low", fewer than 4 in 10. benchmarks/quality.py
# prints how often each band's quotes did answer (docs/quality.md, reliability tables).
CONFIDENCE_BANDS = ((0.7, "high"), (0.4, "medium"), (0.0, "low"))

PASSAGE_INDENT = "    "
# Citations after the first are shown as an excerpt: this many lines in a
# terminal, or this many characters when output is not wrapped.
EXCERPT_LINES = 2
EXCERPT_CHARS = 160


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def wants_color(stream: Any) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def terminal_width(stream: Any) -> int | None:
    """The width to wrap to, or None (no wrapping) when not writing to a terminal."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return max(20, shutil.get_terminal_size((80, 24)).columns - 1)


@dataclass(frozen=True)
class Style:
    """How to draw: colour, or only bold/dim/underline, or plain; wrapped to ``width`` or not.

    With NO_COLOR set, a terminal still gets ``emphasis`` (no colours), so the
    quoted sentence stays visible inside its passage.
    """

    color: bool = False
    width: int | None = None
    emphasis: bool = False

    @classmethod
    def for_stream(cls, stream: Any) -> Style:
        terminal = is_terminal(stream)
        return cls(
            color=terminal and not os.environ.get("NO_COLOR"),
            width=terminal_width(stream),
            emphasis=terminal and bool(os.environ.get("NO_COLOR")),
        )

    def paint(self, text: str, code: str) -> str:
        if not text:
            return text
        if self.color:
            return f"\x1b[{code}m{text}{RESET}"
        if self.emphasis:
            return f"\x1b[{NO_COLOR_CODES.get(code, code)}m{text}{RESET}"
        return text


def printable(text: str) -> str:
    """Replace control characters one for one, so source text cannot drive the terminal."""
    return "".join(
        " "
        if ch == "\t"
        else "\ufffd"
        if unicodedata.category(ch) in ("Cc", "Cs") and ch != "\n"
        else ch
        for ch in text
    )


def cell_width(text: str) -> int:
    """Terminal cells taken by text: wide East Asian characters and emoji count twice."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _split_word(word: str, start: int, width: int) -> list[tuple[int, int]]:
    """Cut a word wider than the line into pieces of at most ``width`` cells."""
    pieces, piece_start, used = [], 0, 0
    for i, ch in enumerate(word):
        w = cell_width(ch)
        if used + w > width and i > piece_start:
            pieces.append((start + piece_start, start + i))
            piece_start, used = i, 0
        used += w
    pieces.append((start + piece_start, start + len(word)))
    return pieces


# A Markdown list item's marker: its wrapped lines hang under the item's text.
_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])[ \t]+(?=\S)")


def wrap(
    text: str,
    width: int | None,
    *,
    indent: str = "",
    spans: Sequence[tuple[int, int, str]] = (),
    style: Style = Style(),
) -> list[str]:
    """Reflow text to ``width`` cells, keeping its line structure.

    Paragraphs stay apart by one blank line, and every line break of the text is
    kept, so a Markdown table or list shows one row or item a line; a line
    longer than the width is wrapped (a list item's continuation hangs under
    its text) and its leading indentation is kept. ``spans`` are
    ``(start, end, sgr_code)`` character offsets into ``text``; they are painted
    after wrapping, so escape codes never count as width and highlighting
    follows offsets, never a string search. With ``width=None`` lines are not
    wrapped.
    """
    lines: list[str] = []
    paragraphs = [m for m in re.finditer(r"(?:(?!\n[ \t\r]*\n).)+", text, re.DOTALL)]
    for p_index, para in enumerate(paragraphs):
        if p_index:
            lines.append("")
        for row in re.finditer(r"[^\n]+", text[para.start() : para.end()]):
            row_start, row_end = para.start() + row.start(), para.start() + row.end()
            words = [(m.start() + row_start, m.end() + row_start) for m in re.finditer(r"\S+", text[row_start:row_end])]
            if not words:
                continue
            # The line's own indentation (a nested item, a code block), kept while it leaves room.
            pad = " " * sum(4 if ch == "\t" else 1 for ch in text[row_start : words[0][0]] if ch != "\r")
            if width is not None and width - cell_width(indent + pad) < 16:
                pad = ""
            item = _ITEM.match(text, words[0][0], row_end)
            hang = " " * (item.end() - item.start()) if item else ""
            if width is not None and width - cell_width(indent + pad + hang) < 16:
                hang = ""
            lines.extend(_flow(text, words, width, indent + pad, indent + pad + hang, spans, style))
    return lines


def _flow(
    text: str,
    words: list[tuple[int, int]],
    width: int | None,
    first: str,
    rest: str,
    spans: Sequence[tuple[int, int, str]],
    style: Style,
) -> list[str]:
    """One line of text, its words flowed into lines of ``width`` cells (``first`` and ``rest`` prefix them)."""
    out: list[str] = []
    lead = first
    room = None if width is None else max(8, width - cell_width(lead))
    current: list[tuple[int, int]] = []
    used = 0
    for s, e in words:
        w = cell_width(text[s:e])
        if room is not None and w > room:
            pieces = _split_word(text[s:e], s, room)
        else:
            pieces = [(s, e)]
        for ps, pe in pieces:
            pw = cell_width(text[ps:pe])
            if current and room is not None and used + 1 + pw > room:
                out.append(lead + _paint_line(text, current, spans, style))
                current, used = [], 0
                lead = rest
                room = max(8, width - cell_width(lead)) if width is not None else None
                if pw > room:  # a piece cut for the first line's room may not fit a hanging line
                    for qs, qe in _split_word(text[ps:pe], ps, room)[:-1]:
                        out.append(lead + _paint_line(text, [(qs, qe)], spans, style))
                    ps = _split_word(text[ps:pe], ps, room)[-1][0]
                    pw = cell_width(text[ps:pe])
            used += pw + (1 if current else 0)
            current.append((ps, pe))
    if current:
        out.append(lead + _paint_line(text, current, spans, style))
    return out


def _paint_line(
    text: str, words: list[tuple[int, int]], spans: Sequence[tuple[int, int, str]], style: Style
) -> str:
    """Join words with single spaces; paint each run of characters by the span covering it."""
    runs: list[tuple[str, str | None]] = []
    for i, (s, e) in enumerate(words):
        if i:
            # The space between two words takes a span only if both neighbours are inside it.
            gap_start = words[i - 1][1]
            before, after = _code_at(spans, gap_start - 1), _code_at(spans, s)
            runs.append((" ", before if before == after else None))
        cuts = sorted({s, e, *(x for a, b, _ in spans for x in (a, b) if s < x < e)})
        runs.extend((printable(text[a:b]), _code_at(spans, a)) for a, b in itertools.pairwise(cuts))
    merged: list[tuple[str, str | None]] = []
    for piece, code in runs:
        if merged and merged[-1][1] == code:
            merged[-1] = (merged[-1][0] + piece, code)
        else:
            merged.append((piece, code))
    return "".join(style.paint(piece, code) if code else piece for piece, code in merged)


def _code_at(spans: Sequence[tuple[int, int, str]], pos: int) -> str | None:
    for a, b, code in spans:
        if a <= pos < b:
            return code
    return None


def paragraph(text: str, style: Style, *, indent: str = "", code: str | None = None) -> str:
    """One wrapped block of plain text, optionally painted as a whole."""
    spans = [(0, len(text), code)] if code else []
    return "\n".join(wrap(text, style.width, indent=indent, spans=spans, style=style))


def confidence_label(confidence: float) -> str:
    for floor, label in CONFIDENCE_BANDS:
        if confidence >= floor:
            return label
    return CONFIDENCE_BANDS[-1][1]


def location(where: Citation | Quote) -> str:
    return f"{printable(where.source)}, line {where.line}, paragraph {where.paragraph}"


def heading(number: int, text: str, style: Style) -> str:
    """``[n] text``, wrapped, with the number painted."""
    label = f"[{number}]"
    spans = [(0, len(label), NUMBER)]
    return "\n".join(wrap(f"{label} {text}", style.width, spans=spans, style=style))


def citation_block(
    number: int,
    citation: Citation,
    style: Style,
    *,
    quote: Quote | None = None,
    excerpt: bool = False,
) -> str:
    """``[n] file, line L, paragraph P`` and the passage beneath it.

    With a ``quote`` (inside this passage) the header gives the quote's own line
    and paragraph, and the quote is highlighted by its offsets. With ``excerpt``
    the passage is cut to a few lines.
    """
    header = heading(number, location(citation if quote is None else quote), style)
    if excerpt:
        body = [style.paint(line, DIM) for line in excerpt_lines(citation.text, style.width)]
    else:
        spans = []
        if quote is not None:
            spans.append((quote.start - citation.start, quote.end - citation.start, HIGHLIGHT))
        body = wrap(citation.text, style.width, indent=PASSAGE_INDENT, spans=spans, style=style)
    return "\n".join([header, *body])


def excerpt_lines(text: str, width: int | None) -> list[str]:
    """The start of a passage: EXCERPT_LINES wrapped lines, or 160 characters unwrapped.

    Unwrapped, the passage's own lines are kept (a table row or list item a line),
    up to EXCERPT_LINES of them within the 160 characters.
    """
    if width is None:
        rows = [" ".join(printable(row).split()) for row in text.splitlines()]
        rows = [row for row in rows if row]
        out: list[str] = []
        room = EXCERPT_CHARS
        for n, row in enumerate(rows):
            more = n + 1 < len(rows)
            if len(row) > room:
                cut = row.rfind(" ", 0, room)
                row, more = row[: cut if cut > 0 else room], True
            if not more or len(row) >= room - 1 or len(out) + 1 == EXCERPT_LINES:
                out.append(PASSAGE_INDENT + row + (" …" if more else ""))
                break
            out.append(PASSAGE_INDENT + row)
            room -= len(row) + 1
        return out or [PASSAGE_INDENT]
    lines = [line for line in wrap(text, width, indent=PASSAGE_INDENT) if line.strip()]
    if len(lines) <= EXCERPT_LINES:
        return lines
    last = lines[EXCERPT_LINES - 1]
    # Make room for the ellipsis on the last line, a word at a time.
    while cell_width(last + " …") > width and " " in last.strip():
        last = last.rstrip().rsplit(" ", 1)[0]
    return [*lines[: EXCERPT_LINES - 1], last + " …"]


_TABLE_ROW = re.compile(r"[ \t]*\|")
_TABLE_DELIMITER = re.compile(r"[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+\S")


def _line_above(text: str, line_start: int) -> tuple[int, int] | None:
    """(start, end) of the line before the one starting at line_start, without its line break."""
    if line_start <= 0:
        return None
    end = line_start - 1
    start = text.rfind("\n", 0, end) + 1
    return start, end - 1 if end > start and text[end - 1] == "\r" else end


def quote_context(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The line that frames a quoted table row or list item, as (start, end) in ``text``.

    For a table row, the table's header row (the row above its ``|---|`` line);
    for a list item, the line that leads into the list ("The utility has committed
    to three actions:"), or across a blank line one that ends with a colon or is a
    heading. None for anything else, or when the frame is not in ``text``.
    """
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip():
        return None  # the quote does not begin its line
    if _TABLE_ROW.match(text, line_start):
        rows = []
        here = _line_above(text, line_start)
        while here is not None and _TABLE_ROW.match(text, here[0], here[1]):
            rows.append(here)
            here = _line_above(text, here[0])
        if len(rows) >= 2 and _TABLE_DELIMITER.match(text, rows[-2][0], rows[-2][1]):
            return rows[-1]
        return None
    if _LIST_ITEM.match(text, line_start):
        here = _line_above(text, line_start)
        # Up past the list's other items and their indented continuation lines.
        while here is not None and (
            _LIST_ITEM.match(text, here[0], here[1]) or text[here[0] : here[0] + 1] in (" ", "\t")
        ) and text[here[0] : here[1]].strip():
            here = _line_above(text, here[0])
        if here is None:
            return None
        if text[here[0] : here[1]].strip():
            return here
        here = _line_above(text, here[0])  # a blank line: the paragraph before it
        if here is None:
            return None
        line = text[here[0] : here[1]].strip()
        return here if line.endswith(":") or line.startswith("#") else None
    return None


# Quotation marks that open and close; ’ is also an apostrophe, so it closes only a ‘.
_OPEN_MARKS = {"“": "”", "‘": "’", "«": "»"}
_CLOSE_MARKS = {"”": "“", "»": "«"}


def open_quotation(text: str) -> tuple[bool, bool]:
    """(begins inside a quotation, ends inside one): a closing mark with no opening
    mark before it, or an opening mark that is never closed. Straight double quotes
    count when there is an odd number of them."""
    stack: list[str] = []
    begins_inside = False
    for i, ch in enumerate(text):
        if ch in _OPEN_MARKS:
            stack.append(ch)
        elif ch in _CLOSE_MARKS:
            if _CLOSE_MARKS[ch] in stack:
                del stack[len(stack) - 1 - stack[::-1].index(_CLOSE_MARKS[ch]) :]
            else:
                begins_inside = True
        elif ch == "’" and "‘" in stack:
            between_letters = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
            if not between_letters:  # not an apostrophe ("SYP’s")
                del stack[len(stack) - 1 - stack[::-1].index("‘") :]
    ends_inside = bool(stack)
    straight = [i for i, ch in enumerate(text) if ch == '"']
    if len(straight) % 2:
        i = straight[-1]
        if i == 0 or text[i - 1].isspace() or text[i - 1] in "([:":
            ends_inside = True
        else:
            begins_inside = True
    return begins_inside, ends_inside


def answer_text(answer: Answer, style: Style) -> str:
    """The whole answer: the quote, its confidence, then the numbered citations."""
    parts: list[str] = []
    citations = answer.citations
    if answer.answered:
        quote_lines = []
        quote = quote_in(answer.quote, citations[0]) if citations else None
        frame = None
        if quote is not None:
            frame = quote_context(
                citations[0].text, quote.start - citations[0].start, quote.end - citations[0].start
            )
        if frame is not None:
            # The table's header row or the list's lead-in line: context, not part of the quote.
            context = citations[0].text[frame[0] : frame[1]]
            quote_lines += wrap(context, style.width, spans=[(0, len(context), DIM)], style=style)
        # A quote that starts or stops inside a quotation gets an ellipsis on that side
        # (dim, outside the bold quote), so the quotation's boundary is clear.
        begins_inside, ends_inside = open_quotation(answer.text)
        before, after = ("… " if begins_inside else ""), (" …" if ends_inside else "")
        shown = before + answer.text + after
        spans = [(len(before), len(before) + len(answer.text), BOLD)]
        if before:
            spans.append((0, 1, DIM))
        if after:
            spans.append((len(shown) - 1, len(shown), DIM))
        quote_lines += wrap(shown, style.width, spans=spans, style=style)
        if citations:
            quote_lines[-1] += " " + style.paint("[1]", NUMBER)
        parts.append("\n".join(quote_lines))
        parts.append(
            style.paint(
                f"confidence: {confidence_label(answer.confidence)} ({answer.confidence:.2f})", DIM
            )
        )
        blocks = []
        for i, c in enumerate(citations, 1):
            quote = quote_in(answer.quote, c) if i == 1 else None
            blocks.append(citation_block(i, c, style, quote=quote, excerpt=i > 1))
        if blocks:
            parts.append("\n".join(blocks))
    else:
        parts.append(
            paragraph("Not in the report: no passage answers this question.", style, code=BOLD)
        )
        if citations:
            heading = "Closest passages, so you can judge:"
            blocks = [citation_block(i, c, style, excerpt=True) for i, c in enumerate(citations, 1)]
            parts.append("\n".join([style.paint(heading, DIM), *blocks]))
    return "\n\n".join(parts)


def followup_text(earlier: Sequence[str], style: Style) -> str:
    """One dim line: the earlier question(s) a follow-up was read with, most recent first."""
    asked = " after ".join(f"“{printable(q)}”" for q in earlier)
    return paragraph(f"read as a follow-up to: {asked}", style, code=DIM)


def notice_text(message: str, style: Style) -> str:
    return paragraph(printable(message), style, code=WARN)


def error_text(message: str, style: Style) -> str:
    return paragraph("error: " + printable(message), style, code=ERROR)


def quote_in(quote: Quote | None, citation: Citation) -> Quote | None:
    """The quote if it lies inside the citation's passage, else None."""
    if quote is None or quote.source != citation.source:
        return None
    return quote if citation.start <= quote.start and quote.end <= citation.end else None


def show_text(
    number: int,
    cited: Citation,
    passages: Sequence[Citation],
    style: Style,
    quote: Quote | None = None,
) -> str:
    """``/show N``: the cited passage, bright, between its dimmed neighbours."""
    passages = list(passages) or [cited]
    quote = quote_in(quote, cited)
    header = heading(number, location(quote or cited), style)
    blocks = [header]
    for p in passages:
        is_cited = p.start < cited.end and cited.start < p.end
        spans: list[tuple[int, int, str]] = []
        if not is_cited:
            spans.append((0, len(p.text), DIM))
        elif quote is not None and p.start <= quote.start and quote.end <= p.end:
            spans.append((quote.start - p.start, quote.end - p.start, HIGHLIGHT))
        label = f"line {p.line}, paragraph {p.paragraph}" + (" (cited)" if is_cited else "")
        body = wrap(p.text, style.width, indent=PASSAGE_INDENT, spans=spans, style=style)
        blocks.append("  " + style.paint(label, DIM) + "\n" + "\n".join(body))
    return "\n\n".join(blocks)


def why_text(answer: Answer, style: Style) -> str:
    """``/why``: lexical and dense rank and score, and the best sentence's cosine and late match, for each cited passage."""
    if not answer.citations:
        return "The last answer has no citations."
    if not answer.signals:
        return "No ranking signals were recorded for the last answer."
    rows = [("", "lexical", "", "dense", "", "sentence", "late", "fused")]
    rows.append(("", "rank", "score", "rank", "score", "cosine", "match", "score"))
    for i, (c, s) in enumerate(zip(answer.citations, answer.signals), 1):
        rows.append(
            (
                f"[{i}]",
                _rank(s.lexical_rank),
                f"{s.lexical_score:.3f}",
                _rank(s.dense_rank),
                f"{s.dense_score:.3f}",
                f"{s.sentence_score:.3f}",
                f"{s.late_score:.3f}",
                f"{s.fused_score:.4f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        line = "  ".join(
            cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(row)
        )
        out.append(style.paint(line.rstrip(), DIM) if n < 2 else line.rstrip())
    out.append(style.paint("Ranks are 1-based; - means the passage was not in that list.", DIM))
    return "\n".join(out)


def _rank(rank: int) -> str:
    return f"#{rank}" if rank and rank > 0 else "-"


def sources_text(info: dict, style: Style) -> str:
    """``/sources``: the source, the index, the model and each file."""
    files = info.get("files", [])
    lines = [
        f"source:  {printable(str(info.get('source', '?')))}",
        f"index:   {printable(str(info.get('index', '?')))}",
        f"model:   {info.get('model', '?')} ({info.get('backend', '?')} backend)",
        f"chunks:  {info.get('chunks', 0)} in {len(files)} file{'s' if len(files) != 1 else ''}",
    ]
    if files:
        name_width = max(cell_width(printable(f["name"])) for f in files)
        for f in files:
            name = printable(f["name"])
            pad = " " * (name_width - cell_width(name))
            lines.append(
                f"  {name}{pad}  {f.get('chars', 0):>9,} chars  {f.get('chunks', 0):>5} chunks"
            )
    return "\n".join(lines)


def answer_json(answer: Answer, *, indent: int | None = None) -> str:
    """The answer as JSON (``Answer.to_dict()``)."""
    return dumps(answer.to_dict(), indent=indent)


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """JSON for any result the CLI prints; lone surrogates fall back to \\u escapes."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=_jsonable)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, indent=indent, default=_jsonable)
    return text


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "__fspath__"):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays from the evaluator
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
