"""The linear reader's features: per candidate (ANSWER_FEATURES) and per question (ABSTENTION_FEATURES).

Feature names are the keys of the fitted parameters (``linear.json``); loading
refuses a file whose names differ from these.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..retrieve import spread, zscore
from .candidates import Candidate
from .context import Query

BASE_ANSWER_FEATURES = (
    "cosine",  # best question-sentence cosine in the span
    "context",  # the same with each sentence blended with its neighbours
    "coverage",  # IDF-weighted share of the question's terms in the span
    "context_coverage",  # the same over the span and the sentences either side of it (same passage)
    "passage",  # the passage's fused score, z-scored over all passages
    "top_passage",  # 1 if the span is in the best passage
    "sentence_lexical",  # best sentence BM25 in the span, z-scored over all sentences
    "length",  # characters / 100
    "pair",  # 1 for two adjacent sentences
    "answer_type",  # 1 if the question asks when / how many / who and the span has a new year, number or name
    "late",  # best late-interaction score of a sentence in the span (retrieve.py)
)
# For each of these, a further feature "best_<name>" is 1 for the spans that have the highest
# value among the question's candidates: the scorer then sees which span wins on each signal,
# not only by how much, and a signal that is flat for one question cannot swamp the others.
BEST_OF = ("cosine", "context", "coverage", "context_coverage", "sentence_lexical", "late")
ANSWER_FEATURES = BASE_ANSWER_FEATURES + tuple(f"best_{name}" for name in BEST_OF)

ABSTENTION_FEATURES = (
    "top_dense",  # cosine of the question and the best passage
    "top_sentence",  # best sentence cosine in the best passage
    "answer_cosine",  # cosine of the chosen span
    "answer_coverage",  # IDF-weighted share of question terms in the chosen span
    "passage_coverage",  # the same for the chosen span's passage
    "in_corpus",  # IDF-weighted share of question terms found anywhere in the report
    "missing_keys",  # share of the question's names and numbers absent from the top passages, each weighted by its IDF
    "missing_keys_answer",  # the same for the chosen span's passage
    "answer_margin",  # score of the chosen span minus the best span of another passage
    "fused_margin",  # fused z-score of the best passage minus the second
    "rare_missing",  # highest IDF of a question term that the report has but the chosen passage lacks, / max IDF
    "keys_missing_span",  # the question's names and numbers the chosen span lacks, each counted as its IDF / max IDF
    # The same three cosines z-scored over the report (every passage, every sentence) for this
    # question: the answered-given-on-topic model uses these instead of the raw cosines, whose
    # level shifts from report to report (see docs/quality.md, Abstention).
    "top_dense_z",
    "top_sentence_z",
    "answer_cosine_z",
)

# Which features each abstention model reads (the others have no weight in it). Both read
# the word-overlap, key-term and margin signals:
_BOTH_MODELS = (
    "answer_coverage",
    "passage_coverage",
    "in_corpus",
    "missing_keys",
    "missing_keys_answer",
    "answer_margin",
    "fused_margin",
    "rare_missing",
    "keys_missing_span",
)
# The topic model (answerable vs off-topic) reads the raw cosines: their level is what tells
# an off-topic question.
TOPIC_FEATURES = ("top_dense", "top_sentence", "answer_cosine") + _BOTH_MODELS
# The answered model (answerable vs on-topic unanswerable) reads them z-scored over the report.
ANSWERED_FEATURES = _BOTH_MODELS + ("top_dense_z", "top_sentence_z", "answer_cosine_z")

_COSINE = ANSWER_FEATURES.index("cosine")
_COVERAGE = ANSWER_FEATURES.index("coverage")


def answer_features(query: Query, spans: Sequence[Candidate]) -> np.ndarray:
    """The ANSWER_FEATURES row of each candidate, [len(spans), len(ANSWER_FEATURES)]."""
    ranking, table = query.ranking, query.table
    fused_z, lex_z = query.fused_z, query.sentence_lexical_z
    rows: list[list[float]] = []
    for c in spans:
        first = int(table.starts[c.chunk_id])
        n = len(query.index.chunks[c.chunk_id].sentences)
        j = c.rows[0] - first
        span_terms = frozenset().union(*(table.term_sets[r] for r in c.rows))
        around = range(first + max(j - 1, 0), first + min(j + c.width + 1, n))
        context_terms = frozenset().union(*(table.term_sets[r] for r in around))
        typed = 0.0
        if query.kind:
            for r in c.rows:
                typed = max(typed, float(query.typed_match(r)))
        rows.append([
            max(float(ranking.sentence_cos[r]) for r in c.rows),
            max(float(ranking.context_cos[r]) for r in c.rows),
            query.coverage(span_terms),
            query.coverage(context_terms),
            float(fused_z[c.chunk_id]),
            float(c.passage_rank == 0),
            max(float(lex_z[r]) for r in c.rows),
            (c.end - c.start) / 100.0,
            float(c.width == 2),
            typed,
            max(float(ranking.late[r]) for r in c.rows),
        ])
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(BASE_ANSWER_FEATURES))
    cols = x[:, [BASE_ANSWER_FEATURES.index(name) for name in BEST_OF]]
    best = cols >= cols.max(axis=0) - 1e-9 if len(cols) else cols
    return np.hstack([x, best.astype(np.float64)])


UNDEFINED = float("nan")  # a feature a report cannot give (linear.LinearReader.probability: it counts for nothing)
# The fewest scores a z-score is taken against. A handful says little of what is usual: in a note
# of four sentences the right one's cosine z-scored against the other three (all on the note's
# one topic) read as an outlier below the mean, and "Who is the depot manager?" was declined
# with the right sentence first. The reports fitted and scored here (SQuAD's three, the
# bundled one) have 12 to 46 passages and 36 to 197 sentences, so none of their figures moves
# (docs/quality.md, "Short notes").
MIN_SPREAD = 10


def _against(values: np.ndarray, x: float) -> float:
    """x z-scored against values (NaN ones skipped, as zscore does); UNDEFINED when they cannot say
    what is usual: fewer than MIN_SPREAD of them, as in a short note, or all equal."""
    if np.count_nonzero(~np.isnan(values)) < MIN_SPREAD or spread(values)[1] <= 1e-9:
        return UNDEFINED
    return zscore(values, x)


def abstention_features(
    query: Query, spans: Sequence[Candidate], features: np.ndarray, scores: np.ndarray, choice: int | None
) -> list[float]:
    """Signals that tell an answerable question from one the report does not answer, in ABSTENTION_FEATURES order.

    ``features`` and ``scores`` are the candidates' answer features and scores; ``choice``
    is the chosen candidate (None when there is none).
    """
    ranking, table, bm25 = query.ranking, query.table, query.bm25
    top = int(ranking.order[0])
    in_corpus = query.coverage(bm25.df)
    keys = query.keys
    max_idf = bm25.idf("") or 1.0
    # A key term weighs by its rarity in the report: one found in many passages says little by
    # its absence from one passage or quote; one the report never or seldom uses says much. (The
    # report's own subject, "IOPC" or "Normans", is no key term at all: Query.keys.)
    key_weight = {k: bm25.idf(k) / max_idf for k in keys}
    key_total = sum(key_weight.values())
    missing = lambda have: sum(key_weight[k] for k in keys - have)
    near = frozenset().union(*(table.passage_term_sets[i] for i in query.top_passages))
    missing_keys = missing(near) / key_total if keys else 0.0
    f = {
        "top_dense": float(ranking.dense[top]),
        "top_sentence": float(ranking.sentence[top]),
        "in_corpus": in_corpus,
        "missing_keys": missing_keys,
        "top_dense_z": _against(ranking.dense, float(ranking.dense[top])),
        "top_sentence_z": _against(ranking.sentence, float(ranking.sentence[top])),
    }
    if choice is None:
        f.update(
            answer_cosine=0.0, answer_coverage=0.0, passage_coverage=0.0, missing_keys_answer=1.0, answer_margin=0.0,
            fused_margin=0.0, rare_missing=1.0, keys_missing_span=float(key_total),
            answer_cosine_z=_against(ranking.sentence_cos, 0.0),
        )
        return [f[name] for name in ABSTENTION_FEATURES]
    chosen = spans[choice]
    cid = chosen.chunk_id
    span_terms = frozenset().union(*(table.term_sets[r] for r in chosen.rows))
    passage_terms = table.passage_term_sets[cid]
    others = [sc for c, sc in zip(spans, scores) if c.chunk_id != cid]
    fz = query.fused_z
    answer_cosine = float(features[choice][_COSINE])
    f.update(
        answer_cosine=answer_cosine,
        answer_coverage=float(features[choice][_COVERAGE]),
        passage_coverage=query.coverage(passage_terms),
        missing_keys_answer=missing(passage_terms) / key_total if keys else 0.0,
        answer_margin=float(scores[choice] - max(others)) if others else 1.0,
        fused_margin=float(fz[top] - fz[int(ranking.order[1])]) if len(ranking.order) > 1 else UNDEFINED,
        rare_missing=max((w for t, w in query.idf.items() if t in bm25.df and t not in passage_terms), default=0.0) / max_idf,
        keys_missing_span=float(missing(span_terms)),
        answer_cosine_z=_against(ranking.sentence_cos, answer_cosine),
    )
    return [f[name] for name in ABSTENTION_FEATURES]
