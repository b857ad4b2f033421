"""Checksums remembered across runs: reused only while the file is unchanged."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from reportqa import checksums

OLD = 1_600_000_000 * 10**9  # an mtime long past, so the file counts as settled


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(tmp_path / "cache"))
    # ctime is always "now" after a write, so let a just-written file count as settled;
    # the settle guard itself is tested below.
    monkeypatch.setattr(checksums, "SETTLE_SECONDS", 0.0)
    checksums.forget()
    yield tmp_path / "cache" / checksums.STORE
    checksums.forget()


def new_process(monkeypatch):
    """Forget what this process remembers, as the next run of reportqa starts without it."""
    checksums.forget()


@pytest.fixture
def reads(monkeypatch):
    """Paths whose bytes were read to hash them."""
    seen: list[str] = []
    real = checksums.file_sha256

    def counting(path):
        seen.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(checksums, "file_sha256", counting)
    return seen


def weights(tmp_path, data: bytes = b"weights " * 1000):
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    os.utime(path, ns=(OLD, OLD))
    return path


def test_a_file_is_read_once_then_its_checksum_is_remembered(tmp_path, store, reads, monkeypatch):
    path = weights(tmp_path)
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    assert checksums.sha256(path) == want
    assert checksums.sha256(path) == want
    new_process(monkeypatch)
    assert checksums.sha256(path) == want
    assert reads == ["model.safetensors"]
    assert json.loads(store.read_text())["files"][str(path.resolve())]["sha256"] == want


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[::-1]), id="same-size rewrite"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-1]), id="truncated"),
        pytest.param(lambda p: os.utime(p, ns=(OLD + 1, OLD + 1)), id="touched"),
    ],
)
def test_any_change_to_the_file_is_read_again(tmp_path, store, reads, change):
    path = weights(tmp_path, b"abc" * 5000)
    checksums.sha256(path)
    change(path)
    assert checksums.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reads == ["model.safetensors"] * 2


def test_a_file_replaced_by_another_is_read_again(tmp_path, store, reads):
    path = weights(tmp_path, b"a" * 4096)
    checksums.sha256(path)
    other = tmp_path / "other"
    other.write_bytes(b"b" * 4096)
    os.utime(other, ns=(OLD, OLD))  # same size and mtime: only the inode and ctime differ
    os.replace(other, path)
    assert checksums.sha256(path) == hashlib.sha256(b"b" * 4096).hexdigest()
    assert len(reads) == 2


def test_a_file_written_just_now_is_not_remembered(tmp_path, store, reads, monkeypatch):
    monkeypatch.setattr(checksums, "SETTLE_SECONDS", 3600.0)  # however slow this machine is
    path = weights(tmp_path)  # its ctime is now, whatever its mtime says
    checksums.sha256(path)
    checksums.sha256(path)  # not even by this process: a write in the same tick would not show
    assert len(reads) == 2 and not store.exists()


@pytest.mark.parametrize("content", ["{not json", '{"format": 99, "files": {}}', '{"format": 1, "files": []}', "[]"])
def test_an_unreadable_store_is_ignored_and_replaced(tmp_path, store, reads, content, monkeypatch):
    path = weights(tmp_path)
    store.parent.mkdir(parents=True)
    store.write_text(content)
    assert checksums.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    new_process(monkeypatch)
    assert checksums.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(reads) == 1


def test_a_forged_entry_for_another_signature_is_not_trusted(tmp_path, store, reads, monkeypatch):
    path = weights(tmp_path)
    checksums.sha256(path)
    new_process(monkeypatch)
    data = json.loads(store.read_text())
    entry = data["files"][str(path.resolve())]
    entry["sha256"] = "0" * 64
    entry["stat"][2] += 1  # recorded for a file of another size
    store.write_text(json.dumps(data))
    assert checksums.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_cache_that_cannot_be_written_still_gives_the_checksum(tmp_path, monkeypatch, reads):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(checksums, "SETTLE_SECONDS", 0.0)
    new_process(monkeypatch)
    path = weights(tmp_path)
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    assert checksums.sha256(path) == checksums.sha256(path) == want
    assert len(reads) == 1  # remembered by this process only
    new_process(monkeypatch)
    assert checksums.sha256(path) == want
    assert len(reads) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "model.safetensors"]


def test_files_that_are_gone_are_dropped_from_the_store(tmp_path, store):
    first, second = tmp_path / "a", tmp_path / "b"
    for p in (first, second):
        p.write_bytes(b"x")
    checksums.sha256(first)
    first.unlink()
    checksums.sha256(second)
    assert list(json.loads(store.read_text())["files"]) == [str(second.resolve())]
