"""What an answer is: frozen dataclasses that serialise to plain JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """A passage of a source file; ``text == file_text[start:end]`` exactly.

    Offsets are ``str`` indices into the file as read with
    ``open(path, encoding="utf-8", newline="")``.
    """

    source: str  # file name relative to the source folder
    start: int
    end: int
    line: int  # 1-based line of ``start``
    paragraph: int  # 1-based paragraph within the file
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Quote:
    """Where the answer text stands: inside ``citations[0]``, by offsets."""

    source: str
    start: int
    end: int
    line: int
    paragraph: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signals:
    """Why a passage ranked where it did (for ``/why``); ranks are 1-based."""

    lexical_rank: int
    lexical_score: float
    dense_rank: int
    dense_score: float
    sentence_score: float  # best single-sentence cosine in the passage
    late_score: float  # best single-sentence late-interaction score in the passage
    fused_score: float


@dataclass(frozen=True)
class Considered:
    """A candidate quote the reader weighed (for ``/why``): where it stands, its text, its score.

    ``score`` is the reader's answer score (higher is better; the best one is quoted when
    the question is answered). It ranks candidates; it is not a probability.
    """

    quote: Quote
    text: str
    score: float


@dataclass(frozen=True)
class SpanFound:
    """A passage reader's answer span inside the chosen quote (for ``/why``): where it stands,
    its text, its score and the "no answer" score of its passage (start + end logits)."""

    quote: Quote
    text: str
    score: float
    null: float


@dataclass(frozen=True)
class SpelledFound:
    """The long form of the abbreviation a question asked about, where the report defines it (for
    ``/why``): where it stands, its text, and the short form as asked."""

    quote: Quote
    text: str
    short: str
    asked: str = "stands for"  # how the question asked: "stands for" or "what is"


@dataclass(frozen=True)
class Lacking:
    """The question asks for a kind of answer that the chosen quote does not hold (for ``/why`` and
    the decline message): the kind ("count", "money", "age", "year", "name", "time", "length"), how to name it, and
    the reader's P(answerable) before it was capped."""

    kind: str
    what: str  # "an amount of money"
    p_read: float


@dataclass(frozen=True)
class Reading:
    """A word of the question read as the report's: one typo away from the report's word
    (``how="typo"``), an abbreviation whose initials the report's words spell (``"initials"``),
    or chat shorthand for the report's word ("ppl": ``"shorthand"``)."""

    typed: str
    read: str
    how: str


def readings_notice(readings: tuple[Reading, ...]) -> str:
    """How the question was read, in the order it was read (abbreviations, shorthand, then typos):
    'Read "kpis" as "key performance indicators" (the report's words whose initials spell it).'"""
    notices = []
    for how in ("initials", "shorthand", "typo"):
        pairs = [r for r in readings if r.how == how]
        if not pairs:
            continue
        why = {"initials": "the report's words whose initials spell it", "shorthand": "shorthand",
               "typo": f"the report's {'word' if len(pairs) == 1 else 'words'}, one typo away"}[how]
        notices.append("Read " + "; ".join(f'"{r.typed}" as "{r.read}"' for r in pairs) + f" ({why}).")
    return " ".join(notices)


@dataclass(frozen=True)
class Answer:
    """An extractive answer. ``answered=False`` still lists the closest passages."""

    question: str
    answered: bool
    text: str  # verbatim from the source, "" when not answered
    confidence: float  # in [0, 1]
    citations: tuple[Citation, ...] = ()
    quote: Quote | None = None  # offsets of ``text``; None when not answered
    signals: tuple[Signals, ...] = field(default=(), repr=False, compare=False)
    notice: str = ""  # e.g. "The question was 1,048,576 characters long; only its first 1,999 were used."
    # Words of the question read as the report's (the notice ends with ``readings_notice`` of them).
    readings: tuple[Reading, ...] = field(default=(), repr=False, compare=False)
    # In a chat (``Assistant.chat()``): the earlier question(s) a follow-up was read with.
    followup_to: tuple[str, ...] = ()
    # Why it answered or not (for ``/why``): the best candidate quotes, best first, and the
    # confidence at or above which the assistant answers.
    considered: tuple[Considered, ...] = field(default=(), repr=False, compare=False)
    threshold: float | None = field(default=None, repr=False, compare=False)
    # With a passage reader, or from an abbreviation's definition: the answer span inside ``text``
    # (offsets into the file, like ``quote``); None when not answered or when there is no span.
    span: Quote | None = None
    span_found: SpanFound | None = field(default=None, repr=False, compare=False)  # for /why, also when declined
    spelled: SpelledFound | None = field(default=None, repr=False, compare=False)  # the answer to "what does X stand for?", for /why
    lacking: Lacking | None = field(default=None, repr=False, compare=False)  # the asked kind the quote lacks, for /why
    # Declined with a candidate in hand: the answer it would have given (its quote first among the
    # citations), so answers to every question are scored from one run (evaluate.py); not in the JSON.
    withheld: Answer | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: question, answered, text, confidence, citations, quote, notice.

        A chat answer read as a follow-up adds ``followup_to``; an answer with a span
        (a passage reader's) adds ``span``; one whose best quote lacks what the question asks
        for adds ``lacking`` (the kind, and the reader's confidence before the cap).
        """
        out = {
            "question": self.question,
            "answered": self.answered,
            "text": self.text,
            "confidence": self.confidence,
            "citations": [c.to_dict() for c in self.citations],
            "quote": self.quote.to_dict() if self.quote else None,
            "notice": self.notice,
        }
        if self.followup_to:
            out["followup_to"] = list(self.followup_to)
        if self.span is not None:
            out["span"] = self.span.to_dict()
        if self.lacking is not None:
            out["lacking"] = {"kind": self.lacking.kind, "reader_confidence": self.lacking.p_read}
        return out
