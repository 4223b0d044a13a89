"""Table config format, loader errors, cadences and batch planning."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from spark_jobs.cdc.table_config import (
    TableConfigError,
    cadence_to_cron,
    cadences,
    load_table_configs,
    plan_batches,
    select_tables,
)

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "include" / "cdc" / "tables"

BASE = """
source_db: sales
defaults:
  source_schema: dbo
  cadence: 10min
  file_format: parquet
  ordering_columns: [dms_ts, seq]
tables:
"""


def write(tmp_path: Path, name: str, tables: str, base: str = BASE) -> Path:
    path = tmp_path / name
    path.write_text(base + textwrap.indent(textwrap.dedent(tables), "  "))
    return path


def test_fixture_configs_are_valid_and_cover_both_formats_and_modes():
    configs = load_table_configs(FIXTURES)
    by_id = {c.table_id: c for c in configs}
    assert set(by_id) == {"erp.accounts", "erp.invoices", "erp.invoice_lines", "erp.ledger"}
    assert by_id["erp.invoice_lines"].primary_key == ["invoice_id", "line_no"]
    assert by_id["erp.invoices"].partition_by == ["invoice_date"]
    assert by_id["erp.ledger"].storage_mode == "historical"
    assert {c.file_format for c in configs} == {"csv", "parquet"}
    assert by_id["erp.accounts"].landing_folder == "erp/dbo/accounts"
    assert cadences(configs) == ["daily", "hourly"]


@pytest.mark.parametrize("folder", ["include/cdc/tables", "include/demo/cdc/tables"])
def test_product_and_demo_configs_are_valid(folder):
    load_table_configs(REPO / folder)


def test_the_compiled_index_gives_back_the_same_configs(tmp_path):
    from spark_jobs.cdc.table_index import compile_folders, index_bytes

    configs = load_table_configs(FIXTURES)
    index = compile_folders([FIXTURES, tmp_path / "missing"])
    assert index["cadences"]["daily"] == {"schedule": "0 0 * * *", "tables": ["erp.ledger"]}
    assert index["tables"]["erp.invoices"]["database"] == "erp"
    path = tmp_path / "tables.json"
    path.write_bytes(index_bytes(index))
    assert load_table_configs(path) == configs
    assert load_table_configs(path.as_uri()) == configs
    assert index_bytes(compile_folders([FIXTURES])) == path.read_bytes(), "deterministic"


def test_new_columns_policy_defaults_to_fail_and_is_compiled_into_the_index(tmp_path):
    from spark_jobs.cdc.table_index import compile_folders

    by_id = {c.table_id: c for c in load_table_configs(FIXTURES)}
    assert (by_id["erp.invoices"].new_columns, by_id["erp.ledger"].new_columns) == ("fail", "add")
    index = compile_folders([FIXTURES])
    assert index["tables"]["erp.invoices"]["new_columns"] == "fail"
    assert index["tables"]["erp.ledger"]["new_columns"] == "add"


def test_an_unknown_new_columns_policy_names_file_table_and_field(tmp_path):
    path = write(tmp_path, "sales.yaml", "- {source_table: orders, primary_key: [id], new_columns: drop}\n")
    with pytest.raises(TableConfigError, match=r"sales.yaml: table 'orders': field 'new_columns': .*'fail' or 'add'"):
        load_table_configs(path)


def test_a_table_configured_in_two_folders_is_refused(tmp_path):
    from spark_jobs.cdc.table_index import compile_folders

    (tmp_path / "erp.yaml").write_text((FIXTURES / "erp.yaml").read_text())
    with pytest.raises(TableConfigError, match="more than one folder.*erp.accounts"):
        compile_folders([FIXTURES, tmp_path])


def test_a_job_refuses_an_index_with_fields_it_does_not_know(tmp_path):
    import json

    from spark_jobs.cdc.table_index import compile_folders

    index = compile_folders([FIXTURES])
    index["tables"]["erp.ledger"]["compaction"] = "weekly"
    path = tmp_path / "tables.json"
    path.write_text(json.dumps(index))
    with pytest.raises(TableConfigError, match="erp.ledger.*compaction"):
        load_table_configs(path)
    path.write_text(json.dumps({"tables": {}}))
    with pytest.raises(TableConfigError, match="not a CDC table index"):
        load_table_configs(path)


def test_defaults_merge_and_table_keys_win(tmp_path):
    write(
        tmp_path,
        "sales.yaml",
        """
        - source_table: orders
          primary_key: order_id, line
          cadence: hourly
          target_table: orders_raw
        - source_table: refunds
          primary_key: [refund_id]
        """,
    )
    orders, refunds = load_table_configs(tmp_path)
    assert (orders.table_id, refunds.table_id) == ("sales.orders_raw", "sales.refunds")
    assert orders.primary_key == ["order_id", "line"] and orders.cadence == "hourly"
    assert refunds.cadence == "10min" and refunds.source_schema == "dbo"
    assert refunds.landing_folder == "sales/dbo/refunds"


def test_validation_error_names_file_table_and_field(tmp_path):
    path = write(
        tmp_path,
        "sales.yaml",
        """
        - source_table: orders
          primary_key: []
          table_type: COPY_ON_READ
        - source_table: refunds
          primary_key: [refund_id]
          bogus: 1
        """,
    )
    with pytest.raises(TableConfigError) as info:
        load_table_configs(tmp_path)
    message = str(info.value)
    assert f"{path}: table 'orders': field 'primary_key'" in message
    assert f"{path}: table 'orders': field 'table_type'" in message
    assert f"{path}: table 'refunds': field 'bogus': Extra inputs are not permitted" in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("primary_key: [id]\n  ordering_columns: [id]", "also primary key columns"),
        ("primary_key: [id]\n  cadence: 7min", "minutes must be one of"),
        (
            "primary_key: [id]\n  file_format: csv\n  csv: {header: false}",
            "'columns' must list the file's columns",
        ),
        ("primary_key: [id]\n  columns: [{name: id}]", "only applies to CSV tables"),
        ("primary_key: [Op]", "reserved by the pipeline"),
        ("primary_key: [id]\n  target_table: bad-name", "letters, digits and underscores"),
    ],
)
def test_invalid_tables_are_rejected_with_a_reason(tmp_path, entry, expected):
    write(tmp_path, "sales.yaml", f"- source_table: t\n  {entry}\n")
    with pytest.raises(TableConfigError, match=expected):
        load_table_configs(tmp_path)


def test_same_lake_table_twice_is_an_error_naming_both_files(tmp_path):
    write(tmp_path, "a.yaml", "- source_table: t\n  primary_key: [id]\n")
    write(tmp_path, "b.yaml", "- source_table: t\n  primary_key: [id]\n")
    with pytest.raises(
        TableConfigError, match=r"b.yaml: table 't': lake table 'sales.t' is already configured in .*a.yaml"
    ):
        load_table_configs(tmp_path)


def test_broken_yaml_and_missing_sections_are_named(tmp_path):
    (tmp_path / "x.yaml").write_text("source_db: [unclosed\n")
    (tmp_path / "y.yaml").write_text("source_db: y\n")
    with pytest.raises(TableConfigError) as info:
        load_table_configs(tmp_path)
    assert "x.yaml: not valid YAML" in str(info.value)
    assert "y.yaml: 'tables' must be a non-empty list" in str(info.value)


def test_cadence_to_cron():
    assert cadence_to_cron("10min") == "*/10 * * * *"
    assert cadence_to_cron("hourly") == "0 * * * *"
    assert cadence_to_cron("daily") == "0 0 * * *"
    with pytest.raises(ValueError):
        cadence_to_cron("weekly")


def test_plan_batches_groups_by_batch_size_and_is_deterministic(tmp_path):
    tables = "".join(
        f"- source_table: t{i}\n  primary_key: [id]\n  batch_size: {2 if i < 5 else 1}\n" for i in range(7)
    )
    tables += "- source_table: other\n  primary_key: [id]\n  cadence: daily\n"
    write(tmp_path, "sales.yaml", tables)
    configs = load_table_configs(tmp_path)
    batches = plan_batches(configs, "10min")
    assert [[c.source_table for c in b] for b in batches] == [
        ["t5"],
        ["t6"],
        ["t0", "t1"],
        ["t2", "t3"],
        ["t4"],
    ]
    assert [[c.table_id for c in b] for b in plan_batches(list(reversed(configs)), "10min")] == [
        [c.table_id for c in b] for b in batches
    ]
    assert [[c.source_table for c in b] for b in plan_batches(configs, "daily")] == [["other"]]


def test_select_tables_rejects_unknown_ids(tmp_path):
    write(tmp_path, "sales.yaml", "- source_table: t\n  primary_key: [id]\n")
    configs = load_table_configs(tmp_path)
    assert select_tables(configs, ["sales.t"]) == configs
    with pytest.raises(TableConfigError, match="unknown CDC tables \\['sales.nope'\\]"):
        select_tables(configs, ["sales.nope"])


def test_module_stays_light_for_dag_parsing():
    import subprocess

    code = "import sys, spark_jobs.cdc.table_config; print(any(m.startswith('pyspark') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


def test_check_command_prints_batches_or_errors(tmp_path, capsys):
    from spark_jobs.cdc.table_config import main

    assert main([str(FIXTURES)]) == 0
    out = capsys.readouterr().out
    assert "hourly (0 * * * *): 3 tables in 2 batches" in out
    assert "erp.ledger [historical, parquet]" in out
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path}: no table configs (<source_db>.yaml) to check.\n"
    write(tmp_path, "sales.yaml", "- source_table: t\n")
    assert main([str(tmp_path)]) == 2
    assert "table 't': field 'primary_key': Field required" in capsys.readouterr().err
