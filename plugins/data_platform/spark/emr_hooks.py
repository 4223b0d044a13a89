"""Provider hooks that can assume a cross-account role for the task's AWS calls.

The Amazon provider assumes a role only when the Airflow connection names one; Spark tasks may
need a different role per environment (the EMR Serverless application lives in another account),
so these hooks add ``assume_role_arn`` on top of the connection and let the provider's own
session factory do the STS AssumeRole (with refreshable credentials).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.providers.amazon.aws.hooks.emr import EmrServerlessHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

ROLE_SESSION_NAME = "airflow-spark-job"


class AssumeRoleMixin:
    """Mix into an ``AwsGenericHook`` subclass: ``assume_role_arn=`` overrides the connection's role."""

    def __init__(self, *args: Any, assume_role_arn: str | None = None, **kwargs: Any) -> None:
        self.assume_role_arn = assume_role_arn
        super().__init__(*args, **kwargs)

    @cached_property
    def conn_config(self) -> AwsConnectionWrapper:
        base = AwsGenericHook.conn_config.func(self)  # type: ignore[attr-defined]
        if not self.assume_role_arn:
            return base
        wrapper = AwsConnectionWrapper(conn=base)
        if not wrapper:
            wrapper.conn_id = None  # no connection: assume the role from the default credentials
        wrapper.role_arn = self.assume_role_arn
        wrapper.assume_role_method = "assume_role"
        wrapper.assume_role_kwargs = {"RoleSessionName": ROLE_SESSION_NAME}
        return wrapper


class SparkEmrServerlessHook(AssumeRoleMixin, EmrServerlessHook):
    """``EmrServerlessHook`` with an optional cross-account role."""


class SparkS3Hook(AssumeRoleMixin, S3Hook):
    """``S3Hook`` with an optional cross-account role (artifacts, driver logs)."""
