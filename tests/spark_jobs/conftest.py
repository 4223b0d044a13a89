"""Fixtures for the Spark job tests: one shared local SparkSession, lake/landing folders,
a moto S3 server, and helpers that write DMS-shaped files."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spark_jobs.cdc.table_config import TableConfig

SOURCE_FOLDER = "src/public/items"
_BUCKETS = itertools.count()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """ONE local session for all Spark tests (local[2], 1g driver, 4 shuffle partitions, no UI),
    with the local target's JVM packages and Hudi settings, as a local job gets them."""
    import os
    import sys

    from data_platform.spark.conf import local_session_conf
    from spark_jobs.common.session import build_spark_session, local_conf

    # Python workers (RDD functions, e.g. the satellite extraction) run this interpreter, as
    # spark-submit's PYSPARK_PYTHON does for the local target.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = build_spark_session(
        "spark-jobs-tests",
        {**local_session_conf(), **local_conf(shuffle_partitions=4, driver_memory="1g", cores=2)},
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def landing(tmp_path: Path) -> str:
    (tmp_path / "landing").mkdir()
    return f"file://{tmp_path / 'landing'}"


@pytest.fixture
def lake(tmp_path: Path) -> str:
    (tmp_path / "lake").mkdir()
    return f"file://{tmp_path / 'lake'}"


@pytest.fixture
def s3_bucket(
    moto_endpoint: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh bucket; AWS_ENDPOINT_URL points at the moto server for this test only."""
    import re

    import boto3
    from s3fs import S3FileSystem

    from spark_jobs.common import lake as lake_io

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    lake_io._s3_client.cache_clear()
    S3FileSystem.clear_instance_cache()
    name = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-") + f"-{next(_BUCKETS)}"
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    yield f"s3://{name}"
    lake_io._s3_client.cache_clear()
    S3FileSystem.clear_instance_cache()


def _make_config(**overrides: Any) -> TableConfig:
    """A small test table ``src.items`` (landing folder ``src/public/items``)."""
    values: dict[str, Any] = {
        "source_db": "src",
        "source_schema": "public",
        "source_table": "items",
        "primary_key": ["id"],
        "ordering_columns": ["ts", "seq"],
        "cadence": "hourly",
        "file_format": "csv",
        "columns": [{"name": "id", "type": "bigint"}, {"name": "qty", "type": "int"}],
    }
    values.update(overrides)
    if values["file_format"] == "parquet" and "columns" not in overrides:
        values.pop("columns")
    return TableConfig.model_validate(values)


def _landing_path(landing: str, rel_path: str, folder: str) -> Path:
    path = Path(landing[len("file://") :]) / folder / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_csv(
    landing: str, rel_path: str, header: list[str] | None, rows: list[list[Any]], folder: str
) -> Path:
    """A DMS CSV file (``None`` values become empty fields, as DMS writes NULL)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path = _landing_path(landing, rel_path, folder)
    path.write_text(buffer.getvalue())
    return path


def _write_parquet(landing: str, rel_path: str, rows: list[dict[str, Any]], schema: Any, folder: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=schema)
    path = _landing_path(landing, rel_path, folder)
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="session")
def make_config() -> Any:
    """Factory of the test table's config: ``make_config(storage_mode="historical", ...)``."""
    return _make_config


class DmsFiles:
    """Writes DMS files of a table into the test's landing folder."""

    def __init__(self, landing: str) -> None:
        self.landing = landing

    def csv(
        self, rel_path: str, header: list[str] | None, rows: list[list[Any]], folder: str = SOURCE_FOLDER
    ) -> Path:
        return _write_csv(self.landing, rel_path, header, rows, folder)

    def parquet(
        self, rel_path: str, rows: list[dict[str, Any]], schema: Any = None, folder: str = SOURCE_FOLDER
    ) -> Path:
        return _write_parquet(self.landing, rel_path, rows, schema, folder)

    def raw(self, rel_path: str, data: bytes, folder: str = SOURCE_FOLDER) -> Path:
        path = _landing_path(self.landing, rel_path, folder)
        path.write_bytes(data)
        return path


@pytest.fixture
def dms(landing: str) -> DmsFiles:
    return DmsFiles(landing)


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    """Jobs install a JSON handler on the root logger; put pytest's handlers back afterwards."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
