"""The passage reader's model at run time: a span head on ONNX Runtime, no torch.

It reads a question and a whole passage as one sequence ("[CLS] question [SEP] passage
[SEP]", token types 0 and 1) and gives every token a start and an end logit
(``graph.build_graph(head="span")``, made by ``training/export_span_reader.py``). The
passages of one question go to ONNX Runtime in one call; ``reader.spans.best_span``
decodes each into its best span, with character offsets in the passage, and the
"no answer" score at [CLS].
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..reader.spans import SpanScore, best_span
from . import runtime
from .tokens import load_tokenizer, pad_batch
from .weights import fingerprint

SPAN_READER_PATH = Path(__file__).resolve().parent / "span_reader.onnx"
FORMAT = 1  # the inputs and outputs the graph has; bumped when they change


class SpanReaderModel:
    """Start and end logits of (question, passage) pairs, decoded into each passage's best span."""

    def __init__(self, path: str | Path = SPAN_READER_PATH, tokenizer_path: str | Path | None = None):
        self.path = Path(path)
        if not self.path.is_file() and self.path == SPAN_READER_PATH:
            raise ModelError("No passage reader ships with this reportqa yet (models/span_reader.onnx): make one with "
                             "training/train_span_reader.py and training/export_span_reader.py (docs/reader.md).")
        if not self.path.is_file():
            raise ModelError(f"The passage reader's weights are missing ({self.path}).")
        if tokenizer_path is None:
            from .encoder import model_path

            tokenizer_path = model_path() / "tokenizer.json"
        self.session, self.meta = runtime.reader_session(self.path, "passage reader", "reportqa_span_reader", FORMAT, spin=False)
        self.max_length = int(self.meta.get("max_length", 320))
        self.tokenizer = load_tokenizer(Path(tokenizer_path))
        self.tokenizer.enable_truncation(self.max_length, strategy="only_second")
        self.fingerprint = fingerprint(self.path)

    @property
    def training(self) -> dict:
        return json.loads(self.meta.get("training", "{}"))

    def logits(self, question: str, texts: Sequence[str]):
        """(start, end, encodings): float32 [len(texts), seq] each, from one ONNX Runtime call."""
        encodings = self.tokenizer.encode_batch([(question, t) for t in texts])
        ids, mask, types = pad_batch([e.ids for e in encodings], np.int64, [e.type_ids for e in encodings])
        start, end = self.session.run(["start_logits", "end_logits"],
                                      {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return np.asarray(start, dtype=np.float32), np.asarray(end, dtype=np.float32), encodings

    def read(self, question: str, texts: Sequence[str]) -> list[SpanScore | None]:
        """Each passage's best span (offsets into that passage) and its "no answer" score."""
        if not texts:
            return []
        start, end, encodings = self.logits(question, texts)
        out = []
        for k, enc in enumerate(encodings):
            passage = np.zeros(start.shape[1], dtype=bool)
            passage[: len(enc.ids)] = [s == 1 for s in enc.sequence_ids]
            offsets = list(enc.offsets) + [(0, 0)] * (start.shape[1] - len(enc.ids))
            out.append(best_span(start[k], end[k], offsets, passage))
        return out
