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

    # Answer selection among the sentences (and pairs of adjacent sentences) of the top passages.
    answer_passages: int = 3
    min_answer_terms: int = 3  # a lone sentence with fewer content words is skipped
    answer_max_chars: int = 250  # longest two-sentence span considered
    # Linear scorer over extract.ANSWER_FEATURES. Fitted by `python benchmarks/fit.py`: a softmax
    # over each SQuAD question's candidate spans (targets: the spans holding a gold answer),
    # pooled over the three articles, then 0.5 taken off "length" to keep answers short.
    answer_weights: tuple[float, ...] = (3.151, 2.117, 1.99, 0.613, 1.225, 0.072, 0.408, 0.11, -0.227)

    # Abstention: P(on topic) x P(answered | on topic), two logistic models over
    # extract.ABSTENTION_FEATURES standardised by abstain_mean and abstain_scale.
    # Fitted by `python benchmarks/fit.py` (class-balanced logistic regressions in numpy) on the
    # three SQuAD articles: answerable questions vs SQuAD's unanswerable ones, and vs off-topic
    # questions (each article asked 60 questions of each other article). The bundled report's
    # questions are never used. The threshold keeps 99.5% of the training answerable questions
    # answered; see docs/quality.md for the curve.
    abstain_mean: tuple[float, ...] = (0.4064, 0.5038, 0.494, 0.4642, 0.4881, 0.6122, 0.2279, 0.2376, 4.5349, 1.6818, 0.2902, 0.4664)
    abstain_scale: tuple[float, ...] = (0.2469, 0.2503, 0.2569, 0.3226, 0.3309, 0.3592, 0.4023, 0.4077, 3.568, 1.2448, 0.333, 0.8953)
    topic_weights: tuple[float, ...] = (1.985, 1.708, 1.318, 0.689, 0.913, 0.182, -0.771, -0.827, 0.604, 0.074, 0.075, -0.666)  # answerable vs off-topic
    topic_bias: float = 3.381
    abstain_weights: tuple[float, ...] = (0.357, 0.344, -0.105, -0.283, -0.086, -0.238, -0.433, -0.446, -0.098, 0.239, 0.175, -0.97)  # answerable vs on-topic unanswerable
    abstain_bias: float = -0.833
    # Answer when P(answerable) >= threshold. Lower answers more and abstains less.
    abstain_threshold: float = 0.08

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


DEFAULT = Settings()
