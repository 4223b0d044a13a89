"""Run a pod task's command as a local process (target ``local``).

The process gets the pod's command, arguments and environment; it runs from the checkout with the
repository root on ``PYTHONPATH`` (so ``python -m spark_jobs.cdc.plan`` works) and ``python``
meaning the interpreter running Airflow; :class:`data_platform.process.LocalProcess` runs it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from data_platform.paths import REPO_ROOT
from data_platform.process import child_environment

PYTHON_ALIASES = ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}")


def local_command(cmds: Sequence[str], arguments: Sequence[str]) -> list[str]:
    """The pod's entrypoint + args as one argv; ``python`` becomes this interpreter."""
    argv = [str(part) for part in (*cmds, *arguments)]
    if not argv:
        raise ValueError(
            "cmds/arguments are empty: a local run needs a command (the image's default is unknown)."
        )
    if argv[0] in PYTHON_ALIASES:
        argv[0] = sys.executable
    return argv


def local_environment(task_env: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker environment minus connections/variables, plus the task's env and repo paths."""
    env = child_environment(task_env, base)
    python_path = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(python_path))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
