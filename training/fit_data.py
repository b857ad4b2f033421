"""The fit's data: the SQuAD 2.0 dev articles asked as reports, each question with its candidates and features.

``training/fit.py`` fits the readers' numbers on these; the benchmarks that refit a reader
leaving one article out (``benchmarks/quality.py``, ``readers.py``, ``sweep.py`` …) collect
them the same way. The articles are ``../shared/benchmarks/squad2-articles``; the negatives
of the abstention model are SQuAD's unanswerable questions, off-topic questions (the *other*
articles' questions asked of this article) and, for a reader with more features, answerable
questions asked with their answer's passages hidden (``absent_item``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportqa.evaluate import contains_answer, load_questions
from reportqa.reader import CrossFeatures, LinearFeatures, Query, candidates
from reportqa.reader.cross import DEFAULT_CANDIDATES
from reportqa.reader.linear import shipped_params
from reportqa.retrieve import Ranking
from reportqa.settings import DEFAULT, Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks" / "squad2-articles"
ARTICLES = ("normans", "computational-complexity-theory", "southern-california")

os.environ.setdefault("REPORTQA_CACHE_DIR", "/tmp/rqa-cache")  # read when an index is built, not at import

FEATURES = LinearFeatures()  # the names and features the fit is over

OFF_TOPIC_PER_ARTICLE = 60  # off-topic questions borrowed from each other article


class MemoEncoder:
    """Wraps an encoder and remembers single-question encodings (sweeps re-ask the same questions)."""

    def __init__(self, enc):
        self.enc, self.memo = enc, {}
        for name in ("model_id", "fingerprint", "dim", "max_tokens"):
            setattr(self, name, getattr(enc, name))

    def count_tokens(self, text):
        return self.enc.count_tokens(text)

    def encode(self, texts, batch_size=32, progress=None):
        return self.enc.encode(texts, batch_size=batch_size, progress=progress)

    def encode_tokens(self, texts, batch_size=32, progress=None):
        if len(texts) == 1:
            if texts[0] not in self.memo:
                vecs, toks = self.enc.encode_tokens(texts)
                self.memo[texts[0]] = (vecs[0], toks[0])
            vec, tok = self.memo[texts[0]]
            return vec[None], [tok]
        return self.enc.encode_tokens(texts, batch_size=batch_size, progress=progress)


class MemoModel:
    """Wraps the reader's cross-encoder and remembers each (question, span) logit (variants re-read them)."""

    def __init__(self, model):
        self.model, self.memo = model, {}
        self.fingerprint = model.fingerprint

    def logits(self, questions, texts):
        todo = sorted({(q, t) for q, t in zip(questions, texts) if (q, t) not in self.memo})
        if todo:
            got = self.model.logits([q for q, _ in todo], [t for _, t in todo])
            self.memo.update(zip(todo, got.tolist()))
        return np.array([self.memo[(q, t)] for q, t in zip(questions, texts)], dtype=np.float32)


def cross_features(model=None, candidates: int = DEFAULT_CANDIDATES) -> LinearFeatures:
    """The cross reader's names and features: the linear ones, then the cross-encoder's."""
    from reportqa.models.crossencoder import CrossEncoderModel

    model = model or MemoModel(CrossEncoderModel())
    return LinearFeatures(CrossFeatures(model, shipped_params().answer_vector(FEATURES.answer), candidates))


def span_features(model=None, passages: int | None = None, cross_model=None, candidates: int = DEFAULT_CANDIDATES) -> LinearFeatures:
    """The span reader's names and features (the linear ones, then the passage reader's); with a
    cross_model, the span+cross reader's (then the cross-encoder's too)."""
    from reportqa.models.spanreader import SpanReaderModel
    from reportqa.reader.span import DEFAULT_PASSAGES, BothFeatures, SpanFeatures

    span = SpanFeatures(model or SpanReaderModel(), passages or DEFAULT_PASSAGES, memo=100_000)
    if cross_model is None:
        return LinearFeatures(span)
    cross_part = CrossFeatures(cross_model, shipped_params().answer_vector(FEATURES.answer), candidates)
    return LinearFeatures(BothFeatures(span, cross_part))


def reader_features(reader: str, candidates: int = DEFAULT_CANDIDATES, passages: int | None = None,
                    span_model: Path | None = None) -> LinearFeatures:
    """The names and features of a reader by name: linear, cross, span or span+cross (span_model: another passage reader)."""
    from reportqa.models.crossencoder import CrossEncoderModel
    from reportqa.models.spanreader import SpanReaderModel

    if reader == "linear":
        return FEATURES
    if reader == "cross":
        return cross_features(candidates=candidates)
    model = SpanReaderModel(span_model) if span_model else None
    return span_features(model, passages, MemoModel(CrossEncoderModel()) if reader == "span+cross" else None, candidates)


@dataclass
class Item:
    """One question asked of one article, with everything the fits need."""

    article: str
    kind: str  # "answerable", "unanswerable" (SQuAD's) or "off-topic" (another article's question)
    question: str
    query: Query  # the question's terms and ranking, as the reader sees them
    spans: list  # its candidates (reader.Candidate)
    features: np.ndarray
    labels: np.ndarray  # which spans contain a gold answer


class _NoReader:
    """Stands in for the reader of the fits' Assistants: the fits read queries and features and
    score with readers they make themselves, never the shipped one, so a fit still runs when the
    shipped numbers are stale (new features); quality.py passes its readers explicitly."""

    name = "none"


NO_READER = _NoReader()


def assistants(encoder=None, settings: Settings = DEFAULT):
    from reportqa import Assistant
    from reportqa.assistant import cache_dir
    from reportqa.embed import default_encoder

    (cache_dir() / "indexes").mkdir(parents=True, exist_ok=True)  # index.build_lock needs the parent to exist

    encoder = encoder or MemoEncoder(default_encoder())
    out = {}
    for slug in ARTICLES:
        a = Assistant(source=SHARED / f"{slug}.txt", encoder=encoder, reader=NO_READER, settings=settings, notify=lambda m: None)
        a.load()
        out[slug] = (a, load_questions(SHARED / f"{slug}.questions.jsonl"))
    return out


def collect(
    sets: dict, off_topic: int = OFF_TOPIC_PER_ARTICLE, seed: int = 0, names: LinearFeatures = FEATURES, absent: bool = False
) -> list[Item]:
    """Every question of every article, and off-topic ones borrowed from the others, with their features;
    with absent, each answerable question once more with its answer's passages hidden (absent_item).

    With the cross reader's names the features hold its columns after the linear ones, so the
    same items serve both fits (the linear fit reads the first len(FEATURES.answer) columns)."""
    rng = np.random.default_rng(seed)
    items = []
    for slug, (a, qs) in sets.items():
        asked = [(q, "answerable" if q.get("answerable", True) is not False else "unanswerable") for q in qs]
        for other, (_, oqs) in sets.items():
            if other != slug:
                pick = rng.choice(len(oqs), size=min(off_topic, len(oqs)), replace=False)
                asked += [(oqs[i], "off-topic") for i in sorted(pick)]
        for q, kind in asked:
            items.append(item(a, slug, q, kind, names))
            if absent and kind == "answerable":
                hidden = absent_item(a, slug, q, names, items[-1].query)
                if hidden is not None:
                    items.append(hidden)
    return items


def item(a, slug: str, q: dict, kind: str, names: LinearFeatures = FEATURES, query: Query | None = None) -> Item:
    query = query or a.query(q["q"])
    spans = candidates(query)
    features = names.answer_matrix(query, spans)
    answers = q.get("answers", []) if kind == "answerable" else []
    labels = np.array([contains_answer(query.table.span_text(c), answers) for c in spans], dtype=bool)
    return Item(slug, kind, q["q"], query, spans, features, labels)


def absent_item(a, slug: str, q: dict, names: LinearFeatures, query: Query) -> Item | None:
    """The question asked as if the passages holding its answer were not in the report: on topic, but
    the report does not say (kind "absent"). SQuAD's own unanswerable questions are written to look
    answerable; these are the kind a reader of a report asks. None when another passage holds the answer too.
    ``query`` is the question's Query as asked of the whole report."""
    chunks = query.table.index.chunks
    gold = [tuple(span) for span in q.get("spans", [])]
    hidden = {i for i, c in enumerate(chunks) if any(c.start < e and s < c.end for s, e in gold)}
    keep = [i for i in query.ranking.order.tolist() if i not in hidden]
    if len(keep) < 2:
        return None
    # The report as if it lacked those passages: the ranking without them (and its z-scores over
    # the rest), and the statistics that say which words the report uses (in_corpus, rare_missing,
    # the key terms' weights) counted without them too, or the question's own words would all
    # still be "in the report".
    masked = dataclasses.replace(
        query,
        ranking=ranking_without(query.ranking, query.table, hidden, keep),
        bm25=query.bm25.without([query.table.passage_term_sets[i] for i in sorted(hidden)]),
    )
    spans = candidates(masked)
    if any(contains_answer(masked.table.span_text(c), q.get("answers", [])) for c in spans):
        return None
    return item(a, slug, q, "absent", names, masked)



# The ranking's signals whose spread over the report the reader reads (z-scored: Query.fused_z and
# sentence_lexical_z, features._against); per passage, then per sentence row.
_SPREAD_PASSAGES = ("dense", "sentence", "fused")
_SPREAD_SENTENCES = ("sentence_cos", "sentence_lexical")


def ranking_without(ranking: Ranking, table, hidden: set[int], keep: list[int]) -> Ranking:
    """The ranking of a report that lacks the hidden passages: they leave the order, and their
    scores become NaN, which the z-scores skip, so that "how far the best passage stands out from
    the rest" is measured against the passages the report still has."""
    passages = np.asarray(sorted(hidden), dtype=np.int64)
    rows = np.concatenate([np.arange(table.starts[i], table.starts[i] + len(table.index.chunks[i].sentences)) for i in passages])
    out = {}
    for names, at in ((_SPREAD_PASSAGES, passages), (_SPREAD_SENTENCES, rows)):
        for name in names:
            values = getattr(ranking, name).astype(np.float64)  # a copy
            values[at] = np.nan
            out[name] = values
    return dataclasses.replace(ranking, order=np.asarray(keep), **out)
