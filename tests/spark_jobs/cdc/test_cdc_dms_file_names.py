"""Every file name form the DMS guide documents is read (issue 11, item 8); anything else in a
table folder is reported, never skipped silently."""

from __future__ import annotations

import pytest

from spark_jobs.cdc.dms_files import CDC, FULL_LOAD, classify, list_landed_files
from spark_jobs.cdc.layout import landing_table_uri


@pytest.mark.parametrize(
    ("rel_path", "expected"),
    [
        ("LOAD00001.csv", (FULL_LOAD, "csv")),  # the DMS guide's example
        ("LOAD00000001.csv", (FULL_LOAD, "csv")),
        ("LOAD0000000A.parquet", (FULL_LOAD, "parquet")),
        ("20141029-1134010000.csv", (CDC, "csv")),  # the DMS guide's example
        ("20240501-101500123.csv.gz", (CDC, "csv")),
        ("2024/05/01/20240501-101500123.parquet", (CDC, "parquet")),  # YYYYMMDD, SLASH
        ("2024/05/01/10/20240501-101500123.parquet", (CDC, "parquet")),  # YYYYMMDDHH, SLASH
        ("2024_05_01/20240501-101500123.csv", (CDC, "csv")),  # UNDERSCORE
        ("2024-05-01-10/20240501-101500123.csv", (CDC, "csv")),  # DASH, with hour
        ("2024/05/20240501-101500123.csv", (CDC, "csv")),  # YYYYMM
        ("05/2024/01/20240501-101500123.csv", (CDC, "csv")),  # MMYYYYDD
        ("01-05-2024/20240501-101500123.csv", (CDC, "csv")),  # DDMMYYYY, DASH
        ("2024050110/20240501-101500123.csv", (CDC, "csv")),  # YYYYMMDDHH, NONE
        ("LOAD1.csv", None),
        ("2024/05/01/LOAD00000001.csv", None),
        ("20240501-1015.csv", None),
        ("orders.csv", None),
    ],
)
def test_every_documented_dms_name_form_is_recognised(rel_path, expected):
    assert classify(rel_path) == expected


def test_unknown_names_in_a_table_folder_are_reported(dms, landing):
    dms.raw("LOAD00001.csv", b"id\n1\n")
    dms.raw("20141029-1134010000.csv", b"Op,id\nI,2\n")
    dms.raw("orders-export.csv", b"id\n3\n")

    landed, ignored = list_landed_files(landing_table_uri(landing, "src/public/items"))

    assert [f.name for f in landed] == ["LOAD00001.csv", "20141029-1134010000.csv"]
    assert ignored == ["orders-export.csv"]
