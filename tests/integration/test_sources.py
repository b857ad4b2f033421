"""Sources: each bad source gives a clear message naming the file, and the index is not changed."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
from conftest import TINY_REPORT, FakeEncoder

from reportqa.assistant import Assistant
from reportqa.errors import SourceError
from reportqa.index import ensure_index
from reportqa.ingest import read_documents, source_files


@pytest.fixture
def indexed(tiny_source, tmp_path, fake_encoder):
    """A source folder with a fresh index; returns (source, index_dir, bytes of the index)."""
    index_dir = tmp_path / "index"
    ensure_index(tiny_source, index_dir, fake_encoder)
    return tiny_source, index_dir, snapshot(index_dir)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def refused(source, index_dir, before, encoder, match: str) -> str:
    """The build fails with a SourceError matching `match`, and the index is byte-for-byte unchanged."""
    with pytest.raises(SourceError, match=match) as info:
        ensure_index(source, index_dir, encoder, force=True)
    assert snapshot(index_dir) == before
    assert [p.name for p in index_dir.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []
    return str(info.value)


def test_empty_source_folder_is_refused_naming_the_folder(indexed, tmp_path, fake_encoder):
    _, index_dir, before = indexed
    empty = tmp_path / "source_text"
    empty.mkdir()
    message = refused(empty, index_dir, before, fake_encoder, r"No \.txt or \.md files in .*source_text")
    assert "--source" in message


def test_a_folder_of_only_other_file_types_counts_as_empty(indexed, tmp_path, fake_encoder):
    _, index_dir, before = indexed
    other = tmp_path / "pdfs"
    other.mkdir()
    (other / "report.pdf").write_bytes(b"%PDF-1.4")
    refused(other, index_dir, before, fake_encoder, "No .txt or .md files")


def test_missing_source_path_is_refused_naming_it(indexed, tmp_path, fake_encoder):
    _, index_dir, before = indexed
    refused(tmp_path / "no-such-report.txt", index_dir, before, fake_encoder, r"no-such-report\.txt does not exist")


def test_source_file_with_another_suffix_is_refused(indexed, tmp_path, fake_encoder):
    _, index_dir, before = indexed
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    refused(pdf, index_dir, before, fake_encoder, r"report\.pdf is not a \.txt or \.md file")


def test_non_utf8_file_is_refused_naming_file_byte_and_line(indexed, fake_encoder):
    source, index_dir, before = indexed
    (source / "latin1.txt").write_bytes("Line one.\nCaf\u00e9 au lait.\n".encode("latin-1"))
    message = refused(source, index_dir, before, fake_encoder, r"latin1\.txt is not valid UTF-8 \(byte 13, line 2")
    assert "iconv" in message


def test_utf16_file_is_named_as_utf16(indexed, fake_encoder):
    source, index_dir, before = indexed
    (source / "wide.txt").write_bytes("Hello report".encode("utf-16"))
    refused(source, index_dir, before, fake_encoder, r"wide\.txt is UTF-16, not UTF-8")


def test_a_file_name_that_is_not_utf8_is_refused_naming_it(indexed, fake_encoder):
    source, index_dir, before = indexed
    with open(os.path.join(os.fsencode(source), b"caf\xe9.txt"), "w", encoding="utf-8") as fh:
        fh.write("A report with a Latin-1 file name.\n")
    refused(source, index_dir, before, fake_encoder, r"The file name b'caf\\xe9\.txt' in .* is not valid UTF-8: rename it")


def test_binary_file_is_refused_naming_it(indexed, fake_encoder):
    source, index_dir, before = indexed
    (source / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    message = refused(source, index_dir, before, fake_encoder, r"image\.txt looks like a binary file \(NUL byte at byte")
    assert message.endswith("remove it from the source folder.")  # one file among others


def test_a_binary_file_given_as_the_source_is_named_as_given_without_a_folder(indexed, tmp_path, fake_encoder):
    # `--source FILE` used to be told to "remove it from the source folder".
    _, index_dir, before = indexed
    given = tmp_path / "scans" / "image.txt"
    given.parent.mkdir()
    given.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    message = refused(given, index_dir, before, fake_encoder, "looks like a binary file")
    assert message.startswith(f"{given} looks like a binary file (NUL byte at byte 8)")
    assert "folder" not in message


def test_nul_byte_deep_inside_a_large_file_is_found(indexed, fake_encoder):
    source, index_dir, before = indexed
    (source / "big.txt").write_bytes(b"word " * 100_000 + b"\x00" + b"word " * 100_000)
    refused(source, index_dir, before, fake_encoder, r"big\.txt looks like a binary file \(NUL byte at byte 500000\)")


def test_a_lone_empty_file_is_refused_naming_it(tmp_path, fake_encoder):
    for content in (b"", b"  \n\r\n\t \n"):
        path = tmp_path / "empty.txt"
        path.write_bytes(content)
        with pytest.raises(SourceError, match=r"empty\.txt is empty: add the report's text"):
            ensure_index(path, tmp_path / "index", fake_encoder)
        assert not (tmp_path / "index").exists()


def test_a_folder_of_only_empty_files_is_refused_naming_them(tmp_path, fake_encoder):
    source = tmp_path / "s"
    source.mkdir()
    (source / "a.txt").write_text("")
    (source / "b.md").write_text("\n\n")
    with pytest.raises(SourceError, match=r"Every file in .* is empty \(a\.txt, b\.md\)"):
        ensure_index(source, tmp_path / "index", fake_encoder)


def test_an_empty_file_among_good_ones_is_skipped_with_a_warning(tiny_source, tmp_path, fake_encoder):
    # Decision (docs/reliability.md): one placeholder must not block a folder of reports,
    # but the user is told, and filling it in later makes the index stale.
    (tiny_source / "notes.md").write_text("")
    notes: list[str] = []
    index, summary = ensure_index(tiny_source, tmp_path / "index", fake_encoder, notify=notes.append)
    assert summary is not None and notes == [
        "reportqa: skipping notes.md: it is empty.",
        f"reportqa: building the index of {tiny_source} in {tmp_path / 'index'} (first use) …",
    ]
    assert {c.source for c in index.chunks} == {"report.txt"}
    assert "notes.md" in index.manifest["sources"]
    (tiny_source / "notes.md").write_text("The roof leaks again.\n")
    notes.clear()
    index, summary = ensure_index(tiny_source, tmp_path / "index", fake_encoder, notify=notes.append)
    assert summary is not None and any("source changed (notes.md)" in n for n in notes)
    assert "notes.md" in {c.source for c in index.chunks}


def test_symlinks_and_hidden_files_are_skipped(tiny_source, tmp_path, fake_encoder):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Outside the source folder.\n")
    (tiny_source / "link.txt").symlink_to(outside / "secret.txt")
    (tiny_source / "linkdir").symlink_to(outside, target_is_directory=True)
    (tiny_source / ".hidden.txt").write_text("Hidden.\n")
    (tiny_source / ".git").mkdir()
    (tiny_source / ".git" / "notes.md").write_text("Hidden folder.\n")
    (tiny_source / "sub").mkdir()
    (tiny_source / "sub" / "annex.md").write_text("An annex.\n")
    (tiny_source / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    assert [name for name, _ in source_files(tiny_source)] == ["report.txt", "sub/annex.md"]
    index, _ = ensure_index(tiny_source, tmp_path / "index", fake_encoder)
    assert sorted(index.manifest["sources"]) == ["report.txt", "sub/annex.md"]


def test_a_fifo_named_like_a_report_is_skipped_not_read_forever(tiny_source):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tiny_source / "pipe.txt")
    assert [d.name for d in read_documents(tiny_source)] == ["report.txt"]


def test_a_source_given_as_a_symlink_to_a_file_is_followed(tiny_source, tmp_path):
    # Only links *inside* a folder are skipped; a path the user names is used.
    link = tmp_path / "report-link.txt"
    link.symlink_to(tiny_source / "report.txt")
    assert [d.text for d in read_documents(link)] == [TINY_REPORT]


def test_an_unreadable_file_is_named(tiny_source, monkeypatch):
    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(SourceError, match=r"Cannot read .*report\.txt: Permission denied"):
        read_documents(tiny_source)


def test_a_50_mb_file_is_indexed_with_progress(tmp_path):
    source = tmp_path / "big"
    source.mkdir()
    sentences = (
        "The inspectors visited depot {n} in March 2021 and counted {n} buses, twelve vans and a crane. "
        "The manager, Ann Lee, said the roof was finished in May; water no longer leaks into the workshop. "
        "Mr. Smith disagreed with the findings of the report published on 3 June 2022 by the council. "
        "A second inspection is planned for 2023, when the new depot at Barnsley should be open. "
    )
    with open(source / "big.txt", "w", encoding="utf-8") as fh:
        n = size = 0
        while size < 50 * 2**20:
            size += fh.write((sentences * 2).format(n=n) + "\n\n")
            n += 1
    calls: list[tuple[int, int]] = []
    started = time.perf_counter()
    index, summary = ensure_index(source, tmp_path / "index", FakeEncoder(max_tokens=256), progress=lambda d, t: calls.append((d, t)))
    seconds = time.perf_counter() - started
    print(f"50 MB: {summary.chunks} chunks, {summary.sentences} sentences, {seconds:.1f} s with the fake encoder")
    assert summary.chunks == len(index.chunks) > 50_000
    total = calls[0][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert total == summary.chunks + summary.sentences
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))  # progress only moves forward
    assert len(calls) > 100  # shown as it goes, not only at the end
    text = (source / "big.txt").read_text(encoding="utf-8")
    for c in index.chunks[:: len(index.chunks) // 50]:
        assert text[c.start : c.end] == c.text


def test_a_bad_source_through_the_cli_is_one_line_with_status_1(tmp_path, capsys, monkeypatch):
    from reportqa import cli

    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "bad.txt").write_bytes(b"caf\xe9\n")
    monkeypatch.setattr(
        cli, "make_assistant", lambda args, notify: Assistant(args.source, args.index_dir, encoder=FakeEncoder(), notify=notify)
    )
    for argv in (["index"], ["ask", "who?"]):
        status = cli.main([*argv, "--source", str(tmp_path / "s"), "--index", str(tmp_path / "i")])
        err = capsys.readouterr().err
        assert status == 1, err
        assert err.count("\n") == 1 and "bad.txt is not valid UTF-8 (byte 3" in err and "Traceback" not in err
    assert not (tmp_path / "i").exists()


def test_a_missing_or_unusable_source_is_refused_when_the_assistant_is_made(tmp_path, tiny_source, monkeypatch):
    # Issue 12: Assistant(source="/nope") used to raise nothing until the first answer().
    with pytest.raises(SourceError, match=r"^Source /nope does not exist: pass a \.txt/\.md file"):
        Assistant(source="/nope")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(SourceError, match=r"report\.pdf is not a \.txt or \.md file"):
        Assistant(source=pdf)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match=r"pipe\.txt is not a regular file"):
        Assistant(source=fifo)  # and it does not hang opening the FIFO

    real_open, real_scandir = os.open, os.scandir
    locked = {str(tiny_source), str(tiny_source / "report.txt")}

    def denied(path, *args, **kwargs):
        if str(path) in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return (real_open if args or kwargs else real_scandir)(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)  # as root, chmod 000 would not stop the read
    with pytest.raises(SourceError, match=r"^Cannot read .*report\.txt: Permission denied\.$"):
        Assistant(source=tiny_source / "report.txt")
    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(SourceError, match=r"^Cannot read .*source: Permission denied\.$"):
        Assistant(source=tiny_source)


def test_making_an_assistant_checks_the_source_but_loads_nothing(tiny_source, tmp_path):
    encoder = FakeEncoder()
    Assistant(source=tiny_source, index_dir=tmp_path / "index", encoder=encoder)
    assert encoder.encoded == 0  # nothing encoded, so no index built either
    assert not (tmp_path / "index").exists()
