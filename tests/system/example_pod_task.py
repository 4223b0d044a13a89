"""Example DAG, quoted by the README ("Pod tasks"): a pod task that plans batches and hands them
on through XCom, with a secret and its lake inputs and outputs for lineage.

Documentation and test at once, as the Amazon provider's ``example_*.py`` system tests are:
tests/pod/test_pod_examples.py runs this file end to end with ``dag.test()`` on the local target
(the command runs as a local process), and tests/platform/test_readme_examples.py checks that the
README quotes the part between the ``[START ...]`` / ``[END ...]`` markers word for word.
``tests.pod.sample_job`` stands in for a job module of the image (``spark_jobs.cdc.plan``...).
"""

from __future__ import annotations

from airflow.sdk import DAG, task

# [START howto_pod_task]
from data_platform.pod import PlatformPodOperator

with DAG(
    dag_id="example_pod_task",
    schedule=None,
    tags=["example"],
    default_args={"owner": "jane.doe", "team": "data-eng", "pipeline": "cdc"},
) as dag:
    plan = PlatformPodOperator(
        task_id="plan_batches",
        profile="small",
        image="platform-tools",
        cmds=["python", "-m", "tests.pod.sample_job"],
        arguments=["xcom"],
        secrets=["jira"],
        inputs=["lake:landing/dms/shop"],
        outputs=["lake:cdc/plans"],
        do_xcom_push=True,
    )
# [END howto_pod_task]

    @task
    def show(batches: dict) -> None:
        print("PLAN " + str(batches))

    show(plan.output)

if __name__ == "__main__":
    print("RUN_STATE " + str(dag.test().state))
