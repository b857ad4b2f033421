"""One question, top to bottom: clean → search → read → decide, and the ``Answer`` with its citations.

``Pipeline(searcher, reader, settings).answer(question)`` is the whole answer path, as a thin
composition (as DrQA's pipeline is): the searcher takes the question as asked and gives the
ranking of its passages (``Retriever.search`` owns the terms and the encoding), the reader scores
the candidate spans, and ``reader.decide`` decides once, against the threshold, whether to answer.
The pipeline never compares the confidence with the threshold itself, and nor does what reads
its answers (``render.py``, ``evaluate.py``). ``Assistant`` loads the index and the models and
builds the pipeline; where the passages come from is the searcher's business (an index folder,
or a Milvus store's passages for this question).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .embed import Encoder
from .errors import QuestionError
from .index import Index
from .reader import Decision, Query, Reader, SentenceTable, decide
from .reader.asked import DESCRIBED
from .reader.spelled import expanded
from .reader.typos import corrected, shorthand
from .results import (Answer, Citation, Considered, Lacking, Quote, Reading, Signals, SpanFound, SpelledFound,
                      readings_notice)
from .retrieve import Encoded, Ranking, Retriever
from .settings import DEFAULT_K, RetrievalSettings, Settings, check_k

if TYPE_CHECKING:  # pragma: no cover
    from .stores.milvus import MilvusStore

MAX_QUESTION_CHARS = 2000
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def clean_question(question: str) -> tuple[str, str]:
    """The question without control characters or lone surrogates, and a notice if it was cut.

    Only what can be used is scanned, so a 1 MB paste costs no more than a
    normal question (plus one pass over leading white space).
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, not {type(question).__name__}")
    asked = len(question)
    if "\x1b" in question:
        question = _ANSI_ESCAPE.sub(" ", question)  # colour codes pasted from a terminal
    chars: list[str] = []
    kept = 0  # characters kept that are not white space
    cut = False
    for ch in question:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            ch = "\ufffd"
        elif code < 0x20 or 0x7F <= code < 0xA0:
            ch = " "  # control characters (NUL, escape) separate words
        elif code >= 0xA0 and unicodedata.category(ch) == "Cf":
            continue  # format characters (zero-width joiners, bidi marks) do not
        if not ch.isspace():
            kept += 1
            if kept > MAX_QUESTION_CHARS:
                cut = True
                break
        chars.append(ch)
    text = " ".join("".join(chars).split())
    if not text:
        raise QuestionError("The question is empty: type a question about the report.")
    if not any(ch.isalnum() for ch in text):
        # Only punctuation or emoji: nothing to search for, and any quote would be a guess.
        raise QuestionError("The question has no words in it: type a question about the report.")
    notice = ""
    if cut or len(text) > MAX_QUESTION_CHARS:
        space = text.rfind(" ", 0, MAX_QUESTION_CHARS + 1)
        text = text[: space if space > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS]
        notice = (
            f"The question was {asked:,} characters long; "
            f"only its first {len(text):,} were used."
        )
    return text, notice


# --- searching: where the passages come from ----------------------------------------------


@dataclass(frozen=True, eq=False)
class Searched:
    """What a search gives the reader: the ranking, and the retriever and sentence table it was made over."""

    ranking: Ranking
    retriever: Retriever
    table: SentenceTable


class Searcher(Protocol):
    def search(self, question: str) -> Searched: ...


class IndexSearcher:
    """An index folder: one Retriever and SentenceTable, made once, for every question."""

    def __init__(self, retriever: Retriever, table: SentenceTable):
        self.retriever, self.table = retriever, table

    def search(self, question: str) -> Searched:
        return Searched(self.retriever.search(question), self.retriever, self.table)


class StoreSearcher:
    """A Milvus store: the engine returns the question's ``store_passages`` best passages, and a
    Retriever and SentenceTable made over them run the rest, exactly as for an index folder."""

    def __init__(self, store: MilvusStore, manifest: dict, encoder: Encoder, settings: RetrievalSettings):
        self.store, self.manifest, self.encoder, self.settings = store, manifest, encoder, settings

    def search(self, question: str) -> Searched:
        encoded = Encoded.of(question, self.encoder)  # once: for the engine and for the signals
        index = self.store.candidates(encoded.terms, encoded.vector, self.settings.store_passages, self.manifest)
        retriever = Retriever(index, self.settings, self.encoder)
        return Searched(retriever.search(encoded), retriever, SentenceTable(index))


# --- the pipeline --------------------------------------------------------------------------


def threshold_of(settings: Settings, reader: Reader) -> float:
    """The threshold answers are decided at: the setting abstain_threshold, else the reader's own."""
    t = settings.reading.abstain_threshold
    return reader.threshold if t is None else t


class Pipeline:
    """clean → search → read → decide → the Answer (stateless per question: safe across threads)."""

    def __init__(self, searcher: Searcher, reader: Reader, settings: Settings):
        self.searcher, self.reader, self.settings = searcher, reader, settings

    @property
    def threshold(self) -> float:
        """What answers are decided at (read when deciding: a pipeline that only searches, as the
        fits' do with a stand-in reader, needs none)."""
        return threshold_of(self.settings, self.reader)

    def query(self, question: str) -> Query:
        """The question as the reader sees it (used as given: ``answer`` cleans it first)."""
        return self._expanded_query(question)[0]

    def _search(self, question: str) -> Query:
        found = self.searcher.search(question)
        return Query(question, found.ranking.terms, found.ranking, found.table, found.retriever.bm25, self.settings.candidates)

    def _expanded_query(self, question: str) -> tuple[Query, tuple[Reading, ...]]:
        """The question searched, and searched again as read: an abbreviation as its long form where
        the report spells that out by its initials (``spelled.expanded``), chat shorthand as its word
        (``typos.shorthand``), then a mistyped word as the report's word it is one typo from
        (``typos.corrected``); and what was read, in that order. Abbreviations come first: "kpis"
        is no typo of a report's "kips" where its initials spell the report's "key performance
        indicators"."""
        query = self._search(question)
        readings: list[Reading] = []
        for read, how in ((expanded, "initials"), (shorthand, "shorthand"), (corrected, "typo")):
            text, pairs = read(query)
            if pairs:
                query = self._search(text)
                readings += (Reading(typed, said, how) for typed, said in pairs)
        return query, tuple(readings)

    def decide(self, query: Query) -> Decision:
        return decide(self.reader, query, self.threshold)

    def answer(self, question: str, k: int = DEFAULT_K) -> Answer:
        """The best extractive answer with up to k cited passages (1 to settings.MAX_K), or an abstention.

        A declined answer carries in ``withheld`` what it would have said (for scoring answers
        to every question at once: ``evaluate.py``); the JSON and the terminal never show it."""
        check_k(k)
        text, notice = clean_question(question)
        if len(question) > MAX_QUESTION_CHARS:
            question = text  # what was asked of the report, cut (the notice says so), not a megabyte echoed back
        query, readings = self._expanded_query(text)
        notice = " ".join(n for n in (notice, readings_notice(readings)) if n)
        decision = self.decide(query)
        span = spelled = None
        if decision.span is not None:  # a passage reader's answer span, inside the chosen candidate
            where, said = quote(query.index, (decision.choice_chunk, decision.span.start, decision.span.end))
            span = SpanFound(where, said, round(decision.span.score, 4), round(decision.span.null, 4))
        if decision.spelled is not None:  # an abbreviation's long form: the answer span
            s = decision.spelled
            where, said = quote(query.index, (s.candidate.chunk_id, s.start, s.end))
            spelled = SpelledFound(where, said, s.short, s.asked)
        lacking = None
        if decision.lacking is not None:
            kind, p_read = decision.lacking
            lacking = Lacking(kind, DESCRIBED[kind], round(p_read, 4))
        # What /why shows of the decision, the same whether the answer is given or withheld.
        why = {"considered": considered(query.index, decision), "threshold": self.threshold, "span_found": span,
               "spelled": spelled, "readings": readings, "lacking": lacking}
        answer = self._answer(question, notice, query, decision, k, decision.answered, why)
        if not decision.answered and decision.best is not None:
            answer = dataclasses.replace(answer, withheld=self._answer(question, notice, query, decision, k, True, why))
        return answer

    def _answer(self, question: str, notice: str, query: Query, decision: Decision, k: int, answered: bool,
                why: dict) -> Answer:
        """The Answer to the decision: the chosen span's passage cited first when answered, then the best-ranked others."""
        index, ranking, best, p = query.index, query.ranking, decision.best, decision.p
        order = [int(i) for i in ranking.order[: max(k, 1)]]
        if answered and best is not None and best.chunk_id in order:
            order.remove(best.chunk_id)
            order.insert(0, best.chunk_id)
        elif answered and best is not None:
            order = [best.chunk_id] + order[: k - 1]
        order = order[:k]
        citations = tuple(citation(index.chunks[i], float(ranking.fused[i])) for i in order)
        why = why | {"signals": tuple(signals(ranking, i) for i in order)}
        if not answered or best is None:
            return Answer(question, False, "", round(p, 4), citations, None, notice=notice, **why)
        where, text = quote(index, best.span)
        span = why["spelled"] or why["span_found"]
        return Answer(question, True, text, round(p, 4), citations, where, notice=notice,
                      span=span.quote if span is not None else None, **why)


# --- citations -----------------------------------------------------------------------------


def citation(chunk, score: float) -> Citation:
    return Citation(chunk.source, chunk.start, chunk.end, chunk.line, chunk.paragraph, chunk.text, round(score, 4))


def quote(index: Index, span: tuple[int, int, int]) -> tuple[Quote, str]:
    """A candidate span (chunk id, start, end) as a Quote, and its text."""
    chunk_id, start, end = span
    chunk = index.chunks[chunk_id]
    return Quote(chunk.source, start, end, *chunk.locate(start)), chunk.text[start - chunk.start : end - chunk.start]


def considered(index: Index, decision: Decision, n: int = 3) -> tuple[Considered, ...]:
    """The n best candidate quotes by the reader's answer score, best first, none overlapping a better one.
    The reader's choice is shown as quoted: with the sentence a yes/no answer takes in, or the list a
    lead-in does (``Decision.best``)."""
    values = decision.scores.values
    extended = decision.best is not None and decision.spelled is None

    def shown(i: int):
        return decision.best if extended and i == decision.choice else decision.candidates[i]

    kept: list[int] = []
    for i in sorted(range(len(values)), key=lambda i: -float(values[i])):
        c = shown(i)
        if not any(o.chunk_id == c.chunk_id and o.start < c.end and c.start < o.end for o in map(shown, kept)):
            kept.append(i)
        if len(kept) == n:
            break
    return tuple(Considered(*quote(index, shown(i).span), round(float(values[i]), 4)) for i in kept)


def signals(ranking: Ranking, i: int) -> Signals:
    return Signals(
        lexical_rank=ranking.rank_of(ranking.lexical, i),
        lexical_score=round(float(ranking.lexical[i]), 4),
        dense_rank=ranking.rank_of(ranking.dense, i),
        dense_score=round(float(ranking.dense[i]), 4),
        sentence_score=round(float(ranking.sentence[i]), 4),
        late_score=round(float(ranking.passage_late[i]), 4),
        fused_score=round(float(ranking.fused[i]), 4),
    )
