"""The index: a folder of plain files, built atomically and checked on load.

Nothing in the folder is ever imported or unpickled; vectors are memory-mapped,
so loading a large index copies nothing. A build writes a sibling temp folder
under a lock file and swaps it in with one atomic exchange, so a reader sees the
old index or the new one, never a mix, and a killed build leaves the previous
index in place.

    format.py   the files of the folder, the manifest, staleness; Index, RowReader, BuildSummary
    load.py     read_index: every file checked before use, vectors memory-mapped
    store.py    the build lock, the atomic swap (renameat2), clean-up and recovery of killed builds
    build.py    build_index (embedding, int8 quantisation, writing) and ensure_index

Imports go build → load → store → format, never back up.
"""

from .build import PASSAGE_GROUP, build_index, ensure_index, npy_bytes, quantise, sentence_tokens, write_npy
from .format import (
    CHECKSUMMED,
    FILES,
    FORMAT_VERSION,
    BuildSummary,
    Index,
    Progress,
    RowReader,
    describe,
    expected_manifest,
    manifest_problem,
    staleness,
)
from .load import read_index
from .store import LOCK_TIMEOUT, build_lock, lock_path, lock_timeout

__all__ = [
    "CHECKSUMMED",
    "FILES",
    "FORMAT_VERSION",
    "LOCK_TIMEOUT",
    "PASSAGE_GROUP",
    "BuildSummary",
    "Index",
    "Progress",
    "RowReader",
    "build_index",
    "build_lock",
    "describe",
    "ensure_index",
    "expected_manifest",
    "lock_path",
    "lock_timeout",
    "manifest_problem",
    "npy_bytes",
    "quantise",
    "read_index",
    "sentence_tokens",
    "staleness",
    "write_npy",
]
