"""Pick the answer inside the retrieved passages, and decide whether to abstain.

Candidates are the sentences of the top passages and pairs of adjacent sentences
(a one-line sentence often needs its neighbour: "It subsequently appears that it
was not."). A linear scorer fitted across the SQuAD articles picks one; a
logistic model over ``abstention_features`` gives P(the report answers).
Both sets of weights live in ``settings.py``; ``benchmarks/fit.py`` refits them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .index import Index
from .retrieve import Ranking, Retriever, zscore
from .settings import Settings
from .text import STOPWORDS, is_heading, joins, stem, typed_tokens, words

ANSWER_FEATURES = (
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
ANSWER_FEATURES = ANSWER_FEATURES + tuple(f"best_{name}" for name in BEST_OF)

ABSTENTION_FEATURES = (
    "top_dense",  # cosine of the question and the best passage
    "top_sentence",  # best sentence cosine in the best passage
    "answer_cosine",  # cosine of the chosen span
    "answer_coverage",  # IDF-weighted share of question terms in the chosen span
    "passage_coverage",  # the same for the chosen span's passage
    "in_corpus",  # IDF-weighted share of question terms found anywhere in the report
    "missing_keys",  # share of the question's names and numbers absent from the top passages
    "missing_keys_answer",  # the same for the chosen span's passage
    "answer_margin",  # score of the chosen span minus the best span of another passage
    "fused_margin",  # fused z-score of the best passage minus the second
    "rare_missing",  # highest IDF of a question term that the report has but the chosen passage lacks, / max IDF
    "keys_missing_span",  # how many of the question's names and numbers the chosen span lacks
    # The same three cosines z-scored over the report (every passage, every sentence) for this
    # question: the answered-given-on-topic model uses these instead of the raw cosines, whose
    # level shifts from report to report (see docs/quality.md, Abstention).
    "top_dense_z",
    "top_sentence_z",
    "answer_cosine_z",
)

# Which features each abstention model uses (the fit leaves the others at weight 0).
TOPIC_FEATURES = ABSTENTION_FEATURES[:12]
ANSWERED_FEATURES = ABSTENTION_FEATURES[3:]


Best = tuple[int, int, int] | None  # (chunk id, start, end) of the answer span


@dataclass(frozen=True)
class Decision:
    """The chosen span (or None), P(answerable), and the features behind it."""

    best: Best
    p: float
    answer_features: tuple[float, ...]
    abstention_features: tuple[float, ...]


def key_terms(question: str) -> set[str]:
    """Stems of the question's names and numbers: capitalised words not at the start, and digits."""
    out = set()
    tokens = question.split()
    for i, tok in enumerate(tokens):
        for w in words(tok):
            if w in STOPWORDS:
                continue
            if any(ch.isdigit() for ch in w) or (i > 0 and tok.lstrip("\"'“‘(")[:1].isupper()):
                out.add(stem(w))
    return out


# --- answer type: what kind of token the question asks for ---------------------------

_PREP = r"^\W*(?:(?:in|on|at|by|since|until|from|during|for|of|to|with)\s+)?"
_NUMBER_Q = re.compile(
    _PREP + r"(?:how (?:many|much|long|old|far|large|big|high|tall|often)|(?:what|which) (?:number|percentage|proportion|amount|share|size))\b",
    re.I,
)
_TIME_Q = re.compile(_PREP + r"(?:when|(?:what|which) (?:year|date|month|day|decade|century|period|time))\b", re.I)
_PERSON_Q = re.compile(_PREP + r"(?:who|whom|whose)\b", re.I)
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_TIME_WORDS = re.compile(r"\b(?:year|years|date|dates|decade|when)\b", re.I)


def answer_type(question: str) -> str | None:
    """"number", "time" or "person" when the question asks for one, else None.

    Only the question's opening wh-phrase counts ("When did…", "In what year…",
    "How many…", "Who…"), so a "when" or "whose" inside a clause does not; a
    keyword query with no wh-word ("operation forced year") is "time" when it
    names a year or date.
    """
    if _NUMBER_Q.search(question):
        return "number"
    if _TIME_Q.search(question):
        return "time"
    if _PERSON_Q.search(question):
        return "person"
    if not _WH.search(question) and _TIME_WORDS.search(question):
        return "time"
    return None


_AUXILIARIES = frozenset(
    "did does do is was were are has have had can could will would should shall may might must "
    "didnt doesnt dont isnt wasnt werent arent hasnt havent hadnt cant couldnt wont wouldnt shouldnt".split()
)


def is_yes_no(question: str) -> bool:
    """A polar question: it opens with an auxiliary verb and offers no alternatives ("… X or Y?")."""
    w = words(question)
    return bool(w) and w[0] in _AUXILIARIES and "or" not in w


def extend_yes_no(index: Index, retriever: Retriever, question: str, best: Best, s: Settings) -> Best:
    """For a yes/no question, add the next sentence when it is short.

    The sentence that matches a polar question best usually restates it, and the
    verdict is the short one after it: "…assessing whether surveillance of named
    perpetrators was viable." / "It subsequently appears that it was not."
    Only a single-sentence answer is extended, within its passage.
    """
    if best is None or not s.yes_no_next_chars or not is_yes_no(question):
        return best
    cid, a, b = best
    sentences = index.chunks[cid].sentences
    ends = [e for _, e in sentences]
    if b not in ends or not any(x == a for x, _ in sentences):
        return best
    j = ends.index(b)
    if sentences[j][0] != a or j + 1 >= len(sentences):
        return best  # a pair already, or the last sentence of its passage
    row = int(retriever.sentence_starts[cid]) + j
    if not joins(retriever.sentence_texts[row], retriever.sentence_texts[row + 1]):
        return best  # a heading, a table row or the next bullet is no verdict
    x, y = sentences[j + 1]
    return (cid, a, y) if y - x <= s.yes_no_next_chars else best


def _coverage(weights: dict[str, float], total: float, term_set) -> float:
    return sum(w for t, w in weights.items() if t in term_set) / total if total else 0.0


def candidates(
    index: Index, retriever: Retriever, question: str, q_terms: list[str], ranking: Ranking, s: Settings
) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """Spans of the top passages, (chunk id, start, end), and their ANSWER_FEATURES rows.

    Lone sentences with fewer than min_answer_terms content words, and lone Markdown
    headings, are left out, unless the top passages hold nothing else (a report of short lines).
    """
    spans, rows = _candidates(index, retriever, question, q_terms, ranking, s, s.min_answer_terms)
    if not spans:
        spans, rows = _candidates(index, retriever, question, q_terms, ranking, s, 0)
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(ANSWER_FEATURES) - len(BEST_OF))
    cols = x[:, [ANSWER_FEATURES.index(name) for name in BEST_OF]]
    best = cols >= cols.max(axis=0) - 1e-9 if len(cols) else cols
    return spans, np.hstack([x, best.astype(np.float64)])


def _candidates(
    index: Index, retriever: Retriever, question: str, q_terms: list[str], ranking: Ranking, s: Settings, min_terms: int
) -> tuple[list[tuple[int, int, int]], list[list[float]]]:
    bm25 = retriever.bm25
    kind = answer_type(question)
    asked = typed_tokens(question, kind) | {w.lower() for w in words(question)} if kind else set()
    # a sentence answers the type when it holds a year / number / name the question lacks
    # and shares at least one of the question's terms (a date in an unrelated sentence is no answer)
    q_set = set(q_terms)
    typed_rows = {}
    weights = {t: bm25.idf(t) for t in set(q_terms)}
    total = sum(weights.values())
    fused_z = zscore(ranking.fused)
    lex_z = zscore(ranking.sentence_lexical)
    spans: list[tuple[int, int, int]] = []
    rows: list[list[float]] = []
    for rank, cid in enumerate(int(i) for i in ranking.order[: s.answer_passages]):
        chunk = index.chunks[cid]
        first = int(retriever.sentence_starts[cid])
        n = len(chunk.sentences)
        for j in range(n):
            for width in (1, 2):
                if j + width > n:
                    break
                a, b = chunk.sentences[j][0], chunk.sentences[j + width - 1][1]
                sent_rows = range(first + j, first + j + width)
                if width == 1 and (
                    len(retriever.sentence_term_sets[first + j]) < min_terms
                    or (min_terms and is_heading(retriever.sentence_texts[first + j]))
                ):
                    continue  # a caption, a stray label ("| Google Maps") or a heading is no answer on its own
                if width == 2 and (
                    b - a > s.answer_max_chars
                    or not joins(retriever.sentence_texts[first + j], retriever.sentence_texts[first + j + 1])
                ):
                    continue  # too long, or not one thought (a heading beside prose, two bullets)
                span_terms = frozenset().union(*(retriever.sentence_term_sets[r] for r in sent_rows))
                around = range(first + max(j - 1, 0), first + min(j + width + 1, n))
                context_terms = frozenset().union(*(retriever.sentence_term_sets[r] for r in around))
                spans.append((cid, a, b))
                typed = 0.0
                if kind:
                    for r in sent_rows:
                        if r not in typed_rows:
                            typed_rows[r] = bool(retriever.sentence_typed[r][kind] - asked) and not q_set.isdisjoint(retriever.sentence_term_sets[r])
                        typed = max(typed, float(typed_rows[r]))
                rows.append([
                    max(float(ranking.sentence_cos[r]) for r in sent_rows),
                    max(float(ranking.context_cos[r]) for r in sent_rows),
                    _coverage(weights, total, span_terms),
                    _coverage(weights, total, context_terms),
                    float(fused_z[cid]),
                    float(rank == 0),
                    max(float(lex_z[r]) for r in sent_rows),
                    (b - a) / 100.0,
                    float(width == 2),
                    typed,
                    max(float(ranking.late[r]) for r in sent_rows),
                ])
    return spans, rows


def answer_scores(features: np.ndarray, s: Settings) -> np.ndarray:
    return features @ np.asarray(s.answer_weights, dtype=np.float64) if len(features) else np.zeros(0)


def abstention_features(
    index: Index,
    retriever: Retriever,
    question: str,
    q_terms: list[str],
    ranking: Ranking,
    spans: list[tuple[int, int, int]],
    features: np.ndarray,
    scores: np.ndarray,
    choice: int | None,
    s: Settings,
) -> list[float]:
    """Signals that tell an answerable question from one the report does not answer (ABSTENTION_FEATURES)."""
    bm25 = retriever.bm25
    top = int(ranking.order[0])
    weights = {t: bm25.idf(t) for t in set(q_terms)}
    total = sum(weights.values())
    in_corpus = _coverage(weights, total, bm25.df)
    keys = key_terms(question)
    top_ids = [int(i) for i in ranking.order[: s.answer_passages]]
    near = frozenset().union(*(retriever.passage_term_sets[i] for i in top_ids))
    missing_keys = len(keys - near) / len(keys) if keys else 0.0
    zs = [zscore(ranking.dense, float(ranking.dense[top])), zscore(ranking.sentence, float(ranking.sentence[top]))]
    if choice is None:
        return [float(ranking.dense[top]), float(ranking.sentence[top]), 0.0, 0.0, 0.0, in_corpus, missing_keys, 1.0, 0.0, 0.0, 1.0, float(len(keys)), *zs, zscore(ranking.sentence_cos, 0.0)]
    cid, a, b = spans[choice]
    f = features[choice]
    first = int(retriever.sentence_starts[cid])
    chunk = index.chunks[cid]
    span_terms = frozenset().union(
        *(retriever.sentence_term_sets[first + j] for j, (x, y) in enumerate(chunk.sentences) if a <= x and y <= b)
    )
    passage_terms = retriever.passage_term_sets[cid]
    missing_answer = len(keys - passage_terms) / len(keys) if keys else 0.0
    others = [sc for (c, _, _), sc in zip(spans, scores) if c != cid]
    margin = float(scores[choice] - max(others)) if others else 1.0
    max_idf = bm25.idf("") or 1.0
    rare_missing = max((w for t, w in weights.items() if t in bm25.df and t not in passage_terms), default=0.0) / max_idf
    fz = zscore(ranking.fused)
    fused_margin = float(fz[top] - fz[int(ranking.order[1])]) if len(ranking.order) > 1 else 0.0
    return [
        float(ranking.dense[top]),
        float(ranking.sentence[top]),
        float(f[0]),
        float(f[2]),
        _coverage(weights, total, passage_terms),
        in_corpus,
        missing_keys,
        missing_answer,
        margin,
        fused_margin,
        rare_missing,
        float(len(keys - span_terms)),
        *zs,
        zscore(ranking.sentence_cos, float(f[0])),
    ]


def _logistic(weights, bias: float, z: list[float]) -> float:
    x = bias + sum(w * v for w, v in zip(weights, z))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def p_answerable(features: list[float], s: Settings) -> float:
    """P(the report answers): P(on topic) x P(answered | on topic), two fitted logistic models.

    They are separate because the signals pull opposite ways: a high word overlap
    says "on topic", while SQuAD's on-topic unanswerable questions overlap *more*
    with the nearest passage than answerable ones do.
    """
    if not s.abstain_weights and not s.topic_weights:
        return 1.0
    z = [(f - m) / d for f, m, d in zip(features, s.abstain_mean, s.abstain_scale)]
    p = _logistic(s.topic_weights, s.topic_bias, z) if s.topic_weights else 1.0
    return p * (_logistic(s.abstain_weights, s.abstain_bias, z) if s.abstain_weights else 1.0)


def decide(index: Index, retriever: Retriever, question: str, q_terms: list[str], ranking: Ranking, s: Settings) -> Decision:
    """Choose the answer span and estimate whether the report answers at all."""
    spans, features = candidates(index, retriever, question, q_terms, ranking, s)
    scores = answer_scores(features, s)
    choice = int(np.argmax(scores)) if len(spans) else None
    abst = abstention_features(index, retriever, question, q_terms, ranking, spans, features, scores, choice, s)
    best = extend_yes_no(index, retriever, question, spans[choice] if choice is not None else None, s)
    answer_f = tuple(float(x) for x in features[choice]) if choice is not None else ()
    return Decision(best, p_answerable(abst, s), answer_f, tuple(abst))
