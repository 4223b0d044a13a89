"""A CDC table's warehouse DDL and quality rules files are checked when the index is compiled
(bundle build and deploy, local runtime), not found missing by the load after the merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_platform.cdc.warehouse_files import WarehouseFilesError, check_warehouse_files
from data_platform.deploy.bundle import cdc_index
from data_platform.local.runtime import compile_cdc_index

FIXTURE_INCLUDE = Path(__file__).resolve().parents[1] / "fixtures" / "include"


def _include(tmp_path: Path, table: str, dq_rule: str | None) -> Path:
    """An include folder with one CDC table loading ``table`` and the files of ``billing.accounts``."""
    include = tmp_path / "include"
    (include / "cdc" / "tables").mkdir(parents=True)
    rule = f"\n    dq_rule: {dq_rule}" if dq_rule else ""
    (include / "cdc" / "tables" / "billing.yaml").write_text(
        "source_db: billing\ndefaults:\n  source_schema: dbo\n  cadence: hourly\n  file_format: parquet\n"
        "  ordering_columns: [change_seq]\ntables:\n  - source_table: accounts\n    primary_key: [account_id]\n"
        f"    warehouse_table: {table}{rule}\n"
    )
    (include / "warehouse" / "tables").mkdir(parents=True)
    (include / "warehouse" / "quality").mkdir(parents=True)
    (include / "warehouse" / "tables" / "billing.accounts.sql").write_text("CREATE SCHEMA IF NOT EXISTS billing;\n")
    (include / "warehouse" / "quality" / "billing.accounts.yaml").write_text("table: billing.accounts\nrules: []\n")
    return include


def test_the_bundle_refuses_a_warehouse_table_typo_naming_table_file_and_fix(tmp_path):
    include = _include(tmp_path, "billing.acounts", None)
    with pytest.raises(WarehouseFilesError) as raised:
        cdc_index([include / "cdc" / "tables"], include)
    message = str(raised.value)
    assert (
        f"billing.accounts: warehouse_table 'billing.acounts' has no DDL file "
        f"{include / 'warehouse' / 'tables' / 'billing.acounts.sql'}; add it or fix warehouse_table"
    ) in message
    assert "billing.accounts: warehouse_table (the default dq_rule) 'billing.acounts' has no quality rules file" in message


def test_the_local_runtime_refuses_a_dq_rule_typo(tmp_path):
    include = _include(tmp_path, "billing.accounts", "billing.acounts_rules")
    with pytest.raises(SystemExit) as raised:
        compile_cdc_index([include], tmp_path / "compiled")
    message = str(raised.value)
    assert "billing.accounts: dq_rule 'billing.acounts_rules' has no quality rules file" in message
    assert "DDL file" not in message
    assert not (tmp_path / "compiled" / "cdc" / "tables.json").exists()


def test_files_resolve_through_the_include_search_path(tmp_path):
    include = _include(tmp_path, "billing.accounts", None)
    assert cdc_index([include / "cdc" / "tables"], include)
    compile_cdc_index([include], tmp_path / "compiled")
    assert (tmp_path / "compiled" / "cdc" / "tables.json").is_file()


def test_the_fixture_tables_name_existing_files():
    from spark_jobs.cdc.table_index import compile_folders

    check_warehouse_files(compile_folders([FIXTURE_INCLUDE / "cdc" / "tables"]), [FIXTURE_INCLUDE])
