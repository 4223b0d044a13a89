"""CDC small batch: the fixed cost of one merge job of three tables with ~500 changes each, on the
local target exactly as the DAG runs it (spark-submit of the platform launcher, the merged local
conf of the ``cdc_merge`` job with its profiles, the OpenLineage agent), against a bare Spark
session start plus one trivial Hudi upsert measured in the same run.

    python -m benchmarks.cdc_small_batch [--scale 45] [--runs 1]

Lands the simulated ``shop`` database's full load (``data_platform.local.dms_simulator``,
``--scale`` times its row counts: ~1,000 rows per table), merges it with one job (the
tables' Hudi versions exist from then on, as in steady state), then lands ONE CDC batch (~450
changes per table: customers CSV with header, orders Parquet partitioned by date, order_items
CSV without header, composite key) and times, on copies of that lake:

1. the merge job as the DAG runs it: wall and CPU seconds (user + system of spark-submit, its
   JVM and the driver's Python, from ``getrusage(RUSAGE_CHILDREN)``);
2. the same job with timers around its phases (``benchmarks.small_batch_probe``): where the
   seconds and the Spark jobs go (JVM launch, session start, listing, DMS reads, Hudi write,
   state files, lineage);
3. the probe again without the OpenLineage agent (its listener and conf): the agent's share;
4. the reference: spark-submit of a bare session with the same conf, a 500-row Hudi table,
   ONE 500-row upsert.

The load average is printed with the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_TABLES = ("customers", "orders", "order_items")
_JOB = "cdc_merge"
_CONFIG = """\
source_db: shop
defaults:
  source_schema: public
  target_database: bench_small
  cadence: 10min
  batch_size: 3
  table_type: COPY_ON_WRITE
  storage_mode: current
  ordering_columns: [dms_commit_ts, change_seq]
  retention_versions: 3
  bad_rows: fail
tables:
  - source_table: customers
    primary_key: [customer_id]
    file_format: csv
    csv: {delimiter: ",", header: true}
    columns:
      - {name: customer_id, type: bigint}
      - {name: credit_limit, type: "decimal(12,2)"}
  - source_table: orders
    primary_key: [order_id]
    partition_by: [order_date]
    file_format: parquet
  - source_table: order_items
    primary_key: [order_id, line_no]
    file_format: csv
    csv: {delimiter: ",", header: false}
    columns:
      - {name: dms_commit_ts, type: string}
      - {name: order_id, type: bigint}
      - {name: line_no, type: int}
      - {name: product, type: string}
      - {name: quantity, type: int}
      - {name: unit_price, type: "decimal(10,2)"}
      - {name: change_seq, type: string}
"""


class SparkSubmitRunner:
    """spark-submit runs of the platform launcher with the local target's conf of ``cdc_merge``."""

    def __init__(self, work: Path, extra_conf: dict[str, str] | None = None) -> None:
        from data_platform.settings import Target
        from data_platform.spark.conf import build_spark_conf
        from data_platform.spark.environments import LocalSparkConfig
        from data_platform.spark.jobs import get_job
        from data_platform.spark.local_target import LAUNCHER

        self.work = work
        spec = self.spec = get_job(_JOB)
        conf = build_spark_conf(
            target=Target.LOCAL, environment_conf={}, environment="local", profiles=spec.profiles
        )
        # what SparkJobOperator adds from the Airflow task (the agent's and the job's parent run)
        self.conf = conf.with_missing(
            "openlineage-parent",
            {
                "spark.openlineage.parentJobNamespace": "bench",
                "spark.openlineage.parentJobName": "cdc_10min.merge_batch",
                "spark.openlineage.parentRunId": "01900000-0000-7000-8000-000000000000",
            },
        )
        if extra_conf:  # a setting to try, as a task's conf={...} would give it
            self.conf = type(self.conf)(
                {**self.conf.values, **extra_conf},
                {**self.conf.origins, **dict.fromkeys(extra_conf, "benchmark --conf")},
                self.conf.dropped,
            )
        self.master = LocalSparkConfig().master
        self.launcher = work / LAUNCHER.name
        shutil.copyfile(LAUNCHER, self.launcher)

    def without_agent(self) -> Any:
        """The conf without the OpenLineage agent (its listener and ``spark.openlineage.*``)."""
        from data_platform.spark.conf import SparkConf

        kept = {
            k: v
            for k, v in self.conf.values.items()
            if k != "spark.extraListeners" and not k.startswith("spark.openlineage.")
        }
        return SparkConf(values=kept, origins={k: self.conf.origins[k] for k in kept})

    def run(self, module: str, args: list[str], label: str, conf: Any = None) -> dict[str, float]:
        """Wall and CPU seconds of one spark-submit run (raises with its output tail if it fails)."""
        from data_platform.spark.local_target import spark_submit_command, submit_environment

        command = spark_submit_command(self.master, label, conf or self.conf, self.launcher, module, args)
        env = submit_environment(self.spec)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started_epoch, started = time.time(), time.perf_counter()
        done = subprocess.run(command, env=env, cwd=self.work, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
            raise RuntimeError(f"{label}: spark-submit exited with {done.returncode}:\n{tail}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"wall": wall, "cpu": cpu, "started_epoch": started_epoch, "stdout": done.stdout}  # type: ignore[dict-item]


def _land(landing: Path, batch: int, scale: int) -> None:
    from data_platform.local.dms_simulator import write_sample_data

    write_sample_data(
        f"file://{landing}",
        seed=7,
        only_batch=batch,
        scale=scale,
        expected_out=f"file://{landing.parent / 'expected'}",
    )
    for extra in ("payments",):  # the three hourly tables only
        shutil.rmtree(landing / "shop" / "public" / extra, ignore_errors=True)


def _merge_args(configs: Path, landing: Path, lake: Path, run_id: str) -> list[str]:
    return [
        "--batch-json",
        json.dumps({"tables": [f"bench_small.{t}" for t in _TABLES]}),
        "--config-dir",
        str(configs),
        "--landing-root",
        f"file://{landing}",
        "--lake-root",
        f"file://{lake}",
        "--run-id",
        run_id,
    ]


def _check_summary(stdout: str, label: str) -> dict[str, Any]:
    summary = json.loads(stdout.strip().splitlines()[-1])
    bad = [t for t in summary["tables"] if t["status"] != "ok"]
    if bad:
        raise RuntimeError(f"{label}: tables not merged: {[(t['table_id'], t['error']) for t in bad]}")
    return summary


def _print_breakdown(title: str, run: dict[str, Any], probe: dict[str, Any]) -> None:
    """The probe's phases (wall and CPU seconds, calls, Spark jobs), largest CPU first."""
    phases = probe["phases"]
    launch = probe["started_epoch"] - run["started_epoch"]
    exit_s = run["started_epoch"] + run["wall"] - probe["finished_epoch"]
    timed = sum(p["seconds"] for p in phases.values())
    timed_cpu = sum(p["cpu"] for p in phases.values())
    python_rest = probe["finished_epoch"] - probe["started_epoch"] - timed
    python_rest_cpu = probe["cpu_at_exit"] - probe["cpu_at_start"] - timed_cpu
    exit_cpu = run["cpu"] - probe["cpu_at_exit"]
    print(f"\n{title}: {run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU, {probe['spark_jobs']} Spark jobs")
    print(f"  {'phase':<58}{'wall s':>8}{'CPU s':>8}{'calls':>7}{'jobs':>6}")
    rows = [
        ("spark-submit + JVM launch until the driver Python runs", launch, probe["cpu_at_start"], "", ""),
        *[
            (name, e["seconds"], e["cpu"], str(int(e["calls"])), str(int(e["spark_jobs"])))
            for name, e in sorted(phases.items(), key=lambda item: -item[1]["cpu"])
        ],
        ("driver Python outside these phases (imports, args, ...)", python_rest, python_rest_cpu, "", ""),
        ("launcher JVM of spark-submit, JVM shutdown, agent flush", exit_s, exit_cpu, "", ""),
    ]
    for name, wall, cpu, calls, jobs in rows:
        print(f"  {name:<58}{wall:>8.2f}{cpu:>8.2f}{calls:>7}{jobs:>6}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cdc_small_batch", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scale", type=int, default=45, help="x the simulator's rows and changes per batch")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of the job (the best is reported)")
    parser.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting to try (repeatable)"
    )
    args = parser.parse_args(argv if argv is not None else [])
    extra_conf = dict(item.split("=", 1) for item in args.conf)

    from data_platform.paths import INCLUDE_PATH_ENV_VAR, REPO_ROOT

    os.environ.setdefault(INCLUDE_PATH_ENV_VAR, str(REPO_ROOT / "include"))
    work = Path(tempfile.mkdtemp(prefix="cdc-small-batch-"))
    local_before = os.environ.get("PLATFORM_LOCAL_DIR")
    os.environ["PLATFORM_LOCAL_DIR"] = str(work / "local")  # the agent's lineage file goes here
    begun = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{(time.perf_counter() - begun) / 60:5.1f} min] {message}", flush=True)

    try:
        runner = SparkSubmitRunner(work, extra_conf)
        configs = work / "configs"
        configs.mkdir()
        (configs / "shop.yaml").write_text(_CONFIG)
        landing = work / "landing"
        _land(landing, 0, args.scale)
        progress("full load landed; merging it (untimed setup: creates the three Hudi tables) ...")
        setup = runner.run(_JOB_MODULE, _merge_args(configs, landing, work / "lake", "setup"), "setup")
        _check_summary(setup["stdout"], "setup")  # type: ignore[arg-type]
        _land(landing, 1, args.scale)
        figures: list[dict[str, Any]] = []
        for index in range(args.runs):
            lake = work / f"lake-{index}"
            shutil.copytree(work / "lake", lake)
            progress(f"timed run {index + 1}/{args.runs}: the merge job as the DAG runs it ...")
            load = os.getloadavg()[0]
            run = runner.run(_JOB_MODULE, _merge_args(configs, landing, lake, "small"), "small")
            run["load"] = load
            figures.append(run)
        summary = _check_summary(figures[0]["stdout"], "small batch")
        changes = {t["table_id"]: t["inserted"] + t["updated"] + t["deleted"] for t in summary["tables"]}

        def probe_job(name: str, conf: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
            """A timed run of the probe on a fresh copy of the lake, and the probe's record."""
            shutil.copytree(work / "lake", work / f"lake-{name}")
            out = work / f"{name}.json"
            merge = _merge_args(configs, landing, work / f"lake-{name}", "small")
            run = runner.run("benchmarks.small_batch_probe", [str(out), "job", *merge], name, conf=conf)
            return run, json.loads(out.read_text())

        progress("probe run: the same job with phase timers ...")
        probe_run, probe = probe_job("probe")
        progress("the same probe without the OpenLineage agent (the agent's share) ...")
        quiet_run, quiet = probe_job("probe-no-agent", runner.without_agent())
        progress("reference: bare session + a 500-row Hudi table + ONE upsert ...")
        reference_out = work / "reference.json"
        reference_load = os.getloadavg()[0]
        reference = runner.run(
            "benchmarks.small_batch_probe",
            [str(reference_out), "reference", f"file://{work / 'reference-table'}"],
            "reference",
        )
        reference_probe = json.loads(reference_out.read_text())
        best = min(figures, key=lambda f: f["wall"])
        print(f"\nsmall batch: net changes per table {changes}")
        print(f"{'run':<52}{'wall s':>8}{'CPU s':>8}{'load':>7}")
        for index, run in enumerate(figures):
            print(
                f"{f'merge job as the DAG runs it #{index + 1}':<52}{run['wall']:>8.1f}{run['cpu']:>8.1f}{run['load']:>7.2f}"
            )
        print(
            f"{'reference: session + Hudi table + one upsert':<52}{reference['wall']:>8.1f}{reference['cpu']:>8.1f}{reference_load:>7.2f}"
        )
        print(
            f"merge job / reference: {best['wall'] / reference['wall']:.2f}x wall, "
            f"{best['cpu'] / reference['cpu']:.2f}x CPU"
        )
        _print_breakdown("merge job with phase timers", probe_run, probe)
        print(
            f"  the OpenLineage agent's share (same probe without it: {quiet_run['wall']:.1f} s wall, "
            f"{quiet_run['cpu']:.1f} s CPU, {quiet['spark_jobs']} Spark jobs): "
            f"{probe_run['wall'] - quiet_run['wall']:.1f} s wall, {probe_run['cpu'] - quiet_run['cpu']:.1f} s CPU"
        )
        _print_breakdown("reference with phase timers", reference, reference_probe)
        sys.stdout.flush()
    finally:
        if local_before is None:
            os.environ.pop("PLATFORM_LOCAL_DIR", None)
        else:
            os.environ["PLATFORM_LOCAL_DIR"] = local_before
        shutil.rmtree(work, ignore_errors=True)
    return 0


_JOB_MODULE = "spark_jobs.cdc.merge_job"

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
