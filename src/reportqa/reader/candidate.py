"""A candidate answer: a span of whole sentences of one passage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A span of whole sentences of one passage (or an abbreviation's definition inside its sentence: spelled.py)."""

    chunk_id: int
    start: int  # character offsets in the source file
    end: int
    rows: range  # its sentence rows in the index's SentenceTable (one or two)
    passage_rank: int  # where its passage stands among the top passages, 0 = best

    @property
    def width(self) -> int:
        """Sentences in the span: 1, or 2 for a pair."""
        return len(self.rows)

    @property
    def span(self) -> tuple[int, int, int]:
        """(chunk id, start, end)."""
        return (self.chunk_id, self.start, self.end)
