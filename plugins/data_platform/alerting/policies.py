"""Named alerting policies and the notifier that applies them to task callbacks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from airflow.sdk import BaseNotifier

from data_platform.alerting.channels import deliver, write_local_alert
from data_platform.settings import get_settings

log = logging.getLogger(__name__)


class AlertEvent(StrEnum):
    FAILURE = "failure"
    RETRY = "retry"
    DEADLINE_MISS = "deadline_miss"
    REJECTED_INPUT = "rejected_input"
    CHECK_FAILED = "check_failed"


class Channel(StrEnum):
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    SNS = "sns"


@dataclass(frozen=True)
class AlertPolicy:
    """Which channels are told about which events, and how loudly."""

    name: str
    on_failure: tuple[Channel, ...]
    on_retry: tuple[Channel, ...]
    on_deadline_miss: tuple[Channel, ...]
    on_data_issue: tuple[Channel, ...]
    severity: str = "error"
    slack_channel: str = "#data-platform-alerts"

    def channels_for(self, event: AlertEvent) -> tuple[Channel, ...]:
        return {
            AlertEvent.FAILURE: self.on_failure,
            AlertEvent.RETRY: self.on_retry,
            AlertEvent.DEADLINE_MISS: self.on_deadline_miss,
            AlertEvent.REJECTED_INPUT: self.on_data_issue,
            AlertEvent.CHECK_FAILED: self.on_data_issue,
        }[event]

    def task_callbacks(self) -> dict[str, list[BaseNotifier]]:
        """``on_failure_callback`` / ``on_retry_callback`` kwargs for an operator or default_args."""
        callbacks: dict[str, list[BaseNotifier]] = {}
        if self.on_failure:
            callbacks["on_failure_callback"] = [PolicyNotifier(self, AlertEvent.FAILURE)]
        if self.on_retry:
            callbacks["on_retry_callback"] = [PolicyNotifier(self, AlertEvent.RETRY)]
        return callbacks

    def deadline_alert(self, interval: timedelta) -> Any:
        """A DAG-level deadline: alert when a run has not finished ``interval`` after it was queued.

        Airflow 3 replaced SLA misses with deadline alerts; the callback runs on the triggerer.
        """
        from airflow.sdk import (  # type: ignore[attr-defined]  # missing from the SDK's __init__.pyi
            AsyncCallback,
            DeadlineAlert,
            DeadlineReference,
        )

        return DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=interval,
            callback=AsyncCallback(
                "data_platform.alerting.policies.deadline_missed", kwargs={"policy": self.name}
            ),
        )


ALERT_POLICY_CRITICAL = AlertPolicy(
    name="critical",
    on_failure=(Channel.SLACK, Channel.PAGERDUTY, Channel.SNS),
    on_retry=(Channel.SLACK,),
    on_deadline_miss=(Channel.SLACK, Channel.PAGERDUTY),
    on_data_issue=(Channel.SLACK, Channel.SNS),
    severity="critical",
)
ALERT_POLICY_STANDARD = AlertPolicy(
    name="standard",
    on_failure=(Channel.SLACK,),
    on_retry=(),
    on_deadline_miss=(Channel.SLACK,),
    on_data_issue=(Channel.SLACK,),
    severity="warning",
)
ALERT_POLICY_NONE = AlertPolicy(
    name="none", on_failure=(), on_retry=(), on_deadline_miss=(), on_data_issue=(), severity="info"
)
POLICIES: Mapping[str, AlertPolicy] = {
    p.name: p for p in (ALERT_POLICY_CRITICAL, ALERT_POLICY_STANDARD, ALERT_POLICY_NONE)
}


def send_alert(
    policy: AlertPolicy,
    event: AlertEvent,
    subject: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    context: Any | None = None,
) -> list[str]:
    """Send one alert to every channel the policy names for ``event``; returns the channels used.

    A channel that fails to deliver is logged and does not stop the others (an alert must never
    turn a successful task into a failed one, nor hide the original error).
    """
    settings = get_settings()
    sent: list[str] = []
    for channel in policy.channels_for(event):
        try:
            if settings.is_local:
                write_local_alert(channel.value, subject, message, dict(details or {}))
            else:
                deliver(
                    channel.value,
                    settings,
                    subject,
                    message,
                    policy.severity,
                    policy.slack_channel,
                    context,
                )
            sent.append(channel.value)
        except Exception:  # noqa: BLE001 - see docstring
            log.exception("Could not deliver alert %r to %s", subject, channel.value)
    return sent


class PolicyNotifier(BaseNotifier):
    """Task callback that routes a failure or retry through an :class:`AlertPolicy`."""

    def __init__(self, policy: AlertPolicy, event: AlertEvent):
        super().__init__()
        self.policy = policy
        self.event = event

    def notify(self, context: Any) -> None:
        ti = context.get("ti") or context.get("task_instance")
        dag_id = getattr(ti, "dag_id", "?")
        task_id = getattr(ti, "task_id", "?")
        run_id = getattr(ti, "run_id", context.get("run_id", "?"))
        error = context.get("exception")
        subject = f"[{self.policy.name}] {dag_id}.{task_id} {self.event.value}"
        message = f"run {run_id}, try {getattr(ti, 'try_number', '?')}: {error or 'no error text'}"
        send_alert(
            self.policy,
            self.event,
            subject,
            message,
            details={"dag_id": dag_id, "task_id": task_id, "run_id": run_id},
            context=context,
        )


async def deadline_missed(context: Any = None, policy: str = "standard", **_: Any) -> None:
    """Deadline-alert callback (runs on the triggerer)."""
    dag_run = (context or {}).get("dag_run")
    subject = f"[{policy}] deadline missed: {getattr(dag_run, 'dag_id', '?')}"
    message = f"run {getattr(dag_run, 'run_id', '?')} has not finished in time"
    send_alert(POLICIES[policy], AlertEvent.DEADLINE_MISS, subject, message)
