"""Example DAG, quoted by the README ("Datadog log shipping", wiring): a Spark job whose logs go
to Datadog right after it ends, whatever its outcome.

Documentation and test at once, as the Amazon provider's ``example_*.py`` system tests are:
tests/spark/test_spark_examples.py runs this file end to end with ``dag.test()`` on the local
target (spark-submit of the tests' tiny job ``tinyjob``, the shipper against a local Datadog
intake), and tests/platform/test_readme_examples.py checks that the README quotes the part
between the ``[START ...]`` / ``[END ...]`` markers word for word.
"""

from __future__ import annotations

from airflow.sdk import DAG, task

# [START howto_datadog_shipping]
from data_platform.datadog import ship_spark_job_logs
from data_platform.spark import SparkJobOperator

with DAG(
    dag_id="example_datadog_shipping",
    schedule=None,
    tags=["example"],
    default_args={"owner": "jane.doe", "team": "data-eng", "pipeline": "examples"},
) as dag:

    @task
    def count_arguments() -> list[str]:
        from data_platform.settings import get_settings

        return ["--words", "b,a,b", "--output", get_settings().lake_uri("examples", "word_counts")]

    count = SparkJobOperator(
        task_id="count_words", job="tinyjob", version="1", entry_point="tinyjob.wordcount",
        args=count_arguments(),
    )
    ship_spark_job_logs(count)  # after it (also when it failed): ships that run's logs
# [END howto_datadog_shipping]

if __name__ == "__main__":
    print("RUN_STATE " + str(dag.test().state))
