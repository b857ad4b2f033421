"""ONNX Runtime, set up the same way for every model: quiet, on the CPU."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError


def import_onnxruntime():
    """The onnxruntime module, or a ModelError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError("onnxruntime is not installed: run `pip install onnxruntime`.") from exc
    return onnxruntime


def session(path: str | Path, ort=None, *, spin: bool = True):
    """An inference session for the graph at path (warnings and info not logged).

    ``spin=False`` stops the session's worker threads from busy-waiting for more work
    after each run. The encoder runs just before the reader on every question; its
    threads spinning on the machine's 2 cores meanwhile slowed the reader's call from
    about 73 ms to 135 ms (benchmarks/speed.py, docs/speed.md), so the encoder does
    not spin. The reader keeps spinning, which its own parallel sections gain from."""
    ort = ort or import_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
