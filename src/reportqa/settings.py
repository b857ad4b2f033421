"""Every tunable parameter of retrieval, answer selection and abstention, in one place.

The values were fitted across the three SQuAD 2.0 articles in
``../shared/benchmarks`` (never per article or per question) and checked
leave-one-article-out; see ``docs/quality.md`` for the figures behind each.
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

    # Answer selection among the sentences (and pairs of adjacent sentences) of the top passages.
    answer_passages: int = 3
    min_answer_terms: int = 3  # a lone sentence with fewer content words is skipped
    answer_max_chars: int = 250  # longest two-sentence span considered
    # Yes/no questions (opening with an auxiliary verb): a one-sentence answer takes in the next
    # sentence of its passage when that one has at most this many characters (0: off). Set by hand:
    # SQuAD has no yes/no questions to fit it on (see docs/quality.md).
    yes_no_next_chars: int = 80
    # Linear scorer over extract.ANSWER_FEATURES. Fitted by `python benchmarks/fit.py`: a softmax
    # over each SQuAD question's candidate spans (targets: the spans holding a gold answer),
    # pooled over the three articles, then 0.5 taken off "length" to keep answers short.
    answer_weights: tuple[float, ...] = (3.152, 2.109, 1.915, 0.623, 1.215, 0.071, 0.408, 0.107, -0.247, 1.192)

    # Abstention: P(on topic) x P(answered | on topic), two logistic models over
    # extract.ABSTENTION_FEATURES standardised by abstain_mean and abstain_scale; the topic model
    # uses extract.TOPIC_FEATURES (raw cosines), the answered model extract.ANSWERED_FEATURES
    # (the cosines z-scored over the report), the others have weight 0.
    # Fitted by `python benchmarks/fit.py` (class-balanced logistic regressions in numpy) on the
    # three SQuAD articles: answerable questions vs SQuAD's unanswerable ones, and vs off-topic
    # questions (each article asked 60 questions of each other article). The bundled report's
    # questions are never used. The threshold keeps 99.5% of the training answerable questions
    # answered; see docs/quality.md for the curve.
    abstain_mean: tuple[float, ...] = (0.4064, 0.5038, 0.4936, 0.464, 0.4882, 0.6122, 0.2279, 0.2376, 4.5537, 1.6818, 0.2903, 0.4679, 2.2159, 2.5315, 3.0604)
    abstain_scale: tuple[float, ...] = (0.2469, 0.2503, 0.257, 0.3228, 0.331, 0.3592, 0.4023, 0.4077, 3.6089, 1.2448, 0.3331, 0.8953, 1.2087, 1.1834, 1.4144)
    topic_weights: tuple[float, ...] = (1.99, 1.71, 1.314, 0.69, 0.918, 0.178, -0.771, -0.827, 0.595, 0.074, 0.078, -0.665, 0.0, 0.0, 0.0)  # answerable vs off-topic
    topic_bias: float = 3.373
    abstain_weights: tuple[float, ...] = (0.0, 0.0, 0.0, -0.323, 0.006, -0.265, -0.509, -0.475, 0.06, 0.008, 0.197, -0.956, 0.154, 0.143, -0.088)  # answerable vs on-topic unanswerable
    abstain_bias: float = -0.621
    # Answer when P(answerable) >= threshold. Lower answers more and abstains less.
    abstain_threshold: float = 0.07

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


DEFAULT = Settings()
