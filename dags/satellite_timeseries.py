"""Satellite time series: the day's LSA SAF MDSSFTD files -> point series in the lake -> warehouse.

Daily, for the logical date's day (a manual run without a logical date: the start day of the
interval the timetable infers, i.e. the last complete day). Config: include/satellite/pipeline.yaml; points:
include/satellite/points.yaml.

1. run_inputs: the points catalogue this DAG was built with, shipped to the run's folder in the
   lake, and the day folder and job arguments on the target's lake / landing roots;
2. wait_for_day_files: the day's 96 quarter-hour files under the product root, or the configured
   timeout; then the run goes on with whatever arrived (soft fail: the sensor is skipped);
3. extract (Spark on EMR Serverless / local): the catalogue points' DSSF_TOT, FRACTION_DIFFUSE and
   quality_flag from every file of the day, reading only the chunks that hold points; the day's
   Parquet files in the lake are replaced; bad files are skipped or fail the run (policy);
4. day_load: the day's result: its files, rows, and the missing slots / bad files (alerted);
5. load: the day replaced in the warehouse (one row per point per slot present), then checked
   (ranges, no duplicate point/slot, row count = lake).

Backfill a year with `airflow backfill create --dag-id satellite_timeseries --from-date ... --to-date ...`:
at most max_active_runs days run at once, and at most two extraction jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import airflow.providers.amazon.aws.operators.base_aws  # noqa: F401 - pre-imported (see cdc_pipelines.py)
from airflow.sdk import DAG, TriggerRule, task
from airflow.timetables.interval import CronDataIntervalTimetable

from data_platform.alerting import ALERT_POLICY_STANDARD
from data_platform.intervals import run_day
from data_platform.lake.sensors import LakeFileSetCompleteSensor
from data_platform.satellite import pipeline
from data_platform.spark import SparkJobOperator
from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator

config = pipeline.pipeline_config()


@task(multiple_outputs=True)
def run_inputs(**context) -> dict:
    """Ship the run's points catalogue; the day, the day folder and the extraction job's arguments."""
    day = run_day(context)
    return {**pipeline.run_inputs(day, context["run_id"]), "day": day, "partition_clause": f"obs_date = '{day}'"}


@task(multiple_outputs=True)
def day_load(**context) -> dict:
    """The day's extraction result as the load's inputs; missing slots and bad files alerted."""
    return pipeline.day_load(run_day(context), context["run_id"], context)


with DAG(
    dag_id="satellite_timeseries",
    description="Point series of surface radiation from the day's satellite files, into the lake and the warehouse",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2018, 1, 1),
    catchup=False,
    max_active_runs=config.max_active_runs,
    tags=["satellite", "lake", "warehouse"],
    default_args={
        "owner": "data-platform",
        "team": "energy-analytics",
        "pipeline": "satellite",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        **ALERT_POLICY_STANDARD.task_callbacks(),
    },
):
    inputs = run_inputs()
    wait = LakeFileSetCompleteSensor(
        task_id="wait_for_day_files",
        prefix=inputs["day_folder"],
        pattern="NETCDF4_LSASAF_MSG_MDSSFTD_MSG-Disk_*.nc",
        expected_count=config.slots_per_day,
        timeout=timedelta(minutes=config.wait_timeout_minutes),
        poke_interval=timedelta(minutes=config.poke_interval_minutes),
        mode="reschedule",
        soft_fail=True,  # timeout: skipped, and the run goes on with the files that arrived
    )
    extract = SparkJobOperator(
        task_id="extract",
        job="satellite_extract",
        version="1.0",
        entry_point="spark_jobs.satellite.extract_job",
        args=inputs["extract_arguments"],
        alert_policy=ALERT_POLICY_STANDARD,
        execution_timeout=timedelta(hours=1),
        max_active_tis_per_dag=2,  # backfills: at most two extraction jobs at once
        trigger_rule=TriggerRule.NONE_FAILED,
    )

    day = day_load()
    load = LoadToWarehouseOperator(
        task_id="load",
        table=config.warehouse_table,
        source_uris=day["source_uris"],
        mode="replace",
        partition_column="obs_date",
        partition_value=inputs["day"],
    )
    check = CheckWarehouseTableOperator(
        task_id="check",
        table=config.warehouse_table,
        rules=config.warehouse_table,
        source_row_count=day["rows"],
        partition_clause=inputs["partition_clause"],
    )
    wait >> extract >> day >> load >> check
