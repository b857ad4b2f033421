"""A deterministic fake of ``reportqa.assistant.Assistant`` for the CLI and REPL tests, and what the
command-line tests share: the JSON schema of an answer, a fake terminal and the fixtures that route
``reportqa.cli`` to the fake.

The fake answers from a tiny report by word overlap, with real offsets, so the
rendering code sees the same shapes as with the real core.
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from reportqa import cli, render
from reportqa.errors import IndexError_, QuestionError
from reportqa.results import Answer, Citation, Quote, Signals
from reportqa.ui.repl import Repl
from reportqa.ui.session import Backend

REPORT = (
    "Inspection report\n"
    "\n"
    "The inspectors visited the depot in March 2021. They counted 40 buses.\n"
    "\n"
    "The depot manager, Ann Lee, said the new roof was finished in May. "
    "Water no longer leaks into the workshop.\n"
    "\n"
    "The report recommends a second inspection in 2023.\n"
)
STOPWORDS = {"the", "a", "in", "of", "did", "was", "is", "what", "when", "who", "how", "many", "to"}


@dataclass
class Summary:
    files: int
    chunks: int
    seconds: float
    rebuilt: bool


def _paragraphs(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS}


class FakeAssistant:
    """Same surface as the core ``Assistant``; records what it was asked."""

    def __init__(self, source=None, index_dir=None, *, encoder=None, notify=None, text=REPORT):
        self.source = Path(source or "report.txt")
        self.index_dir = Path(index_dir or "index")
        self.notify = notify
        self.text = text
        self.loaded = 0
        self.questions: list[tuple[str, int]] = []
        self.spans = _paragraphs(text)

    @property
    def location(self) -> str:
        return str(self.index_dir)

    def load(self) -> None:
        self.loaded += 1

    def citation(self, number: int, score: float) -> Citation:
        start, end = self.spans[number]
        line = self.text.count("\n", 0, start) + 1
        return Citation("report.txt", start, end, line, number + 1, self.text[start:end], score)

    def answer(self, question: str, k: int = 3) -> Answer:
        if not question.strip():
            raise QuestionError("The question is empty: type a question about the report.")
        self.questions.append((question, k))
        words = _words(question)
        overlap = [len(words & _words(self.text[s:e])) for s, e in self.spans]
        order = sorted(range(len(self.spans)), key=lambda i: (-overlap[i], i))[:k]
        citations = tuple(self.citation(i, round(1 / (n + 1), 4)) for n, i in enumerate(order))
        signals = tuple(
            Signals(
                n + 1, float(overlap[i]), len(order) - n, 0.5 - n / 10, 0.6 - n / 10, 0.7 - n / 10, 1 / (n + 61)
            )
            for n, i in enumerate(order)
        )
        notice = "question truncated to 256 wordpieces" if len(question) > 1000 else ""
        if not overlap[order[0]]:
            return Answer(question, False, "", 0.1, citations, None, signals, notice)
        best = citations[0]
        sentences = [(m.start(), m.end()) for m in re.finditer(r"[^.]+\.?", best.text)]
        s, e = max(sentences, key=lambda se: len(words & _words(best.text[se[0] : se[1]])))
        while best.text[s] == " ":
            s += 1
        quote = Quote(best.source, best.start + s, best.start + e, best.line, best.paragraph)
        return Answer(question, True, best.text[s:e], 0.82, citations, quote, signals, notice)

    def surroundings(self, citation: Citation, paragraphs: int = 1) -> list[Citation]:
        i = citation.paragraph - 1
        lo, hi = max(0, i - paragraphs), min(len(self.spans), i + paragraphs + 1)
        return [self.citation(j, 0.0) for j in range(lo, hi)]

    def sources_info(self) -> dict:
        return {
            "source": str(self.source),
            "index": str(self.index_dir),
            "files": [{"name": "report.txt", "chars": len(self.text), "chunks": len(self.spans)}],
            "chunks": len(self.spans),
            "model": "fake-model",
            "backend": "fake",
        }

    def build(self, force: bool = False, progress=None) -> Summary:
        if progress is not None:
            for done in range(len(self.spans) + 1):
                progress(done, len(self.spans))
        return Summary(1, len(self.spans), 0.25, force)


class BrokenAssistant(FakeAssistant):
    """An assistant whose index cannot be loaded."""

    def load(self) -> None:
        raise IndexError_("No index in /nowhere: run `reportqa index`.")

    def answer(self, question: str, k: int = 3) -> Answer:
        self.load()
        raise AssertionError("unreachable")

    def build(self, force: bool = False, progress=None):
        raise IndexError_("Cannot write the index folder /nowhere: choose another with --index.")


# -- what the command-line tests share ----------------------------------------------------

CITATION_SCHEMA = {
    "type": "object",
    "required": ["source", "start", "end", "line", "paragraph", "text", "score"],
    "properties": {
        "source": {"type": "string", "minLength": 1},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
        "line": {"type": "integer", "minimum": 1},
        "paragraph": {"type": "integer", "minimum": 1},
        "text": {"type": "string", "minLength": 1},
        "score": {"type": "number"},
    },
    "additionalProperties": False,
}
ANSWER_SCHEMA = {
    "type": "object",
    "required": ["question", "answered", "text", "confidence", "citations"],
    "properties": {
        "question": {"type": "string"},
        "answered": {"type": "boolean"},
        "text": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "citations": {"type": "array", "items": CITATION_SCHEMA},
        "quote": {
            "type": ["object", "null"],
            "required": ["source", "start", "end", "line", "paragraph"],
        },
        "notice": {"type": "string"},
        # a passage reader's answer span inside the quote, with the quote's fields
        "span": {"type": "object", "required": ["source", "start", "end", "line", "paragraph"]},
    },
    "additionalProperties": False,
    # Answered: a non-empty quote with its offsets; not answered: no text, no quote.
    "if": {"properties": {"answered": {"const": True}}},
    "then": {"properties": {"text": {"minLength": 1}, "quote": {"type": "object"}}},
    "else": {"properties": {"text": {"maxLength": 0}, "quote": {"type": "null"}}},
}


def valid_answer(obj: dict) -> dict:
    jsonschema.validate(obj, ANSWER_SCHEMA)
    for c in obj["citations"]:
        assert c["end"] - c["start"] == len(c["text"])
    return obj


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def fake(monkeypatch):
    """Route the CLI to one FakeAssistant and return it."""
    made = {}

    def make(args, notify):
        made["it"] = FakeAssistant(args.source, args.index_dir, notify=notify)
        return made["it"]

    monkeypatch.setattr(cli, "make_assistant", make)
    return made


@pytest.fixture
def broken(monkeypatch):
    monkeypatch.setattr(
        cli, "make_assistant", lambda args, notify: BrokenAssistant(args.source, args.index_dir)
    )


def stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


# -- what the REPL tests share ------------------------------------------------------------

CTRL_C, CTRL_D = "\x03", "\x04"


def backend_for(fake: FakeAssistant, **changes) -> Backend:
    return Backend(
        ask=changes.pop("ask", fake.answer),
        sources=fake.sources_info,
        surroundings=fake.surroundings,
        **changes,
    )


def run_repl(keys: str, backend: Backend | None = None, *, width: int = 60, **options):
    """Type ``keys`` into a fresh REPL, then Ctrl-D; return (status, transcript, fake)."""
    fake = FakeAssistant()
    out = io.StringIO()
    repl = Repl(backend or backend_for(fake), out=out, style=render.Style(width=width), **options)
    with create_pipe_input() as pipe:
        pipe.send_text(keys + CTRL_D)
        status = repl.run(repl.session(input=pipe, output=DummyOutput()))
    return status, out.getvalue(), fake
