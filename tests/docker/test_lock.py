"""``make lock`` reproduces the committed constraints.txt: the same resolution (requirements.txt
without its MWAA constraints line, plus requirements-dev.txt, for the oldest supported 3.11),
resolved as ``make lock`` resolves it, against the package index. Not ``--offline``: offline, uv
resolves from whatever its cache holds and silently picks another version of a package whose
pinned version it has not cached (setuptools 84 for the pinned 65 after a cache change), so the
result would depend on the machine's cache. Without the index the test is skipped, saying so."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _lock_python() -> str:
    match = re.search(r"^LOCK_PYTHON := (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile defines LOCK_PYTHON"
    return match.group(1)


def test_make_lock_reproduces_the_committed_constraints(tmp_path):
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("uv is installed by `make install`")
    requirements = tmp_path / "requirements-mwaa.txt"
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    requirements.write_text("\n".join(line for line in lines if "--constraint" not in line) + "\n")
    output = tmp_path / "constraints.txt"
    shutil.copy(REPO_ROOT / "constraints.txt", output)  # as `make lock`: existing pins are preferred
    result = subprocess.run(
        [
            str(uv), "pip", "compile", "--python-version", _lock_python(), str(requirements),
            str(REPO_ROOT / "requirements-dev.txt"), "--no-annotate", "--custom-compile-command", "make lock",
            "-o", str(output),
        ],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    if result.returncode != 0 and re.search(r"network|connect|dns|timed out", result.stderr, re.IGNORECASE):
        pytest.skip(f"the package index is unreachable, so `make lock` cannot resolve: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert output.read_text() == (REPO_ROOT / "constraints.txt").read_text()
