"""A wheel install is the same tool as the editable one: it carries the report and its index.

The wheel is built from a copy of the project (so the worktree gets no build/ or
*.egg-info), installed into a fresh venv, and asked a question with the real
model. The venv reuses this environment's installed dependencies through a .pth
file written after the install (not torch again), while reportqa itself must
come from the wheel: the test checks where it is imported from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

PROJECT_FILES = ("LICENSE", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
PROJECT_FOLDERS = ("src", "source_text", "index")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the venv layout below is POSIX")


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, **kwargs)
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    """The .whl built below."""
    return built[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """pip wheel --no-deps of a clean copy of the project; returns the .whl and the build's output."""
    tmp = tmp_path_factory.mktemp("wheel")
    project = tmp / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, project / name)
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*")
    for name in PROJECT_FOLDERS:
        shutil.copytree(ROOT / name, project / name, ignore=junk)
    # No build isolation: setuptools comes from this environment (the [test] extra), offline.
    done = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                "-v", "-w", str(tmp / "dist"), str(project)])  # -v: the backend's warnings, for the test below
    (whl,) = (tmp / "dist").glob("reportqa-*.whl")
    return whl, done.stdout + done.stderr


def test_the_build_warns_of_nothing_deprecated_and_the_license_is_an_spdx_expression(built):
    # A `project.license` table used to be warned about as deprecated (PEP 639).
    whl, log = built
    assert "running bdist_wheel" in log  # the backend's own output is there to be read
    assert "SetuptoolsDeprecationWarning" not in log and "project.license" not in log
    (metadata,) = [n for n in zipfile.ZipFile(whl).namelist() if n.endswith(".dist-info/METADATA")]
    headers = zipfile.ZipFile(whl).read(metadata).decode("utf-8").split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers


def test_the_wheel_holds_the_report_and_its_index(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((ROOT / "source_text").iterdir()) + sorted((ROOT / "index").iterdir()):
        if not path.name.startswith("."):
            assert f"reportqa/_bundled/{path.parent.name}/{path.name}" in names
    assert "reportqa/py.typed" in names
    assert not any(n.startswith(("source_text/", "index/")) for n in names)  # inside the package only
    assert not any(n.startswith(("training/", "benchmarks/")) for n in names)  # the checkout's, not the package's


def test_an_installed_wheel_answers_from_its_own_report(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)])
    # Only now (so pip saw no reportqa already installed): this environment's packages,
    # after the venv's own site-packages, for numpy, onnxruntime and the model.
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    paths = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "_test_dependencies.pth").write_text("\n".join(paths) + "\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NO_COLOR"] = "1"
    where = run([str(python), "-c", "import reportqa, reportqa.assistant as a; print(reportqa.__file__); print(a.BUNDLED_SOURCE); print(a.BUNDLED_INDEX)"],
                env=env, cwd=tmp_path).stdout.split("\n")
    for line in where[:3]:
        assert Path(line).resolve().is_relative_to(venv.resolve()), where  # the wheel's, not the checkout's
    assert where[1].endswith("reportqa/_bundled/source_text") and where[2].endswith("reportqa/_bundled/index")

    done = run([str(venv / "bin" / "reportqa"), "ask", "--json", "What rank counts as a senior officer?"], env=env, cwd=tmp_path)
    answer = json.loads(done.stdout)
    assert answer["answered"] is True and "Chief Superintendent" in answer["text"]
    report = (ROOT / "source_text" / answer["quote"]["source"]).read_text(encoding="utf-8")
    assert report[answer["quote"]["start"] : answer["quote"]["end"]] == answer["text"]
    assert "rebuilding" not in done.stderr and "building the index" not in done.stderr  # the shipped index is fresh
