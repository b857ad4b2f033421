"""Reader "span": the linear reader with a passage reader's view of the top passages.

The passage reader (``models.spanreader``, trained by ``training/train_span_reader.py``)
reads the question with each of the ``passages`` best passages whole, in one ONNX Runtime
call, and scores every span of them and "no answer". A candidate (a sentence, or an allowed
pair) scores the best span inside it, as a margin over its passage's "no answer" score;
that becomes features of the same kind of linear scorer and abstention models as the cross
reader's, fitted again with them (``span.json``, by ``training/fit.py --reader span``):

* answer features ``span`` (the margin; candidates of passages not read, or holding no
  whole span, get the lowest margin read, minus one) and ``best_span`` (1 for the best);
* abstention features ``span_top`` (the best margin of any span read) and ``span_chosen``
  (the margin of the candidate the scorer picks).

The quote stays the candidate; the best span inside it is ``Decision.span`` (file offsets),
which the answer shows in bold. Reader "span+cross" adds the cross reader's features too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .candidates import Candidate
from .context import Query
from .cross import CrossFeatures, shipped_model
from .features import ANSWER_FEATURES
from .linear import LinearParams, LinearReader, shipped_params
from .spans import SpanScore, best_span

PARAMS_PATH = Path(__file__).with_name("span.json")
BOTH_PARAMS_PATH = Path(__file__).with_name("span_cross.json")
DEFAULT_PASSAGES = 3  # the top passages read, in one call


class PassageReadings:
    """Start/end logits of the top passages for recent questions, so a question's candidates and
    its answer span are decoded from one model call (a small LRU, safe across threads)."""

    def __init__(self, model, size: int = 16):
        self.model, self.size = model, size
        self._memo: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def read(self, question: str, chunks: Sequence) -> list[tuple]:
        """(chunk, start logits, end logits, token offsets, passage mask) per chunk."""
        key = (question, tuple(c.text for c in chunks))  # the texts, not ids: several indexes may share one reader
        with self._lock:
            got = self._memo.get(key)
            if got is not None:
                self._memo.move_to_end(key)
        if got is None:
            start, end, encodings = self.model.logits(question, [c.text for c in chunks])
            got = []
            for k, enc in enumerate(encodings):
                n = len(enc.ids)
                got.append((start[k, :n], end[k, :n], list(enc.offsets), np.array([s == 1 for s in enc.sequence_ids], dtype=bool)))
            with self._lock:
                self._memo[key] = got
                while len(self._memo) > self.size:
                    self._memo.popitem(last=False)
        # the chunks asked about, not the cached ones: equal texts may stand at other offsets
        return [(chunk, *reading) for chunk, reading in zip(chunks, got)]


def span_within(reading: tuple, start: int, end: int) -> SpanScore | None:
    """The best span of a reading whose tokens lie inside [start, end) (file offsets), in file offsets."""
    chunk, s, e, offsets, passage = reading
    lo, hi = start - chunk.start, end - chunk.start
    inside = passage & np.array([a >= lo and b <= hi and b > a for a, b in offsets], dtype=bool)
    got = best_span(s, e, offsets, inside)
    if got is None:
        return None
    return SpanScore(got.first, got.last, chunk.start + got.start, chunk.start + got.end, got.score, got.null)


class SpanFeatures:
    """The passage reader's margins as extra features of a LinearReader (linear.ExtraFeatures)."""

    answer_names = ("span", "best_span")
    abstention_names = ("span_top", "span_chosen")

    def __init__(self, model, passages: int = DEFAULT_PASSAGES, column: int = -2, memo: int = 16):
        self.readings = PassageReadings(model, memo)
        self.model, self.passages = model, passages
        self.column = column  # where the "span" column is among all answer features (from the end)

    def read(self, query: Query) -> list[tuple]:
        chunks = [query.index.chunks[cid] for cid in query.top_passages[: self.passages]]
        return self.readings.read(query.text, chunks) if chunks else []

    def answer(self, query: Query, spans: Sequence[Candidate], base: np.ndarray) -> np.ndarray:
        out = np.zeros((len(spans), 2))
        if not spans:
            return out
        by_chunk = {r[0].id: r for r in self.read(query)}
        margins = np.full(len(spans), np.nan)
        for i, c in enumerate(spans):
            if c.chunk_id in by_chunk:
                got = span_within(by_chunk[c.chunk_id], c.start, c.end)
                if got is not None:
                    margins[i] = got.margin
        read = margins[~np.isnan(margins)]
        floor = float(read.min()) - 1.0 if len(read) else -10.0
        column = np.where(np.isnan(margins), floor, margins)
        out[:, 0] = column
        out[:, 1] = column >= column.max() - 1e-9
        return out

    def abstention(self, query: Query, spans: Sequence[Candidate], features: np.ndarray, scores: np.ndarray, choice: int | None) -> list[float]:
        if choice is None or not len(features):
            return [-10.0, -10.0]
        tops = [best_span(r[1], r[2], r[3], r[4]) for r in self.read(query)]
        top = max((t.margin for t in tops if t is not None), default=-10.0)
        return [float(top), float(features[choice, self.column])]

    def span_of(self, query: Query, candidate: Candidate) -> SpanScore | None:
        """The best span inside a candidate, in file offsets (None if its passage was not read)."""
        for r in self.read(query):
            if r[0].id == candidate.chunk_id:
                return span_within(r, candidate.start, candidate.end)
        return None


class BothFeatures:
    """The passage reader's features, then the cross reader's (whose abstention reads the last columns)."""

    def __init__(self, span: SpanFeatures, cross: CrossFeatures):
        self.span, self.cross = span, cross
        span.column = -2 - len(cross.answer_names)
        self.answer_names = span.answer_names + cross.answer_names
        self.abstention_names = span.abstention_names + cross.abstention_names

    def answer(self, query: Query, spans: Sequence[Candidate], base: np.ndarray) -> np.ndarray:
        return np.hstack([self.span.answer(query, spans, base), self.cross.answer(query, spans, base)])

    def abstention(self, query, spans, features, scores, choice) -> list[float]:
        return self.span.abstention(query, spans, features, scores, choice) + self.cross.abstention(query, spans, features, scores, choice)

    def span_of(self, query: Query, candidate: Candidate) -> SpanScore | None:
        return self.span.span_of(query, candidate)


@lru_cache(maxsize=1)
def shipped_span_model():
    """The shipped passage reader, loaded once per process and shared by every Assistant."""
    from ..models.spanreader import SpanReaderModel

    return SpanReaderModel()


class SpanReader(LinearReader):
    """Reader "span": linear features plus the passage reader's, fitted together (span.json)."""

    name = "span"

    def __init__(self, params: LinearParams | None = None, model=None, passages: int | None = None):
        model = model if model is not None else shipped_span_model()
        params = params if params is not None else LinearParams.load(PARAMS_PATH)
        n = passages if passages is not None else int(params.fitted_on.get("span_passages", DEFAULT_PASSAGES))
        super().__init__(params, extra=SpanFeatures(model, n))
        self.model, self.passages = model, n

    def span_of(self, query: Query, candidate: Candidate) -> SpanScore | None:
        return self.features.extra.span_of(query, candidate)


class SpanCrossReader(LinearReader):
    """Reader "span+cross": the linear features, the passage reader's and the cross-encoder's (span_cross.json)."""

    name = "span+cross"

    def __init__(self, params: LinearParams | None = None, model=None, cross_model=None, passages: int | None = None,
                 candidates: int | None = None):
        model = model if model is not None else shipped_span_model()
        cross_model = cross_model if cross_model is not None else shipped_model()
        params = params if params is not None else LinearParams.load(BOTH_PARAMS_PATH)
        n = passages if passages is not None else int(params.fitted_on.get("span_passages", DEFAULT_PASSAGES))
        k = candidates if candidates is not None else int(params.fitted_on.get("reader_candidates", 8))
        preselect = shipped_params().answer_vector(ANSWER_FEATURES)
        super().__init__(params, extra=BothFeatures(SpanFeatures(model, n), CrossFeatures(cross_model, preselect, k)))
        self.model, self.passages = model, n

    def span_of(self, query: Query, candidate: Candidate) -> SpanScore | None:
        return self.features.extra.span_of(query, candidate)
