"""Where reportqa keeps what it makes outside the project: indexes of other reports, the ONNX model."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$REPORTQA_CACHE_DIR, else $XDG_CACHE_HOME/reportqa, else ~/.cache/reportqa."""
    if os.environ.get("REPORTQA_CACHE_DIR"):
        return Path(os.environ["REPORTQA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reportqa"
