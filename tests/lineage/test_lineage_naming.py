"""One set of OpenLineage dataset naming rules for the Spark jobs and the Airflow side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from data_platform.lake.lineage import dataset_identity
from data_platform.lineage import naming as airflow_naming
from data_platform.pod.lineage import dataset_name
from spark_jobs.common import naming
from spark_jobs.common.lineage import LineageDataset

ROOT = Path(__file__).resolve().parents[2]

# https://openlineage.io/docs/spec/naming
CASES = [
    ("s3://lake/cdc/shop/orders", ("s3://lake", "cdc/shop/orders")),
    ("s3a://lake/cdc/shop/orders/", ("s3://lake", "cdc/shop/orders")),
    ("s3://lake", ("s3://lake", "/")),
    ("file:///srv/lake/jira/acme/landing", ("file", "/srv/lake/jira/acme/landing")),
    ("file://fileserver/exports/a.csv", ("file://fileserver", "/exports/a.csv")),
    ("/srv/lake/x/", ("file", "/srv/lake/x")),
    (
        "postgres://db.internal:5433/warehouse.jira.issues",
        ("postgres://db.internal:5433", "warehouse.jira.issues"),
    ),
    (
        "postgresql://db.internal/warehouse.jira.issues",
        ("postgres://db.internal:5432", "warehouse.jira.issues"),
    ),
    (
        "redshift://analytics.eu-west-1:5439/dev.shop.orders",
        ("redshift://analytics.eu-west-1:5439", "dev.shop.orders"),
    ),
    (
        "https://http-intake.logs.datadoghq.eu/api/v2/logs",
        ("https://http-intake.logs.datadoghq.eu", "/api/v2/logs"),
    ),
    ("http://127.0.0.1:5056/api/v2/logs?x=1", ("http://127.0.0.1:5056", "/api/v2/logs")),
]


def test_the_airflow_side_copy_is_identical() -> None:
    source = (ROOT / "spark_jobs/common/naming.py").read_text()
    copy = (ROOT / "plugins/data_platform/lineage/naming.py").read_text()
    assert copy == source, (
        "plugins/data_platform/lineage/naming.py differs from spark_jobs/common/naming.py (the source); "
        "copy it: cp spark_jobs/common/naming.py plugins/data_platform/lineage/naming.py"
    )


@pytest.mark.parametrize(("uri", "expected"), CASES)
def test_dataset_names_follow_the_openlineage_naming_spec(uri: str, expected: tuple[str, str]) -> None:
    assert naming.from_uri(uri) == airflow_naming.from_uri(uri) == expected


def _pair(name: Any) -> tuple[str, str]:
    return name.namespace, name.name


def test_every_producer_names_a_lake_folder_alike() -> None:
    settings = type("Settings", (), {"lake_uri": staticmethod(lambda rest: f"s3://lake/{rest}")})()
    for uri in ("s3://lake/jira/acme/landing", "file:///srv/lake/jira/acme/landing"):
        spark_side = LineageDataset.from_uri(uri)
        assert (
            (spark_side.namespace, spark_side.name)
            == dataset_identity(uri)
            == _pair(dataset_name(uri, settings))
        )
    assert _pair(dataset_name("lake:jira/acme/landing/", settings)) == ("s3://lake", "jira/acme/landing")


def test_warehouse_and_bad_names() -> None:
    assert naming.postgres("db", None, "warehouse", "jira", "issues") == (
        "postgres://db:5432",
        "warehouse.jira.issues",
    )
    host = "analytics.abc123xyz.eu-west-1.redshift.amazonaws.com"
    assert naming.redshift(
        *naming.redshift_cluster_region(host, "us-east-1"), None, "dev", "shop", "orders"
    ) == (
        "redshift://analytics.eu-west-1:5439",
        "dev.shop.orders",
    )
    assert naming.redshift_cluster_region("analytics", "us-east-1") == ("analytics", "us-east-1")
    for bad in ("ftp://host/x", "postgres://db/warehouse.orders", "s3:///key"):
        with pytest.raises(ValueError, match="s3://bucket"):
            naming.from_uri(bad)
