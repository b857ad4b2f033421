"""The ``"onnx"`` backend (the default): all-MiniLM-L6-v2 on ONNX Runtime.

The graph (``models.graph``, mean-pooling head) is built straight from the
package's ``model.safetensors`` (no torch, a second or two) and kept in
``<cache>/models/all-minilm-l6-v2-<weights fingerprint>-g<graph version>/`` by
``models.cache``, which checks it against the numpy reference's probe embedding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import graph, runtime
from .cache import GraphCache, cache_folder
from .encoder import BatchedEncoder
from .numpy_bert import NumpyEncoder
from .tokens import pad_batch
from .weights import read_safetensors

# Bump when the graph changes: the cache key includes it.
GRAPH_VERSION = 3  # 3: the last hidden states are a second output, "tokens"
PROBE = "Probe: the IOPC published its findings on 19 September 2024, naming 47 officers."


def model_dir(fingerprint: str) -> Path:
    return cache_folder("all-minilm-l6-v2", fingerprint, GRAPH_VERSION)


def build_graph(path: Path, data=None):
    """all-MiniLM-L6-v2 from ``path`` as one ONNX graph (``models.graph``, mean pooling head).

    Its outputs are "embedding" (the unit sentence vectors) and "tokens" (the
    last hidden states, for late interaction); a run fetches only what it asks for.
    """
    config = json.loads((path / "config.json").read_text())
    return graph.build_graph(read_safetensors(path / "model.safetensors"), config, data, head="mean")


def _run(session, batch: list[list[int]], hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    input_ids, mask = pad_batch(batch, np.int64)
    feeds = {"input_ids": input_ids, "attention_mask": mask}
    if hidden:
        pooled, states = session.run(["embedding", "tokens"], feeds)
        return pooled, states
    return session.run(["embedding"], feeds)[0], None


class OnnxEncoder(BatchedEncoder):
    """all-MiniLM-L6-v2 on ONNX Runtime; tokenising and batching are BatchedEncoder's."""

    def __init__(self, path: Path | None = None, notify: Callable[[str], None] | None = None):
        super().__init__(path)
        ort = runtime.import_onnxruntime()
        self.notify = notify or (lambda message: None)
        self.cache = model_dir(self.fingerprint)
        probe_ids = self.token_ids([PROBE])
        self.session = GraphCache(self.cache, self.fingerprint, GRAPH_VERSION, self.dim).open(
            build=lambda data: build_graph(self.path, data),
            reference=lambda: self._reference_probe(probe_ids),
            probe=lambda session: _run(session, probe_ids)[0][0],
            about={"model_id": self.model_id},
            notify=self.notify,
            ort=ort,
        )

    def _reference_probe(self, probe_ids: list[list[int]]) -> np.ndarray:
        """The probe's embedding as the numpy reference computes it from the same weights."""
        return NumpyEncoder(self.path)._forward(probe_ids)[0][0]

    def _forward(self, batch: list[list[int]], hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        return _run(self.session, batch, hidden)
