"""The index is data, never code: no pickle is loaded and no file in it is run; the committed index
passes every check; a failed or unreadable build leaves its lock as it should."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from conftest import ROOT, TESTS

from reportqa.assistant import Assistant
from reportqa.errors import IndexError_, SourceError
from reportqa.index import FILES, build_lock, ensure_index, lock_path, read_index

SRC = ROOT / "src" / "reportqa"


# --- never unpickled, never imported -------------------------------------------------------


def test_every_np_load_in_the_package_passes_allow_pickle_false():
    calls = maps = 0
    for path in SRC.rglob("*.py"):
        text = path.read_text("utf-8")
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve)\b", text, re.MULTILINE), path
        for m in re.finditer(r"np\.load\(", text):
            calls += 1
            call = text[m.start() : text.index(")", m.start()) + 1]
            assert "allow_pickle=False" in call, f"{path.name}: {call}"
        # The index maps .npy data after parsing only the header, and refuses
        # any dtype but the expected float32/int32 before mapping, so an object array is never read.
        for m in re.finditer(r"np\.memmap\(", text if path.relative_to(SRC).parts[0] == "index" else ""):
            calls, maps = calls + 1, maps + 1
            assert re.search(r"if dtype != \w+", text[: m.start()]), f"{path.name}: memmap without a dtype check"
    assert calls >= 1 and maps >= 1  # the index does map .npy files, so this check looks at something


PLANT = r"""
import os, pickle, sys
from pathlib import Path
import numpy as np

index_dir, marker = Path(sys.argv[1]), sys.argv[2]

class Boom:
    def __reduce__(self):
        return (os.system, (f"touch {marker}",))

payload = np.array([Boom()], dtype=object)
with open(index_dir / "embeddings.npy", "wb") as fh:
    np.save(fh, payload, allow_pickle=True)
with open(index_dir / "extra.npy", "wb") as fh:
    np.save(fh, payload, allow_pickle=True)
(index_dir / "chunks.pkl").write_bytes(pickle.dumps(Boom()))
code = f"open({marker!r}, 'w').write('imported')\n"
for name in ("__init__.py", "evil.py", "sitecustomize.py", "manifest.py", "numpy.py", "json.py"):
    (index_dir / name).write_text(code)
(index_dir / "evil.pth").write_text(f"import os; os.system('touch {marker}')\n")
# Make the size check pass, so what stops the pickle is allow_pickle=False itself.
import json
manifest = json.loads((index_dir / "manifest.json").read_text())
manifest["sizes"]["embeddings.npy"] = (index_dir / "embeddings.npy").stat().st_size
(index_dir / "manifest.json").write_text(json.dumps(manifest))
"""

LOAD = r"""
import os, sys
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from conftest import FakeEncoder
from reportqa.errors import IndexError_
from reportqa.index import ensure_index, read_index

index_dir, source = Path(sys.argv[1]), Path(sys.argv[2])
os.chdir(index_dir)  # even from inside the folder, nothing in it is imported
try:
    read_index(index_dir)
    print("LOADED")
except IndexError_ as exc:
    print("REFUSED", exc)
_, summary = ensure_index(source, index_dir, FakeEncoder(), notify=lambda m: print("NOTICE", m))
print("REBUILT" if summary else "FRESH")
print("MODULES", sorted(m for m in sys.modules if m in ("evil", "manifest", "sitecustomize") or m.startswith("index")))
"""


def test_planted_pickles_and_python_files_in_the_index_are_never_run(built, tmp_path):
    source, index_dir = built
    marker = tmp_path / "pwned"
    subprocess.run([sys.executable, "-c", PLANT, str(index_dir), str(marker)], check=True)
    out = subprocess.run(
        [sys.executable, "-c", LOAD, str(index_dir), str(source), str(TESTS)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    # Refused on its header's dtype, before any data is read, so nothing is unpickled.
    assert "REFUSED embeddings.npy" in out.stdout and "holds object, not float32" in out.stdout, out.stdout
    assert "REBUILT" in out.stdout and "MODULES []" in out.stdout, out.stdout
    assert not marker.exists(), "a planted file was executed"
    # The rebuild replaced the whole folder, planted files included.
    assert sorted(p.name for p in index_dir.iterdir()) == sorted(FILES)


def test_unpickling_is_impossible_even_if_numpy_were_asked(built, monkeypatch):
    _, index_dir = built
    import pickle

    def no(*args, **kwargs):
        raise AssertionError("pickle was used while loading the index")

    monkeypatch.setattr(pickle, "load", no)
    monkeypatch.setattr(pickle, "loads", no)
    monkeypatch.setattr(pickle, "Unpickler", no)
    assert len(read_index(index_dir).chunks) > 0


# --- the committed index ---------------------------------------------------------------


def test_committed_bundled_index_loads_and_passes_every_check():
    from reportqa.assistant import BUNDLED_INDEX, BUNDLED_SOURCE
    from reportqa.index import expected_manifest, staleness

    index = read_index(BUNDLED_INDEX)
    assert sorted(p.name for p in BUNDLED_INDEX.iterdir()) == sorted(FILES)
    encoder = type("Meta", (), {})()
    model = index.manifest["model"]
    for key in ("model_id", "fingerprint", "dim", "max_tokens"):
        setattr(encoder, key, model["id" if key == "model_id" else key])
    # Fresh for the source and chunking (the model fingerprint is checked in test_core with the real model).
    assert staleness(index.manifest, expected_manifest(BUNDLED_SOURCE, encoder)) is None


def test_a_source_that_cannot_be_read_leaves_no_lock_file_or_folder(tmp_path, fake_encoder, monkeypatch):
    # Issue 12: a failed first build left `.NAME.lock` files in ~/.cache/reportqa/indexes/.
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9\n")
    assistant = Assistant(source=bad, encoder=fake_encoder, notify=lambda m: None)
    for _ in range(2):
        with pytest.raises(SourceError, match="not valid UTF-8"):
            assistant.answer("who?")
        assert list((tmp_path / "cache").rglob("*")) == []  # no lock file, no indexes/ folder
    explicit = tmp_path / "a" / "b" / "index"
    with pytest.raises(SourceError):
        ensure_index(bad, explicit, fake_encoder)
    assert not (tmp_path / "a").exists()


def test_a_failed_rebuild_keeps_the_index_and_its_lock_file(built, fake_encoder):
    source, index_dir = built
    (source / "report.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(SourceError):
        ensure_index(source, index_dir, fake_encoder)
    assert read_index(index_dir).chunks  # the previous index is still there


def test_a_process_waiting_on_a_removed_lock_file_locks_the_new_one(tmp_path):
    import threading

    index_dir = tmp_path / "index"  # never built, so each release removes the lock file
    holding, release, order = threading.Event(), threading.Event(), []

    def first():
        with build_lock(index_dir):
            holding.set()
            release.wait(5)
            order.append("first")

    def second():
        holding.wait(5)
        with build_lock(index_dir, timeout=5):
            order.append("second")
            assert lock_path(index_dir).exists()  # it holds the file that is at the path
            with pytest.raises(IndexError_, match="Another reportqa process"):
                with build_lock(index_dir, timeout=0):
                    pass
            order.append("exclusive")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    holding.wait(5)
    time.sleep(0.3)  # the second is waiting on the first's file now
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["first", "second", "exclusive"]
    assert not lock_path(index_dir).exists()
