"""What goes to the MWAA bucket: the DAG files, include/ beside them, and plugins.zip.

``plugins.zip`` is built from *inside* ``plugins/`` (MWAA unpacks it into the plugins folder;
a zip of the folder itself would nest everything one level too deep and break imports). The
zip is deterministic, so an unchanged tree gives byte-identical bytes and no new S3 version.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from data_platform.paths import REPO_ROOT

_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not _SKIP_PARTS & set(path.parts) and path.suffix != ".pyc":
            yield path


def plugins_zip(plugins_dir: Path = REPO_ROOT / "plugins") -> bytes:
    """The bytes of plugins.zip, paths relative to ``plugins_dir``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(plugins_dir):
            info = zipfile.ZipInfo(path.relative_to(plugins_dir).as_posix(), date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def dag_files(repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """S3 key (relative to the DAGs prefix) -> local file: dags/* and include/** as dags/include/."""
    keys = {p.relative_to(repo_root / "dags").as_posix(): p for p in _files(repo_root / "dags")}
    for path in _files(repo_root / "include"):
        keys["include/" + path.relative_to(repo_root / "include").as_posix()] = path
    return keys
