"""The fault-point seam (reportqa.faults) that the index's fault tests arm."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from reportqa import faults

SRC = ROOT / "src" / "reportqa"


def test_every_fault_point_is_in_the_code_and_every_call_names_a_known_point():
    called = set()
    for path in SRC.rglob("*.py"):
        called |= set(re.findall(r"\bfault\(\"([\w.-]+)\"", path.read_text("utf-8")))
    assert called == set(faults.POINTS)


def test_a_point_or_action_that_does_not_exist_cannot_be_armed():
    with pytest.raises(ValueError, match="no fault point 'index.wirte'"):
        faults.arm("index.wirte", "kill")
    with pytest.raises(ValueError, match="no fault action 'explode'"):
        faults.arm("index.swap", "explode")
    assert faults.armed_points() == []


def test_an_armed_point_fires_on_its_detail_only_and_is_disarmed_after():
    seen = []
    assert faults.fault("index.write", "embeddings.npy") is False  # nothing armed
    with faults.armed("index.write", lambda point, detail: seen.append(detail), detail="token_rows.npy") as f:
        assert faults.fault("index.write", "embeddings.npy") is False
        assert faults.fault("index.write", "token_rows.npy") is True
    assert f.fired == 1 and seen == ["token_rows.npy"] and faults.armed_points() == []
    with faults.armed("index.swap", "enospc"), pytest.raises(OSError, match="No space left"):
        faults.fault("index.swap")


def test_faults_can_be_armed_from_the_environment_of_a_child_process(tmp_path: Path):
    code = "from reportqa import faults; print([(f.point, f.detail, f.action) for f in faults.armed_points()])"
    env = {**os.environ, faults.ENV: "index.exchange=skip; index.write@embeddings.npy=kill"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[('index.exchange', None, 'skip'), ('index.write', 'embeddings.npy', 'kill')]"
    env[faults.ENV] = "index.swap"
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode != 0 and "is not point[@detail]=action" in bad.stderr
