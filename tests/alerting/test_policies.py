from __future__ import annotations

import json

from data_platform.alerting import (
    ALERT_POLICY_CRITICAL,
    ALERT_POLICY_NONE,
    ALERT_POLICY_STANDARD,
    AlertEvent,
    PolicyNotifier,
    send_alert,
)
from data_platform.alerting.channels import local_alerts_file
from data_platform.settings import AlertSettings, get_settings


def _alerts() -> list[dict]:
    path = local_alerts_file()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_local_alerts_go_to_one_line_per_channel(local_dir):
    sent = send_alert(
        ALERT_POLICY_CRITICAL,
        AlertEvent.REJECTED_INPUT,
        "file rejected",
        "bad header",
        details={"file": "x.csv"},
    )
    assert sent == ["slack", "sns"]
    alerts = _alerts()
    assert [a["channel"] for a in alerts] == ["slack", "sns"]
    assert alerts[0]["details"] == {"file": "x.csv"}


def test_policy_none_sends_nothing(local_dir):
    assert send_alert(ALERT_POLICY_NONE, AlertEvent.FAILURE, "s", "m") == []
    assert _alerts() == []


def test_task_callbacks_follow_the_policy():
    critical = ALERT_POLICY_CRITICAL.task_callbacks()
    assert set(critical) == {"on_failure_callback", "on_retry_callback"}
    assert set(ALERT_POLICY_STANDARD.task_callbacks()) == {"on_failure_callback"}
    assert ALERT_POLICY_NONE.task_callbacks() == {}


class _TI:
    dag_id, task_id, run_id, try_number = "cdc_hourly", "merge", "scheduled__2026-01-01", 2


def test_failure_notifier_names_dag_task_run_and_error(local_dir):
    notifier = PolicyNotifier(ALERT_POLICY_STANDARD, AlertEvent.FAILURE)
    notifier.notify({"ti": _TI(), "exception": ValueError("boom")})
    (alert,) = _alerts()
    assert alert["subject"] == "[standard] cdc_hourly.merge failure"
    assert "try 2" in alert["message"] and "boom" in alert["message"]


def test_aws_channels_use_the_provider_notifiers(monkeypatch):
    """SNS goes through the amazon provider's SnsNotifier (against moto); Slack has no
    connection here, so its failure is logged and does not stop the other channels."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("PIPELINE_TARGET", "aws")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws"}')
    aws_settings = get_settings()
    with mock_aws():
        topic = boto3.client("sns", region_name=aws_settings.region).create_topic(Name="alerts")
        with_topic = aws_settings.model_copy(update={"alerts": AlertSettings(sns_topic_arn=topic["TopicArn"])})
        monkeypatch.setattr("data_platform.alerting.policies.get_settings", lambda: with_topic)
        sent = send_alert(ALERT_POLICY_CRITICAL, AlertEvent.CHECK_FAILED, "check failed", "pk")
    assert sent == ["sns"]
