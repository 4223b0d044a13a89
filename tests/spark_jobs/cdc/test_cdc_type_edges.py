"""Values at the edges of their types round-trip exactly through the lake merge (issue 11, item 12):
dates and timestamps before 1582 and at 9999-12-31, decimal and integer limits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import read_current

pytestmark = pytest.mark.spark

EDGE_ROWS = [
    {
        "Op": "I",
        "id": 1,
        "d": date(1, 1, 1),
        "ts": datetime(1, 1, 1, 0, 0, 0),
        "amount": Decimal("-99999999999999999999999999999999.999999"),
        "big": -(2**63),
        "small": -(2**31),
        "seq": 1,
    },
    {
        "Op": "I",
        "id": 2,
        "d": date(1500, 6, 1),
        "ts": datetime(1582, 10, 4, 23, 59, 59, 999999),
        "amount": Decimal("0.000001"),
        "big": 0,
        "small": 0,
        "seq": 2,
    },
    {
        "Op": "I",
        "id": 3,
        "d": date(9999, 12, 31),
        "ts": datetime(9999, 12, 31, 23, 59, 59, 999999),
        "amount": Decimal("99999999999999999999999999999999.999999"),
        "big": 2**63 - 1,
        "small": 2**31 - 1,
        "seq": 3,
    },
]


def edge_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("Op", pa.string()),
            ("id", pa.int64()),
            ("d", pa.date32()),
            ("ts", pa.timestamp("us")),
            ("amount", pa.decimal128(38, 6)),
            ("big", pa.int64()),
            ("small", pa.int32()),
            ("seq", pa.int64()),
        ]
    )


def test_dms_parquet_values_at_type_edges_round_trip(spark, dms, landing, lake, make_config):
    config = make_config(file_format="parquet", ordering_columns=["seq"])
    dms.parquet("20240101-010000000.parquet", EDGE_ROWS, edge_schema())

    result = merge_table(spark, config, MergeSettings(landing, lake, run_id="r1"))

    assert result.status == "ok", result.error
    stored = sorted(read_current(lake, "src", "items").to_pylist(), key=lambda r: r["id"])
    expected = [{k: v for k, v in row.items() if k != "Op"} for row in EDGE_ROWS]
    # Hudi 0.15 has no TIMESTAMP_NTZ: the Hudi sink stores such columns as UTC timestamps, so the
    # same wall-clock value reads back UTC-aware; the snapshot sink keeps it naive.
    for row in stored:
        assert row["ts"].utcoffset() in (None, timedelta(0))
        row["ts"] = row["ts"].replace(tzinfo=None)
    assert [{k: r[k] for k in expected[0]} for r in stored] == expected


def test_the_platform_conf_reads_and_writes_ancient_datetimes_as_they_are_on_both_targets():
    from data_platform.settings import Target
    from data_platform.spark.conf import build_spark_conf

    for target in Target:
        conf = build_spark_conf(target=target, environment_conf={}, environment="dev", profiles=["hudi"])
        rebase = {k: v for k, v in conf.values.items() if "RebaseMode" in k}
        assert rebase == {
            f"spark.sql.{fmt}.{kind}RebaseModeIn{way}": "CORRECTED"
            for fmt, kind in (("parquet", "datetime"), ("parquet", "int96"), ("avro", "datetime"))
            for way in ("Read", "Write")
        }, target
