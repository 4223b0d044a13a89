"""Example DAG, quoted by the README ("Lake files to the warehouse"): wait for new lake files,
admit them, merge them into the warehouse by key and check the table.

Documentation and test at once, as the Amazon provider's ``example_*.py`` system tests are:
tests/warehouse/test_warehouse_dag_run.py runs this file end to end with ``dag.test()`` on the
local target, and tests/platform/test_readme_examples.py checks that the README quotes the part
between the ``[START ...]`` / ``[END ...]`` markers word for word.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG

# [START howto_lake_to_warehouse]
from data_platform.lake.operators import AdmitLakeFilesOperator
from data_platform.lake.sensors import NewLakeFilesSensor
from data_platform.warehouse.operators import CheckWarehouseTableOperator, LoadToWarehouseOperator

with DAG(dag_id="example_lake_to_warehouse", schedule=None, tags=["example"]) as dag:
    wait = NewLakeFilesSensor(
        task_id="wait",
        prefix="landing/demo/events/received",
        pattern="*.parquet",
        mode="reschedule",
        deferrable=True,
    )
    admit = AdmitLakeFilesOperator(
        task_id="admit",
        source_uris=wait.output,
        name_pattern=r"events_\d+\.parquet",
        required_columns=["event_id", "op"],
    )
    load = LoadToWarehouseOperator(
        task_id="load",
        table="demo.events",
        source_uris=admit.output["accepted"],
        mode="merge",
        primary_key=["event_id"],
        delete_column="op",
        order_by=["seq"],
    )
    check = CheckWarehouseTableOperator(
        task_id="check", table="demo.events", rules="demo.events", source_row_count=load.output["rows_out"]
    )
# [END howto_lake_to_warehouse]

if __name__ == "__main__":
    run = dag.test(logical_date=datetime(2024, 1, 2, tzinfo=UTC))
    print("RUN_STATE " + str(run.state))
