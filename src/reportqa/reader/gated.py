"""Reader "gated": the cross reader chooses the quote, the span+cross reader decides whether to answer.

Six passage-reader runs (docs/reader.md) moved abstention on the bundled report but never the
choice of sentence, where the sentence-pair reader ("cross") stays ahead. This reader splits the
work between the two fits that are already shipped, each used for what it does best:

* the quote is the candidate with the best score under the cross reader's fit (``cross.json``);
* P(answerable) and the threshold are the span+cross reader's (``span_cross.json``), computed as
  that reader computes them, from its own choice;
* the answer span is the passage reader's best span inside the quote.

Every feature is computed once: the span+cross reader's answer features hold the cross reader's
(the linear ones, then the cross-encoder's two columns), so the cross score is a weighted sum of
some of the same columns, and the cross-encoder is run once a question.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ReaderError
from .base import Scores
from .candidates import Candidate
from .context import Query
from .cross import CrossReader, shipped_cross_params
from .linear import LinearParams
from .span import SpanCrossReader
from .spans import SpanScore


class GatedReader:
    """Reader "gated": cross's quote, span+cross's P(answerable) and threshold (cross.json, span_cross.json)."""

    name = "gated"

    def __init__(self, quote_params: LinearParams | None = None, gate_params: LinearParams | None = None, model=None,
                 cross_model=None, passages: int | None = None, candidates: int | None = None):
        quote_params = quote_params if quote_params is not None else shipped_cross_params()
        k = candidates if candidates is not None else int(quote_params.fitted_on.get("reader_candidates", 8))
        self.gate = SpanCrossReader(gate_params, model=model, cross_model=cross_model, passages=passages, candidates=k)
        fitted_k = self.gate.params.fitted_on.get("reader_candidates")
        if candidates is None and fitted_k is not None and int(fitted_k) != k:
            raise ReaderError(f"The gated reader's two fits read different numbers of candidates (cross {k}, "
                              f"span+cross {fitted_k}): refit them with the same --candidates.")
        # the cross fit's weights, over the columns of the span+cross features that the cross reader has
        self.quote = CrossReader(quote_params, model=self.gate.features.extra.cross.model, candidates=k)
        names = self.gate.features.answer
        self.columns = [names.index(n) for n in self.quote.features.answer]
        self.model, self.passages, self.candidates = self.gate.model, self.gate.passages, k

    @property
    def threshold(self) -> float:
        return self.gate.threshold

    def score(self, query: Query, candidates: Sequence[Candidate]) -> Scores:
        gate = self.gate.score(query, candidates)
        return Scores(self.quote.scores_of(gate.features[:, self.columns]), gate.features, gate.names)

    def p_answerable(self, query: Query, candidates: Sequence[Candidate], scores: Scores) -> float:
        own = Scores(self.gate.scores_of(scores.features), scores.features, scores.names)
        return self.gate.p_answerable(query, candidates, own)

    def span_of(self, query: Query, candidate: Candidate) -> SpanScore | None:
        return self.gate.span_of(query, candidate)
