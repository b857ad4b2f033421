"""reportqa.atomic: a file is replaced whole or not at all."""

from __future__ import annotations

import errno

import pytest

from reportqa.atomic import replace_durably, write_atomic, write_durable


def test_write_atomic_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "store.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    write_atomic(tmp_path / "other.bin", lambda fh: fh.write(b"by a writer"))
    assert target.read_bytes() == b"new" and (tmp_path / "other.bin").read_bytes() == b"by a writer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.bin", "store.json"]


def test_a_failed_write_atomic_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "store.json"
    target.write_bytes(b"old")

    def full(fh):
        fh.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, full)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["store.json"]


def test_replace_durably_moves_a_written_file_over_its_target(tmp_path):
    write_durable(tmp_path / "part", b"whole")
    (tmp_path / "model").write_bytes(b"previous")
    replace_durably(tmp_path / "part", tmp_path / "model")
    assert (tmp_path / "model").read_bytes() == b"whole" and not (tmp_path / "part").exists()
