"""The "linear" reader: a linear answer scorer and two logistic abstention models, fitted on SQuAD.

* The answer is the candidate with the highest ``weights · features`` over
  ``features.ANSWER_FEATURES``.
* P(answerable) = P(on topic) x P(answered | on topic): two logistic models over
  ``features.ABSTENTION_FEATURES`` standardised by a fitted mean and scale; the topic
  model reads ``TOPIC_FEATURES``, the answered model ``ANSWERED_FEATURES``. They are
  separate because the signals pull opposite ways: a high word overlap says "on
  topic", while SQuAD's on-topic unanswerable questions overlap *more* with the
  nearest passage than answerable ones do.

The fitted numbers are data, ``linear.json`` beside this file, written by
``training/fit.py`` and keyed by feature name; loading refuses a file whose
names are not exactly the features the code computes.

A second reader can reuse this scorer with more features: ``LinearReader(params,
extra=...)`` takes an ``ExtraFeatures`` provider whose per-candidate columns are
appended to the answer features and whose per-question values are appended to
the abstention features (both models read them); the fitted file then names them too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ReaderError
from .base import Scores
from .candidates import Candidate
from .context import Query
from .features import ABSTENTION_FEATURES, ANSWER_FEATURES, ANSWERED_FEATURES, TOPIC_FEATURES, abstention_features, answer_features

PARAMS_PATH = Path(__file__).with_name("linear.json")
FORMAT = "reportqa.reader.linear"
VERSION = 1


class ExtraFeatures(Protocol):
    """More features for the linear scorer, e.g. a cross-encoder's score of each candidate."""

    answer_names: tuple[str, ...]  # per-candidate columns, appended to ANSWER_FEATURES
    abstention_names: tuple[str, ...]  # per-question values, appended to ABSTENTION_FEATURES

    def answer(self, query: Query, candidates: Sequence[Candidate], base: np.ndarray) -> np.ndarray:
        """[len(candidates), len(answer_names)]; base holds the candidates' ANSWER_FEATURES rows."""
        ...

    def abstention(
        self, query: Query, candidates: Sequence[Candidate], features: np.ndarray, scores: np.ndarray, choice: int | None
    ) -> list[float]:
        """len(abstention_names) values; features holds every answer column (these too), scores the linear scores."""
        ...


class LinearFeatures:
    """The feature names of each part of the linear reader, and the features themselves."""

    def __init__(self, extra: ExtraFeatures | None = None):
        self.extra = extra
        more_answer = tuple(extra.answer_names) if extra is not None else ()
        more_abstention = tuple(extra.abstention_names) if extra is not None else ()
        self.answer = ANSWER_FEATURES + more_answer
        self.abstention = ABSTENTION_FEATURES + more_abstention
        self.topic = TOPIC_FEATURES + more_abstention
        self.answered = ANSWERED_FEATURES + more_abstention

    def answer_matrix(self, query: Query, spans: Sequence[Candidate]) -> np.ndarray:
        x = answer_features(query, spans)
        if self.extra is None or not self.extra.answer_names:
            return x
        more = np.asarray(self.extra.answer(query, spans, x), dtype=np.float64).reshape(len(spans), len(self.extra.answer_names))
        return np.hstack([x, more])

    def abstention_row(
        self, query: Query, spans: Sequence[Candidate], features: np.ndarray, scores: np.ndarray, choice: int | None
    ) -> list[float]:
        row = abstention_features(query, spans, features, scores, choice)
        if self.extra is not None and self.extra.abstention_names:
            row += [float(v) for v in self.extra.abstention(query, spans, features, scores, choice)]
        return row


@dataclass(frozen=True)
class LinearParams:
    """The fitted numbers of the linear reader, each keyed by feature name."""

    answer: Mapping[str, float]  # answer scorer weights
    mean: Mapping[str, float]  # abstention features are standardised: (x - mean) / scale
    scale: Mapping[str, float]
    topic: Mapping[str, float]  # P(on topic): weights over the topic features, and a bias
    topic_bias: float
    answered: Mapping[str, float]  # P(answered | on topic): weights over the answered features, and a bias
    answered_bias: float
    threshold: float  # answer when P(answerable) >= threshold
    fitted_on: Mapping = field(default_factory=dict)  # what the numbers were fitted on
    # Platt scaling of the two models' product, fitted so that the result is P(the quote answers):
    # p = sigmoid(slope * logit(p_models) + intercept). The identity when absent.
    calibration: Mapping[str, float] = field(default_factory=lambda: {"slope": 1.0, "intercept": 0.0})

    def answer_vector(self, names: Sequence[str]) -> np.ndarray:
        """The answer scorer's weights in the order of names (ReaderError if one is missing).

        The cross reader's preselection and the fits need only these, so they still work
        while the abstention part of the file is being refitted for new features."""
        missing = [n for n in names if n not in self.answer]
        if missing:
            raise ReaderError(f"The reader parameters have no answer weights for {', '.join(missing)}: "
                              "refit them with `python -m training.fit`.")
        return np.asarray([self.answer[n] for n in names], dtype=np.float64)

    def with_answer_weights(self, **weights: float) -> "LinearParams":
        """A copy with some answer weights changed (by feature name)."""
        unknown = sorted(set(weights) - set(self.answer))
        if unknown:
            raise ReaderError(f"No answer features named {', '.join(unknown)}.")
        return replace(self, answer={**self.answer, **weights})

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "fitted_on": dict(self.fitted_on),
            "answer": {"weights": dict(self.answer)},
            "standardise": {"mean": dict(self.mean), "scale": dict(self.scale)},
            "topic": {"weights": dict(self.topic), "bias": self.topic_bias},
            "answered": {"weights": dict(self.answered), "bias": self.answered_bias},
            "threshold": self.threshold,
            "calibration": dict(self.calibration),
        }

    @classmethod
    def from_json(cls, data, source: str = "the reader parameters") -> "LinearParams":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ReaderError(f"{source} is not a linear reader's parameter file (no \"format\": \"{FORMAT}\").")
        if data.get("version") != VERSION:
            raise ReaderError(f"{source} has version {data.get('version')!r}; this reportqa reads version {VERSION}. Refit with training/fit.py.")
        try:
            params = cls(
                answer=_numbers(data["answer"]["weights"]),
                mean=_numbers(data["standardise"]["mean"]),
                scale=_numbers(data["standardise"]["scale"]),
                topic=_numbers(data["topic"]["weights"]),
                topic_bias=float(data["topic"]["bias"]),
                answered=_numbers(data["answered"]["weights"]),
                answered_bias=float(data["answered"]["bias"]),
                threshold=float(data["threshold"]),
                fitted_on=data.get("fitted_on", {}),
                calibration={k: float(data.get("calibration", {}).get(k, d)) for k, d in (("slope", 1.0), ("intercept", 0.0))},
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ReaderError(f"{source} is malformed ({type(e).__name__}: {e}).") from None
        if any(v <= 0 for v in params.scale.values()):
            raise ReaderError(f"{source} has a standardising scale that is not positive.")
        return params

    @classmethod
    def load(cls, path: str | Path = PARAMS_PATH) -> "LinearParams":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise ReaderError(f"Cannot read the reader parameters {path}: {e.strerror or e}.") from None
        except ValueError as e:
            raise ReaderError(f"The reader parameters {path} are not valid JSON ({e}).") from None
        return cls.from_json(data, str(path))

    def save(self, path: str | Path = PARAMS_PATH) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def check(self, names: LinearFeatures, source: str = "The reader parameters") -> None:
        """Refuse parameters whose feature names are not exactly the code's (ReaderError naming the difference)."""
        problems = []
        for part, have, want in (
            ("answer weights", self.answer, names.answer),
            ("standardising means", self.mean, names.abstention),
            ("standardising scales", self.scale, names.abstention),
            ("topic weights", self.topic, names.topic),
            ("answered weights", self.answered, names.answered),
        ):
            missing = [n for n in want if n not in have]
            extra = [n for n in have if n not in want]
            if missing or extra:
                said = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(extra)}"] if extra else [])
                problems.append(f"{part}: {'; '.join(said)}")
        if problems:
            raise ReaderError(
                f"{source} do not match the features this reportqa computes ({' | '.join(problems)}). "
                "Refit them with `python -m training.fit`."
            )


def _numbers(d) -> dict[str, float]:
    if not isinstance(d, dict):
        raise TypeError(f"expected an object of feature weights, got {type(d).__name__}")
    return {str(k): float(v) for k, v in d.items()}


@lru_cache(maxsize=1)
def shipped_params() -> LinearParams:
    """The parameters that ship with the package (linear.json), loaded once."""
    return LinearParams.load(PARAMS_PATH)


def _logistic(weights: Sequence[float], bias: float, z: Sequence[float]) -> float:
    x = bias + sum(w * v for w, v in zip(weights, z))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def calibrate(p: float, calibration: Mapping[str, float]) -> float:
    """sigmoid(slope * logit(p) + intercept): Platt scaling of a probability."""
    slope, intercept = calibration.get("slope", 1.0), calibration.get("intercept", 0.0)
    if slope == 1.0 and intercept == 0.0:
        return p
    p = min(max(p, 1e-12), 1 - 1e-12)
    return _logistic((slope,), intercept, (math.log(p / (1 - p)),))


class LinearReader:
    """Reader "linear": fitted linear answer scorer, P(on topic) x P(answered | on topic)."""

    name = "linear"

    def __init__(self, params: LinearParams | None = None, extra: ExtraFeatures | None = None):
        self.features = LinearFeatures(extra)
        self.params = params if params is not None else shipped_params()
        self.params.check(self.features)
        p, names = self.params, self.features.abstention
        # in feature order, as the feature rows are; a model gives weight 0 to the features it does not read
        self.weights = p.answer_vector(self.features.answer)
        self.mean = tuple(p.mean[n] for n in names)
        self.scale = tuple(p.scale[n] for n in names)
        self.topic = tuple(p.topic.get(n, 0.0) for n in names)
        self.answered = tuple(p.answered.get(n, 0.0) for n in names)

    @property
    def threshold(self) -> float:
        return self.params.threshold

    def score(self, query: Query, candidates: Sequence[Candidate]) -> Scores:
        x = self.features.answer_matrix(query, candidates)
        return Scores(self.scores_of(x), x, self.features.answer)

    def scores_of(self, features: np.ndarray) -> np.ndarray:
        """The linear score of each row of answer features."""
        return features @ self.weights if len(features) else np.zeros(0)

    def abstention_features(self, query: Query, candidates: Sequence[Candidate], scores: Scores) -> list[float]:
        """The per-question features of the abstention models, in self.features.abstention order."""
        return self.features.abstention_row(query, candidates, scores.features, scores.values, scores.choice)

    def p_answerable(self, query: Query, candidates: Sequence[Candidate], scores: Scores) -> float:
        return self.probability(self.abstention_features(query, candidates, scores))

    def probability(self, features: Sequence[float]) -> float:
        """P(answerable) from a row of abstention features; an undefined one (NaN) counts as its mean."""
        z = [0.0 if math.isnan(f) else (f - m) / d for f, m, d in zip(features, self.mean, self.scale)]
        p = _logistic(self.topic, self.params.topic_bias, z)
        return calibrate(p * _logistic(self.answered, self.params.answered_bias, z), self.params.calibration)
