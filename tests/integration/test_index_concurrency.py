"""Index atomicity and concurrency: killed builds, parallel builds, readers during a rebuild, read-only folders.

Builds run in subprocesses with the fake encoder, so a SIGKILL hits a real
process at a real moment of its build.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TESTS, TINY_REPORT, FakeEncoder

from reportqa.errors import IndexError_
from reportqa.index import FILES, ensure_index, read_index

# Two versions of a report that differ in length, so a mix of builds would also mix counts.
VERSION_A = TINY_REPORT * 40
VERSION_B = TINY_REPORT.replace("40 buses", "41 buses and a tram") * 55

CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from conftest import FakeEncoder
from reportqa import faults
from reportqa.index import ensure_index

source, index_dir, mode = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
start_at = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0

if mode == "kill-while-writing":       # after embeddings.npy and sentence_embeddings.npy, before the rest
    faults.arm("index.write", "kill", detail="lexical_vocab.json")
elif mode == "kill-before-swap":
    faults.arm("index.swap", "kill")
elif mode == "kill-between-renames":   # the fallback swap, where the index is briefly absent
    faults.arm("index.exchange", "skip")
    faults.arm("index.set-aside", "kill")
elif mode == "kill-after-exchange":    # new index in place, old one not yet removed
    faults.arm("index.swapped", "kill")
elif mode == "two-renames":
    faults.arm("index.exchange", "skip")

print("ready", flush=True)
while time.time() < start_at:
    time.sleep(0.005)
force = mode != "ensure"
rounds = int(os.environ.get("ROUNDS", "1"))
for i in range(rounds):
    if rounds > 1:
        (source / "report.txt").write_text(os.environ["VERSION_A" if i % 2 else "VERSION_B"], encoding="utf-8")
    _, summary = ensure_index(source, index_dir, FakeEncoder(), force=force)
unfired = [f.point for f in faults.armed_points() if not f.fired]
assert not unfired, f"fault points never reached: {unfired}"
print("REBUILT" if summary else "FRESH", flush=True)
"""

# The fault point each kill mode arms; the child says on stderr that it fired.
KILLED_AT = {
    "kill-while-writing": "index.write",
    "kill-before-swap": "index.swap",
    "kill-between-renames": "index.set-aside",
    "kill-after-exchange": "index.swapped",
}


def child(source: Path, index_dir: Path, mode: str, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(TESTS), str(source), str(index_dir), mode, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assert_one_whole_build(index_dir: Path, versions: dict[str, str]) -> str:
    """The index loads, and every part of it comes from one build of one version; returns its hash."""
    index = read_index(index_dir)
    digest = index.manifest["sources"]["report.txt"]
    assert digest in versions, "the index matches neither version of the source"
    text = versions[digest]
    for c in index.chunks:
        assert text[c.start : c.end] == c.text
    # The vectors belong to these very chunks (the fake encoder is deterministic).
    assert np.array_equal(index.embeddings, FakeEncoder().encode([c.text for c in index.chunks]))
    sentences = [text[s:e] for c in index.chunks for s, e in c.sentences]
    assert np.array_equal(index.sentence_embeddings, FakeEncoder().encode(sentences))
    return digest


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.parent.iterdir() if p.name.startswith(f".{index_dir.name}.") and not p.name.endswith(".lock"))


@pytest.fixture
def two_versions(tmp_path):
    """A source at VERSION_A with a fresh index; returns (source, index_dir, {hash: text})."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "report.txt").write_text(VERSION_A, encoding="utf-8")
    index_dir = tmp_path / "index"
    ensure_index(source, index_dir, FakeEncoder())
    return source, index_dir, {sha(VERSION_A): VERSION_A, sha(VERSION_B): VERSION_B}


# --- SIGKILL --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["kill-while-writing", "kill-before-swap", "kill-between-renames", "kill-after-exchange"])
def test_build_killed_at_each_critical_step_leaves_a_usable_index(two_versions, mode):
    source, index_dir, versions = two_versions
    (source / "report.txt").write_text(VERSION_B, encoding="utf-8")
    proc = child(source, index_dir, mode)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    assert f"reportqa: fault {KILLED_AT[mode]} fired" in err  # killed at its fault point, not elsewhere
    expected_hash = sha(VERSION_B) if mode == "kill-after-exchange" else sha(VERSION_A)
    assert assert_one_whole_build(index_dir, versions) == expected_hash
    assert leftovers(index_dir)  # the kill did leave debris behind ...
    notes: list[str] = []
    _index, _ = ensure_index(source, index_dir, FakeEncoder(), notify=notes.append)
    assert assert_one_whole_build(index_dir, versions) == sha(VERSION_B)
    assert leftovers(index_dir) == []  # ... which the next build cleans up


def test_sigkill_at_random_moments_never_loses_the_index(tmp_path):
    # A bigger report than the other tests, so a build lasts long enough to be hit in every phase.
    big = {sha(VERSION_A * 8): VERSION_A * 8, sha(VERSION_B * 8): VERSION_B * 8}
    texts = list(big.values())
    source = tmp_path / "source"
    source.mkdir()
    index_dir = tmp_path / "index"
    (source / "report.txt").write_text(texts[0], encoding="utf-8")
    ensure_index(source, index_dir, FakeEncoder())
    # How long does one build take in a child, from "ready" to its result?
    (source / "report.txt").write_text(texts[1], encoding="utf-8")
    proc = child(source, index_dir, "force")
    proc.stdout.readline()
    started = time.monotonic()
    proc.stdout.readline()
    build_seconds = time.monotonic() - started
    proc.communicate(timeout=60)
    assert proc.returncode == 0

    rng = random.Random(5)
    seen = {"old": 0, "new": 0, "debris": 0}
    rounds = 0

    def every_case_seen() -> bool:
        return seen["old"] >= 3 and seen["new"] >= 3 and seen["debris"] >= 1

    # 25 kills over one build's time, then more (at most 100 in all) until every case was hit.
    # Where a case is missing, the later kills aim at it. Too few after the swap: the build runs
    # slower than the one measured above (a loaded machine), so the wait grows 10% a round. No
    # debris yet: a build leaves its folder behind only when killed as it writes, about 0.75-0.9
    # of the way through (mapped over 80 kills on a quiet machine: 3 of them), which waits
    # spread over the whole build hit 1 time in 20; so they aim at its last part. (Growing the
    # wait alone once went 84 rounds, and minutes a round, without debris.)
    while rounds < 25 or (not every_case_seen() and rounds < 100):
        i, rounds = rounds, rounds + 1
        before = assert_one_whole_build(index_dir, big)
        target = texts[i % 2] + f"Round {i}.\n"  # each round's build is told apart from all others
        big[sha(target)] = target
        (source / "report.txt").write_text(target, encoding="utf-8")
        proc = child(source, index_dir, "force")
        assert proc.stdout.readline().strip() == "ready"
        if i >= 25 and seen["new"] < 3:
            time.sleep(rng.uniform(0, build_seconds * 1.1 ** (i - 24)))
        elif i >= 25 and seen["debris"] < 1:
            time.sleep(rng.uniform(0.6, 1.1) * build_seconds)
        else:
            time.sleep(rng.uniform(0, build_seconds))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        after = assert_one_whole_build(index_dir, big)  # usable every time, and never a mix
        assert after in (before, sha(target))
        seen["old" if after == before else "new"] += 1
        seen["debris"] += bool(leftovers(index_dir))
    print(f"{rounds} kills over a {build_seconds:.2f} s build: {seen}")
    # The kills landed before the swap, after it, and mid-write, so each case was really exercised.
    assert every_case_seen(), seen
    _, summary = ensure_index(source, index_dir, FakeEncoder())
    assert summary is not None or leftovers(index_dir) == []
    assert leftovers(index_dir) == []


def test_a_reader_recovers_an_index_left_aside_between_two_renames(two_versions):
    source, index_dir, versions = two_versions
    (source / "report.txt").write_text(VERSION_B, encoding="utf-8")
    proc = child(source, index_dir, "kill-between-renames")
    _, err = proc.communicate(timeout=60)
    assert "reportqa: fault index.set-aside fired" in err
    assert not index_dir.exists()  # the window the fallback swap has
    assert assert_one_whole_build(index_dir, versions) == sha(VERSION_A)  # read_index puts it back
    assert index_dir.is_dir()


# --- several processes at once ---------------------------------------------------------------


def test_four_processes_building_at_once_finish_with_one_valid_index(two_versions):
    source, index_dir, versions = two_versions
    (source / "report.txt").write_text(VERSION_B, encoding="utf-8")  # stale for all four
    start_at = f"{time.time() + 1.5:.3f}"
    procs = [child(source, index_dir, "ensure", start_at) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in results]
    outcomes = sorted(out.split()[-1] for out, _ in results)
    assert outcomes == ["FRESH", "FRESH", "FRESH", "REBUILT"]  # one built, three waited and used it
    assert assert_one_whole_build(index_dir, versions) == sha(VERSION_B)
    assert sorted(p.name for p in index_dir.iterdir()) == sorted(FILES)
    assert leftovers(index_dir) == []


@pytest.mark.parametrize("swap", ["exchange", "two-renames"])
def test_readers_during_rebuilds_see_the_old_or_the_new_index_never_a_mix(two_versions, swap):
    source, index_dir, versions = two_versions
    env = {"ROUNDS": "12", "VERSION_A": VERSION_A, "VERSION_B": VERSION_B}
    writer = child(source, index_dir, "force" if swap == "exchange" else "two-renames", env=env)
    assert writer.stdout.readline().strip() == "ready"
    seen: dict[str, int] = {}
    reads = 0
    while writer.poll() is None:
        digest = assert_one_whole_build(index_dir, versions)
        seen[digest] = seen.get(digest, 0) + 1
        reads += 1
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    print(f"{swap}: {reads} consistent reads during 12 rebuilds: {seen}")
    assert reads >= 20 and len(seen) == 2, (reads, seen)


# --- read-only folders ----------------------------------------------------------------------

AS_USER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from conftest import FakeEncoder
from reportqa.assistant import Assistant
from reportqa.errors import ReportQAError

a = Assistant(Path(sys.argv[2]), Path(sys.argv[3]), encoder=FakeEncoder(), notify=lambda m: print("NOTICE", m))
try:
    answer = a.answer("When did the inspectors visit the depot?")
    print("ANSWER", answer.citations[0].text[:40])
except ReportQAError as exc:
    print("ERROR", exc)
    sys.exit(1)
"""


def run_unprivileged(*args: str) -> subprocess.CompletedProcess:
    """Run AS_USER as an ordinary user: root ignores file permissions, so a root test would prove nothing."""
    command = [sys.executable, "-c", AS_USER, str(TESTS), *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop privileges to test permissions honestly")
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/", check=False)


@pytest.fixture
def world_readable_tmp():
    """A temp folder that user nobody can read but not write (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="reportqa-ro-"))
    path.chmod(0o755)
    yield path
    for p in [path, *path.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(path)


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("writable_parent", [False, True], ids=["readonly-parent", "readonly-index-only"])
def test_read_only_index_folder_works_when_fresh_and_fails_clearly_when_stale(world_readable_tmp, writable_parent):
    base = world_readable_tmp
    source = base / "source"
    source.mkdir()
    (source / "report.txt").write_text(TINY_REPORT, encoding="utf-8")
    index_dir = base / "index"
    ensure_index(source, index_dir, FakeEncoder())
    index_dir.chmod(0o555)
    for p in index_dir.iterdir():
        p.chmod(0o444)
    if writable_parent:
        base.chmod(0o777)  # only the index folder itself is read-only
    before = listing(base)

    fresh = run_unprivileged(str(source), str(index_dir))
    assert fresh.returncode == 0 and "ANSWER" in fresh.stdout, fresh.stdout + fresh.stderr
    assert listing(base) == before

    base.chmod(0o755)
    with open(source / "report.txt", "a", encoding="utf-8") as fh:
        fh.write("\nThe depot closed in 2024.\n")
    if writable_parent:
        base.chmod(0o777)
    before = listing(base)
    names_before = sorted(p.name for p in base.iterdir())
    stale = run_unprivileged(str(source), str(index_dir))
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "needs a rebuild (the source changed (report.txt)) but the folder is not writable" in stale.stdout
    assert "--index with a writable folder" in stale.stdout and "Traceback" not in stale.stderr
    assert listing(base) == before and sorted(p.name for p in base.iterdir()) == names_before  # nothing half-written


def test_an_index_in_an_unwritable_place_is_refused_before_any_work(tmp_path, fake_encoder, tiny_source):
    # The decision itself, in this process (the unprivileged run above exercises it as a user).
    # A regular file without execute bits is no folder one can create in, even for root.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    blocker.chmod(0o644)
    with pytest.raises(IndexError_, match="it is missing\\) but the folder is not writable"):
        ensure_index(tiny_source, blocker / "index", fake_encoder)
    assert fake_encoder.encoded == 0 and blocker.read_text(encoding="utf-8") == "not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", tiny_source.name]
