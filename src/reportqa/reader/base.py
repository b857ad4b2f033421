"""The reader seam: what picks the answer among the candidates and says whether the report answers.

A reader implements ``Reader``. ``decide`` is the one path from a question to a
decision that ``Assistant`` uses: candidates (shared by every reader), the
reader's scores, its choice (the best score), P(answerable), and the yes/no
extension. Readers are found by name in ``READERS`` (``Settings.reader``), or
passed to ``Assistant(reader=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import ReaderError
from . import asked
from .candidates import Candidate, candidates, extend_lead_in, extend_section, extend_yes_no
from .context import Query
from .spans import SpanScore
from .spelled import SpelledOut, spelled_out


@dataclass(frozen=True, eq=False)
class Scores:
    """A reader's score for each candidate (higher is better), and the features behind them."""

    values: np.ndarray  # [candidates]
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [candidates, len(names)], for diagnostics and fitting
    names: tuple[str, ...] = ()

    @property
    def choice(self) -> int | None:
        """Index of the best candidate (the first of equals), or None when there are none."""
        return int(np.argmax(self.values)) if len(self.values) else None


@runtime_checkable
class Reader(Protocol):
    """Scores answer candidates for a question and estimates P(the report answers it)."""

    name: str
    threshold: float  # its default: answer when P(answerable) >= threshold (the setting abstain_threshold overrides)

    def score(self, query: Query, candidates: Sequence[Candidate]) -> Scores:
        """One score per candidate; the highest is the answer."""
        ...

    def p_answerable(self, query: Query, candidates: Sequence[Candidate], scores: Scores) -> float:
        """P(the report answers the question), given the candidates and this reader's scores of them."""
        ...


@dataclass(frozen=True, eq=False)
class Decision:
    """The answer span (or None), P(answerable), whether to answer, and what they were chosen from.

    ``answered`` is decided once, in ``decide``, against the threshold; whatever shows or scores
    the decision reads it and never compares ``p`` with a threshold again."""

    best: Candidate | None  # the chosen candidate, after the yes/no and lead-in extensions
    p: float
    answered: bool  # best is not None and p >= the threshold
    candidates: tuple[Candidate, ...]
    scores: Scores
    choice: int | None  # index of the chosen candidate in candidates, before the extension
    span: SpanScore | None = None  # a passage reader's best span inside the chosen candidate (file offsets)
    # "What does X stand for?" where the report defines X: the long form, whose definition is ``best``
    # (the reader's scores and choice are kept, for /why).
    spelled: SpelledOut | None = None
    # The question asks for a count, an amount of money, an age, a year, a name, a time or a length and ``best`` holds
    # none (``asked.missing``): (that kind, the reader's P before it was capped at LACKING_P).
    lacking: tuple[str, float] | None = None

    @property
    def choice_chunk(self) -> int | None:
        """The chunk id of the chosen candidate (the passage ``span`` lies in)."""
        return self.candidates[self.choice].chunk_id if self.choice is not None else None


# P(answerable) when the chosen quote lacks the kind of answer the question asks for (asked.py):
# below every threshold a fit has chosen (0.15–0.26). Chosen, not fitted: of the 8 such quotes in
# the measured sets (SQuAD's three articles and both bundled sets), none held the answer.
LACKING_P = 0.05


def decide(reader: Reader, query: Query, threshold: float) -> Decision:
    """Choose the answer span, estimate whether the report answers at all, and decide whether to
    answer: when there is a span and P(answerable) is at least the threshold (the one place it is compared).

    A question that asks what an abbreviation stands for, where the report defines it, is
    answered with the definition (``spelled.py``), at its measured confidence. A quote that lacks
    what the question asks for ("How many…" and no count in it: ``asked.py``) has its P capped
    at LACKING_P."""
    spans = candidates(query)
    scores = reader.score(query, spans)
    choice = scores.choice
    spelled = spelled_out(query)
    if spelled is not None:
        return Decision(spelled.candidate, spelled.p, spelled.p >= threshold, tuple(spans), scores, choice, spelled=spelled)
    p = reader.p_answerable(query, spans, scores)
    best = extend_section(query, extend_lead_in(query, extend_yes_no(query, spans[choice] if choice is not None else None)))
    span_of = getattr(reader, "span_of", None)  # a passage reader marks the answer span inside the quote
    span = span_of(query, spans[choice]) if span_of is not None and choice is not None else None
    lacking = None
    if best is not None and (kind := asked.missing(query.text, " ".join(query.table.read[r] for r in best.rows))):
        lacking, p = (kind, p), min(p, LACKING_P)
    return Decision(best, p, best is not None and p >= threshold, tuple(spans), scores, choice, span, lacking=lacking)


# name -> a callable making the reader (no arguments). Implementations add themselves on import.
READERS: dict[str, Callable[[], Reader]] = {}


def register(name: str, factory: Callable[[], Reader]) -> None:
    READERS[name] = factory


def make_reader(name: str) -> Reader:
    """The reader registered under name."""
    try:
        factory = READERS[name]
    except KeyError:
        known = ", ".join(sorted(READERS)) or "none"
        raise ReaderError(f"There is no reader named {name!r} (known readers: {known}); check Settings.reader.") from None
    return factory()
