"""Decoding a passage reader's output: the best answer span, and the "no answer" score.

A passage reader reads "[CLS] question [SEP] passage [SEP]" and gives every token a start
and an end logit. A span (i, j) scores start[i] + end[j], for passage tokens i <= j < i +
max_tokens; "no answer" scores start[0] + end[0], at [CLS] (SQuAD 2.0's convention, as in
BERT and Haystack's ExtractiveReader). As in DrQA's decoder, the best span is the largest
entry of the outer sum of the two vectors, kept to the band j - i < max_tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ANSWER_TOKENS = 30  # the longest span considered, in wordpieces


@dataclass(frozen=True)
class SpanScore:
    """The best span of one passage: its token and character offsets (in the passage), its score, and no answer's."""

    first: int  # token index of its first and last wordpiece
    last: int
    start: int  # character offsets in the passage text
    end: int
    score: float
    null: float

    @property
    def margin(self) -> float:
        """How far the best span beats "no answer" (> 0: the reader would answer from this passage)."""
        return self.score - self.null


def best_span(start: np.ndarray, end: np.ndarray, offsets: list[tuple[int, int]], passage: np.ndarray,
              max_tokens: int = MAX_ANSWER_TOKENS) -> SpanScore | None:
    """The best span over the tokens where ``passage`` is true; ``offsets`` are each token's characters in the passage.

    None when the passage has no token (nothing was read).
    """
    idx = np.flatnonzero(passage)
    if not len(idx):
        return None
    s, e = start[idx].astype(np.float64), end[idx].astype(np.float64)
    table = s[:, None] + e[None, :]
    n = len(idx)
    band = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), k=max_tokens)
    table = np.where(band, table, -np.inf)
    a, b = np.unravel_index(int(np.argmax(table)), table.shape)
    first, last = int(idx[a]), int(idx[b])
    return SpanScore(first, last, offsets[first][0], offsets[last][1], float(table[a, b]), float(start[0] + end[0]))
