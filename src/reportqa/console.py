"""Text for a terminal or a pipe: which streams are terminals, styles (colour, emphasis,
plain), control characters made harmless, cell widths, wrapping, and the notices on stderr.

Only the standard library is imported here: ``reportqa ask`` and the REPL's first
prompt must not wait for numpy or the model, and the model layer sends its notices
through ``stderr_notice``.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


def isatty(stream: Any) -> bool:
    """True when stream is a terminal; False too when it is closed or not a real file."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def is_terminal(stream: Any) -> bool:
    return isatty(stream) and os.environ.get("TERM") != "dumb"


def wants_color(stream: Any) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def terminal_width(stream: Any) -> int | None:
    """The width to wrap to, or None (no wrapping) when not writing to a terminal."""
    if not isatty(stream):
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



def notice_text(message: str, style: Style) -> str:
    return paragraph(printable(message), style, code=WARN)


def error_text(message: str, style: Style) -> str:
    return paragraph("error: " + printable(message), style, code=ERROR)


def stderr_notice(message: str) -> None:
    """The default notify: the one-line notice on stderr, styled for it."""
    print(notice_text(message, Style.for_stream(sys.stderr)), file=sys.stderr, flush=True)
