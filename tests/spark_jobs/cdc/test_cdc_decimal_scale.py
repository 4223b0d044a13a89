"""DMS decimal values are never rounded or truncated on their way into the lake (issue 11, item
12, decimal limits): a CSV value with more fractional digits than the configured decimal(p,s)'s
scale, or more integer digits than its precision allows, is a bad row (quarantined, the table
fails under bad_rows: fail) named with its column, value and the fix; exact values are stored
exactly. Parquet files carry their own decimal type (a changed type is schema drift)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import read_current

pytestmark = pytest.mark.spark

HEADER = ["Op", "ts", "id", "amount", "seq"]
TS = "2024-01-01 01:00:00.000000"
SCALE = "invalid_value: amount has more than 2 fractional digits, more than decimal(10,2) holds"
PRECISION = "invalid_value: amount exceeds the precision of decimal(10,2)"
NOT_A_NUMBER = "invalid_value: amount is not a valid decimal(10,2)"
CASES = [  # (text DMS wrote, stored value or the bad row's reason)
    ("1.23", Decimal("1.23")),
    ("1.2300", Decimal("1.23")),  # trailing zeros are not lost digits
    ("-0.50", Decimal("-0.50")),
    ("12345678.99", Decimal("12345678.99")),  # 8 integer digits: the limit
    ("1.5E-1", Decimal("0.15")),
    (" 7 ", Decimal("7.00")),
    ("1.235", SCALE),
    ("-0.001", SCALE),  # would be stored as 0.00
    ("1.235E0", SCALE),
    ("0.1000000000000000000000000000000001", SCALE),  # beyond any double's digits
    ("123456789.5", PRECISION),
    ("99999999.995", PRECISION),  # rounds to 100000000.00
    ("NaN", NOT_A_NUMBER),
    ("1,5", NOT_A_NUMBER),
]


def decimal_config(make_config, **overrides):
    columns = [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "decimal(10,2)"}]
    return make_config(columns=columns, **overrides)


def test_each_value_is_stored_exactly_or_quarantined_with_its_reason(spark, dms, landing, lake, make_config):
    config = decimal_config(make_config, bad_rows="quarantine")
    rows = [["I", TS, index, text, f"{index:02d}"] for index, (text, _) in enumerate(CASES)]
    dms.csv("20240101-010000000.csv", HEADER, rows)

    result = merge_table(spark, config, MergeSettings(landing, lake, run_id="r1", sink="snapshot"))

    assert result.status == "ok", result.error
    stored = {r["id"]: r["amount"] for r in read_current(lake, "src", "items").to_pylist()}
    assert stored == {i: want for i, (_, want) in enumerate(CASES) if isinstance(want, Decimal)}
    quarantined = pq.read_table(result.quarantine_uri.removeprefix("file://") + "/rows").to_pylist()
    reasons = {r["amount"]: r["_cdc_error"] for r in quarantined}
    assert {text: reason.split(" (")[0].split(";")[0] for text, reason in reasons.items()} == {
        text: want for text, want in CASES if isinstance(want, str)
    }
    assert result.quarantined_rows == 8


def test_a_rounded_value_fails_the_table_naming_column_value_and_fix(spark, dms, landing, lake, make_config):
    config = decimal_config(make_config)
    dms.csv("20240101-010000000.csv", HEADER, [["I", TS, 1, "1.23", "1"], ["I", TS, 2, "19.999", "2"]])

    result = merge_table(spark, config, MergeSettings(landing, lake, run_id="r1", sink="snapshot"))

    assert result.status == "failed" and result.error["kind"] == "invalid_value"
    message = result.error["message"]
    assert SCALE in message and "(it would be rounded); widen amount's type in the table config" in message
    assert "e.g. 20240101-010000000.csv: amount='19.999', id='2'" in message
    with pytest.raises(FileNotFoundError, match="no committed version"):  # nothing applied
        read_current(lake, "src", "items")
