"""Pick the answer inside the retrieved passages, and decide whether to abstain."""

from __future__ import annotations

import math

from .index import Index
from .retrieve import Ranking, Retriever, zscore
from .settings import Settings
from .text import STOPWORDS, stem, terms, words

Best = tuple[int, int, int] | None  # (chunk id, start, end) of the answer span


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


def select_sentence(index: Index, retriever: Retriever, q_terms: list[str], ranking: Ranking, s: Settings) -> Best:
    """(chunk id, start, end) of the best sentence in the top passages."""
    bm25 = retriever.bm25
    top = [int(i) for i in ranking.order[: s.answer_passages]]
    if not top:
        return None
    weights = {t: bm25.idf(t) for t in set(q_terms)}
    total = sum(weights.values())
    fused_z = zscore(ranking.fused)
    starts = retriever.sentence_starts
    best, best_score = None, -math.inf
    for cid in top:
        chunk = index.chunks[cid]
        for j, (a, b) in enumerate(chunk.sentences):
            row = int(starts[cid]) + j
            sent_terms = set(terms(chunk.text[a - chunk.start : b - chunk.start]))
            coverage = sum(w for t, w in weights.items() if t in sent_terms) / total if total else 0.0
            # A caption or a stray label ("| Google Maps") is no answer.
            too_short = len(sent_terms) < s.min_answer_terms
            score = -1e9 * too_short + s.a_cosine * float(ranking.sentence_cos[row]) + s.a_coverage * coverage + s.a_passage * float(fused_z[cid])
            if score > best_score:
                best, best_score = (cid, a, b), score
    return best

def abstention_features(
    index: Index, retriever: Retriever, question: str, q_terms: list[str], ranking: Ranking, best: Best, s: Settings
) -> list[float]:
    """Signals that tell an answerable question from one the report does not answer."""
    bm25 = retriever.bm25
    top = int(ranking.order[0])
    weights = {t: bm25.idf(t) for t in set(q_terms)}
    total = sum(weights.values()) or 1.0
    in_corpus = sum(w for t, w in weights.items() if t in bm25.df) / total if weights else 0.0
    top_terms = set(terms(index.chunks[top].text))
    top_cov = sum(w for t, w in weights.items() if t in top_terms) / total if weights else 0.0
    if best is not None:
        cid, a, b = best
        chunk = index.chunks[cid]
        sent_terms = set(terms(chunk.text[a - chunk.start : b - chunk.start]))
        sent_cov = sum(w for t, w in weights.items() if t in sent_terms) / total if weights else 0.0
        row = int(retriever.sentence_starts[cid]) + next(
            j for j, (x, _) in enumerate(chunk.sentences) if x == a
        )
        sent_cos = float(ranking.sentence_cos[row])
    else:
        sent_cov, sent_cos = 0.0, 0.0
    keys = key_terms(question)
    passages = set()
    for cid in ranking.order[: s.answer_passages]:
        passages.update(terms(index.chunks[int(cid)].text))
    missing_keys = len(keys - passages) / len(keys) if keys else 0.0
    return [
        float(ranking.dense[top]),
        float(ranking.sentence[top]),
        sent_cos,
        sent_cov,
        top_cov,
        in_corpus,
        missing_keys,
    ]


def p_answerable(features: list[float], s: Settings) -> float:
    """P(the report answers the question) from the fitted logistic model."""
    if not s.abstain_weights:
        return 1.0
    z = s.abstain_bias + sum(w * f for w, f in zip(s.abstain_weights, features))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
