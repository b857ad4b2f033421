"""Fit the answer scorer and the abstention model across the SQuAD articles.

    python benchmarks/fit.py            # fit on all three articles, print literals for settings.py
    python benchmarks/fit.py --loao     # also print leave-one-article-out figures

Both are fitted in numpy on questions from ``../shared/benchmarks/squad2-articles``:

* the answer scorer is a linear score over ``extract.ANSWER_FEATURES``, fitted as a
  softmax over each question's candidate spans (the targets are the spans that
  contain a gold answer), with a length penalty added afterwards so the mean answer
  stays near 200 characters (the smallest penalty, in steps of 0.1, that keeps the SQuAD
  leave-one-article-out mean at or under 200);
* the abstention model is a logistic regression over ``extract.ABSTENTION_FEATURES``.
  Its negatives are SQuAD's unanswerable questions (on topic, written to look
  answerable) and off-topic questions: the *other* articles' questions asked of
  this article. The bundled report's question set is never used for fitting.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks" / "squad2-articles"
ARTICLES = ("normans", "computational-complexity-theory", "southern-california")

sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("REPORTQA_CACHE_DIR", "/tmp/rqa-cache")

from reportqa.evaluate import contains_answer, load_questions
from reportqa.extract import (
    ABSTENTION_FEATURES,
    ANSWER_FEATURES,
    ANSWERED_FEATURES,
    TOPIC_FEATURES,
    abstention_features,
    answer_scores,
    candidates,
)
from reportqa.settings import DEFAULT, Settings
from reportqa.text import terms

LENGTH_PENALTY = 0.7  # subtracted from the fitted weight of "length" (per 100 characters)
OFF_TOPIC_PER_ARTICLE = 60  # off-topic questions borrowed from each other article
L2 = 1e-3


class MemoEncoder:
    """Wraps an encoder and remembers single-question encodings (sweeps re-ask the same questions)."""

    def __init__(self, enc):
        self.enc, self.memo = enc, {}
        for name in ("model_id", "fingerprint", "dim", "max_tokens"):
            setattr(self, name, getattr(enc, name))

    def count_tokens(self, text):
        return self.enc.count_tokens(text)

    def encode(self, texts, batch_size=32, progress=None):
        return self.enc.encode(texts, batch_size=batch_size, progress=progress)

    def encode_tokens(self, texts, batch_size=32, progress=None):
        if len(texts) == 1:
            if texts[0] not in self.memo:
                vecs, toks = self.enc.encode_tokens(texts)
                self.memo[texts[0]] = (vecs[0], toks[0])
            vec, tok = self.memo[texts[0]]
            return vec[None], [tok]
        return self.enc.encode_tokens(texts, batch_size=batch_size, progress=progress)


@dataclass
class Item:
    """One question asked of one article, with everything the fits need."""

    article: str
    kind: str  # "answerable", "unanswerable" (SQuAD's) or "off-topic" (another article's question)
    question: str
    q_terms: list
    ranking: object
    spans: list
    features: np.ndarray
    labels: np.ndarray  # which spans contain a gold answer


def assistants(encoder=None, settings: Settings = DEFAULT):
    from reportqa import Assistant
    from reportqa.assistant import cache_dir
    from reportqa.embed import default_encoder

    (cache_dir() / "indexes").mkdir(parents=True, exist_ok=True)  # index.build_lock needs the parent to exist

    encoder = encoder or MemoEncoder(default_encoder())
    out = {}
    for slug in ARTICLES:
        a = Assistant(source=SHARED / f"{slug}.txt", encoder=encoder, settings=settings, notify=lambda m: None)
        a.load()
        out[slug] = (a, load_questions(SHARED / f"{slug}.questions.jsonl"))
    return out


def collect(sets: dict, off_topic: int = OFF_TOPIC_PER_ARTICLE, seed: int = 0) -> list[Item]:
    rng = np.random.default_rng(seed)
    items = []
    for slug, (a, qs) in sets.items():
        asked = [(q, "answerable" if q.get("answerable", True) is not False else "unanswerable") for q in qs]
        for other, (_, oqs) in sets.items():
            if other != slug:
                pick = rng.choice(len(oqs), size=min(off_topic, len(oqs)), replace=False)
                asked += [(oqs[i], "off-topic") for i in sorted(pick)]
        for q, kind in asked:
            items.append(item(a, slug, q, kind))
    return items


def item(a, slug: str, q: dict, kind: str) -> Item:
    index, retriever, s = a.index, a._retriever, a.settings
    q_terms = terms(q["q"])
    vecs, toks = a.encoder.encode_tokens([q["q"]])
    ranking = retriever.rank(q_terms, vecs[0], q["q"], toks[0])
    spans, features = candidates(index, retriever, q["q"], q_terms, ranking, s)
    answers = q.get("answers", []) if kind == "answerable" else []
    labels = np.array([contains_answer(index.chunks[c].text[x - index.chunks[c].start : y - index.chunks[c].start], answers) for c, x, y in spans], dtype=bool)
    return Item(slug, kind, q["q"], q_terms, ranking, spans, features, labels)


# --- the answer scorer ----------------------------------------------------------


def fit_answer(items: list[Item], iters: int = 600, lr: float = 0.5) -> np.ndarray:
    """Softmax over each question's spans; maximise the probability of the spans holding a gold answer."""
    data = [(it.features, it.labels.astype(float)) for it in items if it.kind == "answerable" and it.labels.any()]
    w = np.zeros(len(ANSWER_FEATURES))
    for _ in range(iters):
        grad = np.zeros_like(w)
        for X, y in data:
            z = X @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            q = p * y
            q /= q.sum()
            grad += X.T @ (p - q)
        w -= lr * (grad / len(data) + L2 * w)
    w[ANSWER_FEATURES.index("length")] -= LENGTH_PENALTY
    return w


# --- the abstention model ---------------------------------------------------------


def abstention_matrix(items: list[Item], sets: dict, answer_weights) -> np.ndarray:
    rows = []
    for it in items:
        a = sets[it.article][0]
        s = a.settings.with_(answer_weights=tuple(answer_weights))
        scores = answer_scores(it.features, s)
        choice = int(np.argmax(scores)) if len(it.spans) else None
        rows.append(abstention_features(a.index, a._retriever, it.question, it.q_terms, it.ranking, it.spans, it.features, scores, choice, s))
    return np.asarray(rows, dtype=np.float64)


def _logistic_fit(Z: np.ndarray, y: np.ndarray, iters: int = 3000, lr: float = 0.5):
    """Class-balanced logistic regression by gradient descent."""
    weight = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    w, b = np.zeros(Z.shape[1]), 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        g = weight * (p - y)
        w -= lr * (Z.T @ g + L2 * w)
        b -= lr * g.sum()
    return w, b


def _fit_on(Z: np.ndarray, y: np.ndarray, names) -> tuple[np.ndarray, float]:
    """A logistic model over the named features only; the others get weight 0."""
    cols = [ABSTENTION_FEATURES.index(n) for n in names]
    w, b = _logistic_fit(Z[:, cols], y)
    full = np.zeros(Z.shape[1])
    full[cols] = w
    return full, b


def fit_abstention(X: np.ndarray, kinds: list[str]):
    """(mean, scale, topic model, answered-given-topic model); see extract.p_answerable.

    The topic model uses the raw cosines (their level is what tells an off-topic question);
    the answered model uses them z-scored over the report instead (extract.ANSWERED_FEATURES).
    """
    kinds = np.array(kinds)
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    Z = (X - mean) / scale
    on = kinds != "unanswerable"
    topic = _fit_on(Z[on], (kinds[on] == "answerable").astype(float), TOPIC_FEATURES)
    known = kinds != "off-topic"
    answered = _fit_on(Z[known], (kinds[known] == "answerable").astype(float), ANSWERED_FEATURES)
    return mean, scale, topic, answered


def probabilities(X, model) -> np.ndarray:
    mean, scale, (tw, tb), (aw, ab) = model
    Z = (X - mean) / scale
    return 1 / (1 + np.exp(-(Z @ tw + tb))) / (1 + np.exp(-(Z @ aw + ab)))


def pick_threshold(p_answerable: np.ndarray, answered_at_least: float) -> float:
    """The highest threshold (in steps of 0.01) that still answers this share of answerable questions."""
    for t in np.arange(0.99, -0.001, -0.01):
        if (p_answerable >= t).mean() >= answered_at_least:
            return round(float(t), 2)
    return 0.0


ANSWERED_AT_LEAST = 0.995  # the default threshold keeps this share of answerable training questions answered


def fit_all(items: list[Item], sets: dict) -> Settings:
    aw = fit_answer(items)
    X = abstention_matrix(items, sets, aw)
    kinds = [it.kind for it in items]
    model = fit_abstention(X, kinds)
    p = probabilities(X, model)
    threshold = pick_threshold(p[np.array([k == "answerable" for k in kinds])], ANSWERED_AT_LEAST)
    mean, scale, (tw, tb), (w, b) = model
    base = next(iter(sets.values()))[0].settings  # the retrieval settings the items were collected with
    return base.with_(
        answer_weights=tuple(round(float(x), 3) for x in aw),
        abstain_mean=tuple(round(float(x), 4) for x in mean),
        abstain_scale=tuple(round(float(x), 4) for x in scale),
        topic_weights=tuple(round(float(x), 3) for x in tw),
        topic_bias=round(float(tb), 3),
        abstain_weights=tuple(round(float(x), 3) for x in w),
        abstain_bias=round(float(b), 3),
        abstain_threshold=threshold,
    )


def fitted_settings(sets: dict, items: list[Item] | None = None, exclude: str | None = None) -> Settings:
    """Settings fitted on every article except `exclude`."""
    items = items if items is not None else collect(sets)
    return fit_all([it for it in items if it.article != exclude], sets)


def literals(s: Settings) -> str:
    return "\n".join(
        f"    {name}: {typ} = {value!r}"
        for name, typ, value in (
            ("answer_weights", "tuple[float, ...]", s.answer_weights),
            ("abstain_mean", "tuple[float, ...]", s.abstain_mean),
            ("abstain_scale", "tuple[float, ...]", s.abstain_scale),
            ("topic_weights", "tuple[float, ...]", s.topic_weights),
            ("topic_bias", "float", s.topic_bias),
            ("abstain_weights", "tuple[float, ...]", s.abstain_weights),
            ("abstain_bias", "float", s.abstain_bias),
            ("abstain_threshold", "float", s.abstain_threshold),
        )
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loao", action="store_true", help="also fit leaving each article out and print the settings")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"No benchmark data in {SHARED}.", file=sys.stderr)
        return 2
    sets = assistants()
    items = collect(sets)
    s = fitted_settings(sets, items)
    print("# fitted on all three articles:")
    print(literals(s))
    if args.loao:
        for held in ARTICLES:
            print(f"# without {held}:")
            print(literals(fitted_settings(sets, items, exclude=held)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
