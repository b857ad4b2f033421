"""Soak: does memory stay flat over many answers in one process? (issue 5)

    python -m benchmarks.soak                 # 10,000 answers on the bundled report
    python -m benchmarks.soak --answers 2000 --max-growth-mb 20

Asks the fixed questions of tests/data/questions.jsonl, each made unique with a
counter (so no cache can hide a leak), through ``reportqa.answer``. Prints RSS
after a warm-up, every tenth of the run, and at the end. Not a timed test: the
exit status is 1 only when --max-growth-mb is given and the growth exceeds it.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(field: str = "VmRSS") -> float:
    """Current (VmRSS) or peak (VmHWM) resident set size from /proc (Linux); peak RSS elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=1000, help="answers before the baseline is taken")
    parser.add_argument("--max-growth-mb", type=float, default=None, help="fail if RSS grows more than this")
    args = parser.parse_args(argv)

    import reportqa

    lines = (ROOT / "tests" / "data" / "questions.jsonl").read_text("utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]

    def ask(i: int):
        return reportqa.answer(f"{questions[i % len(questions)]} ({i})", k=3)

    started = time.perf_counter()
    for i in range(args.warmup):
        ask(i)
    gc.collect()
    before = rss_mb()
    print(f"warm-up: {args.warmup} answers, RSS {before:.1f} MB")
    step = max(1, args.answers // 10)
    answered = 0
    for i in range(args.answers):
        answered += ask(args.warmup + i).answered
        if (i + 1) % step == 0:
            print(f"  {i + 1:>6} answers  RSS {rss_mb():7.1f} MB", flush=True)
    gc.collect()
    after = rss_mb()
    seconds = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    from reportqa.text import stem

    print(
        f"{args.answers} answers ({answered} answered) in {seconds:.0f} s: "
        f"RSS before {before:.1f} MB, after {after:.1f} MB, growth {after - before:+.1f} MB, peak {peak:.1f} MB"
    )
    # Each soak question carries a new number, so the stemmer's bounded cache keeps growing.
    print(f"stemmer cache: {stem.cache_info().currsize:,} of {stem.cache_info().maxsize:,} words")
    if args.max_growth_mb is not None and after - before > args.max_growth_mb:
        print(f"FAIL: RSS grew more than {args.max_growth_mb} MB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
