"""The hand-set parameters of retrieval, answer candidates and the reader, in three groups.

They were chosen across the three SQuAD 2.0 articles in ``../shared/benchmarks``
(never per article or per question) and checked leave-one-article-out; see
``docs/quality.md`` for the figures behind each. Fitted coefficients are not
here: they are data of the reader that uses them (``reader/linear.json``).

``Settings`` holds one of each group: ``settings.retrieval`` (``Retriever``),
``settings.candidates`` (the spans the reader chooses among) and
``settings.reading`` (which reader, and its threshold). A field's name is unique
across the groups, so ``settings.with_(fusion="rrf")`` changes one field wherever
it lives, and ``settings.flat()`` gives every field by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .errors import SettingsError

# How many passages an answer cites: ``answer(question, k=...)``, ``-k N`` and the chat's ``/k N``.
DEFAULT_K = 3
MAX_K = 20
FUSIONS = ("zscore", "rrf")


@dataclass(frozen=True)
class RetrievalSettings:
    """Where the passages come from and how every passage is scored for a question (``retrieve.py``)."""

    # Lexical retrieval: Okapi BM25 over stemmed content words of each passage.
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    # Passage score = weighted sum of z-scored signals across all passages
    # ("zscore"), or reciprocal rank fusion of the same signals ("rrf").
    fusion: str = "zscore"
    rrf_k: int = 60
    w_lexical: float = 1.0  # BM25
    w_dense: float = 0.5  # cosine of question and whole passage
    w_sentence: float = 1.0  # best cosine of question and one sentence of the passage
    w_sentence_lexical: float = 0.5  # best BM25 of one sentence of the passage (sentences as documents)
    w_context: float = 0.0  # best cosine of question and a sentence blended with its neighbours
    context_weight: float = 0.5  # weight of each neighbouring sentence vector in that blend
    # Late interaction (retrieve.py): best late-interaction score of a passage's sentences, computed
    # for the first stage's top late_passages passages and fused with the signals above. The weight
    # was picked from 0 / 0.5 / 1 / 1.5 on SQuAD, leave-one-article-out (docs/quality.md).
    w_late: float = 0.5
    late_passages: int = 50

    # Where the passages live (stores/uri.py): "files", the index folder (the default);
    # "milvus:PATH.db", Milvus Lite in this process; "milvus://HOST:PORT", a Milvus server.
    # A Milvus store gives a question's store_passages best passages (dense ANN and BM25 in the
    # engine, fused there by RRF); the signals above are then computed and fused over those alone.
    store: str = "files"
    store_passages: int = 50

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class CandidateSettings:
    """The spans the reader chooses among: sentences and adjacent pairs of the top passages (``reader/candidates.py``)."""

    answer_passages: int = 3
    min_answer_terms: int = 3  # a lone sentence with fewer content words is skipped
    answer_max_chars: int = 250  # longest two-sentence span considered
    # A lone sentence that is a question ("SAM: What is the biggest threat?") with at most this many
    # content words the asked question lacks is skipped: it restates the question, and its answer
    # follows it (a pair of the two is still a candidate). -1: off.
    question_new_terms: int = 2
    # Yes/no questions (opening with an auxiliary verb): a one-sentence answer takes in the next
    # sentence of its passage when that one has at most this many characters (0: off). Set by hand:
    # SQuAD has no yes/no questions to fit it on (see docs/quality.md).
    yes_no_next_chars: int = 80
    # A quote that ends on a line introducing a list, a table or a code block ("The utility has
    # committed to three actions:") takes in the whole items, rows or block that follow it in its
    # passage, up to this many characters in all (0: off). Set by hand, not fitted: the lead-in alone
    # answers nothing.
    lead_in_list_chars: int = 800

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class ReaderSettings:
    """Which reader picks the answer and gives P(answerable), and the threshold it is answered at."""

    # A name in reader.READERS. Its fitted numbers are data that ship with it, not settings here:
    # "cross" (the default) adds a trained cross-encoder to the linear scorer and its fit is
    # src/reportqa/reader/cross.json (`python -m training.fit --reader cross`); "linear" is the
    # pipeline without it (reader/linear.json, `python -m training.fit`), the fallback and ablation.
    reader: str = "cross"
    # Answer when P(answerable) >= threshold; lower answers more and abstains less.
    # None: the reader's fitted threshold ("threshold" in its JSON file).
    abstain_threshold: float | None = None

    def __post_init__(self) -> None:
        _check(self)


GROUPS = {"retrieval": RetrievalSettings, "candidates": CandidateSettings, "reading": ReaderSettings}
# each field's group, by the field's name (the names are unique across groups)
_GROUP_OF = {f.name: group for group, cls in GROUPS.items() for f in fields(cls)}


@dataclass(frozen=True, init=False)
class Settings:
    """Every hand-set parameter: one frozen group each for retrieval, candidates and the reader.

    ``Settings(fusion="rrf")`` or ``Settings(retrieval=RetrievalSettings(...))``: fields by name go
    to their group; an unknown name, a group of the wrong kind or a value out of range is a
    SettingsError naming it."""

    retrieval: RetrievalSettings
    candidates: CandidateSettings
    reading: ReaderSettings

    def __init__(self, retrieval: RetrievalSettings | None = None, candidates: CandidateSettings | None = None,
                 reading: ReaderSettings | None = None, **changes: object) -> None:
        for name in changes:
            if name not in _GROUP_OF:
                raise SettingsError(f"Settings has no field {name!r}.")
        given = {"retrieval": retrieval, "candidates": candidates, "reading": reading}
        for group, cls in GROUPS.items():
            value = cls() if given[group] is None else given[group]
            if not isinstance(value, cls):
                raise SettingsError(f"Settings.{group} must be a {cls.__name__}, not {value!r}.")
            mine = {name: v for name, v in changes.items() if _GROUP_OF[name] == group}
            object.__setattr__(self, group, replace(value, **mine) if mine else value)

    def with_(self, **changes) -> "Settings":
        """A copy with these fields changed, by name (``fusion="rrf"``) or whole group (``retrieval=...``)."""
        return Settings(**({group: getattr(self, group) for group in GROUPS} | changes))

    def flat(self) -> dict:
        """Every field by name, as one flat dict (the fits' settings fingerprint reads this)."""
        return {f.name: getattr(getattr(self, group), f.name) for group, cls in GROUPS.items() for f in fields(cls)}


def _check(group: object) -> None:
    """Refuse an unknown or out-of-range value (SettingsError naming the field), rather than run on a guess."""
    for f in fields(group):  # type: ignore[arg-type]
        low, high = _RANGES.get(f.name, (0, math.inf))
        value = getattr(group, f.name)
        if f.name == "fusion":
            if value not in FUSIONS:
                raise SettingsError(f"Settings.fusion must be one of {', '.join(map(repr, FUSIONS))}, not {value!r}.")
        elif f.name == "reader":
            # The names are checked against reader.READERS when the reader is made (it is open
            # to readers registered later); here only that it is a name at all.
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(f"Settings.reader must be the name of a reader, such as 'cross' or 'linear', not {value!r}.")
        elif f.name == "store":
            # The URI's form is checked by stores.parse_store, where it is read.
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(f"Settings.store must be 'files' or a Milvus URI, not {value!r}.")
        elif value is None and f.name == "abstain_threshold":
            continue
        elif not _number(value, whole=f.type == "int") or not low <= value <= high:
            kind = "a whole number" if f.type == "int" else "a number"
            allowed = f"from {low:g} to {high:g}" if high != math.inf else f"{low:g} or more"
            extra = " (or None: the reader's own)" if f.name == "abstain_threshold" else ""
            raise SettingsError(f"Settings.{f.name} must be {kind}, {allowed}{extra}, not {value!r}.")


# Allowed ranges (inclusive) of the numeric settings other than [0, inf).
_RANGES = {
    "bm25_b": (0, 1),
    "late_passages": (1, math.inf),
    "answer_passages": (1, math.inf),
    "question_new_terms": (-1, math.inf),
    "store_passages": (1, math.inf),
    "abstain_threshold": (0, 1),
}


def _number(value: object, whole: bool) -> bool:
    """A finite int or float (an int when whole); never a bool."""
    if isinstance(value, bool):
        return False
    if whole:
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def check_k(k: object) -> int:
    """k, the number of passages an answer cites, if it is a whole number from 1 to MAX_K."""
    if not _number(k, whole=True) or not 1 <= k <= MAX_K:  # type: ignore[operator]
        raise SettingsError(f"k must be a whole number from 1 to {MAX_K} (passages cited), not {k!r}.")
    return k  # type: ignore[return-value]


DEFAULT = Settings()
