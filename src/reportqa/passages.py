"""A cited passage laid out for the terminal: its heading, the passage with the quote
highlighted, the excerpt of a later citation, the context line above a quote (a table's
header row, a list's lead-in) and whether a quote opens or closes a quotation.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .console import DIM, HIGHLIGHT, NUMBER, Style, cell_width, printable, wrap

if TYPE_CHECKING:  # pragma: no cover
    from .results import Citation, Quote

PASSAGE_INDENT = "    "
# Citations after the first are shown as an excerpt: this many lines in a
# terminal, or this many characters when output is not wrapped.
EXCERPT_LINES = 2
EXCERPT_CHARS = 160
EXCERPT_MIN_PIECE = 20  # an unwrapped excerpt does not start a line it can show less of than this


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
                if out and room < EXCERPT_MIN_PIECE:
                    out[-1] += " …"  # too little room left for a useful piece of the next line
                    break
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
