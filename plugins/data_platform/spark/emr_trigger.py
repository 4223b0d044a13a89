"""The provider's job-run trigger, with the task's cross-account role for its polling calls."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.triggers.emr import EmrServerlessStartJobTrigger

from data_platform.spark.emr_hooks import SparkEmrServerlessHook


class SparkJobRunTrigger(EmrServerlessStartJobTrigger):
    """Waits on the triggerer for an EMR Serverless job run to end (cancels it on user kill)."""

    def __init__(self, *, assume_role_arn: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assume_role_arn = assume_role_arn
        self.serialized_fields["assume_role_arn"] = assume_role_arn

    def hook(self) -> SparkEmrServerlessHook:
        return SparkEmrServerlessHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=self.botocore_config,
            assume_role_arn=self.assume_role_arn,
        )
