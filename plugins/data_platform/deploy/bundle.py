"""The MWAA deploy bundle: the exact bytes ``python -m data_platform.deploy.mwaa deploy`` uploads.

What ships where on MWAA (the environment's source bucket)::

    s3://BUCKET/dags/<file>.py            dags/*.py (+ .airflowignore)       -> $AIRFLOW_HOME/dags
    s3://BUCKET/dags/include/...          include/ minus the demo (include/demo/), the local demo
                                          registry (include/local/), the startup script
                                          (include/mwaa/) and the CDC YAML sources, plus the
                                          compiled CDC index include/cdc/tables.json
                                          and its cadences include/cdc/cadences.json
    s3://BUCKET/plugins.zip               plugins/ minus data_platform/local/ (demo and local
                                          stand-ins) and data_platform/deploy/ (this tooling)
                                                                            -> $AIRFLOW_HOME/plugins
    s3://BUCKET/requirements.txt          requirements.txt
    s3://BUCKET/startup.sh                include/mwaa/startup.sh

``spark_jobs/`` never goes to MWAA: job code reaches EMR Serverless and pods as versioned
artifacts (``data_platform.spark.artifacts``). ``plugins.zip`` is built from *inside*
``plugins/`` (a zip of the folder itself would nest everything one level too deep), and
everything is deterministic: an unchanged tree gives byte-identical bytes.

    python -m data_platform.deploy.bundle build --out dist/mwaa   # write the bundle as MWAA lays it out
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from data_platform.paths import REPO_ROOT

_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# plugins/ folders that never ship (paths relative to plugins/)
PLUGINS_EXCLUDED = ("data_platform/local/", "data_platform/deploy/")
# include/ folders that never go to the dags folder (paths relative to include/)
INCLUDE_EXCLUDED = ("demo/", "local/", "mwaa/", "cdc/tables/")
CDC_TABLES = "cdc/tables"
CDC_INDEX = "cdc/tables.json"
CDC_CADENCES = "cdc/cadences.json"


@dataclass(frozen=True)
class Bundle:
    """Everything one deploy uploads: ``dags`` maps keys under ``s3://BUCKET/dags/`` to bytes."""

    dags: dict[str, bytes]
    plugins_zip: bytes
    requirements: bytes
    startup_script: bytes

    def write(self, airflow_home: Path) -> None:
        """Lay the bundle out as MWAA does: ``dags/`` synced, ``plugins.zip`` unpacked."""
        for key, body in self.dags.items():
            target = airflow_home / "dags" / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        with zipfile.ZipFile(io.BytesIO(self.plugins_zip)) as archive:
            archive.extractall(airflow_home / "plugins")
        (airflow_home / "requirements.txt").write_bytes(self.requirements)
        (airflow_home / "startup.sh").write_bytes(self.startup_script)


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not _SKIP_PARTS & set(path.parts) and path.suffix != ".pyc":
            yield path


def plugins_zip(plugins_dir: Path = REPO_ROOT / "plugins") -> bytes:
    """The bytes of plugins.zip, paths relative to ``plugins_dir``, without the excluded folders."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(plugins_dir):
            name = path.relative_to(plugins_dir).as_posix()
            if name.startswith(PLUGINS_EXCLUDED):
                continue
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def cdc_index(folders: Sequence[Path], include: Path) -> bytes:
    """The compiled CDC table index of ``folders`` (validated; raises TableConfigError, or
    WarehouseFilesError when a table's warehouse DDL or rules file is in neither the include
    folder of its config (``<include>/cdc/tables``) nor the bundle's ``include``)."""
    from data_platform.cdc.warehouse_files import check_warehouse_files
    from spark_jobs.cdc.table_index import compile_folders, index_bytes

    index = compile_folders(list(folders))
    check_warehouse_files(index, [*(Path(f).parent.parent for f in folders), include])
    return index_bytes(index)


def dag_files(repo_root: Path = REPO_ROOT, cdc_tables: Sequence[Path] | None = None) -> dict[str, bytes]:
    """Key under ``s3://BUCKET/dags/`` -> bytes: dags/*, the shipped include/ files as
    ``include/...`` and the CDC index compiled from ``cdc_tables`` (default: the product's
    ``include/cdc/tables``) with its cadences (what the CDC DAG file reads at parse time)."""
    from data_platform.cdc.pipeline import cadence_file

    keys = {p.relative_to(repo_root / "dags").as_posix(): p.read_bytes() for p in _files(repo_root / "dags")}
    include = repo_root / "include"
    for path in _files(include):
        relative = path.relative_to(include).as_posix()
        if not relative.startswith(INCLUDE_EXCLUDED):
            keys[f"include/{relative}"] = path.read_bytes()
    keys[f"include/{CDC_INDEX}"] = cdc_index(cdc_tables or [include / CDC_TABLES], include)
    keys[f"include/{CDC_CADENCES}"] = cadence_file(json.loads(keys[f"include/{CDC_INDEX}"]))
    return dict(sorted(keys.items()))


def build_bundle(repo_root: Path = REPO_ROOT, cdc_tables: Sequence[Path] | None = None) -> Bundle:
    """The deploy bundle of the checkout at ``repo_root`` (``cdc_tables``: see :func:`dag_files`)."""
    return Bundle(
        dags=dag_files(repo_root, cdc_tables),
        plugins_zip=plugins_zip(repo_root / "plugins"),
        requirements=(repo_root / "requirements.txt").read_bytes(),
        startup_script=(repo_root / "include" / "mwaa" / "startup.sh").read_bytes(),
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_platform.deploy.bundle", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["build"])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to lay the bundle out in (an AIRFLOW_HOME)"
    )
    args = parser.parse_args(argv)
    from data_platform.cdc.warehouse_files import WarehouseFilesError
    from spark_jobs.cdc.table_config import TableConfigError

    try:
        bundle = build_bundle()
    except (TableConfigError, WarehouseFilesError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    bundle.write(args.out)
    print(f"{args.out}: {len(bundle.dags)} files under dags/, plugins.zip {len(bundle.plugins_zip)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
