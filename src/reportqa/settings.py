"""Every tunable parameter of retrieval, answer selection and abstention, in one place.

The values were fitted across the three SQuAD 2.0 articles in
``../shared/benchmarks`` (never per article or per question) and checked
leave-one-article-out; see ``docs/quality.md`` for the figures behind each.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


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

    # Answer selection among the sentences of the top passages.
    answer_passages: int = 3
    min_answer_terms: int = 3  # sentences with fewer content words are skipped
    a_cosine: float = 1.0  # question-sentence cosine
    a_coverage: float = 1.0  # IDF-weighted share of question terms in the sentence
    a_passage: float = 0.1  # the passage's fused score, z-scored

    # Abstention: logistic model over the features in assistant.abstention_features.
    abstain_weights: tuple[float, ...] = field(default=())
    abstain_bias: float = 0.0
    # Answer when P(answerable) >= threshold. Lower answers more and abstains less.
    abstain_threshold: float = 0.5

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


DEFAULT = Settings()
