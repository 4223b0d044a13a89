"""Lake sensors: new vs processed files, complete file sets, deferral to the triggerer on aws."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import TaskDeferred

from data_platform.lake import storage
from data_platform.lake.markers import ProcessedMarkers
from data_platform.lake.sensors import LakeFileSetCompleteSensor, NewLakeFilesSensor
from data_platform.lake.triggers import LakeFilesTrigger

PREFIX = "landing/events/received"


def _context(dag_id: str = "events_dag") -> dict:
    return {"ti": SimpleNamespace(dag_id=dag_id, task_id="wait", run_id="r1")}


def _put(root: str, *names: str) -> list[str]:
    return [storage.write_bytes(storage.join(root, PREFIX, name), b"data") for name in names]


def test_new_files_sensor_reports_only_unprocessed_files(local_lake):
    sensor = NewLakeFilesSensor(task_id="wait", prefix=PREFIX, pattern="*.parquet")
    assert not sensor.poke(_context()).is_done  # nothing there yet

    first, second = _put(local_lake, "a.parquet", "b.parquet")
    _put(local_lake, "notes.txt", "_SUCCESS")
    ProcessedMarkers(local_lake, "events_dag").mark([first])

    result = sensor.poke(_context())
    assert result.is_done and result.xcom_value == [second]
    # Another DAG has processed nothing: it sees both files.
    assert sensor.poke(_context("other_dag")).xcom_value == [first, second]

    ProcessedMarkers(local_lake, "events_dag").mark([second])
    assert not sensor.poke(_context()).is_done


def test_new_files_sensor_waits_for_min_files_and_explicit_consumer(local_lake):
    _put(local_lake, "a.parquet")
    sensor = NewLakeFilesSensor(task_id="wait", prefix=PREFIX, consumer="loader", min_files=2)
    assert not sensor.poke(_context()).is_done
    _put(local_lake, "b.parquet")
    assert sensor.poke(_context()).is_done
    with pytest.raises(ValueError, match="min_files"):
        NewLakeFilesSensor(task_id="bad", prefix=PREFIX, min_files=0)


def test_execute_returns_the_files_locally_even_when_deferrable(local_lake):
    (uri,) = _put(local_lake, "a.parquet")
    sensor = NewLakeFilesSensor(task_id="wait", prefix=PREFIX, deferrable=True, poke_interval=0.01, timeout=5)
    assert sensor.execute(_context()) == [uri]


def test_complete_set_sensor_counts_matching_files(local_lake):
    sensor = LakeFileSetCompleteSensor(task_id="day", prefix=PREFIX, pattern="*.nc", expected_count="3")
    uris = _put(local_lake, "0000.nc", "0015.nc")
    assert not sensor.poke(_context()).is_done
    uris += _put(local_lake, "0030.nc")
    ProcessedMarkers(local_lake, "events_dag").mark(uris)  # processed state does not matter here

    result = sensor.poke(_context())
    assert result.is_done and result.xcom_value == uris


def test_aws_sensor_defers_to_the_lake_trigger_which_skips_processed_files(aws_lake):
    processed, new = _put(aws_lake, "a.parquet", "b.parquet")
    ProcessedMarkers(aws_lake, "events_dag").mark([processed])
    sensor = NewLakeFilesSensor(
        task_id="wait", prefix=PREFIX, min_files=2, deferrable=True, poke_interval=0.01
    )

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(_context())

    trigger = deferred.value.trigger
    assert isinstance(trigger, LakeFilesTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "data_platform.lake.triggers.LakeFilesTrigger"
    assert kwargs["consumer"] == "events_dag" and kwargs["prefix_uri"] == storage.join(aws_lake, PREFIX)

    async def first_event(trigger: LakeFilesTrigger):
        return await anext(trigger.run())

    third = _put(aws_lake, "c.parquet")[0]
    event = asyncio.run(first_event(LakeFilesTrigger(**kwargs)))
    assert event.payload == {"status": "success", "files": [new, third]}
    assert sensor.execute_complete(_context(), event.payload) == [new, third]


def test_aws_trigger_reports_errors_to_the_task(aws_lake):
    trigger = LakeFilesTrigger(
        prefix_uri="s3://no-such-bucket-here/x",
        pattern="*",
        lake_root="s3://no-such-bucket-here",
        min_files=1,
        consumer=None,
        aws_conn_id="aws_default",
        poke_interval=0.01,
    )
    event = asyncio.run(anext(trigger.run()))
    assert event.payload["status"] == "error"
    with pytest.raises(Exception, match="Waiting for lake files failed"):
        NewLakeFilesSensor(task_id="w", prefix=PREFIX).execute_complete(_context(), event.payload)
