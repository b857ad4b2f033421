"""Index faults: a broken, stale or foreign index is rebuilt or refused, never used silently."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TESTS, FakeEncoder

from reportqa import faults
from reportqa.assistant import Assistant
from reportqa.errors import IndexError_, IndexFormatError, SourceError
from reportqa.index import FILES, FORMAT_VERSION, LOCK_TIMEOUT, build_lock, ensure_index, lock_path, lock_timeout, read_index

SRC = TESTS.parent / "src" / "reportqa"


@pytest.fixture
def built(tiny_source, tmp_path, fake_encoder):
    """A fresh index of the tiny report in tmp_path/index."""
    index_dir = tmp_path / "index"
    _, summary = ensure_index(tiny_source, index_dir, fake_encoder)
    assert summary is not None and summary.chunks > 0
    return tiny_source, index_dir


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def siblings(index_dir: Path) -> list[str]:
    """Temp or set-aside folders a build left beside the index."""
    return sorted(p.name for p in index_dir.parent.iterdir() if re.match(rf"\.{index_dir.name}\.(tmp|old)-", p.name))


def rebuilt_with_notice(source, index_dir, encoder, expect: str):
    notes: list[str] = []
    index, summary = ensure_index(source, index_dir, encoder, notify=notes.append)
    assert summary is not None, "a broken index was used instead of rebuilt"
    assert any("rebuilding" in n and expect in n for n in notes), notes
    assert read_index(index_dir).manifest == index.manifest  # the rebuilt index loads cleanly
    assert siblings(index_dir) == []
    return index


def set_size(index_dir: Path, name: str) -> None:
    """Make the manifest agree with a replaced file's size, so the deeper checks are what fire."""
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["sizes"][name] = (index_dir / name).stat().st_size
    (index_dir / "manifest.json").write_text(json.dumps(manifest))


# --- each fault ------------------------------------------------------------------------


def test_truncated_embeddings_npy_is_detected_and_rebuilt(built, fake_encoder):
    source, index_dir = built
    path = index_dir / "embeddings.npy"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(IndexError_, match=r"embeddings\.npy .* truncated .*reportqa index --force"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "truncated")


def test_embeddings_npy_cut_inside_its_header_is_unreadable_not_a_crash(built):
    _, index_dir = built
    path = index_dir / "embeddings.npy"
    path.write_bytes(path.read_bytes()[:20])
    set_size(index_dir, "embeddings.npy")
    with pytest.raises(IndexError_, match=r"embeddings\.npy .* unreadable"):
        read_index(index_dir)


def test_missing_chunks_jsonl_is_detected_and_rebuilt(built, fake_encoder):
    source, index_dir = built
    (index_dir / "chunks.jsonl").unlink()
    with pytest.raises(IndexError_, match=r"incomplete \(chunks\.jsonl is missing\)"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "chunks.jsonl")


@pytest.mark.parametrize(
    "content",
    [b"{\"format\": 1, \"mod", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b"null",
     b'{"format": "1"}', b'{"format": 1, "model": "x"}', b'{"format": true, "model": {"dim": 16}}',
     b'{"format": 1, "model": {"dim": 16}, "sources": {"report.txt": 5}}'],
    ids=["cut", "binary", "list", "null", "format-string", "model-string", "format-bool", "source-hash-int"],
)
def test_corrupted_manifest_is_detected_and_rebuilt(built, fake_encoder, content):
    source, index_dir = built
    (index_dir / "manifest.json").write_bytes(content)
    with pytest.raises(IndexError_, match=r"manifest .* corrupt .*reportqa index --force"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "manifest")


def test_manifest_from_a_newer_format_is_refused_and_left_untouched(built, fake_encoder):
    source, index_dir = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["format"] = FORMAT_VERSION + 1
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(index_dir)
    with pytest.raises(IndexFormatError, match=r"newer than this reportqa reads .*upgrade reportqa"):
        ensure_index(source, index_dir, fake_encoder)
    assert snapshot(index_dir) == before  # a newer reportqa's index is not overwritten behind its back
    _, summary = ensure_index(source, index_dir, fake_encoder, force=True)  # the documented way out
    assert summary is not None and read_index(index_dir).manifest["format"] == FORMAT_VERSION


def test_vector_count_differing_from_chunk_count_is_detected_and_rebuilt(built, fake_encoder):
    source, index_dir = built
    emb = np.load(index_dir / "embeddings.npy")
    np.save(index_dir / "embeddings.npy", emb[:-1])
    set_size(index_dir, "embeddings.npy")
    with pytest.raises(IndexError_, match=rf"{len(emb) - 1} vectors for {len(emb)} chunks"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "vectors for")


def test_wrong_dimension_is_detected_and_rebuilt(built, fake_encoder):
    source, index_dir = built
    emb = np.load(index_dir / "embeddings.npy")
    np.save(index_dir / "embeddings.npy", np.ascontiguousarray(emb[:, :8]))
    set_size(index_dir, "embeddings.npy")
    with pytest.raises(IndexError_, match=r"dimension 8, expected 16"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "dimension")


def refused(index_dir: Path, name: str, array: np.ndarray, match: str) -> None:
    """Replace one .npy of the index (its manifest size too) and expect read_index to refuse it."""
    np.save(index_dir / name, array)
    set_size(index_dir, name)
    with pytest.raises(IndexError_, match=match):
        read_index(index_dir)


def test_non_float32_or_non_finite_vectors_are_refused(built):
    _, index_dir = built
    emb = np.load(index_dir / "embeddings.npy")
    refused(index_dir, "embeddings.npy", emb.astype(np.float64), "float64, not float32")
    emb[0, 0] = np.nan
    refused(index_dir, "embeddings.npy", emb, "not finite")


def test_wordpiece_rows_that_do_not_fit_the_sentences_are_detected_and_rebuilt(built, fake_encoder):
    source, index_dir = built
    rows = np.load(index_dir / "token_rows.npy")
    n_sentences = int(rows[:, 0].max()) + 1
    rows[-1, 0] = n_sentences + 5  # same size, points past the last sentence
    np.save(index_dir / "token_rows.npy", rows)
    with pytest.raises(IndexError_, match="token_rows.npy is out of range"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "token_rows")


def test_wordpiece_vectors_must_match_their_rows_and_be_int8(built):
    _, index_dir = built
    vectors = np.load(index_dir / "token_vectors.npy")
    refused(index_dir, "token_vectors.npy", vectors[:-1], "does not match token_vectors.npy")
    refused(index_dir, "token_vectors.npy", vectors.astype(np.float32), "float32, not int8")


def test_non_finite_wordpiece_scales_are_detected_and_rebuilt(built, fake_encoder):
    source, index_dir = built
    scales = np.load(index_dir / "token_scales.npy")
    scales[3] = np.inf  # same size
    np.save(index_dir / "token_scales.npy", scales)
    with pytest.raises(IndexError_, match="not finite"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "not finite")


def test_same_size_edit_of_chunks_jsonl_fails_its_checksum(built, fake_encoder):
    # Citations are built from chunks.jsonl, so an edit there would quote text not in the report.
    source, index_dir = built
    path = index_dir / "chunks.jsonl"
    path.write_bytes(path.read_bytes().replace(b"March", b"April", 1))
    with pytest.raises(IndexError_, match="checksum differs"):
        read_index(index_dir)
    rebuilt_with_notice(source, index_dir, fake_encoder, "checksum")


def test_chunk_offsets_that_cannot_match_their_text_are_refused(built):
    _, index_dir = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    del manifest["sha256"]  # an index without checksums still gets the structural check
    lines = (index_dir / "chunks.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["end"] += 1
    lines[0] = json.dumps(first)
    (index_dir / "chunks.jsonl").write_text("\n".join(lines) + "\n")
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    set_size(index_dir, "chunks.jsonl")
    with pytest.raises(IndexError_, match="impossible offsets"):
        read_index(index_dir)


def test_a_changed_source_makes_the_index_stale_and_it_is_rebuilt(built, fake_encoder):
    source, index_dir = built
    with open(source / "report.txt", "a", encoding="utf-8") as fh:
        fh.write("\nThe depot closed in 2024.\n")
    index = rebuilt_with_notice(source, index_dir, fake_encoder, "source changed (report.txt)")
    assert any("closed in 2024" in c.text for c in index.chunks)


def test_a_new_or_removed_source_file_makes_the_index_stale(built, fake_encoder):
    source, index_dir = built
    (source / "extra.md").write_text("An annex about the roof.\n", encoding="utf-8")
    rebuilt_with_notice(source, index_dir, fake_encoder, "extra.md")
    (source / "extra.md").unlink()
    rebuilt_with_notice(source, index_dir, fake_encoder, "extra.md")


def test_a_different_model_fingerprint_makes_the_index_stale_and_it_is_rebuilt(built):
    source, index_dir = built
    other = FakeEncoder(fingerprint="fake:2")
    index = rebuilt_with_notice(source, index_dir, other, "model changed")
    assert index.manifest["model"]["fingerprint"] == "fake:2"


def test_a_different_model_dimension_makes_the_index_stale(built):
    source, index_dir = built
    index = rebuilt_with_notice(source, index_dir, FakeEncoder(dim=24), "dimension")
    assert index.embeddings.shape[1] == 24


def test_a_fresh_index_is_loaded_without_rebuilding(built, fake_encoder):
    source, index_dir = built
    before = snapshot(index_dir)
    notes: list[str] = []
    _, summary = ensure_index(source, index_dir, fake_encoder, notify=notes.append)
    assert summary is None and notes == [] and snapshot(index_dir) == before


def test_a_folder_that_is_not_an_index_is_never_replaced(tiny_source, tmp_path, fake_encoder):
    # `--index ~/Documents` by mistake must not swap the user's folder out and delete it.
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.odt").write_bytes(b"years of work")
    for force in (False, True):
        with pytest.raises(IndexError_, match="is not a reportqa index, so it is left alone"):
            ensure_index(tiny_source, precious, fake_encoder, force=force)
    assert snapshot(precious) == {"thesis.odt": b"years of work"}
    a_file = tmp_path / "index-file"
    a_file.write_text("not a folder")
    with pytest.raises(IndexError_, match="not a reportqa index"):
        ensure_index(tiny_source, a_file, fake_encoder)
    assert a_file.read_text() == "not a folder"


def test_an_index_whose_parent_folders_do_not_exist_yet_is_built(tiny_source, tmp_path, monkeypatch):
    # The default index of another report lives in a cache folder that a fresh machine lacks.
    from reportqa.assistant import Assistant

    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(tmp_path / "fresh-cache"))
    a = Assistant(tiny_source, encoder=FakeEncoder(), notify=lambda m: None)
    assert not a.index_dir.parent.exists()
    assert a.answer("When did the inspectors visit?").citations
    assert read_index(a.index_dir).chunks


def test_a_symlinked_index_folder_is_rebuilt_where_it_points(built, tmp_path, fake_encoder):
    source, index_dir = built
    link = tmp_path / "index-link"
    link.symlink_to(index_dir, target_is_directory=True)
    with open(source / "report.txt", "a", encoding="utf-8") as fh:
        fh.write("\nThe depot closed in 2024.\n")
    rebuilt_with_notice(source, link, fake_encoder, "source changed")
    assert link.is_symlink() and link.resolve() == index_dir.resolve()
    assert any("closed in 2024" in c.text for c in read_index(index_dir).chunks)


def test_disk_full_while_writing_keeps_the_previous_index(built, fake_encoder):
    source, index_dir = built
    before = snapshot(index_dir)

    # The disk fills up after chunks.jsonl, as embeddings.npy is written.
    with faults.armed("index.write", "enospc", detail="embeddings.npy") as full:
        with pytest.raises(IndexError_, match="No space left on device.*previous index is unchanged"):
            ensure_index(source, index_dir, fake_encoder, force=True)
    assert full.fired == 1
    assert snapshot(index_dir) == before and siblings(index_dir) == []


def test_a_build_waits_for_the_lock_then_times_out_with_a_message(built, fake_encoder):
    source, index_dir = built
    notes: list[str] = []
    with build_lock(index_dir):
        with pytest.raises(IndexError_, match=r"Another reportqa process has been building .* remove .*\.lock"):
            ensure_index(source, index_dir, fake_encoder, force=True, notify=notes.append, lock_timeout=0.3)
    assert any("waiting for another process" in n for n in notes)
    ensure_index(source, index_dir, fake_encoder, force=True, lock_timeout=0.3)  # the lock was released


def test_the_lock_timeout_can_be_set_by_environment(monkeypatch):
    monkeypatch.setenv("REPORTQA_LOCK_TIMEOUT", "7.5")
    assert lock_timeout() == 7.5
    monkeypatch.setenv("REPORTQA_LOCK_TIMEOUT", "soon")
    assert lock_timeout() == LOCK_TIMEOUT


def test_lock_files_and_build_leftovers_are_git_ignored():
    root = TESTS.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    names = [".index.lock", ".index.tmp-1-abc/", ".index.old-1-abc/", "sub/.my-index.lock"]
    out = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=root, capture_output=True, text=True, check=False)
    assert out.stdout.split() == names, out.stdout


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
