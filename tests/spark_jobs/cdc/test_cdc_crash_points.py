"""Fault injection: the merge job is killed (SIGKILL of its process group) at each commit step,
then the DAG's normal retry (same run id) and the next run follow. After every step the lake,
a model of the warehouse (each ``ok`` result's change set merged by key, as the load task does)
and the source must agree. Fault points are hooks (``CDC_FAULT_POINT``), never timing."""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from spark_jobs.cdc.faults import FAULT_POINT_ENV, FAULT_POINTS
from spark_jobs.cdc.layout import TableLayout
from spark_jobs.cdc.merge import MergeSettings, merge_table
from spark_jobs.cdc.outputs import hudi_commits, read_current
from spark_jobs.cdc.sinks.snapshot import existing_versions
from spark_jobs.common.lake import exists, join_uri, list_dir_names, read_json, write_json_atomic

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[3]
CONFIG = """
source_db: src
defaults:
  source_schema: public
  cadence: hourly
  file_format: csv
  ordering_columns: [ts, seq]
  retention_versions: 1
  columns: [{name: id, type: bigint}, {name: qty, type: int}]
tables:
  - source_table: items
    primary_key: [id]
"""
HEADER = ["Op", "ts", "id", "qty", "seq"]


class Source:
    """The source table as DMS reports it: applies each landed change in commit order."""

    def __init__(self) -> None:
        self.rows: dict[int, int] = {}
        self.tick = 0

    def land(self, dms: Any, name: str, changes: list[tuple[str, int, int]]) -> None:
        rows = []
        for op, key, qty in changes:
            self.tick += 1
            rows.append([op, f"2024-01-01 00:00:{self.tick:02d}", key, qty, f"{self.tick:04d}"])
            if op == "D":
                self.rows.pop(key, None)
            else:
                self.rows[key] = qty
        dms.csv(name, HEADER, rows)


class Warehouse:
    """What the load task does with an ``ok`` result: merge its change set by key with deletes,
    a change older than the row or the key's tombstone (by ``_cdc_seq``) neither updating,
    inserting nor deleting it (data_platform.warehouse.merge)."""

    def __init__(self, lake: str) -> None:
        self.lake = lake
        self.stored: dict[int, tuple[int, str]] = {}
        self.tombstones: dict[int, str] = {}

    @property
    def rows(self) -> dict[int, int]:
        return {key: qty for key, (qty, _) in self.stored.items()}

    def load(self, result: dict[str, Any]) -> None:
        assert result["status"] == "ok", result.get("error")
        if not result.get("changes_uri"):
            return
        changes = pq.read_table(result["changes_uri"][len("file://") :]).to_pylist()
        for row in sorted(changes, key=lambda r: r["_cdc_seq"]):
            key, seq = row["id"], row["_cdc_seq"]
            held = self.stored.get(key)
            newest = held[1] if held is not None else self.tombstones.get(key)
            if newest is not None and seq < newest:
                continue
            if row["_cdc_op"] == "D":
                self.stored.pop(key, None)
                self.tombstones[key] = seq
            else:
                self.stored[key] = (row["qty"], seq)
                self.tombstones.pop(key, None)


def lake_rows(lake: str) -> dict[int, int]:
    return {r["id"]: r["qty"] for r in read_current(lake, "src", "items").to_pylist()}


def killed_merge(
    lake: str, landing: str, config_dir: str, run_id: str, fault: str, sink: str = "snapshot"
) -> None:
    """Run the merge job as its own process group, killed at ``fault``. Its session gets the
    local target's conf (the Hudi bundle, Hudi's session settings) as spark-submit would."""
    from data_platform.spark.conf import local_session_conf

    submit = [arg for k, v in local_session_conf().items() for arg in ("--conf", f"{k}={v}")]
    env = dict(
        os.environ,
        **{
            FAULT_POINT_ENV: fault,
            "PYTHONPATH": str(REPO),
            "PYSPARK_SUBMIT_ARGS": shlex.join([*submit, "pyspark-shell"]),
            # the killed JVM leaves its scratch space (400 MB of JVM package copies) behind: in
            # the test's folder (pytest keeps the last three runs'), not in /tmp
            "SPARK_LOCAL_DIRS": str(Path(lake.removeprefix("file://")).parent),
        },
    )
    args = [sys.executable, "-m", "spark_jobs.cdc.merge_job", "--tables", "src.items", "--sink", sink]
    args += ["--config-dir", config_dir, "--landing-root", landing, "--lake-root", lake, "--run-id", run_id]
    done = subprocess.run(args, env=env, start_new_session=True, capture_output=True, text=True, timeout=900)
    assert done.returncode == -signal.SIGKILL, (
        f"not killed at {fault}: {done.returncode}\n{done.stderr[-3000:]}"
    )


def _write_config(folder: Path, *, partitioned: bool = False) -> str:
    """The table config; ``partitioned``: by ``qty``, so every update moves its key to another
    partition (the snapshot sink's key index must follow it through every crash point)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "src.yaml").write_text(CONFIG + ("    partition_by: [qty]\n" if partitioned else ""))
    return str(folder)


@pytest.fixture
def config_dir(tmp_path: Path) -> str:
    return _write_config(tmp_path / "configs")


def _merge(
    spark: Any, lake: str, landing: str, config_dir: str, run_id: str, sink: str = "snapshot"
) -> dict[str, Any]:
    from spark_jobs.cdc.table_config import load_table_configs

    (config,) = load_table_configs(config_dir)
    return merge_table(spark, config, MergeSettings(landing, lake, run_id=run_id, sink=sink)).to_dict()  # type: ignore[arg-type]


def _first_two_runs(
    spark, dms, landing, lake, config_dir, sink: str = "snapshot", *, older_commits: bool = False
) -> tuple[Source, Warehouse]:
    source, warehouse = Source(), Warehouse(lake)
    source.land(dms, "20240101-000100000.csv", [("I", k, k) for k in range(1, 7)])
    warehouse.load(_merge(spark, lake, landing, config_dir, "r1", sink))
    if older_commits:  # a second commit before the killed one: r1's files are cleanable in r2
        source.land(dms, "20240101-000130000.csv", [("U", 6, 60)])
        warehouse.load(_merge(spark, lake, landing, config_dir, "r1b", sink))
    # the batch the job is killed in: updates, deletes, a delete + re-insert, a new key
    source.land(
        dms, "20240101-000200000.csv", [("U", 1, 10), ("D", 2, 2), ("D", 3, 3), ("I", 3, 30), ("I", 7, 7)]
    )
    return source, warehouse


@pytest.fixture(scope="module")
def after_first_run(spark, tmp_path_factory) -> Any:
    """``start(sink, dms, landing, lake)``: the landing and lake folders after runs r1, r1b (and
    the batch r2 is killed in) copied from a template built once per sink (snapshot: partitioned
    by ``qty``); returns the config folder and the source and warehouse models of that point.
    Saves each crash point the first runs' merges."""
    templates: dict[str, tuple[Path, str, Source, Warehouse]] = {}

    def start(sink: str, dms: Any, landing: str, lake: str) -> tuple[str, Source, Warehouse]:
        if sink not in templates:
            root = tmp_path_factory.mktemp(f"template-{sink}")
            (root / "landing").mkdir()
            (root / "lake").mkdir()
            template_landing, template_lake = f"file://{root / 'landing'}", f"file://{root / 'lake'}"
            config_dir = _write_config(root / "configs", partitioned=sink == "snapshot")
            source, warehouse = _first_two_runs(
                spark,
                type(dms)(template_landing),
                template_landing,
                template_lake,
                config_dir,
                sink,
                older_commits=True,
            )
            templates[sink] = (root, config_dir, source, warehouse)
        root, config_dir, source, warehouse = templates[sink]
        shutil.copytree(root / "landing", landing[len("file://") :], dirs_exist_ok=True)
        shutil.copytree(root / "lake", lake[len("file://") :], dirs_exist_ok=True)
        return config_dir, copy.deepcopy(source), copy.deepcopy(warehouse)

    return start


def pending_hudi_instants(lake: str) -> list[str]:
    """Timeline instants of the Hudi table that never completed (requested or inflight only)."""
    timeline = Path(TableLayout(lake, "src", "items").hudi_uri[len("file://") :]) / ".hoodie"
    states: dict[str, set[str]] = {}
    for path in timeline.iterdir():
        instant, _, state = path.name.partition(".")
        if instant.isdigit():
            states.setdefault(instant, set()).add(state)
    completed = {"commit", "deltacommit", "replacecommit", "clean", "rollback", "restore", "savepoint"}
    return sorted(f"{i}.{'|'.join(sorted(s))}" for i, s in states.items() if not s & completed)


def _check_hudi_crash_state(lake: str, fault: str) -> None:
    """The killed job left what its fault point says (the hook fired where it should)."""
    pending = pending_hudi_instants(lake)
    if fault == "during_table_commit":
        assert len(pending) == 1 and "inflight" in pending[0], pending
    elif fault == "during_retention":
        assert len(pending) == 1 and pending[0].endswith(".clean.requested"), pending
    else:
        assert pending == []


SINK_POINTS = [("snapshot", fault) for fault in FAULT_POINTS] + [("hudi", fault) for fault in FAULT_POINTS]


@pytest.mark.parametrize(("sink", "fault"), SINK_POINTS)
def test_a_killed_merge_converges_on_retry_and_next_run(
    spark, dms, landing, lake, after_first_run, sink, fault
):
    config_dir, source, warehouse = after_first_run(sink, dms, landing, lake)
    before = lake_rows(lake)
    killed_merge(lake, landing, config_dir, "r2", fault, sink)
    assert lake_rows(lake) in (before, source.rows)  # old or new table, never a mix
    assert warehouse.rows == before  # the load task did not run: the merge task failed
    if sink == "hudi":
        _check_hudi_crash_state(lake, fault)

    retry = _merge(spark, lake, landing, config_dir, "r2", sink)  # Airflow's retry: same run id, at once
    warehouse.load(retry)
    assert lake_rows(lake) == warehouse.rows == source.rows
    assert (retry["inserted"], retry["updated"], retry["deleted"]) == (1, 2, 1)  # 7 new; 1, 3 changed; 2 gone
    assert retry["rows_after"] == len(source.rows)  # the row-count check's figure
    stored = read_json(join_uri(TableLayout(lake, "src", "items").history_root, "r2.json"))
    assert stored["status"] == "ok" and stored["changes_uri"] == retry["changes_uri"]

    source.land(dms, "20240101-000300000.csv", [("D", 7, 7), ("U", 4, 40)])
    after = _merge(spark, lake, landing, config_dir, "r3", sink)
    warehouse.load(after)
    assert lake_rows(lake) == warehouse.rows == source.rows
    assert after["rows_after"] == len(source.rows)
    assert (after["inserted"], after["updated"], after["deleted"]) == (0, 1, 1)  # no change counted twice
    layout = TableLayout(lake, "src", "items")
    assert not exists(layout.commit_intent_uri)
    if sink == "hudi":
        assert pending_hudi_instants(lake) == []  # rolled back or finished: nothing left inflight
        commits = [c["run_id"] for c in hudi_commits(lake, "src", "items")]
        assert (
            commits[:2] == ["r1", "r1b"] and commits[-1] == "r3" and set(commits) == {"r1", "r1b", "r2", "r3"}
        )
    else:
        assert existing_versions(layout) == [read_json(layout.pointer_uri)["version"]]  # retention 1
        assert "_temporary" not in list_dir_names(layout.versions_root)


def test_a_run_killed_for_good_is_carried_by_the_next_run(spark, dms, landing, lake, config_dir):
    """The killed run's retries are exhausted; the next run (another id) finishes its commit once
    the dead lease expired, and its change set carries the killed run's changes to the warehouse."""
    source, warehouse = _first_two_runs(spark, dms, landing, lake, config_dir)
    killed_merge(lake, landing, config_dir, "r2", "after_table_version")
    layout = TableLayout(lake, "src", "items")
    (lease_name,) = [n for n in list_dir_names(layout.lock_root) if n.endswith(".json")]
    lease_uri = join_uri(layout.lock_root, lease_name)
    # killed on another host (an EMR worker): only the time rule frees it (a killed process on
    # this host is taken over at once: tests/spark_jobs/common/test_lake_lock.py)
    write_json_atomic(lease_uri, {**read_json(lease_uri), "host": "emr-worker-1"})
    assert _merge(spark, lake, landing, config_dir, "r3")["status"] == "locked"  # dead lease still live
    write_json_atomic(lease_uri, {**read_json(lease_uri), "expires_at": 0})  # its TTL passed without renewal

    source.land(dms, "20240101-000300000.csv", [("U", 4, 40)])
    after = _merge(spark, lake, landing, config_dir, "r4")
    warehouse.load(after)
    assert lake_rows(lake) == warehouse.rows == source.rows
    assert (after["inserted"], after["updated"], after["deleted"]) == (1, 3, 1)


def test_a_committed_result_is_never_replaced_by_a_later_record_of_its_run(
    spark, dms, landing, lake, config_dir
):
    from spark_jobs.cdc.results import TableResult
    from spark_jobs.cdc.tracker import FileTracker

    source, warehouse = _first_two_runs(spark, dms, landing, lake, config_dir)
    killed_merge(lake, landing, config_dir, "r2", "before_lock_release")  # committed, lease left held
    layout = TableLayout(lake, "src", "items")
    locked = TableResult(table_id="src.items", run_id="r2", status="locked", started_at="t")
    assert FileTracker(layout).record(locked) is False  # e.g. a retry that met another run's lock
    again = _merge(spark, lake, landing, config_dir, "r2")
    assert again["status"] == "ok" and again["reused"]
    warehouse.load(again)
    assert lake_rows(lake) == warehouse.rows == source.rows
    assert json.loads(Path(layout.result_uri("r2")[len("file://") :]).read_text())["reused"] is True


def test_clearing_an_old_run_while_files_wait_never_moves_the_warehouse_back(
    spark, dms, landing, lake, config_dir
):
    source, warehouse = Source(), Warehouse(lake)
    source.land(dms, "20240101-000100000.csv", [("I", 1, 1), ("I", 2, 2), ("I", 5, 5)])
    warehouse.load(_merge(spark, lake, landing, config_dir, "r1"))
    source.land(dms, "20240101-000200000.csv", [("D", 5, 5), ("U", 1, 10)])
    warehouse.load(_merge(spark, lake, landing, config_dir, "r2"))
    source.land(dms, "20240101-000300000.csv", [("U", 1, 11), ("I", 6, 6)])
    warehouse.load(_merge(spark, lake, landing, config_dir, "r3"))
    source.land(dms, "20240101-000400000.csv", [("U", 2, 20), ("D", 6, 6)])  # waits for the next run

    rerun = _merge(spark, lake, landing, config_dir, "r1")  # r1 cleared: plan -> merge -> load -> check
    assert rerun["reused"] and rerun["files"] == ["20240101-000100000.csv"]
    warehouse.load(rerun)
    assert warehouse.rows == lake_rows(lake) == {1: 11, 2: 2, 6: 6}  # 5 stays deleted, 1 not stale
    assert rerun["rows_after"] == len(lake_rows(lake))  # the row-count check's figure: the lake now

    backfill = _merge(
        spark, lake, landing, config_dir, "backfill__2024-01-01"
    )  # a backfill of an old interval
    warehouse.load(backfill)
    assert lake_rows(lake) == warehouse.rows == source.rows
    warehouse.load(
        _merge(spark, lake, landing, config_dir, "r2")
    )  # clearing a newer one later: still no change
    assert _merge(spark, lake, landing, config_dir, "r4")["status"] == "noop"  # nothing left to load
    assert lake_rows(lake) == warehouse.rows == source.rows
