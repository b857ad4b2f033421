"""The hand-set parameters of retrieval, answer selection and abstention.

They were chosen across the three SQuAD 2.0 articles in ``../shared/benchmarks``
(never per article or per question) and checked leave-one-article-out; see
``docs/quality.md`` for the figures behind each. Fitted coefficients are not
here: they are data of the reader that uses them (``reader/linear.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Settings:
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

    # Answer selection among the sentences (and pairs of adjacent sentences) of the top passages.
    answer_passages: int = 3
    min_answer_terms: int = 3  # a lone sentence with fewer content words is skipped
    answer_max_chars: int = 250  # longest two-sentence span considered
    # Yes/no questions (opening with an auxiliary verb): a one-sentence answer takes in the next
    # sentence of its passage when that one has at most this many characters (0: off). Set by hand:
    # SQuAD has no yes/no questions to fit it on (see docs/quality.md).
    yes_no_next_chars: int = 80
    # The reader picks the answer among those spans and gives P(answerable): a name in
    # reader.READERS. Its fitted numbers are data that ship with it, not settings here:
    # "cross" (the default) adds a trained cross-encoder to the linear scorer and its fit is
    # src/reportqa/reader/cross.json (`python benchmarks/fit.py --reader cross`); "linear" is the
    # pipeline without it (reader/linear.json, `python benchmarks/fit.py`), the fallback and ablation.
    reader: str = "cross"
    # Answer when P(answerable) >= threshold; lower answers more and abstains less.
    # None: the reader's fitted threshold ("threshold" in its JSON file).
    abstain_threshold: float | None = None

    # Where the passages live (stores/uri.py): "files", the index folder (the default);
    # "milvus:PATH.db", Milvus Lite in this process; "milvus://HOST:PORT", a Milvus server.
    # A Milvus store gives a question's store_passages best passages (dense ANN and BM25 in the
    # engine, fused there by RRF); the signals above are then computed and fused over those alone.
    store: str = "files"
    store_passages: int = 50

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


DEFAULT = Settings()
