"""Sensors on lake prefixes: new (unprocessed) files, and complete file sets.

The prefix is relative to the lake root of the current target (``get_settings()`` at poke time):
a local folder on ``local``, S3 on ``aws``. Both sensors push the matching file URIs as their
XCom value, ready for ``AdmitLakeFilesOperator`` / ``LoadToWarehouseOperator``. On ``aws`` with
``deferrable=True`` the wait runs on the triggerer (:class:`LakeFilesTrigger`, built on the
amazon provider's async S3 hook); locally they poke (or reschedule) like any sensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue


class _LakeFilesSensor(BaseSensorOperator):
    template_fields: Sequence[str] = ("prefix", "pattern")

    def __init__(self, *, prefix: str, pattern: str = "*", deferrable: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.prefix = prefix
        self.pattern = pattern
        self.deferrable = deferrable

    def _min_files(self) -> int:
        raise NotImplementedError

    def _consumer(self, context: Any) -> str | None:
        return None

    def _prefix_uri(self, settings: Any) -> str:
        return self.prefix if "://" in self.prefix else settings.lake_uri(self.prefix)

    def poke(self, context: Any) -> PokeReturnValue:
        from data_platform.lake.markers import ProcessedMarkers
        from data_platform.lake.storage import list_files
        from data_platform.settings import get_settings

        settings = get_settings()
        prefix_uri = self._prefix_uri(settings)
        files = list_files(prefix_uri, self.pattern)
        consumer = self._consumer(context)
        if consumer is not None:
            files = ProcessedMarkers(settings.lake_root, consumer).unprocessed(files, prefix_uri)
        self.log.info(
            "%d matching file(s) under %s (%s), need %d",
            len(files),
            prefix_uri,
            self.pattern,
            self._min_files(),
        )
        return PokeReturnValue(is_done=len(files) >= self._min_files(), xcom_value=[f.uri for f in files])

    def execute(self, context: Any) -> Any:
        from data_platform.settings import get_settings

        settings = get_settings()
        if not self.deferrable or settings.is_local:
            return super().execute(context)
        result = self.poke(context)
        if result.is_done:
            return result.xcom_value
        self._defer(context, settings)

    def _defer(self, context: Any, settings: Any) -> None:
        from data_platform.lake.triggers import LakeFilesTrigger

        self.defer(
            trigger=LakeFilesTrigger(
                prefix_uri=self._prefix_uri(settings),
                pattern=self.pattern,
                lake_root=settings.lake_root,
                min_files=self._min_files(),
                consumer=self._consumer(context),
                aws_conn_id=settings.aws_conn_id,
                region_name=settings.region,
                poke_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Back on a worker: re-check (the worker's view is authoritative) and return the files."""
        from airflow.sdk.exceptions import AirflowException

        from data_platform.settings import get_settings

        if event.get("status") != "success":
            raise AirflowException(f"Waiting for lake files failed: {event.get('message')}")
        result = self.poke(context)
        if result.is_done:
            return result.xcom_value
        self._defer(context, get_settings())


class NewLakeFilesSensor(_LakeFilesSensor):
    """Wait until at least ``min_files`` files under ``prefix`` are not yet processed.

    *Processed* means a marker exists for ``consumer`` (default: the DAG id), see
    ``data_platform.lake.markers``; ``LoadToWarehouseOperator`` writes those markers after its commit.
    Returns the unprocessed file URIs::

        wait = NewLakeFilesSensor(task_id="wait_events", prefix="landing/demo/events/received",
                                  pattern="*.parquet", mode="reschedule", deferrable=True)
    """

    template_fields: Sequence[str] = ("prefix", "pattern", "consumer")

    def __init__(self, *, consumer: str | None = None, min_files: int = 1, **kwargs: Any):
        super().__init__(**kwargs)
        if min_files < 1:
            raise ValueError(f"min_files must be at least 1, got {min_files}.")
        self.consumer = consumer
        self.min_files = min_files

    def _min_files(self) -> int:
        return self.min_files

    def _consumer(self, context: Any) -> str:
        return self.consumer or context["ti"].dag_id


class LakeFileSetCompleteSensor(_LakeFilesSensor):
    """Wait until a file set is complete: ``expected_count`` matching files under ``prefix``.

    Typical use: a day's folder that receives a known number of files (e.g. 96 quarter-hour
    files): ``prefix="landing/sat/{{ ds.replace('-', '/') }}", expected_count=96``. Processed
    state is not consulted: the set is complete or it is not. Returns the file URIs.
    """

    template_fields: Sequence[str] = ("prefix", "pattern", "expected_count")

    def __init__(self, *, expected_count: int | str, **kwargs: Any):
        super().__init__(**kwargs)
        self.expected_count = expected_count

    def _min_files(self) -> int:
        count = int(self.expected_count)
        if count < 1:
            raise ValueError(f"expected_count must be at least 1, got {count}.")
        return count
