"""The answer to "what does X stand for?" where the report spells X out.

Such a question has one right answer, the long form, and the report says it in one sentence:
the one that defines the abbreviation ("the Independent Office for Police Conduct (IOPC)"),
or, where it never defines it, a run of words whose initials spell it ("key performance
indicators" for "KPI"). ``spelled_out`` finds that sentence among the report's passages (the
text rules are in ``abbreviations.py``); ``decide`` then quotes it, with the long form as the
answer span, instead of the reader's choice. Where the report neither defines X nor spells it
out in one way only, it returns None and the reader answers as for any question.

The confidence is how often that long form was right on the SQuAD training set's questions
of this kind ("What does ASCII stand for?"), each asked of its whole article
(``benchmarks/abbreviations.py``): a definition 193 times in 195, initials 25 in 25, given
as (right + 1) / (found + 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import abbreviations
from .candidate import Candidate
from .context import Query

# (right, found) on those questions; tests/quality/test_abbreviations.py measures them again.
DEFINED_COUNTS = (193, 195)
INITIALS_COUNTS = (25, 25)
DEFINED_P = round((DEFINED_COUNTS[0] + 1) / (DEFINED_COUNTS[1] + 2), 3)  # 0.985
INITIALS_P = round((INITIALS_COUNTS[0] + 1) / (INITIALS_COUNTS[1] + 2), 3)  # 0.963
MAX_SCAN = 2000  # passages searched for initials, in the ranking's order (all of a report's)


@dataclass(frozen=True)
class SpelledOut:
    """An abbreviation's long form in the report: the sentence to quote, the long form's file offsets, and how it was found."""

    short: str  # as asked
    candidate: Candidate  # the sentence that holds the long form
    start: int  # the long form's character offsets in the source file
    end: int
    how: str  # "defined" ("long form (SF)" in the report) or "initials"
    p: float  # P(the long form is the answer), measured (above)


def spelled_out(query: Query) -> SpelledOut | None:
    """The long form the question asks for, found in the report, or None (the reader answers)."""
    chunks = query.index.chunks
    cache: dict[str, list] = {}

    def defined(key: str) -> list[tuple[int, abbreviations.Definition]]:
        """(chunk id, definition) of every passage that spells out the short form with this key, in file order."""
        if key not in cache:
            # Only passages holding the short form's letters, with or without stops between them, are parsed.
            pattern = re.compile(r"(?<!\w)" + r"\W?".join(map(re.escape, key)) + r"(?!\w)", re.I)
            cache[key] = [
                (i, d)
                for i, c in enumerate(chunks) if pattern.search(c.text)
                for d in abbreviations.definitions(c.text)
                if abbreviations.key(d.short) == key
            ]
        return cache[key]

    short = abbreviations.asked(query.text, lambda k: bool(defined(k)))
    if short is None:
        return None
    key = abbreviations.key(short)
    found = defined(key)
    if found:
        i, d = found[0]  # where the report first spells it out
        return _answer(query, short, i, chunks[i].start + d.long_start, chunks[i].start + d.long_end, "defined", DEFINED_P)
    runs = []
    for i in (int(i) for i in query.ranking.order[:MAX_SCAN]):
        runs += [(i, a, b) for a, b in abbreviations.initials(chunks[i].text, short)]
    if not runs or not all(abbreviations.same_phrase(_text(query, runs[0]), _text(query, r)) for r in runs):
        return None  # not in the report, or more than one long form fits: the reader decides
    i, a, b = min(runs, key=lambda r: chunks[r[0]].start + r[1])  # the first in the file
    return _answer(query, short, i, chunks[i].start + a, chunks[i].start + b, "initials", INITIALS_P)


def _text(query: Query, run: tuple[int, int, int]) -> str:
    i, a, b = run
    return query.index.chunks[i].text[a:b]


def _answer(query: Query, short: str, chunk_id: int, start: int, end: int, how: str, p: float) -> SpelledOut | None:
    """The sentences of the passage that hold start..end, as a candidate."""
    sentences = query.index.chunks[chunk_id].sentences
    inside = [(a, b) for a, b in sentences if a < end and start < b]
    if not inside:
        return None
    order = [int(i) for i in query.ranking.order]
    rank = order.index(chunk_id) if chunk_id in order else len(order)
    candidate = query.table.candidate(chunk_id, inside[0][0], inside[-1][1], rank)
    return SpelledOut(short, candidate, start, end, how, p)
