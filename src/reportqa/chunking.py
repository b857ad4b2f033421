"""Documents -> passages (chunks) and sentences with exact character offsets."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .ingest import Document
from .tables import read_text
from .text import (
    fenced_blocks,
    front_matter,
    is_heading,
    is_label,
    is_structural,
    is_title_line,
    sentence_spans,
)

# Consecutive paragraphs are merged into one passage while the passage stays within
# this many wordpieces. News-style reports put one sentence in a paragraph, and such a
# paragraph often needs its neighbour to be found or understood ("It subsequently
# appears that it was not."). 0 keeps one passage per paragraph.
MERGE_TOKENS = 128
# A paragraph of one sentence ending in a colon and shorter than this (as short as a title line) opens a
# passage, as a heading does; a longer one ("A total of 24,816 patients were randomly assigned to one of
# four groups:") says something of its own and stays with the prose before it.
LEAD_IN_CHARS = 60
# What a fresh index must have been chunked with; index.py records it in the manifest.
# (Version 7: a Markdown heading line is one sentence; a list item is read with its section's heading, ``Sections``.
# Version 8: a short paragraph of one sentence ending in a colon opens a passage, as a heading does.
# Version 9: each line of a block of labels is a sentence, however long: a headline over its byline.
# Version 10: a byline is read as "Written by …".
# Version 11: a passage that ends on a lead-in of any length takes what follows while both fit the model.
# Version 12: so does a passage of headings alone.)
CHUNKING = {"method": "paragraph-merge", "version": 12, "merge_tokens": MERGE_TOKENS}

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
    So does a short paragraph of one sentence that ends in a colon ("The board made five
    recommendations:"): it introduces what follows, and the list or table after it is its answer.
    A passage that ends on such a lead-in, short or long, or that is nothing but headings, takes the
    paragraph after it while both fit max_tokens, not only merge_tokens: a heading alone answers
    nothing ("## What should I do" over its seven steps).
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
    introduces = False  # does it end on a lead-in?
    for number, whole, group in pieces_of:
        paragraph = text[group[0][0] : group[-1][1]]
        lead_in = whole and len(group) == 1 and is_lead_in(paragraph.strip())  # one sentence ending in a colon
        # a short lead-in opens a passage as a heading does; a longer one says something of its own
        heading = whole and (_is_heading_paragraph(paragraph) or lead_in and len(paragraph.strip()) < LEAD_IN_CHARS)
        # a lead-in or a passage of headings alone takes what follows while both fit the model
        limit = max_tokens if introduces or headings_only else budget
        if (budget > 0 and whole and can_grow and (headings_only or not heading)
                and count_tokens(text[merged[-1][1][0][0] : group[-1][1]]) <= limit):
            merged[-1][1].extend(group)
            headings_only = headings_only and heading
            introduces = lead_in
            continue
        merged.append((number, list(group)))
        can_grow = whole and count_tokens(paragraph) <= budget
        headings_only = heading
        introduces = lead_in

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
    as the models read it (``read_sentence``: a table's data row with its header's names, a list
    item after its section's heading); what the sentence vectors and the sentence-level terms are
    made of."""
    raw = [c.text[a - c.start : b - c.start] for c in chunks for a, b in c.sentences]
    firsts = [first for c, first in zip(chunks, source_first_rows(chunks)) for _ in c.sentences]
    sections = Sections(chunks)
    titles = [title for i in range(len(chunks)) for title in sections.titles(i)]
    return [read_sentence(raw, row, first, titles[row]) for row, first in enumerate(firsts)]


_BYLINE = re.compile(r"By\s+[A-Z]")
BYLINE_SENTENCES = 5  # a byline stands under the headline, among a file's first sentences
_LIST_ITEM = re.compile(r"\s*(?:[-*+•]|\d{1,3}[.)])\s")
_OPENING_HASHES = re.compile(r"\s*#{1,6}(?=\s|$)")
_CLOSING_HASHES = re.compile(r"\s+#+\s*$")
_SECTION_NUMBER = re.compile(r"\s*(?:\d{1,3}(?:\.\d{1,3})*\.?|[IVXLC]{1,6}\.)\s+")


def read_sentence(sentences: list[str], i: int, first: int = 0, title: str | None = None) -> str:
    """Sentence i as the models read it: a table's data row with its header's names
    (``tables.read_text``), a list item after the title of the section it stands in ("What
    went badly: - It took 97 minutes to find the cap."), since an item, like a row, often says
    what it is about only through its heading, and a byline as what it says ("Written by Hannah
    Okafor"); otherwise as written. ``sentences[first]`` is its file's first sentence. The quote
    is still the sentence as written."""
    text = sentences[i]
    if title and is_list_item(text):
        return f"{title}: {text}"
    if is_byline(sentences, i, first):
        return "Written b" + text[1:]  # "By Hannah Okafor" says who wrote it only by where it stands
    return read_text(sentences, i, first)


def is_byline(sentences: list[str], i: int, first: int = 0) -> bool:
    """Is sentence i a byline: a label ("By Hannah Okafor", no closing punctuation) that opens with
    "By" and a capital, among the first ``BYLINE_SENTENCES`` of its file (``sentences[first]``)?"""
    return i - first < BYLINE_SENTENCES and _BYLINE.match(sentences[i]) is not None and is_label(sentences[i])


def is_lead_in(sentence: str) -> bool:
    """Does the sentence end in a colon, as a line that introduces what follows does (not a heading, row or item)?"""
    return sentence.rstrip().endswith(":") and not (is_structural(sentence) or is_list_item(sentence))


def is_list_item(sentence: str) -> bool:
    """Does the sentence open a list item ("- Paging worked.", "2. Add connection pool usage…")?"""
    return _LIST_ITEM.match(sentence) is not None


def section_title(heading: str) -> str:
    """A heading as the name of its section: "## 3. Finances:" -> "Finances"."""
    name = _CLOSING_HASHES.sub("", _OPENING_HASHES.sub("", heading, count=1)).strip()
    number = _SECTION_NUMBER.match(name)
    if number and name[number.end():].strip():
        name = name[number.end():]
    return name.rstrip(":").strip()


class Sections:
    """The section each sentence of a report stands in, from its headings.

    A heading is a Markdown heading, or a plain-text title line (``text.is_title_line``: "3.
    Finances") that is a paragraph of its own or opens a paragraph of prose or a list ("1.
    Apologies" / "Apologies were received from…"), not one of label lines ("Chair: Margaret
    Doyle" / "Minutes: Tom Okafor"). Nothing in a file's first paragraph is one: that is the
    report's title, or a title and byline, and heads no section. A section runs to the next
    heading. Found per passage and only through passages that follow one another in the file, so
    a store's question, which reads only the passages it reached, finds no heading across a gap
    (the item is then read as written; its stored vector was made with the heading).
    """

    def __init__(self, chunks: list[Chunk]):
        self.chunks = chunks
        self._at_end: dict[int, str | None] = {}  # passage -> the section title in force at its end
        self._heads: dict[int, list[str | None]] = {}  # passage -> its headings (_headings)

    def titles(self, i: int) -> list[str | None]:
        """The section title of each sentence of passage i (None: in no section, or a heading itself)."""
        current = self._before(i)
        out: list[str | None] = []
        for heading in self._headings(i):
            if heading is not None:
                current = section_title(heading) or None
                out.append(None)
            else:
                out.append(current)
        return out

    def _before(self, i: int) -> str | None:
        """The title in force where passage i begins: from the passages before it, back to the last
        with a heading (each passage walked remembers the title in force at its end)."""
        walked, j, title = [], i, None
        while j > 0 and _follows(self.chunks[j - 1], self.chunks[j]):
            j -= 1
            if j in self._at_end:
                title = self._at_end[j]
                break
            walked.append(j)
            if any(h is not None for h in self._headings(j)):
                break
        for k in reversed(walked):
            for heading in self._headings(k):
                if heading is not None:
                    title = section_title(heading) or None
            self._at_end[k] = title
        return title

    def _headings(self, i: int) -> list[str | None]:
        """Per sentence of passage i, the sentence when it is a heading, else None."""
        if i not in self._heads:
            self._heads[i] = self._find_headings(self.chunks[i])
        return self._heads[i]

    @staticmethod
    def _find_headings(c: Chunk) -> list[str | None]:
        texts = [c.text[a - c.start : b - c.start] for a, b in c.sentences]
        gaps = [c.text[b - c.start : a - c.start] for (_, b), (a, _) in zip(c.sentences, c.sentences[1:])]
        opens = [True] + [BLANK_LINES.search(g) is not None for g in gaps]  # does sentence k open a paragraph?
        in_first = c.paragraph == 1  # still in the file's first paragraph?
        out: list[str | None] = []
        for k, text in enumerate(texts):
            in_first = in_first and not (k and opens[k])
            nxt = texts[k + 1] if k + 1 < len(texts) and not opens[k + 1] else None
            # a title line alone in its paragraph, or opening one of prose or a list (not of labels)
            titles = opens[k] and is_title_line(text) and (
                nxt is None or is_list_item(nxt) or not (is_label(nxt) or is_structural(nxt)))
            heading = not in_first and (_OPENING_HASHES.match(text) is not None or titles)  # a rule heads nothing
            out.append(text if heading else None)
        return out


def _follows(before: Chunk, after: Chunk) -> bool:
    """Does passage ``after`` begin where ``before`` ends in the same file (no passage between)?"""
    last = before.paragraph + len(BLANK_LINES.findall(before.text))  # the paragraph ``before`` ends in
    return before.source == after.source and after.paragraph in (last, last + 1)


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
