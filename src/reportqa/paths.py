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


def bundled_root() -> Path:
    """The folder that holds the bundled report (source_text/) and its index (index/).

    In an installed wheel they are package data, reportqa/_bundled/; in a source
    checkout or an editable install they are the repository's top-level folders.
    """
    package = Path(__file__).resolve().parent
    installed = package / "_bundled"
    if (installed / "source_text").is_dir():
        return installed
    return package.parents[1]
