"""The MWAA layout of the deploy bundle and its parse (shared by the DAG integrity and pod
command tests); the parse is the deploy command's own integrity check."""

from __future__ import annotations

from pathlib import Path

from data_platform.deploy.integrity import parse_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]
# the CDC DAGs exist only when tables are configured: the bundle is built with the tests' own
FIXTURE_CDC_TABLES = REPO_ROOT / "tests" / "fixtures" / "include" / "cdc" / "tables"

__all__ = ["FIXTURE_CDC_TABLES", "parse_bundle"]
