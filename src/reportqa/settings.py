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
    # Linear scorer over extract.ANSWER_FEATURES. Fitted by `python benchmarks/fit.py`: a softmax
    # over each SQuAD question's candidate spans (targets: the spans holding a gold answer),
    # pooled over the three articles, then 0.7 taken off "length" (fit.LENGTH_PENALTY) so that
    # SQuAD answers stay at about 200 characters on average.
    answer_weights: tuple[float, ...] = (1.033, 0.746, 0.948, 0.309, 1.226, -0.344, 0.142, -0.222, 0.161, 0.899, 1.917, 0.603, 0.417, 0.628, 0.223, -0.146, 1.266)

    # Abstention: P(on topic) x P(answered | on topic), two logistic models over
    # extract.ABSTENTION_FEATURES standardised by abstain_mean and abstain_scale; the topic model
    # uses extract.TOPIC_FEATURES (raw cosines), the answered model extract.ANSWERED_FEATURES
    # (the cosines z-scored over the report), the others have weight 0.
    # Fitted by `python benchmarks/fit.py` (class-balanced logistic regressions in numpy) on the
    # three SQuAD articles: answerable questions vs SQuAD's unanswerable ones, and vs off-topic
    # questions (each article asked 60 questions of each other article). The bundled report's
    # questions are never used. The threshold keeps 99.5% of the training answerable questions
    # answered; see docs/quality.md for the curve.
    abstain_mean: tuple[float, ...] = (0.407, 0.5042, 0.4949, 0.4597, 0.4817, 0.6122, 0.2279, 0.2401, 4.7729, 1.6941, 0.2991, 0.471, 2.2331, 2.5337, 3.069)
    abstain_scale: tuple[float, ...] = (0.2453, 0.2503, 0.2576, 0.3262, 0.3334, 0.3592, 0.4023, 0.41, 3.2686, 1.2323, 0.3341, 0.8989, 1.1923, 1.1738, 1.4124)
    topic_weights: tuple[float, ...] = (1.795, 1.346, 2.059, 0.578, 0.749, 0.215, -0.837, -0.868, 0.611, 0.197, 0.301, -0.618, 0.0, 0.0, 0.0)  # answerable vs off-topic
    topic_bias: float = 3.192
    abstain_weights: tuple[float, ...] = (0.0, 0.0, 0.0, -0.371, 0.013, -0.277, -0.506, -0.664, 0.531, -0.378, 0.231, -0.693, 0.185, -0.002, -0.016)  # answerable vs on-topic unanswerable
    abstain_bias: float = -0.636
    # Answer when P(answerable) >= threshold. Lower answers more and abstains less.
    abstain_threshold: float = 0.05

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


DEFAULT = Settings()
