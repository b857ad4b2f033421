"""Text in and vectors out, shared by every model: the tokenizer, padded batches, unit rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def load_tokenizer(path: Path, max_length: int | None = None):
    """A ``tokenizers`` tokenizer from tokenizer.json: no padding, cut to max_length if given."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    if max_length is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length)
    return tokenizer


def vocabulary_words(path: Path) -> frozenset[str]:
    """The whole words of a wordpiece tokenizer's vocabulary (tokenizer.json): lower-case
    alphabetic entries, no "##" continuations and no "[SPECIAL]" tokens. About 21,000 words
    for all-MiniLM-L6-v2's, the English a model of that size was given a piece of its own."""
    vocab = json.loads(Path(path).read_text(encoding="utf-8"))["model"]["vocab"]
    return frozenset(w for w in vocab if w.isalpha() and w.islower())


def pad_batch(batch: list[list[int]], mask_dtype, type_ids: list[list[int]] | None = None):
    """Token ids right-padded with 0 to the longest row, and the attention mask.

    With ``type_ids`` (a pair's segments, one row per text), their padded array comes third.
    """
    n, seq = len(batch), max(len(x) for x in batch)
    input_ids = np.zeros((n, seq), dtype=np.int64)
    mask = np.zeros((n, seq), dtype=mask_dtype)
    for i, row in enumerate(batch):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    if type_ids is None:
        return input_ids, mask
    types = np.zeros((n, seq), dtype=np.int64)
    for i, row in enumerate(type_ids):
        types[i, : len(row)] = row
    return input_ids, mask, types


def length_groups(lengths: list[int], overhead: int) -> list[list[int]]:
    """The rows, sorted by length, cut into consecutive groups that cost least to run padded.

    One call pads every row to the longest, and its cost grows with rows x longest, so
    rows of mixed lengths waste work on padding; each extra call costs about ``overhead``
    tokens' worth. The cut minimising the sum of both is found exactly (dynamic
    programming over the sorted lengths; n is small). Returns lists of row indices.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    sorted_lengths = [lengths[i] for i in order]
    n = len(order)
    best, cut = [0.0] + [float("inf")] * n, [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(end):
            cost = best[start] + (end - start) * sorted_lengths[end - 1] + overhead
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups, end = [], n
    while end > 0:
        groups.append(order[cut[end]:end])
        end = cut[end]
    return groups[::-1]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row (last axis) scaled to unit length, as float32; all-zero rows stay zero."""
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)
