"""Unreadable input is a clear per-file failure with quarantine (issue 11, item 9): a BOM before
the CSV header, a gzip file cut short, a Parquet data page corrupt behind an intact footer, an
unknown CSV column type in the table config."""

from __future__ import annotations

import gzip
import io

import pytest

from spark_jobs.cdc.dms_files import list_landed_files
from spark_jobs.cdc.file_inspection import inspect_files
from spark_jobs.cdc.layout import landing_table_uri
from spark_jobs.cdc.results import UNREADABLE_FILE
from spark_jobs.cdc.table_config import TableConfigError, parse_table_file

HEADER = "Op,id,qty,ts,seq\n"


def problems(dms, landing, config):
    landed, _ = list_landed_files(landing_table_uri(landing, "src/public/items"))
    shapes, found = inspect_files(landed, config)
    return {p.file.name: (p.kind, p.reason) for p in found}, [s.file.name for s in shapes]


def test_a_bom_before_the_csv_header_is_named(dms, landing, make_config):
    dms.raw("20240101-010000000.csv", b"\xef\xbb\xbf" + (HEADER + "I,1,1,2024-01-01,01\n").encode())
    dms.raw("20240101-020000000.csv", (HEADER + "I,2,2,2024-01-01,02\n").encode())
    found, readable = problems(dms, landing, make_config())
    assert readable == ["20240101-020000000.csv"]
    kind, reason = found["20240101-010000000.csv"]
    assert kind == UNREADABLE_FILE and "byte order mark" in reason


def test_a_gzip_file_cut_short_is_named(dms, landing, make_config):
    rows = "".join(f"I,{i},{i},2024-01-01,{i:08d}\n" for i in range(200_000))
    whole = gzip.compress((HEADER + rows).encode())
    dms.raw("20240101-010000000.csv.gz", whole[: len(whole) // 2])
    found, _ = problems(dms, landing, make_config())
    kind, reason = found["20240101-010000000.csv.gz"]
    assert kind == UNREADABLE_FILE and "cut short" in reason


def test_a_corrupt_parquet_data_page_behind_an_intact_footer_is_named(dms, landing, make_config):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {"Op": ["I"] * 5000, "id": list(range(5000)), "ts": ["2024-01-01"] * 5000, "seq": ["1"] * 5000}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    data = bytearray(buffer.getvalue())
    footer_start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    for offset in range(40, min(footer_start, 4000), 7):  # inside the column chunks only
        data[offset] ^= 0xFF
    dms.raw("20240101-010000000.parquet", bytes(data))
    pq.read_metadata(io.BytesIO(bytes(data)))  # the footer is intact
    found, _ = problems(dms, landing, make_config(file_format="parquet"))
    kind, reason = found["20240101-010000000.parquet"]
    assert kind == UNREADABLE_FILE and "cannot read Parquet data" in reason


@pytest.mark.parametrize("bad", ["bigintt", "varchar(10)", "decimal(40,2)", "struct<a:int>"])
def test_an_unknown_csv_column_type_fails_the_config_check(bad):
    text = f"""
source_db: src
tables:
  - source_table: items
    source_schema: public
    primary_key: [id]
    ordering_columns: [seq]
    cadence: hourly
    file_format: csv
    columns: [{{name: id, type: "{bad}"}}]
"""
    with pytest.raises(TableConfigError, match=r"columns\.0\.type"):
        parse_table_file(text, "items.yaml")
