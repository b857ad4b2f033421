"""Model weights on disk: reading safetensors without torch, and fingerprinting files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import checksums
from ..errors import ModelError


def fingerprint(path: Path) -> str:
    """"sha256:" and the file's SHA-256 (remembered while the file is unchanged: see checksums)."""
    return "sha256:" + checksums.sha256(path)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Memory-map a .safetensors file as numpy arrays without importing torch."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    header_len = int(raw[:8].view("<u8")[0])
    header = json.loads(bytes(raw[8 : 8 + header_len]))
    base = 8 + header_len
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        dtype = dtypes.get(meta["dtype"])
        if dtype is None:
            raise ModelError(f"Unsupported tensor type {meta['dtype']} in {path}.")
        tensors[name] = raw[base + start : base + end].view(dtype).reshape(meta["shape"])
    return tensors
