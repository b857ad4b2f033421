"""Documents -> passages (chunks) and sentences with exact character offsets."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .ingest import Document
from .text import fenced_blocks, front_matter, is_heading, is_title_line, read_text, sentence_spans

# Consecutive paragraphs are merged into one passage while the passage stays within
# this many wordpieces. News-style reports put one sentence in a paragraph, and such a
# paragraph often needs its neighbour to be found or understood ("It subsequently
# appears that it was not."). 0 keeps one passage per paragraph.
MERGE_TOKENS = 128
# What a fresh index must have been chunked with; index.py records it in the manifest.
# (Version 7: a Markdown heading line is one sentence.)
CHUNKING = {"method": "paragraph-merge", "version": 7, "merge_tokens": MERGE_TOKENS}

BLANK_LINES = re.compile(r"(?:\r\n|\r|\n)[ \t\f\v]*(?:\r\n|\r|\n)(?:[ \t\f\v]*(?:\r\n|\r|\n))*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Chunk:
    """A passage: a run of short paragraphs, one paragraph, or a run of its sentences when it is too long.

    ``paragraph`` is the 1-based number of the first paragraph in the passage.
    """

    id: int
    source: str
    start: int
    end: int
    line: int
    paragraph: int
    text: str
    sentences: tuple[tuple[int, int], ...] = field(default=())  # absolute offsets

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "line": self.line,
            "paragraph": self.paragraph,
            "text": self.text,
            "sentences": [list(s) for s in self.sentences],
        }

    def locate(self, offset: int) -> tuple[int, int]:
        """(line, paragraph), both 1-based, of a file offset inside this passage."""
        before = self.text[: offset - self.start]
        breaks = len(_LINE_BREAK.findall(before))
        return self.line + breaks, self.paragraph + len(BLANK_LINES.findall(before))

    @classmethod
    def from_dict(cls, d: dict) -> "Chunk":
        return cls(
            id=int(d["id"]),
            source=str(d["source"]),
            start=int(d["start"]),
            end=int(d["end"]),
            line=int(d["line"]),
            paragraph=int(d["paragraph"]),
            text=str(d["text"]),
            sentences=tuple((int(a), int(b)) for a, b in d["sentences"]),
        )


def paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each paragraph: text between blank lines, trimmed of white space."""
    last = 0
    for m in BLANK_LINES.finditer(text):
        yield from _trimmed(text, last, m.start())
        last = m.end()
    yield from _trimmed(text, last, len(text))


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end


class LineIndex:
    """1-based line number of an offset, counting \\r\\n, \\r and \\n as one break each."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def _word_windows(text: str, start: int, end: int, fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces that fit the model, at spaces where possible."""
    pieces = []
    pos = start
    while pos < end:
        lo, hi = pos + 1, end
        while lo < hi:  # the longest prefix from pos that fits
            mid = (lo + hi + 1) // 2
            if fits(text[pos:mid]):
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        if cut < end and not text[cut].isspace():
            space = max(text.rfind(" ", pos, cut), text.rfind("\n", pos, cut))
            if space > pos:  # else one "word" is longer than the window (a URL): cut inside it
                cut = space
        piece_end = cut
        while piece_end > pos and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((pos, piece_end))
        pos = cut
        while pos < end and text[pos].isspace():
            pos += 1
    return pieces


def chunk_document(
    doc: Document,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    first_id: int = 0,
    merge_tokens: int | None = None,
) -> list[Chunk]:
    """Passages that follow paragraph and sentence boundaries and fit max_tokens wordpieces.

    Whole paragraphs that fit are then merged with the following ones while the
    merged passage has at most merge_tokens wordpieces (default MERGE_TOKENS). A heading
    (Markdown's, or a plain-text title line such as "3. Finances") opens a passage rather than
    closing one: it labels what follows, so it goes with it (a run of headings stays together).
    """
    text = doc.text
    lines = LineIndex(text)
    budget = min(MERGE_TOKENS if merge_tokens is None else merge_tokens, max_tokens)

    def fits(s: str) -> bool:
        return count_tokens(s) <= max_tokens

    # (paragraph number, whole paragraph?, sentence spans) of each passage before merging
    pieces_of: list[tuple[int, bool, list[tuple[int, int]]]] = []
    code, front = fenced_blocks(text), front_matter(text)  # found once for the whole document
    for number, (p_start, p_end) in enumerate(paragraphs(text), start=1):
        sentences = sentence_spans(text, p_start, p_end, code, front) or [(p_start, p_end)]
        # Sentences too long for the model on their own become word windows.
        pieces: list[tuple[int, int]] = []
        for s, e in sentences:
            pieces.extend([(s, e)] if fits(text[s:e]) else _word_windows(text, s, e, fits))
        groups: list[list[tuple[int, int]]] = []
        if fits(text[p_start:p_end]):
            groups.append(pieces)
        else:
            current: list[tuple[int, int]] = []
            for piece in pieces:
                if current and not fits(text[current[0][0] : piece[1]]):
                    groups.append(current)
                    current = []
                current.append(piece)
            if current:
                groups.append(current)
        pieces_of.extend((number, len(groups) == 1, group) for group in groups)

    merged: list[tuple[int, list[tuple[int, int]]]] = []
    can_grow = False  # may the last merged passage take the next paragraph?
    headings_only = False  # is the last merged passage nothing but headings?
    for number, whole, group in pieces_of:
        heading = whole and _is_heading_paragraph(text[group[0][0] : group[-1][1]])
        if (budget > 0 and whole and can_grow and (headings_only or not heading)
                and count_tokens(text[merged[-1][1][0][0] : group[-1][1]]) <= budget):
            merged[-1][1].extend(group)
            headings_only = headings_only and heading
            continue
        merged.append((number, list(group)))
        can_grow = whole and count_tokens(text[group[0][0] : group[-1][1]]) <= budget
        headings_only = heading

    chunks: list[Chunk] = []
    for number, group in merged:
        start, end = group[0][0], group[-1][1]
        chunks.append(
            Chunk(
                id=first_id + len(chunks),
                source=doc.name,
                start=start,
                end=end,
                line=lines.line(start),
                paragraph=number,
                text=text[start:end],
                sentences=tuple(group),
            )
        )
    return chunks


def _is_heading_paragraph(paragraph: str) -> bool:
    return is_title_line(paragraph) or (is_heading(paragraph) and "\n" not in paragraph.strip())


def chunk_documents(
    docs: list[Document], count_tokens: Callable[[str], int], max_tokens: int, merge_tokens: int | None = None
) -> list[Chunk]:
    chunks: list[Chunk] = []
    for doc in docs:
        chunks.extend(chunk_document(doc, count_tokens, max_tokens, first_id=len(chunks), merge_tokens=merge_tokens))
    return chunks


def sentences_as_read(chunks: list[Chunk]) -> list[str]:
    """Every sentence of these passages (in order: a source's passages consecutive, in file order)
    as the models read it (``text.read_text``: a table's data row with its header's names); what
    the sentence vectors and the sentence-level terms are made of."""
    raw = [c.text[a - c.start : b - c.start] for c in chunks for a, b in c.sentences]
    firsts = [first for c, first in zip(chunks, source_first_rows(chunks)) for _ in c.sentences]
    return [read_text(raw, row, first) for row, first in enumerate(firsts)]


def source_first_rows(chunks: list[Chunk]) -> list[int]:
    """Per passage, the sentence row (counted over these passages, in order) that opens its
    source's first passage: where a table's header may be looked for, and no earlier."""
    out, row, first, source = [], 0, 0, None
    for c in chunks:
        if c.source != source:
            first, source = row, c.source
        out.append(first)
        row += len(c.sentences)
    return out
