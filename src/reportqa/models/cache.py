"""A graph exported once into the user's cache, checked before every use.

A folder holds one exported model:

    model.onnx        the graph (kilobytes)
    model.onnx.data   its weights as ONNX external data, which ONNX Runtime
                      memory-maps: a session opens in ~0.2 s instead of ~0.6 s
    meta.json         fingerprint, graph version, size and SHA-256 of both files,
                      and the output of a probe input as a reference computed it

An export writes all three into a temp folder beside the cache and moves them
in (``move_into_place``), meta.json removed first and put back last, so a killed
export never leaves a cache that passes the checks. A cached model is used only
when meta.json matches the weights, both files match their recorded size and
hash, and the model reproduces the probe; otherwise it is rebuilt.

Which graph is built is the caller's: ``GraphCache.open`` takes the builder, the
reference probe and the way to run the probe on a session.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .. import checksums
from ..atomic import replace_durably
from ..errors import ModelError
from ..paths import cache_dir
from . import runtime

GRAPH, DATA, META = "model.onnx", "model.onnx.data", "meta.json"
PROBE_TOLERANCE = 1e-5


def cache_folder(name: str, fingerprint: str, version: int) -> Path:
    """``<cache>/models/<name>-<first 16 hex digits of the fingerprint>-g<graph version>``."""
    digest = fingerprint.split(":", 1)[-1][:16]
    return cache_dir() / "models" / f"{name}-{digest}-g{version}"


def move_into_place(tmp: Path, folder: Path, names: Sequence[str], meta: str) -> None:
    """Move the finished files from tmp into folder, each by an atomic rename.

    Each file is synced before its rename and the folder after it (``atomic.replace_durably``);
    ``meta`` (the file that vouches for the others) is removed before the others are replaced
    and moved in last, so a reader never
    sees a meta that describes files it does not match. Raises OSError.
    """
    folder.mkdir(exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (folder / meta).unlink()  # the files and their meta change together
    for name in names:
        replace_durably(tmp / name, folder / name)


class GraphCache:
    """One exported graph in its cache folder, made from the weights with this fingerprint."""

    def __init__(self, folder: Path, fingerprint: str, version: int, probe_size: int):
        self.folder, self.fingerprint, self.version, self.probe_size = folder, fingerprint, version, probe_size

    def problem(self) -> tuple[str | None, dict]:
        """Why the cached model cannot be trusted ("missing" when there is none, None when it can), and its meta."""
        try:
            meta = json.loads((self.folder / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return "missing", {}
        except (OSError, ValueError) as exc:
            return f"meta.json is unreadable: {exc!r}", {}
        try:
            if meta.get("fingerprint") != self.fingerprint or meta.get("graph_version") != self.version:
                return "it was made from other weights or another graph version", meta
            if len(meta["probe"]) != self.probe_size:
                return "meta.json has a bad probe vector", meta
            files = {name: meta["files"][name] for name in (GRAPH, DATA)}
        except (AttributeError, KeyError, TypeError) as exc:
            return f"meta.json is malformed: {exc!r}", {}
        for name, want in files.items():
            try:
                if (self.folder / name).stat().st_size != want.get("size"):
                    return f"{name} has the wrong size", meta
            except OSError:
                return f"{name} is missing", meta
            if checksums.sha256(self.folder / name) != want.get("sha256"):
                return f"{name} does not match its checksum", meta
        return None, meta

    def export(self, build: Callable[[BinaryIO], Any], reference: Callable[[], np.ndarray], about: dict, ort) -> dict:
        """Build the graph, record the reference's probe, move the files into the cache; its meta.

        ``build(data)`` returns the ``onnx.ModelProto``, its large weights written to
        the open file ``data``; ``about`` goes first in meta.json (e.g. the model id).
        """
        try:
            import onnx
        except ImportError as exc:
            raise ModelError("The onnx package is needed to build the ONNX model: run `pip install onnx`.") from exc
        probe = reference()
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.tmp-", dir=self.folder.parent))
        except OSError as exc:
            raise ModelError(f"Cannot write the ONNX model to {self.folder}: {exc.strerror or exc}.") from None
        try:
            with open(tmp / DATA, "wb") as data:
                model = build(data)
            onnx.save_model(model, str(tmp / GRAPH))
            del model
            meta = {
                **about,
                "fingerprint": self.fingerprint,
                "graph_version": self.version,
                "onnx": onnx.__version__,
                "onnxruntime": ort.__version__,
                "files": {name: {"size": (tmp / name).stat().st_size, "sha256": checksums.file_sha256(tmp / name)} for name in (GRAPH, DATA)},
                "probe": [float(v) for v in probe],
            }
            (tmp / META).write_text(json.dumps(meta) + "\n", encoding="utf-8")
            move_into_place(tmp, self.folder, (DATA, GRAPH, META), META)
        except OSError as exc:
            raise ModelError(f"Cannot write the ONNX model to {self.folder}: {exc.strerror or exc}.") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return meta

    def open(
        self,
        *,
        build: Callable[[BinaryIO], Any],
        reference: Callable[[], np.ndarray],
        probe: Callable[[Any], np.ndarray],
        about: dict,
        notify: Callable[[str], None],
        ort,
    ):
        """A session on the cached graph, exported first (with a notice) when it is missing or broken.

        ``probe(session)`` runs the probe input; it must give what ``reference()`` gave to 1e-5.
        """
        # meta.json is read once: another process may be replacing it meanwhile.
        reason, meta = self.problem()
        if reason is None:
            try:
                session = runtime.session(self.folder / GRAPH, ort, spin=False)
                reason = _probe_problem(probe(session), meta["probe"])
            except Exception as exc:  # noqa: BLE001 - ORT raises its own types for unreadable models
                reason = f"ONNX Runtime cannot load it ({type(exc).__name__})"
            if reason is None:
                return session
            notify(f"reportqa: the cached ONNX model in {self.folder} is broken ({reason}); rebuilding it.")
        elif reason != "missing":
            notify(f"reportqa: the cached ONNX model in {self.folder} is unusable ({reason}); rebuilding it.")
        else:
            notify(f"reportqa: preparing the ONNX model once, in {self.folder} …")
        meta = self.export(build, reference, about, ort)
        session = runtime.session(self.folder / GRAPH, ort, spin=False)
        problem = _probe_problem(probe(session), meta["probe"])
        if problem:
            raise ModelError(f"The ONNX model just built in {self.folder} is wrong ({problem}); remove that folder.")
        return session


def _probe_problem(got: np.ndarray, expected: list[float]) -> str | None:
    diff = float(np.abs(got - np.asarray(expected, dtype=np.float32)).max())
    return None if diff <= PROBE_TOLERANCE else f"its probe embedding is off by {diff:.1e}"
