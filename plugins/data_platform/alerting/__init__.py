"""Alerting policies: which channels hear about failures, retries and deadline misses.

Pick one per task or DAG (``**ALERT_POLICY_CRITICAL.task_callbacks()``) and send explicit
alerts (rejected files, failed checks) with :func:`send_alert`. Channels resolve at run time:
Slack / PagerDuty / SNS through the Airflow provider notifiers on ``aws``, a JSON-lines file
under the local runtime folder on ``local``.
"""

from data_platform.alerting.policies import (
    ALERT_POLICY_CRITICAL,
    ALERT_POLICY_NONE,
    ALERT_POLICY_STANDARD,
    AlertEvent,
    AlertPolicy,
    Channel,
    PolicyNotifier,
    send_alert,
)

__all__ = [
    "ALERT_POLICY_CRITICAL",
    "ALERT_POLICY_NONE",
    "ALERT_POLICY_STANDARD",
    "AlertEvent",
    "AlertPolicy",
    "Channel",
    "PolicyNotifier",
    "send_alert",
]
