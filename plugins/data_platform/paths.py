"""Where the platform finds its configuration and local working folders.

Configuration lives in *include folders*, searched in order (the first folder holding a file
wins; folders of several entries merge):

- ``PLATFORM_INCLUDE_PATH`` (``os.pathsep``-separated), when set. The local runtime sets
  ``<checkout>/include`` plus the demo overlay ``<checkout>/include/demo`` and the compiled CDC
  index folder; tests set their fixture folders.
- otherwise the deployed layout: ``<dags folder>/include`` (MWAA syncs ``s3://BUCKET/dags/``
  to ``$AIRFLOW_HOME/dags``; ``plugins.zip`` is unpacked to ``$AIRFLOW_HOME/plugins``).

Nothing here looks at the checkout implicitly: a process that should see the checkout's
``include/`` says so through ``PLATFORM_INCLUDE_PATH`` or ``AIRFLOW__CORE__DAGS_FOLDER``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

INCLUDE_PATH_ENV_VAR = "PLATFORM_INCLUDE_PATH"
PLUGINS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PLUGINS_DIR.parent


def dags_folder() -> Path:
    """The Airflow dags folder of this process (``AIRFLOW__CORE__DAGS_FOLDER``, else $AIRFLOW_HOME/dags)."""
    configured = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if configured:
        return Path(configured)
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow")) / "dags"


def include_path() -> list[Path]:
    """The include folders, searched in order; raises FileNotFoundError naming the fix."""
    raw = os.environ.get(INCLUDE_PATH_ENV_VAR)
    candidates = [Path(p) for p in raw.split(os.pathsep) if p] if raw else [dags_folder() / "include"]
    found = [c for c in candidates if c.is_dir()]
    if not found:
        raise FileNotFoundError(
            f"No include folder found (looked in: {', '.join(map(str, candidates))}). Set "
            f"{INCLUDE_PATH_ENV_VAR} to the folders holding the platform configuration, or run "
            "through `python -m data_platform.local.runtime`, which sets it."
        )
    return found


def include_file(relative_path: str, folders: Sequence[Path] | None = None) -> Path:
    """``<folder>/<relative_path>`` of the first include folder holding it (the first folder's
    path when none does, so a caller's 'does not exist' error names the expected place).
    ``folders``: search these instead of :func:`include_path` (a bundle being built)."""
    folders = list(folders) if folders is not None else include_path()
    for folder in folders:
        candidate = folder / relative_path
        if candidate.exists():
            return candidate
    return folders[0] / relative_path


def include_files(relative_dir: str, pattern: str) -> dict[str, Path]:
    """Files matching ``pattern`` in ``<folder>/<relative_dir>`` of every include folder, by
    name (an earlier folder's file wins), sorted by name."""
    files: dict[str, Path] = {}
    for folder in include_path():
        for path in sorted((folder / relative_dir).glob(pattern)):
            files.setdefault(path.name, path)
    return dict(sorted(files.items()))


def local_dir() -> Path:
    """Root of the local runtime's state (Airflow home, PostgreSQL data, lake); git-ignored."""
    return Path(os.environ.get("PLATFORM_LOCAL_DIR", REPO_ROOT / ".local")).resolve()
