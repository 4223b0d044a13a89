"""The rerun check: row hashes of warehouse and lake tables see any changed, added or removed
row; a rerun of platform_smoke's registered intervals changes no table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_platform.local.table_hashes import differences, lake_hashes, warehouse_hashes


def test_warehouse_hashes_see_a_changed_row_and_skip_the_load_log(local_postgres, warehouse_conn_id):
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(warehouse_conn_id).get_hook()
    hook.run(["DROP SCHEMA IF EXISTS rerun_t CASCADE", "CREATE SCHEMA rerun_t",
              "CREATE TABLE rerun_t.items (id int, name text)",
              "INSERT INTO rerun_t.items VALUES (1, 'a'), (2, 'b')",
              "CREATE SCHEMA IF NOT EXISTS dp_audit", "CREATE TABLE IF NOT EXISTS dp_audit.rerun_probe (n int)",
              "INSERT INTO dp_audit.rerun_probe VALUES (1)"])
    before = warehouse_hashes(hook)
    assert before["rerun_t.items"].rows == 2 and not any(k.startswith("dp_audit.") for k in before)
    hook.run("INSERT INTO dp_audit.rerun_probe VALUES (2)")
    assert differences(before, warehouse_hashes(hook)) == {}
    hook.run("UPDATE rerun_t.items SET name = 'c' WHERE id = 2")
    assert list(differences(before, warehouse_hashes(hook))) == ["rerun_t.items"]
    hook.run(["DROP SCHEMA rerun_t CASCADE", "DROP TABLE dp_audit.rerun_probe"])


def test_observation_columns_are_left_out_of_the_row_hash(local_postgres, warehouse_conn_id, monkeypatch):
    from airflow.sdk import BaseHook

    from data_platform.local import table_hashes

    monkeypatch.setitem(table_hashes.OBSERVATION_COLUMNS, "rerun_o.edges", ("run_id",))
    hook = BaseHook.get_connection(warehouse_conn_id).get_hook()
    hook.run(["DROP SCHEMA IF EXISTS rerun_o CASCADE", "CREATE SCHEMA rerun_o",
              "CREATE TABLE rerun_o.edges (source text, target text, run_id text)",
              "INSERT INTO rerun_o.edges VALUES ('a', 'b', 'run-1')"])
    before = warehouse_hashes(hook)
    hook.run("UPDATE rerun_o.edges SET run_id = 'run-2'")  # a newer observation of the same edge
    assert differences(before, warehouse_hashes(hook)) == {}
    hook.run("INSERT INTO rerun_o.edges VALUES ('a', 'c', 'run-2')")  # a new edge
    assert list(differences(before, warehouse_hashes(hook))) == ["rerun_o.edges"]
    hook.run("DROP SCHEMA rerun_o CASCADE")


def test_names_needing_quotes_are_hashed(local_postgres, warehouse_conn_id, monkeypatch):
    """Schema, table and column names with capitals, spaces and double quotes (psycopg quotes them)."""
    from airflow.sdk import BaseHook

    from data_platform.local import table_hashes

    name = 'Rerun Q.say "hi" now'
    table = '"Rerun Q"."say ""hi"" now"'
    monkeypatch.setitem(table_hashes.OBSERVATION_COLUMNS, name, ("seen",))
    hook = BaseHook.get_connection(warehouse_conn_id).get_hook()
    hook.run(['DROP SCHEMA IF EXISTS "Rerun Q" CASCADE', 'CREATE SCHEMA "Rerun Q"',
              f'CREATE TABLE {table} ("Word ""x"" y" text, seen text)',
              f"INSERT INTO {table} VALUES ('a', 'run-1')"])
    before = warehouse_hashes(hook)
    assert before[name].rows == 1
    hook.run(f"UPDATE {table} SET seen = 'run-2'")
    assert differences(before, warehouse_hashes(hook)) == {}
    hook.run(f"""UPDATE {table} SET "Word ""x"" y" = 'b'""")
    assert list(differences(before, warehouse_hashes(hook))) == [name]
    hook.run('DROP SCHEMA "Rerun Q" CASCADE')


def test_lake_hashes_group_partitions_skip_bookkeeping_and_see_changes(tmp_path):
    lake = tmp_path / "lake"
    for part, ids in (("point=a/year=2026", [1, 2]), ("point=b/year=2026", [3])):
        (lake / "series" / part).mkdir(parents=True)
        pq.write_table(pa.table({"id": ids}), lake / "series" / part / "2026-01-15.parquet")
    (lake / "_state" / "x").mkdir(parents=True)
    pq.write_table(pa.table({"id": [9]}), lake / "_state" / "x" / "s.parquet")
    before = lake_hashes(lake)
    assert {k: v.rows for k, v in before.items()} == {"series": 3}
    pq.write_table(pa.table({"id": [9, 10]}), lake / "_state" / "x" / "s.parquet")
    assert differences(before, lake_hashes(lake)) == {}
    pq.write_table(pa.table({"id": [3, 4]}), lake / "series" / "point=b" / "year=2026" / "2026-01-15.parquet")
    assert list(differences(before, lake_hashes(lake))) == ["series"]


@pytest.mark.e2e
def test_rerunning_platform_smoke_changes_no_table(airflow_runtime, capsys):
    from data_platform.local.rerun_check import main

    assert main(["platform_smoke"]) == 0
    out = capsys.readouterr().out
    assert "with equal row hashes, 0 changed" in out
