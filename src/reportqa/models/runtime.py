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


def session(path: str | Path, ort=None):
    """An inference session for the graph at path (warnings and info not logged)."""
    ort = ort or import_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
