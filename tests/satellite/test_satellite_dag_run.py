"""satellite_timeseries end to end through Airflow on the local target, with the test's own
points and config: the day's files never all arrive (90 of 96, one of them truncated), the
sensor times out softly, the run goes on, reports the missing slots and bad file, and loads
exactly the generator's values into the warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_platform.lineage.tasks import process_events
from data_platform.local.demo import last_run, run_dag
from data_platform.local.lineage_demo import lineage_graph, walk_to_origin
from data_platform.local.satellite_sample import SMALL_GRID, day_files, expected_value
from data_platform.paths import INCLUDE_PATH_ENV_VAR
from data_platform.settings import get_settings
from spark_jobs.satellite import product
from tests.satellite.satellite_testing import DAY, POINTS, points_yaml

pytestmark = [pytest.mark.e2e, pytest.mark.spark]
PRESENT = range(90)
TRUNCATED = 10

PIPELINE = """\
input_prefix: satellite/mdssftd
points: satellite/points.yaml
table: dssf_timeseries
warehouse_table: satellite.dssf_timeseries
slots_per_day: 96
wait_timeout_minutes: 0.1
poke_interval_minutes: 0.02
on_bad_file: skip
on_layout_change: read
max_active_runs: 2
"""


def _test_include(tmp_path: Path) -> Path:
    """The test's points and config, ahead of the runtime's include folders."""
    include = tmp_path / "include"
    (include / "satellite").mkdir(parents=True)
    (include / "satellite" / "points.yaml").write_text(points_yaml())
    (include / "satellite" / "pipeline.yaml").write_text(PIPELINE)
    return include


def test_an_incomplete_day_is_extracted_reported_and_loaded_exactly(airflow_runtime, tmp_path):
    from airflow.sdk import BaseHook

    settings = get_settings()
    root = Path(settings.landing_root.removeprefix("file://")) / "satellite" / "mdssftd"
    files = day_files(root, DAY, slots=PRESENT)
    files[TRUNCATED].write_bytes(files[TRUNCATED].read_bytes()[:5000])
    env = {
        **airflow_runtime,
        INCLUDE_PATH_ENV_VAR: os.pathsep.join(
            [str(_test_include(tmp_path)), airflow_runtime[INCLUDE_PATH_ENV_VAR]]
        ),
    }

    run_dag("satellite_timeseries", DAY.isoformat(), env, tmp_path / "run.log")
    run = last_run("satellite_timeseries", env)

    assert run["state"] == "success", run["tasks"]
    assert run["tasks"]["wait_for_day_files"] == "skipped"  # timed out softly
    (day,) = run["values"]["day_load"]
    slots = product.day_slots(DAY)
    assert day["missing_slots"] == [f"{slots[i]:%H:%M}" for i in (TRUNCATED, *range(90, 96))]
    assert [b["file"].rsplit("/", 1)[-1] for b in day["bad_files"]] == [files[TRUNCATED].name]
    (check,) = run["values"]["check"]
    assert check["checks_passed"] == check["checks_total"]

    hook = BaseHook.get_connection(settings.warehouse_conn_id).get_hook()
    rows = hook.get_records(
        "SELECT site_id, obs_time, dssf_tot, fraction_diffuse, quality_flag FROM satellite.dssf_timeseries"
    )
    expected = set()
    for index in PRESENT:
        if index == TRUNCATED:
            continue
        for point in POINTS:
            cell = SMALL_GRID.cell(point.lat, point.lon)
            values = (expected_value(v, *cell, slots[index]) for v in product.VARIABLES)
            expected.add((point.site_id, slots[index].replace(tzinfo=None), *values))
    assert len(rows) == len(expected) == 89 * len(POINTS)
    assert set(rows) == expected
    # the run's OpenLineage events, processed as the lineage DAG does: the series column walks
    # back to the netCDF variable
    assert process_events()["events_rejected"] == 0
    walk_to_origin(lineage_graph(settings), "satellite.dssf_timeseries", "dssf_tot")
