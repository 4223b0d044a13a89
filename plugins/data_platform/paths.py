"""Where the platform finds its configuration and local working folders.

The same code runs from a checkout (local target, CI, docker compose) and from MWAA, where
``plugins/`` is unpacked to ``$AIRFLOW_HOME/plugins`` and ``include/`` is deployed next to the
DAGs (``$AIRFLOW_HOME/dags/include``).
"""

from __future__ import annotations

import os
from pathlib import Path

PLUGINS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PLUGINS_DIR.parent


def include_dir() -> Path:
    """The folder with profiles, Spark defaults, table configs, SQL and data-quality rules."""
    candidates = [
        os.environ.get("PLATFORM_INCLUDE_DIR"),
        REPO_ROOT / "include",
        Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", REPO_ROOT / "dags")) / "include",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise FileNotFoundError(
        "No include/ folder found. Set PLATFORM_INCLUDE_DIR to the folder holding the platform "
        f"configuration (looked in: {', '.join(str(c) for c in candidates if c)})."
    )


def local_dir() -> Path:
    """Root of the local runtime's state (Airflow home, PostgreSQL data, lake); git-ignored."""
    return Path(os.environ.get("PLATFORM_LOCAL_DIR", REPO_ROOT / ".local")).resolve()
