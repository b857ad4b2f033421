"""Index faults: a broken, stale or foreign index is rebuilt or refused, never used silently."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, FakeEncoder

from reportqa import faults
from reportqa.errors import IndexError_, IndexFormatError
from reportqa.index import FORMAT_VERSION, LOCK_TIMEOUT, build_lock, ensure_index, lock_timeout, read_index

SRC = ROOT / "src" / "reportqa"


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
    root = ROOT
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    names = [".index.lock", ".index.tmp-1-abc/", ".index.old-1-abc/", "sub/.my-index.lock"]
    out = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=root, capture_output=True, text=True, check=False)
    assert out.stdout.split() == names, out.stdout
