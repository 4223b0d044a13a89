"""LoadToWarehouseOperator on the local target: the real PostgreSQL, COPY into staging, one transaction."""

from __future__ import annotations

import pyarrow as pa
import pytest

from data_platform.lake.markers import ProcessedMarkers
from data_platform.warehouse.operators import LoadToWarehouseOperator
from tests.warehouse.conftest import event, event_schema, task_context

NO_OP = event_schema(with_op=False)  # replace / snapshot files carry no CDC operation column
EVENTS = "SELECT event_id, user_id, event_type, amount, event_ts, event_date, updated_at FROM demo.events ORDER BY 1"


def merge_task(uris, **kwargs) -> LoadToWarehouseOperator:
    return LoadToWarehouseOperator(
        task_id="load_events",
        table="demo.events",
        source_uris=uris,
        mode="merge",
        primary_key=["event_id"],
        delete_column="op",
        **kwargs,
    )


def test_merge_inserts_updates_and_deletes_by_key(warehouse):
    first = warehouse.parquet("cdc/events/f1.parquet", [event(i) for i in range(1, 6)])
    second = warehouse.parquet(
        "cdc/events/f2.parquet",
        [event(2, op="U", event_type="click"), event(3, op="D"), event(6), event(9, op="D")],
    )

    loaded = merge_task([first]).execute(task_context())
    merged = merge_task(f"['{second}']").execute(task_context())

    assert loaded["rows_in"] == 5 and loaded["rows_inserted"] == 5 and loaded["rows_out"] == 5
    assert {
        k: merged[k] for k in ("rows_in", "rows_inserted", "rows_updated", "rows_deleted", "rows_out")
    } == {
        "rows_in": 4,
        "rows_inserted": 1,
        "rows_updated": 1,
        "rows_deleted": 1,
        "rows_out": 2,
    }
    assert merged["table"] == "demo.events" and merged["files_loaded"] == 1
    rows = warehouse.query(EVENTS)
    assert [r[0] for r in rows] == [1, 2, 4, 5, 6]
    assert rows[1][2] == "click"
    assert warehouse.query("SELECT COUNT(*) FROM dp_audit.load_log WHERE target_table = 'demo.events'") == [
        (2,)
    ]
    assert ProcessedMarkers(warehouse.lake_root, "events_dag").is_processed(second)


def test_rerunning_an_interval_leaves_the_same_table_state(warehouse):
    base = warehouse.parquet("cdc/events/f1.parquet", [event(i) for i in range(1, 4)])
    change = warehouse.parquet(
        "cdc/events/f2.parquet", [event(1, op="U", event_type="purchase"), event(2, op="D")]
    )
    merge_task([base]).execute(task_context())

    first = merge_task([change]).execute(task_context())
    state = warehouse.query(EVENTS)
    again = merge_task([change]).execute(task_context())

    assert warehouse.query(EVENTS) == state
    assert first["rows_deleted"] == 1 and again["rows_deleted"] == 0  # already gone
    assert again["rows_updated"] == 1 and again["rows_inserted"] == 0


def test_latest_change_per_key_wins_with_order_by(warehouse):
    uri = warehouse.parquet(
        "cdc/events/f1.parquet",
        [
            event(7, seq=1),
            event(7, op="U", seq=3, event_type="purchase"),
            event(7, op="U", seq=2, event_type="click"),
            event(8, seq=1),
            event(8, op="D", seq=2),
        ],
    )

    result = merge_task([uri], order_by=["seq"]).execute(task_context())

    assert warehouse.query("SELECT event_id, event_type FROM demo.events") == [(7, "purchase")]
    assert result["rows_in"] == 5 and result["rows_inserted"] == 1


def test_duplicate_keys_without_order_by_fail_and_change_nothing(warehouse):
    base = warehouse.parquet("cdc/events/f1.parquet", [event(1)])
    merge_task([base]).execute(task_context())
    dup = warehouse.parquet("cdc/events/f2.parquet", [event(1, op="U"), event(1, op="U", event_type="click")])

    with pytest.raises(ValueError, match="appear more than once.*order_by"):
        merge_task([dup]).execute(task_context())

    assert [r[2] for r in warehouse.query(EVENTS)] == ["view"]
    assert not ProcessedMarkers(warehouse.lake_root, "events_dag").is_processed(dup)


def test_a_load_failing_midway_rolls_back_the_whole_transaction(warehouse):
    base = warehouse.parquet("cdc/events/f1.parquet", [event(i) for i in range(1, 4)])
    merge_task([base]).execute(task_context())
    before = warehouse.query(EVENTS)
    # The delete and the update succeed, then the insert hits NOT NULL on user_id.
    bad = warehouse.parquet(
        "cdc/events/f2.parquet",
        [event(1, op="D"), event(2, op="U", event_type="click"), {**event(4), "user_id": None}],
    )

    with pytest.raises(Exception, match="user_id"):
        merge_task([bad]).execute(task_context())

    assert warehouse.query(EVENTS) == before
    assert warehouse.query("SELECT COUNT(*) FROM dp_audit.load_log") == [(1,)]
    assert not ProcessedMarkers(warehouse.lake_root, "events_dag").is_processed(bad)


def test_append_skips_files_it_already_loaded(warehouse):
    day1 = warehouse.parquet("events/day1.parquet", [event(1), event(2)], schema=event_schema(with_op=False))
    day2 = warehouse.parquet("events/day2.parquet", [event(3)], schema=event_schema(with_op=False))

    def append(uris):
        return LoadToWarehouseOperator(
            task_id="append", table="demo.events", source_uris=uris, mode="append"
        ).execute(task_context())

    assert append([day1])["rows_out"] == 2
    second = append([day1, day2])
    state = warehouse.query(EVENTS)
    rerun = append([day1, day2])

    assert (second["files_skipped"], second["files_loaded"], second["rows_in"]) == (1, 1, 1)
    assert (rerun["files_skipped"], rerun["files_loaded"], rerun["rows_out"]) == (2, 0, 0)
    assert warehouse.query(EVENTS) == state and len(state) == 3


def test_replace_swaps_one_partition_and_is_repeatable(warehouse):
    def replace(uri, day):
        return LoadToWarehouseOperator(
            task_id="replace",
            table="demo.events",
            source_uris=[uri],
            mode="replace",
            partition_column="event_date",
            partition_value=day,
        ).execute(task_context())

    replace(warehouse.parquet("daily/2024-01-01/a.parquet", [event(1), event(2)], NO_OP), "2024-01-01")
    replace(warehouse.parquet("daily/2024-01-02/a.parquet", [event(10, day=2)], NO_OP), "2024-01-02")
    newer = warehouse.parquet("daily/2024-01-01/b.parquet", [event(3, event_type="click")], NO_OP)

    first = replace(newer, "2024-01-01")
    state = warehouse.query(EVENTS)
    again = replace(newer, "2024-01-01")

    assert [r[0] for r in state] == [3, 10]
    assert (first["rows_deleted"], first["rows_inserted"]) == (2, 1)
    assert (again["rows_deleted"], again["rows_inserted"]) == (1, 1) and warehouse.query(EVENTS) == state
    with pytest.raises(ValueError, match="other than '2024-01-02'"):
        replace(newer, "2024-01-02")
    assert warehouse.query(EVENTS) == state


def test_procedure_mode_calls_the_stored_procedure_on_the_staged_rows(warehouse):
    uri = warehouse.parquet(
        "events/day1.parquet",
        [
            event(1, event_type="purchase", amount="10.00"),
            event(2, amount="2.50"),
            event(3, day=2, amount=None),
        ],
    )
    task = LoadToWarehouseOperator(
        task_id="daily",
        table="demo.events_daily",
        source_uris=[uri],
        mode="procedure",
        procedure="demo.load_events_daily",
        procedure_args=[0],
    )

    result = task.execute(task_context())
    state = warehouse.query("SELECT event_date, events, purchases, revenue FROM demo.events_daily ORDER BY 1")
    rerun = task.execute(task_context())

    assert [(str(d), e, p, str(r)) for d, e, p, r in state] == [
        ("2024-01-01", 2, 1, "12.50"),
        ("2024-01-02", 1, 0, "0.00"),
    ]
    assert (result["rows_in"], result["rows_out"], rerun["rows_out"]) == (3, 2, 0)
    # column lineage: the target's columns from the files' columns, through the procedure's SQL
    fields = task.get_openlineage_facets_on_complete(None).outputs[0].facets["columnLineage"].fields
    sources = {
        column: {(f.field, f.transformations[0].type, f.transformations[0].subtype) for f in info.inputFields}
        for column, info in fields.items()
    }
    assert ("amount", "DIRECT", "AGGREGATION") in sources["revenue"]
    assert ("event_type", "DIRECT", "AGGREGATION") in sources["purchases"]
    assert ("event_date", "DIRECT", "IDENTITY") in sources["event_date"]
    assert ("amount", "INDIRECT", "FILTER") in sources["events"]
    assert (
        warehouse.query("SELECT event_date, events, purchases, revenue FROM demo.events_daily ORDER BY 1")
        == state
    )


def test_no_files_is_a_no_op(warehouse):
    result = merge_task([]).execute(task_context())
    assert (result["rows_in"], result["rows_out"], result["files_loaded"]) == (0, 0, 0)


def test_files_with_unsupported_types_or_mismatched_columns_are_refused(warehouse):
    nested = warehouse.parquet(
        "bad/nested.parquet",
        [{"event_id": 1, "tags": ["a"]}],
        schema=pa.schema([("event_id", pa.int64()), ("tags", pa.list_(pa.string()))]),
    )
    with pytest.raises(ValueError, match="'tags' has type list"):
        merge_task([nested]).execute(task_context())

    one = warehouse.parquet("bad/one.parquet", [event(1)])
    other = warehouse.parquet("bad/other.parquet", [event(2)], schema=event_schema(with_op=False))
    with pytest.raises(ValueError, match="must share their columns"):
        merge_task([one, other]).execute(task_context())


def test_snapshot_replaces_the_whole_table_and_is_repeatable(warehouse):
    def snapshot(uri):
        return LoadToWarehouseOperator(
            task_id="snapshot", table="demo.events", source_uris=[uri], mode="snapshot"
        ).execute(task_context())

    snapshot(warehouse.parquet("full/v1/a.parquet", [event(1), event(2), event(10, day=2)], NO_OP))
    reload = warehouse.parquet("full/v2/a.parquet", [event(2, event_type="click"), event(3)], NO_OP)

    first = snapshot(reload)
    state = warehouse.query(EVENTS)
    again = snapshot(reload)

    assert [(r[0], r[2]) for r in state] == [(2, "click"), (3, "view")]
    assert (first["rows_deleted"], first["rows_inserted"]) == (3, 2)
    assert (again["rows_deleted"], again["rows_inserted"]) == (2, 2) and warehouse.query(EVENTS) == state


def test_table_mode_and_keys_can_come_from_xcom_and_are_checked_at_run_time(warehouse):
    """A mapped CDC load gets its table, mode and keys from an upstream task."""
    uri = warehouse.parquet("cdc/events/f1.parquet", [event(1), event(2, op="D")])
    from_xcom = LoadToWarehouseOperator(
        task_id="load",
        table="{{ params.table }}",
        source_uris=[uri],
        mode="{{ params.mode }}",
        primary_key="{{ params.key }}",
        delete_column="op",
    )
    from_xcom.table, from_xcom.mode, from_xcom.primary_key = "demo.events", "merge", ["event_id"]
    assert from_xcom.execute(task_context())["rows_inserted"] == 1

    from_xcom.mode = "upsert"
    with pytest.raises(ValueError, match="not one of"):
        from_xcom.execute(task_context())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "events", "mode": "append"}, "schema.table"),
        ({"table": "demo.events", "mode": "merge"}, "needs primary_key"),
        ({"table": "demo.events", "mode": "replace"}, "needs partition_column"),
        ({"table": "demo.events", "mode": "upsert"}, "not one of"),
        ({"table": "demo.events", "mode": "append", "delete_column": "op"}, "only apply to mode='merge'"),
        ({"table": "demo.events", "mode": "procedure"}, "needs procedure"),
        ({"table": "demo.events; drop table x", "mode": "append"}, "not a plain identifier"),
    ],
)
def test_invalid_load_definitions_fail_when_the_dag_is_parsed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LoadToWarehouseOperator(task_id="bad", source_uris=[], **kwargs)


def test_load_reports_lake_input_and_table_output_to_openlineage(warehouse):
    uri = warehouse.parquet("cdc/events/f1.parquet", [event(1)])
    task = merge_task([uri])
    task.execute(task_context())

    lineage = task.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("file", uri.removeprefix("file://").rsplit("/", 1)[0])
    ]
    (output,) = lineage.outputs
    assert output.namespace.startswith("postgres://") and output.namespace.endswith(":5432")
    assert output.name == "warehouse.demo.events"
    schema = {f.name: f.type for f in output.facets["schema"].fields}
    assert schema["event_id"] == "bigint" and "loaded_at" in schema
    copied = output.facets["columnLineage"].fields
    assert "loaded_at" not in copied  # filled by the warehouse, not from the files
    (source,) = copied["amount"].inputFields
    assert (source.namespace, source.name, source.field) == (
        lineage.inputs[0].namespace,
        lineage.inputs[0].name,
        "amount",
    )
    assert source.transformations[0].type == "DIRECT"


def test_a_missing_ddl_file_is_an_error_naming_it_never_skipped():
    """A typo in a table name used to skip its DDL, then fail as 'relation does not exist'."""
    from data_platform.warehouse.loader import LoadSpec, WarehouseLoader
    from data_platform.warehouse.tables import TableName

    loader = WarehouseLoader(connection=None, dialect="postgres")
    with pytest.raises(FileNotFoundError, match=r"warehouse/tables/demo\.evnets\.sql does not exist: add it"):
        loader._ddl(LoadSpec(TableName.parse("demo.evnets"), mode="append"))
    assert loader._ddl(LoadSpec(TableName.parse("demo.events"), mode="append"))  # the audit table's and its own
    assert loader._ddl(LoadSpec(TableName.parse("demo.evnets"), mode="append", create_table=False))


@pytest.mark.parametrize(
    ("key", "expected"),
    [([], (6, 0)), (["a"], (6, 4)), (["a", "b"], (6, 1)), (["b"], (6, 2))],
)
def test_staged_rows_counts_rows_beyond_the_first_of_each_key(warehouse, key, expected):
    """One scan gives the staged rows and the repeated ones (the merge's uniqueness check);
    a key with a NULL column repeats nothing."""
    from data_platform.warehouse.merge import staged_rows_sql

    rows = "(1, 'x'), (1, 'x'), (1, 'y'), (2, 'y'), (2, NULL), (2, NULL)"
    sql = staged_rows_sql("staged", key, "postgres")
    assert warehouse.query(f"WITH staged (a, b) AS (VALUES {rows}) {sql}") == [expected]
