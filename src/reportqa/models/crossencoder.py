"""The reader's model at run time: a cross-encoder on ONNX Runtime, no torch.

It reads a question and a candidate span as one sequence ("[CLS] question [SEP]
span [SEP]", token types 0 and 1) and gives one logit: how likely the span answers
the question. The weights ship in the package as an ONNX graph (``reader.onnx``,
float16 weights computed in float32, made by ``training/export_reader.py``), whose metadata carries
the training settings; the tokenizer is all-MiniLM-L6-v2's, which it was
fine-tuned from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError
from . import runtime
from .tokens import length_groups, load_tokenizer, pad_batch
from .weights import fingerprint

READER_PATH = Path(__file__).resolve().parent / "reader.onnx"
FORMAT = 1  # the inputs and outputs the graph has; bumped when they change
# What one more ONNX Runtime call costs, in padded tokens. The reader's 8 spans are padded to
# the longest, about 30% of the tokens on the bundled set; calls of similar lengths cut that.
# Timed over the bundled set's 105 reader calls (docs/speed.md): one call 66 ms (median), groups
# with an overhead of 40 tokens 55 ms, 80 tokens 56 ms, 160 tokens 61 ms. The logits are the same.
CALL_OVERHEAD_TOKENS = 40


class CrossEncoderModel:
    """Logits of (question, text) pairs from a classifier-head ONNX graph."""

    def __init__(self, path: str | Path = READER_PATH, tokenizer_path: str | Path | None = None, *, spin: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"The reader's weights are missing ({self.path}): reinstall reportqa.")
        if tokenizer_path is None:
            from .encoder import model_path

            tokenizer_path = model_path() / "tokenizer.json"
        self.session, self.meta = runtime.reader_session(self.path, "reader", "reportqa_reader", FORMAT, spin=spin)
        self.max_length = int(self.meta.get("max_length", 128))
        self.tokenizer = load_tokenizer(Path(tokenizer_path), self.max_length)
        self.fingerprint = fingerprint(self.path)

    @property
    def training(self) -> dict:
        return json.loads(self.meta.get("training", "{}"))

    def logits(self, questions: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """One float32 logit per pair: the pairs grouped by length (``length_groups``), one
        ONNX Runtime call per group, so little time goes on padding."""
        if len(questions) != len(texts):
            raise ValueError("questions and texts must have the same length")
        out = np.zeros(len(texts), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(zip(questions, texts)))
        for group in length_groups([len(e.ids) for e in encodings], CALL_OVERHEAD_TOKENS):
            rows = [encodings[i] for i in group]
            ids, mask, types = pad_batch([e.ids for e in rows], np.int64, [e.type_ids for e in rows])
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            out[group] = np.asarray(self.session.run(["logits"], feeds)[0], dtype=np.float32).reshape(len(rows))
        return out
