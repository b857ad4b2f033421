"""Shared fixtures: a deterministic fake encoder, a fake reader and a tiny report.

``FakeEncoder`` implements ``reportqa.embed.Encoder`` without the model, so
index and answering tests run in milliseconds. ``FakeReader`` implements
``reportqa.reader.Reader``, for tests of the seam between answering and the reader. Subprocess tests import it with
``sys.path.insert(0, TESTS); from conftest import FakeEncoder``.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from reportqa.embed import Tokens

# The command-line tests' fixtures (`fake`, `broken`: reportqa.cli routed to cli_helpers.FakeAssistant).
pytest_plugins = ["cli_helpers"]

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent  # the checkout's top
DATA = TESTS / "data"  # question sets and sample reports, written before measuring

PIECE = re.compile(r"\w{1,6}|[^\w\s]")  # long words count as several pieces, like wordpieces

TINY_REPORT = (
    "Depot inspection report\n"
    "\n"
    "The inspectors visited the bus depot in March 2021. They counted 40 buses.\n"
    "\n"
    "The depot manager, Ann Lee, said the new roof was finished in May. "
    "Water no longer leaks into the workshop.\n"
    "\n"
    "The report recommends a second inspection in 2023.\n"
)


class FakeEncoder:
    """Deterministic stand-in for the model: byte histograms as unit vectors.

    Texts that share letters get similar vectors, which is all the index and
    retrieval plumbing needs. One "token" is a word or a punctuation mark, plus
    two for [CLS] and [SEP].
    """

    model_id = "fake/bytes"

    def __init__(self, dim: int = 16, max_tokens: int = 64, fingerprint: str = "fake:1"):
        self.dim = dim
        self.max_tokens = max_tokens
        self.fingerprint = fingerprint
        self.encoded = 0  # texts encoded so far, for tests that count work

    def count_tokens(self, text: str) -> int:
        return len(PIECE.findall(text)) + 2

    def encode(self, texts, batch_size: int = 32, progress=None) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), batch_size):
            batch = [t.lower().encode("utf-8", "surrogatepass") for t in texts[lo : lo + batch_size]]
            data = np.frombuffer(b"".join(batch), dtype=np.uint8)
            rows = np.repeat(np.arange(len(batch)), [len(b) for b in batch])
            counts = np.bincount(rows * self.dim + data % self.dim, minlength=len(batch) * self.dim)
            block = counts.reshape(len(batch), self.dim).astype(np.float32) + np.float32(1e-3)
            out[lo : lo + len(batch)] = block / np.linalg.norm(block, axis=1, keepdims=True)
            if progress is not None:
                progress(len(batch))
        self.encoded += len(texts)
        return out

    def encode_tokens(self, texts, batch_size: int = 32, progress=None):
        """The same vectors, and each piece's own byte histogram as its "contextual" vector."""
        texts = list(texts)
        pieces = []
        for t in texts:
            found = list(PIECE.finditer(t))[: self.max_tokens - 2]
            vectors = self.encode([m.group() for m in found]) if found else np.zeros((0, self.dim), np.float32)
            self.encoded -= len(found)
            pieces.append(Tokens(
                np.array([zlib.crc32(m.group().lower().encode("utf-8", "surrogatepass")) % 30000 for m in found], dtype=np.int32),
                np.array([m.span() for m in found], dtype=np.int32).reshape(-1, 2),
                vectors,
            ))
        return self.encode(texts, batch_size, progress), pieces


class FakeReader:
    """A stand-in reader (``reportqa.reader.Reader``): prefers the candidates whose text holds
    ``prefer`` (else the first), and says P(answerable) = p. It records what it was given."""

    name = "fake"

    def __init__(self, prefer: str = "", p: float = 0.9, threshold: float = 0.5):
        self.prefer, self.p, self.threshold = prefer, p, threshold
        self.seen: list[tuple[str, list[str]]] = []  # (question, candidate texts) of each score() call

    def score(self, query, candidates):
        from reportqa.reader import Scores

        texts = [query.table.span_text(c) for c in candidates]
        self.seen.append((query.text, texts))
        values = [(1.0 if self.prefer and self.prefer in t else 0.0) - i * 1e-3 for i, t in enumerate(texts)]
        return Scores(np.asarray(values, dtype=np.float64))

    def p_answerable(self, query, candidates, scores) -> float:
        return self.p


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def built(tiny_source, tmp_path, fake_encoder):
    """A fresh index of the tiny report in tmp_path/index: (source folder, index folder)."""
    from reportqa.index import ensure_index

    index_dir = tmp_path / "index"
    _, summary = ensure_index(tiny_source, index_dir, fake_encoder)
    assert summary is not None and summary.chunks > 0
    return tiny_source, index_dir


@pytest.fixture(scope="session")
def bundled():
    """The bundled report's Assistant with the real model, loaded once for the session."""
    from reportqa.assistant import Assistant

    a = Assistant()
    a.load()
    return a


def assistant_over(text: str, folder: Path, encoder, reader):
    """An Assistant, loaded, over one report of this text (folder/report.txt), with these models."""
    from reportqa.assistant import Assistant

    source = folder / "report.txt"
    source.write_text(text, encoding="utf-8")
    a = Assistant(source, folder / "index", encoder=encoder, reader=reader, notify=lambda m: None)
    a.load()
    return a


@pytest.fixture
def tiny_source(tmp_path: Path) -> Path:
    """A folder holding one small report, report.txt."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "report.txt").write_text(TINY_REPORT, encoding="utf-8")
    return source


def pytest_collection_modifyitems(config, items):
    """`slow` tests (soak runs of minutes) are skipped, with the reason shown, unless `-m slow` selects them."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow soak check (minutes): run it with `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
