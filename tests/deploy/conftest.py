"""The MWAA client of the deploy tests: botocore's Stubber validates every request and response
against the real service model (the installed moto has no MWAA backend)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber


@pytest.fixture
def mwaa_client():
    """(client, stubber) in eu-west-1; every queued response must be consumed by the test."""
    client = boto3.client("mwaa", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
