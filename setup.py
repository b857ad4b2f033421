"""Packaging beyond pyproject.toml: the bundled report and its index go into the wheel.

`source_text/` and `index/` stay top-level folders of the repository. A built
wheel (`pip install .`, pipx, `pip wheel .`) copies them into the package as
`reportqa/_bundled/source_text/` and `reportqa/_bundled/index/`, so the
installed tool has its report. An editable install copies nothing:
`reportqa.paths.bundled_root()` then finds them at the top of the checkout.
Everything else, package data included, is declared in pyproject.toml.
"""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("source_text", "index")  # top-level folders -> reportqa/_bundled/<name>/


class BuildPyWithBundle(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = os.path.dirname(os.path.abspath(__file__))
        for name in BUNDLED:
            folder = os.path.join(here, name)
            if not os.path.isdir(folder):
                raise SystemExit(f"{folder} is missing: the wheel would have no report to answer from.")
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # no lock or temp folders
                target = os.path.join(self.build_lib, "reportqa", "_bundled", os.path.relpath(root, here))
                self.mkpath(target)
                for file in sorted(f for f in files if not f.startswith(".")):
                    self.copy_file(os.path.join(root, file), os.path.join(target, file))


setup(cmdclass={"build_py": BuildPyWithBundle})
