"""What benchmarks/quality.py compares: the shipped pipeline and its variants (a change to the
hand-set settings, to the fitted reader parameters, or to the index), and the reader for a fit."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from reportqa import Assistant, chunking
from reportqa.evaluate import evaluate
from reportqa.reader import CrossReader, LinearParams, LinearReader
from reportqa.reader.features import BEST_OF
from reportqa.settings import Settings
from training import fit_data

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("REPORTQA_CACHE_DIR", "/tmp/rqa-cache")

BUNDLED_QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"


def _zero(m: LinearParams, *names: str) -> LinearParams:
    """The fitted parameters with these answer features' weights set to 0."""
    return m.with_answer_weights(**{n: 0.0 for n in names})


def _same(s: Settings, m: LinearParams) -> tuple[Settings, LinearParams]:
    return s, m


def _only(m: LinearParams, name: str) -> LinearParams:
    """The fitted parameters with every answer weight 0 but this one (1)."""
    return m.with_answer_weights(**{n: float(n == name) for n in m.answer})


OLD_PIPELINE = "without the reader (the old pipeline: linear reader)"


# name -> change to the hand-set settings and the (fitted) reader parameters.
# "no paragraph merging" swaps the index instead.
VARIANTS = {
    "final": _same,
    OLD_PIPELINE: _same,  # scored with the linear reader's own fit
    "reader alone (its logit picks the span)": lambda s, m: (s, _only(m, "reader")),
    "- reader (answer; abstention keeps it)": lambda s, m: (s, _zero(m, "reader", "best_reader")),
    "BM25 only": lambda s, m: (s.with_(w_dense=0.0, w_sentence=0.0, w_sentence_lexical=0.0), m),
    "dense only (whole passage)": lambda s, m: (s.with_(w_lexical=0.0, w_dense=1.0, w_sentence=0.0, w_sentence_lexical=0.0), m),
    "plain RRF (BM25 + dense)": lambda s, m: (s.with_(fusion="rrf", w_lexical=1.0, w_dense=1.0, w_sentence=0.0, w_sentence_lexical=0.0), m),
    "no paragraph merging": _same,
    "- best-sentence cosine (retrieval)": lambda s, m: (s.with_(w_sentence=0.0), m),
    "- sentence BM25 (retrieval)": lambda s, m: (s.with_(w_sentence_lexical=0.0), m),
    "- two-sentence spans": lambda s, m: (s.with_(answer_max_chars=0), m),
    "- neighbour-blended cosine (answer)": lambda s, m: (s, _zero(m, "context")),
    "- neighbour coverage (answer)": lambda s, m: (s, _zero(m, "context_coverage")),
    "- lexical answer signals (coverages, sentence BM25)": lambda s, m: (s, _zero(m, "coverage", "context_coverage", "sentence_lexical")),
    "- answer type (answer)": lambda s, m: (s, _zero(m, "answer_type")),
    "- late interaction (retrieval)": lambda s, m: (s.with_(w_late=0.0), m),
    "- late interaction (answer)": lambda s, m: (s, _zero(m, "late", "best_late")),
    "- late interaction (both)": lambda s, m: (s.with_(w_late=0.0), _zero(m, "late", "best_late")),
    "- best-of-candidates indicators (answer)": lambda s, m: (s, _zero(m, *(f"best_{n}" for n in BEST_OF))),
    "- yes/no next sentence (answer)": lambda s, m: (s.with_(yes_no_next_chars=0), m),
    "- abstention (answer everything)": lambda s, m: (s.with_(abstain_threshold=0.0), m),
}


MODEL = None  # the reader's cross-encoder, shared by every variant (fit_data.MemoModel)


def reader_for(m: LinearParams):
    """The reader these parameters are for: cross when they weigh its logit, else linear."""
    global MODEL
    if "reader" not in m.answer:
        return LinearReader(m)
    if MODEL is None:
        from reportqa.models.crossencoder import CrossEncoderModel

        MODEL = fit_data.MemoModel(CrossEncoderModel())
    return CrossReader(m, model=MODEL)


@contextlib.contextmanager
def merge_tokens(n: int):
    """Build/load indexes with another paragraph-merging budget (benchmark only)."""
    old = chunking.MERGE_TOKENS
    chunking.MERGE_TOKENS, chunking.CHUNKING["merge_tokens"] = n, n
    try:
        yield
    finally:
        chunking.MERGE_TOKENS, chunking.CHUNKING["merge_tokens"] = old, old


def unmerged(a: Assistant) -> Assistant:
    """The same report indexed one passage per paragraph, in its own cache folder."""
    folder = Path(os.environ["REPORTQA_CACHE_DIR"]) / "unmerged" / a.index_dir.name
    folder.parent.mkdir(parents=True, exist_ok=True)  # index.build_lock needs the parent to exist
    with merge_tokens(0):
        b = Assistant(a.source, folder, encoder=a.encoder, settings=a.settings, notify=lambda m: None)
        b.load()
    return b


def score(a: Assistant, questions: list[dict], settings: Settings, params: dict[str, LinearParams], name: str, plain: Assistant | None) -> dict:
    """One variant: params holds the "cross" and the "linear" reader's fits."""
    target = plain if name == "no paragraph merging" else a
    s, m = VARIANTS[name](settings, params["linear" if name == OLD_PIPELINE else "cross"])
    return evaluate(target.with_settings(s, reader=reader_for(m)), questions)
