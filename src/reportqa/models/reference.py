"""The ``"sentence-transformers"`` backend: the reference implementation, on torch.

Used when ``REPORTQA_BACKEND=sentence-transformers`` and by the tests that prove
the other backends agree with it. Nothing else imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoder import MiniLM, Tokens
from .tokens import unit_rows


class SentenceTransformerEncoder(MiniLM):
    """The reference: sentence-transformers on torch, on the CPU."""

    def __init__(self, path: Path | None = None):
        super().__init__(path)
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(self.path), device="cpu")
        self.tokenizer = self.model.tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        texts = list(texts)
        out = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        ).astype(np.float32)
        if progress is not None:
            progress(len(texts))
        return out.reshape(len(texts), self.dim)

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> tuple[np.ndarray, list[Tokens]]:
        texts = list(texts)
        rows = self.model.encode(texts, batch_size=batch_size, output_value=None, convert_to_numpy=True)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        pieces = []
        for i, (text, row) in enumerate(zip(texts, rows)):
            pooled[i] = unit_rows(np.asarray(row["sentence_embedding"].float().cpu()))
            enc = self.tokenizer(text, truncation=True, max_length=self.max_tokens, return_offsets_mapping=True)
            n = len(enc["input_ids"])
            hidden = np.asarray(row["token_embeddings"][:n].float().cpu())
            pieces.append(Tokens(
                np.asarray(enc["input_ids"][1 : n - 1], dtype=np.int32),
                np.asarray(enc["offset_mapping"][1 : n - 1], dtype=np.int32).reshape(-1, 2),
                unit_rows(hidden[1 : n - 1]),
            ))
        if progress is not None:
            progress(len(texts))
        return pooled, pieces
