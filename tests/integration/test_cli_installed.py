"""The installed command against the real core, in a subprocess: `ask`, stdin mode, `index` and `eval`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cli_helpers import REPORT, valid_answer
from conftest import ROOT

QUESTION = "When did the IOPC publish the full findings of Operation Amazon?"


def run(args, tmp_path, stdin_text=None):
    env = dict(
        os.environ,
        REPORTQA_HISTORY=str(tmp_path / "history"),
        NO_COLOR="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "reportqa", *args],
        input=stdin_text,
        check=False,  # the exit status is what these tests check
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # any working directory works
        timeout=300,
    )


def test_real_ask_json(tmp_path):
    done = run(["ask", "--json", QUESTION], tmp_path)
    assert done.returncode == 0, done.stderr
    obj = valid_answer(json.loads(done.stdout))
    assert obj["answered"] is True and obj["question"] == QUESTION
    source = (ROOT / "source_text" / obj["citations"][0]["source"]).read_text(encoding="utf-8")
    q = obj["quote"]
    assert source[q["start"] : q["end"]] == obj["text"]
    for c in obj["citations"]:
        assert source[c["start"] : c["end"]] == c["text"]


def test_real_ask_plain(tmp_path):
    done = run(["ask", QUESTION], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[1] iopc-operation-amazon.txt, line " in done.stdout
    assert "confidence: " in done.stdout


def test_real_missing_source_exits_1_with_one_line(tmp_path):
    done = run(["ask", "--source", str(tmp_path / "missing"), QUESTION], tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    # One error line, last; a first run may print a one-time model notice before it.
    errors = [line for line in done.stderr.splitlines() if line.startswith("reportqa: error: ")]
    assert len(errors) == 1 and done.stderr.splitlines()[-1] == errors[0]
    assert str(tmp_path / "missing") in errors[0]
    assert "Traceback" not in done.stderr


def test_real_stdin_mode(tmp_path):
    done = run([], tmp_path, stdin_text=f"{QUESTION}\n\nWho made the complaint in 2017?\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\nQ: ") + done.stdout.startswith("Q: ") == 2
    assert "\x1b" not in done.stdout and "reportqa>" not in done.stdout
    json_done = run(
        ["chat", "--json"], tmp_path, stdin_text=f"{QUESTION}\nWho made the complaint?\n"
    )
    assert json_done.returncode == 0, json_done.stderr
    assert len([valid_answer(json.loads(line)) for line in json_done.stdout.splitlines()]) == 2


def test_real_index_and_eval_on_another_report(tmp_path):
    report = tmp_path / "depot.txt"
    report.write_text(REPORT, encoding="utf-8")
    index = tmp_path / "depot-index"
    built = run(["index", "--source", str(report), "--index", str(index)], tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("Indexed 1 file, ") and str(index) in built.stdout
    again = run(["index", "--source", str(report), "--index", str(index)], tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("Index is up to date: 1 file, ")

    start = REPORT.index("Ann Lee")
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "a",
                "q": "Who is the depot manager?",
                "answers": ["Ann Lee"],
                "spans": [[start, start + 7]],
            }
        )
        + "\n"
        + json.dumps({"id": "b", "q": "What is the capital of Peru?", "answerable": False})
        + "\n",
        encoding="utf-8",
    )
    where = ["--source", str(report), "--index", str(index)]
    scored = run(["eval", str(questions), *where], tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert "hit@1" in scored.stdout and "MRR@10" in scored.stdout
    scored_json = run(["eval", str(questions), "--json", *where], tmp_path)
    assert scored_json.returncode == 0, scored_json.stderr
    result = json.loads(scored_json.stdout)
    assert {"summary", "misses"} <= set(result)
    assert result["summary"]["hit@1"] == 1.0


def test_real_bad_question_file_exits_1(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("not json\n", encoding="utf-8")
    done = run(["eval", str(questions)], tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("reportqa: error: ")
    assert "q.jsonl:1" in done.stderr and "Traceback" not in done.stderr

def test_real_another_report_with_the_default_index_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh-cache"))
    monkeypatch.delenv("REPORTQA_CACHE_DIR", raising=False)
    report = tmp_path / "depot.txt"
    report.write_text(REPORT, encoding="utf-8")
    done = run(["ask", "--json", "--source", str(report), "Who is the depot manager?"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Ann Lee" in valid_answer(json.loads(done.stdout))["text"]
