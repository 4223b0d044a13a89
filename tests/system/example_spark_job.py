"""Example DAG, quoted by the README ("Pin a version in the DAG"): one Spark job per batch of
arguments, the job's version pinned to the latest 1.x.y, with the critical alert policy.

Documentation and test at once, as the Amazon provider's ``example_*.py`` system tests are:
tests/spark/test_spark_examples.py runs this file end to end with ``dag.test()`` on the local
target (spark-submit of the tests' tiny job ``tinyjob``), and tests/platform/test_readme_examples.py
checks that the README quotes the part between the ``[START ...]`` / ``[END ...]`` markers word
for word.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

# [START howto_spark_job]
from data_platform.alerting import ALERT_POLICY_CRITICAL
from data_platform.spark import SparkJobOperator

with DAG(
    dag_id="example_spark_job",
    schedule=None,
    tags=["example"],
    default_args={"owner": "jane.doe", "team": "data-eng", "pipeline": "examples"},
) as dag:

    @task
    def plan_batches() -> list[list[str]]:
        """One list of CLI arguments per Spark job: the words to count, where the counts go."""
        from data_platform.settings import get_settings

        output = get_settings().lake_uri("examples", "word_counts")
        return [["--words", "b,a,b,c,b", "--output", output]]

    count = SparkJobOperator.partial(
        task_id="count_words", job="tinyjob", version="1", entry_point="tinyjob.wordcount",
        conf={"spark.sql.shuffle.partitions": "4"}, tags={"team": "data-eng", "owner": "jane.doe"},
        alert_policy=ALERT_POLICY_CRITICAL, retries=2, execution_timeout=timedelta(hours=1), deferrable=True,
    ).expand(args=plan_batches())  # one Spark job per batch (a list of CLI arguments)
# [END howto_spark_job]

if __name__ == "__main__":
    print("RUN_STATE " + str(dag.test().state))
