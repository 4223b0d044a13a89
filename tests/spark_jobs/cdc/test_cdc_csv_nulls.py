"""CSV NULL versus empty string, as DMS writes it (issue 11, item 3).

No CsvNullValue (``csv.null_value: ""``): an unquoted empty field is NULL, a quoted empty field
is the empty string. A CsvNullValue ``X``: only ``X`` is NULL, every empty field is the empty string.
"""

from __future__ import annotations

import pytest

from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import read_current

pytestmark = pytest.mark.spark

FILE = "20240101-010000000.csv"


def values(spark, dms, landing, lake, make_config, text: str, **csv):
    config = make_config(ordering_columns=["seq"], columns=[{"name": "id", "type": "bigint"}], csv=csv)
    dms.raw(FILE, text.encode())
    result = merge_table(spark, config, MergeSettings(landing, lake, run_id="r1"))
    assert result.status == "ok", result.error
    return sorted((r["id"], r["v"], r["w"]) for r in read_current(lake, "src", "items").to_pylist())


def test_with_a_csv_null_value_an_empty_field_is_the_empty_string(spark, dms, landing, lake, make_config):
    text = 'Op,id,v,w,seq\nI,1,,a,01\nI,2,"",b,02\nI,3,NULL,c,03\nI,4,x,NULL,04\n'
    assert values(spark, dms, landing, lake, make_config, text, null_value="NULL") == [
        (1, "", "a"),
        (2, "", "b"),
        (3, None, "c"),
        (4, "x", None),
    ]


def test_without_a_csv_null_value_only_the_unquoted_empty_field_is_null(
    spark, dms, landing, lake, make_config
):
    text = 'Op,id,v,w,seq\nI,1,,a,01\nI,2,"",b,02\nI,3,NULL,c,03\n'
    assert values(spark, dms, landing, lake, make_config, text) == [
        (1, None, "a"),
        (2, "", "b"),
        (3, "NULL", "c"),  # the text NULL is a value when no CsvNullValue is configured
    ]


def test_a_custom_delimiter_and_null_marker(spark, dms, landing, lake, make_config):
    text = "Op|id|v|w|seq\nI|1||\\N|01\nI|2|\\N||02\n"
    assert values(spark, dms, landing, lake, make_config, text, null_value="\\N", delimiter="|") == [
        (1, "", None),
        (2, None, ""),
    ]
