"""all-MiniLM-L6-v2 on ONNX Runtime, from a graph written once into the user's cache.

The graph is built straight from the package's ``model.safetensors`` with the
``onnx`` helpers (no torch, a second or two), so the first run pays little for
it. It lives in ``<cache>/models/all-minilm-l6-v2-<weights fingerprint>-g<graph version>/``:

    model.onnx        the graph (kilobytes)
    model.onnx.data   its weights as ONNX external data, which ONNX Runtime
                      memory-maps: a session opens in ~0.2 s instead of ~0.6 s
    meta.json         fingerprint, graph version, size and SHA-256 of both files,
                      and the embedding of a probe sentence as the numpy reference
                      computed it

An export writes all three into a temp folder beside the cache and moves them
in with renames, meta.json removed first and put back last, so a killed export
never leaves a cache that passes the checks. A cached model is used only when
meta.json matches the weights, both files match their recorded size and hash,
and the model reproduces the probe embedding; otherwise it is rebuilt.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import checksums
from .embed import NumpyEncoder, pad_batch, read_safetensors
from .errors import ModelError
from .models import graph
from .paths import cache_dir

# Bump when the graph changes: the cache key includes it.
GRAPH_VERSION = 3  # 3: the last hidden states are a second output, "tokens"
PROBE = "Probe: the IOPC published its findings on 19 September 2024, naming 47 officers."
PROBE_TOLERANCE = 1e-5
GRAPH, DATA, META = "model.onnx", "model.onnx.data", "meta.json"


def model_dir(fingerprint: str) -> Path:
    digest = fingerprint.split(":", 1)[-1][:16]
    return cache_dir() / "models" / f"all-minilm-l6-v2-{digest}-g{GRAPH_VERSION}"


def build_graph(path: Path, data=None):
    """all-MiniLM-L6-v2 from ``path`` as one ONNX graph (``models.graph``, mean pooling head).

    Its outputs are "embedding" (the unit sentence vectors) and "tokens" (the
    last hidden states, for late interaction); a run fetches only what it asks for.
    """
    config = json.loads((path / "config.json").read_text())
    return graph.build_graph(read_safetensors(path / "model.safetensors"), config, data, head="mean")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OnnxEncoder(NumpyEncoder):
    """all-MiniLM-L6-v2 on ONNX Runtime; tokenising and batching are NumpyEncoder's."""

    def __init__(self, path: Path | None = None, notify: Callable[[str], None] | None = None):
        super().__init__(path)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError("onnxruntime is not installed: run `pip install onnxruntime`.") from exc
        self._ort = ort
        self.notify = notify or (lambda message: None)
        self.cache = model_dir(self.fingerprint)
        # meta.json is read once: another process may be replacing it meanwhile.
        reason, meta = self._cache_problem()
        if reason is None:
            try:
                self.session = self._session()
                reason = self._probe_problem(meta["probe"])
            except Exception as exc:  # noqa: BLE001 - ORT raises its own types for unreadable models
                reason = f"ONNX Runtime cannot load it ({type(exc).__name__})"
            if reason is None:
                return
            self.notify(f"reportqa: the cached ONNX model in {self.cache} is broken ({reason}); rebuilding it.")
        elif reason != "missing":
            self.notify(f"reportqa: the cached ONNX model in {self.cache} is unusable ({reason}); rebuilding it.")
        else:
            self.notify(f"reportqa: preparing the ONNX model once, in {self.cache} …")
        meta = self.export()
        self.session = self._session()
        problem = self._probe_problem(meta["probe"])
        if problem:
            raise ModelError(f"The ONNX model just built in {self.cache} is wrong ({problem}); remove that folder.")

    # --- the cache -------------------------------------------------------------

    def _cache_problem(self) -> tuple[str | None, dict]:
        """Why the cached model cannot be trusted ("missing" when there is none, None when it can), and its meta."""
        try:
            meta = json.loads((self.cache / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return "missing", {}
        except (OSError, ValueError) as exc:
            return f"meta.json is unreadable: {exc!r}", {}
        try:
            if meta.get("fingerprint") != self.fingerprint or meta.get("graph_version") != GRAPH_VERSION:
                return "it was made from other weights or another graph version", meta
            if len(meta["probe"]) != self.dim:
                return "meta.json has a bad probe vector", meta
            files = {name: meta["files"][name] for name in (GRAPH, DATA)}
        except (AttributeError, KeyError, TypeError) as exc:
            return f"meta.json is malformed: {exc!r}", {}
        for name, want in files.items():
            try:
                if (self.cache / name).stat().st_size != want.get("size"):
                    return f"{name} has the wrong size", meta
            except OSError:
                return f"{name} is missing", meta
            if checksums.sha256(self.cache / name) != want.get("sha256"):
                return f"{name} does not match its checksum", meta
        return None, meta

    def export(self) -> dict:
        """Build the graph, record the numpy reference's probe, move the files into the cache; its meta."""
        try:
            import onnx
        except ImportError as exc:
            raise ModelError("The onnx package is needed to build the ONNX model: run `pip install onnx`.") from exc
        probe = NumpyEncoder._forward(self, self.token_ids([PROBE]))[0][0]
        self._layers = None  # the numpy forward's weight copies are not needed again
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.cache.name}.tmp-", dir=self.cache.parent))
        except OSError as exc:
            raise ModelError(f"Cannot write the ONNX model to {self.cache}: {exc.strerror or exc}.") from None
        try:
            with open(tmp / DATA, "wb") as data:
                model = build_graph(self.path, data)
            onnx.save_model(model, str(tmp / GRAPH))
            del model
            meta = {
                "model_id": self.model_id,
                "fingerprint": self.fingerprint,
                "graph_version": GRAPH_VERSION,
                "onnx": onnx.__version__,
                "onnxruntime": self._ort.__version__,
                "files": {name: {"size": (tmp / name).stat().st_size, "sha256": checksums.file_sha256(tmp / name)} for name in (GRAPH, DATA)},
                "probe": [float(v) for v in probe],
            }
            (tmp / META).write_text(json.dumps(meta) + "\n", encoding="utf-8")
            for name in (DATA, GRAPH, META):
                _fsync(tmp / name)
            self.cache.mkdir(exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                (self.cache / META).unlink()  # the files and their meta change together
            for name in (DATA, GRAPH, META):
                os.replace(tmp / name, self.cache / name)
        except OSError as exc:
            raise ModelError(f"Cannot write the ONNX model to {self.cache}: {exc.strerror or exc}.") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return meta

    def _session(self):
        ort = self._ort
        options = ort.SessionOptions()
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.cache / GRAPH), options, providers=["CPUExecutionProvider"])

    def _probe_problem(self, expected: list[float]) -> str | None:
        got = self._forward(self.token_ids([PROBE]))[0][0]
        diff = float(np.abs(got - np.asarray(expected, dtype=np.float32)).max())
        return None if diff <= PROBE_TOLERANCE else f"its probe embedding is off by {diff:.1e}"

    # --- encoding --------------------------------------------------------------

    def _forward(self, batch: list[list[int]], hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        input_ids, mask = pad_batch(batch, np.int64)
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if hidden:
            pooled, states = self.session.run(["embedding", "tokens"], feeds)
            return pooled, states
        return self.session.run(["embedding"], feeds)[0], None
