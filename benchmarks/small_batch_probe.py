"""Driver side of the small-batch benchmark (:mod:`benchmarks.cdc_small_batch`), run by spark-submit
through the platform's launcher exactly as the merge job is:

    launcher.py benchmarks.small_batch_probe OUT.json job <merge_job arguments>
    launcher.py benchmarks.small_batch_probe OUT.json reference <table URI>

``job`` runs :func:`spark_jobs.cdc.merge_job.main` unchanged, with timers wrapped around the
functions of each phase (exclusive time: a phase nested in another is not counted twice) and the
number of Spark jobs each phase started (the driver's status store). ``reference`` is the floor
of the same process: a bare SparkSession start with the job's conf, a trivial Hudi table
(``bulk_insert`` of 500 rows, as a full load creates one), then ONE ``upsert`` of 500 rows.
Both write ``{"phases": {name: {"seconds", "calls", "spark_jobs"}}, "started_epoch", ...}``
to OUT.json.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

STARTED_EPOCH = time.time()  # the driver's Python started (about: this module is run first)


class PhaseTimer:
    """Exclusive wall seconds, calls and Spark jobs per phase name."""

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}
        self._stack: list[list[float]] = []  # [started, child seconds, jobs at start, child jobs]
        self.spark: Any = None

    @staticmethod
    def cpu() -> float:
        """CPU seconds so far of this driver Python and of the JVM that started it (spark-submit
        runs the driver Python as a child of its JVM)."""
        jvm = 0.0
        try:
            with open(f"/proc/{os.getppid()}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            jvm = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
        return jvm + time.process_time()

    def spark_jobs(self) -> int:
        """Jobs the driver has started so far (0 before the session exists or after it stopped)."""
        if self.spark is None:
            return 0
        try:
            return int(self.spark.sparkContext._jsc.sc().statusStore().jobsList(None).size())  # noqa: SLF001
        except Exception:  # noqa: BLE001 - a stopped context
            return 0

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the enclosed wall seconds and Spark jobs to ``name`` (minus nested phases')."""
        # started, nested seconds, jobs at start, nested jobs, CPU at start, nested CPU
        frame = [time.perf_counter(), 0.0, float(self.spark_jobs()), 0.0, self.cpu(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            seconds = time.perf_counter() - frame[0]
            jobs = max(0.0, self.spark_jobs() - frame[2])
            cpu = self.cpu() - frame[4]
            entry = self.phases.setdefault(name, {"seconds": 0.0, "cpu": 0.0, "calls": 0, "spark_jobs": 0})
            entry["seconds"] += seconds - frame[1]
            entry["cpu"] += cpu - frame[5]
            entry["calls"] += 1
            entry["spark_jobs"] += max(0.0, jobs - frame[3])
            if self._stack:
                self._stack[-1][1] += seconds
                self._stack[-1][3] += jobs
                self._stack[-1][5] += cpu

    def wrap(self, owner: Any, attribute: str, phase: str) -> None:
        """Replace ``owner.attribute`` (a function or method) by a timed call of it."""
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.phase(phase):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


def instrument_merge_job(timer: PhaseTimer) -> None:
    """Wrap the merge job's phases (module attributes as the merge module looks them up)."""
    import pyspark.sql

    from spark_jobs.cdc import merge, merge_job
    from spark_jobs.cdc.sinks import hudi, snapshot
    from spark_jobs.common import lineage, lock, session

    original_build = session.build_spark_session

    def build(*args: Any, **kwargs: Any) -> Any:
        timer.spark = original_build(*args, **kwargs)
        return timer.spark

    session.build_spark_session = build
    timer.wrap(session, "build_spark_session", "session start (JVM, SparkContext, jars)")
    timer.wrap(pyspark.sql.SparkSession, "stop", "session stop")
    timer.wrap(merge_job, "load_table_configs", "table configs")
    for name in ("list_landed_files",):
        timer.wrap(merge, name, "landing listing")
    timer.wrap(merge, "select_sink", "sink choice (lake listing, Hudi class check)")
    timer.wrap(merge, "inspect_files", "DMS file inspection (footers, headers)")
    timer.wrap(merge._TableMerge, "_read_checked", "DMS read + schema drift + ordering check")  # noqa: SLF001
    timer.wrap(merge._TableMerge, "_split_bad_rows", "DMS read: row counts by operation / error")  # noqa: SLF001
    timer.wrap(merge._TableMerge, "_apply", "net change + change set")  # noqa: SLF001
    for sink in (hudi.HudiSink, snapshot.SnapshotSink):
        timer.wrap(sink, "write", "table write (Hudi commit)")
        timer.wrap(sink, "row_count", "table row counts")
        timer.wrap(sink, "read_table", "table read plan (existing rows)")
    timer.wrap(merge.TombstoneStore, "update", "tombstones")
    timer.wrap(merge.TombstoneStore, "read", "tombstones")
    for method in (
        "load_state",
        "commit",
        "prepare",
        "prepared",
        "prepared_ordering_widths",
        "clear_prepared",
        "record",
    ):
        timer.wrap(merge.FileTracker, method, "state / tracker files")
    for method in ("acquire", "release", "holder", "check"):
        timer.wrap(lock.LakeLock, method, "table lock")
    timer.wrap(lineage.LineageEmitter, "emit", "job's own lineage events")
    timer.wrap(lineage.LineageEmitter, "for_spark_job", "job's own lineage events")


def run_reference(timer: PhaseTimer, table_uri: str) -> None:
    """Session start, a 500-row Hudi table, one 500-row upsert (the merge job's Hudi options)."""
    from spark_jobs.common import session

    def start() -> Any:
        return session.build_spark_session("small-batch-reference")

    def hudi_options(operation: str) -> dict[str, str]:
        return {
            "hoodie.table.name": "reference",
            "hoodie.datasource.write.table.type": "COPY_ON_WRITE",
            "hoodie.datasource.write.operation": operation,
            "hoodie.datasource.write.recordkey.field": "id",
            "hoodie.datasource.write.precombine.field": "seq",
            "hoodie.datasource.write.keygenerator.class": "org.apache.hudi.keygen.NonpartitionedKeyGenerator",
        }

    def rows(offset: int) -> Any:
        return timer.spark.range(500).selectExpr(
            f"id + {offset} AS id", f"CAST(id + {offset} AS STRING) AS seq", "'x' AS value"
        )

    def create() -> None:
        rows(0).write.format("hudi").options(**hudi_options("bulk_insert")).mode("overwrite").save(table_uri)

    def upsert() -> None:
        rows(250).write.format("hudi").options(**hudi_options("upsert")).mode("append").save(table_uri)

    with timer.phase("session start (JVM, SparkContext, jars)"):
        timer.spark = start()
    try:
        with timer.phase("reference: bulk_insert of 500 rows (new table)"):
            create()
        with timer.phase("reference: ONE upsert of 500 rows"):
            upsert()
    finally:
        with timer.phase("session stop"):
            timer.spark.stop()


def main(argv: list[str]) -> int:
    out, mode, *rest = argv
    timer = PhaseTimer()
    cpu_at_start = timer.cpu()
    jobs_before_stop: list[int] = []
    code = 0
    import pyspark.sql

    original_stop = pyspark.sql.SparkSession.stop

    def stop(self: Any) -> None:
        jobs_before_stop.append(timer.spark_jobs())
        original_stop(self)

    pyspark.sql.SparkSession.stop = stop  # type: ignore[method-assign]
    if mode == "job":
        instrument_merge_job(timer)
        from spark_jobs.cdc import merge_job

        code = merge_job.main(rest)
    elif mode == "reference":
        run_reference(timer, rest[0])
    else:
        raise SystemExit(f"unknown mode {mode!r}: job or reference")
    record: dict[str, Any] = {
        "started_epoch": STARTED_EPOCH,
        "cpu_at_start": cpu_at_start,
        "cpu_at_exit": timer.cpu(),
        "finished_epoch": time.time(),
        "exit_code": code,
        "spark_jobs": jobs_before_stop[0] if jobs_before_stop else None,
        "phases": timer.phases,
    }
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
    return code


if __name__ == "__main__":
    entry: Callable[[list[str]], int] = main
    raise SystemExit(entry(sys.argv[1:]))
