"""Demo hooks of the CDC pipeline: land one simulated DMS batch per run, then compare the lake
tables and the warehouse tables with the simulated source database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from data_platform.paths import include_file, local_dir

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

SEED = 7
# DMS batches landed before each demo run: the full load first, then two CDC batches at once
# (several files per table, changes to one key spread over files, out-of-order file names).
BATCHES_PER_RUN = ((0,), (1, 2))


def _expected_root() -> str:
    return (local_dir() / "cdc-expected").as_uri()


def land_batches(settings: PlatformSettings, run_index: int) -> None:
    """Write the DMS batches of demo run ``run_index`` to the landing area."""
    from data_platform.local.dms_simulator import write_sample_data

    for batch in BATCHES_PER_RUN[run_index]:
        write_sample_data(settings.landing_root, seed=SEED, only_batch=batch, expected_out=_expected_root())


def land_days(settings: PlatformSettings, days: list[date]) -> None:
    """The DMS files of a backfill over ``days``: the full load, then one CDC batch a day, all
    landed before the backfill starts (as a DMS task goes on writing while the pipeline is down)."""
    from data_platform.local.dms_simulator import write_sample_data

    write_sample_data(settings.landing_root, seed=SEED, batches=1 + len(days), expected_out=_expected_root())


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Hudi 0.15 stores TIMESTAMP_NTZ source columns as UTC timestamps (see sinks/hudi.py)
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, float):
        return Decimal(str(value)).normalize()
    return value


def _rows(records: list[dict[str, Any]], columns: list[str], key: list[str]) -> list[tuple]:
    rows = [tuple(_canonical(r[c]) for c in columns) for r in records]
    positions = [columns.index(k) for k in key]
    return sorted(rows, key=lambda row: tuple(str(row[p]) for p in positions))


def _latest_per_key(history: list[dict[str, Any]], key: list[str]) -> list[dict[str, Any]]:
    """The current state that a historical table's change rows describe."""
    from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN

    latest: dict[tuple, dict[str, Any]] = {}
    for row in sorted(history, key=lambda r: r[SEQ_COLUMN]):
        latest[tuple(row[k] for k in key)] = row
    return [row for row in latest.values() if row[OP_COLUMN] != "D"]


def verify(settings: PlatformSettings) -> str:
    """Every CDC table in the lake and in the warehouse equals the simulated source."""
    import pyarrow.parquet as pq
    from airflow.sdk import BaseHook

    from data_platform.cdc.pipeline import INDEX_FILE
    from spark_jobs.cdc.outputs import read_current
    from spark_jobs.cdc.table_config import load_table_configs
    from spark_jobs.common.lake import list_files

    hook = BaseHook.get_connection(settings.warehouse_conn_id).get_hook()
    checked = []
    for config in load_table_configs(str(include_file(INDEX_FILE))):
        states = sorted(
            (
                f.uri
                for f in list_files(f"{_expected_root()}/{config.source_table}")
                if "state_batch=" in f.uri
            ),
            key=lambda uri: int(uri.rsplit("=", 1)[1].split(".")[0]),
        )
        if not states:
            continue
        expected_table = pq.read_table(states[-1].removeprefix("file://"))
        columns, key = expected_table.column_names, list(config.primary_key)
        expected = _rows(expected_table.to_pylist(), columns, key)
        commits = _hudi_commits_of_runs(settings.lake_root, config)
        lake = read_current(settings.lake_root, config.database, config.table).to_pylist()  # hudi-rs
        warehouse_sql = f"SELECT * FROM {config.warehouse_table}"
        cursor = hook.get_conn().cursor()
        cursor.execute(warehouse_sql)
        names = [d[0] for d in cursor.description]
        warehouse = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if config.storage_mode == "historical":
            lake, warehouse = _latest_per_key(lake, key), _latest_per_key(warehouse, key)
        for where, records in (("lake", lake), ("warehouse", warehouse)):
            actual = _rows(records, columns, key)
            assert actual == expected, (
                f"{config.table_id} in the {where}: {len(actual)} rows differ from the "
                f"{len(expected)} expected ({states[-1]})"
            )
        checked.append(
            f"{config.table_id} ({len(expected)} rows, Hudi {config.table_type}, {commits} commits)"
        )
    assert checked, "no CDC table had an expected state to compare with"
    return "lake (read with hudi-rs) and warehouse equal the source for " + ", ".join(checked)


def _hudi_commits_of_runs(lake_root: str, config: Any) -> int:
    """The table is a Hudi table whose timeline has a commit for every run that wrote it since
    its last full load (the run id is in each commit's metadata); returns the commit count."""
    from spark_jobs.cdc.layout import TableLayout
    from spark_jobs.cdc.outputs import hudi_commits, is_hudi_table
    from spark_jobs.common.lake import list_files, read_json

    assert is_hudi_table(lake_root, config.database, config.table), (
        f"{config.table_id} is not a Hudi table in the lake (no .hoodie under cdc/{config.database}/{config.table}/hudi)"
    )
    results = [
        read_json(f.uri)
        for f in list_files(TableLayout(lake_root, config.database, config.table).history_root)
    ]
    written = sorted(
        (r for r in results if r and r["status"] == "ok" and r.get("changes_uri")),
        key=lambda r: r["finished_at"],
    )
    last_full = max((i for i, r in enumerate(written) if r.get("full_load")), default=0)
    committed = {c["run_id"] for c in hudi_commits(lake_root, config.database, config.table)}
    missing = [r["run_id"] for r in written[last_full:] if r["run_id"] not in committed]
    assert not missing, f"{config.table_id}: runs {missing} wrote the table but have no Hudi commit"
    return len(committed)
