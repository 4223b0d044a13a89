"""Delivery of one alert to one channel, through the provider notifiers (aws) or a file (local)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from data_platform.paths import local_dir
from data_platform.settings import PlatformSettings

log = logging.getLogger(__name__)


def local_alerts_file() -> Path:
    return local_dir() / "alerts" / "alerts.jsonl"


def write_local_alert(channel: str, subject: str, message: str, details: dict[str, Any]) -> Path:
    """Record an alert locally so a person (and the tests) can see what would have been sent."""
    path = local_alerts_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "at": datetime.now(UTC).isoformat(),
        "channel": channel,
        "subject": subject,
        "message": message,
        "details": details,
    }
    with path.open("a") as handle:
        handle.write(json.dumps(record, default=str) + "\n")
    log.warning("ALERT [%s] %s: %s", channel, subject, message)
    return path


def deliver(
    channel: str,
    settings: PlatformSettings,
    subject: str,
    message: str,
    severity: str,
    slack_channel: str,
    context: Any | None,
) -> None:
    """Send through the real provider notifier for ``channel`` (aws target only)."""
    alerts = settings.alerts
    context = context or {}
    if channel == "slack":
        from airflow.providers.slack.notifications.slack import SlackNotifier

        if not alerts.slack_conn_id:
            raise ValueError(
                f"Alert channel 'slack' needs alerts.slack_conn_id in environment "
                f"{settings.environment!r} (include/platform/environments.yaml)."
            )
        notifier: Any = SlackNotifier(
            slack_conn_id=alerts.slack_conn_id, channel=slack_channel, text=f"*{subject}*\n{message}"
        )
    elif channel == "pagerduty":
        from airflow.providers.pagerduty.notifications.pagerduty import PagerdutyNotifier

        notifier = PagerdutyNotifier(
            summary=f"{subject}: {message}"[:1024],
            severity=severity,
            pagerduty_events_conn_id=alerts.pagerduty_conn_id,
        )
    elif channel == "sns":
        from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

        if not alerts.sns_topic_arn:
            raise ValueError(
                f"Alert channel 'sns' needs alerts.sns_topic_arn in environment "
                f"{settings.environment!r} (include/platform/environments.yaml)."
            )
        notifier = SnsNotifier(
            aws_conn_id=settings.aws_conn_id,
            target_arn=alerts.sns_topic_arn,
            subject=subject[:100],
            message=message,
            region_name=settings.region,
        )
    else:
        raise ValueError(f"Unknown alert channel {channel!r}; use slack, pagerduty or sns.")
    notifier.notify(context)
