"""The Milvus store (issue 20) against a real Milvus Lite: embedded .db folders, and the
gRPC server (``milvus-lite server``) started on 127.0.0.1 by a fixture and stopped after.

Build, query, update, delete, a build killed half-way and resumed, a manifest that does
not match, a server that is down, and two processes querying at once. The encoder is
conftest's FakeEncoder (fast and deterministic); the engine is never faked. The answers
with the real model against the files store are in test_milvus_parity.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import TESTS, FakeEncoder, FakeReader

from reportqa.assistant import Assistant
from reportqa.errors import StoreError
from reportqa.settings import DEFAULT
from reportqa.stores import parse_store

needs_milvus = pytest.mark.skipif(
    find_spec("pymilvus") is None or find_spec("milvus_lite") is None,
    reason="pymilvus / milvus-lite are not installed: pip install -e '.[test,milvus]' (as .ci/run does)",
)

SECOND = "Annex\n\n" + "".join(  # long enough for several passages
    f"Section {i}. The depot team checked the lifts, the pits, the doors and the wash bay again, and wrote down every fault they found.\n\n"
    for i in range(1, 5)
) + "The annex lists the spare parts ordered in June 2022.\n\nNo further visits were planned.\n"


def assistant(source: Path, store: str, encoder=None, **kw) -> Assistant:
    return Assistant(source, encoder=encoder or FakeEncoder(), reader=FakeReader(prefer=kw.pop("prefer", "")),
                     settings=DEFAULT.with_(store=store), notify=kw.pop("notify", lambda m: None), **kw)


def stored_rows(a: Assistant) -> list[dict]:
    store = a._open_store()
    store.load()
    return store.client.query(store.name, filter='source != ""', output_fields=["id", "source", "sha", "start", "end", "text"], limit=16384)


def exact(answer, source: Path) -> bool:
    path = source / answer.quote.source if source.is_dir() else source
    return path.read_text(encoding="utf-8")[answer.quote.start : answer.quote.end] == answer.text


# --- the URI (no engine needed) ------------------------------------------------------


def test_store_uris():
    assert parse_store("files").kind == "files" and parse_store("").kind == "files"
    lite = parse_store("milvus:some/dir/reports.db")
    assert lite.embedded and lite.uri.endswith("/some/dir/reports.db") and lite.collection == "reportqa"
    server = parse_store("milvus://db.example:19530#annual")
    assert (server.uri, server.collection, server.embedded) == ("http://db.example:19530", "annual", False)
    assert parse_store("https://x.example:443").uri == "https://x.example:443"
    for bad in ("milvus:reports", "postgres://x", "milvus://", "milvus:a.db#1bad"):
        with pytest.raises(StoreError):
            parse_store(bad)


def test_bad_store_is_a_usage_error(capsys):
    from reportqa.cli import main

    assert main(["ask", "--store", "milvus:nowhere", "Who?"]) == 2
    assert "ending in .db" in capsys.readouterr().err


def test_without_pymilvus_says_what_to_install(tmp_path, tiny_source):
    """The default install has no pymilvus: --store milvus:… then says what to install (exit 1, no traceback)."""
    code = (
        "import sys; sys.modules['pymilvus'] = None\n"  # as if it were not installed: import fails
        "from reportqa.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    out = subprocess.run([sys.executable, "-c", code, "index", "--source", str(tiny_source), "--store", f"milvus:{tmp_path}/x.db"],
                         capture_output=True, text=True, timeout=120, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 1, out.stderr
    assert "pip install 'reportqa[milvus]'" in out.stderr and "Traceback" not in out.stderr


# --- embedded Milvus Lite ------------------------------------------------------------


@needs_milvus
def test_build_and_answer_with_exact_citations(tmp_path, tiny_source):
    a = assistant(tiny_source, f"milvus:{tmp_path}/store.db", prefer="roof")
    summary = a.build()
    assert summary.rebuilt and summary.files == 1 and summary.chunks >= 1
    files = Assistant(tiny_source, tmp_path / "index", encoder=FakeEncoder(), notify=lambda m: None)
    files.load()
    rows = stored_rows(a)
    # The same passages as the index folder, with the same offsets, each stored once.
    assert sorted((r["start"], r["end"], r["text"]) for r in rows) == sorted((c.start, c.end, c.text) for c in files.index.chunks)
    assert len({r["id"] for r in rows}) == len(rows)
    answer = a.answer("When was the new roof finished?")
    assert answer.answered and "roof" in answer.text and exact(answer, tiny_source)
    assert all(c.source == "report.txt" for c in answer.citations)
    assert a.sources_info()["chunks"] == summary.chunks
    assert [c.start for c in a.surroundings(answer.citations[0], 5)] == sorted(r["start"] for r in rows)


@needs_milvus
def test_unchanged_file_is_skipped_changed_file_replaced_gone_file_deleted(tmp_path, tiny_source):
    (tiny_source / "annex.md").write_text(SECOND, encoding="utf-8")
    enc = FakeEncoder()
    a = assistant(tiny_source, f"milvus:{tmp_path}/store.db", encoder=enc, prefer="spare parts")
    first = a.build()
    assert first.files == 2
    before = {r["id"]: r for r in stored_rows(a)}

    enc.encoded = 0
    again = a.build()
    assert not again.rebuilt and enc.encoded == 0 and again.chunks == first.chunks  # nothing re-embedded

    (tiny_source / "annex.md").write_text(SECOND.replace("June 2022", "July 2024"), encoding="utf-8")
    changed = a.build()
    assert changed.rebuilt and 0 < enc.encoded
    after = {r["id"]: r for r in stored_rows(a)}
    report_ids = {i for i, r in before.items() if r["source"] == "report.txt"}
    assert report_ids <= set(after)  # the unchanged file's rows are the same rows
    annex = [r for r in after.values() if r["source"] == "annex.md"]
    assert annex and all("June 2022" not in r["text"] for r in annex)  # the old version's rows are gone
    assert len(after) == changed.chunks
    answer = a.answer("When were the spare parts ordered?")
    assert answer.answered and "July 2024" in answer.text and exact(answer, tiny_source)

    (tiny_source / "annex.md").unlink()
    removed = a.build()
    assert removed.files == 1 and {r["source"] for r in stored_rows(a)} == {"report.txt"}
    assert removed.chunks == len(stored_rows(a))


KILLED_BUILD = """
import sys
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder, FakeReader
from reportqa.assistant import Assistant
from reportqa.settings import DEFAULT
from reportqa.stores import build
build.BATCH = 1  # one passage per upsert, so the kill lands half-way through a file
a = Assistant({source!r}, encoder=FakeEncoder(), reader=FakeReader(), settings=DEFAULT.with_(store={store!r}), notify=print)
a.build()
"""


@needs_milvus
def test_build_killed_half_way_resumes_without_duplicates(tmp_path, tiny_source):
    (tiny_source / "annex.md").write_text(SECOND, encoding="utf-8")
    store = f"milvus:{tmp_path}/store.db"
    script = KILLED_BUILD.format(tests=str(TESTS), source=str(tiny_source), store=store)
    # annex.md is read first (files are in name order): the kill comes after its first passage is in.
    env = os.environ | {"REPORTQA_FAULTS": "store.batch@annex.md=kill"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == -9, out.stderr
    assert "fault store.batch fired" in out.stderr
    enc = FakeEncoder()
    a = assistant(tiny_source, store, encoder=enc)
    half = stored_rows(a)
    assert [r["source"] for r in half] == ["annex.md"]  # one batch got in before the kill
    assert a._open_store().files() == {}  # but no file was recorded as done
    summary = a.build()
    rows = stored_rows(a)
    assert summary.files == 2 and len(rows) == summary.chunks == len({r["id"] for r in rows})
    assert {r["id"] for r in half} <= {r["id"] for r in rows}  # the same keys: upserted again, not duplicated
    files = Assistant(tiny_source, tmp_path / "index", encoder=FakeEncoder(), notify=lambda m: None)
    files.load()
    assert sorted((r["source"], r["start"], r["end"]) for r in rows) == sorted((c.source, c.start, c.end) for c in files.index.chunks)


@needs_milvus
def test_manifest_mismatch_refuses_to_answer_and_index_rebuilds(tmp_path, tiny_source):
    store = f"milvus:{tmp_path}/store.db"
    assistant(tiny_source, store, encoder=FakeEncoder(fingerprint="fake:1")).build()
    other = assistant(tiny_source, store, encoder=FakeEncoder(fingerprint="fake:2"))
    with pytest.raises(StoreError, match="another embedding model.*reportqa index --source DIR --store .*--force"):
        other.answer("When was the roof finished?")
    notices = []
    rebuilt = assistant(tiny_source, store, encoder=FakeEncoder(fingerprint="fake:2"), notify=notices.append)
    summary = rebuilt.build()
    assert summary.rebuilt and any("rebuilding the index in the Milvus store" in n and "another embedding model" in n for n in notices)
    assert rebuilt.answer("When was the roof finished?").citations
    assert len(stored_rows(rebuilt)) == summary.chunks


@needs_milvus
def test_empty_store_says_to_index(tmp_path, tiny_source):
    with pytest.raises(StoreError, match="No index in the Milvus store"):
        assistant(tiny_source, f"milvus:{tmp_path}/empty.db").answer("When was the roof finished?")


@needs_milvus
def test_more_files_and_passages_than_one_query_returns(tmp_path, tiny_source):
    """Milvus returns at most 16,384 rows a query: the files and a file's passages are read page by page."""
    a = assistant(tiny_source, f"milvus:{tmp_path}/store.db")
    a.build()
    store = a._open_store()
    many = 16384 + 500
    store.client.upsert(store.files_name, [{"source": f"f{i:05d}.txt", "sha": "0" * 64, "chunks": 1, "sentences": 1,
                                            "unused": [0.0, 0.0]} for i in range(many)])
    assert len(store.files()) == many + 1  # and report.txt
    row = {k: v for k, v in store.client.query(store.name, filter='source == "report.txt"', output_fields=["*"], limit=1)[0].items()
           if k != "sparse"}
    store.client.upsert(store.name, [row | {"id": f"p{i}", "source": "long.txt", "start": i, "end": i + 1} for i in range(many)])
    passages = store.passages_of("long.txt")
    assert len(passages) == many and [c.start for c in passages] == list(range(many))


@needs_milvus
def test_upserts_skip_pymilvus_character_walk_but_bad_rows_still_fail(tmp_path, tiny_source):
    """The per-character check pymilvus runs on a row's strings is off only during reportqa's
    upserts; a value of the wrong type or too long is still refused, as a StoreError."""
    from pymilvus.client import entity_helper

    a = assistant(tiny_source, f"milvus:{tmp_path}/store.db")
    a.build()
    assert entity_helper.CHECK_STR_ARRAY is True
    store = a._open_store()
    row = {k: v for k, v in store.client.query(store.name, filter='source == "report.txt"', output_fields=["*"], limit=1)[0].items()
           if k != "sparse"}
    for bad in ({"text": 12345}, {"text": "x" * 70000}):
        with pytest.raises(StoreError, match="failed to store passages"):
            store.upsert([row | {"id": "bad"} | bad])
        assert entity_helper.CHECK_STR_ARRAY is True
    assert not store.client.query(store.name, filter='id == "bad"', output_fields=["id"], limit=1)


# --- the Milvus Lite server ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path) -> tuple[str, subprocess.Popen]:
    """`milvus-lite server` on 127.0.0.1 (a gRPC server, as Milvus Standalone is): its URI and process."""
    port = free_port()
    exe = Path(sys.executable).with_name("milvus-lite")
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"milvus://127.0.0.1:{port}", proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"milvus-lite server did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server for this module's tests (each uses a collection of its own); stopped after them."""
    uri, proc = start_server(tmp_path_factory.mktemp("milvus-server") / "data")
    yield uri
    stop_server(proc)


QUERY = """
import json, sys
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder, FakeReader
from reportqa.assistant import Assistant
from reportqa.settings import DEFAULT
a = Assistant({source!r}, encoder=FakeEncoder(), reader=FakeReader(prefer="roof"), settings=DEFAULT.with_(store={store!r}))
a.load()
print("ready", flush=True)
sys.stdin.readline()  # both processes start their questions together
out = [a.answer(q).to_dict() for q in ["When was the new roof finished?", "How many buses were counted?"] * 10]
print(json.dumps(out))
"""


@needs_milvus
def test_server_build_and_two_processes_querying_at_once(tmp_path, tiny_source, server):
    server += "#two_processes"
    a = assistant(tiny_source, server, prefer="roof")
    assert a.build().chunks >= 1
    expected = [a.answer(q).to_dict() for q in ["When was the new roof finished?", "How many buses were counted?"] * 10]
    script = QUERY.format(tests=str(TESTS), source=str(tiny_source), store=server)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert json.loads(out) == expected
    assert expected[0]["answered"] and "roof" in expected[0]["text"]


@needs_milvus
def test_server_that_is_down_is_one_line_and_exit_1(tmp_path, tiny_source, capsys):
    from reportqa.cli import main

    port = free_port()  # nothing listens there
    said = f"reportqa: error: Cannot reach the Milvus store at http://127.0.0.1:{port}"
    # `reportqa ask` in a process of its own: what a user sees, whole.
    out = subprocess.run([sys.executable, "-m", "reportqa", "ask", "--source", str(tiny_source), "--store", f"milvus://127.0.0.1:{port}", "When?"],
                         capture_output=True, text=True, timeout=120, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 1, out.stderr
    assert out.stderr.startswith(said) and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert main(["index", "--source", str(tiny_source), "--store", f"milvus://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(said) and len(err.strip().splitlines()) == 1, err


@needs_milvus
def test_server_stopped_mid_session_is_a_store_error(tmp_path, tiny_source):
    uri, proc = start_server(tmp_path / "data")
    try:
        a = assistant(tiny_source, uri, prefer="roof")
        a.build()
        assert a.answer("When was the new roof finished?").answered
    finally:
        stop_server(proc)  # the server goes away under a loaded assistant
    with pytest.raises(StoreError, match=f"The Milvus store at http://{uri[len('milvus://'):]} failed to search"):
        a.answer("When was the new roof finished?")


HOLD = """
import sys
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder, FakeReader
from reportqa.assistant import Assistant
from reportqa.settings import DEFAULT
a = Assistant({source!r}, encoder=FakeEncoder(), reader=FakeReader(), settings=DEFAULT.with_(store={store!r}))
a.build()
print("holding", flush=True)
sys.stdin.readline()
"""


@needs_milvus
def test_embedded_store_open_in_another_process_says_to_use_a_server(tmp_path, tiny_source):
    store = f"milvus:{tmp_path}/store.db"
    holder = subprocess.Popen([sys.executable, "-c", HOLD.format(tests=str(TESTS), source=str(tiny_source), store=store)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding", holder.stderr.read()
        with pytest.raises(StoreError, match="one process at a time.*milvus-lite server"):
            assistant(tiny_source, store).answer("When was the roof finished?")
    finally:
        holder.communicate("\n", timeout=60)


@needs_milvus
def test_reportqa_index_with_a_store(tmp_path, tiny_source, capsys, monkeypatch):
    import reportqa.assistant
    from reportqa.cli import main

    monkeypatch.setattr(reportqa.assistant, "default_encoder", lambda notify=None: FakeEncoder())
    store = f"milvus:{tmp_path}/store.db"
    assert main(["index", "--source", str(tiny_source), "--store", store]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Indexed 1 file, 1 chunk in ") and out.rstrip().endswith(f"-> {tmp_path}/store.db#reportqa")
    assert main(["index", "--source", str(tiny_source), "--store", store]) == 0
    assert capsys.readouterr().out.startswith("Index is up to date: 1 file, 1 chunk in ")
