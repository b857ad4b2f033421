"""The fitting itself, in numpy: the answer scorer (a softmax over each question's candidates),
the two abstention models (logistic), the threshold and, for a reader with more features than
the linear one's, a Platt calibration. ``fitted_params`` gives a reader's ``LinearParams``
from ``fit_data``'s items; ``training/fit.py`` writes them, the benchmarks refit with them.
"""

from __future__ import annotations

import numpy as np

from reportqa.reader import LinearFeatures, LinearParams
from reportqa.reader.linear import calibrate
from training.fit_data import FEATURES, Item, collect

LENGTH_PENALTY = 0.7  # subtracted from the fitted weight of "length" (per 100 characters)
L2 = 1e-3


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


THRESHOLD_RESAMPLES = 1000
THRESHOLD_SEED = 0


def steady_threshold(p: np.ndarray, answerable: np.ndarray, resamples: int = THRESHOLD_RESAMPLES, seed: int = THRESHOLD_SEED) -> float:
    """``best_balanced_threshold`` bagged: its mean over bootstrap resamples of the fit's items
    (answerable and not resampled apart, so each resample keeps both counts), to 0.01.

    The one-standard-error rule alone picks the lowest point of a flat curve, and the cross fit's
    curve has two near-equal shoulders (0.16 and 0.19): one question read differently moved it
    from one to the other. Over 200 resamples of the same items it gave 0.15 to 0.22 (10th to
    90th percentile) in two modes, so their median too jumps between them with the seed; their
    mean moves only when many items do (docs/quality.md, "The steady threshold", under
    "Abbreviations")."""
    p, answerable = np.asarray(p, dtype=np.float64), np.asarray(answerable, dtype=bool)
    pos, neg = np.sort(p[answerable]), np.sort(p[~answerable])  # sorted: the items' order does not matter
    labels = np.r_[np.ones(len(pos), dtype=bool), np.zeros(len(neg), dtype=bool)]
    rng = np.random.default_rng(seed)
    picks = [best_balanced_threshold(np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]), labels)
             for _ in range(resamples)]
    return round(float(np.mean(picks)), 2)


def fit_all(items: list[Item], fitted_on: dict | None = None, names: LinearFeatures = FEATURES) -> LinearParams:
    """The answer weights, the abstention models and the threshold over these names' features.

    The linear reader keeps the fit it has always had (no calibration; the threshold keeps 99.5%
    of the answerable training questions answered). A reader with more features (cross) is also
    calibrated, so its confidence is P(the quote answers), and its threshold is the one with the
    best balanced accuracy on the training articles, steadied over resamples of them
    (``steady_threshold``)."""
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
        # Calibrated on the questions people asked (SQuAD's, answerable or not, and the off-topic
        # ones), not on the "absent" ones, which are made up to teach the answered model: with the
        # report's statistics counted without the answer's passages those are easy to tell, and
        # calibrating on them too made every real question's confidence too low (docs/quality.md).
        real = np.array([k != "absent" for k in kinds])
        calibration = fit_calibration(p[real], (correct & answerable)[real])
        q = np.array([calibrate(float(x), calibration) for x in p])  # as the reader computes it at run time
        threshold = steady_threshold(q, answerable)
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
