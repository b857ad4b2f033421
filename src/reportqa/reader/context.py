"""What a reader reads: one index's sentences (``SentenceTable``) and one question (``Query``).

The table is built once per index and fills itself lazily: the per-sentence and
per-passage term sets, texts and typed tokens that answer selection needs are
made on first use, for the few passages a question reaches, so loading stays
cheap for a large index. A ``Query`` holds everything about one question that
span generation and every reader share: its text and terms, the retriever's
``Ranking``, and the values derived from them once per question (IDF weights,
answer type, key terms, z-scored passage and sentence scores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import re

import numpy as np

from ..chunking import Sections, is_list_item, read_sentence, source_first_rows
from ..index import Index
from ..lexical import DocumentFrequencies
from ..retrieve import Ranking, zscore
from ..settings import CandidateSettings
from ..tables import read_text
from ..text import is_label, is_table_row, terms, typed_tokens, words
from . import abbreviations
from .candidate import Candidate
from .qtype import answer_type, key_terms

# A name in at least this share of a report's passages is what the report is about, not a key
# term of a question (Query.keys). Measured on SQuAD leave-one-article-out at 1/2, 1/3 and 1/4
# (docs/quality.md, "The report's subject is no key term"); 1/3 was chosen before measuring.
SUBJECT_SHARE = 1 / 3

TYPED_KINDS = ("time", "number", "person")
# A file's header is at most this many labels before its first prose: a title, a byline, a date line.
HEADER_SENTENCES = 4


class Lazy(Sequence):
    """A read-only list whose item i is made by make(i) on first use, then kept."""

    def __init__(self, n: int, make: Callable[[int], object]):
        self._items: list = [_MISSING] * n
        self._make = make

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        item = self._items[i]
        if item is _MISSING:
            item = self._items[i] = self._make(range(len(self._items))[i])
        return item


_MISSING = object()


class SentenceTable:
    """Sentence rows of one index (every passage's sentences, in order) and what answer selection reads of them."""

    def __init__(self, index: Index):
        self.index = index
        # Sentences of a passage are consecutive rows; starts[chunk id] is its first.
        counts = np.array([len(c.sentences) for c in index.chunks], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        rows = [(c, a, b) for c in index.chunks for a, b in c.sentences]
        self.texts = Lazy(len(rows), lambda r: rows[r][0].text[rows[r][1] - rows[r][0].start : rows[r][2] - rows[r][0].start])
        # Each sentence as the models read it (a table's data row with its header's names, a list
        # item after its section's title, as the index's sentence vectors and terms were made:
        # chunking.sentences_as_read).
        self.read = Lazy(len(rows), self._read)
        self.term_sets = Lazy(len(rows), lambda r: frozenset(terms(self.read[r])))
        self.passage_term_sets = Lazy(len(index.chunks), lambda i: frozenset(terms(index.chunks[i].text)))
        # years, numbers and names of each sentence, for answer-type matching (qtype.answer_type)
        self.typed = Lazy(len(rows), lambda r: {k: typed_tokens(self.read[r], k) for k in TYPED_KINDS})

    def _read(self, row: int) -> str:
        text = self.texts[row]
        chunk = int(self.index.sentence_chunk[row])
        first = int(self._source_first[chunk])
        if is_table_row(text):
            return read_text(self.texts, row, first)
        return read_sentence(self.texts, row, first, self.section_title(row) if is_list_item(text) else None)

    def section_title(self, row: int) -> str | None:
        """The title of the section the sentence stands in (``chunking.Sections``), None in none."""
        chunk = int(self.index.sentence_chunk[row])
        return self._sections.titles(chunk)[row - int(self.starts[chunk])]

    @cached_property
    def header_terms(self) -> frozenset[str]:
        """The terms of each file's header: the labels that open it (``text.is_label``: its title,
        byline and date line, a Markdown heading), at most ``HEADER_SENTENCES``, up to its first
        prose sentence. What they name is what the whole report is about. Only a passage that opens
        its file is read (a store's question may not have reached it)."""
        found: set[str] = set()
        for i, chunk in enumerate(self.index.chunks):
            if chunk.paragraph != 1:
                continue
            first = int(self.starts[i])
            for row in range(first, first + min(len(chunk.sentences), HEADER_SENTENCES)):
                if not is_label(self.texts[row]):
                    break  # the first prose sentence ends the header
                found.update(terms(self.texts[row]))
        return frozenset(found)

    @cached_property
    def _source_first(self) -> list[int]:
        return source_first_rows(self.index.chunks)

    @cached_property
    def _sections(self) -> Sections:
        return Sections(self.index.chunks)

    def span_text(self, candidate: Candidate) -> str:
        """The candidate's text, verbatim from its passage."""
        chunk = self.index.chunks[candidate.chunk_id]
        return chunk.text[candidate.start - chunk.start : candidate.end - chunk.start]

    def read_span_text(self, candidate: Candidate) -> str:
        """The candidate's text as the models read it: verbatim, but a table's data row with its
        header's names and a list item after its section's title (``read``); a table row is always
        a candidate of its own (``text.joins``), and an item with the sentence after it keeps its title."""
        text = self.span_text(candidate)
        row = candidate.rows[0]
        if candidate.width == 1 and text == self.texts[row]:
            return self.read[row]
        read, written = self.read[row], self.texts[row]
        return read[: len(read) - len(written)] + text if read != written and read.endswith(written) else text

    def candidate(self, chunk_id: int, start: int, end: int, passage_rank: int = 0) -> Candidate:
        """The Candidate for whole sentences start..end of a passage (ValueError if they are not whole sentences)."""

        sentences = self.index.chunks[chunk_id].sentences
        first = [j for j, (a, _) in enumerate(sentences) if a == start]
        last = [j for j, (_, b) in enumerate(sentences) if b == end]
        if not first or not last or last[0] < first[0]:
            raise ValueError(f"{start}..{end} is not a run of whole sentences of passage {chunk_id}")
        row = int(self.starts[chunk_id])
        return Candidate(chunk_id, start, end, range(row + first[0], row + last[0] + 1), passage_rank)


@dataclass(frozen=True, eq=False)
class Query:
    """One question as the reader sees it: text, terms, the retriever's ranking, the index's sentence table.

    ``settings`` are the candidate settings in force (how many passages give
    candidates, the longest pair, the yes/no rule). The cached properties are
    computed once per question and shared by span generation and the reader.
    """

    text: str
    terms: list[str]
    ranking: Ranking
    table: SentenceTable
    bm25: DocumentFrequencies  # the passage-level statistics (the retriever's BM25): IDF weights and which terms the report has
    settings: CandidateSettings

    @property
    def index(self) -> Index:
        return self.table.index

    @cached_property
    def top_passages(self) -> list[int]:
        """Chunk ids of the passages candidates come from, best first."""
        return [int(i) for i in self.ranking.order[: self.settings.answer_passages]]

    @cached_property
    def idf(self) -> dict[str, float]:
        """IDF weight of each distinct question term (computed once per question)."""
        return {t: self.bm25.idf(t) for t in set(self.terms)}

    @cached_property
    def idf_total(self) -> float:
        return sum(self.idf.values())

    def coverage(self, term_set) -> float:
        """IDF-weighted share of the question's terms found in term_set."""
        total = self.idf_total
        return sum(w for t, w in self.idf.items() if t in term_set) / total if total else 0.0

    @cached_property
    def term_set(self) -> frozenset[str]:
        return frozenset(self.terms)

    @cached_property
    def kind(self) -> str | None:
        """The answer type asked for (qtype.answer_type)."""
        return answer_type(self.text)

    @cached_property
    def asked(self) -> set[str]:
        """Typed tokens and words the question itself holds: an answer of its type must bring another."""
        kind = self.kind
        return typed_tokens(self.text, kind) | {w.lower() for w in words(self.text)} if kind else set()

    @cached_property
    def keys(self) -> set[str]:
        """The question's names and numbers (qtype.key_terms), less the names the report is about:
        those in at least ``SUBJECT_SHARE`` of its passages. A report refers to its subject in
        other words as often as by name ("we", "the force" for the IOPC and SYP), so the subject's
        absence from a passage says nothing of whether it answers; a number counts, unless the
        report's header names it (``SentenceTable.header_terms``: "total income 2023/24" of an
        "Annual Review 2023/24", whose sentences say "for the year")."""
        subject, header = SUBJECT_SHARE * self.bm25.n, self.table.header_terms
        return {k for k in key_terms(self.text)
                if k not in header and (any(ch.isdigit() for ch in k) or self.bm25.df.get(k, 0) < subject)}

    @cached_property
    def fused_z(self) -> np.ndarray:
        """Fused passage scores z-scored over all passages."""
        return zscore(self.ranking.fused)

    @cached_property
    def sentence_lexical_z(self) -> np.ndarray:
        """Sentence BM25 z-scored over all sentences."""
        return zscore(self.ranking.sentence_lexical)

    @cached_property
    def abbreviation_asked(self) -> tuple[str, str] | None:
        """(short form, how) where the question asks the long form of an abbreviation: how is
        "stands for" (``abbreviations.asked``: "what does X stand for?", "what is X short for?") or
        "what is" (``abbreviations.asked_what_is``: "what is X?", X defined by the report); or None."""
        defined = lambda key: bool(self.definitions(key))  # noqa: E731
        short = abbreviations.asked(self.text, defined)
        if short is not None:
            return short, "stands for"
        short = abbreviations.asked_what_is(self.text, defined)
        return (short, "what is") if short is not None else None

    @property
    def abbreviation(self) -> str | None:
        """The short form the question asks the long form of, or None."""
        asked = self.abbreviation_asked
        return asked[0] if asked is not None else None

    def definitions(self, key: str) -> list[tuple[int, abbreviations.Definition]]:
        """(chunk id, definition) of every passage that defines the short form with this
        ``abbreviations.key``, or defines its plural ("MARs" for "mar"), in file order (found once per
        question and key)."""
        memo = self._definitions
        if key not in memo:
            # Only passages holding the short form's letters, with or without stops between them, are parsed.
            pattern = re.compile(r"(?<!\w)" + r"\W?".join(map(re.escape, key)) + r"s?(?!\w)", re.I)  # "MARs" for "mar"
            memo[key] = [
                (i, d)
                for i, c in enumerate(self.index.chunks) if pattern.search(c.text)
                for d in abbreviations.definitions(c.text)
                if key in abbreviations.keys(d.short)
            ]
        return memo[key]

    @cached_property
    def _definitions(self) -> dict[str, list]:
        return {}

    @cached_property
    def _typed_rows(self) -> dict[int, bool]:
        return {}

    def typed_match(self, row: int) -> bool:
        """Does sentence row hold a year / number / name of the asked type that the question lacks,
        and share at least one of the question's terms (a date in an unrelated sentence is no answer)?"""
        memo = self._typed_rows
        if row not in memo:
            table = self.table
            memo[row] = bool(table.typed[row][self.kind] - self.asked) and not self.term_set.isdisjoint(table.term_sets[row])
        return memo[row]
