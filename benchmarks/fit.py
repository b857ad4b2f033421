"""Fit the answer scorer and the abstention model across the SQuAD articles.

    python benchmarks/fit.py                # fit on all three articles, write src/reportqa/reader/linear.json
    python benchmarks/fit.py --out P.json   # write the fit elsewhere
    python benchmarks/fit.py --loao         # also print the leave-one-article-out fits (JSON, not written)

Both are fitted in numpy on questions from ``../shared/benchmarks/squad2-articles``:

* the answer scorer is a linear score over ``reader.features.ANSWER_FEATURES``, fitted as a
  softmax over each question's candidate spans (the targets are the spans that
  contain a gold answer), with a length penalty added afterwards so the mean answer
  stays near 200 characters (the smallest penalty, in steps of 0.1, that keeps the SQuAD
  leave-one-article-out mean at or under 200);
* the abstention model is a logistic regression over ``reader.features.ABSTENTION_FEATURES``.
  Its negatives are SQuAD's unanswerable questions (on topic, written to look
  answerable) and off-topic questions: the *other* articles' questions asked of
  this article. The bundled report's question set is never used for fitting.

The result is the "linear" reader's parameter file (``reader.LinearParams``): every
number keyed by feature name, with a ``fitted_on`` fingerprint of the data, the
hand-set settings, the encoder and the code it was fitted with.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks" / "squad2-articles"
ARTICLES = ("normans", "computational-complexity-theory", "southern-california")

sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("REPORTQA_CACHE_DIR", "/tmp/rqa-cache")

from reportqa.evaluate import contains_answer, load_questions  # noqa: E402
from reportqa.reader import CrossFeatures, LinearFeatures, LinearParams, Query, candidates  # noqa: E402
from reportqa.reader import cross  # noqa: E402
from reportqa.reader.cross import DEFAULT_CANDIDATES  # noqa: E402
from reportqa.reader.linear import PARAMS_PATH, calibrate, shipped_params  # noqa: E402
from reportqa.settings import DEFAULT, Settings  # noqa: E402

FEATURES = LinearFeatures()  # the names and features the fit is over

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


class MemoModel:
    """Wraps the reader's cross-encoder and remembers each (question, span) logit (variants re-read them)."""

    def __init__(self, model):
        self.model, self.memo = model, {}
        self.fingerprint = model.fingerprint

    def logits(self, questions, texts):
        todo = sorted({(q, t) for q, t in zip(questions, texts) if (q, t) not in self.memo})
        if todo:
            got = self.model.logits([q for q, _ in todo], [t for _, t in todo])
            self.memo.update(zip(todo, got.tolist()))
        return np.array([self.memo[(q, t)] for q, t in zip(questions, texts)], dtype=np.float32)


def cross_features(model=None, candidates: int = DEFAULT_CANDIDATES) -> LinearFeatures:
    """The cross reader's names and features: the linear ones, then the cross-encoder's."""
    from reportqa.models.crossencoder import CrossEncoderModel

    model = model or MemoModel(CrossEncoderModel())
    return LinearFeatures(CrossFeatures(model, shipped_params().answer_vector(FEATURES.answer), candidates))


def span_features(model=None, passages: int | None = None, cross_model=None, candidates: int = DEFAULT_CANDIDATES) -> LinearFeatures:
    """The span reader's names and features (the linear ones, then the passage reader's); with a
    cross_model, the span+cross reader's (then the cross-encoder's too)."""
    from reportqa.models.spanreader import SpanReaderModel
    from reportqa.reader.span import DEFAULT_PASSAGES, BothFeatures, SpanFeatures

    span = SpanFeatures(model or SpanReaderModel(), passages or DEFAULT_PASSAGES, memo=100_000)
    if cross_model is None:
        return LinearFeatures(span)
    cross_part = CrossFeatures(cross_model, shipped_params().answer_vector(FEATURES.answer), candidates)
    return LinearFeatures(BothFeatures(span, cross_part))


def reader_features(reader: str, candidates: int = DEFAULT_CANDIDATES, passages: int | None = None,
                    span_model: Path | None = None) -> LinearFeatures:
    """The names and features of a reader by name: linear, cross, span or span+cross (span_model: another passage reader)."""
    from reportqa.models.crossencoder import CrossEncoderModel
    from reportqa.models.spanreader import SpanReaderModel

    if reader == "linear":
        return FEATURES
    if reader == "cross":
        return cross_features(candidates=candidates)
    model = SpanReaderModel(span_model) if span_model else None
    return span_features(model, passages, MemoModel(CrossEncoderModel()) if reader == "span+cross" else None, candidates)


@dataclass
class Item:
    """One question asked of one article, with everything the fits need."""

    article: str
    kind: str  # "answerable", "unanswerable" (SQuAD's) or "off-topic" (another article's question)
    question: str
    query: Query  # the question's terms and ranking, as the reader sees them
    spans: list  # its candidates (reader.Candidate)
    features: np.ndarray
    labels: np.ndarray  # which spans contain a gold answer


class _NoReader:
    """Stands in for the reader of the fits' Assistants: the fits read queries and features and
    score with readers they make themselves, never the shipped one, so a fit still runs when the
    shipped numbers are stale (new features); quality.py passes its readers explicitly."""

    name = "none"


NO_READER = _NoReader()


def assistants(encoder=None, settings: Settings = DEFAULT):
    from reportqa import Assistant
    from reportqa.assistant import cache_dir
    from reportqa.embed import default_encoder

    (cache_dir() / "indexes").mkdir(parents=True, exist_ok=True)  # index.build_lock needs the parent to exist

    encoder = encoder or MemoEncoder(default_encoder())
    out = {}
    for slug in ARTICLES:
        a = Assistant(source=SHARED / f"{slug}.txt", encoder=encoder, reader=NO_READER, settings=settings, notify=lambda m: None)
        a.load()
        out[slug] = (a, load_questions(SHARED / f"{slug}.questions.jsonl"))
    return out


def collect(
    sets: dict, off_topic: int = OFF_TOPIC_PER_ARTICLE, seed: int = 0, names: LinearFeatures = FEATURES, absent: bool = False
) -> list[Item]:
    """Every question of every article, and off-topic ones borrowed from the others, with their features;
    with absent, each answerable question once more with its answer's passages hidden (absent_item).

    With the cross reader's names the features hold its columns after the linear ones, so the
    same items serve both fits (the linear fit reads the first len(FEATURES.answer) columns)."""
    rng = np.random.default_rng(seed)
    items = []
    for slug, (a, qs) in sets.items():
        asked = [(q, "answerable" if q.get("answerable", True) is not False else "unanswerable") for q in qs]
        for other, (_, oqs) in sets.items():
            if other != slug:
                pick = rng.choice(len(oqs), size=min(off_topic, len(oqs)), replace=False)
                asked += [(oqs[i], "off-topic") for i in sorted(pick)]
        for q, kind in asked:
            items.append(item(a, slug, q, kind, names))
            if absent and kind == "answerable":
                hidden = absent_item(a, slug, q, names, items[-1].query)
                if hidden is not None:
                    items.append(hidden)
    return items


def item(a, slug: str, q: dict, kind: str, names: LinearFeatures = FEATURES, query: Query | None = None) -> Item:
    query = query or a.query(q["q"])
    spans = candidates(query)
    features = names.answer_matrix(query, spans)
    answers = q.get("answers", []) if kind == "answerable" else []
    labels = np.array([contains_answer(query.table.span_text(c), answers) for c in spans], dtype=bool)
    return Item(slug, kind, q["q"], query, spans, features, labels)


def absent_item(a, slug: str, q: dict, names: LinearFeatures, query: Query) -> Item | None:
    """The question asked as if the passages holding its answer were not in the report: on topic, but
    the report does not say (kind "absent"). SQuAD's own unanswerable questions are written to look
    answerable; these are the kind a reader of a report asks. None when another passage holds the answer too.
    ``query`` is the question's Query as asked of the whole report."""
    chunks = query.table.index.chunks
    gold = [tuple(span) for span in q.get("spans", [])]
    keep = [i for i in query.ranking.order.tolist() if not any(chunks[i].start < e and s < chunks[i].end for s, e in gold)]
    if len(keep) < 2:
        return None
    masked = dataclasses.replace(query, ranking=dataclasses.replace(query.ranking, order=np.asarray(keep)))
    spans = candidates(masked)
    if any(contains_answer(masked.table.span_text(c), q.get("answers", [])) for c in spans):
        return None
    return item(a, slug, q, "absent", names, masked)


# --- the answer scorer ----------------------------------------------------------


def fit_answer(items: list[Item], iters: int = 600, lr: float = 0.5, names: LinearFeatures = FEATURES) -> np.ndarray:
    """Softmax over each question's spans; maximise the probability of the spans holding a gold answer."""
    cols = len(names.answer)
    data = [(it.features[:, :cols], it.labels.astype(float)) for it in items if it.kind == "answerable" and it.labels.any()]
    return fit_softmax(data, cols, names.answer.index("length"), iters, lr)


def fit_softmax(data: list[tuple[np.ndarray, np.ndarray]], cols: int, length: int, iters: int = 600, lr: float = 0.5) -> np.ndarray:
    """Weights of a softmax over each (features, targets) group, then LENGTH_PENALTY off column length."""
    w = np.zeros(cols)
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
    w[length] -= LENGTH_PENALTY
    return w


# --- the abstention model ---------------------------------------------------------


def choices(items: list[Item], answer_weights) -> list[int | None]:
    """The candidate each item's scorer picks with these answer weights."""
    weights = np.asarray(answer_weights, dtype=np.float64)
    return [int(np.argmax(it.features[:, : len(weights)] @ weights)) if len(it.spans) else None for it in items]


def abstention_matrix(items: list[Item], answer_weights, names: LinearFeatures = FEATURES) -> np.ndarray:
    weights = np.asarray(answer_weights, dtype=np.float64)
    rows = []
    for it, choice in zip(items, choices(items, weights)):
        x = it.features[:, : len(weights)]
        scores = x @ weights if len(x) else np.zeros(0)
        rows.append(names.abstention_row(it.query, it.spans, x, scores, choice))
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


def _fit_on(Z: np.ndarray, y: np.ndarray, names, every) -> tuple[np.ndarray, float]:
    """A logistic model over the named features only; the others (of every) get weight 0."""
    cols = [every.index(n) for n in names]
    w, b = _logistic_fit(Z[:, cols], y)
    full = np.zeros(Z.shape[1])
    full[cols] = w
    return full, b


def fit_abstention(X: np.ndarray, kinds: list[str], names: LinearFeatures = FEATURES):
    """(mean, scale, topic model, answered-given-topic model); see reader.LinearReader.probability.

    The topic model uses the raw cosines (their level is what tells an off-topic question);
    the answered model uses them z-scored over the report instead (features.ANSWERED_FEATURES).
    """
    kinds = np.array(kinds)
    X = np.where(np.isnan(X), np.nanmean(X, axis=0), X)  # an undefined feature counts as its mean, as at run time
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    Z = (X - mean) / scale
    on = (kinds == "answerable") | (kinds == "off-topic")
    topic = _fit_on(Z[on], (kinds[on] == "answerable").astype(float), names.topic, names.abstention)
    known = kinds != "off-topic"
    answered = _fit_on(Z[known], (kinds[known] == "answerable").astype(float), names.answered, names.abstention)
    return mean, scale, topic, answered


def probabilities(X, model) -> np.ndarray:
    mean, scale, (tw, tb), (aw, ab) = model
    Z = np.nan_to_num((X - mean) / scale)  # undefined features count as their mean
    return 1 / (1 + np.exp(-(Z @ tw + tb))) / (1 + np.exp(-(Z @ aw + ab)))


def pick_threshold(p_answerable: np.ndarray, answered_at_least: float) -> float:
    """The highest threshold (in steps of 0.01) that still answers this share of answerable questions."""
    for t in np.arange(0.99, -0.001, -0.01):
        if (p_answerable >= t).mean() >= answered_at_least:
            return round(float(t), 2)
    return 0.0


ANSWERED_AT_LEAST = 0.995  # the default threshold keeps this share of answerable training questions answered


def fit_calibration(p: np.ndarray, correct: np.ndarray, iters: int = 4000, lr: float = 0.5) -> dict:
    """Platt scaling: sigmoid(slope * logit(p) + intercept) fitted (unweighted) to whether the quote answered."""
    x = np.log(np.clip(p, 1e-12, 1 - 1e-12) / np.clip(1 - p, 1e-12, 1))
    slope, intercept = 1.0, 0.0
    for _ in range(iters):
        q = 1 / (1 + np.exp(-(slope * x + intercept)))
        g = (q - correct) / len(x)
        slope -= lr * float(g @ x)
        intercept -= lr * float(g.sum())
    return {"slope": round(slope, 4), "intercept": round(intercept, 4)}


def best_balanced_threshold(p: np.ndarray, answerable: np.ndarray) -> float:
    """The lowest threshold (in steps of 0.01) whose balanced accuracy of answering answerable questions
    and declining the others is within one standard error of the best (the one-standard-error rule).

    The curve is flat near its top, so its exact maximum is noise; within that noise, answering
    more is better: a declined question hides a quote the reader could have checked."""
    pos, neg = p[answerable], p[~answerable]
    grid = [round(float(t), 2) for t in np.arange(0.0, 1.0, 0.01)]
    bal = [((pos >= t).mean() + (neg < t).mean()) / 2 for t in grid]
    best = int(np.argmax(bal))
    a, b = (pos >= grid[best]).mean(), (neg < grid[best]).mean()
    se = np.sqrt(a * (1 - a) / len(pos) + b * (1 - b) / len(neg)) / 2
    return next(t for t, v in zip(grid, bal) if v >= bal[best] - se)


def fit_all(items: list[Item], fitted_on: dict | None = None, names: LinearFeatures = FEATURES) -> LinearParams:
    """The answer weights, the abstention models and the threshold over these names' features.

    The linear reader keeps the fit it has always had (no calibration; the threshold keeps 99.5%
    of the answerable training questions answered). A reader with more features (cross) is also
    calibrated, so its confidence is P(the quote answers), and its threshold is the one with the
    best balanced accuracy on the training articles."""
    aw = fit_answer(items, names=names)
    X = abstention_matrix(items, aw, names)
    kinds = [it.kind for it in items]
    model = fit_abstention(X, kinds, names)
    p = probabilities(X, model)
    answerable = np.array([k == "answerable" for k in kinds])
    calibration = {"slope": 1.0, "intercept": 0.0}
    if names.extra is None:
        threshold = pick_threshold(p[answerable], ANSWERED_AT_LEAST)
    else:
        correct = np.array([bool(it.labels[c]) if c is not None else False for it, c in zip(items, choices(items, aw))])
        calibration = fit_calibration(p, correct & answerable)
        q = np.array([calibrate(float(x), calibration) for x in p])  # as the reader computes it at run time
        threshold = best_balanced_threshold(q, answerable)
    mean, scale, (tw, tb), (w, b) = model
    return LinearParams(
        answer={n: round(float(x), 3) for n, x in zip(names.answer, aw)},
        mean={n: round(float(x), 4) for n, x in zip(names.abstention, mean)},
        scale={n: round(float(x), 4) for n, x in zip(names.abstention, scale)},
        topic={n: round(float(x), 3) for n, x in zip(names.abstention, tw) if n in names.topic},
        topic_bias=round(float(tb), 3),
        answered={n: round(float(x), 3) for n, x in zip(names.abstention, w) if n in names.answered},
        answered_bias=round(float(b), 3),
        threshold=threshold,
        fitted_on=fitted_on or {},
        calibration=calibration,
    )


def fitted_params(
    sets: dict, items: list[Item] | None = None, exclude: str | None = None, fitted_on: dict | None = None,
    names: LinearFeatures = FEATURES,
) -> LinearParams:
    """A reader's parameters (by default the linear one's) fitted on every article except `exclude`."""
    items = items if items is not None else collect(sets, names=names, absent=names.extra is not None)
    # the linear reader keeps the fit it always had: no hidden-passage questions
    return fit_all([it for it in items if it.article != exclude and (names.extra is not None or it.kind != "absent")], fitted_on, names)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(sets: dict, exclude: str | None = None) -> dict:
    """What a fit was made from: the article and question files, the hand-set settings, the encoder, the code."""
    a = next(iter(sets.values()))[0]
    settings = a.settings.flat()  # by field name, as before the settings were grouped: the same fingerprint
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "benchmarks"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", ""
    return {
        "data": {
            f"squad2-articles/{name}": _sha256(SHARED / name)
            for slug in ARTICLES
            if slug != exclude
            for name in (f"{slug}.txt", f"{slug}.questions.jsonl")
        },
        "off_topic_per_article": OFF_TOPIC_PER_ARTICLE,
        "length_penalty": LENGTH_PENALTY,
        "answered_at_least": ANSWERED_AT_LEAST,
        "settings_sha256": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest(),
        "encoder": getattr(a.encoder, "fingerprint", type(a.encoder).__name__),
        "git_commit": commit + ("+uncommitted changes" if dirty else ""),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reader", choices=("linear", "cross", "span", "span+cross"), default="linear",
                    help="which reader's parameters to fit")
    ap.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES, help="spans the cross reader reads per question")
    ap.add_argument("--passages", type=int, default=None, help="passages the span reader reads per question (default 3)")
    ap.add_argument("--span-model", type=Path, help="the passage reader to fit with (default: the shipped one)")
    ap.add_argument("--out", type=Path, help=f"where to write the fit (default {PARAMS_PATH.relative_to(ROOT)}, "
                    f"or the reader's own file beside it: cross.json, span.json, span_cross.json)")
    ap.add_argument("--loao", action="store_true", help="also fit leaving each article out and print those fits")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"No benchmark data in {SHARED}.", file=sys.stderr)
        return 2
    from reportqa.reader import span

    names = reader_features(args.reader, args.candidates, args.passages, args.span_model)
    args.out = args.out or {"linear": PARAMS_PATH, "cross": cross.PARAMS_PATH, "span": span.PARAMS_PATH,
                            "span+cross": span.BOTH_PARAMS_PATH}[args.reader]
    sets = assistants()
    items = collect(sets, names=names, absent=names.extra is not None)
    fitted_on = fingerprint(sets)
    if args.reader in ("cross", "span+cross"):
        cross_part = names.extra if args.reader == "cross" else names.extra.cross
        fitted_on |= {"reader_candidates": args.candidates, "reader_model": cross_part.model.fingerprint,
                      "preselect": "reader/linear.json"}
    if args.reader in ("span", "span+cross"):
        span_part = names.extra if args.reader == "span" else names.extra.span
        fitted_on |= {"span_passages": span_part.passages, "span_model": span_part.model.fingerprint}
    params = fitted_params(sets, items, fitted_on=fitted_on, names=names)
    params.save(args.out)
    print(f"fitted on all three articles: wrote {args.out}")
    if args.loao:
        for held in ARTICLES:
            print(f"# without {held}:")
            print(json.dumps(fitted_params(sets, items, exclude=held, fitted_on=fingerprint(sets, held), names=names).to_json(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
