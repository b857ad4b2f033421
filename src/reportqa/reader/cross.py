"""Reader "cross": the linear reader with a trained cross-encoder's view of the best candidates.

The cross-encoder (``models.crossencoder``, trained by ``training/train_reader.py``)
reads the question and a candidate span together, which the separate embeddings
behind the linear features cannot. It is slower (milliseconds per candidate), so
it reads only the ``candidates`` best spans by the linear reader's own score (its
shipped fit, ``linear.json``), batched in ONNX Runtime calls of similar lengths. Its logits become
features of the same kind of linear scorer and abstention models, fitted again with
them (``cross.json``, by ``training/fit.py --reader cross``):

* answer features ``reader`` (the logit; spans it did not read get the lowest
  logit read, minus one) and ``best_reader`` (1 for the span it rates highest);
* abstention features ``reader_top`` (the best logit), ``reader_margin`` (best
  minus second best) and ``reader_chosen`` (the logit of the span the scorer picks).

It reads the question ending as SQuAD's do (``as_asked``: a "?" added when none is typed), since
99% of the questions it was trained on end in one; casually typed questions rarely do.

``Settings.reader = "linear"`` turns it off: today's pipeline, the fallback and the ablation.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .candidates import Candidate
from .context import Query
from .features import ANSWER_FEATURES
from .linear import LinearParams, LinearReader, shipped_params

PARAMS_PATH = Path(__file__).with_name("cross.json")
DEFAULT_CANDIDATES = 8  # measured with 8, 12 and 16 (docs/quality.md, round 4): the same answers, 8 is cheapest


def as_asked(question: str) -> str:
    """The question as the cross-encoder learnt to read one: SQuAD's questions end in "?", so a
    question typed without it ("when did the iopc publish its findings") gets one."""
    question = question.rstrip()
    return question if question.endswith(("?", ".", "!")) else question + "?"


class CrossFeatures:
    """The cross-encoder's logits as extra features of a LinearReader (linear.ExtraFeatures)."""

    answer_names = ("reader", "best_reader")
    abstention_names = ("reader_top", "reader_margin", "reader_chosen")

    def __init__(self, model, preselect: np.ndarray, candidates: int = DEFAULT_CANDIDATES):
        self.model = model  # .logits(questions, texts) -> float32 [n]
        self.preselect = preselect  # weights over the base answer features that pick the spans to read
        self.candidates = candidates

    def answer(self, query: Query, spans: Sequence[Candidate], base: np.ndarray) -> np.ndarray:
        out = np.zeros((len(spans), 2))
        if not spans:
            return out
        read = np.argsort(-(base @ self.preselect), kind="stable")[: self.candidates]
        logits = self.model.logits([as_asked(query.text)] * len(read), [query.table.read_span_text(spans[i]) for i in read])
        column = np.full(len(spans), float(logits.min()) - 1.0)
        column[read] = logits
        out[:, 0] = column
        out[:, 1] = column >= column.max() - 1e-9
        return out

    def abstention(self, query: Query, spans: Sequence[Candidate], features: np.ndarray, scores: np.ndarray, choice: int | None) -> list[float]:
        if choice is None or not len(features):
            return [-10.0, 0.0, -10.0]  # nothing to read: as sure a "no" as the logits ever give
        column = features[:, -2]  # "reader": the answer features end with this class's two columns
        top2 = np.sort(column)[::-1][:2]
        margin = float(top2[0] - top2[1]) if len(top2) > 1 else 0.0
        return [float(top2[0]), margin, float(column[choice])]


@lru_cache(maxsize=1)
def shipped_model():
    """The shipped cross-encoder, loaded once per process and shared by every Assistant (ONNX Runtime
    sessions are safe to run from several threads)."""
    from ..models.crossencoder import CrossEncoderModel

    return CrossEncoderModel()


@lru_cache(maxsize=1)
def shipped_cross_params() -> LinearParams:
    return LinearParams.load(PARAMS_PATH)


class CrossReader(LinearReader):
    """Reader "cross": linear features plus the cross-encoder's, fitted together (cross.json)."""

    name = "cross"

    def __init__(self, params: LinearParams | None = None, model=None, candidates: int | None = None):
        if model is None:
            model = shipped_model()
        params = params if params is not None else shipped_cross_params()
        n = candidates if candidates is not None else int(params.fitted_on.get("reader_candidates", DEFAULT_CANDIDATES))
        preselect = shipped_params().answer_vector(ANSWER_FEATURES)
        super().__init__(params, extra=CrossFeatures(model, preselect, n))
        self.model, self.candidates = model, n
